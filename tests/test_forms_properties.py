"""Every form and query parameter of the project, fed arbitrary input through the test client.

The forms (works.forms, profiles.forms, graph.forms): ResearcherSearchForm,
FollowForm, ClaimForm, EmailAddressForm, EmailCodeForm, DecisionForm,
QueueFilterForm, ProfileSettingsForm, AuthorshipStatusForm and
ExplorerFilterForm; and what views read beside them: ?page= on every paged
view, ?next=, the htmx headers of the fragments, and the path parameters.

A value is any text (lone surrogates included), any bytes (invalid UTF-8
included), NUL, or a huge value, percent-encoded as a browser sends it, so the
bytes reach Django as they are; a field may be missing or repeated, and
unknown fields come along. Each request is made by the role that may use the
form, inside a savepoint that is rolled back afterwards.

What must hold: never a 500 (the test client raises the view's exception,
so a traceback fails the test with the input that caused it); input the
form rejects gets a 4xx whose page shows the form's own messages, and writes
nothing; input it accepts is written whole, as the form cleaned it.
"""

import copy
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.forms import ExplorerFilterForm
from profiles import selectors
from profiles.forms import (
    AffiliationForm,
    AuthorshipStatusForm,
    ClaimForm,
    DecisionForm,
    EmailAddressForm,
    EmailCodeForm,
    FollowForm,
    ProfileSettingsForm,
)
from profiles.models import Claim, EmailCode, Follow, ProfileSettings
from profiles.views import CLAIM_WORKS_SHOWN
from tests.mfa import force_login_with_totp
from tests.world import World, build_world, digests, fresh_caches, writes
from works.forms import ResearcherSearchForm
from works.models import AuthorAffiliation, Authorship

pytestmark = pytest.mark.django_db

# Each example is undone by a savepoint, so the world built once per test is
# the same for every example.
PROPERTIES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HTMX = {"HX-Request": "true"}


# Values


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates too
ANY_BYTES = st.binary(max_size=40)  # invalid UTF-8 too
ODD = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "\udfff",
        "\u202e",
        "\ufeff",
        "0",
        "-1",
        "1e309",
        "NaN",
        "9" * 40,
        "https://x.example/\x00",
        "javascript:alert(1)",
        "<script>alert(1)</script>",
        "%00",
        "\r\n",
    ]
)
# Past every field's max_length. Bodies past DATA_UPLOAD_MAX_MEMORY_SIZE have a
# test of their own (test_every_form_refuses_a_body_too_large_to_read): here they
# would make each example, and shrinking a failure, slow.
HUGE = st.builds(
    operator.mul,
    st.text(st.characters(exclude_categories=()), min_size=1, max_size=2),
    st.integers(1_000, 20_000),
)
VALUE = st.one_of(ANY_TEXT, ANY_BYTES, ODD, HUGE)


def value_or(*valid: str) -> st.SearchStrategy:
    """Arbitrary values, and valid ones often enough that the happy path runs too."""
    return st.one_of(VALUE, st.sampled_from(valid))


Pairs = list[tuple[str, Any]]


def form_data(**fields: st.SearchStrategy) -> st.SearchStrategy[Pairs]:
    """Each field missing, once or repeated; sometimes unknown fields, or too many fields."""
    groups = [
        st.lists(strategy, max_size=3).map(lambda values, name=name: [(name, v) for v in values])
        for name, strategy in fields.items()
    ]
    extra = st.one_of(
        st.lists(st.tuples(ANY_TEXT, VALUE), max_size=2),
        st.just([("x", "1")] * (django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)),
    )
    return st.tuples(*groups, extra).map(lambda parts: [pair for part in parts for pair in part])


def encode(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


def urlencoded(pairs: Pairs) -> str:
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in pairs)


def parsed(body: str, *, post: bool = True) -> QueryDict | None:
    """What the view's form is given; None when Django refuses to read it (a 400)."""
    if post and len(body) > django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return None
    try:
        return QueryDict(body)
    except (TooManyFieldsSent, RequestDataTooBig):
        return None


# Requests


