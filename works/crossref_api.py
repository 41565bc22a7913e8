"""Fetch works from the Crossref REST API and import them.

`GET https://api.crossref.org/works/{doi}` for a DOI; `GET /works?query=...`
for a search, paged with a cursor (`cursor=*`, then each answer's
`next-cursor`) up to a number of pages. Every request asks for Crossref's
"polite" pool: a contact address in the User-Agent and in the `mailto`
parameter (CROSSREF_MAILTO, or --mailto). 429, 5xx and timeouts are retried
(works.api_retry); an unreachable API raises CrossrefUnavailable at once.

Crossref's own error bodies (`"status": "failed"`: `resource-failure`,
`validation-failure`) and a DOI it does not know are problems of that DOI or
query, named by its URL; the responses go through works.importers.crossref,
the same path as files.
"""

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from works import identifiers
from works.api_retry import get_with_retries
from works.importers import ImportStats
from works.importers.common import FetchFailed
from works.importers.crossref import import_crossref_documents
from works.importers.crossref_records import failure_text

DEFAULT_API_URL = "https://api.crossref.org"
DEFAULT_ROWS = 100
DEFAULT_MAX_PAGES = 10


class CrossrefError(Exception):
    """The Crossref API did not give what was asked; the message says why."""


class CrossrefUnavailable(CrossrefError):
    pass


class CrossrefClient:
    """A thin Crossref REST API client; substitute `http` in tests."""

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        base_url: str | None = None,
        mailto: str | None = None,
        rows: int = DEFAULT_ROWS,
        max_attempts: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (
            base_url or getattr(settings, "CROSSREF_API_URL", "") or DEFAULT_API_URL
        ).rstrip("/")
        self.mailto = str(mailto or getattr(settings, "CROSSREF_MAILTO", "") or "").strip()
        if not self.mailto or "@" not in self.mailto:
            raise CrossrefError(
                "Crossref's polite pool needs a contact address: set CROSSREF_MAILTO "
                "or give --mailto ADDRESS."
            )
        self.http = http or httpx.Client(timeout=30.0)
        self.rows = rows
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.sleep = sleep
        self.pages_fetched = 0
        self.more_pages = False  # the last query stopped at its page cap

    def work_url(self, doi: str) -> str:
        return f"{self.base_url}/works/{quote(doi, safe='/')}"

    def _get(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        response, attempts = get_with_retries(
            self.http,
            url,
            headers={
                "Accept": "application/json",
                "User-Agent": f"BZPEER/0.1 (mailto:{self.mailto})",
            },
            params={**params, "mailto": self.mailto},
            max_attempts=self.max_attempts,
            backoff=self.backoff,
            sleep=self.sleep,
            service=f"the Crossref API at {self.base_url}",
            unavailable=CrossrefUnavailable,
        )
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("status") == "failed":
            raise CrossrefError(f"{failure_text(data)} ({response.status_code}, {url})")
        if response.status_code == 404:
            raise CrossrefError(f"Crossref has no such work: {url}")
        if response.status_code != 200:
            tried = f" after {attempts} attempts" if attempts > 1 else ""
            raise CrossrefError(
                f"The Crossref API answered {response.status_code}{tried} for {url}: "
                f"{response.text[:200]}"
            )
        if not isinstance(data, dict):
            raise CrossrefError(f"The Crossref API answered with something not JSON: {url}")
        return data

    def work(self, doi: str) -> dict[str, Any]:
        """The `work` response for a DOI, which must be normalised already."""
        return self._get(self.work_url(doi), {})

    def query_pages(
        self, query: str, *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> Iterator[tuple[str, dict[str, Any] | FetchFailed]]:
        """The `work-list` pages of a search, following next-cursor up to max_pages."""
        url = f"{self.base_url}/works"
        cursor = "*"
        self.pages_fetched = 0
        self.more_pages = False
        for page in range(1, max_pages + 1):
            name = f"{url}?query={query!r} page {page}"
            try:
                data = self._get(url, {"query": query, "rows": str(self.rows), "cursor": cursor})
            except CrossrefUnavailable:
                raise
            except CrossrefError as error:
                yield name, FetchFailed(str(error))
                return
            self.pages_fetched = page
            yield name, data
            message = data.get("message")
            items = message.get("items") if isinstance(message, dict) else None
            next_cursor = message.get("next-cursor") if isinstance(message, dict) else None
            if not items or not isinstance(next_cursor, str) or not next_cursor:
                return
            if len(items) < self.rows:
                return  # a short page is the last one
            cursor = next_cursor
        self.more_pages = True


def _work_documents(
    client: CrossrefClient, dois: Iterable[str]
) -> Iterator[tuple[str, dict[str, Any] | FetchFailed]]:
    for doi in dois:
        url = client.work_url(doi)
        try:
            yield url, client.work(doi)
        except CrossrefUnavailable:
            raise
        except CrossrefError as error:
            yield url, FetchFailed(str(error))


def normalised_dois(dois: Iterable[str]) -> list[str]:
    """The DOIs in bare form, each once; CrossrefError names one that is not a DOI."""
    out: dict[str, None] = {}
    for raw in dois:
        try:
            doi = identifiers.doi(raw)
        except ValueError as error:
            raise CrossrefError(str(error)) from None
        if doi:
            out[doi] = None
    if not out:
        raise CrossrefError("Give a DOI, e.g. 10.1371/journal.pone.0020476.")
    return list(out)


def import_crossref_dois(
    dois: Iterable[str], *, client: CrossrefClient | None = None, strict: bool = False
) -> ImportStats:
    """Fetch each DOI's work (any form: bare, doi:, https://doi.org/) and import it."""
    wanted = normalised_dois(dois)
    client = client or CrossrefClient()
    return import_crossref_documents(_work_documents(client, wanted), strict=strict)


def import_crossref_query(
    query: str,
    *,
    client: CrossrefClient | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    strict: bool = False,
) -> ImportStats:
    """Import the works a Crossref search finds, page by page (each in its own
    transaction unless strict), up to max_pages pages."""
    if not query.strip():
        raise CrossrefError("Give a search, e.g. --query 'ecological forecasting'.")
    client = client or CrossrefClient()
    return import_crossref_documents(
        client.query_pages(query.strip(), max_pages=max_pages), strict=strict
    )
