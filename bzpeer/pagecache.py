"""Whole responses of a researcher's public pages, cached for anonymous visitors.

An anonymous visitor (no session cookie, no messages waiting) sees the same
profile page and graph fragment as every other one, so the response is built
once and then served from the cache by AnonymousPageCacheMiddleware, ahead of
sessions, CSRF and the view: one round trip (MGET of the entry and the
author's version) and no SQL. Signed-in visitors of the researcher page get
the same entry with their own parts filled in (`shared_page`, below); pages
built live (other pages, a build the cache could not keep) are spared the
costly reads by `author_cached`.

Invalidation is per author. Every entry carries the version it was built
under; `author_pages_changed` deletes the version, so every entry built
before is dead at once whatever its URL or variant. Writers call it inside
their transaction and it runs again once the transaction commits: a request
that read the old rows before the commit stored its page under a version
that the second delete retires. Entries also expire after PAGE_CACHE_SECONDS,
the safety net for changes nobody announces (a co-author renamed by an
import, a topic renamed).

While Redis is away (bzpeer.cache), every read misses and the page is built
live: a page kept in one process's memory would miss the changes other
processes announce. The authors whose pages changed meanwhile are retired
once Redis answers again, so a Redis that hung and resumed does not serve
their pages from before the change.

A CDN may keep the same anonymous responses for PAGE_CACHE_SHARED_SECONDS
(`s-maxage`). Browsers revalidate every time (`max-age=0`), so a visitor who
logs in never sees the anonymous page from their own cache. Responses that
are not shared are marked `private`.
"""

import functools
import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import urlencode

from bzpeer.cache import CacheUnavailable
from bzpeer.cache import shared_cache as cache

logger = logging.getLogger(__name__)

# What a shared response varies on: a visitor with any cookie is a cache key
# of their own at a CDN, and htmx asks for fragments and history restores.
VARY = ("Cookie", "HX-Request", "HX-History-Restore-Request")
# A version outlives the entries built under it; a missing one retires them all.
VERSION_SECONDS = 24 * 60 * 60
DELETE_CHUNK = 1000

AuthorView = Callable[..., HttpResponse]


def _version_key(author_id: int) -> str:
    return f"pages:author:{author_id}"


# Authors whose pages changed while the cache was away, retired once it is back.
_unretired: set[int] = set()
_unretired_lock = threading.Lock()
# Beyond this many, the rest live out PAGE_CACHE_SECONDS instead.
UNRETIRED_MAX = 100_000


def _forget(author_ids: list[int]) -> None:
    _local_forget(author_ids)
    with _unretired_lock:
        ids = sorted(_unretired.union(author_ids))
        _unretired.clear()
    keys = [_version_key(author_id) for author_id in ids]
    # A cache that is away must not undo the write that called this.
    try:
        for start in range(0, len(keys), DELETE_CHUNK):
            cache.delete_many(keys[start : start + DELETE_CHUNK])
    except Exception as error:
        if not isinstance(error, CacheUnavailable):
            logger.exception("could not retire the cached pages of %d author(s)", len(keys))
        with _unretired_lock:
            _unretired.update(ids[: max(0, UNRETIRED_MAX - len(_unretired))])


def author_pages_changed(*, author_ids: Iterable[int], committed: bool = False) -> None:
    """Retire the cached pages of these authors now and again once the transaction commits.

    committed: the change is already committed (e.g. written in autocommit
    mode), so once is enough.
    """
    ids = sorted(set(author_ids))
    if not ids:
        return
    _forget(ids)
    if not committed and transaction.get_connection().in_atomic_block:
        transaction.on_commit(functools.partial(_forget, ids), robust=True)


# Each process also keeps the pages it just read from the cache for
# PAGE_CACHE_LOCAL_SECONDS (a second): a page that many visitors ask for at
# once then costs no round trip at all. A change retires them at once in the
# process that makes it; in the others they live out their second.
_local: dict[str, tuple[float, int, Any]] = {}  # key -> (expires, author id, entry)
LOCAL_ENTRIES_MAX = 256


def _local_get(key: str) -> Any:
    item = _local.get(key)
    if item is None or item[0] < time.monotonic():
        return _MISSING
    return item[2]


def _local_put(key: str, author_id: int, entry: Any) -> None:
    seconds = settings.PAGE_CACHE_LOCAL_SECONDS
    if seconds <= 0:
        return
    if len(_local) >= LOCAL_ENTRIES_MAX:
        _local.clear()  # crude, but safe with threads; a second's worth is cheap to refill
    _local[key] = (time.monotonic() + seconds, author_id, entry)


def _local_forget(author_ids: list[int]) -> None:
    ids = set(author_ids)
    for key, item in list(_local.items()):
        if item[1] in ids:
            _local.pop(key, None)


