"""Import ORCID v3.0 records: the person, their affiliations, their works.

A record is one person, so a file is read whole (at most
works.importers.common.MAX_FILE_BYTES), read into rows (orcid_records) and
written in one transaction, a set of statements per kind of row rather than one per row:

- the author: found by ORCID iD, else created. ORCID fills what an existing
  record lacks (name variants, other registries' ids) and names only the
  records it created itself;
- affiliations: one line per employment or education, keyed by its put-code
  and marked as ORCID's; linked to the institution holding the organisation's
  ROR id where there is one (an institution is never created from ORCID: the
  OpenAlex import would then make a second one with the same ROR id). A
  re-import replaces ORCID's lines, but a line the owner hid stays hidden;
- works: matched to stored works by works.matching (DOI, arXiv id, put-code,
  title and year). A match gains the authorship if it lacks it and the ids it
  lacks; an unmatched work is created with its put-code in
  Work.other_ids["orcid_put_code"]. Authorships ORCID adds are marked
  origin "orcid"; an authorship a person confirmed or disputed is never
  touched, and ORCID's own are removed once the record stops listing them.

What every import does after: the metrics of the changed authors are queued
and their cached pages and graph slices retired (works.importers.openalex
announce_changes); new works are announced in the transaction that creates
them, as the OpenAlex import does.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.utils import timezone

from works import matching
from works.importers.common import DocumentImport, count_changes, source_ids_by_name
from works.importers.openalex import ImportStats
from works.importers.orcid_records import (
    OrcidAffiliation,
    OrcidRecord,
    OrcidWork,
    RecordError,
    parse_record,
)
from works.models import ORCID_PUT_CODE, AuthorAffiliation, Authorship
from works.signals import affiliations_changed, works_created

# Merges chain rarely; a cycle (a bug elsewhere) must not hang an import.
_MAX_MERGE_HOPS = 10
_ORIGIN = Authorship.Origin.ORCID.value
_ASSERTED = Authorship.Status.ASSERTED.value


def import_orcid_paths(paths: Iterable[Path], *, strict: bool = False) -> ImportStats:
    """Import ORCID record files, each in a transaction of its own; with strict=True
    every file is read first and the first problem (ImportAborted) writes nothing,
    of any file."""
    return _IMPORT.import_paths(paths, strict=strict)


def import_orcid_document(data: Any, *, source_name: str, strict: bool = False) -> ImportStats:
    """Import one decoded ORCID record (e.g. fetched from the API); problems name source_name."""
    return _IMPORT.import_documents([(source_name, data)], strict=strict)


# --- writing ---------------------------------------------------------------


def _write_record(cursor: Any, record: OrcidRecord, stats: ImportStats) -> None:
    author_id, author_change, created_author = _write_author(cursor, record)
    count_changes(stats, [author_change])
    changed = author_change != "unchanged"
    institution = _write_affiliations(cursor, author_id, record, stats)
    changed |= institution
    work_changes, changed_work_ids, created_work_ids = _write_works(cursor, author_id, record)
    count_changes(stats, work_changes)
    stats.works_added += work_changes.count("created")
    stats.works_matched += len(work_changes) - work_changes.count("created")
    changed |= any(change != "unchanged" for change in work_changes)
    if changed:
        stats.changed_author_ids.add(author_id)
    if changed_work_ids:
        # Co-authors' pages show these works (and now this author on them).
        cursor.execute(
            "SELECT DISTINCT author_id FROM works_authorship WHERE work_id = ANY(%s::bigint[])",
            [sorted(changed_work_ids)],
        )
        stats.changed_author_ids.update(row[0] for row in cursor.fetchall())
    if created_work_ids:
        # In the record's transaction: listeners' rows commit with the works.
        works_created.send(sender=ImportStats, work_ids=sorted(created_work_ids))
    _fill_last_known_institution(cursor, author_id, record, created_author=created_author)


def _write_author(cursor: Any, record: OrcidRecord) -> tuple[int, str, bool]:
    """The author holding the record's ORCID iD, created or brought up to date."""
    cursor.execute(
        "SELECT id, display_name, name_variants, external_ids, openalex_id, merged_into_id"
        " FROM works_author WHERE orcid = %s FOR UPDATE",
        [record.orcid],
    )
    row = cursor.fetchone()
    # A record merged into another answers with the survivor: the works go there.
    holder = row
    for _ in range(_MAX_MERGE_HOPS):
        if row is None or row[5] is None:
            break
        cursor.execute(
            "SELECT id, display_name, name_variants, external_ids, openalex_id, merged_into_id"
            " FROM works_author WHERE id = %s FOR UPDATE",
            [row[5]],
        )
        row = cursor.fetchone()
    if row is None:
        cursor.execute(
            """
            INSERT INTO works_author (orcid, display_name, name_variants, external_ids,
                openalex_id, summary, open_to_collaborate, works_count, cited_by_count,
                is_synthetic, created_at, updated_at)
            VALUES (%s, %s, %s, %s, '', '', false, 0, 0, false,
                statement_timestamp(), statement_timestamp())
            RETURNING id
            """,
            [
                record.orcid,
                # A record whose owner keeps the name private is named by its iD.
                record.display_name or record.orcid,
                record.name_variants,
                json.dumps(record.external_ids),
            ],
        )
        return cursor.fetchone()[0], "created", True
    author_id, display_name, variants, external_ids, openalex_id, _ = row
    # Django has psycopg hand jsonb over as text.
    if isinstance(external_ids, str):
        external_ids = json.loads(external_ids)
    # ORCID names only the records it made (no OpenAlex id, the ORCID iD their
    # own rather than a merged record's): OpenAlex's keep OpenAlex's name.
    ours = not openalex_id and row is holder
    name = record.display_name if record.display_name and ours else display_name
    new_variants = list(variants) + [
        v for v in record.name_variants if v not in variants and v != name
    ]
    new_ids = {**record.external_ids, **(external_ids or {})}
    if (name, new_variants, new_ids) == (display_name, list(variants), external_ids or {}):
        return author_id, "unchanged", False
    cursor.execute(
        "UPDATE works_author SET display_name = %s, name_variants = %s, external_ids = %s,"
        " updated_at = statement_timestamp() WHERE id = %s",
        [name, new_variants, json.dumps(new_ids), author_id],
    )
    return author_id, "updated", False


