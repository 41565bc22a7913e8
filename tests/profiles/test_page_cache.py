"""The profile page from the cache for anonymous visitors, and every change that retires it."""

import json
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from bzpeer import pagecache
from bzpeer.sessions.store import SessionStore
from profiles import services
from profiles.models import Follow
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import make_user
from tests.profiles.test_researcher_page import PROFILE_PAGE_QUERIES, author_with_works, text_of
from works.importers import import_paths
from works.models import Author, Authorship

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# Topic counts, close collaborators and the works filter's choices: read once per
# author until their pages are retired.
SHARED_READS = 3
AUTHOR_FIXTURE = (
    Path(__file__).resolve().parent.parent / "works" / "fixtures" / "openalex" / "A900000001.json"
)


def page_url(author) -> str:
    return reverse("profiles:researcher_detail", args=[author.pk])


def served_from_cache(client, url: str, django_assert_num_queries, **kwargs):
    with django_assert_num_queries(0):
        return client.get(url, **kwargs)


def test_anonymous_second_visit_is_served_from_the_cache_without_sql(
    client, django_assert_num_queries
):
    author, _ = author_with_works(3)
    with django_assert_num_queries(PROFILE_PAGE_QUERIES):
        first = client.get(page_url(author))
    second = served_from_cache(client, page_url(author), django_assert_num_queries)
    assert second.status_code == 200
    assert second.content == first.content
    assert author.display_name in text_of(second)
    for response in (first, second):
        control = set(response["Cache-Control"].split(", "))
        assert control == {"public", "max-age=0", f"s-maxage={settings.PAGE_CACHE_SHARED_SECONDS}"}
        assert {"Cookie", "HX-Request"} <= set(response["Vary"].split(", "))


def test_head_of_a_cached_page_is_answered_from_the_cache_without_sql(
    client, django_assert_num_queries
):
    author, _ = author_with_works(2)
    first = client.get(page_url(author))
    with django_assert_num_queries(0):
        head = client.head(page_url(author))
    assert head.status_code == 200
    assert head.content == b""
    assert head["Content-Length"] == first["Content-Length"]
    assert head["Cache-Control"] == first["Cache-Control"]


def test_a_page_from_the_cache_keeps_the_headers_the_whole_stack_gave_it(client):
    author, _ = author_with_works(2)
    first = client.get(page_url(author))
    second = client.get(page_url(author))
    assert not hasattr(second.wsgi_request, "session")  # answered before the session middleware
    for name in ("Content-Type", "Content-Length", "X-Frame-Options", "Vary", "Cache-Control"):
        assert second[name] == first[name], name


def test_anonymous_page_holds_no_csrf_token_and_sets_no_cookie(client):
    author, _ = author_with_works(2)
    for _ in range(2):  # built, then from the cache
        response = client.get(page_url(author))
        html = response.content.decode()
        assert "csrfmiddlewaretoken" not in html and "X-CSRFToken" not in html
        assert not response.cookies
    assert not client.cookies


def test_htmx_and_full_page_variants_are_cached_apart(client, django_assert_num_queries):
    author, _ = author_with_works(25)
    url = page_url(author) + "?page=2"
    for _ in range(2):
        fragment = client.get(url, headers=HTMX).content.decode()
        full = client.get(url).content.decode()
        first_page = client.get(page_url(author)).content.decode()
        assert "<html" not in fragment and fragment.count('class="work"') == 5
        assert "<html" in full and full.count('class="work"') == 5
        assert "<html" in first_page and first_page.count('class="work"') == 20
    with django_assert_num_queries(0):
        client.get(url, headers=HTMX)
        client.get(url)


def test_other_query_parameters_get_the_live_page(client, django_assert_num_queries):
    author, _ = author_with_works(2)
    for queries in (PROFILE_PAGE_QUERIES, PROFILE_PAGE_QUERIES - SHARED_READS):
        with django_assert_num_queries(queries):
            response = client.get(page_url(author) + "?smuggled=1")
        assert "private" in response["Cache-Control"]


def test_signed_in_visitor_gets_the_live_page_with_their_own_follow_state(client):
    author, _ = author_with_works(2)
    anonymous = client.get(page_url(author)).content.decode()
    assert "Follow researcher" in anonymous

    user = make_user()
    Follow.objects.create(user=user, author=author)  # no service: nothing retires the page
    signed_in = Client()
    signed_in.force_login(user)
    response = signed_in.get(page_url(author))
    html = response.content.decode()
    assert 'aria-pressed="true"' in html and "Following" in html
    assert "X-CSRFToken" in html and "csrfmiddlewaretoken" in html
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]

    # ... and what they got never reaches an anonymous visitor.
    again = client.get(page_url(author)).content.decode()
    assert again == anonymous
    assert "Log out" not in again and 'aria-pressed="true"' not in again


