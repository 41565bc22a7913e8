"""What a collaboration event tells people by email; called by the services in their transaction.

Each function only writes rows (an outbox mail, or a pending notice that a
beat task turns into at most one mail per conversation and 15 minutes), so a
mail exists exactly when the change it announces does, and is sent once
(bzpeer.outbox).

Messages are batched per recipient and conversation (MessageNotice): the
first unread message makes a notice due a minute later, or 15 minutes after
the last such mail; `message_notices_send` (Celery beat, every minute) then
sends one mail listing what is still unread, unless the recipient read it,
has the conversation open (its page polled within PRESENCE), stopped message
mail, blocked or was blocked, or the conversation was closed. Every mail
carries its kind's signed stop link, in the text and in List-Unsubscribe.
"""

import os
import re
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bzpeer.outbox import optout
from bzpeer.outbox import services as outbox
from bzpeer.outbox.models import EmailOptOut
from profiles.collaboration.models import (
    Conversation,
    ConversationMember,
    Invitation,
    Message,
    MessageNotice,
)
from profiles.collaboration.safety import blocked_between

# At most one "new messages" mail per conversation and recipient this often.
MESSAGE_BATCH = timedelta(minutes=15)
# The first message waits this long, so that a quick exchange makes one mail.
MESSAGE_FIRST_DELAY = timedelta(minutes=1)
# A conversation page that polled this recently is open: no mail meanwhile.
PRESENCE = timedelta(seconds=60)
MESSAGES_LISTED = 10
EXCERPT_LINES = 4
EXCERPT_CHARS = 400
SUBJECT_CHARS = 150
DUE_BATCH = 500
# Tests slow each notice's transaction down with it to kill a worker mid-run.
NOTICE_DELAY_ENV = "BZPEER_MESSAGE_NOTICE_DELAY"

