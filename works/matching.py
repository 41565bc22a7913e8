"""Find the stored work an incoming record describes, for every source but OpenAlex.

A work is matched, in this order of precedence, by

1. its DOI (stored lower case, without a resolver prefix: works.identifiers.doi),
2. its arXiv id (old and new schemes, without a version: works.identifiers.arxiv_id),
3. the source's own key for it, where the source has one that the work keeps
   in Work.other_ids (an ORCID put-code: found again on a re-import even
   without any id, year or title the other steps could use),
4. its normalised title and year: accents, case, HTML tags and punctuation
   gone, whitespace collapsed (works_title_key(), works migration 0012). A
   title match needs a year on both sides and a title of at least
   TITLE_KEY_MIN characters, and is refused when the two works carry
   different DOIs or arXiv ids: a correction or a reply often repeats the
   title of the work it corrects, in the same year.

A batch of incoming works costs two statements whatever its size: one that
normalises the incoming titles (with the very function the index holds, so the
two sides cannot drift apart), one that looks every key up through its index
(`= ANY(keys)`, never a join against the batch: see works.importers.upsert).

Records of one batch that describe the same work (two versions of a paper in
an ORCID record) are told apart from distinct ones by the same keys:
MatchResult.first_of points each to the first record of the batch it shares a
DOI, arXiv id, source key or title and year with.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from psycopg import sql

from works.models import ORCID_PUT_CODE

# Shorter normalised titles ("Introduction", "Editorial", "Reply") name too
# many different works to be matched on.
TITLE_KEY_MIN = 12
# The keys a source may match its own works by: each has a partial index
# on Work.other_ids (works migration 0012).
SOURCE_KEYS = frozenset({ORCID_PUT_CODE})


class MatchedBy(IntEnum):
    """How a work was matched, in order of precedence (lower wins)."""

    DOI = 1
    ARXIV = 2
    SOURCE_KEY = 3
    TITLE = 4


@dataclass(frozen=True)
class IncomingWork:
    """What an incoming record says about a work; ids already normalised."""

    doi: str = ""
    arxiv_id: str = ""
    source_key: str = ""  # e.g. the ORCID put-code, matched in other_ids[source key]
    title: str = ""
    year: int | None = None


@dataclass(frozen=True)
class Match:
    work_id: int
    by: MatchedBy


@dataclass(frozen=True)
class MatchResult:
    matches: list[Match | None]  # by incoming position; None: no stored work
    title_keys: list[str]  # each incoming title normalised
    first_of: list[int]  # the first incoming position describing the same work


def title_keys(cursor: Any, titles: Sequence[str]) -> list[str]:
    """The titles normalised as works are matched by them, in one statement."""
    if not titles:
        return []
    cursor.execute(
        "SELECT coalesce(works_title_key(t), '') FROM unnest(%s::text[]) WITH ORDINALITY"
        " AS u(t, n) ORDER BY n",
        [list(titles)],
    )
    return [key for (key,) in cursor.fetchall()]


def _title_matchable(key: str, year: int | None) -> bool:
    return year is not None and len(key) >= TITLE_KEY_MIN


_LOOKUP_SQL = """
SELECT 1, lower(doi), id, doi, arxiv_id, publication_year FROM works_work
WHERE lower(doi) = ANY(%(dois)s::text[]) AND doi <> ''
UNION ALL
SELECT 2, arxiv_id, id, doi, arxiv_id, publication_year FROM works_work
WHERE arxiv_id = ANY(%(arxiv_ids)s::text[]) AND arxiv_id <> ''
UNION ALL
SELECT 3, other_ids ->> {source_key}, id, doi, arxiv_id, publication_year FROM works_work
WHERE other_ids ->> {source_key} = ANY(%(source_keys)s::text[]) AND other_ids ? {source_key}
UNION ALL
SELECT 4, works_title_key(title), id, doi, arxiv_id, publication_year FROM works_work
WHERE works_title_key(title) = ANY(%(title_keys)s::text[])
"""


def works_match(
    cursor: Any, incoming: Sequence[IncomingWork], *, source_key: str = ORCID_PUT_CODE
) -> MatchResult:
    """Match each incoming work to a stored one (see the module's docstring).

    source_key names the Work.other_ids key the incoming source_key values
    are looked up in; it must be one of SOURCE_KEYS (each has its index).
    Where several stored works fit one step (duplicates already stored), the
    oldest wins, so the answer does not change from one run to the next.
    """
    if source_key not in SOURCE_KEYS:
        raise ValueError(f"no index for matching by other_ids[{source_key!r}]")
    keys = title_keys(cursor, [work.title for work in incoming])
    if not incoming:
        return MatchResult([], [], [])
    cursor.execute(
        sql.SQL(_LOOKUP_SQL).format(source_key=sql.Literal(source_key)),
        {
            "dois": sorted({w.doi for w in incoming if w.doi}),
            "arxiv_ids": sorted({w.arxiv_id for w in incoming if w.arxiv_id}),
            "source_keys": sorted({w.source_key for w in incoming if w.source_key}),
            "title_keys": sorted(
                {k for w, k in zip(incoming, keys, strict=True) if _title_matchable(k, w.year)}
            ),
        },
    )
    # step -> key -> [(work id, doi, arxiv id, year)], oldest first
    found: dict[int, dict[str, list[tuple[int, str, str, int | None]]]] = {s: {} for s in MatchedBy}
    for step, key, work_id, doi, arxiv_id, year in sorted(cursor.fetchall(), key=lambda r: r[2]):
        found[step].setdefault(key, []).append((work_id, doi.lower(), arxiv_id, year))

    matches: list[Match | None] = []
    for work, key in zip(incoming, keys, strict=True):
        matches.append(_best(work, key, found))
    return MatchResult(matches=matches, title_keys=keys, first_of=_first_of(incoming, keys))


def _best(
    work: IncomingWork,
    key: str,
    found: dict[int, dict[str, list[tuple[int, str, str, int | None]]]],
) -> Match | None:
    for step, value in (
        (MatchedBy.DOI, work.doi),
        (MatchedBy.ARXIV, work.arxiv_id),
        (MatchedBy.SOURCE_KEY, work.source_key),
    ):
        if value and (hits := found[step].get(value)):
            return Match(hits[0][0], step)
    if not _title_matchable(key, work.year):
        return None
    for work_id, doi, arxiv_id, year in found[MatchedBy.TITLE].get(key, []):
        if year != work.year:
            continue
        if work.doi and doi and doi != work.doi:
            continue
        if work.arxiv_id and arxiv_id and arxiv_id != work.arxiv_id:
            continue
        return Match(work_id, MatchedBy.TITLE)
    return None


def _first_of(incoming: Sequence[IncomingWork], keys: list[str]) -> list[int]:
    """For each incoming work, the first position in the batch that shares a key with it
    (a title and year only where their DOIs and arXiv ids do not differ)."""
    seen: dict[tuple[str, str], int] = {}
    out: list[int] = []
    for position, (work, key) in enumerate(zip(incoming, keys, strict=True)):
        own = [
            (kind, value)
            for kind, value in (
                ("doi", work.doi),
                ("arxiv", work.arxiv_id),
                ("source", work.source_key),
                ("title", f"{work.year}:{key}" if _title_matchable(key, work.year) else ""),
            )
            if value
        ]
        same = [
            seen[k]
            for k in own
            if k in seen and (k[0] != "title" or not _ids_differ(work, incoming[seen[k]]))
        ]
        first = min(same, default=position)
        for k in own:
            seen.setdefault(k, first)
        out.append(out[first] if first != position else position)
    return out


def _ids_differ(one: IncomingWork, other: IncomingWork) -> bool:
    return bool(
        (one.doi and other.doi and one.doi != other.doi)
        or (one.arxiv_id and other.arxiv_id and one.arxiv_id != other.arxiv_id)
    )
