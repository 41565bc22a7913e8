import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from works.models import Author

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_seed_researcher_page_shows_every_section(page: Page, live_server):
    call_command("load_demo", "--synthetic", "0", verbosity=0)
    hattie = Author.objects.get(display_name="Hattie Zhou")

    page.goto(f"{live_server.url}/researchers/{hattie.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hattie Zhou")
    for heading in (
        "Trust snapshot",
        "Actions",
        "Identity and collaboration",
        "Direct collaboration",
        "Research graph",
        "Published work",
        "Topics",
        "Close collaborators",
    ):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text("Trust 15 - Unverified")).to_be_visible()
    expect(page.get_by_role("link", name="Log in to claim")).to_be_visible()

    page.get_by_text("Why this score").click()
    expect(
        page.get_by_role("table").get_by_text("Works with persistent identifiers", exact=True)
    ).to_be_visible()
    screenshot(page, "seed-profile")

    # Her name is also a link among each work's co-authors: the collaborators' list is meant.
    collaborators = page.get_by_role("complementary", name="Topics and collaborators")
    collaborators.get_by_role("link", name="Janice Lan", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Janice Lan")
