"""Reads for graph slices.

`slices_inputs` is the whole database side of a build: seven queries for a
chunk of authors, whatever its size and theirs, returning plain rows for the
pure functions in graph.services. The caps below bound what a prolific author or a paper with
3000 authors can bring in.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from graph.models import GraphSlice
from works.models import Authorship

# The author's most recent works that feed the slice.
MAX_WORKS = 100
# On a larger team only the first authors (by position) become nodes; the rest
# still count in the team size, so they still thin the Newman weight of a tie.
MAX_AUTHORS_PER_WORK = 50
# Co-authors whose ties among themselves are read (the strongest ties first):
# the explorer's 23 and one more.
TIE_PEOPLE = 24
# Each co-author's works that ties are counted over (see _PEOPLE_WORKS_SQL).
TIE_WORKS = 100
# Works listed behind an edge.
EDGE_WORKS = 5

DISPUTED = Authorship.Status.DISPUTED.value


@dataclass(frozen=True)
class CentreRow:
    id: int
    name: str
    institution_id: int | None
    institution_name: str


@dataclass(frozen=True)
class WorkRow:
    id: int
    title: str
    year: int | None
    team_size: int


@dataclass(frozen=True)
class AuthorshipRow:
    work_id: int
    author_id: int
    name: str
    position: int
    institutions: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class TopicRow:
    work_id: int
    topic_id: int
    name: str
    score: float


@dataclass(frozen=True)
class TieRow:
    """Two co-authors' shared works (their recent ones), centre or not."""

    a: int
    b: int
    shared: int
    strength: float
    works: tuple[tuple[int, str, int | None], ...]
    # (year, team size) of every shared work: the explorer counts a tie over a year range.
    dated: tuple[tuple[int | None, int], ...]


@dataclass(frozen=True)
class SliceInput:
    centre: CentreRow
    works: tuple[WorkRow, ...]
    authorships: tuple[AuthorshipRow, ...]
    topics: tuple[TopicRow, ...]
    ties: tuple[TieRow, ...]
    works_total: int


# The queries of `slices_inputs`: each reads a whole chunk of authors at once.

_CENTRES_SQL = """
SELECT a.id, a.display_name, a.last_known_institution_id, coalesce(i.display_name, '')
FROM works_author a LEFT JOIN works_institution i ON i.id = a.last_known_institution_id
WHERE a.id = ANY(%(authors)s)
"""

# Each author's most recent works (at most MAX_WORKS), and how many they have in all.
_RECENT_SQL = """
SELECT c.id, m.work_id, t.total
FROM unnest(%(authors)s::bigint[]) AS c(id)
CROSS JOIN LATERAL (
    SELECT count(*) AS total FROM works_authorship x
    WHERE x.author_id = c.id AND x.status <> %(disputed)s
) t
CROSS JOIN LATERAL (
    SELECT a.work_id
    FROM works_authorship a JOIN works_work w ON w.id = a.work_id
    WHERE a.author_id = c.id AND a.status <> %(disputed)s
    ORDER BY w.publication_year DESC NULLS LAST, w.publication_date DESC NULLS LAST, w.id DESC
    LIMIT %(max_works)s
) m
"""

# The teams of those works: the first MAX_AUTHORS_PER_WORK by position, and the
# chunk's authors wherever they stand; every member counts in the team size.
_TEAMS_SQL = """
WITH team AS (
    SELECT a.id, a.work_id, a.author_id, a.position,
           count(*) OVER (PARTITION BY a.work_id) AS size,
           row_number() OVER (PARTITION BY a.work_id ORDER BY a.position, a.id) AS place
    FROM works_authorship a
    WHERE a.work_id = ANY(%(works)s) AND a.status <> %(disputed)s
)
SELECT team.work_id, w.title, w.publication_year, team.size, team.place,
       team.author_id, au.display_name, team.position,
       array(SELECT ai.institution_id FROM works_authorship_institutions ai
             WHERE ai.authorship_id = team.id ORDER BY ai.institution_id)
FROM team
JOIN works_work w ON w.id = team.work_id
JOIN works_author au ON au.id = team.author_id
WHERE team.place <= %(max_authors)s OR team.author_id = ANY(%(authors)s)
ORDER BY team.work_id, team.position, team.author_id
"""

# The names of the institutions on those teams (a join per row cost more).
_INSTITUTIONS_SQL = """
SELECT i.id, i.display_name FROM works_institution i WHERE i.id = ANY(%(institutions)s)
"""

