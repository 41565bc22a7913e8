"""The graph slice fragment, the full explorer and the JSON export.

Each view is one indexed read of the stored slice and a render. A missing or
stale slice is queued (graph.services.slice_request) and answered with the
"Building this graph slice" fragment, which polls until the slice is ready.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from bzpeer import pagecache
from bzpeer.cache import shared_get_or_build
from bzpeer.http import HtmxHttpRequest
from graph import drawing, selectors, services
from graph.forms import ExplorerFilterForm
from graph.models import GraphSlice
from works.models import Author

# ids of the elements that poll while a slice is being built
SLICE_POLL_ID = "graph-slice-poll"
EXPLORER_POLL_ID = "explorer"
ViewFunc = Callable[[HtmxHttpRequest, int], HttpResponse]
SLICE_BODY_CACHE_SECONDS = 7 * 24 * 60 * 60


class MergedRecord(Exception):
    """The author record was merged into another: its graph lives at the survivor's URL."""

    def __init__(self, survivor_id: int) -> None:
        super().__init__(survivor_id)
        self.survivor_id = survivor_id


def _get_slice_for_page(author_id: int, *, explorer: bool = False) -> GraphSlice:
    """The stored slice, queued first when missing or stale; 404 for an unknown author."""
    read = selectors.slice_for_explorer if explorer else selectors.slice_for_display
    graph_slice = read(author_id=author_id)
    if graph_slice is not None and graph_slice.author.merged_into_id:
        raise MergedRecord(graph_slice.author.merged_into_id)
    if graph_slice is None:
        survivor_id = (
            Author.objects.filter(pk=author_id, merged_into__isnull=False)
            .values_list("merged_into_id", flat=True)
            .first()
        )
        if survivor_id:
            raise MergedRecord(survivor_id)
    if graph_slice is None or services.slice_wants_queue(graph_slice):
        graph_slice = services.slice_request(author_id=author_id)
    if graph_slice is None:
        raise Http404("No researcher has this id.")
    return graph_slice


