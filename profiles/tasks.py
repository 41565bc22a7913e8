"""Celery tasks for profiles: plain values in, one service call each."""

import dataclasses

from celery import shared_task

from profiles import digests, duplicates, orcid_imports


@shared_task
def digests_send_task(chunk_size: int = digests.CHUNK_SIZE) -> int:
    """The hourly beat: send the daily and weekly digests that are due (each once)."""
    return digests.digests_send_due(chunk_size=chunk_size)


@shared_task
def duplicate_suggestions_refresh_task() -> dict[str, int]:
    """The daily beat: likely duplicate records into the staff queue (profiles.duplicates)."""
    return dataclasses.asdict(duplicates.duplicate_suggestions_refresh())


@shared_task
def orcid_import_run_task(run_id: int) -> str:
    """Import one owner's ORCID record into their record (once, however often delivered)."""
    return orcid_imports.orcid_import_run(run_id=run_id)


@shared_task
def orcid_imports_send_due_task() -> int:
    """The periodic sweep: send the runs queued while the broker was away, or whose worker died."""
    return orcid_imports.orcid_imports_send_due()
