"""People and records for the claim tests."""

import itertools
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.factories import AuthorFactory, AuthorshipFactory, InstitutionFactory, WorkFactory
from tests.mfa import force_login_with_totp
from tests.outbox.conftest import smtp  # noqa: F401 (the digest tests' real SMTP server)

PASSWORD = "a-long-test-password-1"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Many accounts per test here; the real hasher's deliberate slowness is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(email: str | None = None, *, staff: bool = False, age_days: float = 60, **extra):
    """A user with a verified email; age_days sets how long ago the account was made."""
    n = next(_numbers)
    email = email or f"person{n}@example.org"
    user = get_user_model().objects.create_user(
        f"user{n}", email, PASSWORD, is_staff=staff, **extra
    )
    user.date_joined = timezone.now() - timedelta(days=age_days)
    user.save(update_fields=["date_joined"])
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def staff():
    return make_user("reviewer@bzpeer.example", staff=True)


@pytest.fixture
def staff_client(client):
    """The test client of a staff member signed in with their second factor (.reviewer)."""
    reviewer = make_user("reviewer@bzpeer.example", staff=True)
    force_login_with_totp(client, reviewer)
    client.reviewer = reviewer
    return client


@pytest.fixture
def claimant():
    return make_user("claimant@example.org")


@pytest.fixture
def record():
    """A record like the seed's (3 works with ids, no ORCID) with an institution at uni.example."""
    institution = InstitutionFactory(display_name="Uni Example", email_domains=["uni.example"])
    author = AuthorFactory(
        display_name="Rosa Example", openalex_id="", last_known_institution=institution
    )
    for i in range(3):
        AuthorshipFactory(author=author, work=WorkFactory(doi=f"10.1000/rosa-{author.pk}-{i}"))
    return author


def owned_record(display_name="Rosa Owner", *, orcid_proven=""):
    """A user and the record whose claim staff approved: its owner.

    orcid_proven: the record's ORCID iD, which the owner signed in with
    before claiming (the claim's automatic ORCID check passes).
    """
    from allauth.socialaccount.models import SocialAccount

    from profiles import services
    from tests.factories import AuthorFactory

    owner = make_user()
    author = AuthorFactory(display_name=display_name, orcid=orcid_proven)
    if orcid_proven:
        SocialAccount.objects.create(user=owner, provider="orcid", uid=orcid_proven)
    claim = services.claim_submit(
        user=owner,
        author=author,
        links=["https://x.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    services.claim_approve(claim=claim, staff=make_user(staff=True))
    return owner, author


@pytest.fixture
def orcid_api_url(settings, shared_data):
    """ORCID's public API, as the recorded records served on 127.0.0.1 (the only mock)."""
    from tests.profiles.orcid_api_server import orcid_api

    with orcid_api(shared_data) as url:
        settings.ORCID_API_URL = url
        yield url
