"""Set-based writes of validated OpenAlex rows to PostgreSQL.

One statement per table per batch: the batch travels as one jsonb document
that jsonb_to_recordset turns into rows (it carries array columns, which
unnest cannot), then `INSERT ... ON CONFLICT (openalex_id) ... DO UPDATE ...
WHERE (columns) IS DISTINCT FROM (new values)` writes only what changed, so a
re-import leaves rows and their updated_at alone. The same statement also
returns the ids of the unchanged rows, so related rows never need a lookup.

PostgreSQL cannot estimate how many rows the batch document holds (it assumes
100), and a table being filled has stale statistics, so no statement joins a
table to the batch: existing rows are found through `= ANY(ids)` on an
index, and anti-joins are `NOT IN (SELECT ...)` against the batch, which
PostgreSQL hashes (no NULLs can occur there). Joins planned from those
estimates became nested loops, quadratic in the batch and the table.

A work the batch creates cannot have authorships or topics yet: those rows,
and their authorship institutions, go in by COPY, with nothing to compare or
remove. Upserts leave out the batch rows that equal the stored ones before
ON CONFLICT sees them, since ON CONFLICT DO UPDATE locks (and so writes to)
every conflicting row even when its WHERE skips the update.

Two kinds of copies: an *entity* record (an author file, an institution file,
a work) is authoritative and sets every column it carries; an *embedded* copy
(the author inside a work's authorship, the topic inside a work) fills blanks
and updates what it states, but never blanks a value another record gave.
"""

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any, Literal, TypeVar

import orjson
from psycopg import sql
from psycopg.types.json import Jsonb

from works.importers.arxiv_records import family_name
from works.importers.openalex_records import (
    AuthorRow,
    AuthorshipRow,
    InstitutionRow,
    SourceRow,
    TopicRow,
    WorkRow,
)
from works.models import Authorship

_WORD = re.compile(r"\w+")

Change = Literal["created", "updated", "unchanged"]
TABLES = (
    "works_source",
    "works_institution",
    "works_topic",
    "works_author",
    "works_authortopic",
    "works_work",
    "works_worktopic",
    "works_authorship",
    "works_authorship_institutions",
)
_Row = TypeVar("_Row", SourceRow, InstitutionRow, TopicRow, AuthorRow, WorkRow)

# Authorships a person confirmed or disputed are theirs: an import never
# updates or removes them, whatever the source now says.
_MANAGED_STATUS = Authorship.Status.ASSERTED.value


@dataclass
class BatchResult:
    changes: dict[str, Change] = field(default_factory=dict)  # by the record's OpenAlex id
    notes: list[tuple[str, str]] = field(default_factory=list)  # (location, reason)
    changed_author_ids: set[int] = field(default_factory=set)
    created_work_ids: set[int] = field(default_factory=set)
    # (author id, institution id before, after) for stored authors whose last
    # known institution this batch changed.
    affiliation_changes: list[tuple[int, int | None, int | None]] = field(default_factory=list)


@dataclass(frozen=True)
class _Table:
    name: str
    # column -> its type in the table, which the batch document is read as
    columns: dict[str, str]
    embedded: bool = False
    defaults: dict[str, str] = field(default_factory=dict)  # insert-only columns -> SQL
    merge: dict[str, str] = field(default_factory=dict)  # column -> update expression
    # Columns computed from the others (column -> update expression): written,
    # but never compared, so that they alone never make a row "updated".
    derived: dict[str, str] = field(default_factory=dict)

    def update_expression(self, column: str) -> str:
        if column in self.merge:
            return self.merge[column]
        if self.embedded:
            return f"COALESCE(NULLIF(EXCLUDED.{column}, ''), t.{column})"
        return f"EXCLUDED.{column}"

    @cached_property
    def sql(self) -> str:
        columns = list(self.columns)
        updates = {
            c: self.update_expression(c)
            for c in columns
            if c != "openalex_id" and c not in self.derived
        }
        # A row stays synthetic only while every import of it was synthetic.
        updates["is_synthetic"] = "t.is_synthetic AND EXCLUDED.is_synthetic"
        insert = [*columns, *self.defaults, "is_synthetic", "created_at", "updated_at"]
        values = [
            *columns,
            *self.defaults.values(),
            "%(synthetic)s",
            "statement_timestamp()",
            "statement_timestamp()",
        ]
        record = ", ".join(f"{c} {t}" for c, t in self.columns.items())
        current = ", ".join(f"t.{c}" for c in updates)
        # The new values, computed from the batch row rather than EXCLUDED.
        merged = ", ".join(
            e.replace("EXCLUDED.is_synthetic", "%(synthetic)s").replace("EXCLUDED.", "v.")
            for e in updates.values()
        )
        return f"""
WITH v AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v({record})),
up AS (
    INSERT INTO {self.name} AS t ({", ".join(insert)})
    SELECT {", ".join(values)} FROM v
    WHERE NOT EXISTS (
        SELECT FROM {self.name} t WHERE t.openalex_id = v.openalex_id AND t.openalex_id <> ''
            AND ({current}) IS NOT DISTINCT FROM ({merged})
    )
    ON CONFLICT (openalex_id) WHERE openalex_id <> '' DO UPDATE
    SET {", ".join(f"{c} = {e}" for c, e in {**updates, **self.derived}.items())},
        updated_at = EXCLUDED.updated_at
    WHERE ({current}) IS DISTINCT FROM ({", ".join(updates.values())})
    RETURNING t.id, t.openalex_id, (t.xmax = 0) AS inserted
)
SELECT id, openalex_id, inserted FROM up
UNION ALL
SELECT t.id, t.openalex_id, NULL FROM {self.name} t
WHERE t.openalex_id = ANY(%(keys)s::text[]) AND t.openalex_id <> ''
    AND t.openalex_id NOT IN (SELECT openalex_id FROM up)
"""


_SOURCE_COLUMNS = {
    "openalex_id": "text",
    "display_name": "text",
    "type": "text",
    "issn_l": "text",
    "host_organization_name": "text",
}
_INSTITUTION_COLUMNS = {
    "openalex_id": "text",
    "ror": "text",
    "display_name": "text",
    "country_code": "text",
    "type": "text",
}
_TOPIC_COLUMNS = {
    "openalex_id": "text",
    "display_name": "text",
    "subfield": "text",
    "field": "text",
    "domain": "text",
}
_AUTHOR_COLUMNS = {"openalex_id": "text", "display_name": "text", "orcid": "text"}
_AUTHOR_DEFAULTS = {"summary": "''", "open_to_collaborate": "false"}

