"""Import Crossref works: the work, its authors and their affiliations, its references.

A response (a file, or a page fetched from the API) is read whole
(crossref_records) and written in one transaction, a set of statements per
kind of row whatever the number of works:

- works: matched to stored works by works.matching (DOI, then arXiv id, then
  title and year). An unmatched work is created with everything Crossref
  gives. A matched one gains only what it lacks (DOI, abstract, type, year,
  date, venue, references, licence, PDF link, volume and pages): Crossref
  never overwrites what OpenAlex, ORCID or a person gave, so importing them in
  any order, again and again, changes nothing after the first time. Two
  numbers only grow: cited_by_count and referenced_works_count take the
  higher of the stored and Crossref's counts. A year-only date stays
  year-only. References are the cited works' DOIs, in referenced_works (a
  work's list is either OpenAlex's ids or Crossref's DOIs: an empty list only
  is filled);
- authors (marked origin "crossref" on the authorship, with the affiliations
  as Crossref wrote them in Authorship.raw_affiliations), resolved in order:

  1. on a work that was already stored, an existing authorship whose author's
     name (or the name as written on the work) holds the incoming family name,
     folded (accents and case), never one whose author has another ORCID iD,
     each used once. Of several, the one whose author has the same iD, then
     the one holding the whole name, then the one nearest the same position.
     The work keeps one authorship per person: no source adds a second copy
     of someone already on it. Crossref's ORCID iD is written on that author
     when it had none and no other author holds it (on one record only, and
     the response's other works find that person by it);
  2. an author with an ORCID iD: the stored author holding it (a merged record
     answers with its survivor), else a new author with it;
  3. an author without one (on a new work, or none of the work's authorships
     fits): the stored author of the same folded full name who already shares
     a work with one of this work's other authors, when exactly one does; else
     a new author. The same rule holds between the works of one response.

  Why rule 3: attaching a paper to the wrong person's record puts it on their
  page, in their metrics and in their trust score, and it stays there until
  they notice and dispute it; a second record for the same person only
  splits their works, and staff's duplicate suggestions (same name, shared
  co-authors) and merges exist to join them, undoably. So a name alone is
  never enough to reuse a record (a venue is no evidence either: "J. Wang"
  publishes in many journals as many people), but a name and a co-author
  together is the evidence a merge suggestion would rest on anyway. An
  author created this way has neither an OpenAlex id nor an ORCID iD, and its
  authorships say Crossref: a later OpenAlex or ORCID import, or staff, can
  tell where it came from;
- Crossref's own authorships of a work that its record no longer lists are
  removed (unless a person confirmed or disputed them, or the record left an
  author out for want of a name).

After every import the changed authors' metrics, cached pages and graph
slices are retired (works.importers.openalex.announce_changes); new works are
announced in the transaction that creates them.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from works import matching
from works.importers.common import DocumentImport, count_changes, source_ids_by_name
from works.importers.crossref_records import (
    CrossrefAuthor,
    CrossrefPage,
    CrossrefWork,
    RecordError,
    parse_response,
)
from works.importers.openalex import ImportStats
from works.importers.upsert import merged_survivors
from works.models import Authorship
from works.signals import works_created

_ORIGIN = Authorship.Origin.CROSSREF.value
_ASSERTED = Authorship.Status.ASSERTED.value
_WORD = re.compile(r"\w+")


def import_crossref_paths(paths: Iterable[Path], *, strict: bool = False) -> ImportStats:
    """Import files of Crossref responses, each in a transaction of its own; with
    strict=True every file is read first and the first problem (ImportAborted)
    writes nothing, of any file."""
    return _IMPORT.import_paths(paths, strict=strict)


def import_crossref_documents(
    documents: Iterable[tuple[str, Any]], *, strict: bool = False
) -> ImportStats:
    """Import decoded Crossref responses (their name, the document or a FetchFailed),
    e.g. fetched from the API, each in a transaction of its own (strict: all or none)."""
    return _IMPORT.import_documents(documents, strict=strict)


# --- works -------------------------------------------------------------------


def _work_row(work: CrossrefWork, source_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "doi": work.doi,
        "arxiv_id": work.arxiv_id,
        "title": work.title,
        "abstract": work.abstract,
        "type": work.type,
        "publication_year": work.publication_year,
        "publication_date": work.publication_date.isoformat() if work.publication_date else None,
        "source_id": source_ids.get(work.venue.lower()),
        "cited_by_count": work.cited_by_count,
        "referenced_works": work.references,
        "referenced_works_count": work.references_count,
        "license_url": work.license_url,
        "pdf_url": work.pdf_url,
        "biblio": work.biblio,
    }


_ROW_TYPES = """doi text, arxiv_id text, title text, abstract text, type text,
    publication_year int, publication_date date, source_id bigint, cited_by_count bigint,
    referenced_works varchar[], referenced_works_count bigint, license_url text,
    pdf_url text, biblio jsonb"""

_CREATE_WORKS_SQL = f"""
INSERT INTO works_work (openalex_id, doi, arxiv_id, title, abstract, type, language,
    cited_by_count, publication_year, publication_date, source_id, referenced_works,
    referenced_works_count, license_url, pdf_url, biblio, is_synthetic, created_at, updated_at)
