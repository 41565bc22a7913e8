"""Project-wide Celery tasks."""

from celery import shared_task
from django.core.cache import cache


@shared_task
def ping_task(key: str) -> str:
    """Leave "pong" in the cache under `key`: proof that a worker ran the task.

    Results are not stored (CELERY_RESULT_BACKEND is off), so the cache is where
    a caller looks for the answer.
    """
    cache.set(key, "pong", timeout=300)
    return "pong"
