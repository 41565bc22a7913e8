"""The owner of a claimed record sees who follows them; everyone else sees the count."""

import re

import pytest
from django.urls import reverse

from profiles import services
from profiles.models import Follow
from tests.profiles.conftest import make_user, owned_record

pytestmark = pytest.mark.django_db


def test_the_owner_sees_followers_by_their_record_never_their_email(client):
    owner, author = owned_record()
    researcher, their_record = owned_record("Bo Researcher")
    reader = make_user(email="reader@mail.example")
    services.follow_set(user=researcher, author=author, following=True)
    services.follow_set(user=reader, author=author, following=True)
    client.force_login(owner)
    response = client.get(reverse("profiles:followers", args=[author.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "2 followers" in body
    assert f'href="/researchers/{their_record.pk}/">Bo Researcher</a>' in body
    assert "A reader without a claimed record" in body
    assert "reader@mail.example" not in body and researcher.email not in body


def test_the_owners_page_links_to_the_list(client):
    owner, author = owned_record()
    client.force_login(owner)
    body = client.get(reverse("profiles:researcher_detail", args=[author.pk])).content.decode()
    assert reverse("profiles:followers", args=[author.pk]) in body


def test_a_follower_sees_the_count_but_no_list(client):
    _, author = owned_record()
    follower = make_user()
    services.follow_set(user=follower, author=author, following=True)
    client.force_login(follower)
    page = client.get(reverse("profiles:researcher_detail", args=[author.pk])).content.decode()
    assert re.search(r"<strong>1</strong> follower\b", page)
    assert reverse("profiles:followers", args=[author.pk]) not in page
    assert client.get(reverse("profiles:followers", args=[author.pk])).status_code == 404


def test_the_list_pages_by_keyset_without_repeats_or_gaps(client, django_assert_num_queries):
    owner, author = owned_record()
    users = [make_user() for _ in range(120)]
    Follow.objects.bulk_create([Follow(user=u, author=author) for u in users])
    client.force_login(owner)
    url = reverse("profiles:followers", args=[author.pk])
    seen = 0
    pages = 0
    while url:
        # session with its user, author, the owner's claim, the followers, their
        # count, the header's inbox count
        with django_assert_num_queries(6):
            response = client.get(url)
        body = response.content.decode()
        seen += body.count('class="card followers-row"')
        more = re.search(r'href="([^"]+\?before=\d+)"', body)
        url = more.group(1) if more else ""
        pages += 1
    assert (seen, pages) == (120, 3)


@pytest.mark.parametrize("before", ["", "x", "-1", "9" * 40])
def test_a_bad_cursor_is_a_clear_400(client, before):
    owner, author = owned_record()
    client.force_login(owner)
    response = client.get(reverse("profiles:followers", args=[author.pk]), {"before": before})
    assert response.status_code == 400
    assert "before" in response.content.decode()
