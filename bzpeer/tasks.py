"""Project-wide Celery tasks."""

from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.core.cache import cache


@shared_task
def ping_task(key: str) -> str:
    """Leave "pong" in the cache under `key`: proof that a worker ran the task.

    Results are not stored (CELERY_RESULT_BACKEND is off), so the cache is where
    a caller looks for the answer.
    """
    cache.set(key, "pong", timeout=300)
    return "pong"


@shared_task
def sessions_clear_task() -> None:
    """Delete expired sessions, as `manage.py clearsessions` does, from beat every hour."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
