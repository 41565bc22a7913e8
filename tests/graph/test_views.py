"""The fragment, the explorer and graph.json through the test client."""

import re

import pytest
from django.test import Client

from graph import services
from graph.models import GraphSlice
from tests.factories import AuthorFactory, AuthorshipFactory, TopicFactory, WorkFactory
from works.models import WorkTopic

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def researcher(coauthors: int = 3, works: int = 3):
    """Grace, her works (one per year from 2015) and co-authors, all on one topic."""
    grace = AuthorFactory(display_name="Grace Example")
    people = [AuthorFactory(display_name=f"Coauthor {i}") for i in range(coauthors)]
    topic = TopicFactory(display_name="Graph theory")
    for i in range(works):
        work = WorkFactory(title=f"Paper {i}", publication_year=2015 + i)
        AuthorshipFactory(work=work, author=grace, position=0)
        AuthorshipFactory(work=work, author=people[i % coauthors], position=1)
        AuthorshipFactory(work=work, author=people[(i + 1) % coauthors], position=2)
        WorkTopic.objects.create(work=work, topic=topic, score=0.9)
    return grace, people


def ready(author) -> GraphSlice:
    services.slices_mark_queued(author_ids=[author.pk])
    assert services.slice_build(author_id=author.pk) == "built"
    return GraphSlice.objects.get(pk=author.pk)


def slice_url(author_id: int) -> str:
    return f"/researchers/{author_id}/graph-slice/"


def explorer_url(author_id: int) -> str:
    return f"/researchers/{author_id}/graph/"


# --- the fragment -----------------------------------------------------------------------


