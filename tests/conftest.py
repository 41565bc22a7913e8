from pathlib import Path

import pytest

from bzpeer import broker, pagecache
from bzpeer import cache as bzpeer_cache
from bzpeer.celery import app as celery_app

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _celery_in_process():
    """Tasks run in-process unless a test starts a real worker (those tests say so)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _broker_not_paused():
    """A send that failed in an earlier test does not pause this test's sends."""
    broker.task_send_resume()


@pytest.fixture(autouse=True)
def _fresh_cache(settings, request):
    """Each test starts with an empty cache, so rate-limit counters never leak between tests.

    The pages each process keeps for a second (bzpeer.pagecache) go too.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }
    pagecache._local.clear()


@pytest.fixture
def shared_data() -> Path:
    """The real records of ../shared/data (never copied into this repository)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"SKIPPED: {SHARED_DATA} is missing; these tests need ../shared beside the clone"
        )
    return SHARED_DATA


@pytest.fixture
def own_redis():
    """A Redis server of this test's own, to stop (`.stop()`), hang (`.hang()`) and restart."""
    from tests.redis_server import RedisServer

    server = RedisServer()
    server.start()
    yield server
    server.close()
    # A cache breaker is the process's (bzpeer.cache): a later test's Redis may get this port.
    for location in [key for key in bzpeer_cache._breakers if f":{server.port}/" in key]:
        bzpeer_cache._breakers.pop(location, None)


@pytest.fixture
def through_the_broker(_celery_in_process):
    """Tasks go to the real broker, not in-process: for tests about workers."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def queue():
    """A Redis queue of this test's own that this process sends its tasks to."""
    from tests.graph.celery_worker import forget_queue, new_queue, redis_client, sending_to

    client = redis_client()
    name = new_queue()
    try:
        with sending_to(name):
            yield name
    finally:
        forget_queue(client, name)
        client.close()


@pytest.fixture
def workers():
    """Real Celery workers a test starts (tests.graph.celery_worker.Worker), stopped at the end."""
    started: list = []
    yield started
    for worker in started:
        worker.stop()
