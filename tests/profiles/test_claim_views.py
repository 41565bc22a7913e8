"""Claim pages with the test client: with and without HTMX, access, CSRF, limits, ORCID."""

import json
import re
from datetime import timedelta
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from profiles import services
from profiles.models import Claim, ClaimEvent, EmailCode, ProfileSettings
from tests.factories import AuthorFactory, TopicFactory
from tests.mfa import force_login_with_totp
from tests.profiles.conftest import make_user
from tests.profiles.test_researcher_page import PROFILE_PAGE_QUERIES, text_of
from works.models import Authorship, WorkTopic

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ORCID_ID = "0000-0002-1825-0097"


def url(name: str, *args) -> str:
    return reverse(f"profiles:{name}", args=args)


def claim_with(user, author, **evidence) -> Claim:
    fields: dict[str, Any] = {"links": ["https://rosa.example/"], "statement": "", "works_mine": []}
    fields.update(evidence)
    fields.setdefault("works_not_mine", [])
    return services.claim_submit(user=user, author=author, **fields)


def send_and_read_code(client, author, mailoutbox, capture, address="rosa@uni.example") -> str:
    with capture(execute=True):
        client.post(url("claim_email_send", author.pk), {"address": address})
    return re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)


# Who may see and do what


@pytest.fixture
def world(record, staff):
    """A record with an approved owner, a pending (contesting) claimant and a stranger."""
    owner = make_user("owner@example.org")
    claimant = make_user("claimant@example.org")
    approved = claim_with(owner, record)
    services.claim_approve(claim=approved, staff=staff)
    pending = claim_with(claimant, record)
    return {
        "record": record,
        "work": Authorship.objects.filter(author=record).first().work_id,
        "approved": approved,
        "pending": pending,
        "anonymous": None,
        "stranger": make_user("stranger@example.org"),
        "claimant": claimant,
        "owner": owner,
        "staff": staff,
    }


ROLES = ["anonymous", "stranger", "claimant", "owner", "staff"]
LOGIN = "login"  # a redirect to the log-in page

ACCESS: list[tuple[str, str, dict[str, str], list[int | str]]] = [
    # method, path, data, expected for anonymous, stranger, claimant, owner, staff
    ("get", "/researchers/{record}/", {}, [200, 200, 200, 200, 200]),
    ("get", "/researchers/{record}/claim/", {}, [LOGIN, 200, 302, 302, 200]),
    (
        "post",
        "/researchers/{record}/claim/",
        {"links": "https://x.example/"},
        [LOGIN, 302, 302, 302, 302],
    ),
    (
        "post",
        "/researchers/{record}/claim/email/",
        {"address": "a@uni.example"},
        [LOGIN, 302, 302, 302, 302],
    ),
    (
        "post",
        "/researchers/{record}/claim/email/verify/",
        {"code": "123456"},
        [LOGIN, 400, 400, 400, 400],
    ),
    ("get", "/claims/{pending}/", {}, [LOGIN, 404, 200, 404, 200]),
    ("get", "/claims/{approved}/", {}, [LOGIN, 404, 404, 200, 200]),
    ("post", "/claims/{pending}/withdraw/", {}, [LOGIN, 404, 302, 404, 404]),
    ("get", "/researchers/{record}/profile/", {}, [LOGIN, 404, 404, 200, 404]),
    ("post", "/researchers/{record}/profile/", {"summary": "x"}, [LOGIN, 404, 404, 302, 404]),
    (
        "post",
        "/researchers/{record}/works/{work}/status/",
        {"status": "confirmed"},
        [LOGIN, 404, 404, 302, 404],
    ),
    ("get", "/staff/claims/", {}, [404, 404, 404, 404, 200]),
    ("get", "/staff/claims/{pending}/", {}, [404, 404, 404, 404, 200]),
    ("post", "/staff/claims/{pending}/reject/", {"reason": "No."}, [404, 404, 404, 404, 302]),
    ("post", "/staff/claims/{approved}/revoke/", {"reason": "No."}, [404, 404, 404, 404, 302]),
    ("post", "/staff/claims/{pending}/explode/", {}, [404, 404, 404, 404, 404]),
]


@pytest.mark.parametrize(
    ("method", "path", "data", "role", "expected"),
    [
        pytest.param(m, p, d, role, exp[i], id=f"{m} {p} as {role}")
        for m, p, d, exp in ACCESS
        for i, role in enumerate(ROLES)
    ],
)
def test_every_claim_and_staff_url_answers_each_kind_of_visitor(
    client, world, method, path, data, role, expected
):
    if role == "staff":
        force_login_with_totp(client, world[role])
    elif world[role] is not None:
        client.force_login(world[role])
    target = path.format(
        record=world["record"].pk,
        work=world["work"],
        pending=world["pending"].pk,
        approved=world["approved"].pk,
    )
    response = getattr(client, method)(target, data)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    else:
        assert response.status_code == expected
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("account_login"))


