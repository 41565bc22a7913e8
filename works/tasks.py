"""Celery tasks for the records: ids in, one service call each."""

from celery import shared_task

from works import metrics


@shared_task
def author_metrics_refresh_task(author_ids: list[int]) -> int:
    """Recount the metrics of a chunk of authors an import changed (works.metrics)."""
    return metrics.author_metrics_refresh(author_ids=author_ids)