@contextmanager
def undone(client: Client) -> Iterator[list[str]]:
    """Whatever happens inside is undone: the database (a savepoint), caches, cookies.

    Yields a list that holds, afterwards, the tables whose rows the requests
    changed. A write the request itself undid (a statement that failed inside
    a savepoint of its own) changes nothing and is not listed.
    """
    cookies = copy.deepcopy(client.cookies)
    fresh_caches()
    written: list[str] = []
    savepoint = transaction.savepoint()
    before = writes()
    try:
        yield written
    finally:
        after = writes()
        touched = sorted(t for t, n in after.items() if n != before.get(t, 0))
        changed = digests(touched)
        transaction.savepoint_rollback(savepoint)
        client.cookies = cookies
        as_before = digests(touched)
        written.extend(t for t in touched if changed[t] != as_before[t])


def get(client: Client, path: str, pairs: Pairs, headers: dict | None = None) -> Any:
    query = urlencoded(pairs)
    return client.get(f"{path}?{query}" if query else path, headers=headers)


def post(client: Client, path: str, body: str, headers: dict | None = None) -> Any:
    return client.generic(
        "POST", path, body, content_type="application/x-www-form-urlencoded", headers=headers
    )


def page(response: Any) -> str:
    return response.content.decode("utf-8")


def assert_shows_errors(response: Any, form: Any) -> None:
    """The 4xx page says what is wrong: at least one message of every field in error."""
    html = page(response)
    for field, messages in form.errors.items():
        assert any(escape(m) in html for m in messages), (
            f"{response.status_code} without the message for {field!r}: {messages}"
        )


# The world and the people


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def as_role(world):
    clients: dict[str, Client] = {"anonymous": Client()}
    for role, user in world.users.items():
        clients[role] = Client()
        if role == "staff":  # staff pages need the second factor (bzpeer.staff)
            force_login_with_totp(clients[role], user)
        else:
            clients[role].force_login(user)
    return clients


# works: the search


@PROPERTIES
@given(
    pairs=form_data(q=value_or("Rosa", "ro", "rosa example", "  Rosa   Example "), page=VALUE),
    htmx=st.booleans(),
)
def test_search_answers_any_query_with_results_or_a_clear_400(as_role, pairs, htmx):
    client = as_role["anonymous"]
    body = urlencoded(pairs)
    data = parsed(body, post=False)
    with undone(client) as written:
        response = get(client, reverse("works:researcher_search"), pairs, HTMX if htmx else None)
    assert response.status_code in (200, 400, 429)
    assert not written
    if data is None:
        assert response.status_code == 400
        return
    form = ResearcherSearchForm(data)
    if not form.is_valid():
        assert response.status_code == 400
        assert_shows_errors(response, form)
    elif response.status_code == 400:
        assert "search-status--error" in page(response)


# graph: the explorer's filters and the fragments' htmx headers


@PROPERTIES
@given(
    pairs=form_data(
        filtered=value_or("1", "on"),
        show=value_or("author", "work", "topic", "institution"),
        year_from=value_or("2018", "1000", "2999"),
        year_to=value_or("2020", "2019"),
        edge=value_or("a:1-a:2", "a:123456789012-a:1"),
    ),
    trigger=st.one_of(st.none(), st.just("explorer"), ANY_BYTES.map(lambda b: b.decode("latin-1"))),
)
def test_explorer_filters_answer_a_drawing_or_a_clear_400(world, as_role, pairs, trigger):
    client = as_role["anonymous"]
    headers = None if trigger is None else {**HTMX, "HX-Trigger": trigger}
    data = parsed(urlencoded(pairs), post=False)
    path = reverse("graph:explorer", args=[world.objects["record"].pk])
    with undone(client) as written:
        response = get(client, path, pairs, headers)
    assert response.status_code in (200, 286, 400)
    assert not written  # the slice is built; showing it writes nothing
    if data is None:
        assert response.status_code == 400
        return
    form = ExplorerFilterForm(data)
    if form.is_valid():
        assert response.status_code in (200, 286)
    else:
        assert response.status_code == 400
        assert_shows_errors(response, form)