SOURCE = _Table("works_source", _SOURCE_COLUMNS)
SOURCE_EMBEDDED = _Table("works_source", _SOURCE_COLUMNS, embedded=True)
INSTITUTION = _Table(
    "works_institution",
    {**_INSTITUTION_COLUMNS, "email_domains": "varchar[]"},
    defaults={"email_domains_refused": "'{}'"},
    # Domains are only ever added, and never one staff removed: staff may have
    # curated the list (works.admin).
    merge={
        "email_domains": "t.email_domains || ARRAY(SELECT d FROM unnest(EXCLUDED.email_domains)"
        " AS d WHERE d <> ALL(t.email_domains) AND d <> ALL(t.email_domains_refused))"
    },
)
INSTITUTION_EMBEDDED = _Table(
    "works_institution",
    _INSTITUTION_COLUMNS,
    embedded=True,
    defaults={"email_domains": "'{}'", "email_domains_refused": "'{}'"},
)
TOPIC = _Table("works_topic", {**_TOPIC_COLUMNS, "description": "text", "keywords": "varchar[]"})
TOPIC_EMBEDDED = _Table(
    "works_topic",
    _TOPIC_COLUMNS,
    embedded=True,
    defaults={"description": "''", "keywords": "'{}'"},
)
AUTHOR = _Table(
    "works_author",
    {
        **_AUTHOR_COLUMNS,
        "name_variants": "varchar[]",
        "works_count": "bigint",
        "cited_by_count": "bigint",
        "last_known_institution_id": "bigint",
        "external_ids": "jsonb",
    },
    defaults=_AUTHOR_DEFAULTS,
    # Other sources add names and ids too (an ORCID record's other names and
    # Scopus id): OpenAlex's join them rather than replace them, so a
    # re-import keeps both sources' (and the two never undo each other).
    merge={
        "name_variants": "t.name_variants || ARRAY(SELECT n FROM (SELECT DISTINCT ON (n) n, k"
        " FROM unnest(EXCLUDED.name_variants) WITH ORDINALITY AS u(n, k)"
        " WHERE n <> ALL(t.name_variants) ORDER BY n, k) AS d ORDER BY k)",
        "external_ids": "t.external_ids || EXCLUDED.external_ids",
    },
)
AUTHOR_EMBEDDED = _Table(
    "works_author",
    _AUTHOR_COLUMNS,
    embedded=True,
    defaults={
        **_AUTHOR_DEFAULTS,
        "name_variants": "'{}'",
        "works_count": "0",
        "cited_by_count": "0",
    },
)
WORK = _Table(
    "works_work",
    {
        "openalex_id": "text",
        "doi": "text",
        "arxiv_id": "text",
        "title": "text",
        "abstract": "text",
        "type": "text",
        "publication_year": "int",
        "publication_date": "date",
        "source_id": "bigint",
        "language": "text",
        "cited_by_count": "bigint",
        "counts_by_year": "jsonb",
        "referenced_works": "varchar[]",
        "referenced_works_count": "bigint",
        "is_retracted": "boolean",
        "is_oa": "boolean",
        "oa_status": "text",
        "oa_url": "text",
        "pdf_url": "text",
        "biblio": "jsonb",
        "other_ids": "jsonb",
        "search_document": "tsvector",
    },
    # Given when the importer had it computed ahead (WorkRow.search_document),
    # else null, and the trigger of works migration 0012 computes it. A row
    # whose title and abstract stay keeps its document.
    derived={
        "search_document": "CASE WHEN (t.title, t.abstract)"
        " IS NOT DISTINCT FROM (EXCLUDED.title, EXCLUDED.abstract)"
        " THEN t.search_document ELSE EXCLUDED.search_document END"
    },
    # What OpenAlex leaves empty and another source filled stays: without
    # this, each import of the two would undo the other's, and neither
    # re-import would leave the work alone. ORCID adds ids (works.importers.orcid);
    # Crossref (works.importers.crossref) a publisher's abstract, references
    # and their count, biblio and venue, which OpenAlex often lacks; arXiv
    # (works.importers.arxiv) its copy's abstract and PDF link. other_ids is
    # merged key by key, since each source keeps its own keys there.
    merge={
        "doi": "COALESCE(NULLIF(EXCLUDED.doi, ''), t.doi)",
        "arxiv_id": "COALESCE(NULLIF(EXCLUDED.arxiv_id, ''), t.arxiv_id)",
        "other_ids": "t.other_ids || EXCLUDED.other_ids",
        "abstract": "COALESCE(NULLIF(EXCLUDED.abstract, ''), t.abstract)",
        "pdf_url": "COALESCE(NULLIF(EXCLUDED.pdf_url, ''), t.pdf_url)",
        "referenced_works": "CASE WHEN cardinality(EXCLUDED.referenced_works) = 0"
        " THEN t.referenced_works ELSE EXCLUDED.referenced_works END",
        "referenced_works_count": "CASE WHEN EXCLUDED.referenced_works_count = 0"
        " THEN t.referenced_works_count ELSE EXCLUDED.referenced_works_count END",
        "biblio": "CASE WHEN EXCLUDED.biblio = '{}'::jsonb THEN t.biblio ELSE EXCLUDED.biblio END",
        "source_id": "COALESCE(EXCLUDED.source_id, t.source_id)",
        # Crossref counts citations too (is-referenced-by-count) and keeps the
        # larger of its count and the stored one: so does OpenAlex, or each
        # import would put its own back (the work page says so).
        "cited_by_count": "greatest(t.cited_by_count, EXCLUDED.cited_by_count)",
    },
)