SELECT '', doi, arxiv_id, title, abstract, type, '', cited_by_count, publication_year,
    publication_date, source_id, referenced_works, referenced_works_count, license_url,
    pdf_url, biblio, false, statement_timestamp(), statement_timestamp()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v({_ROW_TYPES})
RETURNING id, doi
"""

# Crossref fills what a stored work lacks (an id another work holds stays
# with it) and raises its two counts; it overwrites nothing.
_UPDATE_WORKS_SQL = f"""
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(id bigint, {_ROW_TYPES})
),
m AS (
    SELECT t.id,
        CASE WHEN t.doi = '' AND NOT EXISTS (
            SELECT FROM works_work x WHERE lower(x.doi) = v.doi AND x.doi <> '')
        THEN v.doi ELSE t.doi END AS doi,
        CASE WHEN t.arxiv_id = '' AND v.arxiv_id <> '' AND NOT EXISTS (
            SELECT FROM works_work x WHERE x.arxiv_id = v.arxiv_id AND x.arxiv_id <> '')
        THEN v.arxiv_id ELSE t.arxiv_id END AS arxiv_id,
        CASE WHEN t.abstract = '' THEN v.abstract ELSE t.abstract END AS abstract,
        CASE WHEN t.type = '' THEN v.type ELSE t.type END AS type,
        coalesce(t.publication_year, v.publication_year) AS publication_year,
        coalesce(t.publication_date, CASE WHEN t.publication_year IS NULL
            OR t.publication_year = v.publication_year THEN v.publication_date END)
            AS publication_date,
        coalesce(t.source_id, v.source_id) AS source_id,
        greatest(t.cited_by_count, v.cited_by_count) AS cited_by_count,
        CASE WHEN cardinality(t.referenced_works) = 0 THEN v.referenced_works
            ELSE t.referenced_works END AS referenced_works,
        greatest(t.referenced_works_count, v.referenced_works_count) AS referenced_works_count,
        CASE WHEN t.license_url = '' THEN v.license_url ELSE t.license_url END AS license_url,
        CASE WHEN t.pdf_url = '' THEN v.pdf_url ELSE t.pdf_url END AS pdf_url,
        v.biblio || t.biblio AS biblio
    FROM works_work t JOIN v ON v.id = t.id
    WHERE t.id = ANY(%(ids)s::bigint[])
)
UPDATE works_work t SET doi = m.doi, arxiv_id = m.arxiv_id, abstract = m.abstract,
    type = m.type, publication_year = m.publication_year,
    publication_date = m.publication_date, source_id = m.source_id,
    cited_by_count = m.cited_by_count, referenced_works = m.referenced_works,
    referenced_works_count = m.referenced_works_count, license_url = m.license_url,
    pdf_url = m.pdf_url, biblio = m.biblio, updated_at = statement_timestamp()
FROM m
WHERE t.id = m.id AND (t.doi, t.arxiv_id, t.abstract, t.type, t.publication_year,
    t.publication_date, t.source_id, t.cited_by_count, t.referenced_works,
    t.referenced_works_count, t.license_url, t.pdf_url, t.biblio)
    IS DISTINCT FROM (m.doi, m.arxiv_id, m.abstract, m.type, m.publication_year,
    m.publication_date, m.source_id, m.cited_by_count, m.referenced_works,
    m.referenced_works_count, m.license_url, m.pdf_url, m.biblio)
