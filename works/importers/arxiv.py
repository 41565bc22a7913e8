"""Import arXiv API feeds: works, their versions and published versions, their authors.

A feed (a file, or one batch of ids fetched by works.arxiv_api) is read whole
into rows (arxiv_records) and written in one transaction, a set of statements
per kind of row rather than one per row:

- works are matched to stored ones by works.matching: DOI first, then arXiv id
  (without version), then title and year. An entry with a DOI or a journal
  reference describes a preprint of a published work: it is that work, so a
  work OpenAlex, ORCID or Crossref already brought in gains the arXiv id, an
  arXiv copy (the PDF link, the abstract page as its open-access URL where it
  had none) and the abstract if it lacked one, and no second work is made
  ("one work, two locations"). Their title, type and date stay the source's
  that made the work; arXiv fills only what is empty.
- an entry with a journal reference is matched (and, if new, dated) by the
  year in it where there is one: arXiv often receives a paper the year after
  or before the journal prints it, and a title match needs the same year.
- an unmatched entry becomes a work: a preprint at the arXiv source, or an
  article (without a venue: the journal reference is free text) when it has a
  DOI or journal reference. A work arXiv made (no OpenAlex id, only arXiv's
  authorships) follows a newer version of the entry: title, abstract, links.
- what arXiv says that works have no column for goes in Work.other_ids, the
  one field every import merges rather than replaces (an OpenAlex import
  would drop it from biblio): "arxiv_version" ("v3", the latest seen: an
  older feed never lowers it), "arxiv_categories" (primary first, space
  separated, as arXiv's OAI records write them), "arxiv_journal_ref", and
  "msc_class" / "acm_class" where authors put those among the categories.
  Categories are not Topics: topics here are OpenAlex's four-level taxonomy,
  counted on every researcher page; a second, overlapping taxonomy beside it
  would count the same subject twice.

Authors carry no ids on arXiv, so who a name is cannot be known from arXiv.
The rules, chosen to never put a paper on the wrong person's record:

- on a work that already has authorships, each arXiv author is matched to
  one of them: at the same position with the same folded (accent- and
  case-free) family name, else the only one left with that family name. A
  matched author is left as the source that listed it wrote it. An arXiv
  author matching none is not added when another source (OpenAlex, ORCID, a
  person) listed the work's authors: their list holds ids, and a name arXiv
  spells differently would become a duplicate on the work. Only on a work
  whose authorships are all arXiv's own are missing authors added.
- on a new work, each author becomes a new author record of its own (no id,
  origin "arxiv"), with the arXiv affiliation text as an affiliation line of
  that year. Never an existing record found by name: two people share most
  names, and a paper on the wrong record is the harm researchers complain of
  most, hard to notice and undone only by a dispute. Separate records of one
  person are visible, and the duplicate suggestions (same name, shared
  co-authors) bring them to staff to merge.

Re-importing the same feed changes nothing. Changed authors are announced like
every import's (works.importers.openalex.announce_changes), new works in the
transaction that creates them.
"""

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from works import matching
from works.importers.arxiv_records import ArxivEntry, ArxivFeed, FeedError, family_name, parse_feed
from works.importers.common import DocumentImport, Problems, count_changes, keep_bytes
from works.importers.openalex import ImportStats
from works.models import Authorship
from works.signals import works_created

MAX_FILE_BYTES = 256 * 1024 * 1024
ARXIV_SOURCE_OPENALEX_ID = "S4306400194"  # OpenAlex's "arXiv (Cornell University)"
_ORIGIN = Authorship.Origin.ARXIV.value
_ASSERTED = Authorship.Status.ASSERTED.value
_WORD = re.compile(r"\w+")


def import_arxiv_paths(paths: Iterable[Path], *, strict: bool = False) -> ImportStats:
    """Import arXiv feed files, each in a transaction of its own; with strict=True
    every file is read first and the first problem (ImportAborted) writes nothing,
    of any file."""
    return _IMPORT.import_paths(paths, strict=strict)


def import_arxiv_feeds(
    feeds: Iterable[tuple[str, bytes]], *, strict: bool = False
) -> tuple[ImportStats, set[str]]:
    """Import feeds already in memory (fetched from the API), each named by its URL;
    with strict=True all in one transaction, nothing written at the first problem.
    Also returns the arXiv ids the feeds held (the caller checks every id it asked
    for came)."""
    came: set[str] = set()

    def parse(raw: bytes) -> ArxivFeed:
        feed = parse_feed(raw)
        came.update(e.arxiv_id for e in feed.entries)
        return feed

    stats = dataclasses.replace(_IMPORT, parse=parse).import_documents(feeds, strict=strict)
    return stats, came


