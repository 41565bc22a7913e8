"""Identity in a real browser: copying an id, editing affiliations, the co-authors page."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PolicyWatch, new_context, screenshot
from tests.e2e.test_profile import log_in
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.profiles.conftest import owned_record
from works.models import AuthorAffiliation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def researcher_with_identity():
    owner, author = owned_record("Grace Identity")
    author.orcid = "0000-0002-1825-0097"
    author.external_ids = {
        "scopus": "http://www.scopus.com/inward/authorDetails.url?authorID=36455008000",
        "dblp": "https://dblp.org/pid/12/3456",
    }
    author.save()
    AuthorAffiliation.objects.create(
        author=author,
        institution=InstitutionFactory(display_name="University of Testing"),
        years=[2019, 2020, 2021, 2023],
    )
    people = [AuthorFactory(display_name=f"Co Author {i}") for i in range(5)]
    for year in range(2015, 2023):
        work = WorkFactory(publication_year=year)
        AuthorshipFactory(work=work, author=author, position=0)
        for position, other in enumerate(people[year % 5 : year % 5 + 2], start=1):
            AuthorshipFactory(work=work, author=other, position=position)
    return owner, author


def test_the_copy_button_copies_the_id_and_announces_it(
    browser: Browser, policy_watch: PolicyWatch, live_server
):
    _, author = researcher_with_identity()
    context = new_context(browser, policy_watch)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")

    orcid = page.locator(".identifier", has_text="ORCID")
    expect(orcid.get_by_role("link", name="0000-0002-1825-0097")).to_have_attribute(
        "href", "https://orcid.org/0000-0002-1825-0097"
    )
    expect(page.locator(".identifier", has_text="Scopus").get_by_role("link")).to_have_text(
        "36455008000"
    )
    expect(page.get_by_text("University of Testing, 2019\u20132021, 2023")).to_be_visible()
    expect(orcid.get_by_role("button", name="Copy ORCID 0000-0002-1825-0097")).to_be_visible()
    button = orcid.locator("button[data-copy]")
    # By keyboard, like any button.
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#live-status")).to_have_text("Copied ORCID 0000-0002-1825-0097")
    expect(button).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "0000-0002-1825-0097"
    page.locator(".identifier", has_text="Scopus").get_by_role("button").click()
    expect(page.locator("#live-status")).to_have_text("Copied Scopus 36455008000")
    assert page.evaluate("navigator.clipboard.readText()") == "36455008000"
    screenshot(page, "identity-profile")

    page.get_by_role("link", name="All 5 co-authors").click()
    expect(page.get_by_role("heading", name="Co-authors")).to_be_visible()
    page.get_by_role("link", name="Name").click()
    expect(page).to_have_url(f"{live_server.url}/researchers/{author.pk}/coauthors/?sort=name")
    expect(page.locator("#live-status")).to_contain_text("Showing 1\u20135 of 5 co-authors")
    expect(page.locator(".coauthor-table tbody tr").first).to_contain_text("Co Author 0")
    screenshot(page, "identity-coauthors")
    context.close()


def test_without_javascript_the_id_is_plain_text_and_no_button_shows(
    browser: Browser, policy_watch: PolicyWatch, live_server
):
    _, author = researcher_with_identity()
    context = new_context(browser, policy_watch, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    expect(page.get_by_role("link", name="0000-0002-1825-0097")).to_be_visible()
    expect(page.locator(".copy-button").first).to_be_hidden()
    context.close()


def test_owner_adds_an_affiliation_and_sees_it_on_their_page(page: Page, live_server):
    owner, author = researcher_with_identity()
    log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/researchers/{author.pk}/profile/#affiliations")
    section = page.locator("#affiliations")
    section.get_by_label("Institution").fill("Bell Labs")
    section.get_by_label("From (year)").fill("2024")
    section.get_by_role("button", name="Add to my history").click()
    expect(section.get_by_text("Added Bell Labs to your history.")).to_be_visible()
    expect(section.locator(".owner-work__title", has_text="Bell Labs")).to_contain_text(
        "2024\u2013present"
    )

    # A bad line is refused in place, with the reason.
    section = page.locator("#affiliations")
    section.get_by_label("Institution").fill("Time Travel U")
    section.get_by_label("From (year)").fill("2030")
    section.get_by_label("To (year, or \u201cpresent\u201d)").fill("2020")
    section.get_by_role("button", name="Add to my history").click()
    expect(page.locator("#affiliations .claim-error").first).to_contain_text("between 1900 and")
    section = page.locator("#affiliations")
    section.get_by_role("button", name="Hide from my page University of Testing").click()
    expect(page.locator("#live-status")).to_have_text("Hidden from your page.")
    screenshot(page, "identity-edit")

    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    expect(page.get_by_text("Bell Labs, 2024\u2013present")).to_be_visible()
    expect(page.get_by_text("University of Testing, 2019")).to_have_count(0)
