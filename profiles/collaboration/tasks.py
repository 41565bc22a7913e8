"""Celery tasks for collaboration: ids or nothing in, one service call each."""

from celery import shared_task

from profiles.collaboration import notifications, services


@shared_task
def message_notices_send_task() -> int:
    """Celery beat, every minute: the batched "new messages" mails that are due."""
    return notifications.message_notices_send()


@shared_task
def invitations_expire_task() -> int:
    """From beat: mark pending invitations past their 30 days expired (a conditional update)."""
    return services.invitations_expire()
