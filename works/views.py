from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer import paging, ratelimit
from bzpeer.http import HtmxHttpRequest
from works import exports, selectors
from works.forms import ResearcherSearchForm

SEARCH_PAGE_SIZE = 20
# One letter has no trigram of its own: it would match by ILIKE alone, read a
# large part of the index and rank nothing usefully, on every first keystroke.
SEARCH_MIN_LENGTH = 2
# Words a search keeps: a name has a handful ("Maria de los Angeles Garcia
# Lopez"); more only add cost (works.selectors.AuthorQuery).
SEARCH_MAX_WORDS = 8
TOPIC_RESEARCHERS_SHOWN = 20
TOPIC_WORKS_PAGE_SIZE = 20
INSTITUTION_RESEARCHERS_PAGE_SIZE = 20


def _fragment(request: HtmxHttpRequest) -> bool:
    # A history-restore request (the back button after htmx's cache was
    # evicted) carries HX-Request too but replaces the whole <body>.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _page(paginator: Paginator, request: HttpRequest) -> tuple[Page, str]:
    return paging.page_with_note(paginator, request.GET.get("page"))


@require_safe
def work_detail(request: HttpRequest, work_id: int) -> HttpResponse:
    work = selectors.work_get_for_export(work_id=work_id)
    # The Cite control shows these in the page (templates/works/_cite.html).
    work.citation = exports.citation(work)  # type: ignore[attr-defined]
    # OpenAlex counts a work's references; ours are those it lists, if it says fewer.
    references_total = max(work.referenced_works_count, len(work.referenced_works))
    return render(
        request,
        "works/work_detail.html",
        {
            "work": work,
            "cited_by": selectors.work_cited_by(work=work),
            "references": selectors.work_references(work=work),
            "references_total": references_total,
        },
    )


@require_safe
@vary_on_headers("HX-Request")
def work_cite(request: HtmxHttpRequest, work_id: int) -> HttpResponse:
    """A work's BibTeX and formatted reference: the Cite control's panel, or a page without JS."""
    work = selectors.work_get_for_export(work_id=work_id)
    work.citation = exports.citation(work)  # type: ignore[attr-defined]
    template_name = "works/work_cite.html"
    if _fragment(request):
        template_name = "works/_cite.html#cite-body"
    return render(request, template_name, {"work": work})


@require_safe
def work_export(request: HttpRequest, work_id: int, extension: str) -> HttpResponse:
    work = selectors.work_get_for_export(work_id=work_id)
    if extension not in exports.FORMATS:
        return export_format_unknown(
            request,
            extension=extension,
            what=f"“{work.title}”",
            url_name="works:work_export",
            object_id=work.pk,
        )
    return exports.attachment(
        [work],
        extension=extension,
        name=exports.work_filename_stem(work),
        suffix="",
        fallback=f"work-{work.pk}",
    )


def export_format_unknown(
    request: HttpRequest, *, extension: str, what: str, url_name: str, object_id: int
) -> HttpResponse:
    """404, with the formats there are: a mistyped export link says what would have worked."""
    formats = [
        (f.label, f.extension, reverse(url_name, args=[object_id, f.extension]))
        for f in exports.FORMATS.values()
    ]
    return render(
        request,
        "works/export_unknown.html",
        {"extension": extension[:40], "what": what, "formats": formats},
        status=404,
    )


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def researcher_search(request: HtmxHttpRequest) -> HttpResponse:
    form = ResearcherSearchForm(request.GET)
    fragment = _fragment(request)
    template_name = "works/researcher_search.html"
    if fragment:
        template_name += "#results"
    context: dict[str, object] = {
        "form": form,
        "fragment": fragment,
        "query": "",
        "min_length": SEARCH_MIN_LENGTH,
        "max_words": SEARCH_MAX_WORDS,
    }
    if not form.is_valid():
        return render(request, template_name, context, status=400)
    query = form.cleaned_data["q"]
    context |= {"query": query, "too_short": 0 < len(query) < SEARCH_MIN_LENGTH}
    if len(query) < SEARCH_MIN_LENGTH:
        return render(request, template_name, context)
    # Only searches that reach the database count: typing, paging and the
    # empty page cost nothing.
    if ratelimit.limit_exceeded(request, action="search"):
        response = render(request, template_name, context | {"rate_limited": True}, status=429)
        response["Retry-After"] = "60"
        return response
    bounded = selectors.author_query_parse(query, max_words=SEARCH_MAX_WORDS)
    context["dropped"] = bounded.dropped
    context["searched"] = bounded.text
    try:
        page_obj, page_note = selectors.author_search_page(
            query=bounded,
            number=request.GET.get("page"),
            per_page=SEARCH_PAGE_SIZE,
            timeout_ms=settings.SEARCH_STATEMENT_TIMEOUT_MS,
        )
    except selectors.SearchTooSlow:
        return render(request, template_name, context | {"timed_out": True}, status=503)
    context["page_obj"] = page_obj
    context["page_note"] = page_note
    context["page_range"] = page_obj.paginator.get_elided_page_range(
        page_obj.number, on_each_side=2
    )
    return render(request, template_name, context)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def topic_detail(request: HtmxHttpRequest, topic_id: int) -> HttpResponse:
    topic = selectors.topic_get_for_page(topic_id=topic_id)
    paginator = Paginator(selectors.topic_works(topic=topic), TOPIC_WORKS_PAGE_SIZE)
    works, page_note = _page(paginator, request)
    context: dict[str, object] = {
        "topic": topic,
        "works": works,
        "page_note": page_note,
        "works_page_range": paginator.get_elided_page_range(works.number, on_each_side=2),
    }
    if _fragment(request):
        return render(request, "works/topic_detail.html#works", context)
    researchers, researchers_total = selectors.topic_researchers(
        topic=topic, limit=TOPIC_RESEARCHERS_SHOWN
    )
    context |= {"researchers": researchers, "researchers_total": researchers_total}
    return render(request, "works/topic_detail.html", context)


@require_safe
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def institution_detail(request: HtmxHttpRequest, institution_id: int) -> HttpResponse:
    institution = selectors.institution_get_for_page(institution_id=institution_id)
    paginator = Paginator(
        selectors.institution_researchers(institution=institution),
        INSTITUTION_RESEARCHERS_PAGE_SIZE,
    )
    researchers, page_note = _page(paginator, request)
    template_name = "works/institution_detail.html"
    if _fragment(request):
        template_name += "#researchers"
    return render(
        request,
        template_name,
        {
            "institution": institution,
            "researchers": researchers,
            "page_note": page_note,
            "researchers_page_range": paginator.get_elided_page_range(
                researchers.number, on_each_side=2
            ),
        },
    )
