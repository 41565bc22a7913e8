"""Celery tasks for graph slices: ids in, one service call each.

acks_late and reject_on_worker_lost (settings) put a task back on the queue
when the process running it dies; the broker marks it redelivered, and the
build then takes over the dead build's row at once instead of waiting for its
lease to run out. When the whole worker dies the message only comes back
after the broker's visibility timeout: the lease and the periodic sweep
(graph_slices_queue_stale_task) rebuild the row long before that.
"""

from typing import Any

from celery import shared_task

from graph import services


@shared_task(bind=True)
def graph_slices_build_task(self: Any, author_ids: list[int]) -> dict[str, int]:
    """Build the queued slices of up to services.CHUNK_SIZE authors."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return services.slices_build(author_ids=author_ids, takeover=redelivered)


@shared_task
def graph_slices_queue_stale_task() -> int:
    """The periodic sweep: queue stale, failed and dead builds again."""
    return services.slices_queue_stale()