def test_evidence_is_shown_to_the_claimant_and_staff_only(client, world):
    client.force_login(world["claimant"])
    assert (
        "https://rosa.example/"
        in client.get(url("claim_detail", world["pending"].pk)).content.decode()
    )
    client.force_login(world["stranger"])
    response = client.get(url("claim_detail", world["pending"].pk))
    assert response.status_code == 404 and "rosa.example" not in response.content.decode()
    assert (
        "rosa.example"
        not in client.get(url("researcher_detail", world["record"].pk)).content.decode()
    )


def test_staff_pages_answer_404_not_a_login_redirect_or_403(client, world):
    for path in ("/staff/claims/", f"/staff/claims/{world['pending'].pk}/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "We could not find that page" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/researchers/{record}/claim/",
        "/researchers/{record}/claim/email/",
        "/claims/{pending}/withdraw/",
        "/staff/claims/{pending}/approve/",
    ],
)
def test_posts_need_the_csrf_token(world, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["staff"] if "staff" in path else world["claimant"])
    target = path.format(record=world["record"].pk, pending=world["pending"].pk)
    assert (
        client.post(target, {"links": "https://x.example/", "address": "a@uni.example"}).status_code
        == 403
    )
    assert Claim.objects.get(pk=world["pending"].pk).state == Claim.State.PENDING


# The claim form


def test_claim_form_lists_institutions_works_and_the_orcid_step(client, claimant, record):
    client.force_login(claimant)
    text = text_of(client.get(url("claim_start", record.pk)))
    assert "Claim Rosa Example" in text
    assert "Uni Example: uni.example" in text
    assert "This record has no ORCID iD" in text
    assert text.count("Not sure") == 3
    assert "Submit claim" in text


def test_orcid_step_says_when_orcid_is_not_configured(client, claimant, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"orcid": {"BASE_DOMAIN": "orcid.org"}}
    client.force_login(claimant)
    html = client.get(url("claim_start", AuthorFactory(orcid=ORCID_ID).pk)).content.decode()
    assert "ORCID sign-in is not available on this server" in html
    assert "/accounts/orcid/login/" not in html


@pytest.fixture
def orcid_configured(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {
            "BASE_DOMAIN": "orcid.org",
            "APP": {"client_id": "APP-TEST", "secret": "test-secret", "key": ""},
        }
    }


def test_claim_form_offers_the_orcid_sign_in_when_orcid_is_configured(
    client, claimant, orcid_configured
):
    author = AuthorFactory(orcid=ORCID_ID)
    client.force_login(claimant)
    html = client.get(url("claim_start", author.pk)).content.decode()
    action = re.search(r'<form method="post" action="([^"]*orcid[^"]*)"', html).group(1)
    query = parse_qs(urlparse(action.replace("&amp;", "&")).query)
    assert action.startswith("/accounts/orcid/login/")
    assert query == {"process": ["connect"], "next": [url("claim_start", author.pk)]}
    assert "Sign in with ORCID" in html


def _orcid_server(orcid_id: str):
    """ORCID's OAuth server, the one outside call: token exchange and the public record."""

    def request(self, method, target, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response.headers["content-type"] = "application/json"
        if target == "https://pub.orcid.org/oauth/token":
            assert kwargs["data"]["code"] == "code-from-orcid"
            body = {"access_token": "t", "token_type": "bearer", "orcid": orcid_id, "name": "R"}
        elif target == f"https://pub.orcid.org/v3.0/{orcid_id}/record":
            body = {
                "orcid-identifier": {"path": orcid_id, "uri": f"https://orcid.org/{orcid_id}"},
                "person": {"name": {"given-names": {"value": "Rosa"}}, "emails": {"email": []}},
            }
        else:
            raise AssertionError(f"unexpected request to {target}")
        response._content = json.dumps(body).encode()
        return response

    return mock.patch.object(requests.Session, "request", request)


def test_signing_in_with_orcid_proves_the_records_id_and_passes_the_check(
    client, claimant, orcid_configured
):
    author = AuthorFactory(orcid=ORCID_ID)
    client.force_login(claimant)
    start = client.post(
        f"/accounts/orcid/login/?process=connect&next={url('claim_start', author.pk)}"
    )
    assert start.status_code == 302 and start["Location"].startswith(
        "https://orcid.org/oauth/authorize"
    )
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]

    with _orcid_server(ORCID_ID):
        back = client.get(f"/accounts/orcid/login/callback/?code=code-from-orcid&state={state}")
    assert back.status_code == 302 and back["Location"] == url("claim_start", author.pk)
    assert SocialAccount.objects.get(user=claimant, provider="orcid").uid == ORCID_ID

    assert "it matches this record" in client.get(url("claim_start", author.pk)).content.decode()
    response = client.post(url("claim_start", author.pk), {})
    claim = Claim.objects.get(claimant=claimant)
    assert response["Location"] == url("claim_detail", claim.pk)
    assert claim.orcid_verified and claim.checks_passed
    text = text_of(client.get(url("researcher_detail", author.pk)))
    assert "Claim pending" in text and "Verification L2" in text


