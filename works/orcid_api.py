"""Fetch a person's record from the ORCID public API (v3.0) and import it.

`GET https://pub.orcid.org/v3.0/{iD}/record` with `Accept: application/json`
(without it ORCID answers XML). The record goes through
works.importers.orcid.import_orcid_document, the same path as a file. 429,
5xx and timeouts are retried with exponential backoff, honouring Retry-After;
an unreachable API raises OrcidUnavailable at once.
"""

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings

from works import identifiers
from works.importers import ImportStats
from works.importers.orcid import import_orcid_document

DEFAULT_API_URL = "https://pub.orcid.org/v3.0"
MAX_RETRY_DELAY = 60.0
RETRIED_STATUSES = {429, 500, 502, 503, 504}


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
        headers = {"Accept": "application/json", "User-Agent": "BZPEER/0.1"}
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.http.get(url, headers=headers)
            except httpx.ConnectError as error:
                raise OrcidUnavailable(
                    f"Cannot reach the ORCID API at {self.base_url}: are you offline? ({error})"
                ) from error
            except httpx.TimeoutException as error:
                if attempt == self.max_attempts:
                    raise OrcidUnavailable(
                        f"The ORCID API timed out {self.max_attempts} times ({url})"
                    ) from error
                self.sleep(self._delay(attempt, None))
                continue
            if response.status_code in RETRIED_STATUSES and attempt < self.max_attempts:
                self.sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            return self._json(response, url=url, attempts=attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                seconds = float(retry_after)
            except ValueError:
                try:
                    seconds = parsedate_to_datetime(retry_after).timestamp() - time.time()
                except (TypeError, ValueError):
                    seconds = 0.0
            if seconds > 0:
                return min(seconds, MAX_RETRY_DELAY)
        return min(self.backoff * 2 ** (attempt - 1), MAX_RETRY_DELAY)

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