@PROPERTIES
@given(
    view=st.sampled_from(["graph:slice", "graph:json", "profiles:researcher_detail"]),
    headers=st.fixed_dictionaries(
        {},
        optional={
            "HX-Request": value_or("true"),
            "HX-Trigger": value_or("graph-slice-poll", "explorer"),
            "HX-Target": VALUE,
            "HX-History-Restore-Request": value_or("true"),
        },
    ),
)
def test_fragments_take_any_htmx_headers(world, as_role, view, headers):
    # Header values arrive as latin-1 text, whatever the bytes were.
    headers = {
        name: (v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass"))[:8_000].decode(
            "latin-1"
        )
        for name, v in headers.items()
    }
    client = as_role["anonymous"]
    with undone(client) as written:
        response = client.get(reverse(view, args=[world.objects["record"].pk]), headers=headers)
    assert response.status_code in (200, 286)
    assert not written


# Every paged view: ?page= anything


PAGED = [
    ("anonymous", "profiles:researcher_detail", "record"),
    ("anonymous", "works:topic_detail", "topic"),
    ("anonymous", "works:institution_detail", "institution"),
    ("owner", "profiles:profile_edit", "record"),
    ("anonymous", "profiles:coauthors", "record"),
    ("staff", "profiles:staff_claims", None),
]


@PROPERTIES
@given(
    where=st.sampled_from(PAGED),
    pairs=form_data(page=value_or("1", "2", "last", "0")),
    htmx=st.booleans(),
)
def test_every_paged_view_takes_any_page_number(world, as_role, where, pairs, htmx):
    role, name, obj = where
    args = {
        "record": [world.params["author_id"]],
        "topic": [world.params["topic_id"]],
        "institution": [world.params["institution_id"]],
        None: [],
    }[obj]
    client = as_role[role]
    data = parsed(urlencoded(pairs), post=False)
    with undone(client) as written:
        response = get(client, reverse(name, args=args), pairs, HTMX if htmx else None)
    assert not written
    if data is None:
        assert response.status_code == 400
    else:
        # A malformed, too small or too large page shows the nearest page (bzpeer.paging).
        assert response.status_code == 200


@PROPERTIES
@given(pairs=form_data(state=VALUE, contested=VALUE, checks=VALUE, page=VALUE), htmx=st.booleans())
def test_staff_queue_filters_fall_back_to_the_queue(as_role, pairs, htmx):
    client = as_role["staff"]
    data = parsed(urlencoded(pairs), post=False)
    with undone(client) as written:
        response = get(client, reverse("profiles:staff_claims"), pairs, HTMX if htmx else None)
    assert not written
    assert response.status_code == (400 if data is None else 200)


# Path parameters: any whole number (the staff decision's path has its own test below)


INT_PATHS = [
    ("anonymous", "works:work_detail"),
    ("anonymous", "works:topic_detail"),
    ("anonymous", "works:institution_detail"),
    ("anonymous", "profiles:researcher_detail"),
    ("anonymous", "graph:slice"),
    ("anonymous", "graph:explorer"),
    ("anonymous", "graph:json"),
    ("owner", "profiles:profile_edit"),
    ("anonymous", "profiles:coauthors"),
    ("claimant", "profiles:claim_detail"),
    ("staff", "profiles:staff_claim_detail"),
]


@PROPERTIES
@given(
    where=st.sampled_from(INT_PATHS),
    number=st.one_of(st.integers(0, 10**40), st.text("0123456789", min_size=1, max_size=60)),
)
def test_any_whole_number_in_a_path_is_a_page_or_a_404(as_role, where, number):
    role, name = where
    client = as_role[role]
    path = reverse(name, args=[1]).replace("1", str(number), 1)  # the id is the path's only digit
    with undone(client):
        response = client.get(path)
    # 202: graph.json of a real author whose slice is being built; 301: a merged record.
    assert response.status_code in (200, 202, 301, 404)


# profiles: following


@PROPERTIES
@given(pairs=form_data(action=value_or("follow", "unfollow")), next_=VALUE, htmx=st.booleans())
def test_follow_form_follows_unfollows_or_says_what_is_missing(world, as_role, pairs, next_, htmx):
    client = as_role["stranger"]
    record = world.objects["record"]
    body = urlencoded(pairs)
    data = parsed(body)
    path = reverse("profiles:follow", args=[record.pk]) + f"?next={encode(next_)}"
    with undone(client) as written:
        response = post(client, path, body, HTMX if htmx else None)
        following = Follow.objects.filter(user=world.users["stranger"], author=record).exists()
    if data is None:
        assert response.status_code == 400 and not written
        return
    form = FollowForm(data)
    if not form.is_valid():
        assert response.status_code == 400 and not written
        assert "Say whether to follow or unfollow." in page(response)
        return
    assert response.status_code in (200, 302)
    assert following == (form.cleaned_data["action"] == FollowForm.FOLLOW)


