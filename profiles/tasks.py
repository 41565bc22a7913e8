"""Celery tasks for profiles: plain values in, one service call each."""

from celery import shared_task

from profiles import digests


@shared_task
def digests_send_task(chunk_size: int = digests.CHUNK_SIZE) -> int:
    """The hourly beat: send the daily and weekly digests that are due (each once)."""
    return digests.digests_send_due(chunk_size=chunk_size)
