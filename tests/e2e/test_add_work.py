"""The owner adds a missing work from BibTeX in a real browser."""

from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_merges import PASSWORD
from tests.e2e.test_profile import log_in
from tests.factories import AuthorshipFactory, WorkFactory
from tests.mfa import add_totp, totp_code
from tests.profiles.conftest import owned_record

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Looked at by hand: the confirmation page at both widths.
SHOTS = Path("/tmp/missing")
ENTRY = """@inproceedings{owner2024,
  title = {Graph Slices for Researcher Pages: A Field Study of Missing Works},
  author = {Owner, Rosa and Coauthor, Pat and Third, Sam},
  booktitle = {Proceedings of the Workshop on Scholarly Records},
  year = {2024}
}"""


def test_owner_pastes_bibtex_confirms_and_sees_the_work_marked_as_theirs(page: Page, live_server):
    owner, author = owned_record("Rosa Owner")
    AuthorshipFactory(author=author, work=WorkFactory(title="An Imported Paper Of Hers"))
    log_in(page, live_server.url, owner.email)

    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.get_by_role("link", name="Add a missing work").click()
    page.get_by_label("BibTeX", exact=True).fill(ENTRY)
    page.get_by_role("button", name="Look it up").click()

    expect(page.get_by_role("heading", name="Confirm the works to add")).to_be_visible()
    expect(page.get_by_text("Will be added as a new work.")).to_be_visible()
    expect(page.get_by_text("Rosa Owner, Pat Coauthor, Sam Third")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"confirm-{width}.png"), full_page=True)
    page.get_by_role("button", name="Add 1 work to my record").click()

    expect(page).to_have_url(f"{live_server.url}/researchers/{author.pk}/")
    expect(page.get_by_text("1 work added to your record.")).to_be_visible()
    added = page.locator(".work", has_text="Graph Slices for Researcher Pages")
    expect(added.locator(".chip--added")).to_have_text("added by the researcher")
    imported = page.locator(".work", has_text="An Imported Paper Of Hers")
    expect(imported.locator(".chip--added")).to_have_count(0)
    page.set_viewport_size({"width": 390, "height": 900})
    added.screenshot(path=str(SHOTS / "added-work-390.png"))


def test_owner_finds_their_paper_on_a_namesake_s_record_and_asks_staff_for_it(
    page: Page, live_server
):
    from profiles.models import SplitRequest
    from tests.factories import AuthorFactory

    owner, author = owned_record("Rosa Owner")
    namesake = AuthorFactory(display_name="R. Owner")
    theirs = WorkFactory(title="A Paper Filed Under A Namesake", doi="10.1000/filed-elsewhere")
    AuthorshipFactory(author=namesake, work=theirs)
    log_in(page, live_server.url, owner.email)

    page.goto(f"{live_server.url}/researchers/{author.pk}/works/add/")
    page.get_by_label("BibTeX", exact=True).fill(
        "@article{mine, title={A Paper Filed Under A Namesake}, doi={10.1000/filed-elsewhere}}"
    )
    page.get_by_role("button", name="Look it up").click()
    expect(page.get_by_text("This work is on another researcher's record")).to_be_visible()
    page.get_by_label("Anything staff should know (optional)").fill("My DOI, my ORCID lists it.")
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"this-is-mine-{width}.png"), full_page=True)
    page.get_by_role("button", name="This is mine: ask staff to move it to my record").click()

    expect(page).to_have_url(f"{live_server.url}/researchers/{author.pk}/")
    expect(page.get_by_text("Your request is with staff")).to_be_visible()
    request = SplitRequest.objects.get()
    assert (request.author_id, request.target_id, request.reason) == (
        namesake.pk,
        author.pk,
        "My DOI, my ORCID lists it.",
    )

    # Staff find it in their queue and open the split page ready to move the work.
    page.get_by_role("button", name="Log out").click()
    staff = get_user_model().objects.create_user(
        "reviewer", "reviewer@bzpeer.example", PASSWORD, is_staff=True
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    secret = add_totp(staff)
    page.goto(f"{live_server.url}/accounts/login/?next=/staff/merges/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_placeholder("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_text(f"the owner of record {author.pk} asks for 1 work")).to_be_visible()
    screenshot(page, "staff-merges-this-is-mine")
    page.get_by_role("link", name=f"Review split request {request.pk}").click()
    expect(page.get_by_text("says this work is theirs")).to_be_visible()
    expect(page.get_by_label("An existing record")).to_be_checked()
    screenshot(page, "staff-split-this-is-mine")
    page.get_by_role("button", name="Move the ticked works").click()
    expect(page.get_by_text(f"to record {author.pk}")).to_be_visible()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    expect(page.locator(".work", has_text="A Paper Filed Under A Namesake")).to_be_visible()
