from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from profiles.collaboration import selectors


def inbox(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """The header's unread count: a callable, so a page that does not show it costs no query."""
    answer: list[int] = []

    def unread_count() -> int:
        if not answer:
            user: AbstractBaseUser = request.user  # type: ignore[assignment]  # signed in: the header asks only then
            answer.append(selectors.unread_count(user=user))
        return answer[0]

    return {"inbox_unread": unread_count}