# --- writing ---------------------------------------------------------------


def _arxiv_source_id(cursor: Any) -> int:
    """The arXiv source: OpenAlex's where it was imported, else one named arXiv, else a new one."""
    cursor.execute(
        "SELECT id FROM works_source WHERE openalex_id = %s"
        " OR lower(display_name) IN ('arxiv', 'arxiv (cornell university)')"
        " ORDER BY openalex_id = %s DESC, id LIMIT 1",
        [ARXIV_SOURCE_OPENALEX_ID, ARXIV_SOURCE_OPENALEX_ID],
    )
    row = cursor.fetchone()
    if row:
        return int(row[0])
    cursor.execute(
        "INSERT INTO works_source (openalex_id, display_name, type, issn_l,"
        " host_organization_name, is_synthetic, created_at, updated_at)"
        " VALUES ('', 'arXiv', 'repository', '', 'Cornell University', false,"
        " statement_timestamp(), statement_timestamp()) RETURNING id"
    )
    return int(cursor.fetchone()[0])


def _other_ids(entry: ArxivEntry) -> dict[str, str]:
    ids = {"arxiv_version": f"v{entry.version}"}
    if entry.categories:
        ids["arxiv_categories"] = " ".join(entry.categories)
    if entry.journal_ref:
        ids["arxiv_journal_ref"] = entry.journal_ref
    if entry.msc_class:
        ids["msc_class"] = ", ".join(entry.msc_class)
    if entry.acm_class:
        ids["acm_class"] = "; ".join(entry.acm_class)
    return ids


def _work_row(entry: ArxivEntry, arxiv_source_id: int | None) -> dict[str, Any]:
    return {
        "doi": entry.doi,
        "arxiv_id": entry.arxiv_id,
        "version": entry.version,
        "title": entry.title,
        "abstract": entry.abstract,
        "type": "article" if entry.published_elsewhere else "preprint",
        "publication_year": entry.publication_year,
        "publication_date": entry.publication_date.isoformat() if entry.publication_date else None,
        "source_id": None if entry.published_elsewhere else arxiv_source_id,
        "oa_url": entry.abs_url,
        "pdf_url": entry.pdf_url,
        "other_ids": _other_ids(entry),
    }


_CREATE_WORKS_SQL = """
INSERT INTO works_work (openalex_id, doi, arxiv_id, title, abstract, type, language,
    cited_by_count, publication_year, publication_date, source_id, is_oa, oa_status, oa_url,
    pdf_url, other_ids, is_synthetic, created_at, updated_at)
SELECT '', doi, arxiv_id, title, abstract, type, '', 0, publication_year, publication_date,
    source_id, true, 'green', oa_url, pdf_url, other_ids, false, statement_timestamp(),
    statement_timestamp()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
    doi text, arxiv_id text, title text, abstract text, type text, publication_year int,
    publication_date date, source_id bigint, oa_url text, pdf_url text, other_ids jsonb)
RETURNING arxiv_id, id
"""

