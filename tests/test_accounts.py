"""Accounts (django-allauth) in the site's own layout, with mail through Django's backend."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import AuthorFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"


@pytest.fixture
def user():
    user = get_user_model().objects.create_user("ada", "ada@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_account_pages_use_the_site_layout(client, name):
    html = client.get(reverse(name)).content.decode()
    assert 'class="brand"' in html and "BZPEER" in html
    assert '<main id="main" class="wrap auth-main">' in html


def test_sign_up_sends_a_verification_email_and_holds_log_in_until_verified(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    # Mail is sent once the request's writes commit (outbox).
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new@example.org"]
    assert re.search(r"/accounts/confirm-email/\S+/", mailoutbox[0].body)
    assert "_auth_user_id" not in client.session


def sign_up(client, capture, email: str, name: str = "", next_url: str = ""):
    with capture(execute=True):
        return client.post(
            reverse("account_signup") + (f"?next={next_url}" if next_url else ""),
            {"first_name": name, "email": email, "password1": PASSWORD, "password2": PASSWORD},
        )


def ask_for_a_password_reset(client, capture, email: str):
    with capture(execute=True):
        return client.post(reverse("account_reset_password"), {"email": email})


@pytest.mark.parametrize(
    ("send", "subject", "greeting"),
    [
        (
            lambda c, capture: sign_up(c, capture, "walker.tester@example.org", "Walker Tester"),
            "[BZPEER] Please Confirm Your Email Address",
            "Hello Walker Tester,",
        ),
        (
            lambda c, capture: sign_up(c, capture, "walker.tester@example.org"),
            "[BZPEER] Please Confirm Your Email Address",
            "Hello walker.tester,",
        ),
        (
            lambda c, capture: ask_for_a_password_reset(c, capture, "ada@example.org"),
            "[BZPEER] Password Reset Email",
            "Hello Ada Lovelace,",
        ),
        (
            lambda c, capture: sign_up(c, capture, "ada@example.org", "Someone Else"),
            "[BZPEER] Account Already Exists",
            "Hello Ada Lovelace,",
        ),
        (
            lambda c, capture: ask_for_a_password_reset(c, capture, "nobody@example.org"),
            "[BZPEER] Unknown Account",
            "Hello nobody,",
        ),
    ],
    ids=["confirm", "confirm-no-name", "reset", "already-exists", "unknown-account"],
)
def test_account_mails_are_titled_by_the_site_and_greet_the_person(
    client, user, mailoutbox, django_capture_on_commit_callbacks, send, subject, greeting
):
    user.first_name = "Ada Lovelace"
    user.save()

    send(client, django_capture_on_commit_callbacks)

    [mail] = mailoutbox
    assert mail.subject == subject
    assert mail.body.startswith(greeting + "\n")
    assert "user " + user.username not in mail.body and "user walker" not in mail.body
    assert "testserver" not in mail.subject and "Hello from" not in mail.body


def test_password_reset_mails_a_link_that_sets_a_new_password(
    client, user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mailoutbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link.group(1),
        {"password1": "another-long-password-2", "password2": "another-long-password-2"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-password-2")


def test_log_out_is_a_post_and_ends_the_session(client, user):
    client.force_login(user)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused_with_a_message(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


# Failed log-ins lock an account for one address, not for everyone


@pytest.fixture
def researcher(settings):
    """Like `user`, hashed fast: these tests make many attempts."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_user("rosa", "rosa@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def log_in_from(client, researcher, address: str, password: str = PASSWORD) -> bool:
    client.post(
        reverse("account_login"),
        {"login": researcher.email, "password": password},
        REMOTE_ADDR=address,
    )
    logged_in = "_auth_user_id" in client.session
    client.logout()
    return logged_in


def test_five_wrong_passwords_lock_the_account_for_that_address_only(client, researcher):
    for n in range(5):
        assert not log_in_from(client, researcher, "203.0.113.9", password=f"guess-{n}")
    # The stranger at 203.0.113.9 may not go on guessing, even with the right password...
    response = client.post(
        reverse("account_login"),
        {"login": researcher.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.9",
    )
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # ...but the researcher, elsewhere, still logs in.
    assert log_in_from(client, researcher, "198.51.100.20")


def test_wrong_passwords_for_many_accounts_from_one_address_stop_that_address(client, researcher):
    for n in range(10):
        client.post(
            reverse("account_login"),
            {"login": f"nobody{n}@example.org", "password": "wrong"},
            REMOTE_ADDR="203.0.113.9",
        )
    assert not log_in_from(client, researcher, "203.0.113.9")
    assert log_in_from(client, researcher, "198.51.100.20")


# After confirming the address, back to the page the person signed up from


def confirm_from_the_mail(client, mailoutbox, capture):
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mailoutbox[-1].body)
    page = client.get(link.group(1))
    assert page.status_code == 200
    # The confirm button posts back what the page carried.
    action = re.search(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.content.decode())
    hidden = dict(
        re.findall(r'<input type="hidden" name="(next)" value="([^"]*)"', page.content.decode())
    )
    with capture(execute=True):
        return client.post(action.group(1) if action else link.group(1), hidden)


def start_sign_up_from(client, capture, page: str):
    form = client.get(reverse("account_signup") + f"?next={page}").content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="(next)" value="([^"]*)"', form))
    assert hidden == {"next": page}
    with capture(execute=True):
        return client.post(
            reverse("account_signup"),
            {"email": "walker.tester@example.org", "password1": PASSWORD, "password2": PASSWORD}
            | hidden,
        )


def test_confirming_the_address_lands_on_the_page_signed_up_from(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    page = reverse("profiles:researcher_detail", args=[AuthorFactory().pk])
    start_sign_up_from(client, django_capture_on_commit_callbacks, page)

    response = confirm_from_the_mail(client, mailoutbox, django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response["Location"] == page
    assert client.session["_auth_user_id"]


def test_confirming_in_another_browser_also_lands_on_that_page(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    page = reverse("profiles:researcher_detail", args=[AuthorFactory().pk])
    start_sign_up_from(client, django_capture_on_commit_callbacks, page)

    response = confirm_from_the_mail(Client(), mailoutbox, django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response["Location"] == page


def test_a_next_to_another_site_is_not_kept_through_confirmation(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {
                "email": "walker.tester@example.org",
                "password1": PASSWORD,
                "password2": PASSWORD,
                "next": "https://evil.example/",
            },
        )
    assert "evil" not in mailoutbox[-1].body

    response = confirm_from_the_mail(client, mailoutbox, django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response["Location"] == "/"
