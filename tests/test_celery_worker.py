"""A real Celery worker and beat on the real Redis.

The worker runs in its own process, as in production: a task sent through the
broker must come back as a value the worker wrote to the Redis cache. Redis is
part of the test environment, so an unreachable one fails these tests.
"""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kombu
import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from bzpeer.celery import app as celery_app
from bzpeer.tasks import ping_task

BASE_DIR = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("through_the_broker")

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
# The cache prefix settings give the Redis cache when REDIS_URL is set.
CACHE_KEY_PREFIX = "bzpeer"
NODE_HOST = "bzpeer-test"


@dataclass
class CeleryProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    nodename: str
    queue: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
        unreachable = ""
    except redis.RedisError as error:
        unreachable = str(error)
    if unreachable:
        pytest.fail(
            f"Redis at {REDIS_URL} is unreachable ({unreachable}). Real Redis is part of the "
            "test environment: start it on 127.0.0.1:6379 or point REDIS_URL at one.",
            pytrace=False,
        )
    yield client
    client.close()


def _celery_env() -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "bzpeer.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
        "REDIS_URL": REDIS_URL,
    }
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    return env


def _start(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bzpeer", *args],
            cwd=BASE_DIR,
            env=_celery_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _inspect_ping(nodename: str) -> subprocess.CompletedProcess[str]:
    """The command the compose healthchecks run."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "celery", "-A", "bzpeer", "inspect", "ping"),
            *("--destination", nodename, "--timeout", "5"),
        ],
        cwd=BASE_DIR,
        env=_celery_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _wait_for_ping(celery: CeleryProcess, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + timeout
    while True:
        if celery.process.poll() is not None:
            pytest.fail(f"{celery.nodename} exited early:\n{celery.log()}", pytrace=False)
        answer = _inspect_ping(celery.nodename)
        if answer.returncode == 0 or time.monotonic() > deadline:
            return answer
        time.sleep(1)


@pytest.fixture
def worker(redis_client: redis.Redis, tmp_path: Path) -> Iterator[CeleryProcess]:
    # A queue of its own, so no other worker on this Redis takes the task.
    queue = f"bzpeer-test-{uuid.uuid4().hex}"
    nodename = f"{queue}@{NODE_HOST}"
    log_path = tmp_path / "worker.log"
    process = _start(
        [
            *("worker", "--pool=solo", "--queues", queue, "--hostname", nodename),
            # bzpeer is not an installed app, so autodiscovery does not import its tasks.
            *("--include", "bzpeer.tasks", "--without-gossip", "--without-mingle"),
            "--loglevel=INFO",
        ],
        log_path,
    )
    try:
        yield CeleryProcess(process=process, log_path=log_path, nodename=nodename, queue=queue)
    finally:
        _stop(process)
        # The queue and kombu's bookkeeping for it (binding keys carry its name).
        redis_client.delete(queue, *redis_client.scan_iter(match=f"*{queue}*"))


def _wait_for_cache(cache: RedisCache, key: str, worker: CeleryProcess, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cache.get(key)
        if value is not None:
            return value
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited:\n{worker.log()}", pytrace=False)
        time.sleep(0.2)
    pytest.fail(
        f"the worker did not run ping_task within {timeout}s:\n{worker.log()}", pytrace=False
    )


def test_worker_runs_a_task_sent_through_redis(worker):
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": CACHE_KEY_PREFIX})
    key = f"bzpeer-test-ping-{uuid.uuid4().hex}"
    try:
        # This process's settings may have no REDIS_URL (broker memory://), so
        # the message goes out on an explicit connection to the real Redis.
        with celery_app.connection_for_write(url=REDIS_URL) as connection:
            ping_task.apply_async(
                args=(key,), queue=worker.queue, producer=kombu.Producer(connection)
            )
        assert _wait_for_cache(cache, key, worker, timeout=60) == "pong"
    finally:
        cache.delete(key)
        cache.close()


def test_worker_answers_the_compose_healthcheck_ping(worker):
    answer = _wait_for_ping(worker)
    assert answer.returncode == 0, answer.stdout + answer.stderr + worker.log()
    assert "pong" in answer.stdout


def test_beat_answers_the_compose_healthcheck_ping(redis_client, tmp_path):
    nodename = f"celerybeat@bzpeer-test-{uuid.uuid4().hex}"
    log_path = tmp_path / "beat.log"
    process = _start(
        [
            *("beat", "--loglevel=INFO", f"--schedule={tmp_path / 'celerybeat-schedule'}"),
            *("--enable-remote-control", "--hostname", nodename),
        ],
        log_path,
    )
    beat = CeleryProcess(process=process, log_path=log_path, nodename=nodename)
    try:
        answer = _wait_for_ping(beat)
        assert answer.returncode == 0, answer.stdout + answer.stderr + beat.log()
        assert "pong" in answer.stdout
    finally:
        _stop(process)


def test_inspect_ping_fails_when_no_such_node_answers(redis_client):
    answer = _inspect_ping(f"celery@bzpeer-test-absent-{uuid.uuid4().hex}")
    assert answer.returncode != 0
