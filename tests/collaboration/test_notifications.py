"""Collaboration mail: an invitation, an acceptance and batched new messages, through the outbox.

The hooks are called on rows written with the ORM, as the services call them
(in their transaction); the beat task's run is called in-process, except in
the worker tests at the end, where a real Celery worker runs it and is killed.
"""

import re
import threading
import time
from datetime import timedelta
from email import message_from_string

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from bzpeer.celery import app as celery_app
from bzpeer.outbox import optout
from bzpeer.outbox import services as outbox_services
from bzpeer.outbox.models import OutboundEmail
from bzpeer.outbox.services import email_send
from bzpeer.outbox.tasks import outbound_emails_send_due_task
from profiles.collaboration import notifications
from profiles.collaboration.models import Block, Conversation, ConversationMember, MessageNotice
from profiles.collaboration.tasks import message_notices_send_task
from tests.collaboration import people
from tests.collaboration.people import conversation, post
from tests.graph.celery_worker import Worker, wait_for
from tests.outbox.test_worker import start as start_mailing_worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://bzpeer.example"


def notice_for(user) -> MessageNotice:
    return MessageNotice.objects.get(member__user=user)


def time_passes(*, minutes: float = 2) -> None:
    """Every pending notice's and last mail's time moves `minutes` into the past."""
    shift = timedelta(minutes=minutes)
    for notice in MessageNotice.objects.all():
        MessageNotice.objects.filter(pk=notice.pk).update(
            due_at=notice.due_at - shift if notice.due_at else None,
            last_emailed_at=notice.last_emailed_at - shift if notice.last_emailed_at else None,
        )


def stop_link(user, kind: str) -> str:
    return optout.stop_url(user_id=user.pk, kind=kind)


def delivered(email: OutboundEmail):
    """The mail as a receiver gets it (Django's locmem backend, through the outbox's send)."""
    mail.outbox.clear()
    assert email_send(email_id=email.pk) == "sent"
    (message,) = mail.outbox
    return message_from_string(message.message().as_string())


# Invitations and acceptances