_AUTHORSHIPS_SQL = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
        work_id bigint, author_id bigint, position int, raw_author_name text,
        is_corresponding boolean)
),
up AS (
    INSERT INTO works_authorship AS t
        (work_id, author_id, position, raw_author_name, is_corresponding, origin, status)
    SELECT work_id, author_id, position, raw_author_name, is_corresponding,
        %(origin)s, %(status)s
    FROM v
    WHERE NOT EXISTS (
        SELECT FROM works_authorship t WHERE t.work_id = v.work_id AND t.author_id = v.author_id
            AND (t.origin <> %(origin)s::varchar OR t.status <> %(status)s::varchar
                OR (t.position, t.raw_author_name, t.is_corresponding)
                IS NOT DISTINCT FROM (v.position, v.raw_author_name, v.is_corresponding))
    )
    ON CONFLICT (work_id, author_id) DO UPDATE
    SET position = EXCLUDED.position, raw_author_name = EXCLUDED.raw_author_name,
        is_corresponding = EXCLUDED.is_corresponding
    WHERE t.origin = %(origin)s AND t.status = %(status)s
        AND (t.position, t.raw_author_name, t.is_corresponding)
        IS DISTINCT FROM (EXCLUDED.position, EXCLUDED.raw_author_name, EXCLUDED.is_corresponding)
    RETURNING t.id, t.work_id, t.author_id
),
gone AS (
    DELETE FROM works_authorship t
    WHERE t.work_id = ANY(%(work_ids)s::bigint[])
        AND t.origin = %(origin)s AND t.status = %(status)s
        AND (t.work_id, t.author_id) NOT IN (SELECT work_id, author_id FROM v)
    RETURNING t.id, t.work_id, t.author_id
)
SELECT true, id, work_id, author_id FROM up
UNION ALL
SELECT NULL, id, work_id, author_id FROM gone
UNION ALL
SELECT false, t.id, t.work_id, t.author_id FROM works_authorship t
WHERE t.work_id = ANY(%(work_ids)s::bigint[])
    AND t.origin = %(origin)s AND t.status = %(status)s
    AND t.id NOT IN (SELECT id FROM up) AND t.id NOT IN (SELECT id FROM gone)
"""

_AUTHORSHIP_INSTITUTIONS_SQL = """
WITH v AS (
    SELECT * FROM unnest(%(authorship_ids)s::bigint[], %(institution_ids)s::bigint[])
        AS v(authorship_id, institution_id)
),
added AS (
    INSERT INTO works_authorship_institutions (authorship_id, institution_id)
    SELECT authorship_id, institution_id FROM v
    ON CONFLICT (authorship_id, institution_id) DO NOTHING
    RETURNING authorship_id
),
removed AS (
    DELETE FROM works_authorship_institutions m
    WHERE m.authorship_id = ANY(%(removed)s::bigint[])
        OR (m.authorship_id = ANY(%(managed)s::bigint[])
            AND (m.authorship_id, m.institution_id)
            NOT IN (SELECT authorship_id, institution_id FROM v))
    RETURNING authorship_id
)
SELECT authorship_id FROM added UNION SELECT authorship_id FROM removed
"""

# Link tables whose rows belong wholly to their owner (a work's topics, an
# author's topics): the batch's set replaces the owner's set.
_LINKS_SQL = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS v(owner_id bigint, topic_id bigint, {value_types})
),
up AS (
    INSERT INTO {table} AS t ({owner}, topic_id, {values})
    SELECT owner_id, topic_id, {values} FROM v
    WHERE NOT EXISTS (
        SELECT FROM {table} t WHERE t.{owner} = v.owner_id AND t.topic_id = v.topic_id
            AND ({t_values}) IS NOT DISTINCT FROM ({v_values})
    )
    ON CONFLICT ({owner}, topic_id) DO UPDATE SET {set_values}
    WHERE ({t_values}) IS DISTINCT FROM ({excluded_values})
    RETURNING t.{owner}
),
gone AS (
    DELETE FROM {table} t
    WHERE t.{owner} = ANY(%(owner_ids)s::bigint[])
        AND (t.{owner}, t.topic_id) NOT IN (SELECT owner_id, topic_id FROM v)
    RETURNING t.{owner}
)
SELECT {owner} FROM up UNION SELECT {owner} FROM gone
"""


def _links_sql(table: str, owner: str, values: dict[str, str]) -> str:
    return _LINKS_SQL.format(
        table=table,
        owner=owner,
        value_types=", ".join(f"{c} {t}" for c, t in values.items()),
        values=", ".join(values),
        set_values=", ".join(f"{c} = EXCLUDED.{c}" for c in values),
        t_values=", ".join(f"t.{c}" for c in values),
        excluded_values=", ".join(f"EXCLUDED.{c}" for c in values),
        v_values=", ".join(f"v.{c}" for c in values),
    )


_WORK_TOPICS_SQL = _links_sql(
    "works_worktopic", "work_id", {"score": "float8", "is_primary": "boolean"}
)
_AUTHOR_TOPICS_SQL = _links_sql("works_authortopic", "author_id", {"count": "bigint"})


def _orjson_dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _jsonb(rows: Any) -> Jsonb:
    """A batch document for jsonb_to_recordset, encoded by orjson (json's
    encoder was a sixth of the writer's own time)."""
    return Jsonb(rows, dumps=_orjson_dumps)


def _upsert(
    cursor: Any, table: _Table, rows: Sequence[dict[str, Any]], *, synthetic: bool
) -> dict[str, tuple[int, Change]]:
    """Write rows (unique by openalex_id); their ids and what happened, by OpenAlex id."""
    if not rows:
        return {}
    # In key order, so that concurrent imports lock shared rows (an author on
    # works in both) in the same order instead of deadlocking.
    rows = sorted(rows, key=itemgetter("openalex_id"))
    cursor.execute(
        table.sql,
        {
            "rows": _jsonb(rows),
            "keys": [row["openalex_id"] for row in rows],
            "synthetic": synthetic,
        },
    )
    out: dict[str, tuple[int, Change]] = {}
    for row_id, openalex_id, inserted in cursor.fetchall():
        change: Change = "unchanged" if inserted is None else "created" if inserted else "updated"
        out[openalex_id] = (row_id, change)
    return out


