"""Reads for graph slices.

`slice_inputs` is the whole database side of a build: four queries, whatever
the author's size, returning plain rows for the pure functions in
graph.services. The caps below bound what a prolific author or a paper with
3000 authors can bring in.
"""

from dataclasses import dataclass

from django.db import connection

from graph.models import GraphSlice
from works.models import Author, Authorship

# The author's most recent works that feed the slice.
MAX_WORKS = 200
# On a larger team only the first authors (by position) become nodes; the rest
# still count in the team size, so they still thin the Newman weight of a tie.
MAX_AUTHORS_PER_WORK = 50
# Co-authors whose ties among themselves are read (the strongest ties first).
TIE_PEOPLE = 40
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


@dataclass(frozen=True)
class SliceInput:
    centre: CentreRow
    works: tuple[WorkRow, ...]
    authorships: tuple[AuthorshipRow, ...]
    topics: tuple[TopicRow, ...]
    ties: tuple[TieRow, ...]
    works_total: int


_WORKS_SQL = """
WITH mine AS (
    SELECT w.id, w.title, w.publication_year, w.publication_date
    FROM works_authorship a JOIN works_work w ON w.id = a.work_id
    WHERE a.author_id = %(author)s AND a.status <> %(disputed)s
    ORDER BY w.publication_year DESC NULLS LAST, w.publication_date DESC NULLS LAST, w.id DESC
    LIMIT %(max_works)s
), team AS (
    SELECT a.id, a.work_id, a.author_id, a.position,
           count(*) OVER (PARTITION BY a.work_id) AS size,
           row_number() OVER (PARTITION BY a.work_id ORDER BY a.position, a.id) AS place
    FROM works_authorship a
    WHERE a.work_id IN (SELECT id FROM mine) AND a.status <> %(disputed)s
)
SELECT mine.id, mine.title, mine.publication_year, team.size,
       team.author_id, au.display_name, team.position, inst.ids, inst.names,
       (SELECT count(*) FROM works_authorship x
        WHERE x.author_id = %(author)s AND x.status <> %(disputed)s) AS total
FROM team
JOIN mine ON mine.id = team.work_id
JOIN works_author au ON au.id = team.author_id
CROSS JOIN LATERAL (
    SELECT array_agg(i.id ORDER BY i.id) AS ids, array_agg(i.display_name ORDER BY i.id) AS names
    FROM works_authorship_institutions ai JOIN works_institution i ON i.id = ai.institution_id
    WHERE ai.authorship_id = team.id
) inst
WHERE team.place <= %(max_authors)s OR team.author_id = %(author)s
ORDER BY mine.id, team.position, team.author_id
"""

_TOPICS_SQL = """
SELECT wt.work_id, t.id, t.display_name, wt.score
FROM works_worktopic wt JOIN works_topic t ON t.id = wt.topic_id
WHERE wt.work_id = ANY(%(works)s)
ORDER BY wt.work_id, t.id
"""

_TIES_SQL = """
WITH people AS (
    SELECT unnest(%(people)s::bigint[]) AS author_id
), recent AS (
    SELECT p.author_id, r.work_id
    FROM people p
    CROSS JOIN LATERAL (
        SELECT a.work_id
        FROM works_authorship a JOIN works_work w ON w.id = a.work_id
        WHERE a.author_id = p.author_id AND a.status <> %(disputed)s
        ORDER BY w.publication_year DESC NULLS LAST, w.id DESC
        LIMIT %(max_works)s
    ) r
), pairs AS (
    SELECT x.author_id AS a, y.author_id AS b, x.work_id
    FROM recent x JOIN recent y ON y.work_id = x.work_id AND x.author_id < y.author_id
), sizes AS (
    SELECT a.work_id, count(*) AS size
    FROM works_authorship a
    WHERE a.work_id IN (SELECT work_id FROM pairs) AND a.status <> %(disputed)s
    GROUP BY a.work_id
), ordered AS (
    SELECT p.a, p.b, s.size, w.id, w.title, w.publication_year,
           row_number() OVER (
               PARTITION BY p.a, p.b ORDER BY w.publication_year DESC NULLS LAST, w.id DESC
           ) AS place
    FROM pairs p JOIN sizes s USING (work_id) JOIN works_work w ON w.id = p.work_id
)
SELECT a, b, count(*), sum(1.0 / greatest(size - 1, 1))::float8,
       json_agg(json_build_array(id, title, publication_year) ORDER BY place)
           FILTER (WHERE place <= %(edge_works)s)
FROM ordered
GROUP BY a, b
ORDER BY a, b
"""


def slice_inputs(*, author_id: int) -> SliceInput | None:
    """Everything a slice is built from, in at most four queries; None for an unknown author."""
    centre_row = (
        Author.objects.filter(pk=author_id)
        .values_list(
            "id",
            "display_name",
            "last_known_institution_id",
            "last_known_institution__display_name",
        )
        .first()
    )
    if centre_row is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _WORKS_SQL,
            {
                "author": author_id,
                "disputed": DISPUTED,
                "max_works": MAX_WORKS,
                "max_authors": MAX_AUTHORS_PER_WORK,
            },
        )
        rows = cursor.fetchall()
    works: dict[int, WorkRow] = {}
    authorships: list[AuthorshipRow] = []
    total = rows[0][-1] if rows else 0
    for work_id, title, year, size, person, name, position, ids, names, _total in rows:
        works.setdefault(work_id, WorkRow(id=work_id, title=title, year=year, team_size=size))
        authorships.append(
            AuthorshipRow(
                work_id=work_id,
                author_id=person,
                name=name,
                position=position,
                institutions=tuple(zip(ids or (), names or (), strict=True)),
            )
        )
    topics: list[TopicRow] = []
    ties: list[TieRow] = []
    if works:
        with connection.cursor() as cursor:
            cursor.execute(_TOPICS_SQL, {"works": list(works)})
            topics = [TopicRow(w, t, n, float(s)) for w, t, n, s in cursor.fetchall()]
        people = _strongest_coauthors(author_id, list(works.values()), authorships)
        if len(people) > 1:
            with connection.cursor() as cursor:
                cursor.execute(
                    _TIES_SQL,
                    {
                        "people": people,
                        "disputed": DISPUTED,
                        "max_works": MAX_WORKS,
                        "edge_works": EDGE_WORKS,
                    },
                )
                ties = [
                    TieRow(
                        a=a,
                        b=b,
                        shared=shared,
                        # Rounded so that the sum's order inside PostgreSQL never
                        # changes the input hash.
                        strength=round(strength, 9),
                        works=tuple((pk, title, year) for pk, title, year in works),
                    )
                    for a, b, shared, strength, works in cursor.fetchall()
                ]
    return SliceInput(
        centre=CentreRow(
            id=centre_row[0],
            name=centre_row[1],
            institution_id=centre_row[2],
            institution_name=centre_row[3] or "",
        ),
        works=tuple(works.values()),
        authorships=tuple(authorships),
        topics=tuple(topics),
        ties=tuple(ties),
        works_total=max(total, len(works)),
    )


def _strongest_coauthors(
    author_id: int, works: list[WorkRow], authorships: list[AuthorshipRow]
) -> list[int]:
    size = {w.id: w.team_size for w in works}
    strength: dict[int, float] = {}
    for row in authorships:
        if row.author_id != author_id:
            strength[row.author_id] = strength.get(row.author_id, 0.0) + 1.0 / max(
                size[row.work_id] - 1, 1
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
