"""Writes for the outbox: queue a mail, deliver it once, sweep what is due.

`email_queue` writes the row in the caller's transaction and hands a send
task to the broker once it commits; a broker that is away only delays the
mail to the next sweep (bzpeer.broker). `email_send` claims the row with a
conditional UPDATE before talking to the mail server, so a task delivered
twice, or sent by both a request and the sweep, delivers the mail once.

A worker killed after the mail server accepted a message but before the row
said so would send it again after the lease: no mail system can close that
gap, so every attempt carries the row's Message-ID for receivers to match.
"""

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bzpeer import broker
from bzpeer.outbox.models import OutboundEmail

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status

# Longer than a send can take (EMAIL_TIMEOUT bounds each socket operation).
SEND_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)
DUE_BATCH = 500
# A pending mail whose task was handed over this long ago and never ran (the
# broker lost it) gets another.
RESEND_AFTER = timedelta(minutes=15)
KEEP_SENT = timedelta(days=30)
ERROR_MAX_CHARS = 500
# Tests slow a send down with it to kill a worker mid-send; unset in production.
SEND_DELAY_ENV = "BZPEER_MAIL_SEND_DELAY"


def email_queue(
    *,
    to: Iterable[str],
    subject: str,
    body: str,
    html: str = "",
    from_email: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboundEmail | None:
    """Queue a mail; it is sent once the caller's transaction commits. None: no recipient."""
    recipients = [address for address in to if address]
    if not recipients:
        return None
    email = OutboundEmail.objects.create(
        to=recipients,
        subject=subject,
        body=body,
        html=html,
        headers=headers or {},
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        message_id=make_msgid(domain=_domain()),
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(partial(_send_task, email.pk, 0))
    return email


@dataclass(frozen=True)
class Mail:
    """One mail for email_queue_many."""

    to: list[str]
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def email_queue_many(*, mails: Iterable[Mail]) -> list[OutboundEmail]:
    """email_queue for many mails at once: one INSERT, one UPDATE after commit, whatever the count.

    For batch senders (the digests): their tasks go to the broker once the
    caller's transaction commits, as email_queue's do.
    """
    now = timezone.now()
    rows = OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(
                to=mail.to,
                subject=mail.subject,
                body=mail.body,
                headers=mail.headers,
                from_email=settings.DEFAULT_FROM_EMAIL,
                message_id=make_msgid(domain=_domain()),
                next_attempt_at=now,
            )
            for mail in mails
            if mail.to
        ]
    )
    if rows:
        transaction.on_commit(partial(_send_tasks, [row.pk for row in rows]))
    return rows


def email_queue_message(*, message: EmailMessage) -> OutboundEmail | None:
    """Queue a rendered message (allauth's): its text, and its HTML alternative if any."""
    html = ""
    body = str(message.body)
    if message.content_subtype == "html":
        html, body = body, ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = str(content)
    return email_queue(
        to=message.to,
        subject=str(message.subject),
        body=body,
        html=html,
        from_email=message.from_email,
    )


def _domain() -> str:
    # The sender's domain: the site's own name rather than the worker's host name.
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "localhost"


def _send_task(email_id: int, attempts: int) -> None:
    """Hand the row's send task to the broker and record it, unless the task has run already."""
    # outbox.tasks imports this module; the task is looked up when it is needed.
    from bzpeer.outbox.tasks import outbound_email_send_task

    if broker.task_send(outbound_email_send_task, email_id):
        # Same attempts: no worker (nor the in-process task) has tried it meanwhile.
        OutboundEmail.objects.filter(pk=email_id, status=Status.PENDING, attempts=attempts).update(
            task_sent_at=timezone.now()
        )


def _send_tasks(email_ids: list[int]) -> None:
    """_send_task for many rows, recorded in one UPDATE."""
    from bzpeer.outbox.tasks import outbound_email_send_task

    sent = [pk for pk in email_ids if broker.task_send(outbound_email_send_task, pk)]
    if sent:
        OutboundEmail.objects.filter(pk__in=sent, status=Status.PENDING, attempts=0).update(
            task_sent_at=timezone.now()
        )


def _message(email: OutboundEmail) -> EmailMessage:
    headers = {**email.headers, "Message-ID": email.message_id}
    if not email.body and email.html:
        message = EmailMessage(
            email.subject, email.html, email.from_email, email.to, headers=headers
        )
        message.content_subtype = "html"
        return message
    message = EmailMultiAlternatives(
        email.subject, email.body, email.from_email, email.to, headers=headers
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    return message


def _retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** (attempts - 1), LAST_RETRY)


def email_send(*, email_id: int) -> str:
    """Deliver one queued mail if it is due and nobody else is sending it; idempotent.

    Returns what happened: "sent"; "retry" (the mail server failed; the row
    is pending again, due after a backoff); "failed" (it failed
    MAX_ATTEMPTS times); "skipped" (sent already, not due, another worker
    holds it, or no such row).
    """
    now = timezone.now()
    claimed = (
        OutboundEmail.objects.filter(pk=email_id)
        .filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, lease_expires_at__lt=now)
        )
        .update(
            status=Status.SENDING, lease_expires_at=now + SEND_LEASE, attempts=F("attempts") + 1
        )
    )
    if not claimed:
        return "skipped"
    email = OutboundEmail.objects.get(pk=email_id)
    # The attempt number fences the row: a send whose lease ran out and was
    # taken over writes nothing.
    mine = OutboundEmail.objects.filter(pk=email_id, status=Status.SENDING, attempts=email.attempts)
    delay = os.environ.get(SEND_DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    try:
        _message(email).send()
    except Exception as error:
        outcome = "failed" if email.attempts >= MAX_ATTEMPTS else "retry"
        logger.warning("email %s to %s not sent (%s): %s", email.pk, email.to, outcome, error)
        mine.update(
            status=Status.FAILED if outcome == "failed" else Status.PENDING,
            next_attempt_at=timezone.now() + _retry_delay(email.attempts),
            task_sent_at=None,
            lease_expires_at=None,
            last_error=f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS],
        )
        return outcome
    # What was sent may hold a sign-in link or a code: it is not kept.
    mine.update(
        status=Status.SENT,
        sent_at=timezone.now(),
        lease_expires_at=None,
        body="",
        html="",
        last_error="",
    )
    return "sent"


def emails_send_due(*, limit: int = DUE_BATCH) -> int:
    """The periodic sweep (Celery beat): send tasks for the mails due; how many.

    Due: pending mails whose backoff is over and that have no task with the
    broker (it was away when they were queued, or their last attempt
    failed, or the task was lost), and mails whose sender died mid-send
    (lease run out). Sent mails are forgotten after KEEP_SENT.
    """
    now = timezone.now()
    due = list(
        OutboundEmail.objects.filter(
            Q(
                Q(task_sent_at__isnull=True) | Q(task_sent_at__lt=now - RESEND_AFTER),
                status=Status.PENDING,
                next_attempt_at__lte=now,
            )
            | Q(status=Status.SENDING, lease_expires_at__lt=now)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "attempts")[:limit]
    )
    for email_id, attempts in due:
        _send_task(email_id, attempts)
    OutboundEmail.objects.filter(status=Status.SENT, sent_at__lt=now - KEEP_SENT).delete()
    return len(due)