_TOPICS_SQL = """
SELECT wt.work_id, t.id, t.display_name, wt.score
FROM works_worktopic wt JOIN works_topic t ON t.id = wt.topic_id
WHERE wt.work_id = ANY(%(works)s)
ORDER BY wt.work_id, t.id
"""

# The strongest co-authors' works, for the ties among them: each one's
# TIE_WORKS latest by id (the order they were added in), which the
# (author, work) index gives without a join or a sort. A bound, not a
# ranking: a prolific co-author has thousands of works, and two of them may
# share hundreds.
_PEOPLE_WORKS_SQL = """
SELECT p.id, r.work_id
FROM unnest(%(people)s::bigint[]) AS p(id)
CROSS JOIN LATERAL (
    SELECT a.work_id
    FROM works_authorship a
    WHERE a.author_id = p.id AND a.status <> %(disputed)s
    ORDER BY a.work_id DESC
    LIMIT %(tie_works)s
) r
"""

# Title, year and team size of the works behind those ties that the chunk has not read yet.
_WORK_FACTS_SQL = """
SELECT w.id, w.title, w.publication_year,
       (SELECT count(*) FROM works_authorship a
        WHERE a.work_id = w.id AND a.status <> %(disputed)s)
FROM works_work w
WHERE w.id = ANY(%(works)s)
"""


def newman_weight(team_size: int) -> float:
    """What one work adds to each tie of its team: 1/(n-1) for n authors (Newman 2001)."""
    return 1.0 / max(team_size - 1, 1)


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def slices_inputs(*, author_ids: Iterable[int]) -> dict[int, SliceInput]:
    """Everything the slices of a chunk of authors are built from, by author id.

    Seven queries at most, whatever the chunk's size and its authors' sizes (a
    chunk of one reads the same way); unknown ids are left out. Each author's
    SliceInput is exactly what a read of that author alone gives, so the
    input hash does not depend on the company an author was built in.
    """
    ids = sorted(set(author_ids))
    if not ids:
        return {}
    centres = {
        pk: CentreRow(id=pk, name=name, institution_id=inst, institution_name=inst_name)
        for pk, name, inst, inst_name in _fetch(_CENTRES_SQL, {"authors": ids})
    }
    if not centres:
        return {}
    known = sorted(centres)
    recent: dict[int, list[int]] = defaultdict(list)
    totals: dict[int, int] = {}
    for pk, work_id, total in _fetch(
        _RECENT_SQL, {"authors": known, "disputed": DISPUTED, "max_works": MAX_WORKS}
    ):
        recent[pk].append(work_id)
        totals[pk] = total
    work_ids = sorted({w for works in recent.values() for w in works})

    facts: dict[int, tuple[str, int | None, int]] = {}
    # Per work: (place, authorship row), in position order.
    teams: dict[int, list[tuple[int, AuthorshipRow]]] = defaultdict(list)
    topics: dict[int, list[TopicRow]] = defaultdict(list)
    if work_ids:
        team_rows = _fetch(
            _TEAMS_SQL,
            {
                "works": work_ids,
                "authors": known,
                "disputed": DISPUTED,
                "max_authors": MAX_AUTHORS_PER_WORK,
            },
        )
        wanted = sorted({i for row in team_rows for i in row[-1]})
        names = dict(_fetch(_INSTITUTIONS_SQL, {"institutions": wanted})) if wanted else {}
        for work_id, title, year, size, place, person, name, position, i_ids in team_rows:
            facts[work_id] = (title, year, size)
            institutions = tuple((i, names[i]) for i in i_ids)
            teams[work_id].append(
                (place, AuthorshipRow(work_id, person, name, position, institutions))
            )
        for work_id, topic_id, name, score in _fetch(_TOPICS_SQL, {"works": work_ids}):
            topics[work_id].append(TopicRow(work_id, topic_id, name, float(score)))

    chunk: dict[int, tuple[tuple[WorkRow, ...], tuple[AuthorshipRow, ...]]] = {}
    people: dict[int, list[int]] = {}
    for pk in known:
        # Works in id order, as a read of one author lists them (SQL gave them by recency).
        mine = sorted(recent.get(pk, ()))
        works = tuple(
            WorkRow(id=w, title=facts[w][0], year=facts[w][1], team_size=facts[w][2]) for w in mine
        )
        rows = tuple(
            row
            for w in mine
            for place, row in teams[w]
            if place <= MAX_AUTHORS_PER_WORK or row.author_id == pk
        )
        chunk[pk] = (works, rows)
        if works:
            people[pk] = _strongest_coauthors(pk, works, rows)

    ties = _ties(people, facts)
    return {
        pk: SliceInput(
            centre=centres[pk],
            works=works,
            authorships=rows,
            topics=tuple(t for w in works for t in topics[w.id]),
            ties=ties.get(pk, ()),
            works_total=max(totals.get(pk, 0), len(works)),
        )
        for pk, (works, rows) in chunk.items()
    }