# profiles: the claim form and its email step


def claim_form_fields(world: World) -> dict[str, st.SearchStrategy]:
    work_ids = Authorship.objects.filter(author=world.objects["record"]).values_list(
        "work_id", flat=True
    )
    return {
        "links": value_or("https://rosa.example/", "https://a.example/\nhttps://b.example/"),
        "statement": value_or("I moved from Uni Example in 2021.", "  "),
        **{f"work_{pk}": value_or("", "mine", "not_mine") for pk in work_ids},
    }


@PROPERTIES
@given(data=st.data(), htmx=st.booleans())
def test_claim_form_files_the_claim_whole_or_shows_what_is_wrong(world, as_role, data, htmx):
    pairs = data.draw(form_data(**claim_form_fields(world)), label="pairs")
    client = as_role["stranger"]
    stranger, record = world.users["stranger"], world.objects["record"]
    body = urlencoded(pairs)
    query = parsed(body)
    with undone(client) as written:
        response = post(
            client, reverse("profiles:claim_start", args=[record.pk]), body, HTMX if htmx else None
        )
        claim = Claim.objects.filter(claimant=stranger, author=record).first()
        submitted = claim is not None and claim.events.filter(action="submitted").exists()
    if query is None:
        assert response.status_code == 400 and not written
        return
    form = ClaimForm(query, works=selectors.claim_works(author=record, limit=CLAIM_WORKS_SHOWN))
    if not form.is_valid():
        assert response.status_code == 400 and not written and claim is None
        assert_shows_errors(response, form)
        return
    cleaned = form.cleaned_data
    if not (cleaned["links"] or cleaned["statement"].strip()):
        # Nothing for staff to check: the service refuses, the page says why.
        assert response.status_code == 400 and not written and claim is None
        assert "Give staff something to check" in page(response)
        return
    assert response.status_code == 302
    mine, not_mine = form.selections()
    assert claim is not None
    assert claim.state == Claim.State.PENDING
    assert claim.links == cleaned["links"]
    assert claim.statement == cleaned["statement"].strip()
    assert (sorted(claim.works_mine), sorted(claim.works_not_mine)) == (
        sorted(mine),
        sorted(not_mine),
    )
    assert submitted


@PROPERTIES
@given(
    pairs=form_data(address=value_or("Rosa@Uni.Example", " rosa@uni.example ", "a@b")),
    htmx=st.booleans(),
)
def test_email_form_sends_one_code_or_shows_what_is_wrong(world, as_role, pairs, htmx):
    client = as_role["claimant"]
    record = world.objects["record"]
    body = urlencoded(pairs)
    data = parsed(body)
    before = set(EmailCode.objects.values_list("pk", flat=True))
    with undone(client) as written:
        response = post(
            client,
            reverse("profiles:claim_email_send", args=[record.pk]),
            body,
            HTMX if htmx else None,
        )
        new = list(EmailCode.objects.exclude(pk__in=before).values_list("address", flat=True))
    if data is None:
        assert response.status_code == 400 and not written
        return
    form = EmailAddressForm(data)
    if not form.is_valid():
        assert response.status_code == 400 and not written
        assert_shows_errors(response, form)
        return
    assert response.status_code in (200, 302)
    assert new == [form.cleaned_data["address"].strip().lower()]


@PROPERTIES
@given(pairs=form_data(code=value_or("123456", " 654321 ", "12345")), htmx=st.booleans())
def test_code_form_counts_a_guess_or_shows_what_is_wrong(world, as_role, pairs, htmx):
    client = as_role["claimant"]
    record = world.objects["record"]
    body = urlencoded(pairs)
    data = parsed(body)
    with undone(client) as written:
        response = post(
            client,
            reverse("profiles:claim_email_verify", args=[record.pk]),
            body,
            HTMX if htmx else None,
        )
    if data is None:
        assert response.status_code == 400 and not written
        return
    form = EmailCodeForm(data)
    assert response.status_code == 400  # the world's code matches no six digits
    if not form.is_valid():
        assert not written
        assert_shows_errors(response, form)
    else:
        # A wrong guess is counted, whole: one attempt more on the code, nothing else.
        assert written == ["profiles_emailcode"]
        assert "not the one we sent" in page(response)


