from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest

from bzpeer import staff


def site(request: HttpRequest) -> dict[str, str | Callable[[], bool]]:
    return {
        "site_name": settings.SITE_NAME,
        # What only reviewers see (risk flags, reviewers' addresses) follows the
        # staff pages' own rule, second factor included. A callable, so that a
        # page that never asks costs no query.
        "staff_verified": lambda: staff.staff_access(request) is staff.StaffAccess.GRANTED,
    }