_AFFILIATIONS_SQL = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
        source_key text, institution_id bigint, institution_name text, years smallint[],
        until_present boolean, organization_ids jsonb)
),
up AS (
    INSERT INTO works_authoraffiliation AS t (author_id, origin, source_key, institution_id,
        institution_name, years, until_present, organization_ids, hidden)
    SELECT %(author)s, %(origin)s, source_key, institution_id, institution_name, years,
        until_present, organization_ids, false
    FROM v ORDER BY source_key
    ON CONFLICT (author_id, origin, source_key) WHERE source_key <> '' DO UPDATE SET
        institution_id = EXCLUDED.institution_id, institution_name = EXCLUDED.institution_name,
        years = EXCLUDED.years, until_present = EXCLUDED.until_present,
        organization_ids = EXCLUDED.organization_ids
    WHERE (t.institution_id, t.institution_name, t.years, t.until_present, t.organization_ids)
        IS DISTINCT FROM (EXCLUDED.institution_id, EXCLUDED.institution_name, EXCLUDED.years,
            EXCLUDED.until_present, EXCLUDED.organization_ids)
    RETURNING t.source_key, (t.xmax = 0) AS inserted
),
gone AS (
    DELETE FROM works_authoraffiliation t
    WHERE %(remove)s AND t.author_id = %(author)s AND t.origin = %(origin)s AND NOT t.hidden
        AND t.source_key NOT IN (SELECT source_key FROM v)
    RETURNING t.source_key
)
SELECT source_key, inserted FROM up UNION ALL SELECT source_key, NULL FROM gone
"""


def _years(line: OrcidAffiliation, this_year: int) -> tuple[list[int], bool]:
    """The line's years, and whether it runs to the present (no end date)."""
    start, end = line.start_year, line.end_year
    if start is None:
        return ([end] if end else []), False
    if end is None:
        return list(range(start, max(start, this_year) + 1)), True
    return list(range(start, end + 1)), False


