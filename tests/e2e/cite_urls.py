"""The site's URLs plus a list of works each with its Cite control, as the researcher
page's works list will include it: the browser test of the lazily loaded panel."""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from works.models import Work

_LIST = """{% extends "base.html" %}{% block content %}<h1>Listed works</h1><ol class="works">
{% for work in works %}<li class="work"><p>{{ work.title }}</p>
{% include "works/_cite.html" with work=work %}</li>{% endfor %}</ol>{% endblock %}"""


def listed_works(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(_LIST)
    works = Work.objects.order_by("-publication_year", "-id").only("id", "title")
    return HttpResponse(template.render({"works": works}, request))


urlpatterns = [
    path("listed-works/", listed_works),
    path("", include("bzpeer.urls")),
]