def _shared_request_key(request: HttpRequest, author_id: int, options: "_Options") -> str | None:
    """The entry's key when this request may get a shared response; None when it may not."""
    cookies = request.COOKIES
    # Only these two make a page the visitor's own. Others change nothing a
    # shared page shows: the CSRF token, the pending follow (read only by the
    # log-in and sign-up pages, which are never shared).
    if settings.SESSION_COOKIE_NAME in cookies or CookieStorage.cookie_name in cookies:
        return None
    return _page_key(request, author_id, options)


def _page_key(request: HttpRequest, author_id: int, options: "_Options") -> str | None:
    """The key of the shared entry for this URL and variant, whoever asks."""
    if any(
        name not in options.params or len(request.GET.getlist(name)) > 1 for name in request.GET
    ):
        return None
    # The headers themselves: cheaper than django-htmx's parsed details, on every hit.
    htmx = request.META.get("HTTP_HX_REQUEST") == "true"
    restore = request.META.get("HTTP_HX_HISTORY_RESTORE_REQUEST") == "true"
    variant = "fragment" if htmx and not restore else "page"
    if options.normalise is not None and request.GET:
        normal = _normalised(options.normalise, request)
        if normal is None:
            return None
        query = urlencode(sorted(normal))
    else:
        query = urlencode(sorted((name, request.GET[name]) for name in request.GET))
    # Host and scheme: the page names its own absolute (canonical) URL.
    url = f"{request.scheme}://{request.get_host()}{request.path}?{query}"
    digest = hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()
    return f"pages:{author_id}:{variant}:{ENTRY_FORMAT}:{digest}"


# Query strings up to this long have their normalised parameters remembered per process
# (the last NORMALISED_KEPT of them): reading a works filter through its form cost
# 0.23 ms of a signed-in visit's 2 ms, for a value that depends on the string alone.
NORMALISED_QUERY_MAX = 2048
NORMALISED_KEPT = 4096


def _normalised(normalise: "Normalise", request: HttpRequest) -> tuple[tuple[str, str], ...] | None:
    raw = request.META.get("QUERY_STRING", "")
    if len(raw) > NORMALISED_QUERY_MAX:
        normal = normalise(request.GET)
        return None if normal is None else tuple(normal)
    return _normalised_query(normalise, raw)


@functools.lru_cache(maxsize=NORMALISED_KEPT)
def _normalised_query(normalise: "Normalise", raw: str) -> tuple[tuple[str, str], ...] | None:
    normal = normalise(QueryDict(raw))
    return None if normal is None else tuple(normal)


def _is_shareable(request: HttpRequest, response: HttpResponse) -> bool:
    """A 200 with nothing of this visitor's in it, which the view did not mark as private."""
    control = response.get("Cache-Control", "")
    session = getattr(request, "session", None)
    return (
        response.status_code == 200
        and not response.streaming
        and "private" not in control
        and "no-store" not in control
        and not response.cookies
        # The page used the visitor's CSRF token or wrote to their session.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (session is not None and session.modified)
    )


def _shared(response: HttpResponse) -> HttpResponse:
    patch_cache_control(
        response, public=True, max_age=0, s_maxage=settings.PAGE_CACHE_SHARED_SECONDS
    )
    patch_vary_headers(response, VARY)
    return response


def _new_version(key: str) -> str | None:
    version = secrets.token_hex(8)
    if cache.add(key, version, VERSION_SECONDS):
        return version
    existing: str | None = cache.get(key)  # another request made one meanwhile
    return existing


_MISSING = object()

# An entry is (body, headers, facts): see SharedPage. Named in the key, so that
# entries of an earlier layout are never read as this one.
ENTRY_FORMAT = "e2"
# The attribute a view sets on a shareable response to keep facts with it.
FACTS_ATTRIBUTE = "shared_facts"


def _entry(response: HttpResponse) -> tuple[bytes, dict[str, str], Any]:
    return (response.content, dict(response.headers), getattr(response, FACTS_ATTRIBUTE, None))


def _read(author_id: int, key: str) -> tuple[Any, str | None]:
    """(the entry's value or _MISSING, the version to store a new one under).

    One round trip on a hit. On a miss the version is made before the
    caller reads the database (see the module's doc); None: do not store.
    """
    if _unretired:
        _forget([])  # changes made while the cache was away, before anything is read
    version_key = _version_key(author_id)
    try:
        found = cache.get_many([version_key, key])
        version, entry = found.get(version_key), found.get(key)
        if version is not None and entry is not None and entry[0] == version:
            return entry[1], version
        return _MISSING, version or _new_version(version_key)
    except CacheUnavailable:
        return _MISSING, None
    except Exception:
        logger.exception("page cache unavailable; reading %s live", key)
        return _MISSING, None