def _ties(
    people: dict[int, list[int]], facts: dict[int, tuple[str, int | None, int]]
) -> dict[int, tuple[TieRow, ...]]:
    """Each author's ties among their strongest co-authors: the works each two share.

    Two queries for the whole chunk; the pairs are counted here.
    """
    wanted = sorted({p for group in people.values() if len(group) > 1 for p in group})
    if not wanted:
        return {}
    work_sets: dict[int, set[int]] = defaultdict(set)
    for person, work_id in _fetch(
        _PEOPLE_WORKS_SQL, {"people": wanted, "disputed": DISPUTED, "tie_works": TIE_WORKS}
    ):
        work_sets[person].add(work_id)
    pairs_of: dict[int, dict[tuple[int, int], list[int]]] = {}
    missing: set[int] = set()
    for centre, group in people.items():
        # At most TIE_PEOPLE^2 / 2 set intersections, each done in C.
        pairs: dict[tuple[int, int], list[int]] = {}
        for i, a in enumerate(group):
            works_a = work_sets[a]
            for b in group[i + 1 :]:
                both = works_a & work_sets[b]
                if both:
                    pairs[(a, b)] = list(both)
                    missing.update(w for w in both if w not in facts)
        pairs_of[centre] = pairs
    if missing:
        for work_id, title, year, size in _fetch(
            _WORK_FACTS_SQL, {"works": sorted(missing), "disputed": DISPUTED}
        ):
            facts[work_id] = (title, year, size)
    ties: dict[int, tuple[TieRow, ...]] = {}
    for centre, pairs in pairs_of.items():
        rows = []
        for (a, b), shared in sorted(pairs.items()):
            if len(shared) > 1:
                # Most recent first (as PostgreSQL's json_agg gave them).
                shared.sort(key=lambda w: (recency(facts[w][1]), -w))
            strength = math.fsum(newman_weight(facts[w][2]) for w in shared)
            rows.append(
                TieRow(
                    a=a,
                    b=b,
                    shared=len(shared),
                    # Rounded as the stored hash has always been.
                    strength=round(strength, 9),
                    works=tuple((w, facts[w][0], facts[w][1]) for w in shared[:EDGE_WORKS]),
                    dated=tuple((facts[w][1], facts[w][2]) for w in shared),
                )
            )
        ties[centre] = tuple(rows)
    return ties


def recency(year: int | None) -> int:
    # Newest first, then works without a year: PostgreSQL's DESC NULLS LAST.
    return -year if year is not None else 1


def slice_inputs(*, author_id: int) -> SliceInput | None:
    """One author's slice inputs (a chunk of one); None for an unknown author."""
    return slices_inputs(author_ids=[author_id]).get(author_id)


def _strongest_coauthors(
    author_id: int, works: Sequence[WorkRow], authorships: Sequence[AuthorshipRow]
) -> list[int]:
    size = {w.id: w.team_size for w in works}
    strength: dict[int, float] = {}
    for row in authorships:
        if row.author_id != author_id:
            strength[row.author_id] = strength.get(row.author_id, 0.0) + newman_weight(
                size[row.work_id]
            )
    ranked = sorted(strength, key=lambda a: (-strength[a], a))
    return sorted(ranked[:TIE_PEOPLE])


def slice_for_display(*, author_id: int) -> GraphSlice | None:
    """The row the fragment renders, with its author's name: one indexed read."""
    return (
        GraphSlice.objects.select_related("author")
        .defer("explorer_data")
        .filter(pk=author_id)
        .first()
    )


def slice_for_explorer(*, author_id: int) -> GraphSlice | None:
    return GraphSlice.objects.select_related("author").defer("data").filter(pk=author_id).first()