def _holders(cursor: Any, *, table: str, column: str, values: Iterable[str]) -> dict[str, str]:
    """Which existing row (its OpenAlex id, or "#pk" without one) holds each value."""
    wanted = sorted(set(values))
    if not wanted:
        return {}
    key = "lower(doi)" if column == "doi" else column
    cursor.execute(
        f"SELECT {key}, openalex_id, id FROM {table}"
        f" WHERE {key} = ANY(%s::text[]) AND {column} <> ''",
        [wanted],
    )
    return {value: openalex_id or f"#{pk}" for value, openalex_id, pk in cursor.fetchall()}


def _keep_unique(
    cursor: Any,
    *,
    table: str,
    column: str,
    what: str,
    rows: Iterable[tuple[str, _Row]],
    notes: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Blank a unique secondary id (ORCID, ROR, DOI) that another record already holds.

    OpenAlex has duplicate records sharing one ORCID or DOI: the row that had
    it first keeps it, the other is imported without it and reported. An
    author's refused ORCID iD is kept aside in its external_ids ("orcid"), where
    the duplicate finder (profiles.duplicates) pairs the two records; the
    (OpenAlex id, value) pairs refused are returned for rows without
    external_ids of their own (an author embedded in a work).
    """
    rows = [(location, row) for location, row in rows if getattr(row, column)]
    holders = _holders(
        cursor, table=table, column=column, values=(getattr(r, column) for _, r in rows)
    )
    if table in _ADOPTABLE:
        holders.update(_adopt(cursor, holders, table=table, column=column, rows=rows))
    refused: list[tuple[str, str]] = []
    for location, row in rows:
        value = getattr(row, column)
        holder = holders.setdefault(value, row.openalex_id)
        if holder != row.openalex_id:
            notes.append(
                (
                    location,
                    f"{what} {value} of {row.openalex_id} already belongs to {holder}; "
                    f"imported {row.openalex_id} without it",
                )
            )
            setattr(row, column, "")
            refused.append((row.openalex_id, value))
            if table == "works_author" and hasattr(row, "external_ids"):
                row.external_ids = {**row.external_ids, "orcid": value}
    return refused


# A work or an author another source created (ORCID, Crossref, arXiv, a
# researcher's BibTeX: no OpenAlex id) that holds a DOI or arXiv id (a work) or
# an ORCID iD (an author) of an OpenAlex record in the batch becomes that
# record: it takes the OpenAlex id, so the upsert that follows updates it rather
# than creating a second copy without the id (for an author, a second record of
# one person). Unless a stored row already has that OpenAlex id.
_ADOPTABLE = ("works_work", "works_author")
_ADOPT_SQL = """
UPDATE {table} t SET openalex_id = v.openalex_id, updated_at = statement_timestamp()
FROM unnest(%s::bigint[], %s::text[]) AS v(id, openalex_id)
WHERE t.id = v.id AND t.openalex_id = ''
    AND NOT EXISTS (SELECT FROM {table} x WHERE x.openalex_id = v.openalex_id)
RETURNING t.id, t.openalex_id
"""


def _adopt(
    cursor: Any,
    holders: dict[str, str],
    *,
    table: str,
    column: str,
    rows: list[tuple[str, _Row]],
) -> dict[str, str]:
    """Let batch records adopt the stored rows without an OpenAlex id that hold their
    ids; the adopted values with their new holders."""
    wanted: dict[int, str] = {}  # stored row id -> the batch record adopting it
    taken: set[str] = set()
    for _, row in rows:
        holder = holders.get(getattr(row, column), "")
        if (
            holder.startswith("#")
            and row.openalex_id not in taken
            and wanted.setdefault(int(holder[1:]), row.openalex_id) == row.openalex_id
        ):
            taken.add(row.openalex_id)
    if not wanted:
        return {}
    ids = sorted(wanted)
    cursor.execute(_ADOPT_SQL.format(table=table), [ids, [wanted[i] for i in ids]])
    adopted = {f"#{row_id}": openalex_id for row_id, openalex_id in cursor.fetchall()}
    return {value: adopted[holder] for value, holder in holders.items() if holder in adopted}


# The authorships another source (arXiv, Crossref, ORCID, BibTeX) made on a
# work of the batch, with authors of its own making (no OpenAlex id): each row
# the authorship, its position, its author, the author's ORCID iD, and the
# author's and the authorship's names folded (accent- and case-free).
_SOURCE_AUTHORS_SQL = """
SELECT w.openalex_id, s.id, s.position, s.author_id, au.orcid,
    works_fold(au.display_name) || ' ' || works_fold(s.raw_author_name)
FROM works_work w
JOIN works_authorship s ON s.work_id = w.id
JOIN works_author au ON au.id = s.author_id
WHERE w.openalex_id = ANY(%s::text[]) AND au.openalex_id = '' AND au.merged_into_id IS NULL
    AND s.status = %s
ORDER BY w.openalex_id, s.position, s.id
"""

# The authorship moves to the OpenAlex record unless that record is on the work already.
_MOVE_AUTHORSHIPS_SQL = """
UPDATE works_authorship t SET author_id = v.author_id
FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, author_id)
WHERE t.id = v.id
    AND NOT EXISTS (
        SELECT FROM works_authorship x WHERE x.work_id = t.work_id AND x.author_id = v.author_id
    )
