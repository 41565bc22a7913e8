"""Fetch works from the arXiv API by id and import them.

`GET http://export.arxiv.org/api/query?id_list=ID,ID,...&max_results=N` answers
an Atom feed with the latest version of each id. Ids go in batches of
BATCH_SIZE, and requests are spaced at least REQUEST_INTERVAL seconds apart, as
arXiv's terms of use ask ("no more than one request every three seconds").
429, 5xx and timeouts are retried (works.api_retry) with a growing wait never
shorter than the interval; an unreachable API raises ArxivUnavailable at once.
Each feed goes through works.importers.arxiv, the same path as a file.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from urllib.parse import urlencode

import httpx
from django.conf import settings

from works import identifiers
from works.api_retry import get_with_retries
from works.importers import ImportProblem, ImportStats
from works.importers.arxiv import import_arxiv_feeds

DEFAULT_API_URL = "http://export.arxiv.org/api/query"
BATCH_SIZE = 100
REQUEST_INTERVAL = 3.0


class ArxivError(Exception):
    """The arXiv API did not give the feed; the message says why."""


class ArxivUnavailable(ArxivError):
    pass


class ArxivClient:
    """A thin arXiv API client: spaced GETs with retries; substitute `http` in tests."""

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        base_url: str | None = None,
        max_attempts: int = 5,
        interval: float = REQUEST_INTERVAL,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url or getattr(settings, "ARXIV_API_URL", "") or DEFAULT_API_URL
        self.http = http or httpx.Client(timeout=60.0, follow_redirects=True)
        self.max_attempts = max_attempts
        self.interval = interval
        self.sleep = sleep
        self.clock = clock
        self._last_request: float | None = None

    def query_url(self, ids: Sequence[str]) -> str:
        return f"{self.base_url}?{urlencode({'id_list': ','.join(ids), 'max_results': len(ids)})}"

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            wait = self._last_request + self.interval - self.clock()
            if wait > 0:
                self.sleep(wait)

    def feed(self, ids: Sequence[str]) -> bytes:
        """The Atom feed of these ids (bare, without versions), as bytes."""
        url = self.query_url(ids)
        self._wait_turn()
        try:
            response, attempt = get_with_retries(
                self.http,
                url,
                headers={"User-Agent": "BZPEER/0.1 (researcher profiles; import_arxiv)"},
                max_attempts=self.max_attempts,
                backoff=self.interval,
                min_delay=self.interval,
                sleep=self.sleep,
                service=f"the arXiv API at {self.base_url}",
                unavailable=ArxivUnavailable,
            )
        finally:
            # Retries are spaced by their own waits; the next feed waits its turn after this.
            self._last_request = self.clock()
        if response.status_code != 200:
            tried = f" after {attempt} attempts" if attempt > 1 else ""
            raise ArxivError(
                f"The arXiv API answered {response.status_code}{tried} for {url}: "
                f"{response.text[:200]}"
            )
        return response.content


def normalise_ids(raw_ids: Sequence[str]) -> list[str]:
    """arXiv ids in any form (versioned, URL, arXiv: prefix, arXiv DOI) -> bare, in order,
    each once; ArxivError names every one that is not an arXiv id."""
    ids: dict[str, None] = {}
    bad = []
    for raw in raw_ids:
        try:
            bare = identifiers.arxiv_id(raw)
        except ValueError:
            bare = ""
        if bare:
            ids[bare] = None
        else:
            bad.append(repr(raw))
    if bad:
        raise ArxivError(
            f"Not arXiv ids: {', '.join(bad)} (give e.g. 1501.05039, 1501.05039v2 "
            "or quant-ph/0210005)"
        )
    return list(ids)


def import_arxiv_ids(
    raw_ids: Sequence[str], *, client: ArxivClient | None = None, strict: bool = False
) -> ImportStats:
    """Fetch these arXiv ids, BATCH_SIZE a request, and import them."""
    ids = normalise_ids(raw_ids)
    client = client or ArxivClient()
    batches = [ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]

    def feeds() -> Iterator[tuple[str, bytes]]:
        for batch in batches:
            yield client.query_url(batch), client.feed(batch)

    stats, came = import_arxiv_feeds(feeds(), strict=strict)
    for batch in batches:
        for arxiv_id in batch:
            if arxiv_id not in came and not stats.failed_paths:
                stats.add_problem(
                    ImportProblem(client.query_url(batch), arxiv_id, "arXiv sent no entry for it")
                )
    return stats
