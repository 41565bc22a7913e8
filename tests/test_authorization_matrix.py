"""Who may do what at every URL: a matrix generated from the URL configuration.

Every URL pattern that `django.urls.get_resolver()` knows (the project's apps,
allauth, the admin) is requested by five kinds of visitor (ROLES) with every
method it accepts, HEAD, and one method it refuses. TABLE says what each
should get; the admin and allauth are covered by a rule per prefix
(PREFIX_RULES). A URL without an entry fails `test_every_url_has_an_entry`,
which names it. Wherever the answer is a refusal (401, 403, 404, 405, 429, a
redirect to a log-in page), the request must have written nothing: no row
inserted, updated or deleted in any table but the sessions' (see `tests.world.writes`).

Every POST goes through a client that enforces CSRF, with a valid token;
`test_every_post_without_a_csrf_token_is_refused` sends each one without.

Changing an expectation is one line: a role's sign-in is one line of SIGN_IN
(staff sign in with a second factor), a URL's answer to a method is one line
of TABLE. HEAD is expected to answer as GET does, everywhere.

Run time: the world is built once per role (each test), and each request runs
in a savepoint that is rolled back, so an allowed POST never changes what the
next request sees.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from tests.mfa import force_login_with_totp
from tests.world import World, build_world, fresh_caches, writes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The real hasher's deliberate slowness is not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


ROLES = ("anonymous", "stranger", "claimant", "owner", "staff")


# How each role signs in: one line per role.


def _signed_in(client: Client, user: Any) -> None:
    client.force_login(user)


SIGN_IN: dict[str, Callable[[Client, Any], None] | None] = {
    "anonymous": None,
    "stranger": _signed_in,  # a signed-in person with no claim on the record
    "claimant": _signed_in,  # a pending claim on the record
    "owner": _signed_in,  # the approved claim on the record
    # is_staff and superuser, as `createsuperuser` makes them, signed in with
    # the second factor staff pages require (bzpeer.staff)
    "staff": force_login_with_totp,
}


# Outcomes: a status code, or one of these.
LOGIN = "redirect to log-in"  # 302 to the site's log-in page, with ?next=
ADMIN_LOGIN = "redirect to admin log-in"  # 302 to /admin/login/, with ?next=
REDIRECT = "redirect"  # 301/302 anywhere but a log-in page
ANSWERED = "any answer below 500"
NOT_LOGIN = "any answer below 500 but a log-in redirect"
Outcome = int | str
Outcomes = tuple[Outcome, Outcome, Outcome, Outcome, Outcome]  # in ROLES order

# Answers after which the database must be as it was.
REFUSALS = {401, 403, 404, 405, 429, LOGIN, ADMIN_LOGIN}


def every(outcome: Outcome) -> Outcomes:
    return (outcome, outcome, outcome, outcome, outcome)


@dataclass(frozen=True)
class Url:
    """What each role gets from one URL: one line per method.

    name: the URL's name ("profiles:claim_start"), or its route when unnamed.
    methods: method -> outcomes in ROLES order.
    data: the POST body: valid input, so that an allowed role's real answer shows;
      a value "world:<name>" takes that world parameter's value (an id).
    params: path parameters over the world's (World.params); a value naming a
      world parameter ("approved_claim_id") takes that parameter's value.
    case: tells two lines of one URL apart.
    """

    name: str
    methods: dict[str, Outcomes]
    data: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    case: str = ""


def body(data: dict[str, str], world: World) -> dict[str, str]:
    """A line's POST body with its "world:<name>" values filled in."""
    return {
        key: world.params[value.removeprefix("world:")] if value.startswith("world:") else value
        for key, value in data.items()
    }


def url(
    name: str,
    *,
    data: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    case: str = "",
    **methods: Outcomes,
) -> Url:
    return Url(name, dict(methods), data or {}, params or {}, case)


