"""Fixed-window rate limits on actions (claims, ...), per account and per IP, in Django's cache.

Rules read like allauth's ACCOUNT_RATE_LIMITS ("5/h/user,20/h/ip": at most 5
an hour per account and 20 an hour per IP) and live in
settings.RATE_LIMITS. Every attempt counts, refused ones too, so
hammering a limit never opens it.
"""

import re
import time
from dataclasses import dataclass

from allauth.core.internal.ratelimit import get_ip
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RULE = re.compile(r"^(\d+)/(\d*)([smhd])/(user|ip)$")


@dataclass(frozen=True)
class Rule:
    amount: int
    seconds: int
    per: str  # "user" or "ip"


def parse_rules(spec: str) -> list[Rule]:
    rules = []
    for part in spec.split(","):
        match = _RULE.match(part.strip())
        if not match:
            raise ValueError(f"bad rate limit rule {part!r}: write e.g. 5/h/user or 20/10m/ip")
        amount, count, unit, per = match.groups()
        rules.append(Rule(int(amount), int(count or 1) * _PERIODS[unit], per))
    return rules


def client_address(request: HttpRequest) -> str:
    """The address rate limits count, the same one allauth's limits count.

    The connection's, or behind trusted proxies the one they forwarded
    (ALLAUTH_TRUSTED_PROXY_COUNT, from the TRUSTED_PROXY_COUNT variable); an
    IPv6 address stands for its /64, which one client can fill.
    """
    return get_ip(request)


def limit_exceeded(request: HttpRequest, *, action: str) -> bool:
    """Count one attempt at `action`; True when any of its limits is now passed."""
    exceeded = False
    for rule in parse_rules(settings.RATE_LIMITS[action]):
        who = f"user:{request.user.pk}" if rule.per == "user" else f"ip:{client_address(request)}"
        window = int(time.time()) // rule.seconds
        key = f"claims-rl:{action}:{rule.seconds}:{who}:{window}"
        cache.add(key, 0, timeout=rule.seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this is the first attempt
            cache.set(key, 1, timeout=rule.seconds)
            count = 1
        exceeded = exceeded or count > rule.amount
    return exceeded
