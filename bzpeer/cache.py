"""Django's RedisCache, made to survive a Redis that is down or hung.

Every call on Redis has a short socket and connect timeout (REDIS_CACHE_TIMEOUT)
and no retry. The first call that fails opens a circuit breaker shared by the
whole process: for REDIS_CACHE_RETRY_SECONDS no call tries Redis, then one call
does, and closes the breaker if it succeeds. A hung Redis thus costs one
timeout per process every few seconds, not one per call.

While the breaker is open, the cache answers from a LocMem cache of the
process's own, so what counts (allauth's rate limits, bzpeer.ratelimit) keeps
counting, per process: a limit never opens because Redis is away. The
fallback starts empty each time the breaker opens or closes, so nothing kept
in it during one outage resurfaces in the next. What must not outlive a change
made in another process (cached pages) uses `shared_cache` instead, which
misses while Redis is away.

Django's client makes a new `redis.Redis` for every cache call, and redis-py
builds its table of response callbacks each time: measured 0.17 ms, as much
as the round trip itself, on a page served from the cache. So one client per
connection pool serves every call; the clients share their pool (thread-safe),
exactly as Django's do.
"""

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger(__name__)

# Rate-limit counters and allauth's locks are small; this bounds the memory an
# outage can take whatever the traffic, and is far more keys than one process
# touches in a minute.
FALLBACK_MAX_ENTRIES = 20_000


class CacheUnavailable(Exception):
    """Redis is away (this call failed, or a recent one did) and the call has no fallback."""


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))  # the pools live as long as this object
        if client is None:
            client = self._clients[id(pool)] = Redis(connection_pool=pool)
        return client


class _Breaker:
    """Whether to call Redis now; one per server and process, shared by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = False
        self._last_try = 0.0  # when a call last failed, or the last trial began

    def allow(self) -> bool:
        if not self.open:
            return True
        with self._lock:
            now = time.monotonic()
            if not self.open:  # closed meanwhile by another thread's trial
                return True
            if now - self._last_try < settings.REDIS_CACHE_RETRY_SECONDS:
                return False
            # This call is the trial; the others keep to the fallback until it ends.
            self._last_try = now
            return True

    def failed(self, error: Exception) -> bool:
        """Note a failed call; True when this one opened the breaker."""
        with self._lock:
            self._last_try = time.monotonic()
            opened, self.open = not self.open, True
        if opened:
            logger.warning(
                "Redis cache unavailable (%s): this process counts rate limits in its own "
                "memory and builds pages live; it tries Redis again every %s s",
                error,
                settings.REDIS_CACHE_RETRY_SECONDS,
            )
        return opened

    def succeeded(self) -> bool:
        """Note a call that worked; True when this one closed the breaker."""
        if not self.open:  # every call when all is well: no lock
            return False
        with self._lock:
            closed, self.open = self.open, False
        if closed:
            logger.warning("Redis cache available again")
        return closed


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker_for(location: str) -> _Breaker:
    with _breakers_lock:
        return _breakers.setdefault(location, _Breaker())


class _SharedOnly:
    """A RedisCache without its fallback: CacheUnavailable while Redis is away."""

    def __init__(self, backend: "RedisCache") -> None:
        self._backend = backend

    def __getattr__(self, method: str) -> Any:
        # Only the calls that go to Redis themselves: BaseCache's others (get_or_set, ...)
        # would reach the fallback through the backend's own methods.
        if method not in vars(DjangoRedisCache) or method.startswith("_"):
            raise AttributeError(method)
        return functools.partial(self._backend.on_redis, method)


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
        self._options = {
            "socket_timeout": settings.REDIS_CACHE_TIMEOUT,
            "socket_connect_timeout": settings.REDIS_CACHE_TIMEOUT,
            # The breaker decides when to try again; a retry would double a hung call.
            "retry": Retry(NoBackoff(), 0),
            **params.get("OPTIONS", {}),
        }
        location = server if isinstance(server, str) else ",".join(server)
        self._breaker = _breaker_for(location)
        # LocMem caches of one name share their memory, so every thread's backend
        # (Django makes one per thread) falls back to the same counts.
        self._fallback = LocMemCache(
            f"bzpeer.cache.fallback:{location}",
            {**params, "OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES}},
        )
        self.shared = _SharedOnly(self)

    @property
    def redis_available(self) -> bool:
        """False while the breaker is open (Redis failed lately and has not answered since)."""
        return not self._breaker.open

    def on_redis(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Django's RedisCache.<method>; CacheUnavailable when Redis is away."""
        if not self._breaker.allow():
            raise CacheUnavailable
        try:
            result = getattr(DjangoRedisCache, method)(self, *args, **kwargs)
        except (RedisError, OSError) as error:
            if self._breaker.failed(error):
                self._fallback.clear()
            raise CacheUnavailable from error
        if self._breaker.succeeded():
            self._fallback.clear()
        return result

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.on_redis(method, *args, **kwargs)
        except CacheUnavailable:
            return getattr(self._fallback, method)(*args, **kwargs)

    # BaseCache's other methods (get_or_set, decr, the async ones, ...) call these.

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._call("add", key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._call("get", key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._call("set", key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._call("touch", key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._call("delete", key, version)

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._call("get_many", keys, version)

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._call("has_key", key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        return self._call("incr", key, delta, version)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None) -> Any:
        return self._call("delete_many", keys, version)

    def clear(self) -> Any:
        return self._call("clear")


class _SharedCache:
    """Django's default cache, but raising CacheUnavailable while Redis is away.

    For what one process must not keep while another changes it (bzpeer.pagecache):
    without Redis there is no shared cache, and the caller builds afresh.
    Any other backend (LocMem in development and tests) is used as it is.
    """

    def __getattr__(self, name: str) -> Any:
        backend = caches[DEFAULT_CACHE_ALIAS]
        return getattr(getattr(backend, "shared", backend), name)


shared_cache: Any = _SharedCache()


T = TypeVar("T")


def shared_get_or_build(key: str, build: Callable[[], T], *, timeout: float) -> T:
    """The value cached under `key`, else `build()`'s, cached; built afresh while Redis is away.

    For large values that the process should not hoard in its fallback memory.
    """
    try:
        value: T | None = shared_cache.get(key)
    except CacheUnavailable:
        return build()
    if value is None:
        value = build()
        with contextlib.suppress(CacheUnavailable):
            shared_cache.set(key, value, timeout=timeout)
    return value