def test_an_invitation_mails_the_recipient_once_with_its_link_and_stop_link():
    invite = people.sent()

    email = OutboundEmail.objects.get()
    assert email.to == ["grace@example.org"]
    assert email.subject == "Ada Sender invites you to collaborate: Joint work on graph sampling"
    assert "Ada Sender invites you, as the owner of the record of Grace Owner" in email.body
    assert "  We both sample large graphs.\n  Let us compare notes." in email.body
    assert f"https://bzpeer.example/inbox/invitations/{invite.pk}/" in email.body
    assert f"https://bzpeer.example/researchers/{invite.sender_author_id}/" in email.body
    stop = stop_link(invite.recipient, "invitation")
    assert email.body.rstrip().endswith(stop), "the stop link closes the mail"
    assert email.headers == {
        "List-Unsubscribe": f"<{stop}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert email.html == ""
    assert optout.token_read(stop.rstrip("/").rsplit("/", 1)[1]) == (
        invite.recipient.pk,
        "invitation",
    )


def test_an_invitation_from_someone_without_a_claimed_record_says_so():
    people.sent(sender_author=None)

    email = OutboundEmail.objects.get()
    assert email.subject.startswith("A BZPEER member invites you to collaborate")
    assert "They have no claimed record on BZPEER." in email.body


def test_an_invitation_to_someone_who_stopped_invitation_mail_is_not_mailed():
    grace = people.make_user("grace@example.org")
    optout.opt_out(user_id=grace.pk, kind="invitation")

    people.sent(recipient=grace)

    assert not OutboundEmail.objects.exists()


def test_an_invitation_from_a_blocked_sender_is_not_mailed():
    ada, grace = people.make_user(), people.make_user()
    people.sent(sender=ada, recipient=grace, hidden_from_recipient=True)
    Block.objects.create(blocker=grace, blocked=ada)
    people.sent(sender=ada, recipient=grace)

    assert not OutboundEmail.objects.exists()


def test_an_invitation_rolled_back_with_its_transaction_leaves_no_mail():
    with pytest.raises(RuntimeError), transaction.atomic():
        people.sent()
        raise RuntimeError("the service failed after the hook")

    assert not OutboundEmail.objects.exists()


def test_markup_and_header_breaks_in_an_invitation_arrive_as_plain_text():
    people.sent(
        subject="Hi\r\nBcc: everyone@example.org",
        body='<script>alert("x")</script>\n<a href="https://evil.example">click</a>\u202eevil',
    )

    email = OutboundEmail.objects.get()
    assert email.subject == "Ada Sender invites you to collaborate: Hi Bcc: everyone@example.org"
    received = delivered(email)
    assert received["Bcc"] is None
    assert received.get_content_type() == "text/plain", "no HTML part to run anything in"
    text = received.get_payload(decode=True).decode()
    assert '  <script>alert("x")</script>' in text, "shown as typed, not as markup"
    assert "\u202e" not in text


def test_an_acceptance_mails_the_sender_with_the_conversation_link():
    invite = people.invitation(response_note="Gladly.\nNext week?")
    talk = conversation(invite)
    # Stopping invitation mail does not stop acceptance mail.
    optout.opt_out(user_id=invite.sender.pk, kind="invitation")

    notifications.invitation_accepted(invitation=invite)

    email = OutboundEmail.objects.get()
    assert email.to == ["ada@example.org"]
    assert email.subject == "Grace Owner accepted your invitation: Joint work on graph sampling"
    assert "  Gladly.\n  Next week?" in email.body
    assert f"https://bzpeer.example/inbox/{talk.pk}/" in email.body
    stop = stop_link(invite.sender, "acceptance")
    assert email.body.rstrip().endswith(stop)
    assert email.headers["List-Unsubscribe"] == f"<{stop}>"


def test_an_acceptance_to_someone_who_stopped_acceptance_mail_is_not_mailed():
    invite = people.invitation()
    conversation(invite)
    optout.opt_out(user_id=invite.sender.pk, kind="acceptance")

    notifications.invitation_accepted(invitation=invite)

    assert not OutboundEmail.objects.exists()


# New messages, batched


def test_messages_make_one_notice_for_the_other_member_due_a_minute_later():
    talk = conversation()
    invite = talk.invitation
    before = timezone.now()
    first = post(talk, invite.sender, "One")
    post(talk, invite.sender, "Two")
    post(talk, invite.sender, "Three")

    notice = notice_for(invite.recipient)
    assert notice.first_unemailed_message_id == first.pk
    assert before + notifications.MESSAGE_FIRST_DELAY <= notice.due_at
    assert notice.due_at <= timezone.now() + notifications.MESSAGE_FIRST_DELAY
    assert MessageNotice.objects.count() == 1, "the sender hears nothing of their own messages"
    assert message_notices_send_task() == 0, "not due yet"
    assert not OutboundEmail.objects.exists()


def test_a_due_notice_sends_one_mail_listing_the_unread_messages():
    talk = conversation()
    ada, grace = talk.invitation.sender, talk.invitation.recipient
    post(talk, ada, "First <b>bold</b> idea")
    post(talk, ada, "Second idea")
    time_passes()

    assert message_notices_send_task() == 1
    assert message_notices_send_task() == 0

    email = OutboundEmail.objects.get()
    assert email.to == ["grace@example.org"]
    assert email.subject == "2 new messages from Ada Sender: Joint work on graph sampling"
    assert "  First <b>bold</b> idea" in email.body
    assert email.body.index("First <b>") < email.body.index("Second idea")
    assert f"https://bzpeer.example/inbox/{talk.pk}/" in email.body
    stop = stop_link(grace, "message")
    assert email.body.rstrip().endswith(stop)
    assert email.headers["List-Unsubscribe"] == f"<{stop}>"
    notice = notice_for(grace)
    assert notice.due_at is None and notice.first_unemailed_message_id is None
    assert notice.last_emailed_at is not None


def test_messages_after_a_mail_wait_fifteen_minutes_and_list_only_what_is_new():
    talk = conversation()
    ada = talk.invitation.sender
    post(talk, ada, "Old news")
    time_passes()
    assert message_notices_send_task() == 1

    post(talk, ada, "Fresh news")
    notice = notice_for(talk.invitation.recipient)
    assert notice.due_at == notice.last_emailed_at + notifications.MESSAGE_BATCH
    time_passes(minutes=14)
    assert message_notices_send_task() == 0, "one mail per 15 minutes at most"
    time_passes(minutes=1.1)
    assert message_notices_send_task() == 1

    latest = OutboundEmail.objects.order_by("-pk").first()
    assert latest.subject.startswith("A new message from Ada Sender")
    assert "Fresh news" in latest.body and "Old news" not in latest.body


def test_no_mail_while_the_recipient_has_the_conversation_open():
    talk = conversation()
    grace = talk.invitation.recipient
    post(talk, talk.invitation.sender, "Are you there?")
    time_passes()
    seen = timezone.now() - timedelta(seconds=10)
    ConversationMember.objects.filter(conversation=talk, user=grace).update(last_seen_at=seen)

    assert message_notices_send_task() == 0
    assert notice_for(grace).due_at == seen + notifications.PRESENCE, "asked again once closed"

    # The page was closed without reading (the tab went away): the mail goes out.
    ConversationMember.objects.filter(conversation=talk, user=grace).update(
        last_seen_at=timezone.now() - timedelta(minutes=2)
    )
    time_passes()
    assert message_notices_send_task() == 1


def test_no_mail_for_messages_the_recipient_read_in_the_meantime():
    talk = conversation()
    grace = talk.invitation.recipient
    message = post(talk, talk.invitation.sender, "Read me")
    ConversationMember.objects.filter(conversation=talk, user=grace).update(
        last_read_message_id=message.pk
    )
    time_passes()

    assert message_notices_send_task() == 0
    notice = notice_for(grace)
    assert notice.due_at is None and notice.last_emailed_at is None


def test_a_message_the_recipient_has_read_already_writes_no_notice():
    talk = conversation()
    ConversationMember.objects.filter(conversation=talk, user=talk.invitation.recipient).update(
        last_read_message_id=10**12
    )

    post(talk, talk.invitation.sender, "Seen as it arrived")

    assert not MessageNotice.objects.exists()


def test_a_mail_lists_only_the_messages_still_unread():
    talk = conversation()
    ada, grace = talk.invitation.sender, talk.invitation.recipient
    read = post(talk, ada, "Already read")
    ConversationMember.objects.filter(conversation=talk, user=grace).update(
        last_read_message_id=read.pk
    )
    post(talk, ada, "Still unread")
    time_passes()

    assert message_notices_send_task() == 1
    body = OutboundEmail.objects.get().body
    assert "Still unread" in body and "Already read" not in body


def test_replies_from_both_sides_mail_each_one_the_other_side_s_messages():
    talk = conversation()
    ada, grace = talk.invitation.sender, talk.invitation.recipient
    post(talk, ada, "Question from Ada")
    post(talk, grace, "Answer from Grace")
    time_passes()

    assert message_notices_send_task() == 1, "Grace's answer marked Ada's question read"
    email = OutboundEmail.objects.get()
    assert email.to == ["ada@example.org"]
    assert email.subject == "A new message from Grace Owner: Joint work on graph sampling"
    assert "Answer from Grace" in email.body and "Question from Ada" not in email.body


def test_someone_who_stopped_message_mail_gets_none():
    talk = conversation()
    ada, grace = talk.invitation.sender, talk.invitation.recipient
    optout.opt_out(user_id=grace.pk, kind="message")
    post(talk, ada, "Unheard")
    assert not MessageNotice.objects.exists(), "no notice is even written"

    optout.opt_in(user_id=grace.pk, kind="message")
    post(talk, ada, "Heard at first")
    optout.opt_out(user_id=grace.pk, kind="message")  # stopped before the batch went out
    time_passes()
    assert message_notices_send_task() == 0
    assert not OutboundEmail.objects.exists()
    assert notice_for(grace).due_at is None


@pytest.mark.parametrize("change", ["blocked", "blocker", "closed", "deactivated"])
def test_no_mail_when_a_block_a_close_or_a_deactivation_came_before_the_batch(change):
    talk = conversation()
    ada, grace = talk.invitation.sender, talk.invitation.recipient
    post(talk, ada, "Before the change")
    if change == "blocked":
        Block.objects.create(blocker=grace, blocked=ada)
    elif change == "blocker":
        Block.objects.create(blocker=ada, blocked=grace)
    elif change == "closed":
        Conversation.objects.filter(pk=talk.pk).update(closed_at=timezone.now(), closed_by=ada)
    else:
        type(grace).objects.filter(pk=grace.pk).update(is_active=False)
    time_passes()

    assert message_notices_send_task() == 0
    assert not OutboundEmail.objects.exists()
    assert notice_for(grace).due_at is None


def test_a_long_message_is_cut_to_a_few_lines_and_many_messages_to_ten():
    talk = conversation()
    ada = talk.invitation.sender
    post(talk, ada, "\n".join(f"line {i}" for i in range(1, 20)))
    post(talk, ada, "x" * 10_000)
    for i in range(10):
        post(talk, ada, f"short {i}")
    time_passes()

    assert message_notices_send_task() == 1
    email = OutboundEmail.objects.get()
    assert email.subject.startswith("12 new messages from Ada Sender")
    assert "  line 4 […]" in email.body and "line 5" not in email.body
    assert "  " + "x" * notifications.EXCERPT_CHARS + " […]" in email.body
    assert "short 7" in email.body and "short 8" not in email.body
    assert "... and 2 more." in email.body
    assert len(email.body) < 6000


def test_the_beat_schedule_runs_the_notices_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["collaboration-message-notices"]
    assert entry == {
        "task": "profiles.collaboration.tasks.message_notices_send_task",
        "schedule": 60.0,
    }
    assert entry["task"] in celery_app.tasks


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_notice_once(monkeypatch):
    talk = conversation()
    post(talk, talk.invitation.sender, "Only once")
    time_passes()
    monkeypatch.setenv(notifications.NOTICE_DELAY_ENV, "2")
    results: list[int] = []

    def run() -> None:
        try:
            results.append(notifications.message_notices_send())
        finally:
            connection.close()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=60)

    assert sorted(results) == [0, 1], "the second run skips the row the first one holds"
    assert OutboundEmail.objects.count() == 1


