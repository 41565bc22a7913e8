"""Sending tasks from requests: a broker that is down fails the send, never the caller,
and a process whose send just failed does not wait on the broker again at once."""

import uuid
from collections.abc import Iterator

import pytest
import redis

from bzpeer import broker
from bzpeer.celery import app as celery_app
from bzpeer.tasks import ping_task
from tests.graph.celery_worker import sending_to


@pytest.fixture
def queue_on(own_redis) -> Iterator[tuple]:
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    name = f"bzpeer-broker-test-{uuid.uuid4().hex}"
    with sending_to(name, own_redis.url(0)):
        yield own_redis, name
    celery_app.conf.task_always_eager = previous


def queued(server, queue: str) -> int:
    client = redis.Redis.from_url(server.url(0))
    try:
        return int(client.llen(queue))
    finally:
        client.close()


def test_a_send_to_a_stopped_broker_fails_without_raising(queue_on):
    server, _queue = queue_on
    server.stop()
    assert broker.task_send(ping_task, "key") is False


def test_after_a_failed_send_the_process_leaves_the_broker_alone_for_a_while(queue_on):
    server, queue = queue_on
    server.stop()
    assert broker.task_send(ping_task, "first") is False
    server.start()

    assert broker.task_send(ping_task, "second") is False, "not tried: it failed moments ago"
    assert queued(server, queue) == 0

    broker.task_send_resume()  # the pause is over
    assert broker.task_send(ping_task, "third") is True
    assert queued(server, queue) == 1


def test_in_process_tasks_run_at_once(settings):
    assert celery_app.conf.task_always_eager
    assert broker.task_send(ping_task, f"key-{uuid.uuid4().hex}") is True