# Control characters and the bidirectional overrides that can make a text read
# as something else; newlines and tabs are handled by `excerpt`.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str, limit: int = SUBJECT_CHARS) -> str:
    """A header-safe single line (no CR/LF can start another header), cut to `limit`."""
    line = " ".join(_INVISIBLE.sub(" ", text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def excerpt(text: str) -> str:
    """A person's text as a few indented plain lines: it can only ever read as what they typed."""
    lines = [" ".join(_INVISIBLE.sub(" ", line).split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    shown = "\n".join(lines[:EXCERPT_LINES])
    cut = len(lines) > EXCERPT_LINES
    if len(shown) > EXCERPT_CHARS:
        shown, cut = shown[:EXCERPT_CHARS].rstrip(), True
    if cut:
        shown += " […]"
    return "\n".join(f"  {line}" for line in shown.splitlines())


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def invitation_url(invitation: Invitation) -> str:
    return _site_url(reverse("collaboration:invitation_detail", args=[invitation.pk]))


def conversation_url(conversation_id: int) -> str:
    return _site_url(reverse("collaboration:conversation", args=[conversation_id]))


def sender_name(invitation: Invitation) -> str:
    """How the sender is named to the recipient: their claimed record, else their account name."""
    if invitation.sender_author is not None:
        return invitation.sender_author.display_name
    return one_line(invitation.sender.get_full_name()) or "A BZPEER member"


def _name_in(invitation: Invitation, user_id: int) -> str:
    """The name of one of a conversation's two people, as the other one knows them."""
    if user_id == invitation.recipient_id:
        return invitation.author.display_name
    return sender_name(invitation)


def _email_queue(
    *, template: str, user: AbstractBaseUser, kind: str, context: dict[str, Any]
) -> None:
    """Queue one mail of `kind` to `user` in the caller's transaction, with its stop link."""
    context = {
        "site_name": "BZPEER",
        "stop_url": optout.stop_url(user_id=user.pk, kind=kind),
        "stop_what": optout.KINDS[kind],
        **context,
    }
    outbox.email_queue(
        to=[getattr(user, "email", "")],
        subject=one_line(render_to_string(f"collaboration/email/{template}_subject.txt", context)),
        body=render_to_string(f"collaboration/email/{template}_message.txt", context),
        headers=optout.stop_headers(user_id=user.pk, kind=kind),
    )


def _reachable(*, user: AbstractBaseUser, kind: str, other: AbstractBaseUser) -> bool:
    """`user` wants mail of `kind` and no block stands between them and `other`."""
    return (
        user.is_active
        and not optout.opted_out(user_id=user.pk, kind=kind)
        and not blocked_between(a=user, b=other)
    )


def invitation_sent(*, invitation: Invitation) -> None:
    """The recipient hears of a new invitation (unless they stopped that kind of mail)."""
    recipient = invitation.recipient
    if invitation.hidden_from_recipient or not _reachable(
        user=recipient, kind="invitation", other=invitation.sender
    ):
        return
    sender_record = invitation.sender_author
    _email_queue(
        template="invitation",
        user=recipient,
        kind="invitation",
        context={
            "sender_name": sender_name(invitation),
            "sender_record_url": _site_url(
                reverse("profiles:researcher_detail", args=[sender_record.pk])
            )
            if sender_record is not None
            else "",
            "author": invitation.author,
            "subject": one_line(invitation.subject),
            "why": excerpt(invitation.body),
            "invitation_url": invitation_url(invitation),
            "expires_at": invitation.expires_at,
        },
    )


def invitation_accepted(*, invitation: Invitation) -> None:
    """The sender hears that the recipient accepted, with the conversation's link."""
    sender = invitation.sender
    if not _reachable(user=sender, kind="acceptance", other=invitation.recipient):
        return
    conversation_id = (
        Conversation.objects.filter(invitation_id=invitation.pk)
        .values_list("pk", flat=True)
        .first()
    )
    _email_queue(
        template="acceptance",
        user=sender,
        kind="acceptance",
        context={
            "recipient_name": invitation.author.display_name,
            "subject": one_line(invitation.subject),
            "note": excerpt(invitation.response_note),
            "conversation_url": conversation_url(conversation_id)
            if conversation_id is not None
            else invitation_url(invitation),
        },
    )


def message_posted(*, message: Message) -> None:
    """The other member will hear of it in the next batch, unless they read it first.

    One upsert: a notice already pending keeps its due time and its oldest
    message; a new one is due after MESSAGE_FIRST_DELAY, and never sooner
    than MESSAGE_BATCH after the member's last such mail.
    """
    params: dict[str, Any] = {
        "message": message.pk,
        "due": timezone.now() + MESSAGE_FIRST_DELAY,
        "conversation": message.conversation_id,
        "sender": message.sender_id,
        "batch": MESSAGE_BATCH,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {MessageNotice._meta.db_table} AS n
                (member_id, first_unemailed_message_id, due_at, last_emailed_at)
            SELECT m.id, %(message)s, %(due)s, NULL
            FROM {ConversationMember._meta.db_table} m
            WHERE m.conversation_id = %(conversation)s
              AND m.user_id <> %(sender)s
              AND m.last_read_message_id < %(message)s
              AND NOT EXISTS (
                  SELECT 1 FROM {EmailOptOut._meta.db_table} o
                  WHERE o.user_id = m.user_id AND o.kind = 'message'
              )
            ON CONFLICT (member_id) DO UPDATE SET
                first_unemailed_message_id = LEAST(
                    n.first_unemailed_message_id, EXCLUDED.first_unemailed_message_id
                ),
                due_at = COALESCE(
                    n.due_at, GREATEST(EXCLUDED.due_at, n.last_emailed_at + %(batch)s)
                )
            """,
            params,
        )


def message_notice_send(*, member_id: int) -> str:
    """Send one due notice's mail, or drop or postpone it, in one transaction; idempotent.

    The row is locked while it is read (another run skips it), the mail is
    queued and the notice cleared in the same transaction: a run that dies
    before the commit leaves the notice due and no mail, never a mail twice.
    Returns "sent", "open" (postponed: the page is open), "read" (nothing
    unread any more), "dropped" (no mail wanted) or "skipped" (not due, or
    another run holds it).
    """
    now = timezone.now()
    with transaction.atomic():
        notice = (
            MessageNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "member__user",
                "member__conversation__invitation__author",
                "member__conversation__invitation__sender",
                "member__conversation__invitation__sender_author",
            )
            .filter(member_id=member_id, due_at__lte=now)
            .first()
        )
        if notice is None:
            return "skipped"
        member = notice.member
        conversation = member.conversation
        invitation = conversation.invitation
        user = member.user
        other = invitation.sender if user.pk == invitation.recipient_id else invitation.recipient
        mine = MessageNotice.objects.filter(member_id=member_id)
        if conversation.closed_at is not None or not _reachable(
            user=user, kind="message", other=other
        ):
            mine.update(first_unemailed_message_id=None, due_at=None)
            return "dropped"
        unread = (
            Message.objects.filter(
                conversation_id=conversation.pk,
                pk__gte=notice.first_unemailed_message_id or 0,
                pk__gt=member.last_read_message_id,
            )
            .exclude(sender_id=user.pk)
            .order_by("pk")
        )
        listed = list(unread[:MESSAGES_LISTED])
        if not listed:
            mine.update(first_unemailed_message_id=None, due_at=None)
            return "read"
        if member.last_seen_at is not None and member.last_seen_at > now - PRESENCE:
            # The page is open and polling: ask again once it has stopped.
            mine.update(due_at=member.last_seen_at + PRESENCE)
            return "open"
        count = unread.count() if len(listed) == MESSAGES_LISTED else len(listed)
        _email_queue(
            template="messages",
            user=user,
            kind="message",
            context={
                "other_name": _name_in(invitation, other.pk),
                "subject": one_line(invitation.subject),
                "messages": [
                    {
                        "sender_name": _name_in(invitation, m.sender_id),
                        "at": m.created_at,
                        "text": excerpt(m.body),
                    }
                    for m in listed
                ],
                "count": count,
                "more": count - len(listed),
                "conversation_url": conversation_url(conversation.pk),
            },
        )
        delay = os.environ.get(NOTICE_DELAY_ENV)
        if delay:
            time.sleep(float(delay))
        mine.update(first_unemailed_message_id=None, due_at=None, last_emailed_at=now)
        return "sent"


def message_notices_send(*, limit: int = DUE_BATCH) -> int:
    """The beat task's run: every due notice in its own transaction; how many mails it queued."""
    due = list(
        MessageNotice.objects.filter(due_at__lte=timezone.now())
        .order_by("due_at", "member_id")
        .values_list("member_id", flat=True)[:limit]
    )
    return sum(message_notice_send(member_id=member_id) == "sent" for member_id in due)