# A matched work gains what it lacks: ids (unless another work holds them),
# the abstract, a date, the arXiv copy's links, open access where no one (OpenAlex
# least of all) said.
# arXiv's keys in other_ids follow the newest version seen. A work arXiv made
# (no OpenAlex id, only arXiv's authorships, this arXiv id) follows a version
# at least as new as the one it has: title, abstract, type, date, links.
_UPDATE_WORKS_SQL = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
        id bigint, doi text, arxiv_id text, version int, title text, abstract text, type text,
        publication_year int, publication_date date, source_id bigint, oa_url text,
        pdf_url text, other_ids jsonb)
),
n AS (
    SELECT v.*,
        v.version >= coalesce(
            substring(t.other_ids ->> 'arxiv_version' FROM '^v(\\d+)$')::int, 0) AS newer,
        t.arxiv_id IN ('', v.arxiv_id) AS same_preprint,
        -- OpenAlex works open access out from every copy it knows, arXiv's among them.
        t.arxiv_id IN ('', v.arxiv_id) AND t.openalex_id = '' AND t.oa_status = ''
            AS oa_unknown,
        t.openalex_id = '' AND t.arxiv_id = v.arxiv_id AND NOT EXISTS (
            SELECT FROM works_authorship a WHERE a.work_id = t.id AND a.origin <> %(origin)s
        ) AS own_work
    FROM works_work t JOIN v ON v.id = t.id
    WHERE t.id = ANY(%(ids)s::bigint[])
),
w AS (
    SELECT n.id,
        CASE WHEN t.doi = '' AND n.doi <> '' AND NOT EXISTS (
            SELECT FROM works_work x WHERE lower(x.doi) = n.doi AND x.doi <> '')
        THEN n.doi ELSE t.doi END AS doi,
        CASE WHEN t.arxiv_id = '' AND NOT EXISTS (
            SELECT FROM works_work x WHERE x.arxiv_id = n.arxiv_id AND x.arxiv_id <> '')
        THEN n.arxiv_id ELSE t.arxiv_id END AS arxiv_id,
        CASE WHEN NOT n.same_preprint THEN t.other_ids
            WHEN n.newer THEN t.other_ids || n.other_ids
            ELSE n.other_ids || t.other_ids END AS other_ids,
        CASE WHEN n.own_work AND n.newer THEN n.title ELSE t.title END AS title,
        CASE WHEN (n.own_work AND n.newer) OR t.abstract = '' THEN n.abstract
            ELSE t.abstract END AS abstract,
        CASE WHEN (n.own_work AND n.newer) OR t.type = '' THEN n.type ELSE t.type END AS type,
        CASE WHEN n.own_work AND n.newer THEN n.publication_year
            ELSE coalesce(t.publication_year, n.publication_year) END AS publication_year,
        CASE WHEN (n.own_work AND n.newer) OR t.publication_year IS NULL
            THEN n.publication_date ELSE t.publication_date END AS publication_date,
        CASE WHEN n.own_work AND n.newer THEN n.source_id
            ELSE coalesce(t.source_id, n.source_id) END AS source_id,
        CASE WHEN (n.own_work AND n.newer) OR (t.pdf_url = '' AND n.same_preprint)
            THEN n.pdf_url ELSE t.pdf_url END AS pdf_url,
        CASE WHEN (n.own_work AND n.newer) OR (t.oa_url = '' AND n.oa_unknown)
            THEN n.oa_url ELSE t.oa_url END AS oa_url,
        CASE WHEN n.oa_unknown THEN true ELSE t.is_oa END AS is_oa,
        CASE WHEN n.oa_unknown THEN 'green' ELSE t.oa_status END AS oa_status
    FROM n JOIN works_work t ON t.id = n.id
)
UPDATE works_work t SET doi = w.doi, arxiv_id = w.arxiv_id, other_ids = w.other_ids,
    title = w.title, abstract = w.abstract, type = w.type,
    publication_year = w.publication_year, publication_date = w.publication_date,
    source_id = w.source_id, pdf_url = w.pdf_url, oa_url = w.oa_url, is_oa = w.is_oa,
    oa_status = w.oa_status, updated_at = statement_timestamp()
FROM w
WHERE t.id = w.id AND (t.doi, t.arxiv_id, t.other_ids, t.title, t.abstract, t.type,
    t.publication_year, t.publication_date, t.source_id, t.pdf_url, t.oa_url, t.is_oa,
    t.oa_status) IS DISTINCT FROM (w.doi, w.arxiv_id, w.other_ids, w.title, w.abstract, w.type,
    w.publication_year, w.publication_date, w.source_id, w.pdf_url, w.oa_url, w.is_oa,
    w.oa_status)
RETURNING t.id
"""

_EXISTING_AUTHORSHIPS_SQL = """
SELECT a.work_id, a.position, a.origin,
    works_fold(au.display_name) || ' ' || works_fold(a.raw_author_name)
FROM works_authorship a JOIN works_author au ON au.id = a.author_id
WHERE a.work_id = ANY(%s::bigint[])
ORDER BY a.work_id, a.position, a.id
"""

_CREATE_AUTHORS_SQL = """
INSERT INTO works_author (id, openalex_id, orcid, display_name, name_variants, external_ids,
    summary, open_to_collaborate, works_count, cited_by_count, is_synthetic, created_at,
    updated_at)
SELECT id, '', '', name, '{}', '{}', '', false, 0, 0, false, statement_timestamp(),
    statement_timestamp()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(id bigint, name text)
"""

_CREATE_AUTHORSHIPS_SQL = """
INSERT INTO works_authorship (work_id, author_id, position, raw_author_name,
    is_corresponding, origin, status)
