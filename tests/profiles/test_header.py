"""The site header for a signed-in person: who they are, their claims, and staff's queue."""

import re

import pytest
from django.urls import reverse

from profiles import services
from tests.factories import AuthorFactory
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db


def header_of(response) -> str:
    html = response.content.decode()
    return html[html.find('<header class="site-header"') : html.find("</header>")]


def test_the_header_says_who_is_signed_in_and_links_to_their_account_and_claims(client):
    person = make_user("ada@example.org", first_name="Ada", last_name="Lovelace")
    client.force_login(person)
    header = header_of(client.get("/following/"))
    who = re.search(r'<a href="([^"]+)"[^>]*id="signed-in-as"[^>]*>(.*?)</a>', header, re.S)
    assert who is not None
    assert who.group(1) == reverse("account_email")
    assert "Ada Lovelace" in who.group(2) and "Signed in as" in who.group(2)
    assert f'href="{reverse("profiles:claim_list")}">Your claims</a>' in header
    assert "Claim queue" not in header


def test_a_person_without_a_name_is_shown_by_email(client):
    client.force_login(make_user("no.name@example.org"))
    assert "no.name@example.org</a>" in header_of(client.get("/following/"))


def test_staff_see_the_claim_queue_in_the_header(client):
    client.force_login(make_user("reviewer@bzpeer.example", staff=True))
    header = header_of(client.get("/following/"))
    assert f'href="{reverse("profiles:staff_claims")}">Claim queue</a>' in header


def test_anonymous_header_has_no_account_links(client):
    header = header_of(client.get("/"))
    assert "Your claims" not in header and "signed-in-as" not in header


def test_your_claims_lists_each_claim_with_its_status_newest_first(client):
    person = make_user()
    older = services.claim_submit(
        user=person,
        author=AuthorFactory(display_name="First Record"),
        links=[],
        statement="Mine.",
        works_mine=[],
        works_not_mine=[],
    )
    services.claim_withdraw(claim=older, user=person)
    newer = services.claim_submit(
        user=person,
        author=AuthorFactory(display_name="Second Record"),
        links=[],
        statement="Mine too.",
        works_mine=[],
        works_not_mine=[],
    )
    someone_else = make_user()
    services.claim_submit(
        user=someone_else,
        author=AuthorFactory(display_name="Not Theirs"),
        links=[],
        statement="Also mine.",
        works_mine=[],
        works_not_mine=[],
    )
    client.force_login(person)
    response = client.get(reverse("profiles:claim_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Second Record") < html.index("First Record")
    assert "Not Theirs" not in html
    assert reverse("profiles:claim_detail", args=[newer.pk]) in html
    assert "Pending" in html and "Withdrawn" in html


def test_your_claims_when_there_are_none_says_how_to_claim(client):
    client.force_login(make_user())
    assert "You have not claimed a record yet." in client.get("/claims/").content.decode()


def test_your_claims_asks_an_anonymous_visitor_to_log_in(client):
    response = client.get("/claims/")
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
