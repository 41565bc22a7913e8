"""A real Celery worker on real Redis, for the graph tests that need one.

The worker is a subprocess reading the pytest-django test database (tests
using it need `django_db(transaction=True)` so that it sees their rows) and
consuming a queue of its own, so that no other worker on the same Redis takes
its tasks. `sending_to(queue)` points this process's Celery app at that Redis
and queue for the duration of a test. Redis is part of the test environment:
when it is unreachable the tests fail, they are never skipped.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from bzpeer.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"


def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis at {REDIS_URL} is unreachable ({error}). Real Redis is part of the test "
            "environment: start it on 127.0.0.1:6379 or point REDIS_URL at one.",
            pytrace=False,
        )
    return client


def current_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test_<name>)."""
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "", safe="")
    password = quote(settings.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(settings.get("HOST") or "", safe="")
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings['NAME']}"


def new_queue() -> str:
    return f"bzpeer-graph-test-{uuid.uuid4().hex}"


@contextmanager
def sending_to(queue: str, broker_url: str = REDIS_URL) -> Iterator[None]:
    """Tasks sent by this process go through the real Redis (or `broker_url`) to `queue`."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.task_default_queue)
    conf.task_always_eager = False
    conf.broker_url = broker_url
    conf.task_default_queue = queue
    # Connections made for another broker URL are pooled: start afresh.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url, conf.task_default_queue = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


class Worker:
    """`celery -A bzpeer worker` on one queue, its log in a file."""

    def __init__(self, queue: str, log_path: Path, *, pool: str = "solo", **env: str) -> None:
        self.queue = queue
        self.log_path = log_path
        self.nodename = f"{queue}-{uuid.uuid4().hex[:6]}@graph-test"
        environment = {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "bzpeer.settings"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "REDIS_URL": REDIS_URL,
            "DATABASE_URL": current_database_url(),
            **env,
        }
        if os.environ.get("PYTHONPATH"):
            environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "bzpeer", "worker"),
                    *(f"--pool={pool}", "--concurrency=1", "--queues", queue),
                    *("--hostname", self.nodename, "--without-gossip", "--without-mingle"),
                    *("--without-heartbeat", "--loglevel=INFO"),
                ],
                cwd=BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited:\n{self.log()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"the worker was not ready in {timeout}s:\n{self.log()}", pytrace=False)
            time.sleep(0.2)

    def children(self) -> list[int]:
        """Pids of the worker's pool processes (prefork)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return sorted(found)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def forget_queue(client: redis.Redis, queue: str) -> None:
    """Remove the queue, kombu's bindings for it and any message a killed worker left unacked."""
    client.delete(queue, *client.scan_iter(match=f"*{queue}*"))
    for tag, payload in client.hscan_iter("unacked"):
        if queue.encode() in payload:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def wait_for(condition, *, timeout: float, what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(w.log() for w in workers)
            pytest.fail(f"{what} did not happen in {timeout}s:\n{logs}", pytrace=False)
        time.sleep(0.25)


def start_worker(workers: list[Worker], queue: str, tmp_path: Path, **options: str) -> Worker:
    """Start a worker on `queue`, add it to `workers` (the fixture stops them) and wait for it."""
    worker = Worker(queue, tmp_path / f"worker-{len(workers)}.log", **options)
    workers.append(worker)
    worker.wait_until_ready()
    return worker