SELECT work_id, author_id, position, name, false, %(origin)s, %(status)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(work_id bigint, author_id bigint,
    position int, name text)
ON CONFLICT (work_id, author_id) DO NOTHING
"""

_CREATE_AFFILIATIONS_SQL = """
INSERT INTO works_authoraffiliation (author_id, institution_id, institution_name, years,
    until_present, origin, hidden, source_key, organization_ids)
SELECT author_id, NULL, name, years, false, %(origin)s, false, source_key, '{}'
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(author_id bigint, name text,
    years smallint[], source_key text)
ON CONFLICT DO NOTHING
"""


def _representatives(entries: Sequence[ArxivEntry], first_of: list[int]) -> dict[int, int]:
    """Each group of entries that are one work (the same arXiv id or DOI) -> the entry
    written for it: the newest version, the first of equals."""
    chosen: dict[int, int] = {}
    for position, first in enumerate(first_of):
        best = chosen.setdefault(first, position)
        if entries[position].version > entries[best].version:
            chosen[first] = position
    return chosen


def _write_feed(cursor: Any, feed: ArxivFeed, stats: ImportStats) -> Problems:
    """Write the feed's entries; returns notes on entries the matching found to be
    one work under two arXiv ids (the same DOI), imported once."""
    entries = feed.entries
    found: Problems = []
    if not entries:
        return found
    result = matching.works_match(
        cursor,
        [
            matching.IncomingWork(
                doi=e.doi, arxiv_id=e.arxiv_id, title=e.title, year=e.publication_year
            )
            for e in entries
        ],
    )
    chosen = _representatives(entries, result.first_of)
    for position, first in enumerate(result.first_of):
        written = chosen[first]
        if position != written and entries[position].arxiv_id != entries[written].arxiv_id:
            found.append(
                (
                    entries[position].location,
                    f"the same work as {entries[written].location} (DOI {entries[position].doi}):"
                    " imported once, under that entry's arXiv id",
                    False,
                )
            )
    # A group's match is the best any of its entries found.
    best: dict[int, matching.Match | None] = {}
    for position, first in enumerate(result.first_of):
        match = result.matches[position]
        current = best.get(first)
        if match is not None and (current is None or match.by < current.by):
            best[first] = match
        else:
            best.setdefault(first, current)
    to_create = [chosen[first] for first, match in best.items() if match is None]
    matched: dict[int, int] = {}  # work id -> the entry written to it
    for first, match in best.items():
        if match is not None:
            matched.setdefault(match.work_id, chosen[first])

    source_id = (
        _arxiv_source_id(cursor)
        if any(not entries[p].published_elsewhere for p in to_create)
        else None
    )
    work_of: dict[int, int] = {}  # written entry -> work id
    created: set[int] = set()
    if to_create:
        rows = [_work_row(entries[p], source_id) for p in to_create]
        cursor.execute(_CREATE_WORKS_SQL, {"rows": json.dumps(rows, ensure_ascii=False)})
        by_arxiv = dict(cursor.fetchall())
        for p in to_create:
            work_of[p] = by_arxiv[entries[p].arxiv_id]
        created = set(by_arxiv.values())
    updated: set[int] = set()
    if matched:
        rows = [
            {"id": work_id, **_work_row(entries[p], source_id)}
            for work_id, p in sorted(matched.items())
        ]
        if any(r["source_id"] is None and r["type"] == "preprint" for r in rows):
            source_id = _arxiv_source_id(cursor)
            for row in rows:
                if row["type"] == "preprint":
                    row["source_id"] = source_id
        cursor.execute(
            _UPDATE_WORKS_SQL,
            {
                "rows": json.dumps(rows, ensure_ascii=False),
                "ids": sorted(matched),
                "origin": _ORIGIN,
            },
        )
        updated = {work_id for (work_id,) in cursor.fetchall()}
        for work_id, p in matched.items():
            work_of[p] = work_id
    # Two groups matched to one work: the second counts as that work's.
    target = dict(work_of)
    for first, match in best.items():
        if match is not None:
            target.setdefault(chosen[first], match.work_id)

    joined, new_authors = _write_authors(cursor, entries, work_of)
    stats.changed_author_ids |= new_authors

    changes: list[str] = []
    for position, first in enumerate(result.first_of):
        written = chosen[first]
        work_id = target[written]
        if position != written or written not in work_of:
            changes.append("unchanged")  # the entry written for its work counts for it
        elif work_id in created:
            changes.append("created")
        elif work_id in updated or work_id in joined:
            changes.append("updated")
        else:
            changes.append("unchanged")
    count_changes(stats, changes)
    changed_works = updated | joined | created
    if changed_works:
        cursor.execute(
            "SELECT DISTINCT author_id FROM works_authorship WHERE work_id = ANY(%s::bigint[])",
            [sorted(changed_works)],
        )
        stats.changed_author_ids.update(row[0] for row in cursor.fetchall())
    if created:
        # In the feed's transaction: listeners' rows commit with the works.
        works_created.send(sender=ImportStats, work_ids=sorted(created))
    return found


def _tokens(folded: str) -> set[str]:
    return set(_WORD.findall(folded))


def _write_authors(
    cursor: Any, entries: Sequence[ArxivEntry], work_of: dict[int, int]
) -> tuple[set[int], set[int]]:
    """Add the authors each work lacks (see the module's docstring); (the works that
    gained authorships, the authors created)."""
    work_ids = sorted(set(work_of.values()))
    cursor.execute(_EXISTING_AUTHORSHIPS_SQL, [work_ids])
    existing: dict[int, list[tuple[int, str, set[str]]]] = {}
    for work_id, position, origin, names in cursor.fetchall():
        existing.setdefault(work_id, []).append((position, origin, _tokens(names)))
    families = [family_name(a.name) for p in sorted(work_of) for a in entries[p].authors]
    cursor.execute(
        "SELECT works_fold(f) FROM unnest(%s::text[]) WITH ORDINALITY AS u(f, n) ORDER BY n",
        [families],
    )
    folded = iter(_tokens(f or "") for (f,) in cursor.fetchall())

    missing: list[tuple[int, int, ArxivEntry]] = []  # (work id, position, entry)
    for p in sorted(work_of):
        entry, work_id = entries[p], work_of[p]
        listed = existing.get(work_id, [])
        wanted = [next(folded) for _ in entry.authors]
        if any(origin != _ORIGIN for _, origin, _ in listed):
            continue  # another source listed the authors: arXiv adds none
        free = list(range(len(listed)))
        unmatched = []
        for position, family in enumerate(wanted):
            same = [i for i in free if listed[i][0] == position and family <= listed[i][2]]
            if family and same:
                free.remove(same[0])
            else:
                unmatched.append(position)
        for position in unmatched:
            same = [i for i in free if wanted[position] and wanted[position] <= listed[i][2]]
            if len(same) == 1:
                free.remove(same[0])
            else:
                missing.append((work_id, position, entry))
    if not missing:
        return set(), set()
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('works_author', 'id')) FROM generate_series(1, %s)",
        [len(missing)],
    )
    author_ids = [row[0] for row in cursor.fetchall()]
    authors, authorships, affiliations = [], [], []
    for author_id, (work_id, position, entry) in zip(author_ids, missing, strict=True):
        author = entry.authors[position]
        authors.append({"id": author_id, "name": author.name})
        authorships.append(
            {"work_id": work_id, "author_id": author_id, "position": position, "name": author.name}
        )
        for k, affiliation in enumerate(author.affiliations):
            affiliations.append(
                {
                    "author_id": author_id,
                    "name": affiliation,
                    "years": [entry.submitted.year] if entry.submitted else [],
                    "source_key": f"{entry.arxiv_id}/{position}/{k}"[:64],
                }
            )
    cursor.execute(_CREATE_AUTHORS_SQL, {"rows": json.dumps(authors, ensure_ascii=False)})
    cursor.execute(
        _CREATE_AUTHORSHIPS_SQL,
        {
            "rows": json.dumps(authorships, ensure_ascii=False),
            "origin": _ORIGIN,
            "status": _ASSERTED,
        },
    )
    if affiliations:
        cursor.execute(
            _CREATE_AFFILIATIONS_SQL,
            {"rows": json.dumps(affiliations, ensure_ascii=False), "origin": _ORIGIN},
        )
    return {work_id for work_id, _, _ in missing}, set(author_ids)


_IMPORT = DocumentImport(
    kind="an arXiv feed",
    decode=keep_bytes,  # parse_feed reads the XML itself, refusing DOCTYPEs and entities
    parse=parse_feed,
    not_a_document=FeedError,
    problems=lambda feed: feed.problems,
    write=_write_feed,
    max_bytes=MAX_FILE_BYTES,
    unit="feed",
)