def _institution_ids(cursor: Any, rors: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(rors))
    if not wanted:
        return {}
    cursor.execute(
        "SELECT ror, id FROM works_institution WHERE ror = ANY(%s::text[]) AND ror <> ''",
        [wanted],
    )
    return dict(cursor.fetchall())


def _write_affiliations(
    cursor: Any, author_id: int, record: OrcidRecord, stats: ImportStats
) -> bool:
    """Replace the author's ORCID lines with the record's; whether any changed."""
    institution_ids = _institution_ids(cursor, (a.ror for a in record.affiliations))
    this_year = timezone.localdate().year
    rows = []
    for line in record.affiliations:
        years, until_present = _years(line, this_year)
        rows.append(
            {
                "source_key": line.source_key,
                "institution_id": institution_ids.get(line.ror),
                "institution_name": line.organization_name,
                "years": years,
                "until_present": until_present,
                "organization_ids": line.organization_ids,
            }
        )
    # A line the record could not give (skipped) is not removed for it.
    complete = not any(
        skipped and location.startswith(("employments/", "educations/"))
        for location, _, skipped in record.problems
    )
    cursor.execute(
        _AFFILIATIONS_SQL,
        {
            "rows": json.dumps(rows, ensure_ascii=False),
            "author": author_id,
            "origin": AuthorAffiliation.Origin.ORCID.value,
            "remove": complete,
        },
    )
    written = {key: inserted for key, inserted in cursor.fetchall()}
    for row in rows:
        inserted = written.get(row["source_key"], "unchanged")
        count_changes(
            stats,
            ["unchanged" if inserted == "unchanged" else "created" if inserted else "updated"],
        )
    return bool(written)


def _fill_last_known_institution(
    cursor: Any, author_id: int, record: OrcidRecord, *, created_author: bool
) -> None:
    """An author without a last known institution gets the current employment's."""
    current = [
        a
        for a in record.affiliations
        if a.source_key.startswith("employment/") and a.end_year is None and a.ror
    ]
    institution_ids = _institution_ids(cursor, (a.ror for a in current))
    current = [a for a in current if a.ror in institution_ids]
    if not current:
        return
    newest = max(current, key=lambda a: a.start_year or 0)
    institution_id = institution_ids[newest.ror]
    cursor.execute(
        "UPDATE works_author SET last_known_institution_id = %s,"
        " updated_at = statement_timestamp()"
        " WHERE id = %s AND last_known_institution_id IS NULL RETURNING id",
        [institution_id, author_id],
    )
    if cursor.fetchone() and not created_author:
        affiliations_changed.send(sender=ImportStats, changes=[(author_id, None, institution_id)])


_CREATE_WORKS_SQL = """
INSERT INTO works_work (openalex_id, doi, arxiv_id, title, abstract, type, language,
    cited_by_count, publication_year, publication_date, source_id, other_ids, is_synthetic,
    created_at, updated_at)
SELECT '', doi, arxiv_id, title, '', type, '', 0, publication_year, publication_date,
    source_id, other_ids, false, statement_timestamp(), statement_timestamp()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
    doi text, arxiv_id text, title text, type text, publication_year int,
    publication_date date, source_id bigint, other_ids jsonb)
RETURNING id, other_ids ->> %(put_code)s
"""

