"""bzpeer.cache.RedisCache against the tests' Redis."""

import uuid

import pytest
from django.conf import settings

from bzpeer.cache import RedisCache


@pytest.fixture
def redis_cache():
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is unset")
    prefix = f"test-{uuid.uuid4().hex}"
    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": prefix})
    yield cache
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def test_one_client_serves_every_call_on_a_pool(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    redis_cache.set("page", ("v1", b"<p>hi</p>"), 60)
    assert redis_cache.get_many(["page", "missing"]) == {"page": ("v1", b"<p>hi</p>")}
    assert redis_cache.add("page", "other", 60) is False
    redis_cache.delete_many(["page"])
    assert redis_cache.get("page") is None
    assert redis_cache._cache.get_client() is client


def test_every_call_gives_up_on_redis_after_the_configured_timeout(settings):
    settings.REDIS_CACHE_TIMEOUT = 0.3
    cache = RedisCache("redis://127.0.0.1:6379/0", {})
    pool = cache._cache.get_client().connection_pool
    connection = pool.make_connection()
    assert connection.socket_timeout == connection.socket_connect_timeout == 0.3
    assert connection.retry.get_retries() == 0  # the breaker decides when to try again
