import re

from django import template
from django.utils.html import linebreaks, urlize
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_LINK = re.compile(r'<a href="')


@register.filter
def plain_text(value: str) -> SafeString:
    """A person's plain text as HTML: everything escaped, links clickable, paragraphs kept.

    urlize escapes the text around the links it makes (autoescape=True); its
    links get rel="nofollow ugc noopener", which Django's own filter does not
    write (it writes rel="nofollow" only).
    """
    linked = urlize(str(value), trim_url_limit=60, nofollow=False, autoescape=True)
    linked = _LINK.sub('<a rel="nofollow ugc noopener" href="', linked)
    return mark_safe(linebreaks(linked, autoescape=False))


@register.filter
def person(user: object) -> str:
    """How a person is named to the other: their name, else their user name; never their email."""
    full_name = getattr(user, "get_full_name", lambda: "")()
    return str(full_name or getattr(user, "username", "someone"))
