"""The site with its Redis cache stopped or hung: every flow works, limits still refuse, and
the cache is used again once Redis is back, without a restart.

The cache is a Redis of the test's own (own_redis), to stop and to freeze (SIGSTOP). Celery
runs tasks in-process here (tests/conftest.py), so the cache is the only Redis under test.
"""

import re
import threading

import pytest
import redis
from django.core.cache import cache, caches
from django.urls import reverse

from profiles.models import AuthorEvent, Claim, Follow
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.graph.test_views import HTMX, ready, researcher, slice_url
from tests.profiles.conftest import PASSWORD, make_user
from tests.profiles.test_researcher_page import text_of

pytestmark = pytest.mark.django_db


class CountingPool(redis.ConnectionPool):
    """redis-py's pool, counting the connections the cache asks for: one per call on Redis."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def get_connection(self, *args, **kwargs):
        self.calls += 1
        return super().get_connection(*args, **kwargs)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=["stopped", "hung"])
def fault(request):
    return request.param


class Outage:
    """The production cache backend on a Redis of the test's own, which `begin` breaks."""

    def __init__(self, server, fault, settings):
        self.server, self.fault, self.settings = server, fault, settings

    def begin(self):
        self.calls_before = self._pool_calls()
        if self.fault == "stopped":
            self.server.stop()
        else:
            self.server.hang()

    def end(self):
        if self.fault == "stopped":
            self.server.start()
        else:
            self.server.resume()
        # Let the next call try Redis again at once, rather than after the usual few seconds.
        self.settings.REDIS_CACHE_RETRY_SECONDS = 0

    def redis(self):
        return redis.Redis.from_url(self.server.url(), socket_timeout=5)

    @staticmethod
    def _pool_calls() -> int:
        return cache._cache.get_client().connection_pool.calls

    @property
    def calls(self) -> int:
        """How many times this process's cache has called Redis since the outage began."""
        return self._pool_calls() - self.calls_before


@pytest.fixture
def outage(own_redis, fault, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "bzpeer.cache.RedisCache",
            "LOCATION": own_redis.url(),
            "KEY_PREFIX": "bzpeer",
            "OPTIONS": {"pool_class": "tests.test_faults_cache.CountingPool"},
        }
    }
    # Once a call fails, nothing tries Redis again until the test says so (Outage.end): no
    # retry in the middle of a test, however slow the machine.
    settings.REDIS_CACHE_RETRY_SECONDS = 3600
    yield Outage(own_redis, fault, settings)  # own_redis forgets its breaker afterwards


@pytest.fixture
def record():
    institution = InstitutionFactory(display_name="Uni Example", email_domains=["uni.example"])
    author = AuthorFactory(
        display_name="Rosa Example", openalex_id="", last_known_institution=institution
    )
    for i in range(3):
        AuthorshipFactory(author=author, work=WorkFactory(doi=f"10.1000/fault-{author.pk}-{i}"))
    return author


def page(author) -> str:
    return reverse("profiles:researcher_detail", args=[author.pk])