RETURNING t.id
"""


def _write_works(cursor: Any, page: CrossrefPage, stats: ImportStats) -> None:
    works = page.works
    if not works:
        return
    result = matching.works_match(
        cursor,
        [
            matching.IncomingWork(
                doi=w.doi, arxiv_id=w.arxiv_id, title=w.title, year=w.publication_year
            )
            for w in works
        ],
    )
    source_ids = source_ids_by_name(cursor, (w.venue for w in works))
    firsts = [p for p, first in enumerate(result.first_of) if p == first]
    # work id -> the position of the response's work written to it (the first of
    # two records that matched one stored work wins).
    work_of: dict[int, int] = {}
    stored: dict[int, int] = {}
    to_create: list[int] = []
    for position in firsts:
        match = result.matches[position]
        if match is None:
            to_create.append(position)
        elif match.work_id not in stored:
            stored[match.work_id] = position
    created: dict[int, int] = {}
    if to_create:
        cursor.execute(
            _CREATE_WORKS_SQL,
            {"rows": json.dumps([_work_row(works[p], source_ids) for p in to_create])},
        )
        by_doi = {doi.lower(): work_id for work_id, doi in cursor.fetchall()}
        created = {by_doi[works[p].doi]: p for p in to_create}
    updated: set[int] = set()
    if stored:
        cursor.execute(
            _UPDATE_WORKS_SQL,
            {
                "rows": json.dumps(
                    [
                        {"id": work_id, **_work_row(works[p], source_ids)}
                        for work_id, p in sorted(stored.items())
                    ]
                ),
                "ids": sorted(stored),
            },
        )
        updated = {work_id for (work_id,) in cursor.fetchall()}
    work_of = {**stored, **created}

    authored = _write_authors(cursor, works, work_of, created=set(created))
    changed_works = updated | authored.changed_works | set(created)
    changes: list[str] = []
    written_positions = {p: work_id for work_id, p in work_of.items()}
    for position in range(len(works)):
        work_id = written_positions.get(position)
        if work_id is None:
            changes.append("unchanged")  # a second copy, or a second match of one work
        elif work_id in created:
            changes.append("created")
        elif work_id in changed_works:
            changes.append("updated")
        else:
            changes.append("unchanged")
    count_changes(stats, changes)
    stats.changed_author_ids |= authored.changed_authors
    if changed_works:
        cursor.execute(
            "SELECT DISTINCT author_id FROM works_authorship WHERE work_id = ANY(%s::bigint[])",
            [sorted(changed_works)],
        )
        stats.changed_author_ids.update(row[0] for row in cursor.fetchall())
    if created:
        works_created.send(sender=ImportStats, work_ids=sorted(created))


# --- authors -----------------------------------------------------------------


@dataclass
class _Stored:
    """An authorship already on a matched work."""

    work_id: int
    position: int
    author_id: int
    orcid: str
    name_words: frozenset[str]
    raw_words: frozenset[str]
    raw_affiliations: list[str]
    origin: str
    status: str


@dataclass
class _NewAuthor:
    name: str
    orcid: str
    name_folded: str
    work_keys: set[Any] = field(default_factory=set)  # the keys of its co-authors
    author_id: int = 0


@dataclass
class _Authored:
    changed_works: set[int] = field(default_factory=set)
    changed_authors: set[int] = field(default_factory=set)


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text))


def _fold(cursor: Any, texts: list[str]) -> list[str]:
    """The texts folded as names are (works_fold: accents and case), in one statement."""
    if not texts:
        return []
    cursor.execute(
        "SELECT coalesce(works_fold(t), '') FROM unnest(%s::text[]) WITH ORDINALITY"
        " AS u(t, n) ORDER BY n",
        [texts],
    )
    return [text for (text,) in cursor.fetchall()]


def _stored_authorships(cursor: Any, work_ids: list[int]) -> dict[int, list[_Stored]]:
    if not work_ids:
        return {}
    cursor.execute(
        """
        SELECT a.work_id, a.position, a.author_id, au.orcid, au.name_folded,
            coalesce(works_fold(a.raw_author_name), ''), a.raw_affiliations, a.origin, a.status
        FROM works_authorship a JOIN works_author au ON au.id = a.author_id
        WHERE a.work_id = ANY(%s::bigint[])
        ORDER BY a.work_id, a.position, a.id
        """,
        [work_ids],
    )
    out: dict[int, list[_Stored]] = {}
    for (
        work_id,
        position,
        author_id,
        orcid,
        name,
        raw,
        affiliations,
        origin,
        status,
    ) in cursor.fetchall():
        out.setdefault(work_id, []).append(
            _Stored(
                work_id,
                position,
                author_id,
                orcid,
                _words(name),
                _words(raw),
                list(affiliations),
                origin,
                status,
            )
        )
    return out


def _authors_by_orcid(cursor: Any, orcids: list[str]) -> dict[str, int]:
    """The author holding each ORCID iD; a merged record answers with its survivor."""
    if not orcids:
        return {}
    cursor.execute(
        "SELECT orcid, id FROM works_author WHERE orcid = ANY(%s::text[])",
        [orcids],
    )
    holder: dict[str, int] = dict(cursor.fetchall())
    survivor = merged_survivors(cursor, holder.values())
    return {orcid: survivor.get(author_id, author_id) for orcid, author_id in holder.items()}


def _fits(stored: _Stored, family: frozenset[str], orcid: str) -> bool:
    if orcid and stored.orcid and stored.orcid != orcid:
        return False
    return bool(family) and (family <= stored.name_words or family <= stored.raw_words)


def _coauthor_candidates(
    cursor: Any, names: list[str], coauthors: list[int]
) -> dict[str, dict[int, set[int]]]:
    """Stored authors named each folded name -> their co-authors among `coauthors`."""
    if not names or not coauthors:
        return {}
    cursor.execute(
        """
        SELECT au.name_folded, au.id, co.author_id
        FROM works_author au
        JOIN works_authorship mine ON mine.author_id = au.id
        JOIN works_authorship co ON co.work_id = mine.work_id AND co.author_id <> au.id
        WHERE au.name_folded = ANY(%(names)s::text[]) AND au.merged_into_id IS NULL
            AND co.author_id = ANY(%(coauthors)s::bigint[])
        """,
        {"names": names, "coauthors": coauthors},
    )
    out: dict[str, dict[int, set[int]]] = {}
    for name, author_id, coauthor_id in cursor.fetchall():
        out.setdefault(name, {}).setdefault(author_id, set()).add(coauthor_id)
    return out


_INSERT_AUTHORS_SQL = """
INSERT INTO works_author (id, orcid, display_name, name_variants, external_ids, openalex_id,
    summary, open_to_collaborate, works_count, cited_by_count, is_synthetic, created_at,
    updated_at)
