"""The stop page behind every mail's signed one-click link (bzpeer.outbox.optout).

A GET only asks (link scanners follow links); a POST stops that one kind of
mail for the link's person, idempotently, with no sign-in, cookie or CSRF
token, which is what a mail client's List-Unsubscribe-Post button sends.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.utils import timezone

from bzpeer.outbox import optout
from bzpeer.outbox.models import EmailOptOut, OutboundEmail
from profiles.collaboration import notifications
from profiles.collaboration.models import MessageNotice
from tests.collaboration import people

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.removeprefix(settings.SITE_URL.rstrip("/"))


def stop_path(user, kind: str) -> str:
    return path_of(optout.stop_url(user_id=user.pk, kind=kind))


def stopped(user) -> set[str]:
    return set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))


def test_a_persons_link_for_a_kind_is_the_same_whenever_it_is_made(monkeypatch):
    """A mail's text and its List-Unsubscribe header are made apart: a second between them
    must not give the person two different links (a timestamped token did)."""
    grace = people.make_user()
    monkeypatch.setattr("time.time", lambda: 1_800_000_000.0)
    first = optout.stop_url(user_id=grace.pk, kind="message")
    monkeypatch.setattr("time.time", lambda: 1_800_086_400.0)
    a_day_later = optout.stop_url(user_id=grace.pk, kind="message")

    assert first == a_day_later
    assert optout.stop_url(user_id=grace.pk, kind="digest") != first


def test_the_link_asks_before_it_stops_anything(client):
    grace = people.make_user()

    response = client.get(stop_path(grace, "invitation"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Stop emails about new invitations to collaborate?" in html
    assert '<form method="post">' in html
    assert response["Cache-Control"].startswith("max-age=0")
    assert stopped(grace) == set(), "a link scanner's GET stops nothing"


def test_confirming_stops_that_kind_once_however_often_it_is_posted(client):
    grace = people.make_user()
    path = stop_path(grace, "message")

    first = client.post(path)
    second = client.post(path)

    assert first.status_code == second.status_code == 200
    assert "Done: no more emails about new messages in your conversations" in first.content.decode()
    assert EmailOptOut.objects.filter(user=grace).count() == 1
    assert stopped(grace) == {"message"}


def test_the_mail_client_s_one_click_post_works_without_cookie_or_csrf_token():
    grace = people.make_user()
    headers = optout.stop_headers(user_id=grace.pk, kind="acceptance")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")

    response = Client(enforce_csrf_checks=True).post(
        path_of(url), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    assert stopped(grace) == {"acceptance"}


def test_the_link_stops_its_own_person_s_mail_whoever_is_signed_in(client):
    grace, ada = people.make_user(), people.make_user()
    client.force_login(ada)

    client.post(stop_path(grace, "invitation"))

    assert stopped(grace) == {"invitation"}
    assert stopped(ada) == set()


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="signature"),
        pytest.param(lambda token: token[: len(token) // 2], id="cut-short"),
        pytest.param(lambda token: "not-a-token", id="made-up"),
    ],
)
def test_an_altered_link_is_refused_and_stops_nothing(client, alter):
    grace = people.make_user()
    token = optout.token_make(user_id=grace.pk, kind="invitation")

    for method in (client.get, client.post):
        response = method(f"/email/stop/{alter(token)}/")
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert not EmailOptOut.objects.exists()


@pytest.mark.parametrize(
    "payload, salt",
    [
        pytest.param(["{user}", "everything"], optout.SALT, id="unknown-kind"),
        pytest.param(["{user}", "invitation"], "another.salt", id="signed-for-another-use"),
        pytest.param(["{user}"], optout.SALT, id="no-kind"),
    ],
)
def test_a_signed_link_that_was_not_made_for_stopping_mail_is_refused(client, payload, salt):
    grace = people.make_user()
    values = [grace.pk if value == "{user}" else value for value in payload]
    token = signing.Signer(salt=salt).sign_object(values, compress=True)

    assert client.post(f"/email/stop/{token}/").status_code == 400
    assert not EmailOptOut.objects.exists()


@pytest.mark.parametrize("gone", ["deleted", "deactivated"])
def test_the_link_of_an_account_that_no_longer_exists_is_not_found(client, gone):
    grace = people.make_user()
    path = stop_path(grace, "message")
    if gone == "deleted":
        grace.delete()
    else:
        type(grace).objects.filter(pk=grace.pk).update(is_active=False)

    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 404
        assert "no longer exists" in response.content.decode()
    assert not EmailOptOut.objects.exists()


def test_the_stop_page_takes_no_other_method(client):
    grace = people.make_user()

    assert client.put(stop_path(grace, "message")).status_code == 405
    assert not EmailOptOut.objects.exists()


def test_a_stopped_kind_is_not_sent_afterwards_while_the_other_kinds_still_are(client):
    grace = people.make_user("grace@example.org")
    assert client.post(stop_path(grace, "invitation")).status_code == 200

    # Invitations to Grace: no more mail about them.
    people.sent(recipient=grace)
    assert not OutboundEmail.objects.filter(to=["grace@example.org"]).exists()

    # Grace's own invitation accepted: the acceptance is mailed.
    mine = people.invitation(sender=grace, recipient=people.make_user())
    talk = people.conversation(mine)
    notifications.invitation_accepted(invitation=mine)
    assert list(
        OutboundEmail.objects.filter(to=["grace@example.org"]).values_list("subject", flat=True)
    ) == ["Grace Owner accepted your invitation: Joint work on graph sampling"]

    # A message to Grace: mailed with the batch.
    people.post(talk, mine.recipient, "Hello Grace")
    MessageNotice.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    assert notifications.message_notices_send() == 1
    latest = OutboundEmail.objects.filter(to=["grace@example.org"]).order_by("-pk").first()
    assert latest is not None and "Hello Grace" in latest.body
    assert OutboundEmail.objects.filter(to=["grace@example.org"]).count() == 2
