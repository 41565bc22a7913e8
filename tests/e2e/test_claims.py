"""A claim in a real browser: sign up, verify, claim with an institutional email code,
staff sign in with a password and a TOTP code and approve in a second browser, and the
page reads Claimed at Verification L3."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import new_context, screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.mfa import add_totp, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"
TITLES = ["Fortuitous forgetting", "Deconstructing tickets", "Loss change allocation"]


def seed_like_record():
    """The seed researcher's shape (3 works with ids, no ORCID) plus an institution."""
    institution = InstitutionFactory(display_name="Uni Example", email_domains=["uni.example"])
    author = AuthorFactory(
        display_name="Rosa Example", openalex_id="", last_known_institution=institution
    )
    for i, title in enumerate(TITLES):
        AuthorshipFactory(
            author=author,
            work=WorkFactory(title=title, publication_year=2022 - i, doi=f"10.1000/rosa-{i}"),
        )
    return author


def quick_read(page: Page):
    return page.get_by_role("list", name="Trust and verification")


def test_claim_with_an_institutional_email_then_staff_approve(
    page: Page, browser: Browser, live_server, mailoutbox, policy_watch
):
    author = seed_like_record()
    staff = get_user_model().objects.create_user(
        "reviewer", "reviewer@bzpeer.example", PASSWORD, is_staff=True
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    totp_secret = add_totp(staff)
    profile = f"{live_server.url}/researchers/{author.pk}/"

    # Sign up and verify the account's email from the outbox.
    page.goto(live_server.url + "/accounts/signup/")
    page.get_by_label("Email").fill("rosa.personal@example.org")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign up", exact=True).click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    # Claim the record with a code sent to an address at its institution.
    page.goto(profile)
    expect(quick_read(page)).to_contain_text("Unclaimed author")
    page.get_by_role("link", name="Claim this author record").click()
    expect(page.get_by_role("heading", name="Claim Rosa Example")).to_be_visible()
    page.evaluate("window.__noReload = true")
    page.get_by_label("Email address at your institution").fill("rosa@uni.example")
    page.get_by_role("button", name="Send a code").click()
    expect(page.get_by_text("We sent a six-digit code to rosa@uni.example")).to_be_visible()
    assert mailoutbox[-1].to == ["rosa@uni.example"]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    page.get_by_label("Code from the email").fill(code)
    page.get_by_role("button", name="Verify the code").click()
    expect(page.get_by_text("rosa@uni.example is verified, at Uni Example")).to_be_visible()
    assert page.evaluate("window.__noReload") is True, "the email step reloaded the page"

    page.get_by_label("Links for staff").fill("https://uni.example/~rosa")
    works = {title: page.get_by_role("radiogroup", name=title) for title in TITLES}
    works["Fortuitous forgetting"].get_by_label("Mine", exact=True).check()
    works["Loss change allocation"].get_by_label("Not mine").check()
    screenshot(page, "claim-form")
    page.get_by_role("button", name="Submit claim").click()

    expect(page.get_by_role("heading", name="Your claim on Rosa Example")).to_be_visible()
    expect(page.locator("#claim-state")).to_contain_text("Pending review")
    expect(page.locator("#claim-state")).to_contain_text("Position in the queue1 of 1")
    expect(page.get_by_text("Automatic checks passed")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw claim")).to_be_visible()
    screenshot(page, "claim-status")
    assert mailoutbox[-1].subject == "We received your claim on Rosa Example"

    page.goto(profile)
    expect(quick_read(page)).to_contain_text("Claim pending")
    expect(quick_read(page)).to_contain_text("Verification L2")
    expect(quick_read(page)).to_contain_text("Trust 45 - Partially verified")
    expect(
        page.get_by_text("Claim this author entity first to unlock direct invitations.")
    ).to_be_visible()

    # A staff member approves in another browser.
    staff_context = new_context(browser, policy_watch)
    staff_page = staff_context.new_page()
    staff_page.goto(live_server.url + "/accounts/login/?next=/staff/claims/")
    staff_page.get_by_label("Email").fill("reviewer@bzpeer.example")
    staff_page.get_by_label("Password").fill(PASSWORD)
    staff_page.get_by_role("button", name="Log in", exact=True).click()
    # The password alone does not open the queue: the second factor comes first.
    expect(staff_page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    screenshot(staff_page, "staff-second-factor")
    staff_page.goto(live_server.url + "/staff/claims/")
    expect(staff_page.get_by_role("heading", name="We could not find that page")).to_be_visible()
    staff_page.go_back()
    staff_page.get_by_placeholder("Code").fill("000000")
    staff_page.get_by_role("button", name="Log in", exact=True).click()
    expect(staff_page.get_by_text("Incorrect code.")).to_be_visible()
    staff_page.get_by_placeholder("Code").fill(totp_code(totp_secret))
    staff_page.get_by_role("button", name="Log in", exact=True).click()
    expect(staff_page.get_by_role("heading", name="Claims to review")).to_be_visible()
    expect(
        staff_page.get_by_text("rosa@uni.example is verified and at Uni Example.")
    ).to_be_visible()
    expect(staff_page.get_by_text("Account younger than a day")).to_be_visible()
    screenshot(staff_page, "staff-claims")
    staff_page.get_by_role("link", name=re.compile(r"Review claim \d+")).click()
    expect(staff_page.get_by_role("heading", name="Claim on Rosa Example")).to_be_visible()
    staff_page.get_by_role("button", name="Approve claim").click()
    expect(staff_page.locator("#decision")).to_contain_text("Approved")
    expect(staff_page.get_by_role("button", name="Revoke claim")).to_be_visible()
    screenshot(staff_page, "staff-claim")
    staff_context.close()
    assert mailoutbox[-1].subject == "Your claim on Rosa Example is approved"

    # The claimant's page now reads as claimed, and direct collaboration is open.
    page.goto(profile)
    expect(quick_read(page)).to_contain_text("Claimed")
    expect(quick_read(page)).to_contain_text("Verification L3")
    # 45 before, +25 staff verified, +5 claimed (a pending claim earned nothing), +5 for
    # the works the claim marked as theirs or not.
    expect(quick_read(page)).to_contain_text("Trust 80 - Verified")
    expect(page.get_by_text("Your settings for invitations")).to_be_visible()
    page.get_by_text("Why this score").click()
    staff_row = page.get_by_role("row", name=re.compile(r"^Claim verified by staff"))
    expect(staff_row).to_contain_text("+25")
    expect(page.get_by_text("Loss change allocation")).to_have_count(0)  # their "not mine"
    page.get_by_role("link", name="Edit your profile and works").click()
    expect(page.get_by_text("Disputed: hidden from your page")).to_be_visible()
    screenshot(page, "profile-edit")
    page.get_by_role("textbox", name="Homepage").fill("https://uni.example/~rosa")
    page.get_by_role("textbox", name="Contact preference").fill("Write to my university address.")
    page.get_by_label("Open to collaborate").check()
    page.get_by_role("button", name="Save profile").click()
    direct = page.get_by_role("region", name="Direct collaboration")
    expect(direct).to_contain_text("Yes, open to new collaborations")
    expect(direct).to_contain_text("Write to my university address.")
    expect(direct.get_by_role("link", name="https://uni.example/~rosa")).to_be_visible()
    screenshot(page, "claimed-profile")


def test_log_in_to_claim_lands_on_the_claim_form(page: Page, live_server):
    """Issue 13, 6: "Log in to claim" keeps its promise after the log-in."""
    author = seed_like_record()
    user = get_user_model().objects.create_user("rosa", "rosa@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.get_by_role("link", name="Log in to claim").click()
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    screenshot(page, "claims-after-log-in")
    expect(page.get_by_role("heading", name="Claim Rosa Example")).to_be_visible()
    expect(page.get_by_role("button", name="Submit claim")).to_be_visible()


def test_sign_up_from_log_in_to_claim_lands_on_the_claim_form(page: Page, live_server, mailoutbox):
    """A newcomer follows "Log in to claim", signs up instead, confirms their email
    and arrives at the claim form, not at the home page or the profile."""
    author = seed_like_record()

    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.get_by_role("link", name="Log in to claim").click()
    # The log-in form's own link, which carries the way back (the header's does not).
    page.get_by_role("main").get_by_role("link", name="sign up", exact=True).click()
    page.get_by_label("Email").fill("rosa.new@example.org")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign up", exact=True).click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    screenshot(page, "claims-after-sign-up")
    expect(page.get_by_role("heading", name="Claim Rosa Example")).to_be_visible()


def approved_on_links_alone(author, *, works_not_mine=()):
    """Rosa's claim on `author`, with a link as its only evidence, approved by staff."""
    from profiles import services

    owner = get_user_model().objects.create_user("rosa", "rosa@example.org", PASSWORD)
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    reviewer = get_user_model().objects.create_user("staff", "staff@bzpeer.example", is_staff=True)
    claim = services.claim_submit(
        user=owner,
        author=author,
        links=["https://uni.example/~rosa"],
        statement="",
        works_mine=[],
        works_not_mine=list(works_not_mine),
    )
    services.claim_approve(claim=claim, staff=reviewer)
    return owner


def test_a_staff_verified_record_reads_verified_and_why_this_score_shows_the_floor(
    page: Page, live_server
):
    """Issue 13, 7: staff approved a claim on links alone; the quick read said
    "Partially verified" beside "Verification L3"."""

    author = seed_like_record()
    approved_on_links_alone(author)

    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.get_by_text("Why this score").click()
    screenshot(page, "claims-l3-why-this-score")
    expect(quick_read(page)).to_contain_text("Verification L3")
    expect(quick_read(page)).to_contain_text("Trust 60 - Verified")
    floor = page.get_by_role("row", name=re.compile(r"^Staff verification sets the floor"))
    expect(floor).to_contain_text("+5")
    expect(page.get_by_role("row", name=re.compile(r"^Total"))).to_contain_text("60")


def test_the_owner_marks_a_work_not_theirs_sees_it_listed_and_undoes_it(page: Page, live_server):
    """Issue 13, 5: a work marked "Not mine" left the profile but its own page still
    linked the researcher, and the owner had no list of what they had marked."""

    author = seed_like_record()
    coauthor = AuthorFactory(display_name="Sam Coauthor")
    work = author.works.get(title="Loss change allocation")
    AuthorshipFactory(author=coauthor, work=work, position=1)
    approved_on_links_alone(author, works_not_mine=[work.pk])
    work_page = f"{live_server.url}/works/{work.pk}/"

    # Anyone reading the work's page sees only the authors who say it is theirs.
    page.goto(work_page)
    authors = page.get_by_role("list", name="Authors in published order")
    screenshot(page, "claims-work-page-not-mine")
    expect(authors.get_by_role("link", name="Sam Coauthor")).to_be_visible()
    expect(authors.get_by_role("link", name="Rosa Example")).to_have_count(0)

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.get_by_role("link", name="See or undo").click()
    not_mine = page.get_by_role("region", name="Works you marked not yours")
    expect(not_mine).to_contain_text("Loss change allocation")
    screenshot(page, "claims-profile-edit-not-mine")

    # Marked in place (HTMX): the list of works marked not theirs follows.
    row = page.locator("li.owner-work", has_text="Deconstructing tickets").last
    row.get_by_role("button", name="Not mine").click()
    expect(not_mine).to_contain_text("Deconstructing tickets")

    not_mine.locator("li", has_text="Loss change allocation").get_by_role(
        "button", name="Undo: it is mine"
    ).click()
    expect(not_mine).not_to_contain_text("Loss change allocation")
    page.goto(work_page)
    expect(authors.get_by_role("link", name="Rosa Example")).to_be_visible()