SELECT id, orcid, display_name, '{}', '{}', '', '', false, 0, 0, false,
    statement_timestamp(), statement_timestamp()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(id bigint, orcid text, display_name text)
ORDER BY id
ON CONFLICT (orcid) WHERE orcid <> '' DO NOTHING
RETURNING id
"""

_SET_ORCIDS_SQL = """
UPDATE works_author t SET orcid = v.orcid, updated_at = statement_timestamp()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(id bigint, orcid text)
WHERE t.id = v.id AND t.orcid = ''
    AND NOT EXISTS (SELECT FROM works_author x WHERE x.orcid = v.orcid)
RETURNING t.id
"""

_AUTHORSHIPS_SQL = """
INSERT INTO works_authorship AS t (work_id, author_id, position, raw_author_name,
    raw_affiliations, is_corresponding, origin, status)
SELECT work_id, author_id, position, raw_author_name, raw_affiliations, false,
    %(origin)s, %(status)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(work_id bigint, author_id bigint,
    position int, raw_author_name text, raw_affiliations text[])
ORDER BY work_id, author_id
ON CONFLICT (work_id, author_id) DO UPDATE SET raw_affiliations = EXCLUDED.raw_affiliations
WHERE t.status = %(status)s AND t.raw_affiliations IS DISTINCT FROM EXCLUDED.raw_affiliations
RETURNING t.work_id, t.author_id
"""

_GONE_AUTHORSHIPS_SQL = """
DELETE FROM works_authorship t
USING jsonb_to_recordset(%(rows)s::jsonb) AS v(work_id bigint, author_id bigint)
WHERE t.work_id = v.work_id AND t.author_id = v.author_id AND t.origin = %(origin)s
    AND t.status = %(status)s
