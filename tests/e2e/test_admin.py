"""The Django admin in a real browser under the site's Content-Security-Policy.

The admin loads only its own static scripts and styles; this walks the pages
staff use (log-in with the second factor, the claim list and a claim, an author with its
autocomplete and date widgets, adding a user) and the policy watch fails the
test on any violation.
"""

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from profiles import services
from tests.e2e.conftest import screenshot
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.mfa import add_totp, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-1"


def test_staff_use_the_admin_under_the_policy(page: Page, live_server):
    staff = get_user_model().objects.create_superuser(
        "reviewer", "reviewer@bzpeer.example", PASSWORD
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    totp_secret = add_totp(staff)
    claimant = get_user_model().objects.create_user("claimant", "c@example.org", PASSWORD)
    EmailAddress.objects.create(user=claimant, email=claimant.email, verified=True, primary=True)
    author: Any = AuthorFactory(display_name="Rosa Example")
    AuthorshipFactory(author=author, work=WorkFactory(title="Fortuitous forgetting"))
    claim = services.claim_submit(
        user=claimant,
        author=author,
        links=["https://rosa.example/"],
        statement="It is me.",
        works_mine=[],
        works_not_mine=[],
    )

    # /admin/login/ hands staff to the site's log-in, then the second factor.
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_placeholder("Code").fill(totp_code(totp_secret))
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    # The admin's own stylesheet applies: the header bar is coloured.
    header = page.locator("#header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"

    page.goto(live_server.url + "/admin/profiles/claim/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    # The action bar is driven by the admin's actions.js.
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    screenshot(page, "admin-claims")

    page.goto(f"{live_server.url}/admin/profiles/claim/{claim.pk}/change/")
    expect(page.get_by_text("It is me.")).to_be_visible()

    page.goto(f"{live_server.url}/admin/works/author/{author.pk}/change/")
    expect(page.get_by_role("heading", name=re.compile("Change author"))).to_be_visible()
    screenshot(page, "admin-author")

    page.goto(live_server.url + "/admin/auth/user/add/")
    expect(page.get_by_role("heading", name="Add user")).to_be_visible()
