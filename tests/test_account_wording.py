"""One wording on every account page: "Log in", "Sign up", "Log out", as in the header.

allauth's own templates say "Sign In", "Sign Up" and "Sign Out"; the site's
copies under templates/ (account/, mfa/, socialaccount/) say it the site's way.
"""

import re
from pathlib import Path

import allauth
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.mfa import add_totp
from tests.profiles.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ALLAUTH_WORDS = re.compile(r"Sign[ -]?(?:In|Up|Out)\b|Sign in\b|Sign out\b|Signup\b")

ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
    "account_inactive",
    "socialaccount_login_cancelled",
    "socialaccount_login_error",
]
SIGNED_IN_PAGES = [
    "account_logout",
    "account_email",
    "account_change_password",
    "mfa_index",
    "socialaccount_connections",
]


def visible(response) -> str:
    html = response.content.decode()
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S))


def words_of(response) -> list[str]:
    return ALLAUTH_WORDS.findall(visible(response))


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_account_pages_say_log_in_and_sign_up(client, name):
    response = client.get(reverse(name))
    # allauth answers its page about a failed third-party log-in with a 401.
    assert response.status_code == (401 if name == "socialaccount_login_error" else 200)
    assert words_of(response) == []


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_account_pages_say_log_out(client, name):
    client.force_login(make_user())
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert words_of(response) == []


def test_the_log_in_page_title_heading_and_button_say_log_in(client):
    html = client.get(reverse("account_login")).content.decode()
    assert re.search(r"<title>\s*Log in\s*·", html)
    assert re.search(r"<h1[^>]*>\s*Log in\s*</h1>", html)
    assert re.search(r"<button[^>]*>\s*Log in\s*</button>", html)
    assert re.search(r"<a [^>]*>\s*sign up\s*</a>", html)


def test_the_sign_up_page_says_sign_up_and_log_in(client):
    html = client.get(reverse("account_signup")).content.decode()
    assert re.search(r"<title>\s*Sign up\s*·", html)
    assert re.search(r"<h1[^>]*>\s*Sign up\s*</h1>", html)
    assert re.search(r"<button[^>]*>\s*Sign up\s*</button>", html)
    assert re.search(r"<a [^>]*>\s*log in\s*</a>", html)


def test_the_log_out_page_and_its_message_say_log_out(client):
    client.force_login(make_user())
    html = client.get(reverse("account_logout")).content.decode()
    assert re.search(r"<h1[^>]*>\s*Log out\s*</h1>", html)
    assert "Are you sure you want to log out?" in html
    response = client.post(reverse("account_logout"))
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["You have logged out."]


def test_the_second_factor_step_says_log_in(client):
    staff = make_user(staff=True)
    add_totp(staff)
    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    response = client.get(reverse("mfa_authenticate"))
    assert response.status_code == 200
    assert words_of(response) == []
    assert re.search(r"<button[^>]*>\s*Log in\s*</button>", response.content.decode())


def test_every_allauth_template_with_its_wording_has_the_sites_copy():
    """An allauth upgrade that adds "Sign In" to a page fails here until the site has a copy."""
    theirs = Path(allauth.__file__).parent / "templates"
    ours = Path(settings.BASE_DIR) / "templates"
    needed = [
        path.relative_to(theirs)
        for folder in ("account", "mfa", "socialaccount")
        for path in sorted((theirs / folder).rglob("*"))
        if path.is_file()
        and "/email/" not in str(path)  # the log-in code mails: log-in by code is off
        and ALLAUTH_WORDS.search(path.read_text())
    ]
    assert needed, "allauth's templates moved: this test no longer looks in the right place"
    missing = [str(p) for p in needed if not (ours / p).exists()]
    assert missing == []
    for p in needed:
        assert ALLAUTH_WORDS.search((ours / p).read_text()) is None, p
