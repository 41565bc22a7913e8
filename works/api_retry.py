"""GET from a public API with retries: what the ORCID, Crossref and arXiv clients share.

429, 5xx and timeouts are retried with exponential backoff, honouring
Retry-After (seconds or an HTTP date, at most MAX_RETRY_DELAY), never sooner
than an API's minimum spacing between requests (arXiv's 3 s); an unreachable
host fails at once, since waiting would not bring it back.
"""

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

import httpx

MAX_RETRY_DELAY = 60.0
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_delay(
    attempt: int, retry_after: str | None, *, backoff: float, min_delay: float = 0.0
) -> float:
    """Seconds to wait before attempt + 1: Retry-After where given, else backoff
    doubling; never less than min_delay."""
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(retry_after).timestamp() - time.time()
            except (TypeError, ValueError):
                seconds = 0.0
        if seconds > 0:
            return min(max(seconds, min_delay), MAX_RETRY_DELAY)
    return min(max(backoff * 2 ** (attempt - 1), min_delay), MAX_RETRY_DELAY)


def get_with_retries(
    http: httpx.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    max_attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
    service: str,
    unavailable: type[Exception],
    min_delay: float = 0.0,
) -> tuple[httpx.Response, int]:
    """The last response and how many attempts it took; `unavailable(message)` is
    raised when the host cannot be reached or every attempt timed out."""
    for attempt in range(1, max_attempts + 1):
        try:
            # params=None, not {}: httpx replaces a URL's own query with any params given.
            response = http.get(
                url, headers=dict(headers), params=dict(params) if params is not None else None
            )
        except httpx.ConnectError as error:
            raise unavailable(f"Cannot reach {service}: are you offline? ({error})") from error
        except httpx.TimeoutException as error:
            if attempt == max_attempts:
                raise unavailable(f"{service} timed out {max_attempts} times ({url})") from error
            sleep(retry_delay(attempt, None, backoff=backoff, min_delay=min_delay))
            continue
        if response.status_code in RETRIED_STATUSES and attempt < max_attempts:
            retry_after = response.headers.get("Retry-After")
            sleep(retry_delay(attempt, retry_after, backoff=backoff, min_delay=min_delay))
            continue
        return response, attempt
    raise AssertionError("unreachable: the last attempt returns or raises")
