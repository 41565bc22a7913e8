"""The following feed: events written once per thing that happened, read per follower."""

import json
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from profiles import selectors, services
from profiles.models import AuthorEvent, Claim, Follow
from tests.factories import AuthorFactory, WorkFactory
from tests.profiles.conftest import make_user, owned_record
from works.models import Author

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "works" / "fixtures" / "openalex"
FEED = reverse("profiles:following")


def works() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "works-page.json").read_text())["results"]


def import_lines(tmp_path: Path, records: list[dict[str, Any]], name: str = "works.jsonl") -> None:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    call_command(
        "import_openalex", str(path), no_progress=True, stdout=StringIO(), stderr=StringIO()
    )


def new_work_events() -> list[tuple[str, str]]:
    return sorted(
        AuthorEvent.objects.filter(kind=AuthorEvent.Kind.NEW_WORK).values_list(
            "author__openalex_id", "work__openalex_id"
        )
    )


def event(author, *, kind=AuthorEvent.Kind.NEW_WORK, ago=timedelta(0), **fields) -> AuthorEvent:
    if kind == AuthorEvent.Kind.NEW_WORK and "work" not in fields:
        fields["work"] = WorkFactory()
    return AuthorEvent.objects.create(
        author=author, kind=kind, created_at=timezone.now() - ago, **fields
    )


def follow(user, author, *, ago=timedelta(days=30)) -> Follow:
    row = Follow.objects.create(user=user, author=author)
    Follow.objects.filter(pk=row.pk).update(created_at=timezone.now() - ago)
    return row


# Writing events

A1, A2, A3 = "A900000001", "A900000002", "A900000003"


def followed(*openalex_ids: str) -> dict[str, Any]:
    """Authors the import will meet, each already followed by someone."""
    authors = {}
    for openalex_id in openalex_ids:
        authors[openalex_id] = AuthorFactory(openalex_id=openalex_id)
        follow(make_user(), authors[openalex_id])
    return authors


def coauthor_events() -> list[tuple[str, str, str]]:
    return sorted(
        AuthorEvent.objects.filter(kind=AuthorEvent.Kind.NEW_COAUTHOR).values_list(
            "author__openalex_id", "other_author__openalex_id", "work__openalex_id"
        )
    )


def test_an_import_records_one_new_work_event_per_followed_author_and_work(tmp_path):
    followed(A1, A2, A3)
    import_lines(tmp_path, works())
    # W1 lists A1 twice (two positions): still one event for A1.
    assert new_work_events() == [
        (A1, "W900000001"),
        (A2, "W900000001"),
        (A2, "W900000002"),
        (A3, "W900000002"),
        (A3, "W900000003"),
    ]


def test_an_import_records_nothing_for_authors_nobody_follows(tmp_path):
    """A follow shows the events since it began: nobody could read these."""
    followed(A3)
    import_lines(tmp_path, works())
    assert {a for a, _ in new_work_events()} == {A3}
    assert {a for a, _, _ in coauthor_events()} == {A3}


def test_a_reimport_records_nothing_new(tmp_path):
    followed(A1, A2, A3)
    import_lines(tmp_path, works())
    first = list(AuthorEvent.objects.order_by("id").values_list("id", "created_at"))
    changed = works()
    changed[0]["title"] = "Graph neural networks for citation analysis, revised"
    import_lines(tmp_path, changed, name="again.jsonl")
    assert list(AuthorEvent.objects.order_by("id").values_list("id", "created_at")) == first


def test_a_later_import_records_only_its_new_works(tmp_path):
    followed(A1, A2, A3)
    import_lines(tmp_path, works()[:1])
    assert len(new_work_events()) == 2
    import_lines(tmp_path, works(), name="all.jsonl")
    assert len(new_work_events()) == 5


def test_the_events_of_a_batch_are_written_in_one_statement(tmp_path):
    """Three works with five (author, work) pairs and four co-author pairs: one INSERT."""
    followed(A1, A2, A3)
    with CaptureQueriesContext(connection) as queries:
        import_lines(tmp_path, works())
    inserts = [q["sql"] for q in queries if "INSERT INTO profiles_authorevent" in q["sql"]]
    assert len(inserts) == 1
    assert AuthorEvent.objects.count() == 5 + 4


