"""The world the cross-cutting tests run in, and how they undo what a request did.

One researcher record with an approved owner and a pending claimant, a stranger
and staff, and one object of every kind the admin lists, built by the factories
(tests/test_authorization_matrix.py, tests/test_forms_properties.py).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from bzpeer import pagecache
from bzpeer.outbox import optout
from graph import services as graph_services
from profiles import record_operations, services
from profiles.collaboration import services as collaboration
from profiles.collaboration.models import Block, Report
from profiles.models import (
    DuplicateSuggestion,
    EmailCode,
    Follow,
    ProfileSettings,
    SplitRequest,
)
from tests.factories import (
    AuthorFactory,
    AuthorshipFactory,
    InstitutionFactory,
    TopicFactory,
    WorkFactory,
)
from tests.mfa import add_totp
from tests.profiles.conftest import make_user
from works.models import AuthorAffiliation, Authorship, WorkTopic

# The world: one record with an owner and a claimant, and one of everything
# the admin lists, built by the factories.


@dataclass
class World:
    users: dict[str, Any]  # stranger, claimant, owner, staff
    params: dict[str, str]  # path parameters (and a few more ids) by name
    objects: dict[str, Any]  # record, pending, approved, code, ...


def build_world():
    """The world (a World); unannotated, as test bodies using the factories are."""
    institution = InstitutionFactory(display_name="Uni Example", email_domains=["uni.example"])
    record = AuthorFactory(
        display_name="Rosa Example", openalex_id="", last_known_institution=institution
    )
    coauthor = AuthorFactory(display_name="Coauthor Example")
    topic = TopicFactory(display_name="Graph theory")
    for i in range(3):
        work = WorkFactory(doi=f"10.1000/rosa-{i}", publication_year=2018 + i)
        AuthorshipFactory(author=record, work=work, position=0)
        AuthorshipFactory(author=coauthor, work=work, position=1)
        WorkTopic.objects.create(work=work, topic=topic, score=0.9)
    elsewhere = WorkFactory(title="A work the record is not on")
    AuthorshipFactory(author=coauthor, work=elsewhere, position=0)
    graph_services.slices_mark_queued(author_ids=[record.pk])
    assert graph_services.slice_build(author_id=record.pk) == "built"

    staff = make_user("reviewer@bzpeer.example", staff=True, is_superuser=True)
    add_totp(staff)
    owner = make_user("owner@uni.example")
    claimant = make_user("claimant@example.org")
    stranger = make_user("stranger@example.org")
    evidence: dict[str, Any] = {"links": ["https://rosa.example/"], "statement": ""}
    approved = services.claim_submit(
        user=owner, author=record, works_mine=[], works_not_mine=[], **evidence
    )
    services.claim_approve(claim=approved, staff=staff)
    pending = services.claim_submit(
        user=claimant, author=record, works_mine=[], works_not_mine=[], **evidence
    )
    services.profile_settings_update(
        user=owner,
        author=record,
        summary="Graphs and the people who draw them",
        affiliation="",
        homepage="https://rosa.example/",
        contact="",
        open_to_collaborate=True,
        hidden_sections=[],
    )
    Follow.objects.create(user=stranger, author=coauthor)
    # The claimant invites the owner twice: the first accepted (a conversation
    # with a message), the second pending. The stranger and staff are neither.
    letter: dict[str, Any] = {"body": "We both draw graphs.", "recipient_works": []}
    accepted = collaboration.invitation_send(
        sender=claimant, author=record, subject="Graphs together", sender_works=[], **letter
    )
    conversation = collaboration.invitation_accept(invitation=accepted, user=owner)
    collaboration.message_post(
        conversation=conversation, sender=claimant, recipient=owner, body="Hello, Rosa."
    )
    invitation = collaboration.invitation_send(
        sender=claimant, author=record, subject="And once more", sender_works=[], **letter
    )
    code = EmailCode.objects.create(
        user=claimant,
        author=record,
        address="claimant@uni.example",
        code_hash="0" * 64,
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    # A second, unverified address of the stranger's, for allauth's confirmation link.
    unconfirmed = EmailAddress.objects.create(user=stranger, email="stranger@uni.example")
    # Not ORCID: an ORCID app would configure ORCID sign-in, which is off by default.
    app = SocialApp.objects.create(provider="openid_connect", name="Some app", client_id="x")
    social = SocialAccount.objects.create(user=owner, provider="orcid", uid="0000-0002-1825-0097")
    token = SocialToken.objects.create(app=app, account=social, token="t")
    group = Group.objects.create(name="Reviewers")
    safety_objects = _safety_world(
        accepted=accepted, conversation=conversation, pending=invitation, owner=owner
    )

    work_id = str(Authorship.objects.filter(author=record).order_by("pk")[0].work_id)
    # The owner's affiliation history: a line they added and one imported.
    own_line = AuthorAffiliation.objects.create(
        author=record, institution_name="Own Lab", years=[2021], origin="owner"
    )
    imported_line = AuthorAffiliation.objects.create(
        author=record, institution=institution, years=[2018, 2019]
    )
    objects = {
        "auth_group": group,
        "auth_user": stranger,
        "account_emailaddress": unconfirmed,
        "socialaccount_socialapp": app,
        "socialaccount_socialtoken": token,
        "socialaccount_socialaccount": social,
        "works_institution": institution,
        "works_topic": topic,
        "works_source": record.authorships.first().work.source,
        "works_author": record,
        "works_work": record.authorships.first().work,
        "works_authorship": record.authorships.first(),
        "profiles_claim": pending,
        "profiles_emailcode": code,
        "profiles_profilesettings": ProfileSettings.objects.get(author=record),
        "profiles_follow": Follow.objects.get(user=stranger),
        "graph_graphslice": record.graph_slice,
        # staff's own second factor (allauth.mfa's admin)
        "mfa_authenticator": Authenticator.objects.get(user=staff),
    }
    # A pair the duplicate finder would show staff (profiles.duplicates).
    suggestion = DuplicateSuggestion.objects.create(
        author_low_id=min(record.pk, coauthor.pk),
        author_high_id=max(record.pk, coauthor.pk),
        evidence={"shared_institutions": 1},
        strength=2,
    )
    # A merge of two other records staff can undo, and a split request of the
    # co-author's record (profiles.record_operations).
    operation = record_operations.record_merge(
        staff=staff, source_id=AuthorFactory().pk, target_id=AuthorFactory().pk
    )
    split_request = SplitRequest.objects.create(author=coauthor, work_ids=[elsewhere.pk])
    params = {
        "author_id": str(record.pk),
        "suggestion_id": str(suggestion.pk),
        "operation_id": str(operation.pk),
        "request_id": str(split_request.pk),
        "work_id": work_id,
        "other_work_id": str(elsewhere.pk),
        "topic_id": str(topic.pk),
        "institution_id": str(institution.pk),
        "claim_id": str(pending.pk),
        "approved_claim_id": str(approved.pk),
        "followed_author_id": str(coauthor.pk),  # the stranger follows them
        "affiliation_id": str(own_line.pk),
        "imported_affiliation_id": str(imported_line.pk),
        "invitation_id": str(invitation.pk),
        "accepted_invitation_id": str(accepted.pk),
        "conversation_id": str(conversation.pk),
        "answer": "accept",
        "decision": "reject",
        # the admin
        "app_label": "profiles",
        "content_type_id": str(ContentType.objects.get_for_model(record).pk),
        "id": str(stranger.pk),
        "url": "nowhere/",
        # allauth
        "key": EmailConfirmationHMAC(unconfirmed).key,
        "uidb36": user_pk_to_url_str(stranger),
    }
    params.update(
        report_id=str(safety_objects["safety_report"].pk),
        blocked_user_id=str(safety_objects["safety_blocked_person"].pk),
        safety_invitation_id=str(safety_objects["safety_invitation"].pk),
        safety_pending_invitation_id=str(safety_objects["safety_pending_invitation"].pk),
    )
    params["key_for_reset"] = default_token_generator.make_token(stranger)
    # a stranger's link to stop message mails, as a mail would carry it
    params["token"] = optout.token_make(user_id=stranger.pk, kind="message")
    for model, obj in objects.items():
        params[f"admin:{model}"] = str(obj.pk)
    return World(
        users={"stranger": stranger, "claimant": claimant, "owner": owner, "staff": staff},
        params=params,
        objects={
            "record": record,
            "coauthor": coauthor,
            "pending": pending,
            "approved": approved,
            "code": code,
            "elsewhere": elsewhere,
            **safety_objects,
            "invitation": invitation,
            "accepted_invitation": accepted,
            "conversation": conversation,
        },
    )


def _safety_world(*, accepted, conversation, pending, owner) -> dict[str, Any]:
    """The owner reports the claimant's conversation with them, and blocks someone else."""
    conversation.refresh_from_db()
    report = Report.objects.create(
        reporter=owner,
        reported_user=accepted.sender,
        invitation=accepted,
        conversation=conversation,
        last_message_id=conversation.last_message_id,
        reason=Report.Reason.SPAM,
    )
    blocked_person = make_user("blocked@example.org")
    Block.objects.create(blocker=owner, blocked=blocked_person)
    return {
        "safety_invitation": accepted,
        "safety_conversation": conversation,
        "safety_report": report,
        "safety_pending_invitation": pending,
        "safety_blocked_person": blocked_person,
    }


# What a request wrote


def writes() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this transaction, per table.

    PostgreSQL keeps these counts per transaction, rolled-back savepoints
    included, so their difference across a request is every write it made,
    even one that left a row as it was: stricter than comparing row counts and
    hashes. Sessions aside: a visit may write its session.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
            " WHERE relname <> 'bzpeer_session'"
        )
        return dict(cursor.fetchall())


def digests(tables: list[str]) -> dict[str, str]:
    """A hash of each table's rows, to tell a write that stayed from one undone or a no-op."""
    if not tables:
        return {}
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT %s, md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
        f" FROM {quote(table)} r"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, tables)
        return dict(cursor.fetchall())


def fresh_caches() -> None:
    """Rate-limit counters and cached pages start empty for each request, as the database does."""
    cache.clear()
    pagecache._local.clear()
