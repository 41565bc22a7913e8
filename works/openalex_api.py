"""Fetch authors and their works from the OpenAlex API.

Fetched entities go through works.importers.import_entities, the same path as
files. Requests carry `mailto` (OpenAlex's polite pool) and a User-Agent;
429, 5xx and timeouts are retried with exponential backoff, honouring
Retry-After; an unreachable API raises OpenAlexUnavailable at once, since
retrying will not bring a network back.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from works import identifiers
from works.api_retry import RETRIED_STATUSES, retry_delay
from works.importers import ImportStats, import_entities

PER_PAGE = 200  # OpenAlex's maximum
# Only what the importer reads: pages are several times smaller.
WORK_FIELDS = (
    "id,doi,title,display_name,publication_year,publication_date,language,type,"
    "primary_location,locations,authorships,cited_by_count,primary_topic,topics,"
    "abstract_inverted_index"
)


class OpenAlexError(Exception):
    """The OpenAlex API did not give what was asked for; the message says why."""


class OpenAlexUnavailable(OpenAlexError):
    pass


class OpenAlexNotFound(OpenAlexError):
    pass


@dataclass(frozen=True)
class AuthorCandidate:
    openalex_id: str
    display_name: str
    orcid: str
    institution: str
    works_count: int


class OpenAlexClient:
    """A thin OpenAlex API client: GET with retries; substitute `http` in tests."""

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        base_url: str | None = None,
        mailto: str | None = None,
        max_attempts: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or settings.OPENALEX_API_URL).rstrip("/")
        self.mailto = mailto if mailto is not None else settings.OPENALEX_MAILTO
        self.http = http or httpx.Client(timeout=30.0)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.sleep = sleep

    def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        query = {**(params or {}), "mailto": self.mailto}
        headers = {"User-Agent": f"BZPEER/0.1 (mailto:{self.mailto})"}
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.http.get(url, params=query, headers=headers)
            except httpx.ConnectError as error:
                raise OpenAlexUnavailable(
                    f"Cannot reach the OpenAlex API at {self.base_url}: are you offline? ({error})"
                ) from error
            except httpx.TimeoutException as error:
                if attempt == self.max_attempts:
                    raise OpenAlexUnavailable(
                        f"The OpenAlex API at {self.base_url} timed out "
                        f"{self.max_attempts} times ({url})"
                    ) from error
                self.sleep(retry_delay(attempt, None, backoff=self.backoff))
                continue
            if response.status_code in RETRIED_STATUSES and attempt < self.max_attempts:
                self.sleep(
                    retry_delay(attempt, response.headers.get("Retry-After"), backoff=self.backoff)
                )
                continue
            return self._json(response, attempts=attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _json(self, response: httpx.Response, *, attempts: int) -> dict[str, Any]:
        url = str(response.request.url.copy_remove_param("mailto"))
        if response.status_code == 404:
            raise OpenAlexNotFound(f"OpenAlex has no such record: {url}")
        if response.status_code != 200:
            tried = f" after {attempts} attempts" if attempts > 1 else ""
            raise OpenAlexError(
                f"The OpenAlex API answered {response.status_code}{tried} for {url}: "
                f"{response.text[:200]}"
            )
        try:
            data = response.json()
        except ValueError:
            raise OpenAlexError(
                f"The OpenAlex API answered with something not JSON: {url}"
            ) from None
        if not isinstance(data, dict):
            raise OpenAlexError(f"The OpenAlex API answered with an unexpected shape: {url}")
        return data


def author_path(author: str) -> str:
    """The API path of an author given as an ORCID iD (any form) or an OpenAlex author id."""
    try:
        orcid = identifiers.orcid(author)
    except ValueError:
        orcid = ""
    if orcid:
        return f"/authors/orcid:{orcid}"
    try:
        openalex_id = identifiers.openalex_id(author)
    except ValueError:
        openalex_id = ""
    if not openalex_id.startswith("A"):
        raise OpenAlexError(f"Not an ORCID iD or an OpenAlex author id: {author!r}")
    return f"/authors/{openalex_id}"


def fetch_author_works(
    author: str, *, client: OpenAlexClient | None = None
) -> Iterator[dict[str, Any]]:
    """The author entity, then each of their works, fetched page by page as consumed."""
    client = client or OpenAlexClient()
    entity = client.get(author_path(author))
    yield entity
    try:
        author_id = identifiers.openalex_id(entity.get("id"))
    except ValueError:
        author_id = ""
    if not author_id:
        raise OpenAlexError(f"The OpenAlex API returned an author without an id for {author!r}")
    cursor: str | None = "*"
    while cursor:
        page = client.get(
            "/works",
            {
                "filter": f"author.id:{author_id}",
                "per-page": str(PER_PAGE),
                "cursor": cursor,
                "select": WORK_FIELDS,
            },
        )
        results = page.get("results") or []
        yield from results
        meta = page.get("meta") or {}
        cursor = meta.get("next_cursor") if results else None


def import_author(
    author: str,
    *,
    client: OpenAlexClient | None = None,
    strict: bool = False,
    batch_size: int = 500,
) -> ImportStats:
    """Fetch an author and all their works from OpenAlex and import them."""
    client = client or OpenAlexClient()
    return import_entities(
        fetch_author_works(author, client=client),
        source_name=f"{client.base_url}{author_path(author)}",
        strict=strict,
        batch_size=batch_size,
    )


def search_authors(
    name: str, *, client: OpenAlexClient | None = None, limit: int = 10
) -> list[AuthorCandidate]:
    """Authors whose name matches, best first, as OpenAlex ranks them."""
    client = client or OpenAlexClient()
    page = client.get("/authors", {"search": name, "per-page": str(limit)})
    candidates = []
    for entity in page.get("results") or []:
        if not isinstance(entity, dict):
            continue
        institutions = entity.get("last_known_institutions") or []
        first = institutions[0] if institutions and isinstance(institutions[0], dict) else {}
        try:
            openalex_id = identifiers.openalex_id(entity.get("id"))
        except ValueError:
            continue
        try:
            orcid = identifiers.orcid(entity.get("orcid"))
        except ValueError:
            orcid = ""
        candidates.append(
            AuthorCandidate(
                openalex_id=openalex_id,
                display_name=str(entity.get("display_name") or ""),
                orcid=orcid,
                institution=str(first.get("display_name") or ""),
                works_count=int(entity.get("works_count") or 0),
            )
        )
    return candidates
