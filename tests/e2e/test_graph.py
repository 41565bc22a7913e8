"""The research graph in a real browser, its slices built by a real Celery worker.

The page loads the fragment, which queues the build and says "Building this
graph slice"; the worker (its own process, on real Redis) builds it; the
fragment's poll swaps in the SVG. Then the explorer: re-centre on a co-author
(the URL changes, the back button returns).
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from graph import services
from tests.e2e.conftest import new_context, screenshot
from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    InstitutionFactory,
    TopicFactory,
    WorkFactory,
)
from tests.graph.celery_worker import Worker, forget_queue, new_queue, redis_client, sending_to
from works.models import WorkTopic

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("through_the_broker"),
]

BUILD_TIMEOUT = 30_000  # ms: a build, its poll every 2s, and a loaded machine


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    client = redis_client()
    queue = new_queue()
    running = None
    try:
        with sending_to(queue):
            # A build takes a second more, so that the page is seen waiting for it.
            running = Worker(queue, tmp_path / "worker.log", BZPEER_SLICE_BUILD_DELAY="1.5")
            running.wait_until_ready()
            yield running
    finally:
        if running:
            running.stop()
        forget_queue(client, queue)
        client.close()


def small_network():
    """Hattie, five co-authors over six papers, three topics and two institutions."""
    hattie = AuthorFactory(display_name="Hattie Example")
    people = [
        AuthorFactory(display_name=name)
        for name in (
            "Ada Lovelace",
            "Alan Turing",
            "Grace Hopper",
            "Edsger Dijkstra",
            "Barbara Liskov",
        )
    ]
    topics = [
        TopicFactory(display_name=name) for name in ("Neural networks", "Forgetting", "Pruning")
    ]
    labs = [InstitutionFactory(display_name=name) for name in ("Mila", "Uber AI Labs")]
    hattie.last_known_institution = labs[0]
    hattie.save()
    for i in range(6):
        work = WorkFactory(
            title=f"Lottery tickets and forgetting, study {i + 1}", publication_year=2018 + i
        )
        mine = AuthorshipFactory(work=work, author=hattie, position=0)
        mine.institutions.add(labs[i % 2])
        for position, person in enumerate((people[i % 5], people[(i + 2) % 5]), start=1):
            AuthorshipFactory(work=work, author=person, position=position)
        WorkTopic.objects.create(work=work, topic=topics[i % 3], score=0.9)
    return hattie, people


def test_the_profile_graph_builds_then_leads_to_a_coauthor(page: Page, live_server, worker):
    hattie, people = small_network()
    ada = people[0]

    page.goto(f"{live_server.url}/researchers/{hattie.pk}/")
    section = page.locator("#graph-slice")
    # The fragment's own answer (it polls), not the page's placeholder.
    expect(section.locator("#graph-slice-poll")).to_be_visible()
    expect(section).to_contain_text("Building this graph slice")
    expect(section).to_contain_text(
        "BZPEER is loading the nearby papers, people, topics and institutions for this page."
    )

    node = section.locator(f'svg.graph-svg--wide a.gnode[href="/researchers/{ada.pk}/"]')
    expect(node).to_be_visible(timeout=BUILD_TIMEOUT)
    expect(section).not_to_contain_text("Building this graph slice")
    expect(section).to_contain_text("6 papers, 6 people, 3 topics, 2 institutions")
    expect(section.locator("svg.graph-svg--wide a.gnode")).to_have_count(17)
    assert "Task graph.tasks.graph_slices_build_task" in worker.log()
    screenshot(page, "graph-fragment")

    node.locator(".gnode-shape").click()
    expect(page).to_have_url(f"{live_server.url}/researchers/{ada.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")


def test_the_explorer_recentres_and_the_back_button_returns(page: Page, live_server, worker):
    hattie, people = small_network()
    alan = people[1]

    page.goto(f"{live_server.url}/researchers/{hattie.pk}/graph/")
    heading = page.locator("#explorer-title")
    expect(heading).to_have_text("Hattie Example")
    expect(page.locator("svg.graph-svg--wide")).to_be_visible(timeout=BUILD_TIMEOUT)
    expect(page.locator(".graph-zoom")).to_be_visible()  # shown by graph.js
    screenshot(page, "graph-explorer")

    # A tie between two people lists the works behind it.
    page.locator("#explorer .tie-list a").first.click()
    expect(page.locator("#graph-edge")).to_contain_text("shared work")
    expect(page).to_have_url(re.compile(r"\?edge=a%3A\d+-a%3A\d+$"))

    # Re-centre on Alan: the panel is swapped in place and the URL follows.
    page.evaluate("window.__noReload = true")
    page.locator(
        f'svg.graph-svg--wide a.gnode[href^="/researchers/{alan.pk}/graph/"] .gnode-shape'
    ).click()
    expect(page).to_have_url(f"{live_server.url}/researchers/{alan.pk}/graph/")
    expect(heading).to_have_text("Alan Turing")
    expect(page.locator("svg.graph-svg--wide")).to_be_visible(timeout=BUILD_TIMEOUT)
    expect(
        page.locator(f'svg.graph-svg--wide a.gnode--centre[href="/researchers/{alan.pk}/"]')
    ).to_be_visible()
    assert page.evaluate("window.__noReload") is True, "re-centring reloaded the page"

    page.go_back()
    expect(page).to_have_url(re.compile(rf"/researchers/{hattie.pk}/graph/"))
    expect(heading).to_have_text("Hattie Example")


def test_the_explorer_filters_without_javascript(browser, live_server, worker, policy_watch):
    hattie, _ = small_network()
    context = new_context(browser, policy_watch, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/researchers/{hattie.pk}/graph/")
        # Without JavaScript the building page refreshes itself until the slice is there.
        expect(page.locator("svg.graph-svg--wide")).to_be_visible(timeout=BUILD_TIMEOUT)
        page.get_by_label("Papers").uncheck()
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(re.compile(r"show=person"))
        expect(page.locator("svg.graph-svg--wide a.gnode--work")).to_have_count(0)
        expect(page.locator("svg.graph-svg--wide a.gnode--person")).to_have_count(6)
    finally:
        context.close()


def built(*authors) -> None:
    """Build these slices here and now: the explorer then has nothing to queue."""
    for author in authors:
        services.slices_mark_queued(author_ids=[author.pk])
        assert services.slice_build(author_id=author.pk) == "built"


def test_a_backwards_year_range_is_explained_in_the_form_and_the_page_stays(
    page: Page, live_server, settings
):
    # As under `make run`, where django-htmx's debug script wrote the 400 over the whole page.
    settings.DEBUG = True
    hattie, _ = small_network()
    built(hattie)
    page.goto(f"{live_server.url}/researchers/{hattie.pk}/graph/")
    expect(page.locator("svg.graph-svg--wide")).to_be_visible()
    page.evaluate("window.__noReload = true")

    page.locator("#id_year_from").fill("2023")
    page.locator("#id_year_to").fill("2020")
    page.locator("#id_year_to").press("Enter")
    expect(page.locator("#graph-filters .form-errors")).to_have_text(
        "The first year comes after the last one."
    )
    expect(page.locator("#explorer-status")).to_have_text(
        "The first year comes after the last one."
    )
    # The page is still the styled page: its header, and one frame of the graph.
    expect(page.locator(".site-header")).to_be_visible()
    expect(page.locator("svg.graph-svg--wide")).to_be_visible()
    expect(page.locator("svg.graph-svg--narrow")).to_be_hidden()
    expect(page.locator("#id_year_to")).to_be_focused()
    expect(page.locator("#id_year_to")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("window.__noReload") is True, "the answer replaced the page"
    screenshot(page, "graph-explorer-backwards-years")

    # Putting it right filters as usual.
    page.locator("#id_year_from").fill("2019")
    page.locator("#id_year_to").press("Enter")
    expect(page.locator("#graph-filters .form-errors")).to_have_count(0)
    expect(page.locator("svg.graph-svg--wide a.gnode--work")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"year_from=2019&year_to=2020"))


def test_recentring_names_the_new_centre_and_keeps_focus_in_the_explorer(page: Page, live_server):
    hattie, people = small_network()
    alan = people[1]
    built(hattie, alan)
    page.goto(f"{live_server.url}/researchers/{hattie.pk}/graph/")
    expect(page).to_have_title("Graph explorer · Hattie Example · BZPEER")
    page.evaluate("window.__noReload = true")

    # By keyboard, from the list of nodes.
    page.locator(".explorer-index summary").click()
    page.locator(f'.explorer-index a[hx-get^="/researchers/{alan.pk}/graph/"]').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/researchers/{alan.pk}/graph/")
    expect(page).to_have_title("Graph explorer · Alan Turing · BZPEER")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alan Turing")
    expect(page.locator("#explorer-title")).to_be_focused()
    expect(page.locator("#explorer-status")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#explorer-status")).to_contain_text("Graph centred on Alan Turing")
    assert page.evaluate("window.__noReload") is True, "re-centring reloaded the page"
    screenshot(page, "graph-explorer-recentred")

    # Selecting a tie moves focus to the works behind it.
    page.locator("#explorer .tie-list a").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#graph-edge-title")).to_be_focused()
    expect(page).to_have_title("Graph explorer · Alan Turing · BZPEER")

    page.go_back()
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/researchers/{hattie.pk}/graph/")
    expect(page).to_have_title("Graph explorer · Hattie Example · BZPEER")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hattie Example")


def test_recentring_without_javascript_names_the_new_centre(browser, live_server, policy_watch):
    hattie, people = small_network()
    alan = people[1]
    built(hattie, alan)
    context = new_context(browser, policy_watch, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/researchers/{hattie.pk}/graph/?year_from=2019")
        page.locator(".explorer-index summary").click()
        page.locator(f'.explorer-index a[href^="/researchers/{alan.pk}/graph/"]').click()
        expect(page).to_have_url(f"{live_server.url}/researchers/{alan.pk}/graph/?year_from=2019")
        expect(page).to_have_title("Graph explorer · Alan Turing · BZPEER")
        expect(page.get_by_role("heading", level=1)).to_have_text("Alan Turing")
    finally:
        context.close()


def test_the_json_export_downloads_what_the_filters_show(page: Page, live_server):
    hattie, _ = small_network()
    built(hattie)
    page.goto(f"{live_server.url}/researchers/{hattie.pk}/graph/")
    expect(page.locator("svg.graph-svg--wide")).to_be_visible()
    page.locator("#id_year_from").fill("2021")
    page.locator("#id_year_from").press("Enter")
    expect(page).to_have_url(re.compile(r"year_from=2021"))
    with page.expect_download() as info:
        page.get_by_role("link", name="JSON").click()
    download = info.value
    assert download.suggested_filename == "hattie-example-graph.json"
    data = json.loads(Path(download.path()).read_text())
    shown = page.locator("svg.graph-svg--wide a.gnode")
    assert sorted(n["id"] for n in data["nodes"]) == sorted(
        shown.evaluate_all("nodes => nodes.map(n => n.dataset.node)")
    )
    assert {n["year"] for n in data["nodes"] if n["type"] == "work"} == {2021, 2022, 2023}


@pytest.mark.parametrize("width", [390, 1280])
def test_nothing_below_the_graph_moves_when_the_slice_arrives(
    browser, live_server, worker, policy_watch, width
):
    hattie, _ = small_network()
    context = new_context(browser, policy_watch, viewport={"width": width, "height": 900})
    page = context.new_page()
    below = page.locator("#graph-title").locator(
        "xpath=ancestor::section[1]/following-sibling::*[1]"
    )
    try:
        page.goto(f"{live_server.url}/researchers/{hattie.pk}/")
        expect(page.locator("#graph-slice-poll")).to_be_visible()
        expect(below.get_by_role("heading", name="Published work")).to_be_visible()
        waiting = below.bounding_box()

        expect(page.locator("#graph-slice svg.graph-svg:visible")).to_be_visible(
            timeout=BUILD_TIMEOUT
        )
        expect(page.locator("#graph-slice-poll")).to_have_count(0)
        drawn = below.bounding_box()
        assert waiting and drawn
        assert drawn["y"] == pytest.approx(waiting["y"], abs=1), (
            f"the section under the graph moved by {drawn['y'] - waiting['y']:.0f} px"
        )
    finally:
        context.close()
