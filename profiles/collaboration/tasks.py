"""Celery tasks for collaboration mail: one service call each."""

from celery import shared_task

from profiles.collaboration import notifications


@shared_task
def message_notices_send_task() -> int:
    """Celery beat, every minute: the batched "new messages" mails that are due."""
    return notifications.message_notices_send()
