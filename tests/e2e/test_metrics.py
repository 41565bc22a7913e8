"""In a browser: the largest generated author's citation metrics and a work's citations."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, WIDTHS, screenshot
from works.models import Author, AuthorMetrics, Work

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_largest_author_shows_metrics_chart_and_definitions(page: Page, live_server):
    call_command("load_demo", "--synthetic", "3000", verbosity=0)
    largest = AuthorMetrics.objects.order_by("-works").first()
    seed = Author.objects.get(display_name="Hattie Zhou")
    assert largest is not None and largest.citations > 0

    page.goto(f"{live_server.url}/researchers/{largest.author_id}/")
    panel = page.get_by_role("region", name="Citation metrics")
    expect(panel).to_be_visible()
    table = panel.get_by_role("table").first
    expect(table.get_by_role("row", name="Citations")).to_contain_text(f"{largest.citations:,}")
    expect(table.get_by_role("row", name="h-index")).to_contain_text(str(largest.h_index))
    expect(panel.get_by_role("img", name="Works per year")).to_be_visible()
    expect(panel.get_by_role("img", name="Citations per year")).to_be_visible()

    panel.get_by_text("Show the numbers", exact=True).click()
    expect(panel.get_by_role("columnheader", name="Citations", exact=True)).to_be_visible()
    panel.get_by_text("How these are counted", exact=True).click()
    expect(panel.get_by_text("The largest number h such that")).to_be_visible()
    screenshot(page, "metrics-largest-author")
    # The panel alone, at each width: the full page is too tall to read the charts in.
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        panel.screenshot(path=str(SCREENSHOTS / f"metrics-panel-{label}.png"))

    # The seed researcher: works with years, no citations counted.
    page.goto(f"{live_server.url}/researchers/{seed.pk}/")
    expect(panel.get_by_role("row", name="Citations")).to_contain_text("0")
    expect(panel.get_by_role("img", name="Works per year")).to_be_visible()
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        panel.screenshot(path=str(SCREENSHOTS / f"metrics-panel-seed-{label}.png"))


def test_work_page_shows_citations_links_and_a_retraction(page: Page, live_server):
    call_command("load_demo", "--synthetic", "3000", verbosity=0)
    cited = (
        Work.objects.filter(is_synthetic=True, is_oa=True)
        .exclude(referenced_works=[])
        .order_by("-cited_by_count")
        .first()
    )
    assert cited is not None

    page.goto(f"{live_server.url}/works/{cited.pk}/")
    expect(page.get_by_role("heading", name="Cited by")).to_be_visible()
    expect(page.get_by_role("heading", name="References")).to_be_visible()
    expect(page.get_by_role("link", name="Read it")).to_be_visible()
    expect(page.locator("#references-count")).to_contain_text("are in BZPEER")
    screenshot(page, "work-citations")

    retracted = Work.objects.filter(is_retracted=True).order_by("-cited_by_count").first()
    assert retracted is not None
    page.goto(f"{live_server.url}/works/{retracted.pk}/")
    expect(page.get_by_role("note")).to_contain_text("marks this work as retracted")
    screenshot(page, "work-retracted")