# Matched works gain the ids they lack (unless another work holds them) and a
# venue; a work this ORCID record created (its put-code, no OpenAlex id)
# follows the record's title, type and date too.
_UPDATE_WORKS_SQL = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
        id bigint, put_code text, doi text, arxiv_id text, title text, type text,
        publication_year int, publication_date date, source_id bigint, other_ids jsonb)
),
n AS (
    SELECT t.id,
        (t.openalex_id = '' AND t.other_ids ->> %(put_code)s = v.put_code) AS own,
        CASE WHEN t.doi = '' AND v.doi <> '' AND NOT EXISTS (
            SELECT FROM works_work x WHERE lower(x.doi) = v.doi AND x.doi <> '')
        THEN v.doi ELSE t.doi END AS doi,
        CASE WHEN t.arxiv_id = '' AND v.arxiv_id <> '' AND NOT EXISTS (
            SELECT FROM works_work x WHERE x.arxiv_id = v.arxiv_id AND x.arxiv_id <> '')
        THEN v.arxiv_id ELSE t.arxiv_id END AS arxiv_id,
        v.other_ids || t.other_ids AS other_ids,
        coalesce(t.source_id, v.source_id) AS source_id,
        v.title AS new_title, v.type AS new_type, v.publication_year AS new_year,
        v.publication_date AS new_date
    FROM works_work t JOIN v ON v.id = t.id
    WHERE t.id = ANY(%(ids)s::bigint[])
),
m AS (
    SELECT n.id, n.doi, n.arxiv_id, n.other_ids, n.source_id,
        CASE WHEN n.own THEN n.new_title ELSE t.title END AS title,
        CASE WHEN n.own THEN n.new_type ELSE t.type END AS type,
        CASE WHEN n.own THEN n.new_year ELSE coalesce(t.publication_year, n.new_year) END
            AS publication_year,
        CASE WHEN n.own THEN n.new_date ELSE t.publication_date END AS publication_date
    FROM n JOIN works_work t ON t.id = n.id
)
UPDATE works_work t SET doi = m.doi, arxiv_id = m.arxiv_id, other_ids = m.other_ids,
    source_id = m.source_id, title = m.title, type = m.type,
    publication_year = m.publication_year, publication_date = m.publication_date,
    updated_at = statement_timestamp()
FROM m
WHERE t.id = m.id AND (t.doi, t.arxiv_id, t.other_ids, t.source_id, t.title, t.type,
    t.publication_year, t.publication_date) IS DISTINCT FROM (m.doi, m.arxiv_id, m.other_ids,
    m.source_id, m.title, m.type, m.publication_year, m.publication_date)
RETURNING t.id
"""

_AUTHORSHIPS_SQL = """
INSERT INTO works_authorship (work_id, author_id, position, raw_author_name,
    is_corresponding, origin, status)
SELECT v.work_id, %(author)s,
    least(coalesce((SELECT max(a.position) + 1 FROM works_authorship a
        WHERE a.work_id = v.work_id), 0), 32767),
    %(name)s, false, %(origin)s, %(status)s
FROM unnest(%(work_ids)s::bigint[]) AS v(work_id)
ORDER BY v.work_id
ON CONFLICT (work_id, author_id) DO NOTHING
RETURNING work_id
"""

# ORCID's own authorships of works the record no longer lists; what a person
# decided (confirmed, disputed) stays.
_GONE_AUTHORSHIPS_SQL = """
DELETE FROM works_authorship
WHERE author_id = %(author)s AND origin = %(origin)s AND status = %(status)s
    AND work_id <> ALL(%(work_ids)s::bigint[])
