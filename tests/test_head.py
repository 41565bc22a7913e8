"""HEAD is answered wherever GET is: every URL pattern, filled with real objects, asked both ways.

The walk covers the whole URL configuration (the site's own pages, the
admin's and allauth's), so a new URL is covered the day it is added; a URL
with a parameter this file has no value for fails until it gets one.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from bzpeer.outbox import optout
from profiles import record_operations, services
from profiles.collaboration import safety
from profiles.collaboration import services as collaboration
from profiles.models import DuplicateSuggestion, ProfileSettings, SplitRequest
from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    InstitutionFactory,
    TopicFactory,
    WorkFactory,
)
from tests.mfa import force_login_with_totp
from tests.profiles.conftest import make_user
from works.models import Author, AuthorAffiliation

pytestmark = pytest.mark.django_db

# <int:author_id> in a route, (?P<key>...) in a regex.
ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        else:
            yield route, entry


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def values():
    """A real object behind every parameter the URL configuration names."""
    institution = InstitutionFactory()
    author = AuthorFactory(last_known_institution=institution)
    other = AuthorFactory(display_name=author.display_name)
    work = WorkFactory()
    AuthorshipFactory(author=author, work=work)
    staff = make_user("reviewer@bzpeer.example", staff=True, is_superuser=True)
    claim = services.claim_submit(
        user=make_user(),
        author=author,
        links=["https://rosa.example/"],
        statement="",
        works_mine=[],
        works_not_mine=[],
    )
    # an invitation from staff to the record's owner, accepted: a conversation
    services.claim_approve(claim=claim, staff=staff)
    ProfileSettings.objects.update_or_create(author=author, defaults={"open_to_collaborate": True})
    invitation = collaboration.invitation_send(
        sender=staff, author=author, subject="Hi", body="Why", recipient_works=[], sender_works=[]
    )
    conversation = collaboration.invitation_accept(invitation=invitation, user=claim.claimant)
    # the safety pages' objects: the owner reports the conversation and blocks its sender
    report = safety.report_submit(
        reporter=claim.claimant, invitation=invitation, conversation=conversation, reason="spam"
    )
    safety.block_set(blocker=claim.claimant, blocked=staff, blocking=True)
    return {
        "staff": staff,
        "invitation_id": invitation.pk,
        "conversation_id": conversation.pk,
        "answer": "accept",
        "report_id": report.pk,
        "blocked_user_id": staff.pk,
        "author_id": author.pk,
        "work_id": work.pk,
        "extension": "bib",
        "affiliation_id": AuthorAffiliation.objects.create(
            author=author, institution_name="Own Lab", origin="owner"
        ).pk,
        "topic_id": TopicFactory().pk,
        "institution_id": institution.pk,
        "claim_id": claim.pk,
        # a pair the duplicate finder shows staff (profiles.duplicates)
        "suggestion_id": DuplicateSuggestion.objects.create(
            author_low_id=min(author.pk, other.pk),
            author_high_id=max(author.pk, other.pk),
            evidence={"shared_institutions": 1},
            strength=2,
        ).pk,
        # a merge staff can undo, and an owner's split request (profiles.record_operations)
        "operation_id": record_operations.record_merge(
            staff=staff, source_id=AuthorFactory().pk, target_id=AuthorFactory().pk
        ).pk,
        "request_id": SplitRequest.objects.create(
            author=author, requested_by=claim.claimant, work_ids=[work.pk]
        ).pk,
        "decision": "approve",
        "app_label": "works",
        "content_type_id": ContentType.objects.get_for_model(Author).pk,
        "id": get_user_model().objects.get(pk=staff.pk).pk,
        "key": "not-a-real-key",
        "uidb36": "1",
        "url": "no/such/page/",
        # the signed link of a mail that stops the staff member's message mail
        "token": optout.token_make(user_id=staff.pk, kind="message"),
    }


def _fill(route: str, pattern: URLPattern, values: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name == "object_id":
            # An admin page of one object: the first of that admin's model.
            model_admin = getattr(pattern.callback, "model_admin", None)
            model = model_admin.model if model_admin else Author
            found = model._default_manager.order_by("pk").first()
            return str(found.pk if found else values["author_id"])
        assert name in values, f"{route}: give the parameter {name!r} a value in this test"
        return str(values[name])

    return "/" + ROUTE_PARAMETER.sub(value, route).replace("^", "").replace("$", "")


def _every_url(values: dict[str, Any]) -> list[tuple[str, str]]:
    urls = []
    for route, pattern in _patterns(get_resolver()):
        url = _fill(route, pattern, values)
        # The URL reaches the pattern it was made from.
        assert resolve(url).func == pattern.callback, (route, url)
        urls.append((route, url))
    return urls


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_every_url_answers_head_as_it_answers_get(values, who):
    client = Client(raise_request_exception=False)
    if who == "staff":
        force_login_with_totp(client, values["staff"])
    differ = []
    for route, url in _every_url(values):
        # HEAD first: a GET that changed something must not decide HEAD's answer.
        head = client.head(url)
        get = client.get(url)
        if head.status_code != get.status_code or head.content:
            differ.append((route, get.status_code, head.status_code, len(head.content)))
    assert not differ, "route, GET status, HEAD status, HEAD body length:\n" + "\n".join(
        map(str, differ)
    )
