"""'Bring in my ORCID works' run by a real Celery worker on real Redis, as in production.

The owner presses, a worker process fetches the record from ORCID's API
(the recorded record served over HTTP: the only thing mocked) and imports
it, and the status the page polls says so. A press while the broker is away
is sent by the beat sweep once it is back, and run once; a worker that dies
mid-run leaves the run to another once its lease runs out.
"""

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bzpeer.broker import task_send_resume
from profiles import orcid_imports
from profiles.models import OrcidImportRun
from profiles.tasks import orcid_imports_send_due_task
from tests.graph.celery_worker import sending_to, start_worker, wait_for
from tests.profiles.conftest import owned_record
from tests.profiles.orcid_api_server import ORCID
from works.models import Work

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("through_the_broker"),
]
HTMX = {"HTTP_HX_REQUEST": "true"}


def pressed() -> tuple[Client, str]:
    owner, author = owned_record("Alberto Accomazzi", orcid_proven=ORCID)
    client = Client()
    client.force_login(owner)
    url = f"/researchers/{author.pk}/orcid-import/"
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 200
    return client, url


def run() -> OrcidImportRun:
    return OrcidImportRun.objects.get()


def runs_in(log: str) -> int:
    """How many runs the worker's tasks did (not skipped), from its log lines."""
    return sum(
        1
        for line in log.splitlines()
        if "orcid_import_run_task" in line and "succeeded" in line and "'done'" in line
    )


def test_a_worker_brings_the_works_in_and_the_poll_sees_them_arrive(
    orcid_api_url, queue, workers, tmp_path
):
    worker = start_worker(workers, queue, tmp_path, ORCID_API_URL=orcid_api_url)
    client, url = pressed()
    answers = []

    def polled_the_result() -> bool:
        answers.append(client.get(url, **HTMX))
        return answers[-1].status_code == 286

    wait_for(polled_the_result, timeout=60, what="the poll getting the result", workers=[worker])
    assert "3 works: 0 matched, 3 added." in answers[-1].content.decode()
    assert all("every 2s" in a.content.decode() for a in answers[:-1])
    assert Work.objects.filter(authorships__author__orcid=ORCID).count() == 3
    assert runs_in(worker.log()) == 1
    assert run().attempts == 1


@pytest.fixture
def broker(own_redis) -> Iterator:
    """This process sends tasks to a queue on the test's own Redis, which the test stops."""
    own_redis.queue = f"bzpeer-orcid-fault-{uuid.uuid4().hex}"
    with sending_to(own_redis.queue, own_redis.url(0)):
        yield own_redis


def test_a_press_while_the_broker_is_down_runs_once_when_it_is_back(
    orcid_api_url, broker, workers, tmp_path
):
    broker.stop()
    client, url = pressed()
    assert run().status == "queued" and run().task_sent_at is None
    assert "Queued." in client.get(url, **HTMX).content.decode()

    broker.start()
    task_send_resume()
    worker = start_worker(
        workers, broker.queue, tmp_path, REDIS_URL=broker.url(0), ORCID_API_URL=orcid_api_url
    )
    assert orcid_imports_send_due_task() == 1
    wait_for(lambda: run().status == "done", timeout=60, what="the run", workers=[worker])

    # The next sweep finds nothing to send, and the one run was the only one.
    assert orcid_imports_send_due_task() == 0
    assert runs_in(worker.log()) == 1
    assert (run().attempts, run().works_added) == (1, 3)


def test_a_worker_killed_mid_run_is_replaced_and_the_run_finishes_once(
    orcid_api_url, queue, workers, tmp_path
):
    slow = start_worker(
        workers, queue, tmp_path, ORCID_API_URL=orcid_api_url, **{orcid_imports.RUN_DELAY_ENV: "60"}
    )
    client, url = pressed()
    wait_for(lambda: run().status == "running", timeout=60, what="the run starting", workers=[slow])

    slow.kill()
    assert "Bringing in your ORCID works" in client.get(url, **HTMX).content.decode()
    fresh = start_worker(workers, queue, tmp_path, ORCID_API_URL=orcid_api_url)
    # Time passes: the dead run's lease runs out, and beat runs the sweep.
    OrcidImportRun.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert orcid_imports.orcid_imports_send_due() == 1

    wait_for(lambda: run().status == "done", timeout=60, what="the rerun", workers=[slow, fresh])
    assert (run().attempts, run().works_total, run().works_added) == (2, 3, 3)
    assert Work.objects.filter(authorships__author__orcid=ORCID).count() == 3
    done = client.get(url, **HTMX)
    assert done.status_code == 286 and "3 works: 0 matched, 3 added." in done.content.decode()
