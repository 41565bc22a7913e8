"""A staff merge and its undo in a real browser: from the suggestion page, two records of one
person become one (the merged id answers 301), and the operations page undoes it."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from profiles.models import DuplicateSuggestion, SplitRequest
from tests.e2e.conftest import screenshot
from tests.e2e.test_profile import log_in
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.mfa import add_totp, totp_code
from tests.profiles.conftest import owned_record
from works.models import Work

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"


def test_staff_merge_two_records_and_undo_it(live_server, page: Page) -> None:
    first = AuthorFactory(display_name="Rosa Example")
    second = AuthorFactory(display_name="Rosa Example")
    for author, year in ((first, 2014), (second, 2022)):
        work = WorkFactory(title=f"Forgetting in networks {year}", publication_year=year)
        AuthorshipFactory(work=work, author=author, position=0)
    suggestion = DuplicateSuggestion.objects.create(
        author_low_id=first.pk,
        author_high_id=second.pk,
        evidence={"name_folded": "rosa example", "shared_coauthors": 1},
        strength=13,
    )
    staff = get_user_model().objects.create_user(
        "reviewer", "reviewer@bzpeer.example", PASSWORD, is_staff=True
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    secret = add_totp(staff)

    page.goto(f"{live_server.url}/accounts/login/?next=/staff/merges/{suggestion.pk}/")
    page.get_by_label("Email").fill("reviewer@bzpeer.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_placeholder("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page.get_by_role("heading", name="Merge", exact=True)).to_be_visible()
    screenshot(page, "staff-merge-form")
    page.get_by_label(re.compile(rf"record {first.pk} \(1 work\)")).check()
    page.get_by_label("Note (kept with the operation)").fill("One person, two records.")
    page.get_by_role("button", name="Merge", exact=True).click()

    expect(page.get_by_text(f"Record {second.pk} merged into record {first.pk}")).to_be_visible()
    expect(page.locator("#decision")).to_contain_text("Merged")

    merged_url = f"{live_server.url}/researchers/{second.pk}/"
    response = page.goto(merged_url)
    assert response is not None
    redirected = response.request.redirected_from
    assert redirected is not None and redirected.url == merged_url
    assert redirected.response() is not None and redirected.response().status == 301
    expect(page).to_have_url(f"{live_server.url}/researchers/{first.pk}/")
    expect(page.get_by_role("link", name="Forgetting in networks 2022", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Forgetting in networks 2014", exact=True)).to_be_visible()

    page.goto(f"{live_server.url}/staff/merges/operations/")
    expect(page.get_by_role("heading", name="Merges and splits")).to_be_visible()
    expect(page.get_by_text("In effect")).to_be_visible()
    screenshot(page, "staff-operations")
    page.get_by_role("button", name=re.compile(r"Undo operation \d+")).click()

    expect(page.get_by_text(re.compile(r"Operation \d+ undone"))).to_be_visible()
    expect(page.locator(".state-badge", has_text="Undone")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"Undo operation"))).to_have_count(0)
    screenshot(page, "staff-operations-undone")

    for author, year in ((second, 2022), (first, 2014)):
        url = f"{live_server.url}/researchers/{author.pk}/"
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert response.request.redirected_from is None
        expect(
            page.get_by_role("link", name=f"Forgetting in networks {year}", exact=True)
        ).to_be_visible()
        other = 2014 if year == 2022 else 2022
        expect(
            page.get_by_role("link", name=f"Forgetting in networks {other}", exact=True)
        ).to_have_count(0)

    # The split page of a record, where staff move works off it (looked at, not used here).
    page.goto(f"{live_server.url}/staff/merges/records/{first.pk}/split/")
    expect(
        page.get_by_role("checkbox", name=re.compile("Forgetting in networks 2014"))
    ).to_be_visible()
    screenshot(page, "staff-split")


def test_an_owner_asks_for_works_of_a_namesake_to_be_split_off(live_server, page: Page) -> None:
    owner, author = owned_record("Rosa Owner")
    for title in ("Rosa's own paper", "A namesake's paper on soil"):
        AuthorshipFactory(author=author, work=WorkFactory(title=title))
    log_in(page, live_server.url, owner.email)

    page.goto(f"{live_server.url}/researchers/{author.pk}/profile/")
    page.get_by_role("link", name="These works are another person's").click()
    expect(page.get_by_role("heading", name="These works are another person's")).to_be_visible()
    page.get_by_role("button", name="Send to staff").click()
    expect(page.get_by_text("Tick the works that are another person's.")).to_be_visible()
    page.get_by_role("checkbox", name=re.compile("A namesake's paper on soil")).check()
    page.get_by_label("Whose they are, as far as you know").fill("A soil scientist in Lyon.")
    screenshot(page, "owner-split-request")
    page.get_by_role("button", name="Send to staff").click()

    expect(page).to_have_url(f"{live_server.url}/researchers/{author.pk}/")
    expect(page.get_by_text("Your request is with staff")).to_be_visible()
    request = SplitRequest.objects.get()
    assert request.reason == "A soil scientist in Lyon."
    assert [w.title for w in Work.objects.filter(pk__in=request.work_ids)] == [
        "A namesake's paper on soil"
    ]
