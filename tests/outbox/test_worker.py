"""Mail delivered by a real Celery worker to a real SMTP server, through the real Redis.

Sign-up while the mail server is down answers as usual and the mail arrives
once the server is back; a worker killed in the middle of a send neither
loses the mail nor sends it twice.
"""

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bzpeer.broker import task_send_resume
from bzpeer.outbox import services
from bzpeer.outbox.models import OutboundEmail
from bzpeer.outbox.tasks import outbound_email_send_task, outbound_emails_send_due_task
from tests.graph.celery_worker import (
    Worker,
    new_queue,
    sending_to,
    start_worker,
    wait_for,
)
from tests.outbox.smtp_server import SmtpServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("through_the_broker"),
]

PASSWORD = "a-long-test-password-1"
Status = OutboundEmail.Status


def start(
    workers: list[Worker], queue: str, tmp_path: Path, smtp: SmtpServer, **env: str
) -> Worker:
    """A worker that mails through the test's SMTP server."""
    return start_worker(
        workers,
        queue,
        tmp_path,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        **env,
    )


def status(email_id: int) -> str:
    return OutboundEmail.objects.values_list("status", flat=True).get(pk=email_id)


def lease_runs_out(email_id: int) -> None:
    OutboundEmail.objects.filter(pk=email_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )


def test_sign_up_while_the_mail_server_is_down_is_mailed_once_it_is_back(
    queue, workers, tmp_path, smtp
):
    worker = start(workers, queue, tmp_path, smtp)

    response = Client().post(
        reverse("account_signup"),
        {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    assert get_user_model().objects.filter(email="new@example.org").exists()
    email = OutboundEmail.objects.get()
    wait_for(
        lambda: (
            OutboundEmail.objects.get(pk=email.pk).attempts == 1
            and status(email.pk) == Status.PENDING
        ),
        timeout=60,
        what="the worker's failed first attempt",
        workers=[worker],
    )
    assert smtp.messages == []
    assert OutboundEmail.objects.get(pk=email.pk).task_sent_at is None

    smtp.start()
    lease_runs_out(email.pk)  # time passes: the backoff is over
    assert outbound_emails_send_due_task() == 1
    wait_for(lambda: status(email.pk) == Status.SENT, timeout=60, what="the send", workers=[worker])
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["To"] == "new@example.org"
    assert outbound_emails_send_due_task() == 0


def test_a_worker_killed_mid_send_neither_loses_nor_duplicates_the_mail(
    queue, workers, tmp_path, smtp
):
    smtp.start()
    slow = start(workers, queue, tmp_path, smtp, **{services.SEND_DELAY_ENV: "60"})
    email = services.email_queue(to=["ada@example.org"], subject="Hello", body="Hi Ada")
    assert email is not None
    wait_for(
        lambda: status(email.pk) == Status.SENDING,
        timeout=60,
        what="the send starting",
        workers=[slow],
    )

    slow.kill()
    time.sleep(1)
    assert status(email.pk) == Status.SENDING, "nothing else may touch the dead send's row"
    assert outbound_emails_send_due_task() == 0, "not before the lease runs out"
    fresh = start(workers, queue, tmp_path, smtp)
    lease_runs_out(email.pk)
    assert outbound_emails_send_due_task() == 1
    wait_for(
        lambda: status(email.pk) == Status.SENT,
        timeout=60,
        what="the send after the lease",
        workers=[slow, fresh],
    )
    assert len(smtp.messages) == 1

    # The task delivered once more (a duplicate from the broker): nothing sent.
    outbound_email_send_task.delay(email.pk)
    wait_for(
        lambda: "succeeded" in fresh.log() and "'skipped'" in fresh.log(),
        timeout=60,
        what="the duplicate task",
        workers=[fresh],
    )
    assert len(smtp.messages) == 1
    assert OutboundEmail.objects.get(pk=email.pk).attempts == 2


def test_sign_up_while_the_broker_is_down_is_mailed_by_the_next_sweep(
    own_redis, workers, tmp_path, smtp
):
    smtp.start()
    broker_queue = new_queue()
    with sending_to(broker_queue, own_redis.url(0)):
        own_redis.stop()
        response = Client().post(
            reverse("account_signup"),
            {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
        assert response.status_code == 302
        email = OutboundEmail.objects.get()
        assert email.status == Status.PENDING and email.attempts == 0
        assert email.task_sent_at is None, "the task was not sent"

        own_redis.start()
        # The sweep runs in a worker, where no send failed moments ago.
        task_send_resume()
        worker = start(workers, broker_queue, tmp_path, smtp, REDIS_URL=own_redis.url(0))
        assert outbound_emails_send_due_task() == 1
        wait_for(
            lambda: status(email.pk) == Status.SENT, timeout=60, what="the send", workers=[worker]
        )
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["To"] == "new@example.org"


def test_sign_up_while_the_broker_hangs_answers_and_leaves_the_mail_for_the_sweep(own_redis, smtp):
    with sending_to(new_queue(), own_redis.url(0)):
        own_redis.hang()
        answers = []

        def sign_up():
            try:
                answers.append(
                    Client().post(
                        reverse("account_signup"),
                        {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
                    )
                )
            finally:
                connection.close()

        request = threading.Thread(target=sign_up, daemon=True)
        request.start()
        # Not a timing assertion: a guard so that a sign-up hung on the broker
        # fails this test instead of hanging the suite.
        request.join(timeout=120)
        hung = request.is_alive()
        own_redis.resume()
        request.join(timeout=30)

    assert not hung, "sign-up waited on the hung broker"
    assert answers[0].status_code == 302
    email = OutboundEmail.objects.get()
    assert email.status == Status.PENDING and email.attempts == 0
    assert email.task_sent_at is None, "the task was not sent"
