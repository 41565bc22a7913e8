"""Citation metrics (works.metrics): what counts, the h- and i10-index, the "since" columns."""

from datetime import date

import pytest

from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import owned_record
from works import metrics
from works.models import AuthorMetrics, Authorship

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 7)  # "Since 2021"


def record_with(citations: list[int], **work_fields):
    author = AuthorFactory()
    for cited in citations:
        AuthorshipFactory(author=author, work=WorkFactory(cited_by_count=cited, **work_fields))
    return author


def refreshed(author) -> AuthorMetrics:
    metrics.author_metrics_refresh(author_ids=[author.pk], today=TODAY)
    return AuthorMetrics.objects.get(author=author)


def h_index_by_hand(citations: list[int]) -> int:
    ranked = sorted(citations, reverse=True)
    return max((h for h in range(1, len(ranked) + 1) if ranked[h - 1] >= h), default=0)


@pytest.mark.parametrize(
    "citations",
    [
        [],  # no works: every number is 0, and the row exists
        [0, 0, 0],  # works nobody cited: h 0
        [1],  # one cited work: h 1
        [100],  # one highly cited work is still h 1
        [10, 8, 5, 4, 3],  # the textbook case: h 4
        [25, 8, 5, 3, 3],  # h 3
        [3, 3, 3],  # ties at the boundary count: h 3
        [4, 4, 4, 4, 4, 4],  # more works than citations each: h 4
        [9, 10, 11, 10],  # i10 counts exactly 10
    ],
)
def test_h_and_i10_index_follow_their_definitions(citations):
    row = refreshed(record_with(citations))

    assert row.works == len(citations)
    assert row.citations == sum(citations)
    assert row.h_index == h_index_by_hand(citations)
    assert row.i10_index == sum(c >= 10 for c in citations)


def test_a_disputed_work_stops_counting_the_moment_the_owner_says_not_mine():
    from profiles import services

    owner, author = owned_record()
    kept = WorkFactory(cited_by_count=50)
    namesakes = WorkFactory(cited_by_count=400)
    AuthorshipFactory(author=author, work=kept)
    AuthorshipFactory(author=author, work=namesakes, position=1)
    metrics.author_metrics_refresh(author_ids=[author.pk])
    assert AuthorMetrics.objects.get(author=author).citations == 450

    services.authorship_set_status(
        user=owner, author=author, work_id=namesakes.pk, status=Authorship.Status.DISPUTED
    )

    row = AuthorMetrics.objects.get(author=author)
    assert (row.works, row.citations, row.h_index) == (1, 50, 1)

    services.authorship_set_status(
        user=owner, author=author, work_id=namesakes.pk, status=Authorship.Status.CONFIRMED
    )
    assert AuthorMetrics.objects.get(author=author).citations == 450


def test_since_columns_count_only_citations_from_five_years_back():
    author = AuthorFactory()
    # Cited mostly before 2021: 30 in all, 6 since.
    old = WorkFactory(cited_by_count=30, counts_by_year={"2015": 20, "2019": 4, "2021": 6})
    # Cited only lately: 12 since 2021.
    new = WorkFactory(cited_by_count=12, counts_by_year={"2022": 5, "2026": 7})
    AuthorshipFactory(author=author, work=old)
    AuthorshipFactory(author=author, work=new)

    row = refreshed(author)

    assert row.since_year == 2021
    assert (row.citations, row.citations_since) == (42, 18)
    assert (row.h_index, row.h_index_since) == (2, 2)
    assert (row.i10_index, row.i10_index_since) == (2, 1)
    assert row.citations_by_year == {"2015": 20, "2019": 4, "2021": 6, "2022": 5, "2026": 7}


def test_works_per_year_counts_each_year_that_has_works():
    author = AuthorFactory()
    for year in (2019, 2019, 2022):
        AuthorshipFactory(author=author, work=WorkFactory(publication_year=year))
    AuthorshipFactory(author=author, work=WorkFactory(publication_year=None))

    row = refreshed(author)

    assert row.works == 4
    assert row.works_by_year == {"2019": 2, "2022": 1}


def test_the_since_year_moves_on_in_january_for_stale_rows_only():
    author = record_with([5], counts_by_year={"2021": 5})
    refreshed(author)

    assert metrics.author_metrics_refresh_year(today=TODAY) == 0
    assert metrics.author_metrics_refresh_year(today=date(2027, 1, 1)) == 1

    row = AuthorMetrics.objects.get(author=author)
    assert (row.since_year, row.citations_since) == (2022, 0)


# An import hands its changed authors to workers (works.metrics.author_metrics_queue).


@pytest.fixture
def metrics_queue(own_redis):
    import uuid

    from bzpeer import broker
    from bzpeer.celery import app as celery_app
    from tests.graph.celery_worker import sending_to

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    name = f"bzpeer-metrics-test-{uuid.uuid4().hex}"
    with sending_to(name, own_redis.url(0)):
        yield own_redis, name
    celery_app.conf.task_always_eager = previous
    broker.task_send_resume()


def test_an_import_queues_the_recount_for_workers_in_chunks(metrics_queue, monkeypatch):
    import redis

    server, name = metrics_queue
    monkeypatch.setattr(metrics, "QUEUE_CHUNK", 2)
    authors = [record_with([7]) for _ in range(3)]

    metrics.author_metrics_queue(author_ids=[a.pk for a in authors])

    client = redis.Redis.from_url(server.url(0))
    try:
        assert client.llen(name) == 2  # two chunks: [a, b] and [c]
    finally:
        client.close()
    assert not AuthorMetrics.objects.filter(author__in=authors).exists()  # a worker's job


def test_with_the_broker_down_the_import_recounts_at_once(metrics_queue):
    from bzpeer import broker

    server, _name = metrics_queue
    server.stop()
    author = record_with([12, 3])

    metrics.author_metrics_queue(author_ids=[author.pk])

    row = AuthorMetrics.objects.get(author=author)
    assert (row.citations, row.h_index) == (15, 2)
    broker.task_send_resume()


def test_the_task_a_worker_runs_recounts_its_chunk():
    from works.tasks import author_metrics_refresh_task

    author = record_with([20, 10, 1])
    assert author_metrics_refresh_task(author_ids=[author.pk]) == 1
    assert AuthorMetrics.objects.get(author=author).i10_index == 2