def test_an_orcid_sign_in_as_another_id_does_not_pass(client, claimant, orcid_configured):
    author = AuthorFactory(orcid=ORCID_ID)
    SocialAccount.objects.create(user=claimant, provider="orcid", uid="0000-0001-5109-3700")
    client.force_login(claimant)
    text = text_of(client.get(url("claim_start", author.pk)))
    assert "Your ORCID sign-in (0000-0001-5109-3700) is not this record's iD." in text
    assert "Sign in with ORCID" in text


def test_email_code_without_javascript_redirects_back_to_the_step(
    client, claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(claimant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("claim_email_send", record.pk), {"address": "rosa@uni.example"})
    assert response.status_code == 302
    assert response["Location"] == url("claim_start", record.pk) + "#email-step"
    assert mailoutbox[-1].to == ["rosa@uni.example"]
    assert "We sent a six-digit code to rosa@uni.example" in text_of(
        client.get(response["Location"])
    )


@pytest.mark.parametrize("minutes", [15, 20])
def test_the_claim_form_and_the_code_mail_give_the_code_the_same_time(
    client, claimant, record, mailoutbox, django_capture_on_commit_callbacks, settings, minutes
):
    settings.CLAIM_EMAIL_CODE_MINUTES = minutes
    client.force_login(claimant)
    send_and_read_code(client, record, mailoutbox, django_capture_on_commit_callbacks)

    page = text_of(client.get(url("claim_start", record.pk)))

    assert f"It works once, for {minutes} minutes" in page
    assert f"It works once, for {minutes} minutes." in mailoutbox[-1].body
    code = EmailCode.objects.get(user=claimant)
    assert round((code.expires_at - code.created_at) / timedelta(minutes=1)) == minutes


def test_email_code_with_htmx_swaps_the_step_in_place(
    client, claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(claimant)
    response = client.post(
        url("claim_email_send", record.pk), {"address": "rosa@uni.example"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="email-step"')
    assert "We sent a six-digit code" in html

    wrong = client.post(url("claim_email_verify", record.pk), {"code": "000000"}, headers=HTMX)
    assert wrong.status_code == 400 and "<html" not in wrong.content.decode()
    assert "not the one we sent" in wrong.content.decode()


def test_verifying_the_code_with_htmx_shows_the_matched_institution(
    client, claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(claimant)
    code = send_and_read_code(client, record, mailoutbox, django_capture_on_commit_callbacks)
    response = client.post(url("claim_email_verify", record.pk), {"code": code}, headers=HTMX)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    assert response.status_code == 200
    assert "rosa@uni.example is verified, at Uni Example" in text


def test_bad_address_or_code_is_a_400_with_the_message(client, claimant, record):
    client.force_login(claimant)
    response = client.post(url("claim_email_send", record.pk), {"address": "not an address"})
    assert (
        response.status_code == 400 and "Enter a valid email address" in response.content.decode()
    )
    response = client.post(url("claim_email_verify", record.pk), {"code": "12"}, headers=HTMX)
    assert response.status_code == 400 and "six digits" in response.content.decode()


def test_submitting_with_an_institutional_email_makes_the_record_l2_at_once(
    client, claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(claimant)
    code = send_and_read_code(client, record, mailoutbox, django_capture_on_commit_callbacks)
    client.post(url("claim_email_verify", record.pk), {"code": code})
    mine = Authorship.objects.filter(author=record).first().work_id
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("claim_start", record.pk),
            {"links": "https://rosa.example/\nhttps://uni.example/~rosa", f"work_{mine}": "mine"},
        )
    claim = Claim.objects.get(claimant=claimant)
    assert response["Location"] == url("claim_detail", claim.pk)
    assert claim.links == ["https://rosa.example/", "https://uni.example/~rosa"]
    assert claim.works_mine == [mine]
    assert mailoutbox[-1].subject == "We received your claim on Rosa Example"
    text = text_of(client.get(url("researcher_detail", record.pk)))
    # 25 for the record, 15 automatic evidence, 5 institutional email, 5 for the
    # claimant's two-month-old account; the pending claim itself earns nothing.
    for expected in ("Trust 50 - Partially verified", "Verification L2", "Claim pending"):
        assert expected in text
    assert "See your claim's status" in text
    assert "Claim this author entity first to unlock direct invitations." in text


def test_a_claim_without_evidence_leaves_the_score_where_it_was(client, claimant, record):
    """Anyone can claim any record: only evidence and staff's decision move the score."""
    before = text_of(client.get(url("researcher_detail", record.pk)))
    assert "Trust 25 - Unverified" in before and "Unclaimed author" in before
    client.force_login(claimant)
    client.post(url("claim_start", record.pk), {"links": "https://rosa.example/"})
    assert Claim.objects.filter(claimant=claimant, state=Claim.State.PENDING).exists()

    client.logout()
    text = text_of(client.get(url("researcher_detail", record.pk)))
    assert "Trust 25 - Unverified" in text and "Claim pending" in text


def test_bad_links_are_a_400_and_no_claim(client, claimant, record):
    client.force_login(claimant)
    response = client.post(url("claim_start", record.pk), {"links": "javascript:alert(1)"})
    assert response.status_code == 400
    assert "is not a web address" in response.content.decode()
    assert not Claim.objects.exists()


def test_a_refused_work_choice_is_a_400_that_says_why(client, claimant, record):
    work_id = Authorship.objects.filter(author=record).first().work_id
    client.force_login(claimant)
    response = client.post(
        url("claim_start", record.pk), {"links": "https://x.example/", f"work_{work_id}": "both"}
    )
    assert response.status_code == 400
    assert "Select a valid choice. both is not one of the available choices." in text_of(response)
    assert not Claim.objects.exists()


def test_nothing_to_check_is_a_400_with_the_reason(client, claimant, record):
    client.force_login(claimant)
    response = client.post(url("claim_start", record.pk), {})
    assert response.status_code == 400
    assert "Give staff something to check" in response.content.decode()


def test_a_claimant_with_a_claim_is_sent_to_it(client, claimant, record):
    claim = claim_with(claimant, record)
    client.force_login(claimant)
    response = client.get(url("claim_start", record.pk))
    assert response["Location"] == url("claim_detail", claim.pk)


# Rate limits


def test_claim_submissions_are_limited_per_account(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "claim_submit": "2/h/user,50/h/ip"}
    user = make_user()
    client.force_login(user)
    statuses = [
        client.post(
            url("claim_start", AuthorFactory().pk), {"links": "https://x.example/"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert Claim.objects.count() == 2


def test_code_emails_are_limited_per_account_and_per_ip(
    client, record, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "claim_email_code": "2/10m/user,3/h/ip",
    }
    first, second = make_user(), make_user()
    client.force_login(first)
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(
                url("claim_email_send", record.pk), {"address": "a@uni.example"}, headers=HTMX
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        client.force_login(second)  # same IP, another account
        assert (
            client.post(
                url("claim_email_send", record.pk), {"address": "b@uni.example"}
            ).status_code
            == 429
        )
    assert len(mailoutbox) == 2
    limited = client.post(
        url("claim_email_send", record.pk), {"address": "b@uni.example"}, headers=HTMX
    )
    assert "Too many codes" in limited.content.decode()


def test_code_guesses_are_limited(client, claimant, record, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "claim_code_check": "2/10m/user,50/h/ip",
    }
    client.force_login(claimant)
    services.email_code_send(user=claimant, author=record, address="a@uni.example")
    statuses = [
        client.post(url("claim_email_verify", record.pk), {"code": "000000"}).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]
    assert EmailCode.objects.get().attempts == 2


# The claim's status page


def test_status_page_shows_queue_position_median_and_withdraw(client, record):
    first, mine = make_user(), make_user()
    claim_with(first, AuthorFactory())
    claim = claim_with(mine, record)
    client.force_login(mine)
    text = text_of(client.get(url("claim_detail", claim.pk)))
    for expected in (
        "Your claim on Rosa Example",
        "Pending review",
        "Position in the queue 2 of 2",
        "No decisions in the last 30 days yet",
        "Withdraw claim",
        "https://rosa.example/",
        "Submitted",
    ):
        assert expected in text, expected


def test_median_time_to_decision_counts_the_last_30_days(client, staff, claimant):
    now = timezone.now()
    for hours in (1, 3, 8):
        claim = claim_with(make_user(), AuthorFactory())
        Claim.objects.filter(pk=claim.pk).update(created_at=now - timedelta(hours=hours))
        services.claim_reject(claim=claim, staff=staff, reason="No.")
    old = claim_with(make_user(), AuthorFactory())
    services.claim_reject(claim=old, staff=staff, reason="No.")
    ClaimEvent.objects.filter(claim=old, action="rejected").update(
        created_at=now - timedelta(days=31)
    )
    Claim.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=60))

    waiting = claim_with(claimant, AuthorFactory())
    client.force_login(claimant)
    text = text_of(client.get(url("claim_detail", waiting.pk)))
    assert "Median time to a decision, last 30 days 3 hours" in text


def test_withdraw_without_javascript_redirects_and_emails(
    client, claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    claim = claim_with(claimant, record)
    client.force_login(claimant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("claim_withdraw", claim.pk))
    assert response["Location"] == url("claim_detail", claim.pk)
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.WITHDRAWN
    assert mailoutbox[-1].subject == "You withdrew your claim on Rosa Example"
    text = text_of(client.get(response["Location"]))
    assert "Withdrawn on" in text and "Withdraw claim" not in text


def test_withdraw_with_htmx_swaps_the_status_and_a_second_click_changes_nothing(
    client, claimant, record
):
    claim = claim_with(claimant, record)
    client.force_login(claimant)
    response = client.post(url("claim_withdraw", claim.pk), headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="claim-state"' in html and "Withdrawn" in html
    again = client.post(url("claim_withdraw", claim.pk), headers=HTMX)
    assert "Cannot withdraw: the claim is withdrawn now" in again.content.decode()
    assert claim.events.filter(action="withdrawn").count() == 1


# Staff


def test_staff_queue_is_oldest_first_with_evidence_checks_and_risk_flags(client, staff, record):
    now = timezone.now()
    newer = claim_with(make_user(age_days=0.1), record)
    older = claim_with(make_user("older@example.org"), AuthorFactory(display_name="Older Record"))
    Claim.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=2))
    force_login_with_totp(client, staff)
    response = client.get("/staff/claims/")
    assert [c.pk for c in response.context["page"]] == [older.pk, newer.pk]
    text = text_of(response)
    assert text.index("Older Record") < text.index("Rosa Example")
    assert "Account younger than a day" in text
    assert "No address was verified with a code." in text
    assert "1 link" in text


def test_staff_queue_filters_by_state_contested_and_checks(client, staff, record):
    plain = claim_with(make_user(), AuthorFactory())
    first, second = claim_with(make_user(), record), claim_with(make_user(), record)
    passed_user = make_user()
    orcid_author = AuthorFactory(orcid=ORCID_ID)
    SocialAccount.objects.create(user=passed_user, provider="orcid", uid=ORCID_ID)
    passed = claim_with(passed_user, orcid_author)
    services.claim_reject(claim=plain, staff=staff, reason="No.")
    force_login_with_totp(client, staff)

    def ids(query: str) -> set[int]:
        return {c.pk for c in client.get("/staff/claims/" + query).context["page"]}

    assert ids("") == {first.pk, second.pk, passed.pk}
    assert ids("?state=rejected") == {plain.pk}
    assert ids("?state=&contested=yes") == {first.pk, second.pk}
    assert ids("?state=pending&contested=no") == {passed.pk}
    assert ids("?checks=passed") == {passed.pk}
    assert ids("?checks=failed") == {first.pk, second.pk}


def test_staff_queue_filter_with_htmx_returns_the_list_only(client, staff):
    claim_with(make_user(), AuthorFactory())
    force_login_with_totp(client, staff)
    response = client.get("/staff/claims/?state=pending", headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<div id="queue"')
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_staff_queue_page_that_does_not_exist_shows_the_last_with_a_note(client, staff):
    claim_with(make_user(), AuthorFactory(display_name="Queued Record"))
    force_login_with_totp(client, staff)
    response = client.get("/staff/claims/?page=7")
    assert response.status_code == 200 and response.context["page"].number == 1
    text = text_of(response)
    assert "There is no page 7; showing page 1, the last." in text
    assert "Queued Record" in text


def test_staff_detail_shows_evidence_flags_and_audit_log(client, staff, record):
    claim = claim_with(
        make_user("someone@example.org", age_days=0.1), record, statement="It is me."
    )
    force_login_with_totp(client, staff)
    text = text_of(client.get(f"/staff/claims/{claim.pk}/"))
    for expected in (
        "Claim on Rosa Example",
        "someone@example.org",
        "Account younger than a day",
        "It is me.",
        "Approve claim",
        "Reject claim",
        "Audit log",
        "Automatic checks run",
    ):
        assert expected in text, expected


def test_staff_approve_without_javascript_then_the_page_reads_claimed_l3(
    client, staff, claimant, record, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(claimant)
    code = send_and_read_code(client, record, mailoutbox, django_capture_on_commit_callbacks)
    client.post(url("claim_email_verify", record.pk), {"code": code})
    client.post(url("claim_start", record.pk), {})
    claim = Claim.objects.get(claimant=claimant)

    force_login_with_totp(client, staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/claims/{claim.pk}/approve/", {"reason": ""})
    assert response["Location"] == f"/staff/claims/{claim.pk}/"
    assert mailoutbox[-1].subject == "Your claim on Rosa Example is approved"

    client.logout()
    text = text_of(client.get(url("researcher_detail", record.pk)))
    for expected in ("Trust 80 - Verified", "Verification L3", "Claimed"):
        assert expected in text, expected
    # claimed, and not open until the owner says so
    assert "Claimed, but not open to invitations" in text
    assert "Claim this author entity first" not in text
    assert "Log in to claim" not in text


def test_staff_decisions_with_htmx_swap_the_decision_panel(client, staff):
    claim = claim_with(make_user(), AuthorFactory())
    force_login_with_totp(client, staff)
    response = client.post(f"/staff/claims/{claim.pk}/approve/", {}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="decision"' in html and "Approved" in html and "Revoke claim" in html

    twice = client.post(f"/staff/claims/{claim.pk}/approve/", {}, headers=HTMX)
    assert twice.status_code == 409
    assert "Cannot approve: the claim is approved now. Nothing changed." in twice.content.decode()
    assert claim.events.filter(action="approved").count() == 1


def test_reject_without_a_reason_is_a_400_and_changes_nothing(client, staff):
    claim = claim_with(make_user(), AuthorFactory())
    force_login_with_totp(client, staff)
    for headers in ({}, HTMX):
        response = client.post(
            f"/staff/claims/{claim.pk}/reject/", {"reason": " "}, headers=headers
        )
        assert response.status_code == 400
        assert "Give a reason" in response.content.decode()
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.PENDING


# The owner's page


@pytest.fixture
def owned(record, claimant, staff):
    services.claim_approve(claim=claim_with(claimant, record), staff=staff)
    return record


def test_owner_edits_summary_affiliation_homepage_contact_and_visibility(client, claimant, owned):
    topic = TopicFactory(display_name="Forgetting")
    WorkTopic.objects.create(work=Authorship.objects.filter(author=owned).first().work, topic=topic)
    client.force_login(claimant)
    assert "Edit your profile and works" in text_of(client.get(url("researcher_detail", owned.pk)))
    response = client.post(
        url("profile_edit", owned.pk),
        {
            "summary": "I study forgetting.",
            "affiliation": "Lab of Memory, Uni Example",
            "homepage": "https://rosa.example/",
            "contact": "Email me at my university address.",
            "open_to_collaborate": "on",
            "hidden_sections": ["topics"],
        },
    )
    assert response["Location"] == url("researcher_detail", owned.pk)
    client.logout()
    text = text_of(client.get(url("researcher_detail", owned.pk)))
    for expected in (
        "I study forgetting.",
        "Lab of Memory, Uni Example",
        "Open to collaborate",
        "Yes, open to new collaborations",
        "https://rosa.example/",
        "Email me at my university address.",
        "Hidden by the researcher.",
    ):
        assert expected in text, expected
    assert "Forgetting" not in text.split("Topics", 1)[1].split("Close collaborators")[0]
    owned.refresh_from_db()
    assert owned.summary == ""  # the public record is untouched


def test_settings_leave_the_page_when_the_claim_is_revoked(client, staff, claimant, owned):
    ProfileSettings.objects.filter(author=owned).update(summary="I study forgetting.")
    services.claim_revoke(claim=Claim.objects.get(author=owned), staff=staff, reason="Impostor.")
    text = text_of(client.get(url("researcher_detail", owned.pk)))
    assert "I study forgetting." not in text
    assert "Unclaimed author" in text and "Log in to claim" in text


def test_invalid_homepage_is_a_400(client, claimant, owned):
    client.force_login(claimant)
    response = client.post(url("profile_edit", owned.pk), {"homepage": "ftp://x.example/"})
    assert response.status_code == 400
    assert "http:// or https://" in response.content.decode()


def test_a_refused_hidden_section_is_a_400_that_says_why(client, claimant, owned):
    client.force_login(claimant)
    response = client.post(
        url("profile_edit", owned.pk), {"summary": "Changed", "hidden_sections": ["email"]}
    )
    assert response.status_code == 400
    assert "Select a valid choice. email is not one of the available choices." in text_of(response)
    assert ProfileSettings.objects.get(author=owned).summary == ""


def test_owner_disputes_a_work_with_htmx_and_it_leaves_the_page(client, claimant, owned):
    authorship = Authorship.objects.filter(author=owned).select_related("work").first()
    client.force_login(claimant)
    response = client.post(
        url("authorship_status", owned.pk, authorship.work_id), {"status": "disputed"}, headers=HTMX
    )
    html = response.content.decode()
    assert "<html" not in html and f'id="work-{authorship.work_id}"' in html
    assert "Disputed: hidden from your page" in html and "It is mine after all" in html
    authorship.refresh_from_db()
    assert (authorship.status, authorship.status_changed_by) == ("disputed", claimant)
    text = text_of(client.get(url("researcher_detail", owned.pk)))
    assert authorship.work.title not in text and "2 published item(s)" in text
    assert "Works reviewed by the researcher" in text


def test_owner_confirms_a_work_without_javascript(client, claimant, owned):
    work_id = Authorship.objects.filter(author=owned).first().work_id
    client.force_login(claimant)
    response = client.post(url("authorship_status", owned.pk, work_id), {"status": "confirmed"})
    assert response["Location"] == url("profile_edit", owned.pk) + f"#work-{work_id}"
    assert Authorship.objects.get(author=owned, work_id=work_id).status == "confirmed"
    assert (
        client.post(url("authorship_status", owned.pk, work_id), {"status": "x"}).status_code == 400
    )


def test_claimed_page_keeps_the_pinned_query_count(client, owned, django_assert_num_queries):
    with django_assert_num_queries(PROFILE_PAGE_QUERIES):
        client.get(url("researcher_detail", owned.pk))


def test_a_contested_record_says_so_and_offers_to_claim_too(client, record):
    claim_with(make_user(), record)
    claim_with(make_user(), record)
    stranger = make_user()
    client.force_login(stranger)
    text = text_of(client.get(url("researcher_detail", record.pk)))
    assert "Claim pending" in text and "Someone else has claimed it" in text
    assert "Contested record" in text


# A reviewer's own claims, claims on records they own, day-old accounts at their
# domain: shown as "needs another reviewer", and a forged decision is refused


def test_a_forged_approval_of_ones_own_claim_is_a_403_and_changes_nothing(
    client, staff, record, mailoutbox
):
    claim = claim_with(staff, record)
    force_login_with_totp(client, staff)
    for headers in ({}, HTMX):
        mailoutbox.clear()
        response = client.post(
            f"/staff/claims/{claim.pk}/approve/", {"reason": ""}, headers=headers
        )
        assert response.status_code == 403
        assert "You made this claim" in response.content.decode()
        assert "Approve claim" not in response.content.decode()
        claim.refresh_from_db()
        assert (claim.state, claim.decided_by_id) == (Claim.State.PENDING, None)
        assert not claim.events.filter(action="approved").exists()
        assert mailoutbox == []


def test_the_queue_and_the_claim_page_say_needs_another_reviewer(client, staff, record):
    own = claim_with(staff, record)
    puppet = make_user("puppet@bzpeer.example", age_days=0.1)
    theirs = claim_with(puppet, AuthorFactory(display_name="Other Record"))
    fine = claim_with(make_user("rosa@uni.example"), AuthorFactory(display_name="Fine Record"))
    force_login_with_totp(client, staff)

    text = text_of(client.get("/staff/claims/"))
    assert text.count("Needs another reviewer") == 2
    assert "You made this claim" in text
    assert "shares your email domain (bzpeer.example)" in text

    for claim, reason in ((own, "You made this claim"), (theirs, "bzpeer.example")):
        page = text_of(client.get(f"/staff/claims/{claim.pk}/"))
        assert "Needs another reviewer" in page and reason in page
        assert "Approve claim" not in page and "Reject claim" not in page
    page = text_of(client.get(f"/staff/claims/{fine.pk}/"))
    assert "Needs another reviewer" not in page and "Approve claim" in page

    force_login_with_totp(client, make_user("second@reviewers.example", staff=True))
    page = text_of(client.get(f"/staff/claims/{own.pk}/"))
    assert "Needs another reviewer" not in page and "Approve claim" in page


def test_a_staff_verified_claim_without_other_evidence_reads_verified_and_says_why(
    client, staff, record
):
    """Issue 13, 7: a record approved by staff on links alone read
    "Trust 55 - Partially verified" beside "Verification L3"."""
    newcomer = make_user(age_days=1)  # not yet in good standing: no points for that
    services.claim_approve(claim=claim_with(newcomer, record), staff=staff)
    text = text_of(client.get(url("researcher_detail", record.pk)))
    for expected in ("Trust 60 - Verified", "Verification L3", "Claimed"):
        assert expected in text, expected
    assert "Partially verified" not in text.split("Why this score")[0]
    assert re.search(r"Staff verification sets the floor \(L3\) .*\+\d+", text)
    assert "a claim verified by staff (L3) reads at least 60, Verified" in text


# Issue 13, 5: what the owner decides about a work shows the same everywhere,
# and the owner can see and undo it.


def test_a_work_the_owner_marked_not_theirs_leaves_the_work_page_until_they_undo_it(
    client, claimant, owned
):
    authorship = Authorship.objects.filter(author=owned).select_related("work").first()
    work_page = reverse("works:work_detail", args=[authorship.work_id])
    researcher_link = f'href="{url("researcher_detail", owned.pk)}"'
    assert researcher_link in client.get(work_page).content.decode()

    client.force_login(claimant)
    client.post(url("authorship_status", owned.pk, authorship.work_id), {"status": "disputed"})
    client.logout()
    html = client.get(work_page).content.decode()
    assert researcher_link not in html and owned.display_name not in html

    client.force_login(claimant)
    edit = text_of(client.get(url("profile_edit", owned.pk)))
    not_mine = edit.split("Works you marked not yours", 1)[1].split("All works on", 1)[0]
    assert authorship.work.title in not_mine and "Undo: it is mine" in not_mine
    response = client.post(
        url("authorship_status", owned.pk, authorship.work_id), {"status": "confirmed"}
    )
    assert response.status_code == 302
    client.logout()
    assert researcher_link in client.get(work_page).content.decode()
    assert authorship.work.title in text_of(client.get(url("researcher_detail", owned.pk)))


def test_the_owner_sees_on_their_page_how_many_works_they_marked_not_theirs(
    client, claimant, owned
):
    work_id = Authorship.objects.filter(author=owned).first().work_id
    client.force_login(claimant)
    assert "not yours" not in text_of(client.get(url("researcher_detail", owned.pk)))
    client.post(url("authorship_status", owned.pk, work_id), {"status": "disputed"})
    html = client.get(url("researcher_detail", owned.pk)).content.decode()
    assert "You marked 1 work not yours" in text_of(client.get(url("researcher_detail", owned.pk)))
    assert f'href="{url("profile_edit", owned.pk)}#not-mine"' in html
    client.logout()
    assert "not yours" not in text_of(client.get(url("researcher_detail", owned.pk)))


def test_disputing_with_htmx_also_updates_the_not_mine_list(client, claimant, owned):
    authorship = Authorship.objects.filter(author=owned).select_related("work").first()
    client.force_login(claimant)
    response = client.post(
        url("authorship_status", owned.pk, authorship.work_id), {"status": "disputed"}, headers=HTMX
    )
    html = response.content.decode()
    assert f'id="work-{authorship.work_id}"' in html
    not_mine = re.search(
        r'<section id="not-mine"[^>]*hx-swap-oob="true"[^>]*>(.*?)</section>', html, re.S
    )
    assert not_mine and authorship.work.title in not_mine.group(1)
    assert "Undo: it is mine" in not_mine.group(1)


def test_the_graph_follows_the_owner_s_decision_and_its_undo(
    client, claimant, owned, django_capture_on_commit_callbacks
):
    authorship = Authorship.objects.filter(author=owned).first()
    node = f"w:{authorship.work_id}"
    explorer_json = reverse("graph:json", args=[owned.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("graph:slice", args=[owned.pk]))
    assert node in {n["id"] for n in client.get(explorer_json).json()["nodes"]}

    client.force_login(claimant)
    for status, present in (("disputed", False), ("confirmed", True)):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url("authorship_status", owned.pk, authorship.work_id), {"status": status})
        nodes = {n["id"] for n in client.get(explorer_json).json()["nodes"]}
        assert (node in nodes) is present, status