def test_ready_fragment_is_an_svg_with_links(client):
    grace, people = researcher()
    ready(grace)
    response = client.get(slice_url(grace.pk), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.count('<svg class="graph-svg') == 2  # the wide and the narrow drawing
    for person in people:
        assert f'href="/researchers/{person.pk}/"' in html
    assert 'href="/topics/' in html and 'href="/works/' in html
    assert "<title>Coauthor 0: 2 shared works</title>" in html
    assert "3 papers, 4 people, 1 topic, 0 institutions" in html
    assert "hx-trigger" not in html
    assert "HX-Request" in response["Vary"]


def test_ready_fragment_without_htmx_is_a_full_page(client):
    grace, _ = researcher()
    ready(grace)
    response = client.get(slice_url(grace.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "Research graph · Grace Example · BZPEER" in html
    assert '<svg class="graph-svg graph-svg--wide"' in html
    assert f'href="/researchers/{grace.pk}/graph/"' in html


def test_ready_fragment_is_drawn_once_and_served_from_the_cache(client, monkeypatch):
    grace, _ = researcher()
    ready(grace)
    first = client.get(slice_url(grace.pk), **HTMX).content

    def no_drawing(*args, **kwargs):
        raise AssertionError("a cached fragment was drawn again")

    monkeypatch.setattr("graph.drawing.build_scene", no_drawing)
    assert client.get(slice_url(grace.pk), **HTMX).content == first
    poll = client.get(slice_url(grace.pk), HTTP_HX_TRIGGER="graph-slice-poll", **HTMX)
    assert poll.status_code == 286 and poll.content == first


def test_a_rebuilt_slice_replaces_the_cached_fragment(client):
    grace, people = researcher()
    ready(grace)
    assert "Coauthor 0" in client.get(slice_url(grace.pk), **HTMX).content.decode()
    people[0].display_name = "Renamed Person"
    people[0].save()
    ready(grace)
    html = client.get(slice_url(grace.pk), **HTMX).content.decode()
    assert "Renamed Person" in html and "Coauthor 0:" not in html


@pytest.mark.parametrize("size", [2, 30])
def test_ready_fragment_is_one_query_whatever_the_size(client, django_assert_num_queries, size):
    grace, _ = researcher(coauthors=size, works=size)
    ready(grace)
    with django_assert_num_queries(1):
        assert client.get(slice_url(grace.pk), **HTMX).status_code == 200
    with django_assert_num_queries(1):
        assert client.get(slice_url(grace.pk)).status_code == 200


def test_missing_slice_is_queued_and_answers_building(client, django_capture_on_commit_callbacks):
    grace, _ = researcher()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(slice_url(grace.pk), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Building this graph slice" in html
    assert (
        "BZPEER is loading the nearby papers, people, topics and institutions for this page."
        in html
    )
    assert 'hx-trigger="every 2s"' in html and 'hx-swap="outerHTML"' in html
    assert f'hx-get="{slice_url(grace.pk)}"' in html
    assert len(callbacks) == 1
    assert GraphSlice.objects.get(pk=grace.pk).status == GraphSlice.Status.QUEUED


def test_polling_while_queued_is_one_query_and_keeps_polling(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    grace, _ = researcher()
    services.slices_mark_queued(author_ids=[grace.pk])
    poll = {**HTMX, "HTTP_HX_TRIGGER": "graph-slice-poll"}
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(1):
        response = client.get(slice_url(grace.pk), **poll)
    assert callbacks == []
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()

    services.slice_build(author_id=grace.pk)
    response = client.get(slice_url(grace.pk), **poll)
    assert response.status_code == 286  # htmx swaps the slice in and stops polling
    assert "<svg" in response.content.decode()


def test_building_page_without_javascript_refreshes_itself(
    client, django_capture_on_commit_callbacks
):
    grace, _ = researcher()
    with django_capture_on_commit_callbacks():
        html = client.get(slice_url(grace.pk)).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert "Building this graph slice" in html


@pytest.mark.django_db(transaction=True)
def test_in_process_tasks_answer_the_first_request_with_the_slice(client):
    """Without a broker (`make run` with no REDIS_URL) the request builds the slice."""
    grace, _ = researcher()
    response = client.get(slice_url(grace.pk), **HTMX)
    assert "<svg" in response.content.decode()


def test_a_rebuild_shows_the_previous_slice_meanwhile(client):
    grace, _ = researcher()
    ready(grace)
    GraphSlice.objects.filter(pk=grace.pk).update(status=GraphSlice.Status.QUEUED)
    assert "<svg" in client.get(slice_url(grace.pk), **HTMX).content.decode()


def test_failed_slice_offers_a_retry_that_needs_csrf(client):
    grace, _ = researcher()
    services.slices_mark_queued(author_ids=[grace.pk])
    GraphSlice.objects.filter(pk=grace.pk).update(status=GraphSlice.Status.FAILED, error="boom")
    html = client.get(slice_url(grace.pk), **HTMX).content.decode()
    assert "could not be built" in html
    assert "boom" not in html
    retry = f"/researchers/{grace.pk}/graph-slice/retry/"
    assert f'hx-post="{retry}"' in html and "csrfmiddlewaretoken" in html

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(retry).status_code == 403
    assert GraphSlice.objects.get(pk=grace.pk).status == GraphSlice.Status.FAILED


def test_retry_queues_the_build_again(client, django_capture_on_commit_callbacks):
    grace, _ = researcher()
    services.slices_mark_queued(author_ids=[grace.pk])
    GraphSlice.objects.filter(pk=grace.pk).update(status=GraphSlice.Status.FAILED)
    retry = f"/researchers/{grace.pk}/graph-slice/retry/"
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(retry, **HTMX)
    assert len(callbacks) == 1
    assert "Building this graph slice" in response.content.decode()
    GraphSlice.objects.filter(pk=grace.pk).update(status=GraphSlice.Status.FAILED)
    with django_capture_on_commit_callbacks():
        response = client.post(retry)
    assert response.status_code == 302
    assert response["Location"] == slice_url(grace.pk)
    assert client.get(retry).status_code == 405


@pytest.mark.parametrize(
    "url",
    [
        slice_url(987654),
        explorer_url(987654),
        "/researchers/987654/graph.json",
    ],
)
def test_unknown_author_is_404(client, url):
    assert client.get(url).status_code == 404
    assert client.get(url, **HTMX).status_code == 404
    assert not GraphSlice.objects.exists()


def test_unknown_author_retry_is_404(client):
    assert client.post("/researchers/987654/graph-slice/retry/").status_code == 404


def test_a_poll_for_an_author_gone_meanwhile_stops_polling(client):
    response = client.get(slice_url(987654), **HTMX, HTTP_HX_TRIGGER="graph-slice-poll")
    assert response.status_code == 286


# --- the explorer -----------------------------------------------------------------------


def test_explorer_page_and_its_htmx_panel(client, django_assert_num_queries):
    grace, people = researcher()
    ready(grace)
    with django_assert_num_queries(1):
        page = client.get(explorer_url(grace.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" in html and "js/graph.js" in html
    assert html.count("data-zoomable") == 2
    # A person re-centres the explorer, with htmx and without.
    assert (
        f'href="/researchers/{people[0].pk}/graph/" hx-get="/researchers/{people[0].pk}/graph/"'
        in html
    )
    assert 'hx-push-url="true"' in html
    assert re.search(r'<form id="graph-filters"[^>]*method="get"', html)

    with django_assert_num_queries(1):
        panel = client.get(explorer_url(grace.pk), **HTMX)
    fragment = panel.content.decode()
    # The page's title first (htmx sets the document's title from it), then the section.
    assert fragment.lstrip().startswith("<title>Graph explorer · Grace Example · BZPEER</title>")
    assert '<section id="explorer"' in fragment
    assert "<html" not in fragment


def test_explorer_history_restore_gets_the_full_page(client):
    grace, _ = researcher()
    ready(grace)
    response = client.get(explorer_url(grace.pk), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_explorer_filters_by_type_and_year(client):
    grace, _ = researcher(works=4)
    ready(grace)
    only_people = client.get(explorer_url(grace.pk), {"filtered": 1, "show": ["person"]})
    html = only_people.content.decode()
    assert 'class="gnode gnode--work' not in html
    assert 'class="gnode gnode--person' in html
    # The centre links to the profile; the others re-centre the explorer.
    assert f'gnode--centre" href="/researchers/{grace.pk}/"' in html

    years = client.get(explorer_url(grace.pk), {"year_from": 2016, "year_to": 2017})
    titles = set(re.findall(r"<title>Paper \((\d{4})\)", years.content.decode()))
    assert titles == {"2016", "2017"}
    # Links keep the filters.
    assert "year_from=2016&amp;year_to=2017" in years.content.decode()


def test_explorer_rejects_a_backwards_year_range(client):
    grace, _ = researcher()
    ready(grace)
    response = client.get(explorer_url(grace.pk), {"year_from": 2020, "year_to": 2010})
    assert response.status_code == 400
    assert "The first year comes after the last one." in response.content.decode()


def test_explorer_ships_htmx_without_the_debug_error_page(client, settings):
    # django-htmx's debug script writes any 400 answer over the whole document.
    settings.DEBUG = True
    grace, _ = researcher()
    ready(grace)
    html = client.get(explorer_url(grace.pk)).content.decode()
    assert "django_htmx/htmx-2.min.js" in html
    assert "data-debug" not in html
    assert "django-htmx.js" not in html


def test_a_backwards_year_range_keeps_the_explorer_and_says_why_in_the_form(client):
    grace, _ = researcher()
    ready(grace)
    response = client.get(explorer_url(grace.pk), {"year_from": 2023, "year_to": 2020}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    # The whole explorer comes back (htmx swaps it in place), the message inside the form.
    assert '<section id="explorer"' in html and "<html" not in html
    assert "data-zoomable" in html
    form = html[html.index('<form id="graph-filters"') : html.index("</form>")]
    assert "The first year comes after the last one." in form
    assert 'value="2023"' in form and 'value="2020"' in form
    assert form.count('aria-invalid="true"') == 2
    # The page tells htmx to swap a 400 answer in rather than drop it.
    page = client.get(explorer_url(grace.pk)).content.decode()
    assert '{"code":"^400$","swap":true,"error":false}' in page


def texts(html: str, pattern: str) -> list[str]:
    return [re.sub(r"\s+", " ", t).strip() for t in re.findall(pattern, html, re.S)]


def ties_listed(html: str) -> list[tuple[frozenset[str], str]]:
    """The "Strongest ties" list: (the two people, "n works") per line."""
    if "tie-list" not in html:
        return []
    start = html.index('class="tie-list"')
    block = html[start : html.index("</ol>", start)]
    dash = "\N{EN DASH}"
    return [
        (frozenset({a, b}), n)
        for a, b, n in re.findall(
            rf">([^<>]+) {dash} ([^<>]+)</a> <span class=\"muted\">([^<]+)</span>", block
        )
    ]


def test_a_year_range_keeps_only_the_people_and_ties_of_its_papers(client):
    # Paper 0 (2015): Coauthors 0 and 1; Paper 1 (2016): 1 and 2; Paper 2 (2017): 2 and 0.
    grace, people = researcher()
    ready(grace)
    html = client.get(explorer_url(grace.pk), {"year_from": 2017}).content.decode()
    assert "1 paper, 3 people, 1 topic, 0 institutions" in html
    assert f'data-node="a:{people[1].pk}"' not in html
    assert "Coauthor 1" not in html
    ties = ties_listed(html)
    assert len(ties) == 3
    assert set(ties) == {
        (frozenset({"Grace Example", "Coauthor 0"}), "1 work"),
        (frozenset({"Grace Example", "Coauthor 2"}), "1 work"),
        (frozenset({"Coauthor 0", "Coauthor 2"}), "1 work"),
    }
    assert "List the 5 nodes shown" in html
    # A tooltip counts the works in the range too.
    assert "<title>Coauthor 0: 1 shared work</title>" in html
    # Unfiltered, the same people share two works each.
    everything = client.get(explorer_url(grace.pk)).content.decode()
    assert "3 papers, 4 people, 1 topic, 0 institutions" in everything
    assert "<title>Coauthor 0: 2 shared works</title>" in everything


def test_with_no_type_ticked_only_the_centre_remains_and_no_tie_is_listed(client):
    grace, _ = researcher()
    ready(grace)
    html = client.get(explorer_url(grace.pk), {"filtered": 1}).content.decode()
    assert html.count('class="gnode ') == 2  # the centre, in each of the two frames
    assert "Strongest ties" not in html
    assert ties_listed(html) == []
    assert "0 papers, 1 person, 0 topics, 0 institutions" in html
    assert "List the 1 nodes shown" in html or "List the 1 node shown" in html


def test_an_htmx_recentre_names_the_new_centre_in_the_title_and_announces_it(client):
    grace, people = researcher()
    ready(grace)
    ready(people[0])
    html = client.get(explorer_url(people[0].pk), **HTMX).content.decode()
    # htmx takes a <title> at the root of the answer as the document's title.
    assert html.lstrip().startswith("<title>Graph explorer · Coauthor 0 · BZPEER</title>")
    assert '<h1 id="explorer-title" tabindex="-1">Coauthor 0</h1>' in html
    status = re.search(r'<p id="explorer-status" hx-swap-oob="innerHTML">(.*?)</p>', html, re.S)
    assert status and "Graph centred on Coauthor 0" in status.group(1)
    # The full page has the (empty) live region outside the part htmx swaps.
    page = client.get(explorer_url(people[0].pk)).content.decode()
    assert page.count("<title>Graph explorer · Coauthor 0 · BZPEER</title>") == 1
    region = page.index('id="explorer-status"')
    assert page.index('<section id="explorer"') > region or page.index("</section>\n", region)
    assert 'role="status"' in page[region - 200 : region + 200]


def test_selecting_a_tie_lists_the_works_behind_it(client):
    grace, people = researcher()
    ready(grace)
    first, second = sorted([grace.pk, people[0].pk])
    edge = f"a:{first}-a:{second}"
    html = client.get(explorer_url(grace.pk), {"edge": edge}).content.decode()
    assert "gedge-link is-selected" in html
    assert "Grace Example and Coauthor 0" in html or "Coauthor 0 and Grace Example" in html
    assert "2 shared works" in html
    section = html[
        html.index('id="graph-edge"') : html.index("</section>", html.index('id="graph-edge"'))
    ]
    assert section.count('href="/works/') == 2
    # Every tie is a link that selects it.
    assert f"?edge=a%3A{first}-a%3A{second}" in html


def test_explorer_of_an_unbuilt_slice_polls(client, django_capture_on_commit_callbacks):
    grace, _ = researcher()
    with django_capture_on_commit_callbacks():
        html = client.get(explorer_url(grace.pk), **HTMX).content.decode()
    assert "Building this graph slice" in html
    assert 'hx-trigger="every 2s"' in html


# --- graph.json ------------------------------------------------------------------------


def test_graph_json_exports_the_stored_explorer_slice(client):
    grace, _ = researcher()
    row = ready(grace)
    response = client.get(f"/researchers/{grace.pk}/graph.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data == row.explorer_data
    assert set(data) == {"centre", "nodes", "edges", "meta"}
    assert data["centre"] == f"a:{grace.pk}"
    assert {"id", "type", "label", "url", "x", "y", "score", "rank"} <= set(data["nodes"][0])
    coauthor = next(e for e in data["edges"] if e["kind"] == "coauthor")
    assert {"source", "target", "weight", "shared", "works"} <= set(coauthor)


def test_graph_json_exports_what_the_filters_show_as_a_download(client):
    grace, _ = researcher()
    ready(grace)
    response = client.get(f"/researchers/{grace.pk}/graph.json", {"year_from": 2017})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="grace-example-graph.json"'
    data = response.json()
    works = [n for n in data["nodes"] if n["type"] == "work"]
    assert [w["year"] for w in works] == [2017]
    people_shown = {n["label"] for n in data["nodes"] if n["type"] == "person"}
    assert people_shown == {"Grace Example", "Coauthor 0", "Coauthor 2"}
    assert {e["shared"] for e in data["edges"] if e["kind"] == "coauthor"} == {1}
    assert data["meta"]["counts"] == {"person": 3, "work": 1, "topic": 1, "institution": 0}
    assert data["meta"]["filters"] == {
        "types": ["person", "work", "topic", "institution"],
        "year_from": 2017,
        "year_to": None,
    }


def test_graph_json_rejects_a_backwards_year_range(client):
    grace, _ = researcher()
    ready(grace)
    response = client.get(
        f"/researchers/{grace.pk}/graph.json", {"year_from": 2023, "year_to": 2020}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"__all__": ["The first year comes after the last one."]}}


def test_the_json_link_follows_the_filters(client):
    grace, _ = researcher()
    ready(grace)
    html = client.get(explorer_url(grace.pk), {"filtered": 1, "show": "person", "year_to": 2016})
    assert (
        f'href="/researchers/{grace.pk}/graph.json?filtered=1&amp;show=person&amp;year_to=2016"'
        in html.content.decode()
    )


def test_graph_json_of_an_unbuilt_slice_is_202(client, django_capture_on_commit_callbacks):
    grace, _ = researcher()
    with django_capture_on_commit_callbacks():
        response = client.get(f"/researchers/{grace.pk}/graph.json")
    assert response.status_code == 202
    assert response.json() == {"author": grace.pk, "status": "building"}
    assert response["Retry-After"] == "2"


@pytest.mark.parametrize("built", [True, False])
@pytest.mark.parametrize(
    "url",
    [
        "/researchers/{}/graph-slice/",
        "/researchers/{}/graph/?types=person",
        "/researchers/{}/graph.json",
    ],
)
def test_a_merged_record_redirects_to_the_survivors_graph(client, url, built):
    grace, _ = researcher()
    duplicate = AuthorFactory(display_name="Grace E.")
    if built:
        ready(duplicate)
    duplicate.merged_into = grace
    duplicate.save()
    response = client.get(url.format(duplicate.pk), **HTMX)
    assert response.status_code == 301
    assert response["Location"] == url.format(grace.pk)
    assert not GraphSlice.objects.filter(pk=duplicate.pk, status=GraphSlice.Status.QUEUED).exists()
