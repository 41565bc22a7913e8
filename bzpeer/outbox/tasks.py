"""Celery tasks for outbound email: ids in, one service call each."""

from celery import shared_task

from bzpeer.outbox import services


@shared_task
def outbound_email_send_task(email_id: int) -> str:
    """Deliver one queued mail (once, however often the task is delivered)."""
    return services.email_send(email_id=email_id)


@shared_task
def outbound_emails_send_due_task() -> int:
    """The periodic sweep: send the mails that are due again or whose sender died."""
    return services.emails_send_due()
