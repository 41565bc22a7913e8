"""The project's URLs with the framework's floor in front: the cheapest possible Django view."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path


def floor(request: HttpRequest) -> HttpResponse:
    """Every middleware, no database, no template: what any page costs at least."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/floor/", floor, name="bench_floor"),
    path("", include("bzpeer.urls")),
]
