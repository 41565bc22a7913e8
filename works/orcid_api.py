"""Fetch a person's record from the ORCID public API (v3.0) and import it.

`GET https://pub.orcid.org/v3.0/{iD}/record` with `Accept: application/json`
(without it ORCID answers XML). The record goes through
works.importers.orcid.import_orcid_document, the same path as a file. 429,
5xx and timeouts are retried (works.api_retry); an unreachable API raises
OrcidUnavailable at once.
"""

import time
from collections.abc import Callable
from typing import Any

import httpx
from django.conf import settings

from works import identifiers
from works.api_retry import get_with_retries
from works.importers import ImportStats
from works.importers.orcid import import_orcid_document

DEFAULT_API_URL = "https://pub.orcid.org/v3.0"


class OrcidError(Exception):
    """The ORCID API did not give the record; the message says why."""


class OrcidUnavailable(OrcidError):
    pass


class OrcidNotFound(OrcidError):
    pass


class OrcidClient:
    """A thin ORCID public API client: GET with retries; substitute `http` in tests."""

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        base_url: str | None = None,
        max_attempts: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (
            base_url or getattr(settings, "ORCID_API_URL", "") or DEFAULT_API_URL
        ).rstrip("/")
        self.http = http or httpx.Client(timeout=30.0)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.sleep = sleep

    def record_url(self, orcid: str) -> str:
        return f"{self.base_url}/{orcid}/record"

    def record(self, orcid: str) -> dict[str, Any]:
        """The v3.0 record of an ORCID iD, which must be normalised already."""
        url = self.record_url(orcid)
        response, attempts = get_with_retries(
            self.http,
            url,
            headers={"Accept": "application/json", "User-Agent": "BZPEER/0.1"},
            max_attempts=self.max_attempts,
            backoff=self.backoff,
            sleep=self.sleep,
            service=f"the ORCID API at {self.base_url}",
            unavailable=OrcidUnavailable,
        )
        return self._json(response, url=url, attempts=attempts)

    def _json(self, response: httpx.Response, *, url: str, attempts: int) -> dict[str, Any]:
        if response.status_code == 404:
            raise OrcidNotFound(f"ORCID has no such record: {url}")
        if response.status_code != 200:
            tried = f" after {attempts} attempts" if attempts > 1 else ""
            raise OrcidError(
                f"The ORCID API answered {response.status_code}{tried} for {url}: "
                f"{response.text[:200]}"
            )
        try:
            data = response.json()
        except ValueError:
            raise OrcidError(f"The ORCID API answered with something not JSON: {url}") from None
        if not isinstance(data, dict):
            raise OrcidError(f"The ORCID API answered with an unexpected shape: {url}")
        return data


def import_orcid_id(
    orcid: str, *, client: OrcidClient | None = None, strict: bool = False
) -> ImportStats:
    """Fetch the record of an ORCID iD (any form: bare, URL) and import it."""
    try:
        bare = identifiers.orcid(orcid)
    except ValueError as error:
        raise OrcidError(str(error)) from None
    if not bare:
        raise OrcidError("Give an ORCID iD, e.g. 0000-0002-1825-0097.")
    client = client or OrcidClient()
    return import_orcid_document(
        client.record(bare), source_name=client.record_url(bare), strict=strict
    )
