from typing import Any

from django import template

from profiles.signals import pending_follow
from works.models import Author

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_follow_author(context: dict[str, Any]) -> Author | None:
    """The researcher this visitor will follow once logged in (the log-in and sign-up pages)."""
    request = context.get("request")
    if request is None or request.user.is_authenticated:
        return None
    return pending_follow(request)
