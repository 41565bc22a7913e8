"""The graph fragment and the retry button while the broker (Redis) is stopped or hung.

The broker here is a Redis of the test's own (`own_redis`), stopped and
frozen on purpose. A slice queued while it is away is recorded as not sent;
once it is back, the sweep (beat runs it every minute; the tests call it)
sends it and a real worker builds it, once.
"""

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from bzpeer.broker import task_send_resume
from graph.models import GraphSlice
from graph.tasks import graph_slices_queue_stale_task
from tests.graph.celery_worker import Worker, sending_to, start_worker, wait_for
from tests.graph.test_views import researcher

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("through_the_broker"),
]

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def broker(own_redis) -> Iterator:
    """This process sends tasks to a queue on the test's own Redis."""
    own_redis.queue = f"bzpeer-graph-fault-{uuid.uuid4().hex}"
    with sending_to(own_redis.queue, own_redis.url(0)):
        yield own_redis


def row(author) -> GraphSlice:
    return GraphSlice.objects.get(pk=author.pk)


def builds_in(log: str) -> int:
    """How many slices the worker's build tasks built, from its log lines."""
    return sum(line.count("'built': 1") for line in log.splitlines() if "succeeded" in line)


def broker_back_and_swept(broker, workers: list[Worker], tmp_path: Path, grace) -> Worker:
    """Start the broker and a worker; the sweep sends the unsent row and the slice is built."""
    broker.start()
    # The sweep runs in a worker, where no send failed moments ago.
    task_send_resume()
    worker = start_worker(workers, broker.queue, tmp_path, REDIS_URL=broker.url(0))
    assert graph_slices_queue_stale_task() == 1
    wait_for(
        lambda: row(grace).status == GraphSlice.Status.READY,
        timeout=60,
        what="the build after the sweep",
        workers=[worker],
    )
    return worker


def test_fragment_while_the_broker_is_down_is_built_once_by_the_next_sweep(
    broker, workers, tmp_path
):
    grace, _ = researcher()
    broker.stop()

    answer = Client().get(f"/researchers/{grace.pk}/graph-slice/", **HTMX)

    assert answer.status_code == 200
    assert "Building this graph slice" in answer.content.decode()
    queued = row(grace)
    assert queued.status == GraphSlice.Status.QUEUED
    assert queued.sent_at is None, "the failed send is recorded: the row is not sent"

    worker = broker_back_and_swept(broker, workers, tmp_path, grace)
    # A second sweep finds nothing to send, and the one build was the only one.
    assert graph_slices_queue_stale_task() == 0
    assert builds_in(worker.log()) == 1
    assert row(grace).data["centre"] == f"a:{grace.pk}"


def test_retry_while_the_broker_is_down_is_built_once_it_is_back(broker, workers, tmp_path):
    grace, _ = researcher()
    GraphSlice.objects.create(author=grace, status=GraphSlice.Status.FAILED, error="boom")
    broker.stop()

    answer = Client().post(f"/researchers/{grace.pk}/graph-slice/retry/", **HTMX)

    assert answer.status_code == 200
    assert "Building this graph slice" in answer.content.decode()
    assert row(grace).status == GraphSlice.Status.QUEUED
    assert row(grace).sent_at is None

    worker = broker_back_and_swept(broker, workers, tmp_path, grace)
    assert builds_in(worker.log()) == 1


def test_fragment_while_the_broker_hangs_answers_and_records_the_send_failed(broker):
    grace, _ = researcher()
    broker.hang()
    answers = []

    def ask() -> None:
        try:
            answers.append(
                Client().get(
                    f"/researchers/{grace.pk}/graph-slice/", headers={"HX-Request": "true"}
                )
            )
        finally:
            connection.close()

    request = threading.Thread(target=ask, daemon=True)
    request.start()
    # Not a timing assertion: a guard so that a request hung on the broker
    # fails this test instead of hanging the suite.
    request.join(timeout=120)
    hung = request.is_alive()
    broker.resume()
    request.join(timeout=30)

    assert not hung, "the fragment request waited on the hung broker"
    assert answers[0].status_code == 200
    assert "Building this graph slice" in answers[0].content.decode()
    assert row(grace).status == GraphSlice.Status.QUEUED
    assert row(grace).sent_at is None


def test_fragment_with_the_broker_up_records_the_send(broker):
    grace, _ = researcher()

    answer = Client().get(f"/researchers/{grace.pk}/graph-slice/", **HTMX)

    assert "Building this graph slice" in answer.content.decode()
    assert row(grace).sent_at is not None
    assert graph_slices_queue_stale_task() == 0, "a sent row is not sent again"