# profiles: the owner's settings and works


@PROPERTIES
@given(
    pairs=form_data(
        summary=value_or("Graphs", ""),
        affiliation=value_or("Uni Example", ""),
        homepage=value_or("https://rosa.example/", "rosa.example", ""),
        contact=value_or("Email me", ""),
        open_to_collaborate=value_or("on", ""),
        hidden_sections=value_or("affiliation", "homepage", "contact", "topics", "collaborators"),
    ),
    htmx=st.booleans(),
)
def test_profile_form_saves_every_field_or_shows_what_is_wrong(world, as_role, pairs, htmx):
    client = as_role["owner"]
    record = world.objects["record"]
    body = urlencoded(pairs)
    data = parsed(body)
    with undone(client) as written:
        response = post(
            client, reverse("profiles:profile_edit", args=[record.pk]), body, HTMX if htmx else None
        )
        saved = ProfileSettings.objects.get(author=record)
    if data is None:
        assert response.status_code == 400 and not written
        return
    form = ProfileSettingsForm(data, instance=ProfileSettings(author=record))
    if not form.is_valid():
        assert response.status_code == 400 and not written
        assert_shows_errors(response, form)
        return
    assert response.status_code == 302
    cleaned = form.cleaned_data
    assert (saved.summary, saved.affiliation, saved.homepage, saved.contact) == (
        cleaned["summary"].strip(),
        cleaned["affiliation"].strip(),
        cleaned["homepage"].strip(),
        cleaned["contact"].strip(),
    )
    assert saved.open_to_collaborate == cleaned["open_to_collaborate"]
    assert saved.hidden_sections == sorted(set(cleaned["hidden_sections"]))


@PROPERTIES
@given(
    pairs=form_data(status=value_or("confirmed", "disputed", "pending")),
    work=st.sampled_from(["work_id", "other_work_id"]),
    htmx=st.booleans(),
)
def test_authorship_form_sets_the_status_or_says_what_is_missing(world, as_role, pairs, work, htmx):
    client = as_role["owner"]
    record = world.objects["record"]
    work_id = int(world.params[work])
    body = urlencoded(pairs)
    data = parsed(body)
    path = reverse("profiles:authorship_status", args=[record.pk, work_id])
    with undone(client) as written:
        response = post(client, path, body, HTMX if htmx else None)
        status = (
            Authorship.objects.filter(author=record, work_id=work_id)
            .values_list("status", flat=True)
            .first()
        )
    if data is None:
        assert response.status_code == 400 and not written
        return
    form = AuthorshipStatusForm(data)
    if not form.is_valid():
        assert response.status_code == 400 and not written
        assert "Say whether the work is yours or not." in page(response)
    elif work == "other_work_id":
        assert response.status_code == 404 and not written
    else:
        assert response.status_code in (200, 302)
        assert status == form.cleaned_data["status"]


@PROPERTIES
@given(
    pairs=form_data(
        institution_name=value_or("Bell Labs", ""),
        from_year=value_or("2019", "1850", "3000"),
        to_year=value_or("2021", "present", "2010", ""),
    ),
    htmx=st.booleans(),
)
def test_affiliation_form_adds_the_line_or_shows_what_is_wrong(world, as_role, pairs, htmx):
    client = as_role["owner"]
    record = world.objects["record"]
    body = urlencoded(pairs)
    data = parsed(body)
    path = reverse("profiles:affiliation_add", args=[record.pk])
    with undone(client) as written:
        response = post(client, path, body, HTMX if htmx else None)
        added = list(
            AuthorAffiliation.objects.filter(author=record, origin="owner").exclude(
                institution_name="Own Lab"
            )
        )
    if data is None:
        assert response.status_code == 400 and not written
        return
    form = AffiliationForm(data, this_year=timezone.localdate().year)
    if not form.is_valid():
        assert response.status_code == 400 and not written
        assert_shows_errors(response, form)
        return
    assert response.status_code in (200, 302)
    (line,) = added
    cleaned = form.cleaned_data
    assert line.institution_name == cleaned["institution_name"].strip()
    assert line.years[0] == cleaned["from_year"]
    assert line.until_present == (cleaned["to_year"] is None)


