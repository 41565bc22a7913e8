"""{% site_url 'name' %}: what {% url 'name' %} gives for a URL without arguments, reversed
once per process.

The site header reverses five such URLs on every signed-in page, 23 microseconds each
(reverse() matches the name against every pattern each time); they never change while
the process runs. The key carries the URLconf and the script prefix, so a test with
another URLconf or a site mounted under a prefix gets its own.
"""

import functools

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@functools.lru_cache(maxsize=256)
def _reverse(urlconf: str, prefix: str, name: str) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def site_url(name: str) -> str:
    return _reverse(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), name)
