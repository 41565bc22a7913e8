"""What the importers of whole documents share (ORCID records, Crossref responses, arXiv feeds).

A document is read whole (an ORCID record is one person, a Crossref response
one page of at most 1,000 works, an arXiv feed one batch of entries), decoded
(JSON, or kept as bytes for a source that parses its own XML), parsed into rows
with a list of problems (each skipping a part, or a note), and written in one
transaction; with strict, every document is read first and the first problem
writes nothing, of any document. Journal titles become Sources, and the
changed authors are announced once the import has committed.
"""

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import psycopg
from django.db import DataError, IntegrityError, connection, transaction

from works.importers.openalex import ImportAborted, ImportProblem, ImportStats, announce_changes

Parsed = TypeVar("Parsed")
# (location, reason, skipped): a skipped part is not imported; a note is
# imported with what could be read.
Problems = list[tuple[str, str, bool]]

MAX_FILE_BYTES = 64 * 1024 * 1024


class DocumentError(Exception):
    """A file cannot be read as the document it should hold; the message says why."""


def read_document_bytes(path: Path, *, kind: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file that should hold kind ("an ORCID record"), which is not empty."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(f"{size:,} bytes, more than {kind} can be ({max_bytes:,})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError("no such file") from None
    except IsADirectoryError:
        raise DocumentError("is a directory, not a file") from None
    except OSError as error:
        raise DocumentError(f"cannot read: {error.strerror or error}") from None
    if not raw.strip():
        raise DocumentError(f"empty file: not {kind}")
    return raw


def decode_json(raw: bytes, *, kind: str) -> Any:
    """The JSON document in raw; kind ("an ORCID record") names what it should be."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"not JSON: not UTF-8 text ({error.reason} at byte {error.start:,})"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
            raise DocumentError(
                "truncated JSON: the file ends before its JSON is complete "
                f"({error.msg} at {where})"
            ) from None
        raise DocumentError(f"not JSON: {error.msg} at {where}") from None
    except RecursionError:
        raise DocumentError(f"not {kind}: JSON nested too deeply") from None


def keep_bytes(raw: bytes, *, kind: str) -> bytes:
    """No decoding: the source's parse reads the bytes itself (arXiv's XML)."""
    return raw


def count_changes(stats: ImportStats, changes: Iterable[str]) -> None:
    """Add "created", "updated" and "unchanged" records to stats."""
    counted = Counter(changes)
    stats.created += counted["created"]
    stats.updated += counted["updated"]
    stats.unchanged += counted["unchanged"]


@contextlib.contextmanager
def announcing(stats: ImportStats) -> Iterator[None]:
    """Announce stats' changed authors (metrics, pages, slices) once the import commits."""
    try:
        yield
    finally:
        announce_changes(stats)


def source_ids_by_name(cursor: Any, names: Iterable[str]) -> dict[str, int]:
    """Sources by journal title (lower case): an existing one of that name, else a new one."""
    names = [n for n in names if n]
    wanted = sorted({n.lower() for n in names})
    if not wanted:
        return {}
    cursor.execute(
        "SELECT DISTINCT ON (lower(display_name)) lower(display_name), id FROM works_source"
        " WHERE lower(display_name) = ANY(%s::text[])"
        " ORDER BY lower(display_name), openalex_id = '', id",
        [wanted],
    )
    found = dict(cursor.fetchall())
    missing = {n.lower(): n for n in names if n.lower() not in found}
    if missing:
        cursor.execute(
            """
            INSERT INTO works_source (openalex_id, display_name, type, issn_l,
                host_organization_name, is_synthetic, created_at, updated_at)
            SELECT '', n, '', '', '', false, statement_timestamp(), statement_timestamp()
            FROM unnest(%s::text[]) AS n
            RETURNING lower(display_name), id
            """,
            [sorted(missing.values())],
        )
        found.update(cursor.fetchall())
    return found


@dataclass(frozen=True)
class FetchFailed:
    """A document an API did not give (its error, an unknown id): a problem of its name."""

    reason: str


@dataclass
class _Job(Generic[Parsed]):
    source_name: str
    parsed: Parsed | None = None
    stats: ImportStats = field(default_factory=ImportStats)