def test_a_first_shared_work_records_a_new_coauthor_for_each_followed_side(tmp_path):
    followed(A1, A2, A3)
    import_lines(tmp_path, works())
    # W1: A1 and A2 (A1 listed twice: one event); W2: A2 and A3; W3: A3 alone.
    assert coauthor_events() == [
        (A1, A2, "W900000001"),
        (A2, A1, "W900000001"),
        (A2, A3, "W900000002"),
        (A3, A2, "W900000002"),
    ]


def test_a_new_coauthor_is_recorded_once_per_pair(tmp_path):
    followed(A1, A2)
    import_lines(tmp_path, works()[:1])
    again = works()[:1]
    again[0].update(id="https://openalex.org/W900000099", doi="", title="A second paper")
    import_lines(tmp_path, again, name="second.jsonl")
    assert len(new_work_events()) == 4
    assert coauthor_events() == [(A1, A2, "W900000001"), (A2, A1, "W900000001")]


def test_co_authors_who_shared_a_work_before_the_follow_are_not_new(tmp_path):
    import_lines(tmp_path, works()[:1])  # A1 and A2 share W1; nobody follows them yet
    services.follow_set(user=make_user(), author=Author.objects.get(openalex_id=A1), following=True)
    again = works()[:1]
    again[0].update(id="https://openalex.org/W900000099", doi="", title="A second paper")
    import_lines(tmp_path, again, name="second.jsonl")
    assert new_work_events() == [(A1, "W900000099")]
    assert coauthor_events() == []


def test_a_coauthor_known_before_a_refollow_is_not_new_either(tmp_path):
    a1 = AuthorFactory(openalex_id=A1)
    reader = make_user()
    services.follow_set(user=reader, author=a1, following=True)
    services.follow_set(user=reader, author=a1, following=False)
    import_lines(tmp_path, works()[:1])  # while nobody follows A1
    services.follow_set(user=make_user(), author=a1, following=True)
    again = works()[:1]
    again[0].update(id="https://openalex.org/W900000099", doi="", title="A second paper")
    import_lines(tmp_path, again, name="second.jsonl")
    assert coauthor_events() == []
    assert new_work_events() == [(A1, "W900000099")]


def author_record(institution: dict[str, Any] | None) -> dict[str, Any]:
    record = json.loads((FIXTURES / "A900000001.json").read_text())
    record["last_known_institutions"] = [institution] if institution else []
    record.pop("last_known_institution", None)
    return record


def affiliation_events() -> list[dict[str, Any]]:
    return list(
        AuthorEvent.objects.filter(kind=AuthorEvent.Kind.AFFILIATION_CHANGED)
        .order_by("id")
        .values_list("detail", flat=True)
    )


def test_an_import_that_changes_the_affiliation_records_from_and_to(tmp_path):
    first = json.loads((FIXTURES / "A900000001.json").read_text())["last_known_institutions"][0]
    import_lines(tmp_path, [author_record(first)], name="a1.jsonl")
    follow(make_user(), Author.objects.get(openalex_id=A1))
    moved = {**first, "id": "https://openalex.org/I900000077", "display_name": "River Institute"}
    moved.pop("ror", None)
    import_lines(tmp_path, [author_record(moved)], name="a2.jsonl")
    import_lines(tmp_path, [author_record(moved)], name="a3.jsonl")  # unchanged: nothing
    import_lines(tmp_path, [author_record(None)], name="a4.jsonl")
    assert affiliation_events() == [
        {"from": "University of Testing", "to": "River Institute"},
        {"from": "River Institute", "to": ""},
    ]


def test_an_affiliation_change_of_an_author_nobody_follows_records_nothing(tmp_path):
    first = json.loads((FIXTURES / "A900000001.json").read_text())["last_known_institutions"][0]
    import_lines(tmp_path, [author_record(first)], name="a1.jsonl")
    import_lines(tmp_path, [author_record(None)], name="a2.jsonl")
    assert affiliation_events() == []


