"""The site's URLs plus two that fail, for the error page tests (tests/test_pages.py)."""

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from bzpeer.urls import handler500  # noqa: F401  (the site's own error handler)


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def database_gone(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection refused")


urlpatterns = [
    path("broken/", broken),
    path("database-gone/", database_gone),
    path("", include("bzpeer.urls")),
]