# The project's views: GET, POST and PUT each (no view accepts PUT, so every
# line has a method its view refuses); HEAD is expected to answer as GET.
#                                anonymous    stranger  claimant  owner     staff
PROJECT = [
    url(
        "home",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "healthz",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "works:work_detail",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "works:work_cite",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "works:work_export",
        params={"extension": "bib"},
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "works:researcher_search",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "works:topic_detail",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "works:institution_detail",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:researcher_detail",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:researcher_export",
        params={"extension": "bib"},
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:follow",
        data={"action": "follow"},
        GET=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        POST=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        PUT=every(405),
    ),
    url(
        "profiles:claim_start",
        data={"links": "https://rosa.example/"},
        GET=(LOGIN, 200, REDIRECT, REDIRECT, 200),
        POST=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:claim_email_send",
        data={"address": "someone@uni.example"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:claim_email_verify",
        data={"code": "123456"},  # wrong, or no code was sent: a 400 with a message
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 400, 400, 400, 400),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:profile_edit",
        data={"summary": "Graphs"},
        GET=(LOGIN, 404, 404, 200, 404),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # The owner sees who follows them; everyone else, staff too, gets a 404.
    url(
        "profiles:followers",
        GET=(LOGIN, 404, 404, 200, 404),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:authorship_status",
        data={"status": "confirmed"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:authorship_status",
        case="a work not on the record",
        params={"work_id": "other_work_id"},
        data={"status": "confirmed"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, 404, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # Adding a missing work: the owner's alone; a look-up writes nothing, a
    # confirmation without its signed payload is refused with a 400.
    url(
        "profiles:work_add",
        data={"bibtex": "@article{k, title={A Work Nobody Imported}, year={2024}}"},
        GET=(LOGIN, 404, 404, 200, 404),
        POST=(LOGIN, 404, 404, 200, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # "This is mine" for a work on another record: the owner's alone, a request for staff.
    url(
        "profiles:work_mine_request",
        data={"work": "world:other_work_id", "record": "world:followed_author_id"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:work_add_confirm",
        data={"payload": "not signed"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, 400, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:coauthors",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:affiliation_add",
        data={"institution_name": "Lab", "from_year": "2019", "to_year": "2020"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:affiliation_remove",
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:affiliation_remove",
        case="an imported line: hidden, never removed",
        params={"affiliation_id": "imported_affiliation_id"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, 404, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:affiliation_hidden",
        params={"affiliation_id": "imported_affiliation_id"},
        data={"action": "hide"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:claim_list",
        GET=(LOGIN, 200, 200, 200, 200),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:claim_detail",
        case="the pending claim",
        GET=(LOGIN, 404, 200, 404, 200),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:claim_detail",
        case="the approved claim",
        params={"claim_id": "approved_claim_id"},
        GET=(LOGIN, 404, 404, 200, 200),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:claim_withdraw",
        case="the pending claim",
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, REDIRECT, 404, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:claim_withdraw",
        case="the approved claim",
        params={"claim_id": "approved_claim_id"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:following",
        GET=(LOGIN, 200, 200, 200, 200),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # A follow's settings are its follower's: a 404 for anyone else, staff too.
    url(
        "profiles:follow_settings",
        case="a researcher the stranger follows",
        params={"author_id": "followed_author_id"},
        data={"news": "works", "delivery": "weekly"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, REDIRECT, 404, 404, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "profiles:follow_settings",
        case="a researcher nobody follows",
        data={"news": "works", "delivery": "weekly"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, 404, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # Staff pages answer 404 to everyone else: the queue is not advertised.
    url(
        "profiles:staff_claims",
        GET=(404, 404, 404, 404, 200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:staff_claim_detail",
        GET=(404, 404, 404, 404, 200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:staff_claim_decide",
        case="reject the pending claim",
        data={"reason": "Not enough evidence."},
        GET=every(405),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    url(
        "profiles:staff_claim_decide",
        case="approve the pending claim (the record has an owner)",
        params={"decision": "approve"},
        GET=every(405),
        POST=(404, 404, 404, 404, 409),
        PUT=every(405),
    ),
    url(
        "profiles:staff_claim_decide",
        case="revoke the approved claim",
        params={"claim_id": "approved_claim_id", "decision": "revoke"},
        data={"reason": "Not this person."},
        GET=every(405),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    url(
        "profiles:staff_claim_decide",
        case="no such decision",
        params={"decision": "explode"},
        GET=every(405),
        POST=every(404),
        PUT=every(405),
    ),
    # Duplicate records: the staff queue answers 404 to everyone else, like the claims'.
    url(
        "profiles:staff_merges",
        GET=(404, 404, 404, 404, 200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:staff_merge_detail",
        GET=(404, 404, 404, 404, 200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:staff_merge_dismiss",
        data={"note": "Two people."},
        GET=every(405),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    # Merges, splits and their undo (profiles.record_operations): staff only, 404 to others.
    url(
        "profiles:staff_merge_do",
        case="the co-author's record merged into the record",
        data={"survivor": "world:author_id"},
        GET=every(405),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    url(
        "profiles:staff_operations",
        GET=(404, 404, 404, 404, 200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "profiles:staff_operation_undo",
        GET=every(405),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    url(
        "profiles:staff_split",
        case="a work of the record moved to a new record",
        data={"works": "world:work_id", "destination": "new"},
        GET=(404, 404, 404, 404, 200),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    url(
        "profiles:staff_split_request_dismiss",
        GET=every(405),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    # "These works are another person's": the record's owner asks staff for a split.
    url(
        "profiles:split_request",
        params={"author_id": "author_id"},
        data={"works": "world:work_id", "reason": "A namesake's paper."},
        GET=(LOGIN, 404, 404, 200, 404),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # "These records are also me": the record's owner only.
    url(
        "profiles:duplicate_request",
        params={"author_id": "author_id"},
        data={"other": "world:followed_author_id", "reason": "My old record."},
        GET=(LOGIN, 404, 404, 200, 404),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # "Bring in my ORCID works": the owner whose claim proved the record's iD
    # by ORCID sign-in only; the world's record has no iD, so 404 for all.
    # (tests/profiles/test_orcid_import.py covers the proven owner.)
    url(
        "profiles:orcid_import",
        params={"author_id": "author_id"},
        GET=(LOGIN, 404, 404, 404, 404),
        POST=(LOGIN, 404, 404, 404, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # Direct collaboration: the claimant invited the owner (one invitation
    # accepted, with a conversation; one pending). Nobody else reads either,
    # staff included.
    url(
        "collaboration:invite",
        case="the claimant has a pending invitation; the owner is the record's",
        data={"subject": "Graphs", "body": "We both draw graphs."},
        GET=(LOGIN, 200, 409, 403, 200),
        POST=(LOGIN, REDIRECT, 409, 403, REDIRECT),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:inbox",
        GET=(LOGIN, 200, 200, 200, 200),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:invitation_detail",
        case="the pending invitation",
        GET=(LOGIN, 404, 200, 200, 404),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:invitation_decide",
        case="accept the pending invitation",
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 403, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:invitation_decide",
        case="decline the pending invitation",
        params={"answer": "decline"},
        data={"note": "Not now."},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 403, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:invitation_decide",
        case="withdraw the pending invitation",
        params={"answer": "withdraw"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, REDIRECT, 403, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:invitation_decide",
        case="accept the accepted invitation",
        params={"invitation_id": "accepted_invitation_id"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 403, 409, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:invitation_decide",
        case="no such answer",
        params={"answer": "explode"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, 404, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:conversation",
        GET=(LOGIN, 404, 200, 200, 404),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:conversation_messages",
        data={"body": "Hello again."},
        GET=(LOGIN, 404, 200, 200, 404),
        POST=(LOGIN, 404, REDIRECT, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "collaboration:conversation_close",
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, REDIRECT, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    # Safety (profiles.collaboration.safety_views): the invitation's two people block and
    # report; staff read reports (a 404 for everyone else, as on every staff page).
    url(
        "safety:block",
        case="the other person of the accepted invitation",
        params={"invitation_id": "safety_invitation_id"},
        data={"action": "block", "conversation": "1"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, REDIRECT, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "safety:block",
        case="no action given",
        params={"invitation_id": "safety_invitation_id"},
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 400, 400, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "safety:report",
        case="the conversation, which the owner reported already",
        params={"invitation_id": "safety_invitation_id"},
        data={"reason": "spam", "conversation": "1"},
        GET=(LOGIN, 404, 200, 200, 404),
        POST=(LOGIN, 404, REDIRECT, 400, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "safety:report",
        case="the pending invitation: only its recipient reports it",
        params={"invitation_id": "safety_pending_invitation_id"},
        data={"reason": "harassment", "details": "Third one this week."},
        GET=(LOGIN, 404, 200, 200, 404),
        POST=(LOGIN, 404, 403, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "safety:report",
        case="an unknown reason",
        params={"invitation_id": "safety_pending_invitation_id"},
        data={"reason": "boredom"},
        GET=(LOGIN, 404, 200, 200, 404),
        POST=(LOGIN, 404, 400, 400, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "safety:blocked",
        GET=(LOGIN, 200, 200, 200, 200),
        POST=(LOGIN, 405, 405, 405, 405),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "safety:unblock",
        case="the person the owner blocked",
        GET=(LOGIN, 405, 405, 405, 405),
        POST=(LOGIN, 404, 404, REDIRECT, 404),
        PUT=(LOGIN, 405, 405, 405, 405),
    ),
    url(
        "safety:staff_reports",
        GET=(404, 404, 404, 404, 200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "safety:staff_report_detail",
        GET=(404, 404, 404, 404, 200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "safety:staff_report_decide",
        data={"decision": "warn", "note": "Keep it on topic."},
        GET=every(405),
        POST=(404, 404, 404, 404, REDIRECT),
        PUT=every(405),
    ),
    url(
        "safety:staff_report_decide",
        case="no note to suspend",
        data={"decision": "suspend"},
        GET=every(405),
        POST=(404, 404, 404, 404, 400),
        PUT=every(405),
    ),
    url(
        # Nobody is suspended in the world: a clear 409 for staff.
        "safety:staff_suspension_lift",
        GET=every(405),
        POST=(404, 404, 404, 404, 409),
        PUT=every(405),
    ),
    url(
        # Anyone holding a mail's signed link may stop that mail (bzpeer.outbox.optout).
        "outbox:email_stop",
        GET=every(200),
        POST=every(200),
        PUT=every(405),
    ),
    url(
        "graph:slice",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        # Anyone may ask for a failed slice to be built again: it only queues a build.
        "graph:retry",
        GET=every(405),
        POST=every(REDIRECT),
        PUT=every(405),
    ),
    url(
        "graph:explorer",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
    url(
        "graph:json",
        GET=every(200),
        POST=every(405),
        PUT=every(405),
    ),
]

# allauth's views, pinned where they matter; class-based, they answer HEAD as
# GET. Forms are posted empty (a token only). Any allauth URL without a line
# here (e.g. one a newly enabled allauth app adds) gets the allauth rule below.
#                                anonymous    stranger  claimant  owner     staff
SIGNED_IN = (LOGIN, 200, 200, 200, 200)
SIGNED_OUT = (200, REDIRECT, REDIRECT, REDIRECT, REDIRECT)
ALLAUTH = [
    url("account_login", GET=SIGNED_OUT, POST=SIGNED_OUT, PUT=SIGNED_OUT),
    url(
        "account_logout",
        GET=(REDIRECT, 200, 200, 200, 200),
        POST=every(REDIRECT),
        PUT=every(405),
    ),
    url("account_signup", GET=SIGNED_OUT, POST=SIGNED_OUT, PUT=SIGNED_OUT),
    url("account_reauthenticate", GET=SIGNED_IN, POST=SIGNED_IN, PUT=SIGNED_IN),
    url(
        "account_email",
        GET=SIGNED_IN,
        POST=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        PUT=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ),
    url("account_change_password", GET=SIGNED_IN, POST=SIGNED_IN, PUT=SIGNED_IN),
    url(
        # everyone here has a password: set-password sends them to change-password
        "account_set_password",
        GET=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        POST=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
        PUT=(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ),
    url("account_reset_password", GET=every(200), POST=every(200), PUT=every(200)),
    url(
        # the key is the stranger's: it is the secret, whoever holds it
        "account_reset_password_from_key",
        GET=(REDIRECT, 200, REDIRECT, REDIRECT, REDIRECT),
        POST=(REDIRECT, 200, REDIRECT, REDIRECT, REDIRECT),
        PUT=(REDIRECT, 200, REDIRECT, REDIRECT, REDIRECT),
    ),
    url(
        # a real confirmation key for the stranger's second address
        "account_confirm_email",
        GET=every(200),
        POST=every(REDIRECT),
        PUT=every(405),
    ),
    url(
        "account_confirm_login_code",
        GET=every(REDIRECT),
        POST=every(REDIRECT),
        PUT=every(REDIRECT),
    ),
    url("socialaccount_connections", GET=SIGNED_IN, POST=SIGNED_IN, PUT=SIGNED_IN),
    url(
        "socialaccount_signup",
        GET=every(REDIRECT),
        POST=every(REDIRECT),
        PUT=every(REDIRECT),
    ),
    url(
        "socialaccount_login_error",
        GET=every(401),
        POST=every(405),
        PUT=every(405),
    ),
    # ORCID sign-in is not configured here (the default): a page that says so, 404.
    url("orcid_login", GET=every(404), POST=every(404), PUT=every(404)),
    url("orcid_callback", GET=every(404), POST=every(404), PUT=every(404)),
]

TABLE: list[Url] = PROJECT + ALLAUTH


# The admin and the rest of allauth: a rule per prefix, answering
# (role, method, URL name) with an outcome.


def _admin_rule(role: str, method: str, name: str) -> Outcome:
    """Only staff get anything but a redirect to the admin's log-in."""
    if name == "admin:login":
        # No password form of its own: the site's log-in, rate-limited and
        # with the second factor; a signed-in non-staff member gets a 404.
        if role == "anonymous":
            return LOGIN
        return 404 if role != "staff" else REDIRECT
    if name == "admin:logout":
        if role != "staff":
            return REDIRECT  # to the admin's index, which asks for a log-in
        return 200 if method == "POST" else 405
    return NOT_LOGIN if role == "staff" else ADMIN_LOGIN


def _allauth_rule(role: str, method: str, name: str) -> Outcome:
    """allauth's other pages are public: any answer, never an error."""
    return ANSWERED


@dataclass(frozen=True)
class PrefixRule:
    prefix: str
    rule: Callable[[str, str, str], Outcome]
    methods: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT")


PREFIX_RULES = [PrefixRule("admin/", _admin_rule), PrefixRule("accounts/", _allauth_rule)]


# The URL configuration, walked


@dataclass(frozen=True)
class Pattern:
    route: str  # the full pattern, e.g. "researchers/<int:author_id>/claim/"
    name: str  # namespaced; "" for an unnamed pattern


def url_patterns() -> list[Pattern]:
    def walk(patterns: list, prefix: str, namespace: str) -> Iterator[Pattern]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = entry.name or ""
                if name and namespace:
                    name = f"{namespace}:{name}"
                yield Pattern(prefix + str(entry.pattern), name)

    return list(walk(get_resolver().url_patterns, "", ""))


def key_of(pattern: Pattern) -> str:
    return pattern.name or pattern.route


def _rule_for(pattern: Pattern) -> PrefixRule | None:
    return next((r for r in PREFIX_RULES if pattern.route.startswith(r.prefix)), None)


def fill(route: str, params: dict[str, str]) -> str:
    """A concrete path for a pattern: each parameter replaced by the world's value."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: params[m.group(1)], route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], path)
    return "/" + path.replace("^", "").replace("$", "")


def params_for(pattern: Pattern, world: World, overrides: dict[str, str]) -> dict[str, str]:
    params = dict(world.params)
    if pattern.route.startswith("admin/"):
        match = re.match(r"admin/(\w+)/(\w+)/<", pattern.route)
        if match:
            model = f"{match[1]}_{match[2]}"
            assert f"admin:{model}" in params, f"build_world() has no {model} for /{pattern.route}"
            params["object_id"] = params[f"admin:{model}"]
        else:  # view_on_site: the record's public page
            params["object_id"] = params["author_id"]
    if pattern.name == "account_reset_password_from_key":
        params["key"] = params["key_for_reset"]
    for key, value in overrides.items():
        params[key] = world.params.get(value, value)
    return params


# Requests


CSRF_SECRET = "a" * 32  # any 32 letters or digits make a valid unmasked token


def request(
    client: Client, method: str, path: str, data: dict[str, str], *, token: bool = True
) -> Any:
    if method in ("GET", "HEAD"):
        return client.generic(method, path)
    body = dict(data)
    headers = {}
    if token:
        client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
        # a form's field for POST; the header for other methods, as with htmx
        body["csrfmiddlewaretoken"] = CSRF_SECRET
        headers["X-CSRFToken"] = CSRF_SECRET
    if method == "POST":
        return client.post(path, body)
    return client.generic(
        method,
        path,
        urlencode(body),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def outcome_of(response: Any) -> Outcome:
    if response.status_code in (301, 302, 303, 307, 308):
        location = response["Location"]
        if location.startswith(reverse("account_login") + "?next="):
            return LOGIN
        if location.startswith(reverse("admin:login") + "?next="):
            return ADMIN_LOGIN
        return REDIRECT
    return response.status_code


def in_savepoint(
    client: Client, method: str, path: str, data: dict[str, str], *, token: bool = True
) -> tuple[Any, list[str]]:
    """Send a request, then undo it (database and cookies); the response and the tables it wrote."""
    cookies = copy.deepcopy(client.cookies)
    savepoint = transaction.savepoint()
    try:
        before = writes()
        response = request(client, method, path, data, token=token)
        after = writes()
    finally:
        transaction.savepoint_rollback(savepoint)
        client.cookies = cookies
    return response, sorted(t for t, n in after.items() if n != before.get(t, 0))


@dataclass(frozen=True)
class Cell:
    """One URL (one case of it) and one method: what each role should get."""

    pattern: Pattern
    method: str
    expected: Outcomes
    data: dict[str, str]
    params: dict[str, str]
    case: str

    def label(self, role: str) -> str:
        case = f" ({self.case})" if self.case else ""
        name = self.pattern.name or "unnamed"
        return f"{self.method} /{self.pattern.route}{case} [{name}] as {role}"


def cells() -> list[Cell]:
    by_key: dict[str, list[Url]] = {}
    for line in TABLE:
        by_key.setdefault(line.name, []).append(line)
    out = []
    for pattern in url_patterns():
        lines = by_key.get(key_of(pattern))
        if lines:
            for line in lines:
                # HEAD is answered wherever GET is (require_safe), and as GET is.
                methods = {**line.methods, "HEAD": line.methods["GET"]}
                for method, expected in methods.items():
                    out.append(Cell(pattern, method, expected, line.data, line.params, line.case))
            continue
        rule = _rule_for(pattern)
        if rule is not None:
            for method in rule.methods:
                expected = tuple(rule.rule(role, method, pattern.name) for role in ROLES)  # type: ignore[assignment]
                out.append(Cell(pattern, method, expected, {}, {}, ""))
    return out


def matches(expected: Outcome, actual: Outcome) -> bool:
    if expected == ANSWERED:
        return isinstance(actual, str) or actual < 500
    if expected == NOT_LOGIN:
        return actual not in (LOGIN, ADMIN_LOGIN) and (isinstance(actual, str) or actual < 500)
    return expected == actual


def signed_in_client(role: str, world: World) -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    sign_in = SIGN_IN[role]
    if sign_in is not None:
        sign_in(client, world.users[role])
    return client


# The tests


def test_every_url_has_an_entry():
    """A URL added without a line in TABLE (or a prefix rule) fails here, by name."""
    keys = {line.name for line in TABLE}
    patterns = url_patterns()
    missing = [
        f"/{p.route} (name {p.name!r})"
        for p in patterns
        if key_of(p) not in keys and _rule_for(p) is None
    ]
    assert not missing, (
        "These URLs have no line in the authorization matrix (TABLE in "
        "tests/test_authorization_matrix.py): say what each role gets:\n  " + "\n  ".join(missing)
    )
    stale = sorted(keys - {key_of(p) for p in patterns})
    assert not stale, f"TABLE has lines for URLs that no longer exist: {stale}"
    for line in PROJECT:
        assert set(line.methods) == {"GET", "POST", "PUT"}, (
            f"{line.name}: give GET, POST and PUT (every method the view accepts, "
            "and one it refuses; HEAD is expected to answer as GET does)"
        )


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says_and_refusals_change_nothing(role):
    world = build_world()
    client = signed_in_client(role, world)
    index = ROLES.index(role)
    failures = []
    for cell in cells():
        pattern = cell.pattern
        path = fill(pattern.route, params_for(pattern, world, cell.params))
        if resolve(path).route != pattern.route.replace("^", ""):
            failures.append(f"{cell.label(role)}: {path} resolves to another pattern")
            continue
        fresh_caches()
        response, written = in_savepoint(client, cell.method, path, body(cell.data, world))
        actual = outcome_of(response)
        expected = cell.expected[index]
        if not matches(expected, actual):
            error = getattr(response, "exc_info", None)
            detail = f" ({error[1]!r})" if error else ""
            failures.append(f"{cell.label(role)}: expected {expected}, got {actual}{detail}")
        elif actual in REFUSALS and written:
            failures.append(f"{cell.label(role)}: refused with {actual} but wrote {written}")
    assert not failures, f"{len(failures)} cells of the matrix failed:\n" + "\n".join(failures)


# A mail client's one-click unsubscribe (RFC 8058) is a POST with no cookie and no
# token: the signed link is its authority, and it can only stop that person's mail.
CSRF_EXEMPT = {"outbox:email_stop"}


@pytest.mark.parametrize("role", ROLES)
def test_every_post_without_a_csrf_token_is_refused(role):
    world = build_world()
    client = signed_in_client(role, world)
    failures = []
    for pattern in url_patterns():
        if key_of(pattern) in CSRF_EXEMPT:
            continue
        for line in [u for u in TABLE if u.name == key_of(pattern)] or [Url(pattern.name, {})]:
            path = fill(pattern.route, params_for(pattern, world, line.params))
            fresh_caches()
            response, written = in_savepoint(
                client, "POST", path, body(line.data, world), token=False
            )
            if response.status_code != 403:
                failures.append(f"POST {path} as {role} without a token: {response.status_code}")
            elif written:
                failures.append(f"POST {path} as {role} without a token wrote {written}")
    assert not failures, "\n".join(failures)