def test_approving_a_claim_records_claim_verified():
    staff = make_user(staff=True)
    author = AuthorFactory()
    claim = services.claim_submit(
        user=make_user(),
        author=author,
        links=["https://x.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    services.claim_approve(claim=claim, staff=staff)
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.APPROVED
    assert list(AuthorEvent.objects.values_list("author_id", "kind")) == [
        (author.pk, AuthorEvent.Kind.CLAIM_VERIFIED)
    ]


def test_a_refused_approval_records_nothing():
    staff = make_user(staff=True)
    claim = services.claim_submit(
        user=make_user(),
        author=AuthorFactory(),
        links=["https://x.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    services.claim_withdraw(claim=claim, user=claim.claimant)
    with pytest.raises(services.ClaimError):
        services.claim_approve(claim=claim, staff=staff)
    assert not AuthorEvent.objects.exists()


def owner_edits(user, author, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "summary": "",
        "affiliation": "",
        "homepage": "",
        "contact": "",
        "open_to_collaborate": False,
        "hidden_sections": [],
    }
    fields.update(changes)
    services.profile_settings_update(user=user, author=author, **fields)


def test_an_owners_profile_edits_record_what_changed_once(client):
    owner, author = owned_record("Rosa Example")
    AuthorEvent.objects.all().delete()
    owner_edits(owner, author, summary="I count rivers.", affiliation="River Institute")
    owner_edits(owner, author, summary="I count rivers.", affiliation="River Institute")
    owner_edits(
        owner,
        author,
        summary="I count rivers.",
        affiliation="River Institute",
        hidden_sections=["topics"],
    )  # how the page looks: no news
    assert sorted(AuthorEvent.objects.values_list("kind", "detail")) == [
        (AuthorEvent.Kind.AFFILIATION_CHANGED, {"affiliation": "River Institute"}),
        (AuthorEvent.Kind.PROFILE_UPDATED, {"fields": ["summary"]}),
    ]
    follower = make_user()
    follow(follower, author)
    client.force_login(follower)
    body = client.get(FEED).content.decode()
    assert "changed affiliation to River Institute." in body
    assert "updated their profile: summary." in body


# Reading the feed


def titles(response) -> list[str]:
    return re.findall(r'href="/works/\d+/">([^<]+)</a>', response.content.decode())


def test_the_feed_shows_followed_authors_events_since_the_follow_newest_first(client):
    user = make_user()
    followed, other = AuthorFactory(display_name="Ada Followed"), AuthorFactory()
    follow(user, followed, ago=timedelta(days=10))
    event(followed, work=WorkFactory(title="Before the follow"), ago=timedelta(days=11))
    event(followed, work=WorkFactory(title="Older news"), ago=timedelta(days=3))
    event(followed, work=WorkFactory(title="Newest news"), ago=timedelta(hours=1))
    event(other, work=WorkFactory(title="Not followed"))
    client.force_login(user)
    response = client.get(FEED)
    assert response.status_code == 200
    assert titles(response) == ["Newest news", "Older news"]
    body = response.content.decode()
    assert body.count('class="feed-day"') == 2  # grouped per day
    assert "Researchers you follow (1)" in body and "Ada Followed" in body


def test_a_claim_verified_event_reads_as_such(client):
    user = make_user()
    author = AuthorFactory(display_name="Rosa Example")
    follow(user, author)
    event(author, kind=AuthorEvent.Kind.CLAIM_VERIFIED)
    client.force_login(user)
    assert "now owns their record" in client.get(FEED).content.decode()


def test_an_imported_work_reaches_a_follower(client, tmp_path):
    user = make_user()
    author = AuthorFactory(openalex_id="A900000003", display_name="Third Author")
    follow(user, author)
    import_lines(tmp_path, works())
    client.force_login(user)
    response = client.get(FEED)
    assert set(titles(response)) == {"A preprint about sampling", "Notes on placeholders"}
    assert response.content.decode().count("has a new work") == 2


def test_empty_states(client):
    user = make_user()
    client.force_login(user)
    assert "you do not follow anyone yet" in client.get(FEED).content.decode()
    follow(user, AuthorFactory())
    assert "Nothing new yet from the researchers you follow" in client.get(FEED).content.decode()


def test_show_more_pages_by_cursor_without_repeats_or_gaps(client, settings):
    user = make_user()
    author = AuthorFactory()
    follow(user, author)
    now = timezone.now()
    same_time = now - timedelta(minutes=5)
    made = [event(author, work=WorkFactory(title=f"Work {i:02}")) for i in range(65)]
    # Ties on created_at are broken by id: some share one instant.
    AuthorEvent.objects.filter(pk__in=[e.pk for e in made[20:40]]).update(created_at=same_time)
    for i, e in enumerate(made[:20] + made[40:]):
        AuthorEvent.objects.filter(pk=e.pk).update(created_at=now - timedelta(minutes=10 + i))
    expected = list(
        AuthorEvent.objects.order_by("-created_at", "-id").values_list("work__title", flat=True)
    )
    client.force_login(user)
    seen: list[str] = []
    url = FEED
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += titles(response)
        more = re.search(
            r'<a class="button button--ghost" href="([^"]+)"', response.content.decode()
        )
        url = more.group(1).replace("&amp;", "&") if more else ""
        pages += 1
    assert seen == expected
    assert pages == 3


def test_show_more_with_htmx_returns_only_the_next_fragment(client):
    user = make_user()
    author = AuthorFactory()
    follow(user, author)
    for i in range(35):
        event(author, work=WorkFactory(title=f"Work {i:02}"), ago=timedelta(minutes=i))
    client.force_login(user)
    first = client.get(FEED).content.decode()
    cursor = re.search(r"\?before=([0-9_]+)", first).group(1)
    response = client.get(FEED, {"before": cursor}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "Researchers you follow" not in body
    assert titles(response) == [f"Work {i:02}" for i in range(30, 35)]
    assert "That is everything since you followed them." in body
    assert "HX-Request" in response["Vary"]


def test_a_day_split_across_pages_gets_its_heading_once(client):
    user = make_user()
    author = AuthorFactory()
    follow(user, author)
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    for i in range(32):  # one day, two pages
        event(
            author,
            work=WorkFactory(title=f"Work {i:02}"),
            ago=timezone.now() - noon + timedelta(seconds=i),
        )
    client.force_login(user)
    first = client.get(FEED).content.decode()
    assert first.count('class="feed-day"') == 1
    cursor = re.search(r"\?before=([0-9_]+)", first).group(1)
    more = client.get(FEED, {"before": cursor}, headers={"HX-Request": "true"})
    assert len(titles(more)) == 2
    assert 'class="feed-day"' not in more.content.decode()


@pytest.mark.parametrize(
    "before",
    ["", "yesterday", "123", "12_ab", "-5_3", "1_2_3", "99999999999999999999_1", "1_" + "9" * 30],
)
def test_a_bad_cursor_is_a_clear_400(client, before):
    user = make_user()
    client.force_login(user)
    response = client.get(FEED, {"before": before})
    assert response.status_code == 400
    assert "before" in response.content.decode()


@pytest.mark.parametrize("query", ["", "?kind=new_work&kind=profile_updated"])
def test_the_feed_costs_the_same_queries_for_1_and_50_follows(
    client, django_assert_num_queries, query
):
    def load(follows: int) -> None:
        user = make_user()
        for _ in range(follows):
            author = AuthorFactory()
            follow(user, author)
            event(author)
            event(author, kind=AuthorEvent.Kind.CLAIM_VERIFIED)
        client.force_login(user)
        with django_assert_num_queries(QUERIES):
            response = client.get(FEED + query)
        assert response.status_code == 200
        shown = kinds_shown(response)
        if query:
            assert shown == ["new_work"] * min(follows, 30)
        else:
            assert len(shown) == min(2 * follows, 30)
        with django_assert_num_queries(QUERIES_CACHED):
            again = client.get(FEED + query)
        assert kinds_shown(again) == shown

    load(1)
    load(50)


# session with its user, what the feed is drawn from with the header's inbox count,
# feed events, followed researchers
QUERIES = 4
# the same page again, from the cache: session with its user, what it is drawn from
# with the inbox count
QUERIES_CACHED = 2


# A rendered feed is kept while what it is drawn from stays the same


def test_a_kept_feed_shows_a_new_event_at_once(client):
    user = make_user()
    author = AuthorFactory(display_name="Kept Author")
    follow(user, author)
    event(author, work=WorkFactory(title="First work"))
    client.force_login(user)
    assert titles(client.get(FEED)) == ["First work"]

    event(author, work=WorkFactory(title="Second work"))

    assert titles(client.get(FEED)) == ["Second work", "First work"]


def test_a_kept_feed_follows_a_follow_an_unfollow_and_changed_choices(client):
    user = make_user()
    ada, bob = AuthorFactory(display_name="Ada Kept"), AuthorFactory(display_name="Bob Kept")
    follow(user, ada)
    event(ada, work=WorkFactory(title="Work of Ada"))
    event(bob, work=WorkFactory(title="Work of Bob"), ago=timedelta(hours=1))
    client.force_login(user)
    assert titles(client.get(FEED)) == ["Work of Ada"]

    bob_follow = follow(user, bob)
    assert titles(client.get(FEED)) == ["Work of Ada", "Work of Bob"]

    Follow.objects.filter(pk=bob_follow.pk).update(kinds=[AuthorEvent.Kind.CLAIM_VERIFIED])
    assert titles(client.get(FEED)) == ["Work of Ada"]

    Follow.objects.filter(user=user, author=ada).delete()
    assert titles(client.get(FEED)) == []


def test_a_kept_feed_is_never_another_persons(client):
    author = AuthorFactory(display_name="Shared Author")
    ada, bob = make_user(), make_user()
    follow(ada, author)
    follow(bob, author, ago=timedelta(hours=2))
    event(author, work=WorkFactory(title="Old work"), ago=timedelta(days=2))
    event(author, work=WorkFactory(title="New work"))
    client.force_login(ada)
    assert titles(client.get(FEED)) == ["New work", "Old work"]

    client.force_login(bob)
    assert titles(client.get(FEED)) == ["New work"], "only what happened since Bob followed"


def test_the_forms_of_a_kept_feed_post_with_the_visitors_own_token(settings):
    client = Client(enforce_csrf_checks=True)
    user = make_user()
    author = AuthorFactory(display_name="Token Author")
    follow(user, author)
    client.force_login(user)
    client.get(FEED)
    assert client.get(FEED).status_code == 200  # from the cache
    # A new CSRF secret (a new browser, a log-in): the page kept for the old one would
    # carry tokens this visitor's cookie no longer matches.
    del client.cookies[settings.CSRF_COOKIE_NAME]
    kept = client.get(FEED).content.decode()
    settings_form = reverse("profiles:follow_settings", args=[author.pk])
    token = re.search(
        rf'action="{settings_form}"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken" '
        r'value="([^"]+)"',
        kept,
    ).group(1)

    response = client.post(
        settings_form,
        {"csrfmiddlewaretoken": token, "news": ["works"], "delivery": "weekly"},
    )

    assert response.status_code == 302
    assert Follow.objects.get(user=user, author=author).delivery == "weekly"
    assert 'value="weekly" checked' in client.get(FEED).content.decode()


# Filters by kind


def mixed_feed(user) -> Any:
    author = AuthorFactory(display_name="Mixed Author")
    follow(user, author)
    event(author, work=WorkFactory(title="Work one"), ago=timedelta(hours=3))
    event(author, kind=AuthorEvent.Kind.CLAIM_VERIFIED, ago=timedelta(hours=2))
    event(
        author,
        kind=AuthorEvent.Kind.NEW_COAUTHOR,
        other_author=AuthorFactory(display_name="Bo Partner"),
        work=WorkFactory(title="Joint work"),
        ago=timedelta(hours=1),
    )
    event(
        author,
        kind=AuthorEvent.Kind.AFFILIATION_CHANGED,
        detail={"from": "Old College", "to": "New Institute"},
    )
    return author


def kinds_shown(response) -> list[str]:
    return re.findall(r"feed-event--([a-z_]+)", response.content.decode())


def test_the_feed_filters_by_one_kind(client):
    user = make_user()
    mixed_feed(user)
    client.force_login(user)
    response = client.get(FEED, {"kind": "new_work"})
    assert response.status_code == 200
    assert kinds_shown(response) == ["new_work"]
    assert 'value="new_work" checked' in response.content.decode()


def test_the_feed_filters_by_several_kinds(client):
    user = make_user()
    mixed_feed(user)
    client.force_login(user)
    response = client.get(FEED + "?kind=new_coauthor&kind=affiliation_changed")
    assert kinds_shown(response) == ["affiliation_changed", "new_coauthor"]
    assert client.get(FEED).status_code == 200
    assert len(kinds_shown(client.get(FEED))) == 4


def test_every_kind_asked_for_is_the_unfiltered_feed(client):
    user = make_user()
    mixed_feed(user)
    client.force_login(user)
    every = "&".join(f"kind={k}" for k in AuthorEvent.Kind.values)
    assert kinds_shown(client.get(FEED + "?" + every)) == kinds_shown(client.get(FEED))


def test_new_coauthor_and_affiliation_lines_read_as_sentences(client):
    user = make_user()
    mixed_feed(user)
    client.force_login(user)
    body = " ".join(client.get(FEED).content.decode().split())
    assert re.search(
        r"Mixed Author</a> published with <a [^>]+>Bo Partner</a> for the first time: "
        r"<a [^>]+>Joint work</a>\.",
        body,
    )
    assert "changed affiliation from Old College to New Institute." in body


def test_an_affiliation_gained_or_lost_by_import_reads_as_such(client):
    user = make_user()
    author = AuthorFactory(display_name="Moving Author")
    follow(user, author)
    kind = AuthorEvent.Kind.AFFILIATION_CHANGED
    event(author, kind=kind, detail={"from": "", "to": "New Institute"}, ago=timedelta(hours=1))
    event(author, kind=kind, detail={"from": "New Institute", "to": ""})
    client.force_login(user)
    body = " ".join(client.get(FEED).content.decode().split())
    assert "now lists New Institute as their affiliation." in body
    assert "no longer lists an affiliation (was New Institute)." in body


def test_show_more_keeps_the_filter(client):
    user = make_user()
    author = mixed_feed(user)
    for i in range(35):
        event(author, kind=AuthorEvent.Kind.CLAIM_VERIFIED, ago=timedelta(days=1, minutes=i))
    client.force_login(user)
    first = client.get(FEED, {"kind": "claim_verified"})
    more = re.search(r'<a class="button button--ghost" href="([^"]+)"', first.content.decode())
    url = more.group(1).replace("&amp;", "&")
    assert "kind=claim_verified" in url
    second = client.get(url, headers={"HX-Request": "true"})
    assert kinds_shown(first) == ["claim_verified"] * 30
    assert kinds_shown(second) == ["claim_verified"] * 6


def test_the_filter_form_with_htmx_swaps_the_feed_only(client):
    user = make_user()
    mixed_feed(user)
    client.force_login(user)
    response = client.get(
        FEED, {"kind": "new_work"}, headers={"HX-Request": "true", "HX-Target": "feed-body"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="feed-body">')
    assert "Researchers you follow" not in body and "<form" not in body
    assert kinds_shown(response) == ["new_work"]


def test_a_filter_with_nothing_to_show_says_so(client):
    user = make_user()
    follow(user, AuthorFactory())
    client.force_login(user)
    body = client.get(FEED, {"kind": "new_coauthor"}).content.decode()
    assert "Nothing of this kind since you followed them." in body


@pytest.mark.parametrize("query", ["kind=new_works", "kind=", "kind=new_work&kind=<script>"])
def test_a_bad_kind_is_a_clear_400(client, query):
    user = make_user()
    client.force_login(user)
    response = client.get(FEED + "?" + query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "“kind” must be one of new_work, new_coauthor" in response.content.decode()


def _feed_plan(user, kinds: list[str]) -> str:
    with CaptureQueriesContext(connection) as queries:
        selectors.feed_page(user=user, before=None, kinds=kinds)
    (sql,) = [q["sql"] for q in queries]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_feed_walks_the_feed_index_and_a_filtered_feed_the_kind_index():
    """With enough events for real statistics (20 followed authors, 1,000 events each of
    five kinds), each query reads about a page per follow from the index that keeps
    its order, rather than every event since the follow and a sort."""
    user = make_user()
    authors = [AuthorFactory() for _ in range(20)]
    for author in authors:
        follow(user, author)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO profiles_authorevent (author_id, kind, created_at, detail)
            SELECT a, (ARRAY['claim_verified', 'profile_updated', 'affiliation_changed',
                             'new_coauthor', 'claim_verified'])[1 + g %% 5],
                   now() - g * interval '1 minute', '{}'
            FROM unnest(%s::bigint[]) a, generate_series(1, 1000) g
            """,
            [[a.pk for a in authors]],
        )
        cursor.execute("ANALYZE profiles_authorevent")
        cursor.execute("ANALYZE profiles_follow")
    assert "authorevent_feed_idx" in _feed_plan(user, [])
    assert "authorevent_kind_idx" in _feed_plan(user, ["new_coauthor", "affiliation_changed"])


def test_the_sidebar_names_the_25_latest_follows_and_counts_all(client):
    user = make_user()
    for i in range(30):
        follow(user, AuthorFactory(display_name=f"Person {i:02}"), ago=timedelta(days=30 - i))
    client.force_login(user)
    body = client.get(FEED).content.decode()
    assert "Researchers you follow (30)" in body
    assert body.count('class="card following-row"') == 25
    assert "Person 29" in body and "Person 04" not in body
    assert "The 25 you followed most recently" in body
