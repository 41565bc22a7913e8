"""Sign up from a researcher's page in a real browser, confirm from the mail, land back there."""

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"


def test_sign_up_from_a_researcher_page_and_confirm_back_to_it(page: Page, live_server, mailoutbox):
    institution = InstitutionFactory(display_name="Uni Example", email_domains=["uni.example"])
    author = AuthorFactory(display_name="Rosa Example", last_known_institution=institution)
    for year, title in [(2020, "An older preprint"), (2025, "A newer article")]:
        AuthorshipFactory(
            author=author,
            work=WorkFactory(title=title, publication_year=year, publication_date=date(year, 6, 1)),
        )
    profile = f"/researchers/{author.pk}/"

    page.goto(live_server.url + "/")
    works = page.locator("#recent-title + ul .work__title")
    expect(works).to_have_text(["A newer article", "An older preprint"])
    screenshot(page, "home-recent-works")

    page.goto(f"{live_server.url}/accounts/signup/?next={profile}")
    page.get_by_label("Your name").fill("Walker Tester")
    page.get_by_label("Email").fill("walker.tester@example.org")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    screenshot(page, "signup-with-name")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    mail = mailoutbox[-1]
    assert mail.subject == "[BZPEER] Please Confirm Your Email Address"
    assert mail.body.startswith("Hello Walker Tester,\n")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.body).group(0)
    page.goto(link)
    screenshot(page, "confirm-email")
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url(live_server.url + profile)
    expect(page.get_by_role("heading", name="Rosa Example", level=1)).to_be_visible()
    screenshot(page, "confirmed-back-on-profile")

    page.goto(f"{live_server.url}/researchers/{author.pk}/claim/")
    page.get_by_label("Email address at your institution").fill("rosa@uni.example")
    page.get_by_role("button", name="Send a code").click()
    expect(page.get_by_text("It works once, for 15 minutes")).to_be_visible()
    assert "It works once, for 15 minutes." in mailoutbox[-1].body
    screenshot(page, "claim-code-sent")