def test_visitor_with_a_session_gets_the_live_page(client, django_assert_num_queries):
    author, _ = author_with_works(2)
    client.get(page_url(author))
    # An anonymous session (e.g. a sign-up waiting for its email confirmation).
    session = SessionStore()
    session["anything"] = "of theirs"
    session.create()
    client.cookies[settings.SESSION_COOKIE_NAME] = str(session.session_key)
    response = client.get(page_url(author))
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]


# A signed-in visit: one statement for the session, its user, and their follow, claim,
# inbox count and standing (bzpeer.sessions.store, profiles.selectors.visitor_read_ahead).
SIGNED_IN_QUERIES = 1


def test_signed_in_visitors_get_the_shared_page_with_their_own_parts_in_one_query(
    client, django_assert_num_queries
):
    author, coauthors = author_with_works(2, team=2)
    client.force_login(make_user())
    # The first visit builds the page anonymous visitors get, and keeps it for both.
    with django_assert_num_queries(PROFILE_PAGE_QUERIES + SIGNED_IN_QUERIES):
        client.get(page_url(author))
    with django_assert_num_queries(SIGNED_IN_QUERIES):
        text = text_of(client.get(page_url(author)))
    assert "1 topic " in text and coauthors[0].display_name in text
    with django_assert_num_queries(0):
        Client().get(page_url(author))  # an anonymous visitor gets what the signed-in visit built

    work = WorkFactory()
    AuthorshipFactory(author=author, work=work, position=0)
    AuthorshipFactory(author=AuthorFactory(display_name="New Coauthor"), work=work, position=1)
    text = text_of(client.get(page_url(author)))
    assert "New Coauthor" in text and "2 close collaborators" in text


def test_a_signed_in_visit_costs_the_same_queries_for_3_and_300_works(
    client, django_assert_num_queries
):
    client.force_login(make_user())
    for n_works in (3, 300):
        author, _ = author_with_works(n_works)
        client.get(page_url(author))
        with django_assert_num_queries(SIGNED_IN_QUERIES):
            client.get(page_url(author))


def test_a_page_a_signed_in_visit_stored_serves_anonymous_visitors_as_their_own_would(client):
    author, _ = author_with_works(3)
    signed_in = Client()
    signed_in.force_login(make_user())
    signed_in.get(page_url(author))  # stores the shared entry
    from_signed_in_visit = client.get(page_url(author))
    html = from_signed_in_visit.content.decode()
    assert "Log out" not in html and "csrfmiddlewaretoken" not in html

    cache.clear()
    pagecache._local.clear()
    from_anonymous_visit = client.get(page_url(author))
    assert from_signed_in_visit.content == from_anonymous_visit.content
    for name in ("Content-Type", "Content-Length", "X-Frame-Options", "Vary", "Cache-Control"):
        assert from_signed_in_visit[name] == from_anonymous_visit[name], name
    assert not from_signed_in_visit.cookies


# --- what retires a cached page ---------------------------------------------------------


def test_a_follow_and_an_unfollow_update_the_cached_follower_count(client):
    author, _ = author_with_works(1)
    assert "0 followers" in text_of(client.get(page_url(author)))
    user = make_user()
    services.follow_set(user=user, author=author, following=True)
    assert "1 follower " in text_of(client.get(page_url(author)))
    services.follow_set(user=user, author=author, following=False)
    assert "0 followers" in text_of(client.get(page_url(author)))


def test_claim_submit_and_approval_update_the_cached_trust_badges(client, record, claimant, staff):
    assert "Unclaimed author" in text_of(client.get(page_url(record)))
    claim = services.claim_submit(
        user=claimant,
        author=record,
        links=["https://uni.example/~rosa"],
        statement="This is me.",
        works_mine=[],
        works_not_mine=[],
    )
    text = text_of(client.get(page_url(record)))
    assert "Claim pending" in text and "Unclaimed author" not in text

    services.claim_approve(claim=claim, staff=staff)
    text = text_of(client.get(page_url(record)))
    assert "Verification L3" in text and "Claimed." in text and "Claim pending" not in text

    services.claim_revoke(claim=claim, staff=staff, reason="Not the same person.")
    assert "Unclaimed author" in text_of(client.get(page_url(record)))


def test_a_rejected_or_withdrawn_claim_clears_claim_pending(client, record, claimant, staff):
    def submit(user):
        return services.claim_submit(
            user=user, author=record, links=[], statement="Mine.", works_mine=[], works_not_mine=[]
        )

    claim = submit(claimant)
    assert "Claim pending" in text_of(client.get(page_url(record)))
    services.claim_reject(claim=claim, staff=staff, reason="No evidence.")
    assert "Unclaimed author" in text_of(client.get(page_url(record)))

    other = make_user()
    claim = submit(other)
    assert "Claim pending" in text_of(client.get(page_url(record)))
    services.claim_withdraw(claim=claim, user=other)
    assert "Unclaimed author" in text_of(client.get(page_url(record)))