# A real worker, killed in the middle of a run


RUN_DONE = re.compile(r"message_notices_send_task\[[^\]]+\] succeeded")


def notices_due() -> int:
    return MessageNotice.objects.filter(due_at__isnull=False).count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("through_the_broker")
def test_a_worker_killed_mid_run_sends_each_mail_once_after_restart(queue, workers, tmp_path, smtp):
    smtp.start()
    talks = [conversation() for _ in range(3)]
    for talk in talks:
        post(talk, talk.invitation.sender, f"Hello in conversation {talk.pk}")
    time_passes()

    def start(**env: str) -> Worker:
        # The outbox tasks its runs send go to the test's queue.
        return start_mailing_worker(
            workers, queue, tmp_path, smtp, CELERY_TASK_DEFAULT_QUEUE=queue, **env
        )

    # Each notice's transaction lasts 4 s: the kill lands inside the second one.
    slow = start(**{notifications.NOTICE_DELAY_ENV: "4"})
    message_notices_send_task.delay()
    wait_for(
        lambda: OutboundEmail.objects.count() == 1,
        timeout=60,
        what="the first notice's commit",
        workers=[slow],
    )
    slow.kill()
    time.sleep(1)
    assert OutboundEmail.objects.count() == 1, "the killed run's second mail was rolled back"
    assert notices_due() == 2, "the two notices it did not finish are still due"

    fresh = start()
    message_notices_send_task.delay()  # beat's next run
    wait_for(
        lambda: notices_due() == 0 and OutboundEmail.objects.count() == 3,
        timeout=60,
        what="the restarted run",
        workers=[slow, fresh],
    )
    # The killed worker may have reserved the first mail's send task and taken it
    # with it: the outbox's sweep sends such a mail once RESEND_AFTER has passed.
    OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).update(
        task_sent_at=timezone.now() - outbox_services.RESEND_AFTER
    )
    outbound_emails_send_due_task.delay()
    wait_for(
        lambda: len(smtp.messages) == 3,
        timeout=60,
        what="the restarted run and its mails",
        workers=[slow, fresh],
    )
    assert OutboundEmail.objects.count() == 3
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        t.invitation.recipient.email for t in talks
    )
    bodies = [m.get_payload(decode=True).decode() for m in smtp.messages]
    for talk in talks:
        assert sum(f"Hello in conversation {talk.pk}" in body for body in bodies) == 1

    # Beat runs again, and the killed run's task comes back from the broker: nothing more.
    message_notices_send_task.delay()
    wait_for(
        lambda: len(RUN_DONE.findall(fresh.log())) == 2,
        timeout=60,
        what="the next run",
        workers=[fresh],
    )
    time.sleep(1)
    assert OutboundEmail.objects.count() == 3 and len(smtp.messages) == 3
