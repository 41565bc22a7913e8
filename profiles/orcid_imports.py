"""'Bring in my ORCID works': the owner of a record proven by ORCID sign-in imports their
ORCID record into it, in a Celery task, with the progress on their page.

The run is a row first (OrcidImportRun), then a task: a press writes the row
and hands the task to the broker once it commits (bzpeer.broker, never
failing the request). The row says whether the broker took it, so a run
pressed while the broker was away is sent by the beat sweep once it is back,
and a run whose worker died (lease run out) is sent again. The task claims
the row with a conditional UPDATE and fences every later write with the
attempt number, so a task delivered twice, or a run taken over after its
lease, imports once and records one result. The import itself is
works.orcid_api.import_orcid_id, the path `import_orcid --orcid` takes:
idempotent, so a run redone after a crash changes nothing more.
"""

import logging
import os
import time
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from bzpeer import broker
from profiles.models import OrcidImportRun
from works.models import Author
from works.orcid_api import (
    OrcidClient,
    OrcidError,
    OrcidNotFound,
    OrcidUnavailable,
    import_orcid_id,
)

logger = logging.getLogger(__name__)

Status = OrcidImportRun.Status

# Longer than an import of one person's record takes (the client's retries included).
RUN_LEASE = timedelta(minutes=10)
# A queued run whose task was handed over this long ago and never ran (the
# broker lost it) gets another.
RESEND_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 3
# Errors listed on the page; the count of the rest is said.
MAX_ERRORS = 20
# Tests slow a run down with it to stop a worker mid-run; unset in production.
RUN_DELAY_ENV = "BZPEER_ORCID_IMPORT_DELAY"

BUSY = "An import of your ORCID works is running already: its progress is below."


class OrcidImportBusy(Exception):
    """A run for this record is queued or running already."""

    def __init__(self, run: OrcidImportRun) -> None:
        super().__init__(BUSY)
        self.run = run


def orcid_import_latest(*, author_id: int) -> OrcidImportRun | None:
    """The record's latest run: one query on orcidimportrun_latest_idx."""
    return OrcidImportRun.objects.filter(author_id=author_id).order_by("-created_at", "-id").first()


def orcid_import_request(*, user: AbstractBaseUser, author: Author) -> OrcidImportRun:
    """Queue a run of the record's ORCID iD; OrcidImportBusy while one is queued or running.

    The caller checked that `user` owns the record and proved its iD by
    ORCID sign-in. The task goes to the broker once the row commits.
    """
    try:
        with transaction.atomic():
            run = OrcidImportRun.objects.create(
                author=author, requested_by_id=user.pk, orcid=author.orcid
            )
    except IntegrityError:
        live = OrcidImportRun.objects.filter(
            author=author, status__in=OrcidImportRun.LIVE_STATES
        ).first()
        if live is None:  # finished between the insert and this read: press again
            return orcid_import_request(user=user, author=author)
        raise OrcidImportBusy(live) from None
    transaction.on_commit(lambda: _send_task(run.pk, 0))
    return run


def _send_task(run_id: int, attempts: int) -> None:
    """Hand the run's task to the broker and record it, unless a worker started it meanwhile."""
    from profiles.tasks import orcid_import_run_task

    if broker.task_send(orcid_import_run_task, run_id):
        OrcidImportRun.objects.filter(pk=run_id, status=Status.QUEUED, attempts=attempts).update(
            task_sent_at=timezone.now()
        )


def orcid_import_run(*, run_id: int, client: OrcidClient | None = None) -> str:
    """Run one queued import if nobody else runs it; idempotent.

    Returns "done", "failed", or "skipped" (finished already, another worker
    holds it, or no such row).
    """
    now = timezone.now()
    claimed = (
        OrcidImportRun.objects.filter(pk=run_id)
        .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, lease_expires_at__lt=now))
        .update(
            status=Status.RUNNING,
            lease_expires_at=now + RUN_LEASE,
            started_at=now,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return "skipped"
    run = OrcidImportRun.objects.get(pk=run_id)
    mine = OrcidImportRun.objects.filter(pk=run_id, status=Status.RUNNING, attempts=run.attempts)
    if run.attempts > MAX_ATTEMPTS:
        mine.update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            errors=[f"The import stopped {MAX_ATTEMPTS} times before it finished."],
        )
        return "failed"
    delay = os.environ.get(RUN_DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    try:
        stats = import_orcid_id(run.orcid, client=client)
    except OrcidError as error:
        mine.update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            errors=[_explain(error)],
        )
        return "failed"
    # Named by their place in the record: the source is the record, said on the page.
    errors = [f"{p.location}: {p.reason}" for p in stats.problems][:MAX_ERRORS]
    more = stats.problems_not_listed + max(len(stats.problems) - MAX_ERRORS, 0)
    if more:
        errors.append(f"… and {more} more.")
    mine.update(
        # The record could not be read, or the database refused it: nothing written.
        status=Status.FAILED if stats.failed_paths else Status.DONE,
        finished_at=timezone.now(),
        lease_expires_at=None,
        works_total=stats.works_matched + stats.works_added,
        works_matched=stats.works_matched,
        works_added=stats.works_added,
        errors=errors,
    )
    return "failed" if stats.failed_paths else "done"


def _explain(error: OrcidError) -> str:
    if isinstance(error, OrcidNotFound):
        return f"ORCID has no public record for this iD. ({error})"
    if isinstance(error, OrcidUnavailable):
        return f"ORCID could not be reached; try again later. ({error})"
    return str(error)


def orcid_imports_send_due() -> int:
    """The periodic sweep (Celery beat): send tasks for the runs that have none; how many.

    Due: queued runs the broker never took (it was away) or lost, and runs
    whose worker died (lease run out).
    """
    now = timezone.now()
    due = list(
        OrcidImportRun.objects.filter(
            Q(
                Q(task_sent_at__isnull=True) | Q(task_sent_at__lt=now - RESEND_AFTER),
                status=Status.QUEUED,
            )
            | Q(status=Status.RUNNING, lease_expires_at__lt=now)
        )
        .order_by("created_at", "pk")
        .values_list("pk", "attempts")
    )
    for run_id, attempts in due:
        _send_task(run_id, attempts)
    return len(due)