def test_owner_edits_and_disputes_show_at_once(client, record, claimant, staff):
    claim = services.claim_submit(
        user=claimant, author=record, links=[], statement="Me.", works_mine=[], works_not_mine=[]
    )
    services.claim_approve(claim=claim, staff=staff)
    assert "3 published item(s)" in text_of(client.get(page_url(record)))

    services.profile_settings_update(
        user=claimant,
        author=record,
        summary="I count rivers.",
        affiliation="",
        homepage="",
        contact="",
        open_to_collaborate=True,
        hidden_sections=[],
    )
    text = text_of(client.get(page_url(record)))
    assert "I count rivers." in text and "Open to collaborate" in text

    work_id = Authorship.objects.filter(author=record).values_list("work_id", flat=True)[0]
    services.authorship_set_status(
        user=claimant, author=record, work_id=work_id, status=Authorship.Status.DISPUTED
    )
    assert "2 published item(s)" in text_of(client.get(page_url(record)))


def test_an_import_that_renames_the_author_shows_the_new_name(
    client, tmp_path, django_capture_on_commit_callbacks
):
    import_paths([AUTHOR_FIXTURE])
    author = Author.objects.get(openalex_id="A900000001")
    assert "Ada Example" in text_of(client.get(page_url(author)))

    renamed = json.loads(AUTHOR_FIXTURE.read_text())
    renamed["display_name"] = "Ada Renamed"
    path = tmp_path / "A900000001.json"
    path.write_text(json.dumps(renamed))
    with django_capture_on_commit_callbacks(execute=True):
        stats = import_paths([path])
    assert author.pk in stats.changed_author_ids
    text = text_of(client.get(page_url(author)))
    assert "Ada Renamed" in text and "Ada Example" not in text


def test_a_coauthor_renamed_in_the_admin_is_renamed_on_the_page(client):
    author, coauthors = author_with_works(2, team=2)
    assert coauthors[0].display_name in text_of(client.get(page_url(author)))
    coauthors[0].display_name = "Renamed Coauthor"
    coauthors[0].save()
    assert "Renamed Coauthor" in text_of(client.get(page_url(author)))


def test_a_new_work_in_the_admin_shows_on_the_page(client):
    author, _ = author_with_works(1)
    assert "1 published item(s)" in text_of(client.get(page_url(author)))
    AuthorshipFactory(author=author, work=WorkFactory(title="A brand new paper"))
    text = text_of(client.get(page_url(author)))
    assert "2 published item(s)" in text and "A brand new paper" in text


def test_a_merged_record_redirects_even_once_cached(client):
    author, _ = author_with_works(1)
    survivor = AuthorFactory()
    assert client.get(page_url(author)).status_code == 200
    author.merged_into = survivor
    author.save()
    response = client.get(page_url(author))
    assert response.status_code == 301
    assert response["Location"] == page_url(survivor)


def test_a_page_built_before_the_commit_is_retired_after_it(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The write retires the page at once and again on commit, for a reader that raced it."""
    author, _ = author_with_works(1)
    user = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        services.follow_set(user=user, author=author, following=True)
        # Stands for a request that read the rows before the commit and cached its page.
        client.get(page_url(author))
        served_from_cache(client, page_url(author), django_assert_num_queries)
    with django_assert_num_queries(PROFILE_PAGE_QUERIES):
        client.get(page_url(author))


# --- with the production cache ------------------------------------------------------------


@pytest.fixture
def redis_cache(settings):
    """RedisCache on the tests' Redis (make test always has one), under a prefix of its own."""
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "bzpeer.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


class CountingCache:
    """The cache, with the name of every call the page cache makes."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        method = getattr(self.real, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


def test_redis_serves_the_page_in_one_round_trip(
    client, redis_cache, django_assert_num_queries, monkeypatch, settings
):
    settings.PAGE_CACHE_LOCAL_SECONDS = 0
    author, _ = author_with_works(2)
    first = client.get(page_url(author))
    counting = CountingCache(cache)
    monkeypatch.setattr(pagecache, "cache", counting)
    second = served_from_cache(client, page_url(author), django_assert_num_queries)
    assert second.content == first.content
    assert counting.calls == ["get_many"]
    services.follow_set(user=make_user(), author=author, following=True)
    assert "1 follower " in text_of(client.get(page_url(author)))


def test_a_process_keeps_a_page_for_a_second_unless_it_changes_it(
    client, redis_cache, monkeypatch, settings
):
    settings.PAGE_CACHE_LOCAL_SECONDS = 0.2
    author, _ = author_with_works(2)
    client.get(page_url(author))
    client.get(page_url(author))  # read from Redis, kept here
    counting = CountingCache(cache)
    monkeypatch.setattr(pagecache, "cache", counting)
    client.get(page_url(author))
    assert counting.calls == []

    time.sleep(0.3)
    client.get(page_url(author))
    assert counting.calls == ["get_many"]

    monkeypatch.undo()
    services.follow_set(user=make_user(), author=author, following=True)
    assert "1 follower " in text_of(client.get(page_url(author)))


def test_a_cache_that_is_down_gives_the_live_page(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "bzpeer.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    author, _ = author_with_works(1)
    response = client.get(page_url(author))
    assert response.status_code == 200
    assert author.display_name in text_of(response)
