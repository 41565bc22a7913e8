from celery import shared_task

from profiles.collaboration import services


@shared_task
def invitations_expire_task() -> int:
    """From beat: mark pending invitations past their 30 days expired (a conditional update)."""
    return services.invitations_expire()
