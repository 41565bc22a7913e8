"""The frame every importer of a source other than OpenAlex runs in (ORCID, arXiv, ...).

A source's document (a file, or one API response) is read and validated into
rows first, its problems listed by place; then the rows are written in one
transaction. Without strict, a bad part is reported and skipped and a file that
cannot be read is reported and passed over; with strict, the first problem
raises ImportAborted and, for files, nothing of any file is written. Once the
writes commit, the changed authors are announced (announce_changes).
"""

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from django.db import DataError, IntegrityError, connection, transaction

from works.importers.openalex import ImportAborted, ImportProblem, ImportStats, announce_changes

# Writes a document's rows with the cursor, counting into the stats.
Writer = Callable[[Any, ImportStats], None]


class SourceFileError(Exception):
    """A file that cannot be read at all; the message says why in words."""


class SourceJob:
    """One document of a source: its problems, then its rows written."""

    def __init__(self, source_name: str, *, strict: bool, what: str) -> None:
        self.source_name = source_name
        self.strict = strict
        self.what = what  # "record", "feed": what the database may refuse
        self.stats = ImportStats()
        self.writer: Writer | None = None  # set once the document could be read
        self.rows: Any = None  # what the source's reader made of it

    def problem(self, location: str, reason: str) -> None:
        problem = ImportProblem(self.source_name, location, reason)
        if self.strict:
            raise ImportAborted(problem)
        self.stats.add_problem(problem)

    def unreadable(self, reason: str) -> None:
        """Nothing of the document can be imported."""
        self.problem("file", reason)
        self.stats.failed_paths.append(self.source_name)

    def note_problems(self, problems: Iterable[tuple[str, str, bool]]) -> None:
        """(location, reason, skipped) as the source's reader listed them."""
        for location, reason, skipped in problems:
            self.problem(location, reason)
            if skipped:
                self.stats.skipped += 1

    def write(self) -> None:
        """Write the rows in a transaction; one the database refuses is the document's problem."""
        if self.writer is None:
            return
        written = ImportStats()
        try:
            with (
                transaction.atomic(),
                connection.wrap_database_errors,
                psycopg.Cursor(connection.connection) as cursor,
            ):
                self.writer(cursor, written)
        except (DataError, IntegrityError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            problem = ImportProblem(
                self.source_name, "file", f"the database refused the {self.what}: {reason}"
            )
            if self.strict:
                raise ImportAborted(problem) from error
            self.stats.add_problem(problem)
            self.stats.failed_paths.append(self.source_name)
            return
        self.stats.merge(written)


def count_changes(stats: ImportStats, changes: Iterable[str]) -> None:
    """Count "created", "updated" and "unchanged" rows into the stats."""
    counted = Counter(changes)
    stats.created += counted["created"]
    stats.updated += counted["updated"]
    stats.unchanged += counted["unchanged"]


@contextlib.contextmanager
def announcing(stats: ImportStats) -> Iterator[None]:
    """Announce the changed authors of what the block imported, once committed."""
    try:
        yield
    finally:
        announce_changes(stats)


def import_files(
    paths: Iterable[Path],
    *,
    strict: bool,
    read: Callable[[Path], Any],
    prepare: Callable[[str, Any, bool], SourceJob],
) -> ImportStats:
    """Import files, each in a transaction of its own: read(path) gives the document
    (SourceFileError: unreadable), prepare(name, document, strict) its job. With
    strict=True every file is read first and the first problem (ImportAborted)
    writes nothing, of any file."""
    total = ImportStats()
    with announcing(total):
        if strict:
            jobs = [prepare(str(p), _read_strictly(read, p), True) for p in paths]
            # All files or none: a document the database refuses undoes the others.
            with transaction.atomic():
                for job in jobs:
                    job.write()
            for job in jobs:
                total.merge(job.stats)
            return total
        for path in paths:
            try:
                document = read(path)
            except SourceFileError as error:
                total.add_problem(ImportProblem(str(path), "file", str(error)))
                total.failed_paths.append(str(path))
                continue
            job = prepare(str(path), document, False)
            job.write()
            total.merge(job.stats)
    return total


def _read_strictly(read: Callable[[Path], Any], path: Path) -> Any:
    try:
        return read(path)
    except SourceFileError as error:
        raise ImportAborted(ImportProblem(str(path), "file", str(error))) from None