@dataclass(frozen=True)
class DocumentImport(Generic[Parsed]):
    """How one source's documents are imported: read, decoded, parsed, written.

    decode turns a file's bytes into the document (JSON by default; an API
    client hands import_documents documents already decoded the same way);
    parse turns a document into rows, raising not_a_document when it is none
    of the source's; problems lists what it skipped or noted; write writes the
    rows through a psycopg cursor inside the document's transaction, adding to
    the stats it is given, and may return problems only the database shows
    (two entries that are one stored work): strict stops at the first of
    those too, and the document's writes are undone.
    """

    kind: str  # "an ORCID record": what a file should hold, for messages
    parse: Callable[[Any], Parsed]
    not_a_document: type[Exception]
    problems: Callable[[Parsed], Problems]
    write: Callable[[Any, Parsed, ImportStats], Problems | None]
    decode: Callable[..., Any] = decode_json  # (raw bytes, *, kind) -> document
    max_bytes: int = MAX_FILE_BYTES
    unit: str = "record"  # what the database may refuse, for messages

    def read(self, path: Path) -> Any:
        raw = read_document_bytes(path, kind=self.kind, max_bytes=self.max_bytes)
        return self.decode(raw, kind=self.kind)

    def import_paths(self, paths: Iterable[Path], *, strict: bool = False) -> ImportStats:
        """Import files, each in a transaction of its own; with strict=True every
        file is read first and the first problem (ImportAborted) writes nothing,
        of any file."""
        total = ImportStats()
        with announcing(total):
            if strict:
                jobs = [self._prepare(str(p), self._read_strictly(p), strict=True) for p in paths]
                written = ImportStats()
                # All files or none: a document the database refuses undoes the others.
                with transaction.atomic():
                    for job in jobs:
                        self._write(job, strict=True)
                        written.merge(job.stats)
                total.merge(written)
                return total
            for path in paths:
                try:
                    data = self.read(path)
                except DocumentError as error:
                    total.add_problem(ImportProblem(str(path), "file", str(error)))
                    total.failed_paths.append(str(path))
                    continue
                job = self._prepare(str(path), data, strict=False)
                self._write(job)
                total.merge(job.stats)
        return total

    def import_documents(
        self, documents: Iterable[tuple[str, Any]], *, strict: bool = False
    ) -> ImportStats:
        """Import decoded documents (their name, the document or a FetchFailed), e.g.
        fetched from an API, each in a transaction of its own (strict: all or none)."""
        total = ImportStats()
        with announcing(total), transaction.atomic() if strict else contextlib.nullcontext():
            for source_name, data in documents:
                job = self._prepare(source_name, data, strict=strict)
                self._write(job, strict=strict)
                total.merge(job.stats)
        return total

    def _read_strictly(self, path: Path) -> Any:
        try:
            return self.read(path)
        except DocumentError as error:
            raise ImportAborted(ImportProblem(str(path), "file", str(error))) from None

    def _prepare(self, source_name: str, data: Any, *, strict: bool) -> _Job[Parsed]:
        job: _Job[Parsed] = _Job(source_name)
        if isinstance(data, FetchFailed):
            _problem(job, "file", data.reason, strict=strict)
            job.stats.failed_paths.append(source_name)
            return job
        try:
            job.parsed = self.parse(data)
        except self.not_a_document as error:
            _problem(job, "file", str(error), strict=strict)
            job.stats.failed_paths.append(source_name)
            return job
        for location, reason, skipped in self.problems(job.parsed):
            _problem(job, location, reason, strict=strict)
            if skipped:
                job.stats.skipped += 1
        return job

    def _write(self, job: _Job[Parsed], *, strict: bool = False) -> None:
        if job.parsed is None:
            return
        try:
            written = ImportStats()
            with (
                transaction.atomic(),
                connection.wrap_database_errors,
                psycopg.Cursor(connection.connection) as cursor,
            ):
                found = self.write(cursor, job.parsed, written)
                for location, reason, skipped in found or ():
                    _problem(job, location, reason, strict=strict)
                    if skipped:
                        job.stats.skipped += 1
        except (DataError, IntegrityError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            problem = ImportProblem(
                job.source_name, "file", f"the database refused the {self.unit}: {reason}"
            )
            if strict:
                raise ImportAborted(problem) from error
            job.stats.add_problem(problem)
            job.stats.failed_paths.append(job.source_name)
            return
        job.stats.merge(written)


def _problem(job: _Job[Any], location: str, reason: str, *, strict: bool) -> None:
    problem = ImportProblem(job.source_name, location, reason)
    if strict:
        raise ImportAborted(problem)
    job.stats.add_problem(problem)
