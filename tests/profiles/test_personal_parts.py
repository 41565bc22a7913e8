"""A signed-in visitor gets the shared researcher page with their own parts filled in
(bzpeer.pagecache.shared_page and personalise): it must read exactly as the page
built live for them would, whoever they are."""

import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import Client

from bzpeer import pagecache
from profiles import services, views
from profiles.models import Follow
from tests.factories import AuthorshipFactory, WorkFactory
from tests.profiles.conftest import make_user, owned_record
from tests.profiles.test_claim_services import pending_claim
from tests.profiles.test_researcher_page import author_with_works, page_url

pytestmark = pytest.mark.django_db

_TOKENS = re.compile(rb'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def normalised(content: bytes) -> bytes:
    # A CSRF token is masked afresh each time it is written.
    return _TOKENS.sub(rb"\1TOKEN", content)


def both_ways(client: Client, url: str, monkeypatch) -> tuple[bytes, bytes]:
    """The page through the shared entry, then built live for the same visitor."""
    client.get(url)  # the shared entry exists from here on
    shared = client.get(url)
    assert shared.status_code == 200
    with monkeypatch.context() as patch:
        patch.setattr(views, "_researcher_page_for_visitor", lambda request, author_id: None)
        live = client.get(url)
    assert live.status_code == 200
    return normalised(shared.content), normalised(live.content)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_plain_visitor_a_follower_and_staff_read_their_own_page(monkeypatch):
    author, _ = author_with_works(3)
    follower, staff_member = make_user(), make_user(staff=True)
    Follow.objects.create(user=follower, author=author)
    for user in (make_user(), follower, staff_member):
        shared, live = both_ways(signed_in(user), page_url(author), monkeypatch)
        assert shared == live
    assert (
        b'aria-pressed="true"' in both_ways(signed_in(follower), page_url(author), monkeypatch)[0]
    )
    assert b"Claim queue" in both_ways(signed_in(staff_member), page_url(author), monkeypatch)[0]


def test_a_claimant_sees_their_pending_claim_and_others_see_claim_pending(monkeypatch):
    author, _ = author_with_works(3)
    claimant = make_user()
    claim = pending_claim(author, claimant)
    mine, live = both_ways(signed_in(claimant), page_url(author), monkeypatch)
    assert mine == live and f"/claims/{claim.pk}/".encode() in mine
    theirs, live = both_ways(signed_in(make_user()), page_url(author), monkeypatch)
    assert theirs == live and f"/claims/{claim.pk}/".encode() not in theirs
    assert b"Claim pending." in theirs


def test_the_owner_sees_their_settings_and_others_the_invitation(monkeypatch):
    owner, author = owned_record()
    for i in range(2):
        AuthorshipFactory(author=author, work=WorkFactory(), position=i)
    services.profile_settings_update(
        user=owner,
        author=author,
        summary="",
        affiliation="",
        homepage="https://owner.example/",
        contact="",
        open_to_collaborate=True,
        hidden_sections=[],
    )
    own, live = both_ways(signed_in(owner), page_url(author), monkeypatch)
    assert own == live and b"Edit your profile and works" in own
    assert b"Edit your affiliation history" in own
    other, live = both_ways(signed_in(make_user()), page_url(author), monkeypatch)
    assert other == live and b"Edit your profile and works" not in other
    assert b"Edit your affiliation history" not in other
    assert b"Invite to collaborate" in other


def test_a_message_waiting_for_the_visitor_shows_once_on_the_shared_page(rf):
    author, _ = author_with_works(2)
    user = make_user()
    client = signed_in(user)
    client.get(page_url(author))  # the shared entry exists
    # A message left by an earlier request, in the visitor's session.
    request = rf.get("/")
    request.session = client.session
    request._messages = FallbackStorage(request)
    messages.success(request, "Your profile is saved.")
    request._messages.update(_response := views.HttpResponse())
    for morsel in _response.cookies.values():
        client.cookies[morsel.key] = morsel.value
    request.session.save()

    first = client.get(page_url(author)).content.decode()
    again = client.get(page_url(author)).content.decode()
    assert "Your profile is saved." in first and "Your profile is saved." not in again
    # ... and it never reached the shared page.
    assert "Your profile is saved." not in Client().get(page_url(author)).content.decode()


def test_a_page_without_its_marks_is_built_live_rather_than_half_filled(monkeypatch):
    author, _ = author_with_works(2)
    client = signed_in(make_user())
    client.get(page_url(author))
    monkeypatch.setitem(views._PERSONAL_PARTS, "nowhere", "base.html#messages")
    response = client.get(page_url(author))
    assert response.status_code == 200 and b"Log out" in response.content
    assert pagecache.personalise(b"<p><!--personal:a-->x<!--/personal:a--></p>", {"b": ""}) is None


@pytest.mark.parametrize(
    "page",
    [
        b"<p><!--personal:a-->x<!--personal:a-->y<!--/personal:a--></p>",  # opened twice
        b"<p><!--personal:a-->x<!--/personal:a-->y<!--/personal:a--></p>",  # closed twice
        b"<p><!--/personal:a-->x<!--personal:a--></p>",  # closed before it opens
        b"<p><!--personal:a-->x<!--personal:b-->y<!--/personal:a-->z<!--/personal:b--></p>",
    ],
)
def test_parts_marked_wrongly_leave_the_page_to_be_built_live(page):
    assert pagecache.personalise(page, {"a": "A", "b": "B"}) is None


def test_each_part_is_replaced_and_everything_else_kept():
    a, b = b"<!--personal:a-->%s<!--/personal:a-->", b"<!--personal:b-->%s<!--/personal:b-->"
    page = b"<h1>T</h1>" + a % b"old a" + b" and " + b % b"" + b"!"
    assert pagecache.personalise(page, {"b": "<i>b</i>", "a": "new a"}) == (
        b"<h1>T</h1>" + a % b"new a" + b" and " + b % b"<i>b</i>" + b"!"
    )
