"""Duplicate records in a real browser: staff sign in with their second factor, open the
queue of likely duplicates, compare the two records, and dismiss one with a note."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from profiles import duplicates
from tests.e2e.conftest import screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.mfa import add_totp, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"


def two_records_of_one_person():
    place = InstitutionFactory(display_name="Uni Example")
    first = AuthorFactory(
        display_name="Rosa Example", orcid="0000-0002-1825-0097", last_known_institution=place
    )
    second = AuthorFactory(
        display_name="Rosa Example",
        external_ids={"orcid": "0000-0002-1825-0097"},
        last_known_institution=place,
    )
    coauthor = AuthorFactory(display_name="Mira Coauthor")
    for author, year in ((first, 2014), (second, 2022)):
        work = WorkFactory(title=f"Forgetting in networks {year}", publication_year=year)
        AuthorshipFactory(work=work, author=author, position=0)
        AuthorshipFactory(work=work, author=coauthor, position=1)
    duplicates.duplicate_suggestions_refresh()


def test_staff_open_the_duplicates_queue_and_dismiss_one(live_server, page: Page) -> None:
    two_records_of_one_person()
    staff = get_user_model().objects.create_user(
        "reviewer", "reviewer@bzpeer.example", PASSWORD, is_staff=True
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    secret = add_totp(staff)

    page.goto(live_server.url + "/accounts/login/?next=/staff/merges/")
    page.get_by_label("Email").fill("reviewer@bzpeer.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_placeholder("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page.get_by_role("heading", name="Duplicate records")).to_be_visible()
    expect(page.get_by_text("Same ORCID")).to_be_visible()
    expect(page.get_by_text("1 co-author in common")).to_be_visible()
    expect(page.get_by_role("region", name="First record")).to_contain_text("2014")
    expect(page.get_by_role("region", name="Second record")).to_contain_text("2022")
    screenshot(page, "staff-merges")

    page.get_by_role("link", name=re.compile(r"Review suggestion \d+")).click()
    expect(page.get_by_role("heading", name="Rosa Example and Rosa Example")).to_be_visible()
    screenshot(page, "staff-merge-detail")
    page.get_by_role("button", name="Dismiss").click()
    # The note is required: the browser asks for it before anything is sent.
    expect(page.get_by_role("heading", name="Decision")).to_be_visible()
    page.get_by_label("Why these are not one person").fill("Two people: different fields.")
    page.get_by_role("button", name="Dismiss").click()

    decision = page.locator("#decision")
    expect(decision).to_contain_text("Dismissed")
    expect(decision).to_contain_text("reviewer@bzpeer.example: Two people: different fields.")
    expect(page.get_by_role("button", name="Dismiss")).to_have_count(0)
    screenshot(page, "staff-merge-dismissed")

    page.get_by_role("link", name="Duplicate records").click()
    expect(page.get_by_text("No open suggestions.")).to_be_visible()
    page.get_by_role("link", name="Dismissed").click()
    expect(page.get_by_text("Same ORCID")).to_be_visible()
