from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest

from bzpeer import staff
from works.forms import QUERY_MAX_LENGTH


def site(request: HttpRequest) -> dict[str, str | int | Callable[[], bool]]:
    return {
        "site_name": settings.SITE_NAME,
        # Every search box (the header's, the home page's) takes what the search accepts.
        "search_max_length": QUERY_MAX_LENGTH,
        # What only reviewers see (risk flags, reviewers' addresses) follows the
        # staff pages' own rule, second factor included. A callable, so that a
        # page that never asks costs no query.
        "staff_verified": lambda: staff.staff_access(request) is staff.StaffAccess.GRANTED,
    }
