"""Reads for the researcher page. Each function is one query, whatever the author's size."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, Q

from profiles.models import Follow
from profiles.trust import Trust, TrustFacts, trust_evaluate
from works.models import Author, Authorship, Topic, Work

VISIBLE_AUTHORSHIP = ~Q(status=Authorship.Status.DISPUTED)

# Close collaborators, after Newman (2001): each shared work adds 1/(n-1) to the
# tie, n being the work's number of authors, so a two-author paper counts 1 and
# a paper with 31 authors counts 1/30. A co-author is close from a strength of
# 0.5: two papers in teams of four or fewer, or one paper with one or two others.
CLOSE_COLLABORATOR_MIN_STRENGTH = 0.5
CLOSE_COLLABORATORS_SHOWN = 12
TOPICS_SHOWN = 8
WORKS_PER_PAGE = 20


@dataclass(frozen=True)
class Collaborator:
    author_id: int
    display_name: str
    is_synthetic: bool
    shared_works: int
    strength: float


@dataclass(frozen=True)
class TopicCount:
    topic: Topic
    works: int


@dataclass(frozen=True)
class WorkCounts:
    total: int
    with_pid: int


def work_counts(*, author: Author) -> WorkCounts:
    counts = Work.objects.filter(
        authorships__author=author, authorships__status__in=_visible_statuses()
    ).aggregate(
        total=Count("id"),
        with_pid=Count("id", filter=~Q(doi="") | ~Q(arxiv_id="")),
    )
    return WorkCounts(total=counts["total"], with_pid=counts["with_pid"])


def _visible_statuses() -> list[str]:
    return [Authorship.Status.ASSERTED, Authorship.Status.CONFIRMED]


def close_collaborators(*, author: Author) -> tuple[list[Collaborator], int]:
    """The strongest co-authors above the threshold, and how many there are in all."""
    sql = """
        WITH mine AS (
            SELECT work_id FROM works_authorship
            WHERE author_id = %(author)s AND status <> %(disputed)s
        ), team AS (
            SELECT a.work_id, count(*) AS size FROM works_authorship a
            JOIN mine USING (work_id) WHERE a.status <> %(disputed)s GROUP BY a.work_id
        ), ties AS (
            SELECT o.author_id, count(*) AS shared, sum(1.0 / (team.size - 1)) AS strength
            FROM works_authorship o JOIN team USING (work_id)
            WHERE o.author_id <> %(author)s AND o.status <> %(disputed)s AND team.size > 1
            GROUP BY o.author_id
            HAVING sum(1.0 / (team.size - 1)) >= %(threshold)s
        )
        SELECT ties.author_id, au.display_name, au.is_synthetic, ties.shared,
               ties.strength::float8, count(*) OVER () AS total
        FROM ties JOIN works_author au ON au.id = ties.author_id
        ORDER BY ties.strength DESC, ties.shared DESC, au.display_name, ties.author_id
        LIMIT %(limit)s
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "author": author.pk,
                "disputed": Authorship.Status.DISPUTED,
                "threshold": CLOSE_COLLABORATOR_MIN_STRENGTH,
                "limit": CLOSE_COLLABORATORS_SHOWN,
            },
        )
        rows = cursor.fetchall()
    collaborators = [
        Collaborator(
            author_id=row[0],
            display_name=row[1],
            is_synthetic=row[2],
            shared_works=row[3],
            strength=row[4],
        )
        for row in rows
    ]
    return collaborators, (rows[0][5] if rows else 0)


def topic_counts(*, author: Author) -> list[TopicCount]:
    """Every topic of the author's works, most frequent first."""
    topics = (
        Topic.objects.filter(
            worktopic__work__authorships__author=author,
            worktopic__work__authorships__status__in=_visible_statuses(),
        )
        .annotate(n_works=Count("worktopic__work", distinct=True))
        .order_by("-n_works", "display_name")
    )
    return [TopicCount(topic=t, works=t.n_works) for t in topics]


def follower_state(*, author: Author, user: AbstractBaseUser | AnonymousUser) -> tuple[int, bool]:
    """How many follow the author, and whether this user does."""
    mine = Q(user_id=user.pk) if user.is_authenticated else Q(pk__in=[])
    counts = Follow.objects.filter(author=author).aggregate(
        total=Count("id"), mine=Count("id", filter=mine)
    )
    return counts["total"], counts["mine"] > 0


def works_page(*, author: Author, page: int, total: int) -> list[Work]:
    start = (page - 1) * WORKS_PER_PAGE
    return (
        list(
            Work.objects.filter(
                authorships__author=author, authorships__status__in=_visible_statuses()
            )
            .select_related("source")
            .order_by("-publication_year", "-publication_date", "-id")[
                start : start + WORKS_PER_PAGE
            ]
        )
        if start < total
        else []
    )


def summary_line(*, author: Author, topics: list[TopicCount]) -> str:
    """The researcher's own line once they wrote one, otherwise one made from their topics."""
    if author.summary:
        return author.summary
    names = [t.topic.display_name.lower() for t in topics[:3]]
    if not names:
        return f"{author.display_name} has no topics imported yet."
    if len(names) == 1:
        return f"Works on {names[0]}."
    return f"Works on {', '.join(names[:-1])} and {names[-1]}."


def trust_for_author(*, author: Author, counts: WorkCounts) -> Trust:
    return trust_evaluate(
        TrustFacts(
            is_synthetic=author.is_synthetic,
            has_openalex_id=bool(author.openalex_id),
            has_orcid=bool(author.orcid),
            has_affiliation=author.last_known_institution_id is not None,
            works_total=counts.total,
            works_with_pid=counts.with_pid,
        )
    )
