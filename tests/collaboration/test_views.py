"""The pages: the profile's panel, the invite form, the inbox, an invitation, a conversation."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from profiles.collaboration import services
from profiles.collaboration.models import Conversation, Invitation, Message
from tests.collaboration.conftest import own, send, set_openness
from tests.factories import AuthorFactory
from tests.mfa import force_login_with_totp
from tests.profiles.conftest import make_user
from works.models import Authorship

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SCRIPT = "<script>alert('x')</script>"


def text(response) -> str:
    return response.content.decode()


def panel(client, record) -> str:
    page = text(client.get(f"/researchers/{record.pk}/"))
    return page[page.index('id="direct-title"') : page.index('id="graph-title"')]


# The profile page's panel


def test_an_unclaimed_record_keeps_the_seed_words(client):
    assert "Claim this author entity first to unlock direct invitations." in panel(
        client, AuthorFactory()
    )


def test_a_claimed_record_not_open_says_so_plainly(client, record, owner):
    set_openness(owner, record, open_to_collaborate=False)
    words = panel(client, record)
    assert "not open to invitations" in words and "Invite to collaborate" not in words


def test_anonymous_visitors_are_asked_to_log_in_to_invite(client, record):
    words = panel(client, record)
    assert "Log in to invite" in words and f"next=/researchers/{record.pk}/invite/" in words


def test_a_verified_visitor_gets_the_invite_button(client, record, sender):
    client.force_login(sender)
    assert "Invite to collaborate" in panel(client, record)


def test_a_visitor_is_told_why_they_may_not_invite(client, record, owner, sender):
    EmailAddress.objects.filter(user=sender).update(verified=False)
    client.force_login(sender)
    assert "Verify your email address first" in panel(client, record)
    EmailAddress.objects.filter(user=sender).update(verified=True)
    set_openness(owner, record, invitations_from="owners")
    words = panel(client, record)
    assert "only from people who own a claimed record" in words
    assert "Invite to collaborate" not in words


def test_the_owner_sees_their_settings_not_a_button(client, record, owner):
    set_openness(owner, record, invitations_from="owners")
    client.force_login(owner)
    words = panel(client, record)
    assert "Invite to collaborate" not in words
    assert "Only people who own a claimed record" in words
    assert f"/researchers/{record.pk}/profile/" in words


def test_the_owner_sets_who_may_invite_them(client, record, owner):
    client.force_login(owner)
    form = text(client.get(f"/researchers/{record.pk}/profile/"))
    assert "Who may invite you to collaborate" in form
    response = client.post(
        f"/researchers/{record.pk}/profile/",
        {"open_to_collaborate": "on", "invitations_from": "owners"},
    )
    assert response.status_code == 302
    record.profile_settings.refresh_from_db()
    assert record.profile_settings.invitations_from == "owners"
    bad = client.post(f"/researchers/{record.pk}/profile/", {"invitations_from": "everyone"})
    assert bad.status_code == 400


# The invite form


def test_the_form_sends_an_invitation_without_javascript(client, record, sender, owner):
    client.force_login(sender)
    page = client.get(f"/researchers/{record.pk}/invite/")
    assert page.status_code == 200 and "Rosa&#x27;s work 0" in text(page)
    work = Authorship.objects.filter(author=record).first().work_id
    response = client.post(
        f"/researchers/{record.pk}/invite/",
        {"subject": "Graphs", "body": "We both draw graphs.", "recipient_works": [work]},
    )
    invitation = Invitation.objects.get()
    assert response["Location"] == f"/inbox/invitations/{invitation.pk}/"
    assert (invitation.recipient, invitation.recipient_works) == (owner, [work])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"subject": "", "body": "x"}, "Write a subject."),
        ({"subject": "x" * 201, "body": "x"}, "at most 200 characters"),
        ({"subject": "Hi", "body": ""}, "Say why the fit is right."),
        ({"subject": "Hi", "body": "x" * 10_000}, "at most 5000 characters"),
    ],
)
def test_bad_fields_are_a_400_with_the_message(client, record, sender, data, words):
    client.force_login(sender)
    response = client.post(f"/researchers/{record.pk}/invite/", data)
    assert response.status_code == 400 and words in text(response)
    assert not Invitation.objects.exists()


def test_more_than_three_works_or_one_not_on_the_record_is_refused(client, record, sender):
    client.force_login(sender)
    works = [a.work_id for a in Authorship.objects.filter(author=record)]
    for picked, words in (
        (works, "at most 3"),
        ([AuthorFactory().pk * 1000], "not on that record"),
    ):
        response = client.post(
            f"/researchers/{record.pk}/invite/",
            {"subject": "Hi", "body": "x", "recipient_works": picked},
        )
        assert response.status_code == 400 and words in text(response)
    assert not Invitation.objects.exists()


def test_refusals_are_clear_4xx_pages(client, record, sender, owner):
    client.force_login(owner)
    assert client.get(f"/researchers/{record.pk}/invite/").status_code == 403
    client.force_login(sender)
    unclaimed = client.get(f"/researchers/{AuthorFactory().pk}/invite/")
    assert unclaimed.status_code == 403 and "Claim this author entity first" in text(unclaimed)
    send(sender, record)
    again = client.get(f"/researchers/{record.pk}/invite/")
    assert again.status_code == 409 and "See your invitation" in text(again)
    posted = client.post(f"/researchers/{record.pk}/invite/", {"subject": "Hi", "body": "x"})
    assert posted.status_code == 409 and "already have a pending invitation" in text(posted)
    assert Invitation.objects.count() == 1


def test_too_many_invitations_get_the_429_page(client, settings, sender):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "invitation_send": "2/h/user,100/h/ip"}
    client.force_login(sender)
    statuses = []
    for _ in range(3):
        author = AuthorFactory()
        owner = make_user()
        own(owner, author)
        set_openness(owner, author)
        response = client.post(f"/researchers/{author.pk}/invite/", {"subject": "Hi", "body": "x"})
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    assert "Too many invitations for now" in text(response)
    assert Invitation.objects.count() == 2


# The inbox and an invitation


def test_the_inbox_lists_received_and_sent_with_their_states(client, record, sender, owner):
    invitation = send(sender, record)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(1))
    hidden = send(make_user(), record, subject="Hidden one")
    Invitation.objects.filter(pk=hidden.pk).update(hidden_from_recipient=True)
    client.force_login(owner)
    inbox = text(client.get("/inbox/"))
    assert "Graphs together" in inbox and "Expired" in inbox
    assert "Hidden one" not in inbox
    client.force_login(sender)
    assert "To Rosa Example" in text(client.get("/inbox/"))


def test_opening_an_invitation_marks_it_seen_and_shows_the_sender(client, record, sender, owner):
    mine = AuthorFactory(display_name="Sam Record")
    own(sender, mine)
    invitation = send(sender, record)
    client.force_login(owner)
    assert 'class="unread-count"' in text(client.get("/inbox/"))
    page = text(client.get(f"/inbox/invitations/{invitation.pk}/"))
    assert "Sam Record" in page and "Trust" in page and "Verification L3" in page
    invitation.refresh_from_db()
    assert invitation.recipient_seen_at is not None
    assert 'class="unread-count"' not in text(client.get("/inbox/"))


def test_the_header_counts_the_same_unread_on_every_kind_of_page(client, record, sender, owner):
    # The inbox, the feed (its count read with the feed's state) and a researcher page
    # (read with the visitor's state, on the shared cached page) each read it their way.
    other = AuthorFactory(display_name="Another Record")
    pages = ["/inbox/", "/following/", f"/researchers/{other.pk}/"]
    client.force_login(owner)
    for url in pages:
        assert 'class="unread-count"' not in text(client.get(url)), url
    invitation = send(sender, record)
    for url in pages:
        assert 'aria-label="1 unread">1</span>' in text(client.get(url)), url
    client.get(f"/inbox/invitations/{invitation.pk}/")
    for url in pages:
        assert 'class="unread-count"' not in text(client.get(url)), url


def test_a_sender_without_a_record_reads_no_claimed_record(client, record, sender, owner):
    invitation = send(sender, record)
    client.force_login(owner)
    assert "No claimed record" in text(client.get(f"/inbox/invitations/{invitation.pk}/"))


def test_a_hidden_invitation_is_a_404_for_the_recipient(client, record, sender, owner):
    invitation = send(sender, record)
    Invitation.objects.filter(pk=invitation.pk).update(hidden_from_recipient=True)
    client.force_login(owner)
    assert client.get(f"/inbox/invitations/{invitation.pk}/").status_code == 404
    client.force_login(sender)
    assert client.get(f"/inbox/invitations/{invitation.pk}/").status_code == 200


def test_accept_opens_the_conversation_and_a_second_accept_is_a_409(client, record, sender, owner):
    invitation = send(sender, record)
    client.force_login(owner)
    url = f"/inbox/invitations/{invitation.pk}/accept/"
    response = client.post(url, {"note": "Gladly"})
    conversation = Conversation.objects.get()
    assert response["Location"] == f"/inbox/{conversation.pk}/"
    again = client.post(url, {})
    assert again.status_code == 409 and "accepted already" in text(again)
    assert Conversation.objects.count() == 1


def test_decline_and_withdraw_with_htmx_swap_the_status(client, record, sender, owner):
    invitation = send(sender, record)
    client.force_login(sender)
    response = client.post(f"/inbox/invitations/{invitation.pk}/withdraw/", {}, headers=HTMX)
    assert response.status_code == 200 and 'id="decision"' in text(response)
    assert "<html" not in text(response) and "Withdrawn" in text(response)
    client.force_login(owner)
    late = client.post(f"/inbox/invitations/{invitation.pk}/decline/", {}, headers=HTMX)
    assert late.status_code == 409 and "withdrawn already" in text(late)


def test_an_oversized_note_is_a_400(client, record, sender, owner):
    invitation = send(sender, record)
    client.force_login(owner)
    response = client.post(f"/inbox/invitations/{invitation.pk}/decline/", {"note": "x" * 1001})
    assert response.status_code == 400
    assert Invitation.objects.get().state == "pending"


# Conversations


def test_only_the_two_members_read_a_conversation(client, conversation, sender, owner):
    for user, status in ((sender, 200), (owner, 200), (make_user(), 404)):
        client.force_login(user)
        assert client.get(f"/inbox/{conversation.pk}/").status_code == status
    staff = make_user(staff=True, is_superuser=True)
    force_login_with_totp(client, staff)
    assert client.get(f"/inbox/{conversation.pk}/").status_code == 404
    assert client.get(f"/inbox/{conversation.pk}/messages/?after=0").status_code == 404
    assert client.get("/inbox/999999/").status_code == 404


def test_a_message_without_javascript_and_with_htmx(client, conversation, sender):
    client.force_login(sender)
    url = f"/inbox/{conversation.pk}/messages/"
    response = client.post(url, {"body": "Hello"})
    assert response["Location"] == f"/inbox/{conversation.pk}/#message-form"
    response = client.post(url, {"body": "Again"}, headers=HTMX)
    assert response.status_code == 200 and "message-sent" in response["HX-Trigger"]
    assert 'id="message-form"' in text(response) and "<html" not in text(response)
    assert list(Message.objects.values_list("body", flat=True)) == ["Hello", "Again"]


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_empty_oversized_and_closed_replies_are_refused(client, conversation, sender, headers):
    client.force_login(sender)
    url = f"/inbox/{conversation.pk}/messages/"
    empty = client.post(url, {"body": "  "}, headers=headers)
    assert empty.status_code == 400 and "Write a message first." in text(empty)
    big = client.post(url, {"body": "x" * 10_000}, headers=headers)
    assert big.status_code == 400 and "at most 5000 characters" in text(big)
    services.conversation_close(conversation=conversation, user=sender)
    closed = client.post(url, {"body": "Hi"}, headers=headers)
    assert closed.status_code == 409 and "This conversation is closed" in text(closed)
    assert not Message.objects.exists()


def test_closing_shows_a_notice_and_no_form(client, conversation, owner):
    client.force_login(owner)
    response = client.post(f"/inbox/{conversation.pk}/close/")
    assert response.status_code == 302
    page = text(client.get(f"/inbox/{conversation.pk}/"))
    assert "This conversation is closed" in page and 'name="body"' not in page
    assert client.post(f"/inbox/{conversation.pk}/close/").status_code == 409


def test_the_poll_answers_204_when_nothing_is_new_and_fragments_otherwise(
    client, conversation, sender, owner
):
    client.force_login(owner)
    url = f"/inbox/{conversation.pk}/messages/"
    assert client.get(url, {"after": 0, "read": 0}, headers=HTMX).status_code == 204
    message = services.message_post(
        conversation=conversation, sender=sender, recipient=owner, body="Hi there"
    )
    response = client.get(url, {"after": 0, "read": 0}, headers=HTMX)
    body = text(response)
    assert response.status_code == 200 and "Hi there" in body
    assert 'hx-swap-oob="beforeend:#messages"' in body
    assert f'name="after" value="{message.pk}"' in body
    # the sender has read their own message: the marker is news until the page knows it
    assert f'name="read" value="{message.pk}"' in body
    caught_up = {"after": message.pk, "read": message.pk}
    assert client.get(url, caught_up, headers=HTMX).status_code == 204
    assert client.get(url, {"after": "x"}).status_code == 400


def test_read_markers_show_seen_once_the_other_read_it(client, conversation, sender, owner):
    services.message_post(conversation=conversation, sender=sender, recipient=owner, body="Hi")
    client.force_login(sender)
    page = text(client.get(f"/inbox/{conversation.pk}/"))
    assert re.search(r'id="read-state"[^>]*>\s*<', page)
    client.force_login(owner)
    client.get(f"/inbox/{conversation.pk}/")
    client.force_login(sender)
    assert re.search(r'id="read-state"[^>]*>Seen<', text(client.get(f"/inbox/{conversation.pk}/")))


def test_too_many_messages_get_the_429_page(client, settings, conversation, sender):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_send": "1/h/user,100/h/ip"}
    client.force_login(sender)
    url = f"/inbox/{conversation.pk}/messages/"
    assert client.post(url, {"body": "1"}).status_code == 302
    response = client.post(url, {"body": "2"})
    assert response.status_code == 429 and "Too many messages for now" in text(response)
    htmx = client.post(url, {"body": "3"}, headers=HTMX)
    assert htmx.status_code == 429 and "Too many messages sent" in text(htmx)
    assert Message.objects.count() == 1


# Everything a person writes is escaped; links are clickable and marked


def test_script_in_subject_body_note_and_message_is_escaped(client, record, sender, owner):
    invitation = send(sender, record, subject=SCRIPT, body=f"{SCRIPT} https://evil.example/x")
    client.force_login(owner)
    page = text(client.get(f"/inbox/invitations/{invitation.pk}/"))
    inbox = text(client.get("/inbox/"))
    conversation = services.invitation_accept(invitation=invitation, user=owner, note=SCRIPT)
    services.message_post(
        conversation=conversation, sender=sender, recipient=owner, body=f"{SCRIPT} www.x.example"
    )
    chat = text(client.get(f"/inbox/{conversation.pk}/"))
    detail = text(client.get(f"/inbox/invitations/{invitation.pk}/"))
    for html in (page, inbox, chat, detail):
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert '<a rel="nofollow ugc noopener" href="https://evil.example/x">' in page
    assert '<a rel="nofollow ugc noopener" href="http://www.x.example">' in chat