# profiles: staff decisions


@PROPERTIES
@given(
    claim=st.sampled_from(["pending", "approved"]),
    decision=value_or("approve", "reject", "revoke"),
    pairs=form_data(reason=value_or("Not enough evidence.", "")),
    htmx=st.booleans(),
)
def test_decision_form_decides_whole_or_says_why_not(world, as_role, claim, decision, pairs, htmx):
    client = as_role["staff"]
    target = world.objects[claim]
    body = urlencoded(pairs)
    data = parsed(body)
    decision_bytes = decision if isinstance(decision, bytes) else decision.encode("utf-8", "ignore")
    path = reverse("profiles:staff_claim_detail", args=[target.pk]) + encode(decision_bytes) + "/"
    state_before = Claim.objects.get(pk=target.pk).state
    with undone(client) as written:
        response = post(client, path, body, HTMX if htmx else None)
        state, stored_reason = Claim.objects.values_list("state", "reason").get(pk=target.pk)
    known = {"approve": False, "reject": True, "revoke": True}
    if (
        not decision_bytes
        or b"/" in decision_bytes
        or decision_bytes.decode("utf-8", "replace") not in known
    ):
        assert response.status_code == 404 and not written
        return
    name = decision_bytes.decode()
    if data is None:
        assert response.status_code == 400 and not written
        return
    form = DecisionForm(data, reason_required=known[name])
    if not form.is_valid():
        assert response.status_code == 400 and not written
        assert_shows_errors(response, form)
        return
    assert response.status_code in (200, 302, 409)
    if response.status_code == 409:
        # Not possible from this state (approve on an owned record, revoke a pending
        # claim...): the page says why and nothing changed.
        assert not written and state == state_before
        assert "Cannot " in page(response) or "already has an approved claim" in page(response)
    else:
        assert (state, stored_reason) == (
            {"approve": "approved", "reject": "rejected", "revoke": "revoked"}[name],
            form.cleaned_data["reason"].strip(),
        )


# graph: asking for a slice again


@PROPERTIES
@given(pairs=form_data(next=value_or("explorer", "")), htmx=st.booleans())
def test_slice_retry_takes_any_next(world, as_role, pairs, htmx):
    client = as_role["anonymous"]
    body = urlencoded(pairs)
    data = parsed(body)
    path = reverse("graph:retry", args=[world.objects["record"].pk])
    with undone(client) as written:
        response = post(client, path, body, HTMX if htmx else None)
    assert not written  # the slice is ready: there is nothing to retry
    if data is None:
        assert response.status_code == 400
    elif data.get("next") == "explorer" or not htmx:
        assert response.status_code == 302
    else:
        assert response.status_code == 200


# Bodies too large to read


POST_FORMS = [
    ("stranger", "profiles:follow", ["author_id"]),
    ("stranger", "profiles:claim_start", ["author_id"]),
    ("claimant", "profiles:claim_email_send", ["author_id"]),
    ("claimant", "profiles:claim_email_verify", ["author_id"]),
    ("owner", "profiles:profile_edit", ["author_id"]),
    ("owner", "profiles:authorship_status", ["author_id", "work_id"]),
    ("owner", "profiles:affiliation_add", ["author_id"]),
    ("owner", "profiles:affiliation_hidden", ["author_id", "imported_affiliation_id"]),
    ("staff", "profiles:staff_claim_decide", ["claim_id", "decision"]),
    ("anonymous", "graph:retry", ["author_id"]),
]


@pytest.mark.parametrize(("role", "name", "params"), POST_FORMS)
def test_every_form_refuses_a_body_too_large_to_read(world, as_role, role, name, params):
    client = as_role[role]
    body = "summary=" + "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    with undone(client) as written:
        response = post(client, reverse(name, args=[world.params[p] for p in params]), body)
    assert response.status_code == 400
    assert not written