RETURNING t.work_id, t.author_id
"""


def _write_authors(
    cursor: Any, works: list[CrossrefWork], work_of: dict[int, int], *, created: set[int]
) -> _Authored:
    """Resolve and write the authors of the written works (see the module's docstring)."""
    authored = _Authored()
    ordered = sorted(work_of.items())
    incoming: list[tuple[int, int, CrossrefAuthor]] = [
        (work_id, index, author)
        for work_id, position in ordered
        for index, author in enumerate(works[position].authors)
        if author is not None
    ]
    folded = _fold(cursor, [a.name for _, _, a in incoming] + [a.family for _, _, a in incoming])
    full_names, families = folded[: len(incoming)], folded[len(incoming) :]
    existing = _stored_authorships(cursor, sorted(set(work_of) - created))
    by_orcid = _authors_by_orcid(cursor, sorted({a.orcid for _, _, a in incoming if a.orcid}))

    # key of each incoming author: a stored author's id, ("orcid", iD) or ("new", n)
    keys: list[Any] = [None] * len(incoming)
    set_orcid: dict[str, int] = {}  # iD -> the stored author (without one) to carry it
    taken: dict[int, set[int]] = {}
    # Rule 1: the work's own authorships. Of several that fit, the one holding
    # the same iD, then the one with the whole name, then the nearest.
    for n, (work_id, index, author) in enumerate(incoming):
        family, whole = _words(families[n]), _words(full_names[n])
        mine = taken.setdefault(work_id, set())
        candidates = [
            s
            for s in existing.get(work_id, [])
            if s.author_id not in mine and _fits(s, family, author.orcid)
        ]
        if not candidates:
            continue
        best = min(
            candidates,
            key=lambda s: (
                not (author.orcid and s.orcid == author.orcid),
                not (whole <= s.name_words or whole <= s.raw_words),
                abs(s.position - index),
                s.position,
            ),
        )
        mine.add(best.author_id)
        keys[n] = best.author_id
        if author.orcid and not best.orcid and author.orcid not in by_orcid:
            set_orcid.setdefault(author.orcid, best.author_id)
    # Rule 2: by ORCID iD, including one this response is giving a stored author.
    holders = {**set_orcid, **by_orcid}
    new_by_orcid: dict[str, _NewAuthor] = {}
    for n, (work_id, _, author) in enumerate(incoming):
        if keys[n] is not None or not author.orcid:
            continue
        if author.orcid in holders:
            keys[n] = holders[author.orcid]
            taken.setdefault(work_id, set()).add(keys[n])
        else:
            new_by_orcid.setdefault(
                author.orcid, _NewAuthor(author.name, author.orcid, full_names[n])
            )
            keys[n] = ("orcid", author.orcid)

    # Rule 3: an author without an ORCID iD, nowhere on the work yet.
    pending = [n for n in range(len(incoming)) if keys[n] is None]
    work_keys: dict[int, set[Any]] = {}
    for n, known in enumerate(keys):
        if known is not None:
            work_keys.setdefault(incoming[n][0], set()).add(known)
    stored_coauthors = sorted({k for ks in work_keys.values() for k in ks if isinstance(k, int)})
    candidates_by_name = _coauthor_candidates(
        cursor, sorted({full_names[n] for n in pending if full_names[n]}), stored_coauthors
    )
    new_plain: list[_NewAuthor] = []
    new_named: dict[str, list[int]] = {}  # folded name -> positions in new_plain
    for n in pending:
        work_id, _, author = incoming[n]
        name = full_names[n]
        mine = work_keys.get(work_id, set())
        stored_fits = [
            author_id
            for author_id, coauthors in candidates_by_name.get(name, {}).items()
            if coauthors & mine and author_id not in taken.get(work_id, set())
        ]
        batch_fits = [i for i in new_named.get(name, []) if new_plain[i].work_keys & mine]
        if len(stored_fits) + len(batch_fits) == 1:
            key: Any = stored_fits[0] if stored_fits else ("new", batch_fits[0])
        else:
            new_plain.append(_NewAuthor(author.name, "", name))
            key = ("new", len(new_plain) - 1)
            new_named.setdefault(name, []).append(key[1])
        keys[n] = key
        work_keys.setdefault(work_id, set()).add(key)
        if isinstance(key, int):
            taken.setdefault(work_id, set()).add(key)
        else:
            new_plain[key[1]].work_keys |= mine - {key}

    # New authors: ids drawn first, so that rows and ids pair up without a lookup.
    new_authors = [*new_by_orcid.values(), *new_plain]
    if new_authors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('works_author', 'id'))"
            " FROM generate_series(1, %s)",
            [len(new_authors)],
        )
        for new, (author_id,) in zip(new_authors, cursor.fetchall(), strict=True):
            new.author_id = author_id
        cursor.execute(
            _INSERT_AUTHORS_SQL,
            {
                "rows": json.dumps(
                    [
                        {"id": a.author_id, "orcid": a.orcid, "display_name": a.name}
                        for a in new_authors
                    ]
                )
            },
        )
        inserted = {author_id for (author_id,) in cursor.fetchall()}
        authored.changed_authors |= inserted
        # Another import created an author with one of these iDs meanwhile: use it.
        lost = [a for a in new_authors if a.author_id not in inserted]
        if lost:
            holders = _authors_by_orcid(cursor, sorted({a.orcid for a in lost}))
            for a in lost:
                a.author_id = holders[a.orcid]
    if set_orcid:
        cursor.execute(
            _SET_ORCIDS_SQL,
            {"rows": json.dumps([{"id": i, "orcid": o} for o, i in sorted(set_orcid.items())])},
        )
        authored.changed_authors.update(row[0] for row in cursor.fetchall())

    def author_id_of(key: Any) -> int:
        if isinstance(key, int):
            return key
        if key[0] == "orcid":
            return new_by_orcid[key[1]].author_id
        return new_plain[key[1]].author_id

    current = {(s.work_id, s.author_id): s for ss in existing.values() for s in ss}
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    listed: dict[int, set[int]] = {}
    for n, (work_id, index, author) in enumerate(incoming):
        author_id = author_id_of(keys[n])
        listed.setdefault(work_id, set()).add(author_id)
        stored = current.get((work_id, author_id))
        if stored is not None and (
            stored.status != _ASSERTED
            or stored.raw_affiliations == author.affiliations
            or (stored.origin != _ORIGIN and stored.raw_affiliations)
        ):
            continue  # nothing to write: it is there, or a person decided it
        rows.setdefault(
            (work_id, author_id),
            {
                "work_id": work_id,
                "author_id": author_id,
                "position": min(index, 32767),
                "raw_author_name": author.name,
                "raw_affiliations": author.affiliations,
            },
        )
    if rows:
        cursor.execute(
            _AUTHORSHIPS_SQL,
            {
                "rows": json.dumps(list(rows.values()), ensure_ascii=False),
                "origin": _ORIGIN,
                "status": _ASSERTED,
            },
        )
        for work_id, author_id in cursor.fetchall():
            authored.changed_works.add(work_id)
            authored.changed_authors.add(author_id)
    # Crossref's own authorships its record no longer lists, on works whose
    # record left no author out.
    complete = {
        work_id for work_id, position in work_of.items() if None not in works[position].authors
    }
    gone = [
        {"work_id": s.work_id, "author_id": s.author_id}
        for ss in existing.values()
        for s in ss
        if s.work_id in complete
        and s.origin == _ORIGIN
        and s.status == _ASSERTED
        and s.author_id not in listed.get(s.work_id, set())
    ]
    if gone:
        cursor.execute(
            _GONE_AUTHORSHIPS_SQL,
            {"rows": json.dumps(gone), "origin": _ORIGIN, "status": _ASSERTED},
        )
        for work_id, author_id in cursor.fetchall():
            authored.changed_works.add(work_id)
            authored.changed_authors.add(author_id)
    return authored


_IMPORT = DocumentImport(
    kind="a Crossref response",
    parse=parse_response,
    not_a_document=RecordError,
    problems=lambda page: page.problems,
    write=_write_works,
)
