import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from profiles.models import AuthorEvent, Follow
from profiles.selectors import FEED_PAGE_SIZE
from tests.e2e.conftest import screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import make_user

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


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("link", name="Your claims")).to_be_visible()


def active_element(page: Page) -> str:
    """What has the keyboard focus: its tag, id and text, or BODY when nothing has."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e ? `${e.tagName}#${e.id}|${e.textContent.trim().replace(/\\s+/g, ' ')}` : '' }"
    )


def test_enter_on_follow_keeps_the_focus_on_the_button_and_announces_it(page: Page, live_server):
    user = make_user()
    author = AuthorFactory(display_name="Hattie Zhou")
    log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/researchers/{author.pk}/")

    follow_button(page).focus()
    page.keyboard.press("Enter")
    expect(follow_button(page)).to_contain_text("Following1")
    expect(page.locator("#live-status")).to_have_text("Following Hattie Zhou")
    expect(follow_button(page)).to_be_focused()
    assert active_element(page).startswith("BUTTON#|Following")

    page.keyboard.press("Enter")
    expect(follow_button(page)).to_contain_text("Follow researcher0")
    expect(page.locator("#live-status")).to_have_text("Stopped following Hattie Zhou")
    expect(follow_button(page)).to_be_focused()


def test_enter_on_show_more_works_moves_the_focus_to_the_first_new_work(page: Page, live_server):
    author = AuthorFactory(display_name="Hattie Zhou")
    for i in range(25):
        AuthorshipFactory(
            author=author, work=WorkFactory(title=f"Paper {i:02d}", publication_year=2000 + i)
        )
    page.goto(f"{live_server.url}/researchers/{author.pk}/")
    more = page.get_by_role("link", name="Show more")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#work-list .work")).to_have_count(25)
    expect(page.locator("#live-status")).to_have_text("5 more works loaded")
    first_new = page.locator("#work-list .work").nth(20)
    expect(first_new).to_be_focused()
    assert "Paper 04" in active_element(page)
    screenshot(page, "profile-more-works")


def test_enter_on_show_more_in_the_feed_moves_the_focus_to_the_first_new_item(
    page: Page, live_server
):
    user = make_user()
    author = AuthorFactory(display_name="Hattie Zhou")
    followed = Follow.objects.create(user=user, author=author)
    Follow.objects.filter(pk=followed.pk).update(created_at=timezone.now() - timedelta(days=90))
    now = timezone.now()
    for i in range(FEED_PAGE_SIZE + 3):
        AuthorEvent.objects.create(
            author=author,
            kind=AuthorEvent.Kind.NEW_WORK,
            work=WorkFactory(title=f"Feed paper {i:02d}"),
            created_at=now - timedelta(hours=i),
        )
    log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/following/")
    more = page.get_by_role("link", name="Show more")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".feed-event")).to_have_count(FEED_PAGE_SIZE + 3)
    expect(page.locator("#live-status")).to_have_text("3 more feed items loaded")
    expect(page.locator(".feed-event").nth(FEED_PAGE_SIZE)).to_be_focused()
    assert f"Feed paper {FEED_PAGE_SIZE:02d}" in active_element(page)
