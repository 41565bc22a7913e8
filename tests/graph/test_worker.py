"""Graph slices built by a real Celery worker on real Redis, as in production.

The page's fragment asks for a slice, a worker process builds it, the poll
gets it. A worker killed in the middle of a build leaves a ready slice too:
either its task is redelivered at once (the pool process died and
acks_late + reject_on_worker_lost put the task back), or, when the whole
worker died, the build's lease runs out and the periodic sweep queues it
again for another worker.
"""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from graph import services
from graph.models import GraphSlice
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.graph.celery_worker import start_worker, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("through_the_broker"),
]

HTMX = {"HTTP_HX_REQUEST": "true"}
POLL = {**HTMX, "HTTP_HX_TRIGGER": "graph-slice-poll"}


def researcher():
    grace = AuthorFactory(display_name="Grace Example")
    for i in range(3):
        work = WorkFactory(title=f"Paper {i}")
        AuthorshipFactory(work=work, author=grace, position=0)
        AuthorshipFactory(work=work, author=AuthorFactory(display_name=f"Coauthor {i}"), position=1)
    return grace


def status(author) -> str:
    return GraphSlice.objects.values_list("status", flat=True).get(pk=author.pk)


def test_a_worker_builds_the_slice_the_fragment_asked_for(queue, workers, tmp_path):
    grace = researcher()
    worker = start_worker(workers, queue, tmp_path)
    client = Client()
    url = f"/researchers/{grace.pk}/graph-slice/"

    first = client.get(url, **HTMX)
    assert "Building this graph slice" in first.content.decode()

    answers = []

    def polled_the_slice() -> bool:
        answers.append(client.get(url, **POLL))
        return answers[-1].status_code == 286

    wait_for(polled_the_slice, timeout=60, what="the poll getting the slice", workers=[worker])
    html = answers[-1].content.decode()
    assert "<svg" in html and 'href="/researchers/' in html
    assert all("Building this graph slice" in a.content.decode() for a in answers[:-1])
    assert "Task graph.tasks.graph_slices_build_task" in worker.log()
    row = GraphSlice.objects.get(pk=grace.pk)
    assert row.status == GraphSlice.Status.READY
    assert row.attempts == 0


def test_a_worker_killed_mid_build_is_replaced_by_the_sweep(queue, workers, tmp_path):
    grace = researcher()
    slow = start_worker(workers, queue, tmp_path, BZPEER_SLICE_BUILD_DELAY="60")
    Client().get(f"/researchers/{grace.pk}/graph-slice/", **HTMX)
    wait_for(
        lambda: status(grace) == "building", timeout=60, what="the build starting", workers=[slow]
    )

    slow.kill()
    time.sleep(1)
    assert status(grace) == "building", "nothing else may touch the dead build's row"
    fresh = start_worker(workers, queue, tmp_path)
    # Time passes: the dead build's lease runs out, and beat runs the sweep.
    GraphSlice.objects.filter(pk=grace.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.slices_queue_stale() == 1

    wait_for(
        lambda: status(grace) == "ready", timeout=60, what="the rebuild", workers=[slow, fresh]
    )
    row = GraphSlice.objects.get(pk=grace.pk)
    assert row.data["centre"] == f"a:{grace.pk}"
    assert row.attempts == 0


def test_a_build_whose_process_is_killed_is_redelivered_at_once(queue, workers, tmp_path):
    grace = researcher()
    worker = start_worker(workers, queue, tmp_path, pool="prefork", BZPEER_SLICE_BUILD_DELAY="5")
    Client().get(f"/researchers/{grace.pk}/graph-slice/", **HTMX)
    wait_for(
        lambda: status(grace) == "building", timeout=60, what="the build starting", workers=[worker]
    )

    (child,) = worker.children()
    os.kill(child, signal.SIGKILL)
    # The pool replaces its process and runs the redelivered task, which takes
    # the row over without waiting for the two-minute lease (the delay is 5s).
    wait_for(
        lambda: status(grace) == "ready", timeout=60, what="the redelivered build", workers=[worker]
    )
    assert "WorkerLostError" in worker.log()
    assert GraphSlice.objects.get(pk=grace.pk).attempts == 0