def _lookup(author_id: int, key: str) -> tuple[Any, str | None]:
    """As _read, from this process's own copy first (kept a second, see _local)."""
    entry = _local_get(key)
    if entry is not _MISSING:
        return entry, None
    entry, version = _read(author_id, key)
    if entry is not _MISSING:
        _local_put(key, author_id, entry)
    return entry, version


def _write(key: str, version: str, value: Any) -> None:
    try:
        cache.set(key, (version, value), settings.PAGE_CACHE_SECONDS)
    except CacheUnavailable:
        pass
    except Exception:
        logger.exception("could not cache %s", key)


T = TypeVar("T")


def author_cached(*, author_id: int, name: str, compute: Callable[[], T]) -> T:
    """A value made from one author's records, kept until their pages are retired.

    For what every visitor's page shows the same (e.g. topic counts), so that
    a page built live skips the costly reads too.
    """
    key = f"pages:{author_id}:data:{name}"
    value, version = _read(author_id, key)
    if value is not _MISSING:
        return cast(T, value)
    value = compute()
    if version is not None:
        _write(key, version, value)
    return cast(T, value)


# The parameters that make a distinct page, in a canonical form; None: the live page.
Normalise = Callable[[QueryDict], list[tuple[str, str]] | None]


@dataclass(frozen=True)
class _Options:
    params: tuple[str, ...]
    bypass: Callable[[HttpRequest], bool] | None
    normalise: Normalise | None = None


OPTIONS_ATTRIBUTE = "anonymous_page_cache"


def anonymous_page_cache(
    *,
    params: tuple[str, ...] = (),
    bypass: Callable[[HttpRequest], bool] | None = None,
    normalise: Normalise | None = None,
) -> Callable[[AuthorView], AuthorView]:
    """Mark a view of one author's public page (it takes `author_id`) as shared.

    AnonymousPageCacheMiddleware then answers anonymous visitors from the
    cache. params: the query parameters the page reads (any other parameter,
    or a repeated one, gets the live page). bypass: the requests that always
    get the live page (e.g. polls answered with 286). normalise: the
    parameters (only those of `params`, each given once) in a canonical form,
    so that "?sort=newest" and "?sort=" share the page they both show, or None
    for values the page will not show as given (e.g. invalid ones): those get
    the live page, and junk makes no entries. The view keeps a
    response out of the cache by marking it `private` or `no-store`
    (django.utils.cache.add_never_cache_headers).
    """

    def decorate(view: AuthorView) -> AuthorView:
        # functools.wraps carries the mark up through the other decorators.
        setattr(
            view, OPTIONS_ATTRIBUTE, _Options(params=params, bypass=bypass, normalise=normalise)
        )
        return view

    return decorate


