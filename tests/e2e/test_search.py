import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import new_context, screenshot
from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    InstitutionFactory,
    TopicFactory,
    WorkFactory,
)
from tests.works.factories_search import WorkTopicFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def search_status(page: Page):
    """The search's own status line (a live region), not the site's polite announcer."""
    return page.locator('#search-status[role="status"]')


def make_researchers():
    hattie = AuthorFactory.create(
        display_name="Hattie Zhou",
        name_variants=["H. Zhou", "Zhou Hattie"],
        last_known_institution=InstitutionFactory.create(display_name="Mila - Quebec AI Institute"),
    )
    for title in ("Deconstructing lottery tickets", "Fortuitous forgetting"):
        AuthorshipFactory.create(author=hattie, work=WorkFactory.create(title=title))
    AuthorFactory.create(display_name="Hattie Zhao", is_synthetic=True)
    AuthorFactory.create(display_name="Wei Zhou")
    AuthorFactory.create(display_name="Ada Lovelace")
    return hattie


def test_typing_a_misspelt_name_shows_results_live_and_leads_to_the_profile(
    page: Page, live_server
):
    hattie = make_researchers()

    page.goto(live_server.url + "/researchers/")
    expect(search_status(page)).to_have_text("Type a name to search.")
    # Survives only if the results arrive without a page load.
    page.evaluate("window.__beforeTyping = 'still here'")

    page.get_by_label("Name, or part of a name").press_sequentially("hatie zhou", delay=40)

    results = page.locator("#search-results")
    expect(results.get_by_role("link").first).to_have_text("Hattie Zhou")
    expect(search_status(page)).to_contain_text("match")
    expect(search_status(page)).to_contain_text("“hatie zhou”")
    expect(results.get_by_text("Ada Lovelace")).to_have_count(0)
    expect(results.get_by_text("2 works · Mila - Quebec AI Institute")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/researchers/\?q=hatie(\+|%20)zhou$"))
    expect(page).to_have_title("“hatie zhou”: researchers · BZPEER")
    assert page.evaluate("window.__beforeTyping") == "still here"
    screenshot(page, "search")

    results.get_by_role("link", name="Hattie Zhou").click()

    expect(page).to_have_url(f"{live_server.url}/researchers/{hattie.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hattie Zhou")


def test_header_search_box_leads_to_the_results_page(page: Page, live_server):
    make_researchers()

    page.goto(live_server.url + "/")
    page.get_by_role("search").first.get_by_label("Search researchers").fill("zhou hattie")
    page.get_by_role("search").first.get_by_label("Search researchers").press("Enter")

    expect(page).to_have_url(re.compile(r"/researchers/\?q=zhou\+hattie$"))
    expect(page.locator("#search-results").get_by_role("link").first).to_have_text("Hattie Zhou")


def test_search_works_without_javascript(browser: Browser, live_server, policy_watch):
    make_researchers()
    context = new_context(browser, policy_watch, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/researchers/")
        page.get_by_label("Name, or part of a name").fill("H. Zhou")
        page.get_by_role("button", name="Search").click()

        expect(page).to_have_url(re.compile(r"/researchers/\?q=H\.\+Zhou$"))
        expect(page.locator("#search-results").get_by_role("link").first).to_have_text(
            "Hattie Zhou"
        )
    finally:
        context.close()


def test_result_pages_change_in_place_and_the_back_button_returns(page: Page, live_server):
    for i in range(25):
        AuthorFactory.create(display_name=f"Zhou Person{i:02d}")

    page.goto(live_server.url + "/researchers/?q=zhou")
    page.evaluate("window.__beforePaging = 'still here'")
    results = page.locator("#search-results")
    expect(results.locator("li.card")).to_have_count(20)

    page.get_by_role("navigation", name="Result pages").get_by_role("link", name="Next").click()

    expect(results.locator("li.card")).to_have_count(5)
    expect(page).to_have_url(re.compile(r"page=2$"))
    expect(search_status(page)).to_contain_text("page 2 of 2")
    assert page.evaluate("window.__beforePaging") == "still here"
    screenshot(page, "search-page-2")

    page.go_back()

    expect(results.locator("li.card")).to_have_count(20)
    expect(search_status(page)).to_contain_text("page 1 of 2")


def test_visitor_follows_a_result_to_its_institution_and_a_topic(page: Page, live_server):
    hattie = make_researchers()
    topic = TopicFactory.create(
        display_name="Neural network pruning and sparsity",
        domain="Physical Sciences",
        field="Computer Science",
        subfield="Artificial Intelligence",
        description="Removing weights from trained networks without losing accuracy.",
        keywords=["lottery ticket hypothesis", "pruning", "sparsity"],
    )
    for work in hattie.works.all():
        WorkTopicFactory.create(work=work, topic=topic)

    page.goto(live_server.url + "/researchers/?q=hattie")
    page.locator("#search-results").get_by_role("link", name="Mila - Quebec AI Institute").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Mila - Quebec AI Institute")
    expect(page.get_by_role("link", name=re.compile(r"^ROR "))).to_be_visible()
    expect(page.get_by_text("2 works · Latest affiliation")).to_be_visible()
    screenshot(page, "institution")

    page.goto(live_server.url + f"/topics/{topic.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(topic.display_name)
    expect(page.get_by_text("2 works on this topic")).to_be_visible()
    screenshot(page, "topic")

    page.get_by_role("link", name="Fortuitous forgetting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fortuitous forgetting")


def test_a_rate_limited_live_search_says_so_in_place(page: Page, live_server, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": "1/m/ip"}
    make_researchers()
    page.goto(live_server.url + "/researchers/")
    box = page.get_by_label("Name, or part of a name")

    box.fill("hattie zhou")
    results = page.locator("#search-results")
    expect(results.get_by_role("link").first).to_have_text("Hattie Zhou")
    box.fill("wei zhou")

    # htmx swaps the 429 fragment in: the message replaces the old results.
    expect(search_status(page)).to_have_text(
        "Too many searches from your address: wait a minute and try again."
    )
    expect(
        results.get_by_text("Searches from your address are paused for a minute.")
    ).to_be_visible()
    expect(results.get_by_role("link", name="Hattie Zhou")).to_have_count(0)


def test_a_very_long_paste_into_the_header_box_searches_within_the_limit(page: Page, live_server):
    make_researchers()
    page.goto(live_server.url + "/")
    header_box = page.get_by_role("search").first.get_by_label("Search researchers")

    header_box.fill("Hattie Zhou " * 420)  # 5,040 characters, as a paste
    header_box.press("Enter")

    # The box took the search's 200 characters, like the search page's own box.
    box = page.get_by_label("Name, or part of a name")
    expect(box).to_have_value(("Hattie Zhou " * 17)[:200].strip())
    expect(page.locator("#search-results").get_by_role("link").first).to_have_text("Hattie Zhou")
    expect(search_status(page)).to_contain_text("Only the first 8 words were searched for")
    screenshot(page, "search-long-header-query")


def _agree(page: Page, query: str, first_result: str) -> None:
    """The address, the box, the status line and the results all speak of `query`."""
    expect(page).to_have_url(
        re.compile(r"/researchers/\?q=" + query.replace(" ", r"(\+|%20)") + "$")
    )
    expect(page.get_by_label("Name, or part of a name")).to_have_value(query)
    expect(search_status(page)).to_contain_text(f"“{query}”")
    expect(page.locator("#search-results").get_by_role("link").first).to_have_text(first_result)
    expect(page).to_have_title(f"“{query}”: researchers · BZPEER")


def test_enter_during_a_live_search_then_back_and_forward_keep_box_address_and_results_together(
    page: Page, live_server
):
    make_researchers()
    page.goto(live_server.url + "/researchers/")
    box = page.get_by_label("Name, or part of a name")

    box.press_sequentially("wei zhou", delay=40)
    _agree(page, "wei zhou", "Wei Zhou")

    # Searches now take a moment, so Enter comes while the live search is under way.
    def slow(route):
        page.wait_for_timeout(300)
        route.continue_()

    page.route(re.compile(r"/researchers/\?q="), slow)
    box.fill("")
    with page.expect_request(re.compile(r"\?q=ada$")):
        box.press_sequentially("ada", delay=40)
    box.press("Enter")
    _agree(page, "ada", "Ada Lovelace")
    page.unroute(re.compile(r"/researchers/\?q="))

    box.fill("hattie")
    _agree(page, "hattie", "Hattie Zhou")
    screenshot(page, "search-after-enter")

    page.go_back()
    _agree(page, "ada", "Ada Lovelace")
    page.go_back()
    _agree(page, "wei zhou", "Wei Zhou")
    page.go_forward()
    _agree(page, "ada", "Ada Lovelace")
    page.go_forward()
    _agree(page, "hattie", "Hattie Zhou")


def test_typing_a_name_without_its_accents_finds_it_live(page: Page, live_server):
    AuthorFactory.create(display_name="Marko Kovačević", name_variants=["M. Kovačević"])
    AuthorFactory.create(display_name="Dijana Pešić")
    AuthorFactory.create(display_name="Ada Lovelace")
    page.goto(live_server.url + "/researchers/")

    page.get_by_label("Name, or part of a name").press_sequentially("kovacevic", delay=40)

    results = page.locator("#search-results")
    expect(search_status(page)).to_have_text("1 researcher matches “kovacevic”")
    expect(results.get_by_role("link")).to_have_text(["Marko Kovačević"])
    screenshot(page, "search-accents")
