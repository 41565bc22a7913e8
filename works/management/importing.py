"""What every import command does around its import: errors in words, the report, the exit.

Shared by import_orcid, import_crossref and import_arxiv:
an import that stops (--strict, an API error, the database) becomes a
CommandError saying what was and was not written; a finished one prints its
problems to stderr and "created N, updated N, unchanged N, skipped N" and how
many authors changed to stdout, and fails when a file could not be read or
every record was skipped.
"""

from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from works.importers import ImportAborted, ImportStats


def run_import(
    command: BaseCommand,
    do_import: Callable[[], ImportStats],
    *,
    source_errors: tuple[type[Exception], ...],
    note: Callable[[], str] | None = None,
) -> ImportStats:
    """Run do_import and report it on the command's streams; source_errors are the
    source's own (an API that did not answer), shown as they say; note, if it
    gives a line, is printed after the summary (a search that stopped early)."""
    try:
        stats = do_import()
    except ImportAborted as error:
        raise CommandError(
            f"{error.problem}\nStrict import stopped: nothing was written."
        ) from error
    except source_errors as error:
        raise CommandError(str(error)) from error
    except DatabaseError as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CommandError(
            f"The database failed: {reason}\nWhat was written before stays; "
            "running the same import again completes it."
        ) from error
    for problem in stats.problems:
        command.stderr.write(str(problem))
    if stats.problems_not_listed:
        command.stderr.write(f"... and {stats.problems_not_listed} more problems not listed")
    command.stdout.write(stats.summary())
    changed = len(stats.changed_author_ids)
    command.stdout.write(f"{changed} author{'' if changed == 1 else 's'} changed")
    if note is not None and (line := note()):
        command.stdout.write(line)
    if stats.failed_paths:
        reasons = "; ".join(
            f"{p.path}: {p.reason}" for p in stats.problems if p.path in stats.failed_paths
        )
        raise CommandError(f"Could not import: {reasons or ', '.join(stats.failed_paths)}")
    if stats.records and stats.skipped == stats.records:
        raise CommandError("Every record was skipped: nothing was imported.")
    return stats
