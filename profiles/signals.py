"""Finish a follow that an anonymous visitor started before logging in."""

from typing import Any

from allauth.account.signals import user_logged_in
from django.contrib import messages
from django.dispatch import receiver
from django.http import HttpRequest

from profiles import services
from works.models import Author

PENDING_FOLLOW_SESSION_KEY = "pending_follow_author_id"


@receiver(user_logged_in)
def complete_pending_follow(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    author_id = request.session.pop(PENDING_FOLLOW_SESSION_KEY, None)
    if author_id is None:
        return
    author = Author.objects.filter(pk=author_id).first()
    if author is None:
        return
    services.follow_set(user=user, author=author, following=True)
    messages.success(request, f"You now follow {author.display_name}.")
