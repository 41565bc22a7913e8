"""The researcher page's works list in a real browser: filter, sort and search in place."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PolicyWatch, new_context, screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, SourceFactory, WorkFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def researcher_with_works():
    author = AuthorFactory(display_name="Ada Lister")
    journal = SourceFactory(display_name="Journal of Lattices", type="journal")
    coauthors = [AuthorFactory() for _ in range(7)]
    for i in range(24):
        work = WorkFactory(
            title=f"Article on lattices {i}" if i % 3 else f"Preprint on graphs {i}",
            type="article" if i % 3 else "preprint",
            publication_year=2000 + i,
            cited_by_count=(i * 7) % 50,
            source=journal if i % 3 else SourceFactory(display_name="arXiv"),
            abstract="We count walks on lattices." if i % 2 else "Colourings of graphs.",
            doi=f"10.1000/ada.{i}",
            arxiv_id=f"2101.{i:05d}" if i % 3 == 0 else "",
            pdf_url="https://example.org/ada.pdf" if i == 23 else "",
            is_retracted=i == 22,
        )
        AuthorshipFactory(author=author, work=work, position=1)
        for position, person in enumerate(coauthors, start=2):
            AuthorshipFactory(author=person, work=work, position=position)
        AuthorshipFactory(author=coauthors[0], work=WorkFactory(), position=0)
    return author


def items(page: Page):
    return page.locator("#work-list > li.work")


def test_filter_sort_and_search_in_place_with_the_url_and_back(page: Page, live_server):
    author = researcher_with_works()
    url = f"{live_server.url}/researchers/{author.pk}/"
    page.goto(url)
    page.evaluate("window.__noReload = true")
    expect(items(page)).to_have_count(20)

    page.get_by_label("Type").select_option("article")
    expect(page).to_have_url(re.compile(r"\?.*type=article"))
    expect(items(page)).to_have_count(16)
    expect(page.locator("#works-summary")).to_contain_text("16 of 24 works match this filter.")
    expect(page.locator("#live-status")).to_have_text("16 of 24 works match, sorted by newest")

    page.get_by_label("Sort by").select_option("cited")
    expect(page).to_have_url(re.compile(r"sort=cited"))
    expect(page.locator("#live-status")).to_contain_text("sorted by most cited")
    cites = [int(t.split()[0]) for t in page.locator(".work__cites").all_inner_texts()]
    assert cites == sorted(cites, reverse=True)

    search = page.get_by_label("Search these works")
    search.fill("walks")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"q=walks"))
    expect(page.locator("#works-summary")).to_contain_text("8 of 24 works match")
    expect(search).to_be_focused()
    screenshot(page, "works-list-filtered")

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"q=walks"))
    expect(page.locator("#works-summary")).to_contain_text("16 of 24 works match")
    expect(page.get_by_label("Search these works")).to_have_value("")
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"sort=cited"))
    expect(page.get_by_label("Sort by")).to_have_value("newest")
    assert page.evaluate("window.__noReload") is True, "the page reloaded"

    # A filter that matches nothing says so and offers to clear it.
    page.get_by_label("Search these works").fill("zeppelins")
    page.get_by_label("Search these works").press("Enter")
    expect(page.locator("#works-none")).to_contain_text("No works match this filter.")
    page.locator("#works-none").get_by_role("link", name="Clear filters").click()
    expect(page).to_have_url(url + "#works-title")
    expect(items(page)).to_have_count(20)


def test_years_backwards_get_a_message_in_the_form_in_place(page: Page, live_server):
    author = researcher_with_works()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.evaluate("window.__noReload = true")
    page.get_by_label("From year").fill("2020")
    page.get_by_label("To year").fill("2010")
    page.get_by_role("button", name="Apply").click()
    message = page.locator("#works-filter .form-errors")
    expect(message).to_contain_text("The years run backwards")
    expect(page.locator("#live-status")).to_contain_text("Part of the filter could not be read.")
    assert page.evaluate("window.__noReload") is True
    screenshot(page, "works-list-error")

    page.get_by_label("To year").fill("2022")
    page.get_by_role("button", name="Apply").click()
    expect(message).to_have_count(0)
    expect(page.locator("#works-summary")).to_contain_text("3 of 24 works match")


def test_show_more_keeps_the_filter(page: Page, live_server):
    author = researcher_with_works()
    for i in range(10):
        AuthorshipFactory(author=author, work=WorkFactory(type="article", title=f"Extra {i}"))
    page.goto(f"{live_server.url}/researchers/{author.pk}/?type=article")
    expect(items(page)).to_have_count(20)
    page.get_by_role("link", name="Show more").click()
    expect(items(page)).to_have_count(26)
    expect(page.locator("#live-status")).to_have_text("6 more works loaded")
    assert "Preprint" not in " ".join(page.locator(".work__title").all_inner_texts())


def test_each_work_shows_its_links_coauthors_and_a_retraction(page: Page, live_server):
    author = researcher_with_works()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    first = items(page).first  # 2023: the PDF
    expect(first.get_by_role("link", name="PDF")).to_have_attribute(
        "href", "https://example.org/ada.pdf"
    )
    expect(first.get_by_role("link", name="DOI 10.1000/ada.23")).to_be_visible()
    expect(first.locator(".work__authors")).to_contain_text("and 3 more")
    expect(first.locator(".work__self")).to_have_text("Ada Lister")
    expect(items(page).nth(1).locator(".badge--retracted")).to_have_text("Retracted")
    screenshot(page, "works-list-entries")


def test_the_filter_form_works_without_javascript(
    browser: Browser, policy_watch: PolicyWatch, live_server
):
    author = researcher_with_works()
    context = new_context(browser, policy_watch, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.get_by_label("Type").select_option("preprint")
    page.get_by_label("Search these works").fill("graphs")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"type=preprint.*q=graphs|q=graphs.*type=preprint"))
    expect(page.locator("#works-summary")).to_contain_text("8 of 24 works match")
    expect(page.get_by_label("Type")).to_have_value("preprint")
    context.close()
