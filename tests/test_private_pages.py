"""Pages with claim evidence, staff data or account details are never stored by a browser or proxy.

Each case signs in the person who sees the page, asks for it (with the
method the page takes) and reads Cache-Control. The public pages around
them stay cacheable, so the rule is shown to be about these pages alone.
"""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from profiles import services
from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.profiles.conftest import make_user
from works.models import Authorship

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    institution = InstitutionFactory(display_name="Uni Example", email_domains=["uni.example"])
    record = AuthorFactory(display_name="Rosa Example", last_known_institution=institution)
    work = WorkFactory(doi="10.1000/rosa-1")
    AuthorshipFactory(author=record, work=work)
    unclaimed = AuthorFactory(display_name="Una Claimed")
    staff = make_user("reviewer@bzpeer.example", staff=True, is_superuser=True)
    owner = make_user("owner@example.org")
    claimant = make_user("claimant@example.org")
    approved = services.claim_submit(
        user=owner,
        author=record,
        links=["https://rosa.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    services.claim_approve(claim=approved, staff=staff)
    pending = services.claim_submit(
        user=claimant,
        author=record,
        links=["https://rosa.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    return {
        "record": record,
        "work": work,
        "unclaimed": unclaimed,
        "staff": staff,
        "owner": owner,
        "claimant": claimant,
        "pending": pending,
        "approved": approved,
        "stranger": make_user("stranger@example.org"),
    }


def _client(world: dict[str, Any], who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world[who])
    return client


PRIVATE: list[tuple[str, str, str, Any, dict[str, str], dict[str, str]]] = [
    # who, method, URL name, args (from the world), data, headers
    ("stranger", "get", "profiles:claim_start", ("unclaimed",), {}, {}),
    ("stranger", "post", "profiles:claim_start", ("unclaimed",), {"links": ""}, {}),
    ("stranger", "post", "profiles:claim_email_send", ("unclaimed",), {"address": "x"}, HTMX),
    ("stranger", "post", "profiles:claim_email_verify", ("unclaimed",), {"code": "1"}, HTMX),
    ("claimant", "get", "profiles:claim_detail", ("pending",), {}, {}),
    ("claimant", "post", "profiles:claim_withdraw", ("pending",), {}, HTMX),
    ("owner", "get", "profiles:profile_edit", ("record",), {}, {}),
    ("owner", "get", "profiles:followers", ("record",), {}, {}),
    ("owner", "get", "profiles:orcid_import", ("record",), {}, HTMX),
    ("owner", "post", "profiles:orcid_import", ("record",), {}, {}),
    ("owner", "post", "profiles:profile_edit", ("record",), {"homepage": "nope"}, {}),
    (
        "owner",
        "post",
        "profiles:authorship_status",
        ("record", "work"),
        {"status": Authorship.Status.CONFIRMED},
        HTMX,
    ),
    ("staff", "get", "profiles:staff_claims", (), {}, {}),
    ("staff", "get", "profiles:staff_claims", (), {}, HTMX),
    ("staff", "get", "profiles:staff_claim_detail", ("pending",), {}, {}),
    ("staff", "post", "profiles:staff_claim_decide", ("pending", "reject"), {"reason": ""}, {}),
    ("staff", "get", "admin:index", (), {}, {}),
    ("staff", "get", "admin:profiles_claim_changelist", (), {}, {}),
    ("staff", "get", "admin:profiles_claim_change", ("pending",), {}, {}),
    ("anonymous", "get", "admin:login", (), {}, {}),
    ("anonymous", "get", "account_login", (), {}, {}),
    ("anonymous", "get", "account_signup", (), {}, {}),
    ("anonymous", "get", "account_reset_password", (), {}, {}),
    ("anonymous", "post", "account_login", (), {"login": "a@b.c", "password": "x"}, {}),
    ("owner", "get", "account_email", (), {}, {}),
    ("owner", "get", "account_change_password", (), {}, {}),
    ("owner", "get", "socialaccount_connections", (), {}, {}),
]


def _url(world: dict[str, Any], name: str, args: tuple[str, ...]) -> str:
    values = [world[a].pk if a in world else a for a in args]
    return reverse(name, args=values)


@pytest.mark.parametrize(
    ("who", "method", "name", "args", "data", "headers"),
    PRIVATE,
    ids=[f"{who}-{method}-{name}{'-htmx' if h else ''}" for who, method, name, _, _, h in PRIVATE],
)
def test_pages_with_claim_evidence_staff_or_account_data_are_never_stored(
    world, who, method, name, args, data, headers
):
    client = _client(world, who)
    response = getattr(client, method)(_url(world, name, args), data, headers=headers)

    assert response.status_code < 500
    control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= control, (name, response.status_code, control)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("profiles:researcher_detail", ("record",)),
        ("works:work_detail", ("work",)),
        ("works:researcher_search", ()),
        ("home", ()),
    ],
)
def test_public_pages_stay_cacheable(world, name, args):
    response = Client().get(_url(world, name, args))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