class AnonymousPageCacheMiddleware:
    """Serve marked views to anonymous visitors from the cache, before the rest of the stack.

    Sits right after WhiteNoise: a hit skips sessions, CSRF, authentication,
    messages and the view, none of which an anonymous visitor without
    cookies needs, and costs one cache round trip. The entry keeps the headers
    the whole stack gave the response it was made from (X-Frame-Options,
    Vary, Content-Length). A miss goes through the stack as usual and is
    stored on its way out if it is shareable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        target = _target(request)
        if target is None:
            return self.get_response(request)
        options, author_id = target
        skip = options.bypass is not None and options.bypass(request)
        key = None if skip else _shared_request_key(request, author_id, options)
        if key is None:
            response = self.get_response(request)
            patch_cache_control(response, private=True)
            return response
        entry, version = _lookup(author_id, key)
        if entry is not _MISSING:
            return HttpResponse(entry[0], headers=entry[1])
        response = self.get_response(request)
        if version is not None and _is_shareable(request, response):
            _shared(response)
            _write(key, version, _entry(response))
        return response


def _target(request: HttpRequest) -> tuple[_Options, int] | None:
    """The marked view and author this GET (or HEAD) asks for; None for any other request.

    HEAD shares GET's entries: the server drops the body, the headers are the same.
    """
    if request.method not in ("GET", "HEAD"):
        return None
    return _resolve_target(settings.ROOT_URLCONF, request.path_info)


@functools.lru_cache(maxsize=4096)
def _resolve_target(urlconf: str, path: str) -> tuple[_Options, int] | None:
    # Cached: resolving costs as much again as the rest of a hit's own work,
    # and the URLconf does not change while the process runs.
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    options = getattr(match.func, OPTIONS_ATTRIBUTE, None)
    if options is None or "author_id" not in match.kwargs:
        return None
    return options, int(match.kwargs["author_id"])


# Signed-in visitors: the shared page with their own parts filled in.
#
# A signed-in visitor's page differs from the anonymous one only in a few
# marked parts (the header's account links, the follow button, the claim and
# invitation panels, their messages). Templates wrap each such part in
# <!--personal:NAME--> ... <!--/personal:NAME-->; the view renders only those
# parts for the visitor and puts them into the shared page, which comes from
# the same entry anonymous visitors get (built by this request, as an
# anonymous visitor would get it, when there is none). Facts the parts need
# and that are the same for everyone (the claim's state, the follower count)
# travel in the entry, so they are read under the same version as the page.


@dataclass(frozen=True)
class SharedPage:
    content: bytes
    headers: dict[str, str]
    facts: Any


def _anonymous_copy(request: HttpRequest) -> HttpRequest:
    """The same GET as an anonymous visitor without cookies would send it."""
    from django.contrib.auth.models import AnonymousUser
    from django_htmx.middleware import HtmxDetails

    anonymous = HttpRequest()
    anonymous.method = "GET"
    anonymous.path, anonymous.path_info = request.path, request.path_info
    anonymous.GET = request.GET.copy()
    anonymous.META = {
        name: value
        for name, value in request.META.items()
        if name not in ("HTTP_COOKIE", "CSRF_COOKIE", "CSRF_COOKIE_NEEDS_UPDATE")
    }
    anonymous.META["REQUEST_METHOD"] = "GET"
    anonymous.resolver_match = request.resolver_match
    anonymous.user = AnonymousUser()  # type: ignore[attr-defined]
    anonymous.htmx = HtmxDetails(anonymous)  # type: ignore[attr-defined]
    return anonymous


def shared_page(
    request: HttpRequest, *, author_id: int, build: Callable[[HttpRequest], HttpResponse]
) -> SharedPage | None:
    """The page anonymous visitors get at this request's URL; None when it is not shared.

    build(anonymous_request) makes it on a miss. Only views whose responses
    need no response middleware but those outside AnonymousPageCacheMiddleware
    may call this: the entry stored here is served to anonymous visitors as is.
    """
    target = _target(request)
    if target is None:
        return None
    options, _ = target
    key = _page_key(request, author_id, options)
    if key is None:
        return None
    entry, version = _lookup(author_id, key)
    if entry is _MISSING:
        anonymous = _anonymous_copy(request)
        response = build(anonymous)
        if not _is_shareable(anonymous, response):
            return None
        _shared(response)
        # What CommonMiddleware would have added on the way out.
        response.headers["Content-Length"] = str(len(response.content))
        entry = _entry(response)
        if version is not None:
            _write(key, version, entry)
    body, headers, facts = entry
    return SharedPage(content=body, headers=headers, facts=facts)


# A personal part's marks: <!--personal:NAME--> before it, <!--/personal:NAME--> after.
_MARK = re.compile(rb"<!--(/?)personal:([A-Za-z0-9_-]+)-->")


def personalise(content: bytes, parts: dict[str, str]) -> bytes | None:
    """The page with each marked part replaced; None if a part is not marked exactly once.

    One pass over the page for every mark (a researcher's page is some 80 KB):
    two searches a part cost twice as long.
    """
    starts: dict[bytes, list[int]] = {}
    ends: dict[bytes, list[int]] = {}
    for mark in _MARK.finditer(content):
        table = ends if mark.group(1) else starts
        table.setdefault(mark.group(2), []).append(mark.start() if mark.group(1) else mark.end())
    spans = []
    for name, html in parts.items():
        key = name.encode()
        opened, closed = starts.get(key, []), ends.get(key, [])
        if len(opened) != 1 or len(closed) != 1 or closed[0] < opened[0]:
            return None
        spans.append((opened[0], closed[0], html))
    pieces: list[bytes] = []
    position = 0
    for start, end, html in sorted(spans):
        if start < position:
            return None  # overlapping parts
        pieces += [content[position:start], html.encode()]
        position = end
    pieces.append(content[position:])
    return b"".join(pieces)


def render_parts(
    request: HttpRequest, parts: dict[str, str], context: dict[str, Any]
) -> dict[str, str]:
    """Render several template partials ("page.html#part") under one request context.

    One context for all: the context processors run once, not once a part.
    """
    from django.template import RequestContext, engines

    engine = engines["django"]
    templates = {name: engine.get_template(path).template for name, path in parts.items()}  # type: ignore[attr-defined]
    # Pushed above the context processors' values, as render() does: the view's win.
    request_context = RequestContext(request)
    request_context.push(context)
    first = next(iter(templates.values()))
    with request_context.bind_template(first):
        return {name: template.render(request_context) for name, template in templates.items()}
