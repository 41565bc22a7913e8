"""Rate limits count per client address, taken from where the deployment says it is.

Directly on the internet (TRUSTED_PROXY_COUNT 0, the default) the address is
the connection's; an X-Forwarded-For a client sends is ignored, so making one
up never opens a fresh bucket. Behind one proxy (TRUSTED_PROXY_COUNT 1) the
address is the one the proxy appended, so clients behind it get buckets of
their own. allauth's limits (log-in, sign-up) and the site's own
(bzpeer.ratelimit) read the same setting.
"""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse

from bzpeer import ratelimit

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"
PROXY = "10.0.0.2"  # what REMOTE_ADDR reads behind a proxy: the proxy itself


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def behind_one_proxy(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


@pytest.fixture
def ada():
    user = get_user_model().objects.create_user("ada", "ada@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def failed_log_ins(client, count: int, **headers) -> None:
    """Wrong passwords for `count` different (unknown) addresses: the per-address limit only."""
    for n in range(count):
        client.post(
            reverse("account_login"),
            {"login": f"nobody{n}@example.org", "password": "wrong"},
            **headers,
        )


def log_in(client, user, **headers):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}, **headers
    )
    return response, "_auth_user_id" in client.session


# allauth's limits


def test_direct_a_made_up_forwarded_address_does_not_open_a_fresh_bucket(client, ada):
    for n in range(10):
        client.post(
            reverse("account_login"),
            {"login": f"nobody{n}@example.org", "password": "wrong"},
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    response, logged_in = log_in(
        client, ada, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="192.0.2.77"
    )
    assert not logged_in
    assert "Too many failed login attempts" in response.content.decode()


def test_behind_a_proxy_one_client_cannot_lock_the_others_out(client, ada, behind_one_proxy):
    failed_log_ins(client, 10, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    response, logged_in = log_in(client, ada, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert not logged_in and "Too many failed login attempts" in response.content.decode()

    # A value the client put in front of the proxy's does not help it either.
    _, logged_in = log_in(
        client, ada, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9"
    )
    assert not logged_in

    _, logged_in = log_in(client, ada, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert logged_in


def test_behind_a_proxy_sign_ups_are_limited_per_client(client, behind_one_proxy, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}

    def sign_up(n: int, forwarded: str) -> int:
        return client.post(
            reverse("account_signup"),
            {"email": f"new{n}@example.org", "password1": PASSWORD, "password2": PASSWORD},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    assert [sign_up(n, "203.0.113.9") for n in range(3)] == [302, 302, 429]
    assert sign_up(3, "198.51.100.20") == 302


# The site's own limiter (claims, codes, search) asks the same address


def attempt(*, remote: str, forwarded: str | None = None) -> bool:
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().post("/")
    request.META.update(meta)
    request.user = AnonymousUser()
    return ratelimit.limit_exceeded(request, action="probe")


@pytest.fixture
def one_per_address(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "probe": "1/h/ip"}


def test_site_limits_direct_ignore_a_made_up_forwarded_address(one_per_address):
    assert attempt(remote="203.0.113.9", forwarded="198.51.100.1") is False
    assert attempt(remote="203.0.113.9", forwarded="198.51.100.2") is True
    assert attempt(remote="203.0.113.10") is False


def test_site_limits_behind_a_proxy_count_each_forwarded_client(one_per_address, behind_one_proxy):
    assert attempt(remote=PROXY, forwarded="203.0.113.9") is False
    assert attempt(remote=PROXY, forwarded="203.0.113.9") is True
    assert attempt(remote=PROXY, forwarded="198.51.100.1, 203.0.113.9") is True
    assert attempt(remote=PROXY, forwarded="198.51.100.20") is False


def test_site_limits_count_an_ipv6_network_as_one_client(one_per_address):
    # Anyone with an IPv6 /64 has billions of addresses: allauth's limits count
    # the /64 as one client, and so do the site's own.
    assert attempt(remote="2001:db8:1:2::1") is False
    assert attempt(remote="2001:db8:1:2:ffff::9") is True
    assert attempt(remote="2001:db8:1:3::1") is False
