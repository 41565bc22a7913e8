"""A claimed record whose owner is open to invitations, and people who write to them."""

from typing import Any

import pytest

from profiles import services as profile_services
from profiles.collaboration import services
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.outbox.conftest import smtp
from tests.profiles.conftest import make_user

__all__ = ["smtp"]


def own(user, author, *, staff=None):
    """`user` owns `author` (an approved claim)."""
    claim = profile_services.claim_submit(
        user=user,
        author=author,
        links=["https://x.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    profile_services.claim_approve(claim=claim, staff=staff or make_user(staff=True))
    return claim


def set_openness(owner, author, *, open_to_collaborate=True, invitations_from="verified"):
    profile_services.profile_settings_update(
        user=owner,
        author=author,
        summary="",
        affiliation="",
        homepage="",
        contact="",
        open_to_collaborate=open_to_collaborate,
        hidden_sections=[],
        invitations_from=invitations_from,
    )


@pytest.fixture
def owner():
    return make_user("rosa@uni.example")


@pytest.fixture
def record(owner):
    author = AuthorFactory(display_name="Rosa Example")
    for i in range(4):
        AuthorshipFactory(author=author, work=WorkFactory(title=f"Rosa's work {i}"))
    own(owner, author)
    set_openness(owner, author)
    return author


@pytest.fixture
def sender():
    return make_user("sam@example.org")


def send(sender, record, **overrides: Any):
    values: dict[str, Any] = {
        "subject": "Graphs together",
        "body": "We both draw graphs.",
        "recipient_works": [],
        "sender_works": [],
    }
    values.update(overrides)
    return services.invitation_send(sender=sender, author=record, **values)


@pytest.fixture
def conversation(sender, record, owner):
    invitation = send(sender, record)
    return services.invitation_accept(invitation=invitation, user=owner)