def log_in(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


# --- every flow works while the cache is away -------------------------------------------


def test_log_in_with_a_wrong_then_the_right_password(client, outage):
    user = make_user("ada@example.org")
    outage.begin()
    wrong = log_in(client, user.email, "not-the-password")
    assert wrong.status_code == 200
    assert "not correct" in wrong.content.decode()
    right = log_in(client, user.email, PASSWORD)
    assert right.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_sign_up_sends_the_verification_email(
    client, outage, mailoutbox, django_capture_on_commit_callbacks
):
    outage.begin()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302
    assert [mail.to for mail in mailoutbox] == [["new@example.org"]]
    assert re.search(r"/accounts/confirm-email/\S+/", mailoutbox[0].body)


def test_password_reset_mails_a_link(
    client, outage, mailoutbox, django_capture_on_commit_callbacks
):
    user = make_user("ada@example.org")
    outage.begin()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert [mail.to for mail in mailoutbox] == [[user.email]]
    assert re.search(r"/accounts/password/reset/key/\S+/", mailoutbox[0].body)


def test_a_claim_email_code_is_sent(
    client, outage, record, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(make_user())
    outage.begin()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("profiles:claim_email_send", args=[record.pk]), {"address": "rosa@uni.example"}
        )
    assert response.status_code == 302
    assert mailoutbox[-1].to == ["rosa@uni.example"]
    assert re.search(r"\b\d{6}\b", mailoutbox[-1].body)


def test_a_claim_is_submitted(client, outage, record):
    claimant = make_user()
    client.force_login(claimant)
    outage.begin()
    response = client.post(
        reverse("profiles:claim_start", args=[record.pk]), {"links": "https://rosa.example/"}
    )
    claim = Claim.objects.get(claimant=claimant, author=record)
    assert response.status_code == 302
    assert response["Location"] == reverse("profiles:claim_detail", args=[claim.pk])
    assert client.get(response["Location"]).status_code == 200


def test_the_profile_page_is_built_live_for_anonymous_and_signed_in_visitors(
    client, outage, record
):
    client.get(page(record))  # cached while Redis was up
    outage.begin()
    for _ in range(2):
        response = client.get(page(record))
        assert response.status_code == 200
        assert "Rosa Example" in text_of(response)
    client.force_login(make_user())
    response = client.get(page(record))
    assert response.status_code == 200
    assert "Rosa Example" in text_of(response)


def test_the_following_feed_is_drawn_live_and_kept_again_once_redis_is_back(client, outage, record):
    user = make_user()
    Follow.objects.create(user=user, author=record)
    work = WorkFactory(title="Work while away")
    AuthorshipFactory(author=record, work=work)
    AuthorEvent.objects.create(author=record, kind=AuthorEvent.Kind.NEW_WORK, work=work)
    client.force_login(user)
    client.get(reverse("profiles:following"))  # kept while Redis was up
    outage.begin()
    for _ in range(2):
        response = client.get(reverse("profiles:following"))
        assert response.status_code == 200
        assert "Work while away" in text_of(response)
    outage.end()
    client.get(reverse("profiles:following"))
    assert outage.redis().keys("bzpeer:*feed:*")


def test_a_follow_counts_and_shows(client, outage, record):
    user = make_user()
    client.force_login(user)
    outage.begin()
    response = client.post(reverse("profiles:follow", args=[record.pk]), {"action": "follow"})
    assert response.status_code == 302
    assert Follow.objects.filter(user=user, author=record).exists()
    client.logout()
    assert "1 follower " in text_of(client.get(page(record)))


def test_a_ready_graph_fragment_is_drawn_live(client, outage):
    grace, _ = researcher()
    ready(grace)
    client.get(slice_url(grace.pk), **HTMX)  # cached while Redis was up
    outage.begin()
    for _ in range(2):
        response = client.get(slice_url(grace.pk), **HTMX)
        assert response.status_code == 200
        assert response.content.decode().count('<svg class="graph-svg') == 2
    client.force_login(make_user())
    response = client.get(slice_url(grace.pk), **HTMX)
    assert response.status_code == 200
    assert "3 papers, 4 people" in response.content.decode()


# --- limits still refuse ------------------------------------------------------------------


def test_failed_log_ins_still_lock_the_account_while_redis_is_away(client, outage):
    user = make_user("ada@example.org")
    outage.begin()
    for _ in range(5):  # ACCOUNT_RATE_LIMITS: 5 failures per 5 minutes per account
        assert "not correct" in log_in(client, user.email, "wrong").content.decode()
    refused = log_in(client, user.email, PASSWORD)
    assert "Too many failed login attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_claim_codes_are_still_limited_while_redis_is_away(client, outage, record, mailoutbox):
    client.force_login(make_user())
    outage.begin()
    url = reverse("profiles:claim_email_send", args=[record.pk])
    for _ in range(3):  # RATE_LIMITS: 3 codes per 10 minutes per account
        assert client.post(url, {"address": "rosa@uni.example"}).status_code == 302
    refused = client.post(url, {"address": "rosa@uni.example"})
    assert refused.status_code == 429
    assert "Too many codes asked for" in refused.content.decode()


# --- the cost of an outage, and the way back ----------------------------------------------


def test_redis_is_called_once_then_left_alone_while_it_is_away(client, outage, record):
    user = make_user("ada@example.org")
    outage.begin()
    client.get(page(record))
    log_in(client, user.email, "wrong")
    log_in(client, user.email, PASSWORD)
    client.post(reverse("profiles:follow", args=[record.pk]), {"action": "follow"})
    client.get(page(record))
    assert client.get(page(record)).status_code == 200
    # The first call found Redis away (refused, or no answer within the timeout); every
    # later one went straight to the fallback.
    assert outage.calls == 1
    assert cache.redis_available is False


def test_every_thread_of_the_process_leaves_redis_alone_and_shares_its_counts(outage):
    outage.begin()
    cache.set("attempts", 1)  # finds Redis away; counted in the process's memory
    seen = {}

    def another_request_thread():
        backend = caches["default"]  # Django makes one per thread, with a pool of its own
        seen["attempts"] = backend.incr("attempts")
        seen["calls"] = backend._cache.get_client().connection_pool.calls

    thread = threading.Thread(target=another_request_thread)
    thread.start()
    thread.join()
    assert seen == {"attempts": 2, "calls": 0}
    assert outage.calls == 1


def test_the_cache_is_used_again_once_redis_is_back(
    client, outage, record, django_assert_num_queries
):
    outage.begin()
    client.get(page(record))
    outage.end()
    client.get(page(record))  # built live once more, and cached
    with django_assert_num_queries(0):
        cached = client.get(page(record))
    assert "Rosa Example" in text_of(cached)
    assert cache.redis_available is True
    assert outage.redis().keys("bzpeer:*pages:*")


def test_limits_count_in_redis_again_once_it_is_back(client, outage):
    user = make_user("ada@example.org")
    outage.begin()
    log_in(client, user.email, "wrong")
    outage.end()
    log_in(client, user.email, "wrong")
    assert outage.redis().keys("bzpeer:*allauth:rl:*")


def test_a_follow_made_while_redis_was_away_shows_once_it_is_back(client, outage, record):
    client.get(page(record))  # the anonymous page, cached with no follower
    outage.begin()
    client.get(page(record))  # finds Redis away: the follow below does not even try it
    user = make_user()
    client.force_login(user)
    client.post(reverse("profiles:follow", args=[record.pk]), {"action": "follow"})
    client.logout()
    outage.end()
    # A hung Redis kept the page from before the follow; a restarted one lost it.
    assert "1 follower " in text_of(client.get(page(record)))
