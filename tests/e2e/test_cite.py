import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from works.demo.services import seed_researcher_load
from works.models import Work

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_cite_on_the_work_page_shows_bibtex_apa_and_copies_them(page: Page, live_server):
    seed_researcher_load()
    work = Work.objects.get(arxiv_id="1905.01067")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto(f"{live_server.url}/works/{work.pk}/")
    bibtex = page.locator(".cite__bibtex")
    expect(bibtex).to_be_hidden()
    page.locator(".cite__summary").click()

    expect(bibtex).to_be_visible()
    expect(bibtex).to_contain_text("@misc{zhou2020deconstructing,")
    expect(page.locator(".cite__reference")).to_contain_text(
        "Zhou, H., Lan, J., Liu, R., & Yosinski, J. (2020)."
    )
    copy = page.get_by_role("button", name="Copy BibTeX")
    copy.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("@misc{zhou2020deconstructing,")
    assert "eprint = {1905.01067}" in copied
    expect(page.get_by_role("button", name="Copy BibTeX")).to_be_visible(timeout=4000)
    for label in ("BibTeX", "RIS", "CSL-JSON", "CSV"):
        expect(page.locator(".cite__downloads").get_by_role("link", name=label)).to_be_visible()
    screenshot(page, "work-cite")

    with page.expect_download() as download:
        page.locator(".cite__downloads").get_by_role("link", name="RIS").click()
    assert download.value.suggested_filename == (
        "zhou-2020-deconstructing-lottery-tickets-zeros-signs-and.ris"
    )


def test_cite_in_a_list_loads_its_panel_when_opened(page: Page, live_server, settings):
    settings.ROOT_URLCONF = "tests.e2e.cite_urls"
    seed_researcher_load()

    page.goto(f"{live_server.url}/listed-works/")
    entries = page.locator("li.work")
    expect(entries).to_have_count(3)
    expect(page.locator(".cite__bibtex")).to_have_count(0)

    entries.nth(0).locator(".cite__summary").click()

    expect(entries.nth(0).locator(".cite__bibtex")).to_contain_text("@misc{zhou2022fortuitous,")
    expect(entries.nth(0).get_by_role("button", name="Copy reference")).to_be_visible()
    expect(page.locator(".cite__bibtex")).to_have_count(1)
    screenshot(page, "listed-works-cite")


def test_cite_without_javascript_links_to_the_citation_page(
    browser, policy_watch, live_server, settings
):
    from tests.e2e.conftest import new_context

    settings.ROOT_URLCONF = "tests.e2e.cite_urls"
    seed_researcher_load()
    context = new_context(browser, policy_watch, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/listed-works/")
    page.locator("li.work").nth(0).locator(".cite__summary").click()
    page.get_by_role("link", name="Show the BibTeX and a formatted reference").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Cite “Fortuitous Forgetting")
    expect(page.locator(".cite__bibtex")).to_contain_text("@misc{zhou2022fortuitous,")
    expect(page.get_by_role("button", name="Copy BibTeX")).to_be_hidden()
    screenshot(page, "cite-page-no-js")
    context.close()