RETURNING work_id
"""


def _work_row(work: OrcidWork, source_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "doi": work.doi,
        "arxiv_id": work.arxiv_id,
        "title": work.title,
        "type": work.type,
        "publication_year": work.publication_year,
        "publication_date": work.publication_date.isoformat() if work.publication_date else None,
        "source_id": source_ids.get(work.journal_title.lower()),
        "other_ids": work.other_ids,
    }


def _write_works(
    cursor: Any, author_id: int, record: OrcidRecord
) -> tuple[list[str], set[int], set[int]]:
    """Match and write the record's works; (each work's change, the works whose row or
    authors changed, the works created)."""
    works = record.works
    result = matching.works_match(
        cursor,
        [
            matching.IncomingWork(
                doi=w.doi,
                arxiv_id=w.arxiv_id,
                source_key=w.put_code,
                title=w.title,
                year=w.publication_year,
            )
            for w in works
        ],
        source_key=ORCID_PUT_CODE,
    )
    source_ids = source_ids_by_name(cursor, (w.journal_title for w in works))
    # A work the record lists twice (two groups ORCID did not join) is written
    # once, for its first copy; the best match of any copy is theirs.
    copies: dict[int, list[int]] = {}
    for position, first in enumerate(result.first_of):
        copies.setdefault(first, []).append(position)
    best: dict[int, matching.Match | None] = {
        first: min(
            (m for p in positions if (m := result.matches[p]) is not None),
            key=lambda m: m.by,
            default=None,
        )
        for first, positions in copies.items()
    }
    matched: dict[int, int] = {}  # work id -> the position of the record's work written to it
    to_create = [first for first, match in best.items() if match is None]
    for first, match in best.items():
        if match is not None:
            matched.setdefault(match.work_id, first)

    created_ids: dict[int, int] = {}  # position -> new work id
    if to_create:
        rows = []
        for position in to_create:
            row = _work_row(works[position], source_ids)
            row["other_ids"] = {**row["other_ids"], ORCID_PUT_CODE: works[position].put_code}
            rows.append(row)
        cursor.execute(
            _CREATE_WORKS_SQL,
            {"rows": json.dumps(rows, ensure_ascii=False), "put_code": ORCID_PUT_CODE},
        )
        by_put_code = {put_code: work_id for work_id, put_code in cursor.fetchall()}
        created_ids = {p: by_put_code[works[p].put_code] for p in to_create}

    updated: set[int] = set()
    if matched:
        rows = [
            {"id": work_id, "put_code": works[p].put_code, **_work_row(works[p], source_ids)}
            for work_id, p in sorted(matched.items())
        ]
        cursor.execute(
            _UPDATE_WORKS_SQL,
            {
                "rows": json.dumps(rows, ensure_ascii=False),
                "ids": sorted(matched),
                "put_code": ORCID_PUT_CODE,
            },
        )
        updated = {work_id for (work_id,) in cursor.fetchall()}

    listed = sorted({*matched, *created_ids.values()})
    cursor.execute(
        _AUTHORSHIPS_SQL,
        {
            "author": author_id,
            "name": record.display_name,
            "origin": _ORIGIN,
            "status": _ASSERTED,
            "work_ids": listed,
        },
    )
    joined = {work_id for (work_id,) in cursor.fetchall()}
    gone: set[int] = set()
    if not any(skipped and loc.startswith("works/") for loc, _, skipped in record.problems):
        cursor.execute(
            _GONE_AUTHORSHIPS_SQL,
            {"author": author_id, "origin": _ORIGIN, "status": _ASSERTED, "work_ids": listed},
        )
        gone = {work_id for (work_id,) in cursor.fetchall()}

    changes: list[str] = []
    for position, first in enumerate(result.first_of):
        match = best[first]
        work_id = created_ids[first] if match is None else match.work_id
        if position != first:
            changes.append("unchanged")  # its first copy counts for it
        elif match is None:
            changes.append("created")
        elif work_id in updated or work_id in joined:
            changes.append("updated")
        else:
            changes.append("unchanged")
    return changes, updated | joined | gone, set(created_ids.values())


_IMPORT = DocumentImport(
    kind="an ORCID record",
    parse=parse_record,
    not_a_document=RecordError,
    problems=lambda record: record.problems,
    write=_write_record,
)
