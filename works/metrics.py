"""A researcher's citation metrics, computed from the works on their page.

What counts is what the page lists: every work the researcher is an author of,
except those the owner marked "not mine" (a disputed authorship). The numbers
are worked out in PostgreSQL, for many authors in one statement, and kept in
AuthorMetrics; a person's decision (a claim approved, a work marked "not mine") calls
`author_metrics_refresh` in its own transaction, so a disputed work stops
counting the moment the decision commits; an import hands its changed
authors to workers once it has committed (`author_metrics_queue`). The page
reads one joined row.

- citations: the sum of the works' citation counts, as the source counted them;
- h-index: the largest h such that h works have at least h citations each;
- i10-index: the works with at least 10 citations;
- the "since" columns: the same, counting only citations received from
  `since_year` on (the source's citations per year), as Google Scholar's
  "Since 2021" columns do; the year moves on each January
  (`author_metrics_refresh_year`).
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import connection, transaction

from works.models import AuthorMetrics, Authorship

# Google Scholar's recent columns start five years back: "Since 2021" in 2026.
SINCE_YEARS_BACK = 5

_REFRESH_SQL = """
WITH target AS (SELECT unnest(%(ids)s::bigint[]) AS author_id),
counted AS (
    SELECT a.author_id, w.id AS work_id, w.cited_by_count AS cited,
        w.publication_year AS year, w.counts_by_year
    FROM works_authorship a JOIN works_work w ON w.id = a.work_id
    WHERE a.author_id = ANY(%(ids)s::bigint[]) AND a.status <> %(disputed)s
),
yearly AS (
    SELECT c.author_id, c.work_id, e.key::int AS year, e.value::bigint AS cited
    FROM counted c, jsonb_each_text(c.counts_by_year) AS e
    WHERE e.key ~ '^[0-9]{1,4}$' AND e.value ~ '^[0-9]{1,12}$'
),
recent AS (
    SELECT author_id, work_id, sum(cited) AS cited FROM yearly
    WHERE year >= %(since)s GROUP BY author_id, work_id
),
ranked AS (
    SELECT author_id, cited, row_number() OVER (PARTITION BY author_id ORDER BY cited DESC) AS r
    FROM counted
),
ranked_recent AS (
    SELECT author_id, cited,
        row_number() OVER (PARTITION BY author_id ORDER BY cited DESC) AS r
    FROM recent
),
totals AS (
    SELECT author_id, count(*) AS works, sum(cited) AS citations,
        count(*) FILTER (WHERE cited >= r) AS h_index,
        count(*) FILTER (WHERE cited >= 10) AS i10_index
    FROM ranked GROUP BY author_id
),
totals_recent AS (
    SELECT author_id, sum(cited) AS citations,
        count(*) FILTER (WHERE cited >= r) AS h_index,
        count(*) FILTER (WHERE cited >= 10) AS i10_index
    FROM ranked_recent GROUP BY author_id
),
works_by_year AS (
    SELECT author_id, jsonb_object_agg(year::text, n ORDER BY year) AS years
    FROM (SELECT author_id, year, count(*) AS n FROM counted WHERE year IS NOT NULL
          GROUP BY author_id, year) y
    GROUP BY author_id
),
citations_by_year AS (
    SELECT author_id, jsonb_object_agg(year::text, n ORDER BY year) AS years
    FROM (SELECT author_id, year, sum(cited) AS n FROM yearly GROUP BY author_id, year) y
    GROUP BY author_id
)
INSERT INTO works_authormetrics AS m (
    author_id, works, citations, h_index, i10_index, since_year, citations_since,
    h_index_since, i10_index_since, works_by_year, citations_by_year, computed_at)
SELECT t.author_id, COALESCE(s.works, 0), COALESCE(s.citations, 0), COALESCE(s.h_index, 0),
    COALESCE(s.i10_index, 0), %(since)s, COALESCE(r.citations, 0), COALESCE(r.h_index, 0),
    COALESCE(r.i10_index, 0), COALESCE(wy.years, '{}'), COALESCE(cy.years, '{}'),
    statement_timestamp()
FROM target t
JOIN works_author au ON au.id = t.author_id
LEFT JOIN totals s USING (author_id)
LEFT JOIN totals_recent r USING (author_id)
LEFT JOIN works_by_year wy USING (author_id)
LEFT JOIN citations_by_year cy USING (author_id)
ON CONFLICT (author_id) DO UPDATE SET
    works = EXCLUDED.works, citations = EXCLUDED.citations, h_index = EXCLUDED.h_index,
    i10_index = EXCLUDED.i10_index, since_year = EXCLUDED.since_year,
    citations_since = EXCLUDED.citations_since, h_index_since = EXCLUDED.h_index_since,
    i10_index_since = EXCLUDED.i10_index_since, works_by_year = EXCLUDED.works_by_year,
    citations_by_year = EXCLUDED.citations_by_year, computed_at = EXCLUDED.computed_at
WHERE (m.works, m.citations, m.h_index, m.i10_index, m.since_year, m.citations_since,
        m.h_index_since, m.i10_index_since, m.works_by_year, m.citations_by_year)
    IS DISTINCT FROM (EXCLUDED.works, EXCLUDED.citations, EXCLUDED.h_index,
        EXCLUDED.i10_index, EXCLUDED.since_year, EXCLUDED.citations_since,
        EXCLUDED.h_index_since, EXCLUDED.i10_index_since, EXCLUDED.works_by_year,
        EXCLUDED.citations_by_year)
"""

# Authors per statement: the statement reads every work of each author.
CHUNK = 20_000


def since_year(*, today: date | None = None) -> int:
    return (today or date.today()).year - SINCE_YEARS_BACK


def author_metrics_refresh(*, author_ids: Iterable[int], today: date | None = None) -> int:
    """Recompute the metrics of these authors; returns how many rows changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        return author_metrics_write(cursor, author_ids=author_ids, today=today)


def author_metrics_write(
    cursor: Any, *, author_ids: Iterable[int], today: date | None = None
) -> int:
    """As author_metrics_refresh, on a cursor of a transaction the caller holds (an import)."""
    ids = sorted(set(author_ids))
    written = 0
    for start in range(0, len(ids), CHUNK):
        cursor.execute(
            _REFRESH_SQL,
            {
                "ids": ids[start : start + CHUNK],
                "disputed": Authorship.Status.DISPUTED.value,
                "since": since_year(today=today),
            },
        )
        written += cursor.rowcount
    return written


# Authors per task: a chunk's statement takes about a second.
QUEUE_CHUNK = 5_000


def author_metrics_queue(*, author_ids: Iterable[int]) -> None:
    """Have workers recount these authors (an import's changes), in chunks.

    A chunk the broker does not take (down, hung) is recounted here and now:
    slower for the caller, but never lost. The recount is idempotent, so a
    task that runs twice changes nothing more.
    """
    # works.tasks imports this module; the task is looked up when it is needed.
    from bzpeer import broker
    from works.tasks import author_metrics_refresh_task

    ids = sorted(set(author_ids))
    for start in range(0, len(ids), QUEUE_CHUNK):
        chunk = ids[start : start + QUEUE_CHUNK]
        if not broker.task_send(author_metrics_refresh_task, chunk):
            author_metrics_refresh(author_ids=chunk)


def author_metrics_refresh_year(*, today: date | None = None) -> int:
    """Recompute every author whose "since" columns start at an earlier year."""
    year = since_year(today=today)
    stale = AuthorMetrics.objects.exclude(since_year=year).values_list("author_id", flat=True)
    return author_metrics_refresh(author_ids=list(stale), today=today)
