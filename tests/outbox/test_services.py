"""The outbox with tasks run in-process: a mail server that is down never fails a request,
and every mail is delivered once when it is back."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from bzpeer.outbox import services
from bzpeer.outbox.models import OutboundEmail
from bzpeer.outbox.tasks import outbound_email_send_task, outbound_emails_send_due_task
from profiles import services as profile_services
from tests.factories import AuthorFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"
Status = OutboundEmail.Status


def time_passes(email: OutboundEmail) -> None:
    """The backoff of the last failure is over."""
    OutboundEmail.objects.filter(pk=email.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_sign_up_with_the_mail_server_down_answers_and_mails_once_it_is_back(
    client, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert get_user_model().objects.filter(email="new@example.org").exists()
    email = OutboundEmail.objects.get()
    assert email.status == Status.PENDING
    assert email.to == ["new@example.org"]
    assert email.attempts == 1 and "refused" in email.last_error.lower()
    assert email.task_sent_at is None, "the sweep sends it again once the backoff is over"
    assert smtp.messages == []

    smtp.start()
    assert outbound_emails_send_due_task() == 0, "not due before its backoff is over"
    time_passes(email)
    assert outbound_emails_send_due_task() == 1

    (message,) = smtp.messages
    assert message["To"] == "new@example.org"
    assert message["Message-ID"] == email.message_id
    assert re.search(r"/accounts/confirm-email/\S+/", message.get_payload())
    email.refresh_from_db()
    assert email.status == Status.SENT and email.sent_at is not None
    assert email.body == "", "a sent mail's link is not kept"
    # Nothing more to send, however often the sweep or the task runs.
    assert outbound_emails_send_due_task() == 0
    assert outbound_email_send_task(email.pk) == "skipped"
    assert len(smtp.messages) == 1


def test_a_mail_task_delivered_twice_sends_once(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = services.email_queue(to=["ada@example.org"], subject="Hello", body="Hi Ada")
    assert email is not None
    assert len(mailoutbox) == 1 and mailoutbox[0].body == "Hi Ada"

    assert outbound_email_send_task(email.pk) == "skipped"
    assert services.email_send(email_id=email.pk) == "skipped"
    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.status == Status.SENT and email.attempts == 1


def test_a_mail_server_that_stays_down_is_retried_with_backoff_then_given_up(
    smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        email = services.email_queue(to=["ada@example.org"], subject="Hello", body="Hi")
    email.refresh_from_db()
    assert email.status == Status.PENDING and email.attempts == 1
    first_wait = email.next_attempt_at - timezone.now()
    assert timedelta(seconds=30) < first_wait <= services.FIRST_RETRY

    time_passes(email)
    assert outbound_emails_send_due_task() == 1
    email.refresh_from_db()
    assert email.status == Status.PENDING and email.attempts == 2
    assert email.next_attempt_at - timezone.now() > first_wait, "the wait doubles"

    OutboundEmail.objects.filter(pk=email.pk).update(attempts=services.MAX_ATTEMPTS - 1)
    time_passes(email)
    assert outbound_emails_send_due_task() == 1
    email.refresh_from_db()
    assert email.status == Status.FAILED and email.attempts == services.MAX_ATTEMPTS
    assert outbound_emails_send_due_task() == 0


def test_a_claim_code_mailed_while_the_mail_server_is_down_arrives_when_it_is_back(
    smtp, django_capture_on_commit_callbacks
):
    user = get_user_model().objects.create_user("rosa", "rosa@example.org", PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        profile_services.email_code_send(
            user=user, author=AuthorFactory(), address="rosa@uni.example"
        )
    email = OutboundEmail.objects.get()
    assert email.status == Status.PENDING and email.to == ["rosa@uni.example"]

    smtp.start()
    time_passes(email)
    assert outbound_emails_send_due_task() == 1
    (message,) = smtp.messages
    assert message["To"] == "rosa@uni.example"
    assert re.search(r"\b\d{6}\b", message.get_payload())


def test_a_mail_whose_sender_died_is_sent_again_after_its_lease(
    mailoutbox, django_capture_on_commit_callbacks
):
    email = services.email_queue(to=["ada@example.org"], subject="Hello", body="Hi")
    assert email is not None
    # A worker claimed it and died before sending.
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=Status.SENDING, attempts=1, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert outbound_emails_send_due_task() == 0
    assert outbound_email_send_task(email.pk) == "skipped", "another sender holds it"

    OutboundEmail.objects.filter(pk=email.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert outbound_emails_send_due_task() == 1
    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.status == Status.SENT and email.attempts == 2


def test_html_mail_keeps_its_alternative(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.email_queue(to=["ada@example.org"], subject="Hi", body="plain", html="<p>rich</p>")
    (message,) = mailoutbox
    assert message.body == "plain"
    assert message.alternatives[0][0] == "<p>rich</p>"


def test_the_sweep_sends_a_task_only_for_mail_that_has_none_with_the_broker(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        email = services.email_queue(to=["ada@example.org"], subject="Hello", body="Hi")
    assert email is not None
    # Its task is with the broker (a worker will run it): no duplicate.
    OutboundEmail.objects.filter(pk=email.pk).update(task_sent_at=timezone.now())
    assert outbound_emails_send_due_task() == 0

    # The broker lost it.
    OutboundEmail.objects.filter(pk=email.pk).update(
        task_sent_at=timezone.now() - services.RESEND_AFTER - timedelta(seconds=1)
    )
    assert outbound_emails_send_due_task() == 1
    assert len(mailoutbox) == 1
