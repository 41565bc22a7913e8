"""What the importers of whole JSON documents share (ORCID records, Crossref responses).

A document is read whole (an ORCID record is one person, a Crossref response
one page of at most 1,000 works), its journal titles become Sources, and the
changed authors are announced once the import has committed.
"""

import contextlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from works.importers.openalex import ImportStats, announce_changes

MAX_FILE_BYTES = 64 * 1024 * 1024


class DocumentError(Exception):
    """A file cannot be read as the JSON document it should hold; the message says why."""


def read_json_document(path: Path, *, kind: str) -> Any:
    """The JSON document of a file; kind ("an ORCID record") names what it should be."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(f"{size:,} bytes, more than {kind} can be ({MAX_FILE_BYTES:,})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError("no such file") from None
    except IsADirectoryError:
        raise DocumentError("is a directory, not a file") from None
    except OSError as error:
        raise DocumentError(f"cannot read: {error.strerror or error}") from None
    if not raw.strip():
        raise DocumentError(f"empty file: not {kind}")
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