def _follow_merges(url_name: str) -> Callable[[ViewFunc], ViewFunc]:
    """Answer a merged record's URL with a permanent redirect to the survivor's."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapped(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
            try:
                return view(request, author_id)
            except MergedRecord as merged:
                url = reverse(url_name, args=[merged.survivor_id])
                if request.GET:
                    url += "?" + request.GET.urlencode()
                return HttpResponsePermanentRedirect(url)

        return wrapped

    return decorate


def _state(graph_slice: GraphSlice, data: dict[str, Any]) -> str:
    # A slice being rebuilt still shows its previous version meanwhile.
    if services.slice_is_current(data):
        return "ready"
    if graph_slice.status == GraphSlice.Status.FAILED:
        return "failed"
    return "building"


def _is_poll(request: HtmxHttpRequest, poll_id: str) -> bool:
    return bool(request.htmx) and request.htmx.trigger == poll_id


def _render(
    request: HtmxHttpRequest, template_name: str, partial: str, context: dict, *, stop: bool
) -> HttpResponse:
    if request.htmx and not request.htmx.history_restore_request:
        template_name += f"#{partial}"
    if stop:
        # 286: htmx swaps this answer in and stops polling.
        return HttpResponseStopPolling(render_to_string(template_name, context, request))
    return render(request, template_name, context)


def _gone(request: HtmxHttpRequest, poll_id: str) -> HttpResponse:
    """A poll for an author who disappeared (merged or deleted) meanwhile: stop polling."""
    if _is_poll(request, poll_id):
        return HttpResponseStopPolling(
            '<p class="empty">This researcher\'s record is no longer available.</p>'
        )
    raise Http404("No researcher has this id.")


def _slice_context(graph_slice: GraphSlice) -> dict[str, Any]:
    data = graph_slice.data
    state = _state(graph_slice, data)
    context: dict[str, Any] = {
        "author": graph_slice.author,
        "graph_slice": graph_slice,
        "state": state,
        "poll_id": SLICE_POLL_ID,
        "poll_url": reverse("graph:slice", args=[graph_slice.author_id]),
    }
    if state == "ready":
        meta = data["meta"]
        context |= {
            "scenes": [drawing.build_scene(data, frame) for frame in drawing.SLICE_FRAMES],
            "groups": drawing.node_groups(data),
            "counts": drawing.count_phrase(meta["counts"]),
            "totals": meta["totals"],
            "node_total": len(data["nodes"]),
        }
    return context


def _ready_body_cache_key(graph_slice: GraphSlice) -> str | None:
    """Where the drawn fragment of a ready slice is cached; None when not ready.

    Drawing (two SVG frames, label placement) costs about 20x the indexed read,
    and a built slice never changes: a rebuild gets a new computed_at, hence a
    new key. The fragment holds nothing specific to the visitor.
    """
    if graph_slice.computed_at is None or not services.slice_is_current(graph_slice.data):
        return None
    stamp = graph_slice.computed_at.timestamp()
    version = f"{services.ALGORITHM_VERSION}.{drawing.DRAWING_VERSION}"
    return f"graph:slice-body:v{version}:{graph_slice.author_id}:{stamp}"


@require_safe
@vary_on_headers("HX-Request")
@_follow_merges("graph:slice")
@pagecache.anonymous_page_cache(
    bypass=lambda request: request.META.get("HTTP_HX_TRIGGER") == SLICE_POLL_ID
)
def slice_fragment(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    """The slice as every visitor sees it; anonymous ones get a ready one from the cache.

    "Building" and "failed" answers are never cached: the next request reads
    the row again and sees the slice once it is ready. A rebuilt slice retires
    the cached ones (bzpeer.pagecache.author_pages_changed after the build).
    """
    try:
        graph_slice = _get_slice_for_page(author_id)
    except Http404:
        return _gone(request, SLICE_POLL_ID)
    key = _ready_body_cache_key(graph_slice)
    if key and request.htmx and not request.htmx.history_restore_request:
        body = shared_get_or_build(
            key,
            lambda: render_to_string(
                "graph/slice.html#slice-body", _slice_context(graph_slice), request
            ),
            timeout=SLICE_BODY_CACHE_SECONDS,
        )
        if _is_poll(request, SLICE_POLL_ID):
            return HttpResponseStopPolling(body)
        return HttpResponse(body)
    context = _slice_context(graph_slice)
    stop = _is_poll(request, SLICE_POLL_ID) and context["state"] != "building"
    response = _render(request, "graph/slice.html", "slice-body", context, stop=stop)
    if context["state"] != "ready":
        add_never_cache_headers(response)
    return response


@require_POST
def slice_retry(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    graph_slice = services.slice_retry(author_id=author_id)
    if graph_slice is None:
        raise Http404("No researcher has this id.")
    if request.POST.get("next") == "explorer":
        return redirect("graph:explorer", author_id=author_id)
    if request.htmx:
        return render(request, "graph/slice.html#slice-body", _slice_context(graph_slice))
    return redirect("graph:slice", author_id=author_id)


@require_safe
@vary_on_headers("HX-Request")
@_follow_merges("graph:explorer")
def explorer(request: HtmxHttpRequest, author_id: int) -> HttpResponse:
    """The explorer page; for htmx, its section with the page's title and a line to announce.

    Invalid filters answer 400 with the whole explorer (unfiltered) and the
    message in the form: the page's htmx-config swaps that answer in.
    """
    form = ExplorerFilterForm(request.GET)
    try:
        graph_slice = _get_slice_for_page(author_id, explorer=True)
    except Http404:
        return _gone(request, EXPLORER_POLL_ID)
    filters = form.filters()
    data = graph_slice.explorer_data
    state = _state(graph_slice, data)
    author = graph_slice.author
    query = filters.query()
    context: dict[str, Any] = {
        "author": author,
        "graph_slice": graph_slice,
        "state": state,
        "form": form,
        "filters": filters,
        "query": query,
        "here": reverse("graph:explorer", args=[author_id]),
        "json_url": reverse("graph:json", args=[author_id]) + query,
        "poll_id": EXPLORER_POLL_ID,
        "announcement": f"Building the graph around {author.display_name}.",
    }
    if state == "ready":
        data = drawing.shown(data, filters)
        edge = drawing.selected_edge(data, filters.edge)
        if edge:
            edge["more"] = edge["shared"] - len(edge["works"])
        groups = drawing.node_groups(data)
        counts = drawing.count_phrase(data["meta"]["counts"])
        context |= {
            "scenes": [
                drawing.build_scene(data, frame, filters=filters, explorer=True)
                for frame in drawing.EXPLORER_FRAMES
            ],
            "groups": groups,
            "node_total": sum(group["count"] for group in groups),
            "counts": counts,
            "totals": data["meta"]["totals"],
            "edge": edge,
            "ties": drawing.coauthor_ties(data, filters)[:12],
            "announcement": (
                f"Graph centred on {author.display_name}"
                f"{', with the filters' if filters.active else ''}: {counts}."
            ),
        }
    elif state == "failed":
        context["announcement"] = f"The graph around {author.display_name} could not be built."
    if form.errors:
        context["announcement"] = " ".join(
            str(error) for errors in form.errors.values() for error in errors
        )
    stop = _is_poll(request, EXPLORER_POLL_ID) and state != "building"
    response = _render(request, "graph/explorer.html", "explorer-swap", context, stop=stop)
    if form.errors:
        response.status_code = 400
    return response


@require_safe
@_follow_merges("graph:json")
def graph_json(request: HtmxHttpRequest, author_id: int) -> JsonResponse:
    """What the explorer shows with these filters, as a JSON download; 202 while being built."""
    form = ExplorerFilterForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {"errors": {field: list(errors) for field, errors in form.errors.items()}}, status=400
        )
    graph_slice = _get_slice_for_page(author_id, explorer=True)
    data = graph_slice.explorer_data
    state = _state(graph_slice, data)
    if state == "ready":
        response = JsonResponse(
            drawing.shown(data, form.filters()), json_dumps_params={"ensure_ascii": False}
        )
        name = slugify(graph_slice.author.display_name) or f"researcher-{author_id}"
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=True, filename=f"{name}-graph.json") or ""
        )
        return response
    response = JsonResponse(
        {"author": author_id, "status": state}, status=202 if state == "building" else 503
    )
    response["Retry-After"] = "2"
    return response