RETURNING t.id
"""


def _take_over_source_authors(cursor: Any, items: list[tuple[str, WorkRow]]) -> set[int]:
    """The authors another source made on a batch work become OpenAlex's; the authors changed.

    An OpenAlex authorship matches a source-made one on the same work (the
    work was adopted by DOI or arXiv id, or was OpenAlex's already) with the
    same folded family name, at the same position, else the only one left
    with that family name, and no ORCID iD that differs. The source-made
    author then takes the OpenAlex id (as _adopt does for an ORCID iD) and
    the upsert that follows updates it; when another stored record holds that
    OpenAlex id already, the source's authorship on this work moves to it.
    Either way the work lists the person once, not once per source.
    """
    works = {w.openalex_id: w for _, w in items}
    cursor.execute(_SOURCE_AUTHORS_SQL, [sorted(works), _MANAGED_STATUS])
    stored: dict[str, list[tuple[int, int, int, str, set[str]]]] = {}
    for work, authorship_id, position, author_id, orcid, names in cursor.fetchall():
        stored.setdefault(work, []).append(
            (authorship_id, position, author_id, orcid, set(_WORD.findall(names or "")))
        )
    if not stored:
        return set()
    incoming = [(work, a) for work in stored for a in works[work].authorships]
    cursor.execute(
        "SELECT works_fold(f) FROM unnest(%s::text[]) WITH ORDINALITY AS u(f, n) ORDER BY n",
        [[family_name(a.author.display_name or a.raw_author_name) for _, a in incoming]],
    )
    families = [set(_WORD.findall(f or "")) for (f,) in cursor.fetchall()]

    adopt: dict[int, str] = {}  # source-made author id -> OpenAlex author id
    matched: dict[int, tuple[int, str]] = {}  # authorship id -> (its author, OpenAlex author)
    free = {work: list(rows) for work, rows in stored.items()}
    for (work, authorship), family in zip(incoming, families, strict=True):
        orcid = authorship.author.orcid
        fits = [
            row
            for row in free[work]
            if family and family <= row[4] and (not row[3] or not orcid or row[3] == orcid)
        ]
        same_place = [row for row in fits if row[1] == authorship.position]
        row = same_place[0] if same_place else (fits[0] if len(fits) == 1 else None)
        if row is None:
            continue
        free[work].remove(row)
        openalex_id = authorship.author.openalex_id
        matched[row[0]] = (row[2], openalex_id)
        adopt.setdefault(row[2], openalex_id)
    if not matched:
        return set()
    # A record adopts one OpenAlex id, and an OpenAlex id one record.
    first: dict[str, int] = {}
    for author_id, openalex_id in sorted(adopt.items()):
        first.setdefault(openalex_id, author_id)
    ids = sorted(first.values())
    cursor.execute(_ADOPT_SQL.format(table="works_author"), [ids, [adopt[i] for i in ids]])
    changed = {author_id for author_id, _ in cursor.fetchall()}
    # Where another record holds the OpenAlex id (stored before, or adopted by a
    # second record of the person just now), the authorship goes to that record.
    cursor.execute(
        "SELECT openalex_id, id FROM works_author WHERE openalex_id = ANY(%s::text[])",
        [sorted({openalex_id for _, openalex_id in matched.values()})],
    )
    holders = dict(cursor.fetchall())
    moves = sorted(
        (authorship_id, holders[openalex_id], author_id)
        for authorship_id, (author_id, openalex_id) in matched.items()
        if openalex_id in holders and holders[openalex_id] != author_id
    )
    if moves:
        cursor.execute(_MOVE_AUTHORSHIPS_SQL, [[m[0] for m in moves], [m[1] for m in moves]])
        moved = {authorship_id for (authorship_id,) in cursor.fetchall()}
        for authorship_id, holder, author_id in moves:
            if authorship_id in moved:
                changed.update((holder, author_id))
    return changed


def _first_copies(rows: Iterable[tuple[str, _Row]]) -> dict[str, tuple[str, _Row]]:
    out: dict[str, tuple[str, _Row]] = {}
    for location, row in rows:
        if row.openalex_id not in out:
            out[row.openalex_id] = (location, row)
    return out


def _source_row(source: SourceRow) -> dict[str, Any]:
    return {
        "openalex_id": source.openalex_id,
        "display_name": source.display_name,
        "type": source.type,
        "issn_l": source.issn_l,
        "host_organization_name": source.host_organization_name,
    }


def _institution_row(institution: InstitutionRow, *, embedded: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "openalex_id": institution.openalex_id,
        "ror": institution.ror,
        "display_name": institution.display_name,
        "country_code": institution.country_code,
        "type": institution.type,
    }
    if not embedded:
        row["email_domains"] = institution.email_domains
    return row


def _topic_row(topic: TopicRow, *, embedded: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "openalex_id": topic.openalex_id,
        "display_name": topic.display_name,
        "subfield": topic.subfield,
        "field": topic.field,
        "domain": topic.domain,
    }
    if not embedded:
        row["description"] = topic.description
        row["keywords"] = topic.keywords
    return row


def _ids(result: dict[str, tuple[int, Change]]) -> dict[str, int]:
    return {openalex_id: row_id for openalex_id, (row_id, _) in result.items()}


def _changed(result: dict[str, tuple[int, Change]]) -> set[int]:
    return {row_id for row_id, change in result.values() if change != "unchanged"}


def _write_embedded_institutions(
    cursor: Any,
    rows: Iterable[tuple[str, InstitutionRow]],
    *,
    synthetic: bool,
    notes: list[tuple[str, str]],
) -> dict[str, int]:
    unique = _first_copies(rows)
    _keep_unique(
        cursor,
        table="works_institution",
        column="ror",
        what="ROR id",
        rows=unique.values(),
        notes=notes,
    )
    rows_out = [_institution_row(i, embedded=True) for _, i in unique.values()]
    return _ids(_upsert(cursor, INSTITUTION_EMBEDDED, rows_out, synthetic=synthetic))


def _write_embedded_topics(
    cursor: Any, topics: Iterable[tuple[str, TopicRow]], *, synthetic: bool
) -> dict[str, int]:
    rows = [_topic_row(t, embedded=True) for _, t in _first_copies(topics).values()]
    return _ids(_upsert(cursor, TOPIC_EMBEDDED, rows, synthetic=synthetic))


def _sync_topic_links(
    cursor: Any, sql: str, owner_ids: list[int], rows: list[dict[str, Any]]
) -> set[int]:
    """Replace the owners' topic links; the owners whose links changed."""
    if not owner_ids:
        return set()
    cursor.execute(sql, {"rows": _jsonb(rows), "owner_ids": owner_ids})
    return {owner_id for (owner_id,) in cursor.fetchall()}


def write_works(
    cursor: Any, items: list[tuple[str, WorkRow]], *, synthetic: bool, origin: str
) -> BatchResult:
    """Write works (unique by OpenAlex id) with everything they bring along."""
    result = BatchResult()
    notes = result.notes
    _keep_unique(cursor, table="works_work", column="doi", what="DOI", rows=items, notes=notes)
    _keep_unique(
        cursor, table="works_work", column="arxiv_id", what="arXiv id", rows=items, notes=notes
    )

    sources = _first_copies((loc, w.source) for loc, w in items if w.source)
    source_ids = _ids(
        _upsert(
            cursor,
            SOURCE_EMBEDDED,
            [_source_row(s) for _, s in sources.values()],
            synthetic=synthetic,
        )
    )
    institution_ids = _write_embedded_institutions(
        cursor,
        (
            (loc, i)
            for loc, w in items
            for i in [*(i for a in w.authorships for i in a.institutions), *w.unlinked_institutions]
        ),
        synthetic=synthetic,
        notes=notes,
    )
    topic_ids = _write_embedded_topics(
        cursor, ((loc, t.topic) for loc, w in items for t in w.topics), synthetic=synthetic
    )
    result.changed_author_ids |= _take_over_source_authors(cursor, items)
    authors = _first_copies((loc, a.author) for loc, w in items for a in w.authorships)
    refused_orcids = _keep_unique(
        cursor,
        table="works_author",
        column="orcid",
        what="ORCID",
        rows=authors.values(),
        notes=notes,
    )
    author_result = _upsert(
        cursor,
        AUTHOR_EMBEDDED,
        [
            {"openalex_id": a.openalex_id, "display_name": a.display_name, "orcid": a.orcid}
            for _, a in authors.values()
        ],
        synthetic=synthetic,
    )
    if refused_orcids:
        # Only where none is kept yet: a re-import of the same works changes nothing.
        cursor.execute(
            "UPDATE works_author a"
            " SET external_ids = a.external_ids || jsonb_build_object('orcid', v.orcid)"
            " FROM unnest(%s::text[], %s::text[]) AS v(openalex_id, orcid)"
            " WHERE a.openalex_id = v.openalex_id AND NOT a.external_ids ? 'orcid'",
            [[o for o, _ in refused_orcids], [v for _, v in refused_orcids]],
        )
    result.changed_author_ids |= _changed(author_result)
    # A record staff merged into another answers with its survivor: the works
    # an import names it on go there, and a merge is never undone by one.
    own_ids = _ids(author_result)
    author_ids = _survivors(cursor, own_ids)
    if author_ids != own_ids:
        items = [(loc, _one_authorship_per_author(w, own_ids, author_ids)) for loc, w in items]

    work_result = _upsert(
        cursor,
        WORK,
        [
            {
                "openalex_id": w.openalex_id,
                "doi": w.doi,
                "arxiv_id": w.arxiv_id,
                "title": w.title,
                "abstract": w.abstract,
                "type": w.type,
                "publication_year": w.publication_year,
                "publication_date": w.publication_date,
                "source_id": source_ids[w.source.openalex_id] if w.source else None,
                "language": w.language,
                "cited_by_count": w.cited_by_count,
                "counts_by_year": w.counts_by_year,
                "referenced_works": w.referenced_works,
                "referenced_works_count": w.referenced_works_count,
                "is_retracted": w.is_retracted,
                "is_oa": w.is_oa,
                "oa_status": w.oa_status,
                "oa_url": w.oa_url,
                "pdf_url": w.pdf_url,
                "biblio": w.biblio,
                "other_ids": w.other_ids,
                "search_document": w.search_document,
            }
            for _, w in items
        ],
        synthetic=synthetic,
    )
    work_ids = _ids(work_result)
    # The authors of every work whose own fields (citations among them) changed.
    counted_authors = {
        author_ids[a.author.openalex_id]
        for _, w in items
        if work_result[w.openalex_id][1] != "unchanged"
        for a in w.authorships
    }
    # A work this batch created has no authorships or topics yet: they go
    # straight in by COPY, with nothing to compare or remove.
    new_works = [w for _, w in items if work_result[w.openalex_id][1] == "created"]
    ids = _WorkLinkIds(
        works=work_ids, authors=author_ids, topics=topic_ids, institutions=institution_ids
    )
    if new_works:
        _copy_new_work_links(cursor, new_works, ids=ids, origin=origin)
        result.created_work_ids.update(work_ids[w.openalex_id] for w in new_works)
        result.changed_author_ids.update(
            author_ids[a.author.openalex_id] for w in new_works for a in w.authorships
        )
    items = [(loc, w) for loc, w in items if work_result[w.openalex_id][1] != "created"]
    touched_works = _sync_work_links(cursor, items, ids=ids, origin=origin, result=result)
    for openalex_id, (work_id, change) in work_result.items():
        result.changes[openalex_id] = (
            "updated" if change == "unchanged" and work_id in touched_works else change
        )
    # Their pages show the works' citations, and their metrics count them.
    result.changed_author_ids |= counted_authors
    return result


# A merged record's survivor may itself have been merged: follow that far at most.
MAX_MERGE_HOPS = 10


def merged_survivors(cursor: Any, author_ids: Iterable[int]) -> dict[int, int]:
    """Each of these records that was merged into another (profiles.record_operations),
    with the record its works go to now: the end of its merged_into chain."""
    survivor: dict[int, int] = {}
    pending = sorted(set(author_ids))
    for _ in range(MAX_MERGE_HOPS):
        if not pending:
            break
        cursor.execute(
            "SELECT id, merged_into_id FROM works_author WHERE id = ANY(%s::bigint[])"
            " AND merged_into_id IS NOT NULL",
            [pending],
        )
        found = dict(cursor.fetchall())
        survivor.update(found)
        pending = sorted({m for m in found.values() if m not in survivor})
    out = {}
    for author_id in survivor:
        end = author_id
        for _ in range(MAX_MERGE_HOPS):
            if end not in survivor:
                break
            end = survivor[end]
        out[author_id] = end
    return out


def _survivors(cursor: Any, author_ids: dict[str, int]) -> dict[str, int]:
    """Each OpenAlex id's record, or the one it was merged into."""
    survivor = merged_survivors(cursor, author_ids.values())
    return {key: survivor.get(pk, pk) for key, pk in author_ids.items()}


def _one_authorship_per_author(
    work: WorkRow, own_ids: dict[str, int], author_ids: dict[str, int]
) -> WorkRow:
    """The work with one authorship per record. A merged record and its survivor
    both named on it are one author: the survivor's own entry stands, as the
    merge kept the survivor's authorship (else the first entry)."""
    chosen: dict[int, AuthorshipRow] = {}
    for a in work.authorships:
        key = a.author.openalex_id
        author_id = author_ids[key]
        current = chosen.get(author_id)
        if current is None or (
            own_ids[key] == author_id and own_ids[current.author.openalex_id] != author_id
        ):
            chosen[author_id] = a
    if len(chosen) == len(work.authorships):
        return work
    kept = [a for a in work.authorships if chosen[author_ids[a.author.openalex_id]] is a]
    return dataclasses.replace(work, authorships=kept)


def _copy(cursor: Any, table: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@dataclass(frozen=True)
class _WorkLinkIds:
    """Row ids of a batch's works and of what they link to, by OpenAlex id."""

    works: dict[str, int]
    authors: dict[str, int]
    topics: dict[str, int]
    institutions: dict[str, int]


def _copy_new_work_links(
    cursor: Any, works: list[WorkRow], *, ids: _WorkLinkIds, origin: str
) -> None:
    """Write the topics, authorships and authorship institutions of works just created."""
    work_ids, author_ids = ids.works, ids.authors
    topic_ids, institution_ids = ids.topics, ids.institutions
    _copy(
        cursor,
        "works_worktopic",
        "work_id, topic_id, score, is_primary",
        (
            (work_ids[w.openalex_id], topic_ids[t.topic.openalex_id], t.score, t.is_primary)
            for w in works
            for t in w.topics
        ),
    )
    authorships = sorted(
        (
            (work_ids[w.openalex_id], author_ids[a.author.openalex_id], a)
            for w in works
            for a in w.authorships
        ),
        key=itemgetter(0, 1),
    )
    if not authorships:
        return
    # The ids come first so that the institution links can be written by COPY too.
    # The sequence is named as a literal, which PostgreSQL resolves once when
    # it plans the statement; pg_get_serial_sequence() in the statement itself
    # ran for every id, which cost six times the ids themselves.
    cursor.execute("SELECT pg_get_serial_sequence('works_authorship', 'id')")
    (sequence,) = cursor.fetchone()
    cursor.execute(
        sql.SQL("SELECT nextval({}) FROM generate_series(1, %s)").format(sql.Literal(sequence)),
        [len(authorships)],
    )
    authorship_ids = [authorship_id for (authorship_id,) in cursor.fetchall()]
    _copy(
        cursor,
        "works_authorship",
        "id, work_id, author_id, position, raw_author_name, is_corresponding, origin, status",
        (
            (
                authorship_id,
                work_id,
                author_id,
                a.position,
                a.raw_author_name,
                a.is_corresponding,
                origin,
                _MANAGED_STATUS,
            )
            for authorship_id, (work_id, author_id, a) in zip(
                authorship_ids, authorships, strict=True
            )
        ),
    )
    _copy(
        cursor,
        "works_authorship_institutions",
        "authorship_id, institution_id",
        (
            (authorship_id, institution_ids[i.openalex_id])
            for authorship_id, (_, _, a) in zip(authorship_ids, authorships, strict=True)
            for i in a.institutions
        ),
    )


def _sync_work_links(
    cursor: Any,
    items: list[tuple[str, WorkRow]],
    *,
    ids: _WorkLinkIds,
    origin: str,
    result: BatchResult,
) -> set[int]:
    """Bring existing works' topics, authorships and their institutions in line; the
    works whose links changed."""
    if not items:
        return set()
    work_ids, author_ids = ids.works, ids.authors
    topic_ids, institution_ids = ids.topics, ids.institutions
    batch_work_ids = [work_ids[w.openalex_id] for _, w in items]
    touched_works = _sync_topic_links(
        cursor,
        _WORK_TOPICS_SQL,
        batch_work_ids,
        [
            {
                "owner_id": work_ids[w.openalex_id],
                "topic_id": topic_ids[t.topic.openalex_id],
                "score": t.score,
                "is_primary": t.is_primary,
            }
            for _, w in items
            for t in w.topics
        ],
    )

    authorship_rows = [
        {
            "work_id": work_ids[w.openalex_id],
            "author_id": author_ids[a.author.openalex_id],
            "position": a.position,
            "raw_author_name": a.raw_author_name,
            "is_corresponding": a.is_corresponding,
        }
        for _, w in items
        for a in w.authorships
    ]
    authorship_rows.sort(key=itemgetter("work_id", "author_id"))
    cursor.execute(
        _AUTHORSHIPS_SQL,
        {
            "rows": _jsonb(authorship_rows),
            "work_ids": batch_work_ids,
            "origin": origin,
            "status": _MANAGED_STATUS,
        },
    )
    managed: dict[tuple[int, int], int] = {}  # (work_id, author_id) -> authorship id
    owners: dict[int, tuple[int, int]] = {}  # authorship id -> (work_id, author_id)
    removed: list[int] = []
    # changed is true for a written authorship, false for an unchanged one and
    # null for one the record no longer lists.
    for changed, authorship_id, work_id, author_id in cursor.fetchall():
        owners[authorship_id] = (work_id, author_id)
        if changed is not False:
            touched_works.add(work_id)
            result.changed_author_ids.add(author_id)
        if changed is None:
            removed.append(authorship_id)
        else:
            managed[(work_id, author_id)] = authorship_id

    links = [
        (managed[key], institution_ids[i.openalex_id])
        for _, w in items
        for a in w.authorships
        if (key := (work_ids[w.openalex_id], author_ids[a.author.openalex_id])) in managed
        for i in a.institutions
    ]
    # The foreign keys are deferred, so removing the links of a removed
    # authorship after the authorship itself is fine within the transaction.
    if managed or removed:
        cursor.execute(
            _AUTHORSHIP_INSTITUTIONS_SQL,
            {
                "authorship_ids": [authorship_id for authorship_id, _ in links],
                "institution_ids": [institution_id for _, institution_id in links],
                "managed": list(managed.values()),
                "removed": removed,
            },
        )
        for (authorship_id,) in cursor.fetchall():
            work_id, author_id = owners[authorship_id]
            touched_works.add(work_id)
            result.changed_author_ids.add(author_id)
    return touched_works


def write_authors(
    cursor: Any, items: list[tuple[str, AuthorRow]], *, synthetic: bool
) -> BatchResult:
    """Write author entities with their last known institution and topic counts."""
    result = BatchResult()
    institution_ids = _write_embedded_institutions(
        cursor,
        (
            (loc, i)
            for loc, a in items
            for i in [
                *([a.last_known_institution] if a.last_known_institution else []),
                *(f.institution for f in a.affiliations),
            ]
        ),
        synthetic=synthetic,
        notes=result.notes,
    )
    topic_ids = _write_embedded_topics(
        cursor, ((loc, t.topic) for loc, a in items for t in a.topics), synthetic=synthetic
    )
    _keep_unique(
        cursor, table="works_author", column="orcid", what="ORCID", rows=items, notes=result.notes
    )
    cursor.execute(
        "SELECT openalex_id, last_known_institution_id FROM works_author"
        " WHERE openalex_id = ANY(%s::text[]) AND openalex_id <> ''",
        [[a.openalex_id for _, a in items]],
    )
    institution_before = dict(cursor.fetchall())
    author_result = _upsert(
        cursor,
        AUTHOR,
        [
            {
                "openalex_id": a.openalex_id,
                "display_name": a.display_name,
                "orcid": a.orcid,
                "name_variants": a.name_variants,
                "works_count": a.works_count,
                "cited_by_count": a.cited_by_count,
                "last_known_institution_id": (
                    institution_ids[a.last_known_institution.openalex_id]
                    if a.last_known_institution
                    else None
                ),
                "external_ids": a.external_ids,
            }
            for _, a in items
        ],
        synthetic=synthetic,
    )
    author_ids = _ids(author_result)
    touched = _sync_topic_links(
        cursor,
        _AUTHOR_TOPICS_SQL,
        list(author_ids.values()),
        [
            {
                "owner_id": author_ids[a.openalex_id],
                "topic_id": topic_ids[t.topic.openalex_id],
                "count": t.count,
            }
            for _, a in items
            for t in a.topics
        ],
    )
    cursor.execute(
        _AFFILIATIONS_SQL,
        {
            "owner_ids": list(author_ids.values()),
            "rows": _jsonb(
                [
                    {
                        "author_id": author_ids[a.openalex_id],
                        "institution_id": institution_ids[f.institution.openalex_id],
                        "years": f.years,
                    }
                    for _, a in items
                    for f in a.affiliations
                ]
            ),
        },
    )
    touched.update(row[0] for row in cursor.fetchall())
    for _, author in items:
        author_id, change = author_result[author.openalex_id]
        if change == "updated" and author.openalex_id in institution_before:
            before = institution_before[author.openalex_id]
            after = (
                institution_ids[author.last_known_institution.openalex_id]
                if author.last_known_institution
                else None
            )
            if before != after:
                result.affiliation_changes.append((author_id, before, after))
        if change == "unchanged" and author_id in touched:
            change = "updated"
        result.changes[author.openalex_id] = change
        if change != "unchanged":
            result.changed_author_ids.add(author_id)
    return result


# An author's imported affiliation history: the record's set replaces the
# imported set, but a line the owner hid stays (hidden) whatever the source says.
_AFFILIATIONS_SQL = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS v(author_id bigint, institution_id bigint, years smallint[])
),
up AS (
    INSERT INTO works_authoraffiliation AS t
        (author_id, institution_id, institution_name, years, origin, hidden)
    SELECT author_id, institution_id, '', years, 'openalex', false FROM v
    ON CONFLICT (author_id, institution_id) WHERE origin = 'openalex'
    DO UPDATE SET years = EXCLUDED.years WHERE t.years IS DISTINCT FROM EXCLUDED.years
    RETURNING t.author_id
),
gone AS (
    DELETE FROM works_authoraffiliation t
    WHERE t.author_id = ANY(%(owner_ids)s::bigint[]) AND t.origin = 'openalex' AND NOT t.hidden
        AND (t.author_id, t.institution_id) NOT IN (SELECT author_id, institution_id FROM v)
    RETURNING t.author_id
)
SELECT author_id FROM up UNION SELECT author_id FROM gone
"""


def write_institutions(
    cursor: Any, items: list[tuple[str, InstitutionRow]], *, synthetic: bool
) -> BatchResult:
    result = BatchResult()
    _keep_unique(
        cursor,
        table="works_institution",
        column="ror",
        what="ROR id",
        rows=items,
        notes=result.notes,
    )
    written = _upsert(
        cursor,
        INSTITUTION,
        [_institution_row(i, embedded=False) for _, i in items],
        synthetic=synthetic,
    )
    result.changes = {key: change for key, (_, change) in written.items()}
    return result


def write_topics(cursor: Any, items: list[tuple[str, TopicRow]], *, synthetic: bool) -> BatchResult:
    written = _upsert(
        cursor, TOPIC, [_topic_row(t, embedded=False) for _, t in items], synthetic=synthetic
    )
    return BatchResult(changes={key: change for key, (_, change) in written.items()})


def write_sources(
    cursor: Any, items: list[tuple[str, SourceRow]], *, synthetic: bool
) -> BatchResult:
    written = _upsert(cursor, SOURCE, [_source_row(s) for _, s in items], synthetic=synthetic)
    return BatchResult(changes={key: change for key, (_, change) in written.items()})


# The full-text documents of works about to be written, computed by PostgreSQL
# (the expression of works migration 0012's trigger) on a connection other than
# the writer's. Only for works whose title and abstract differ from the stored
# row's, or that have none: a re-import computes nothing.
_SEARCH_DOCUMENTS_SQL = """
SELECT v.i, to_tsvector('english'::regconfig, works_fold(v.title || ' ' || v.abstract))::text
FROM unnest(%(keys)s::text[], %(titles)s::text[], %(abstracts)s::text[])
    WITH ORDINALITY AS v(openalex_id, title, abstract, i)
WHERE NOT EXISTS (
    SELECT FROM works_work t WHERE t.openalex_id = v.openalex_id AND t.openalex_id <> ''
        AND t.title = v.title AND t.abstract = v.abstract
)
"""


def search_documents_fill(cursor: Any, works: Sequence[WorkRow]) -> None:
    """Set each new or retitled work's search_document (see WorkRow.search_document)."""
    if not works:
        return
    cursor.execute(
        _SEARCH_DOCUMENTS_SQL,
        {
            "keys": [w.openalex_id for w in works],
            "titles": [w.title for w in works],
            "abstracts": [w.abstract for w in works],
        },
    )
    for index, document in cursor.fetchall():
        works[index - 1].search_document = document
