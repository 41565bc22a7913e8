"""Pages that show claim evidence, staff data or account details are never stored.

A browser's back-forward and disk caches and any proxy on the way would
otherwise keep a claimant's evidence, the staff queue or an account page
after the person has logged out (a shared computer). One list, by URL name,
decides which pages those are; every response they give, whatever the
method or status, is marked `private, no-store` (with Django's
add_never_cache_headers, which also says no-cache and max-age=0).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch
from django.utils.cache import add_never_cache_headers

# The site's own pages: the claim form and its email steps, a claim's status
# page, the owner's profile editor, list of followers and ORCID imports, and
# the staff queue and decisions.
PRIVATE_URL_NAMES = frozenset(
    {
        "profiles:claim_start",
        "profiles:claim_email_send",
        "profiles:claim_email_verify",
        "profiles:claim_detail",
        "profiles:claim_withdraw",
        "profiles:profile_edit",
        "profiles:followers",
        "profiles:orcid_import",
        "profiles:authorship_status",
        "profiles:staff_claims",
        "profiles:staff_claim_detail",
        "profiles:staff_claim_decide",
    }
)
# Every page of the Django admin.
PRIVATE_NAMESPACES = frozenset({"admin"})
# Every page of allauth (log-in, sign-up, email addresses, passwords,
# ORCID), whatever its URL name: its URLs are not namespaced.
PRIVATE_VIEW_MODULES = ("allauth.",)


def is_private(match: ResolverMatch) -> bool:
    return (
        match.view_name in PRIVATE_URL_NAMES
        or bool(PRIVATE_NAMESPACES.intersection(match.namespaces))
        or match.func.__module__.startswith(PRIVATE_VIEW_MODULES)
    )


class PrivatePagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Set once the URL is resolved; absent for answers given before that.
        match = getattr(request, "resolver_match", None)
        if match is not None and is_private(match):
            add_never_cache_headers(response)
        return response
