import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"


def follow_button(page: Page):
    return page.locator("#follow-form button")


def test_sign_up_verify_email_then_follow_and_unfollow_in_place(
    page: Page, live_server, mailoutbox
):
    author = AuthorFactory(display_name="Grace Example")
    AuthorshipFactory(author=author, work=WorkFactory())

    page.goto(live_server.url + "/accounts/signup/")
    page.get_by_label("Email").fill("new.person@example.org")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    screenshot(page, "signup")
    page.get_by_role("button", name="Sign up", exact=True).click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    page.evaluate("window.__noReload = true")
    expect(follow_button(page)).to_contain_text("Follow researcher0")
    follow_button(page).click()
    expect(follow_button(page)).to_contain_text("Following1")
    expect(page.locator("#follower-stat")).to_have_text("1 follower")
    screenshot(page, "profile-following")
    follow_button(page).click()
    expect(follow_button(page)).to_contain_text("Follow researcher0")
    expect(page.locator("#follower-stat")).to_have_text("0 followers")
    assert page.evaluate("window.__noReload") is True, "the page reloaded"


def test_anonymous_follow_logs_in_and_comes_back_following(page: Page, live_server):
    user = get_user_model().objects.create_user("ada", "ada@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    author = AuthorFactory(display_name="Grace Example")

    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    follow_button(page).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.locator("#pending-follow")).to_have_text(
        "Once you log in or sign up, you will follow Grace Example."
    )
    screenshot(page, "login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}/researchers/{author.pk}/")
    expect(page.get_by_text("You now follow Grace Example.")).to_be_visible()
    expect(follow_button(page)).to_contain_text("Following1")

    page.goto(live_server.url + "/following/")
    expect(page.get_by_role("link", name="Grace Example")).to_be_visible()
    screenshot(page, "following")
