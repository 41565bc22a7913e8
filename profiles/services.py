"""Writes for profiles: following researchers, claims and their review, the owner's page.

Claim state changes are conditional updates (`filter(pk=..., state=FROM)
.update(...)`, then the row count says whether this call made the change), so
a double click or two reviewers at once change a claim once. Each one also
locks the author row first: that serialises every decision on one record, so
approving one claim while another reviewer approves its rival ends in one
approval and one clear refusal rather than a deadlock. Emails are rendered
and queued in the outbox inside the transaction; a worker sends them once it
commits. Every write the researcher page shows retires that page's cached
copies (bzpeer.pagecache).

Nobody decides a claim they have a stake in (selectors.claim_review_conflicts):
each decision checks it under the author lock and refuses with ClaimConflict,
so a forged POST or an admin action changes nothing either.
"""

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from bzpeer import pagecache
from bzpeer.outbox import optout
from bzpeer.outbox import services as outbox
from graph import services as graph_services
from profiles import selectors
from profiles.models import AuthorEvent, Claim, ClaimEvent, EmailCode, Follow, ProfileSettings
from works import candidates, email_domains, matching, metrics
from works.importers.arxiv import _arxiv_source_id as arxiv_source_id
from works.importers.common import source_ids_by_name
from works.models import Author, AuthorAffiliation, Authorship, Work
from works.signals import authors_changed, works_created


class ClaimError(Exception):
    """A claim action that cannot happen; the message is written for the person who tried."""


class ClaimConflict(ClaimError):
    """This reviewer may not decide this claim (selectors.claim_review_conflicts); another may."""


# Follows


@transaction.atomic
def follow_set(*, user: AbstractBaseUser, author: Author, following: bool) -> None:
    """Follow or unfollow. Idempotent: the unique constraint makes a second follow a no-op."""
    if following:
        # After the lock, so that the follow's start comes after the events of
        # any import batch that could not see it (FEED_FOLLOW_LOCK).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_FOLLOW_LOCK])
        followed_before = Follow.objects.filter(author=author).exists()
        Follow.objects.bulk_create([Follow(user_id=user.pk, author=author)], ignore_conflicts=True)
        if not followed_before:
            coauthors_remember(author_ids=[author.pk])
    else:
        Follow.objects.filter(user_id=user.pk, author=author).delete()
    pagecache.author_pages_changed(author_ids=[author.pk])  # the follower count


@transaction.atomic
def follow_settings_update(
    *, user: AbstractBaseUser, follow: Follow, kinds: list[str], delivery: str
) -> Follow:
    """What a follower hears about a researcher and how (feed and digest alike).

    A person who stopped digests with an email's link and now chooses one
    asks for them again: the stop is lifted.
    """
    Follow.objects.filter(pk=follow.pk, user_id=user.pk).update(kinds=kinds, delivery=delivery)
    if delivery != Follow.Delivery.FEED:
        optout.opt_in(user_id=user.pk, kind="digest")
    follow.kinds, follow.delivery = kinds, delivery
    return follow


# Side effects: emails go after commit; graph slices are queued with the change


# An import's events and a new follow take turns on this lock (imports share
# it): a follow either committed before a batch's events statement began, and
# so that statement sees it, or its start time comes after every event that
# statement writes. Without it, a follow committing during the statement would
# miss events that happened after it began.
FEED_FOLLOW_LOCK = 0x62_7A_66_65_65_64  # "bzfeed"

_IMPORT_EVENTS_SQL = """
WITH followed AS (
    -- Only researchers someone follows: a follow shows the events since it began.
    SELECT DISTINCT a.author_id, a.work_id FROM works_authorship a
    WHERE a.work_id = ANY(%(works)s)
        AND EXISTS (SELECT FROM profiles_follow f WHERE f.author_id = a.author_id)
),
new_work AS (
    INSERT INTO profiles_authorevent (author_id, kind, work_id, created_at, detail)
    SELECT author_id, %(new_work)s, work_id, statement_timestamp(), '{}'::jsonb FROM followed
    ON CONFLICT (author_id, work_id) WHERE kind = 'new_work' DO NOTHING
)
INSERT INTO profiles_authorevent (author_id, kind, other_author_id, work_id, created_at, detail)
SELECT DISTINCT ON (f.author_id, b.author_id)
    f.author_id, %(new_coauthor)s, b.author_id, f.work_id, statement_timestamp(), '{}'::jsonb
FROM followed f
JOIN works_authorship b ON b.work_id = f.work_id AND b.author_id <> f.author_id
-- The first shared work: not a co-author when the author got their first
-- follower (CoauthorKnown), nor recorded as new since (the unique index).
WHERE NOT EXISTS (
    SELECT FROM profiles_coauthorknown k
    WHERE k.author_id = f.author_id AND k.other_author_id = b.author_id
)
ORDER BY f.author_id, b.author_id, f.work_id
ON CONFLICT (author_id, other_author_id) WHERE kind = 'new_coauthor' DO NOTHING
"""


def coauthors_remember(*, author_ids: list[int]) -> None:
    """Note everyone these researchers have published with, as they get their first
    follower: from then on imports record each new co-author (events_record_new_works).

    Under the follow lock, so no import batch in between goes unseen.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO profiles_coauthorknown (author_id, other_author_id)
            SELECT DISTINCT x.author_id, y.author_id
            FROM works_authorship x
            JOIN works_authorship y ON y.work_id = x.work_id AND y.author_id <> x.author_id
            WHERE x.author_id = ANY(%s)
            ON CONFLICT (author_id, other_author_id) DO NOTHING
            """,
            [author_ids],
        )


def _feed_lock_share(cursor: Any) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [FEED_FOLLOW_LOCK])


def events_record_new_works(*, work_ids: list[int]) -> None:
    """Record what an import batch's new works tell followers: a new work for each
    followed author on them, and a new co-author for each followed author who
    never shared a work with that person before.

    One statement for the whole batch, in the caller's transaction; a work or
    a pair already recorded for an author (a batch retried, two imports at
    once) adds nothing, and a re-import creates no works. A pair counts as
    known from its new works and from coauthors_remember, not from authors
    added later to a work already stored.
    """
    if not work_ids:
        return
    with connection.cursor() as cursor:
        _feed_lock_share(cursor)
        cursor.execute(
            _IMPORT_EVENTS_SQL,
            {
                "works": work_ids,
                "new_work": AuthorEvent.Kind.NEW_WORK,
                "new_coauthor": AuthorEvent.Kind.NEW_COAUTHOR,
            },
        )


def events_record_affiliations(*, changes: list[tuple[int, int | None, int | None]]) -> None:
    """Record an import's changes of last known institution, (author, before, after),
    for the followed authors among them, in one statement in the caller's transaction.

    The names are kept as they were: the feed says what changed then.
    """
    if not changes:
        return
    author_ids, before, after = (list(column) for column in zip(*changes, strict=True))
    with connection.cursor() as cursor:
        _feed_lock_share(cursor)
        cursor.execute(
            """
            INSERT INTO profiles_authorevent (author_id, kind, created_at, detail)
            SELECT c.author_id, %s, statement_timestamp(),
                jsonb_build_object('from', COALESCE(i1.display_name, ''),
                                   'to', COALESCE(i2.display_name, ''))
            FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS c(author_id, before, after)
            LEFT JOIN works_institution i1 ON i1.id = c.before
            LEFT JOIN works_institution i2 ON i2.id = c.after
            WHERE EXISTS (SELECT FROM profiles_follow f WHERE f.author_id = c.author_id)
            """,
            [AuthorEvent.Kind.AFFILIATION_CHANGED, author_ids, before, after],
        )


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _email_queue(*, template: str, to: Iterable[str], context: dict[str, Any]) -> None:
    """Queue a mail in the outbox with the change it announces; a worker sends it after commit."""
    recipients = [address for address in to if address]
    if not recipients:
        return
    context = {"site_name": "BZPEER", **context}
    subject = " ".join(render_to_string(f"profiles/email/{template}_subject.txt", context).split())
    body = render_to_string(f"profiles/email/{template}_message.txt", context)
    outbox.email_queue(to=recipients, subject=subject, body=body)


def _claim_email(claim: Claim, template: str, **extra: Any) -> None:
    _email_queue(
        template=template,
        to=[claim.claimant.email],
        context={
            "claim": claim,
            "author": claim.author,
            "claim_url": _site_url(reverse("profiles:claim_detail", args=[claim.pk])),
            "record_url": _site_url(reverse("profiles:researcher_detail", args=[claim.author_id])),
            **extra,
        },
    )


def _graph_slices_queue(author_ids: Iterable[int]) -> None:
    """Rebuild the graph slices of authors whose authorships a person changed.

    The one call from profiles into graph. It marks the slices queued in this
    transaction; graph sends the build tasks once it commits.
    """
    ids = sorted(set(author_ids))
    if ids:
        graph_services.slices_queue(author_ids=ids)


def _authors_on_works(author: Author, work_ids: Iterable[int]) -> list[int]:
    """The author and their co-authors on these works: their slices share the changed edges."""
    return [
        author.pk,
        *Authorship.objects.filter(work_id__in=list(work_ids))
        .values_list("author_id", flat=True)
        .distinct(),
    ]


# Institutional email codes

# How long a verified address can back a claim submitted after it.
EMAIL_VERIFIED_TTL = timedelta(hours=24)


def _code_hash(address: str, code: str) -> str:
    return salted_hmac("profiles.EmailCode", f"{address.lower()}:{code}").hexdigest()


@transaction.atomic
def email_code_send(*, user: AbstractBaseUser, author: Author, address: str) -> EmailCode:
    """Send a one-time code to an address; earlier unused codes for this record stop working."""
    now = timezone.now()
    minutes = settings.CLAIM_EMAIL_CODE_MINUTES
    address = address.strip().lower()
    EmailCode.objects.filter(
        user_id=user.pk, author=author, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    code = f"{secrets.randbelow(10**6):06d}"
    row = EmailCode.objects.create(
        user_id=user.pk,
        author=author,
        address=address,
        code_hash=_code_hash(address, code),
        expires_at=now + timedelta(minutes=minutes),
    )
    _email_queue(
        template="email_code",
        to=[address],
        context={
            "code": code,
            "author": author,
            "minutes": minutes,
        },
    )
    return row


def email_code_verify(*, user: AbstractBaseUser, author: Author, code: str) -> EmailCode:
    """Check a code against the latest one sent; it works once, before it expires.

    Not one transaction on purpose: the attempt is counted and committed
    before the comparison, so a wrong guess is never rolled back.
    """
    now = timezone.now()
    row = (
        EmailCode.objects.filter(user_id=user.pk, author=author, used_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if row is None:
        raise ClaimError("No code is waiting to be checked: ask for a new one.")
    counted = EmailCode.objects.filter(
        pk=row.pk, used_at__isnull=True, expires_at__gt=now, attempts__lt=EmailCode.MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted:
        raise ClaimError("That code has expired or was tried too often: ask for a new one.")
    if not constant_time_compare(row.code_hash, _code_hash(row.address, code.strip())):
        left = EmailCode.MAX_ATTEMPTS - row.attempts - 1
        raise ClaimError(
            f"That code is not the one we sent. {left} attempt{'s' if left != 1 else ''} left."
            if left > 0
            else "That code is not the one we sent, and this code is now spent: ask for a new one."
        )
    if not EmailCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
        raise ClaimError("That code was already used.")
    row.used_at = now
    return row


def email_verified_for_claim(
    *, user: AbstractBaseUser, author: Author, now: datetime | None = None
) -> EmailCode | None:
    """The address the user verified for this record within EMAIL_VERIFIED_TTL."""
    since = (now or timezone.now()) - EMAIL_VERIFIED_TTL
    return (
        EmailCode.objects.filter(user_id=user.pk, author=author, used_at__gte=since)
        .order_by("-used_at", "-id")
        .first()
    )


def orcid_proven(*, user: AbstractBaseUser, author: Author) -> bool:
    """True when the user signed in with ORCID as the record's iD (allauth keeps the iD as uid)."""
    return (
        bool(author.orcid)
        and SocialAccount.objects.filter(
            user_id=user.pk, provider="orcid", uid=author.orcid
        ).exists()
    )


# Claims

ACCOUNT_NEW = selectors.ACCOUNT_NEW
RIVAL_APPROVED_REASON = "Staff approved another person's claim on this record."


def _event(claim: Claim, action: str, actor: AbstractBaseUser | None, reason: str = "") -> None:
    ClaimEvent.objects.create(
        claim=claim, action=action, actor_id=actor.pk if actor else None, reason=reason
    )


def _lock_author(author_id: int) -> Author:
    return Author.objects.select_for_update().get(pk=author_id)


def _refresh_contested(author_id: int) -> None:
    """A live claim is contested while someone else also has a live claim on the record."""
    live = Claim.objects.filter(author_id=author_id, state__in=Claim.LIVE_STATES)
    contested = live.values("claimant_id").distinct().count() > 1
    live.exclude(contested=contested).update(contested=contested)


def _run_checks(
    *, user: AbstractBaseUser, author: Author, email: EmailCode | None
) -> tuple[list[dict[str, Any]], bool, Any]:
    """The automatic checks: ORCID sign-in and institutional email. Pure reads."""
    checks: list[dict[str, Any]] = []
    if author.orcid:
        proven = orcid_proven(user=user, author=author)
        checks.append(
            {
                "code": "orcid",
                "label": "ORCID sign-in matches the record's iD",
                "passed": proven,
                "detail": f"Signed in with ORCID as {author.orcid}."
                if proven
                else f"No ORCID sign-in as {author.orcid} on this account.",
            }
        )
    else:
        checks.append(
            {
                "code": "orcid",
                "label": "ORCID sign-in matches the record's iD",
                "passed": None,
                "detail": "The record has no ORCID iD to match.",
            }
        )
    institution = None
    if email is None:
        checks.append(
            {
                "code": "institutional_email",
                "label": "Verified email at an institution of the record",
                "passed": False,
                "detail": "No address was verified with a code.",
            }
        )
    else:
        institution = selectors.institution_for_email(
            address=email.address, institutions=selectors.record_institutions(author=author)
        )
        checks.append(
            {
                "code": "institutional_email",
                "label": "Verified email at an institution of the record",
                "passed": institution is not None,
                "detail": f"{email.address} is verified and at {institution.display_name}."
                if institution
                else f"{email.address} is verified but is at a free-mail or shared host, "
                "which proves no affiliation."
                if email_domains.is_shared(email.address.rsplit("@", 1)[-1])
                else f"{email.address} is verified but matches no institution of the record.",
            }
        )
    return checks, any(c["passed"] for c in checks), institution


def _risk_flags(
    *, user: AbstractBaseUser, author: Author, email_mismatch: bool, contested: bool, now: datetime
) -> list[str]:
    """What staff should look at twice. Flags inform the decision; none blocks a claim."""
    flags: list[str] = []
    joined = getattr(user, "date_joined", None)
    if joined and now - joined < ACCOUNT_NEW:
        flags.append(Claim.Risk.NEW_ACCOUNT)
    if email_mismatch:
        flags.append(Claim.Risk.EMAIL_DOMAIN_MISMATCH)
    if (
        Claim.objects.filter(claimant_id=user.pk)
        .exclude(author=author)
        .exclude(state=Claim.State.WITHDRAWN)
        .exists()
    ):
        flags.append(Claim.Risk.SEVERAL_CLAIMS)
    if contested:
        flags.append(Claim.Risk.CONTESTED)
    return flags


def _outcome(passed: bool | None) -> str:
    return "not applicable" if passed is None else "passed" if passed else "not passed"


def claim_submit(
    *,
    user: AbstractBaseUser,
    author: Author,
    links: list[str],
    statement: str,
    works_mine: list[int],
    works_not_mine: list[int],
) -> Claim:
    """Submit a claim with its evidence and run the automatic checks at once.

    A record with another person's pending or approved claim takes this one
    too: both are marked contested and both claimants are told.
    """
    if not EmailAddress.objects.filter(user_id=user.pk, verified=True).exists():
        raise ClaimError("Verify your email address before you claim a record.")
    now = timezone.now()
    with transaction.atomic():
        # Serialise claims on one record so that two first claims see each other.
        author = _lock_author(author.pk)
        if author.merged_into_id:
            raise ClaimError("This record was merged into another: claim that one instead.")
        if Claim.objects.filter(
            author=author, claimant_id=user.pk, state__in=Claim.LIVE_STATES
        ).exists():
            raise ClaimError("You already have a claim on this record.")
        email = email_verified_for_claim(user=user, author=author, now=now)
        checks, passed, institution = _run_checks(user=user, author=author, email=email)
        if not (passed or email or links or statement.strip()):
            raise ClaimError(
                "Give staff something to check: sign in with ORCID, verify an email "
                "address, add a link or write a note."
            )
        record_work_ids = set(
            Authorship.objects.filter(author=author).values_list("work_id", flat=True)
        )
        rivals = list(
            Claim.objects.filter(author=author, state__in=Claim.LIVE_STATES)
            .exclude(claimant_id=user.pk)
            .select_related("claimant", "author")
        )
        flags = _risk_flags(
            user=user,
            author=author,
            email_mismatch=email is not None and institution is None,
            contested=bool(rivals),
            now=now,
        )
        try:
            with transaction.atomic():
                orcid_passed = any(c["code"] == "orcid" and c["passed"] for c in checks)
                claim = Claim.objects.create(
                    author=author,
                    claimant_id=user.pk,
                    contested=bool(rivals),
                    orcid_verified=orcid_passed,
                    orcid=author.orcid if orcid_passed else "",
                    email=email.address if email else "",
                    email_domain=email.address.rsplit("@", 1)[-1] if email else "",
                    email_verified_at=email.used_at if email else None,
                    email_institution=institution,
                    links=links,
                    statement=statement.strip(),
                    works_mine=[w for w in works_mine if w in record_work_ids],
                    works_not_mine=[w for w in works_not_mine if w in record_work_ids],
                    checks=checks,
                    checks_passed=passed,
                    risk_flags=flags,
                )
        except IntegrityError as error:  # a second submit racing the first
            raise ClaimError("You already have a claim on this record.") from error
        _event(claim, ClaimEvent.Action.SUBMITTED, user)
        _event(
            claim,
            ClaimEvent.Action.CHECKS_RUN,
            None,
            "; ".join(f"{c['label']}: {_outcome(c['passed'])}" for c in checks),
        )
        claim.claimant = user  # type: ignore[assignment]
        _claim_email(claim, "claim_submitted", contested=bool(rivals))
        if rivals:
            _event(claim, ClaimEvent.Action.CONTESTED, None, "Another person claims this record.")
            for rival in rivals:
                if not rival.contested:
                    _event(
                        rival,
                        ClaimEvent.Action.CONTESTED,
                        None,
                        "Another person has claimed this record.",
                    )
                if Claim.Risk.CONTESTED not in rival.risk_flags:
                    Claim.objects.filter(pk=rival.pk).update(
                        risk_flags=[*rival.risk_flags, Claim.Risk.CONTESTED]
                    )
                _claim_email(rival, "claim_contested")
            _refresh_contested(author.pk)
        pagecache.author_pages_changed(author_ids=[author.pk])  # "Claim pending", L2
    return claim


def _decide(
    *,
    claim: Claim,
    from_state: str,
    to_state: str,
    actor: AbstractBaseUser,
    reason: str,
    now: datetime,
) -> bool:
    """The conditional update behind every decision: True when this call made the change."""
    return bool(
        Claim.objects.filter(pk=claim.pk, state=from_state).update(
            state=to_state, decided_by_id=actor.pk, decided_at=now, reason=reason, updated_at=now
        )
    )


def _refused(claim: Claim, verb: str) -> ClaimError:
    current = Claim.objects.filter(pk=claim.pk).values_list("state", flat=True).first()
    label = str(dict(Claim.State.choices).get(current or "", current)).lower()
    return ClaimError(f"Cannot {verb}: the claim is {label} now. Nothing changed.")


def _require_staff(user: AbstractBaseUser) -> None:
    if not getattr(user, "is_staff", False):
        raise ClaimError("Only staff decide claims.")


def _require_no_conflict(claim: Claim, staff: AbstractBaseUser) -> None:
    """Checked after the author row is locked, so an approval racing this one is seen."""
    row = Claim.objects.select_related("claimant").get(pk=claim.pk)
    reason = selectors.claim_review_conflict(claim=row, reviewer=staff)
    if reason:
        raise ClaimConflict(f"Needs another reviewer. {reason} Nothing changed.")


def _require_reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ClaimError(f"Give a reason to {what}: the claimant reads it.")
    return reason


def claim_approve(*, claim: Claim, staff: AbstractBaseUser, reason: str = "") -> Claim:
    """Approve a pending claim: the record is the claimant's (L3); rival claims are rejected."""
    _require_staff(staff)
    now = timezone.now()
    with transaction.atomic():
        author = _lock_author(claim.author_id)
        _require_no_conflict(claim, staff)
        try:
            with transaction.atomic():
                changed = _decide(
                    claim=claim,
                    from_state=Claim.State.PENDING,
                    to_state=Claim.State.APPROVED,
                    actor=staff,
                    reason=reason.strip(),
                    now=now,
                )
        except IntegrityError as error:
            raise ClaimError(
                "This record already has an approved claim: revoke it before approving another."
            ) from error
        if not changed:
            raise _refused(claim, "approve")
        claim = Claim.objects.select_related("author", "claimant").get(pk=claim.pk)
        _event(claim, ClaimEvent.Action.APPROVED, staff, claim.reason)
        # Followers hear that the record now belongs to the researcher.
        AuthorEvent.objects.create(
            author=author, kind=AuthorEvent.Kind.CLAIM_VERIFIED, created_at=now
        )
        _claim_email(claim, "claim_approved")
        rivals = Claim.objects.filter(author=author, state=Claim.State.PENDING).select_related(
            "author", "claimant"
        )
        for rival in rivals:
            if _decide(
                claim=rival,
                from_state=Claim.State.PENDING,
                to_state=Claim.State.REJECTED,
                actor=staff,
                reason=RIVAL_APPROVED_REASON,
                now=now,
            ):
                _event(rival, ClaimEvent.Action.REJECTED, staff, RIVAL_APPROVED_REASON)
                rival.reason = RIVAL_APPROVED_REASON
                _claim_email(rival, "claim_rejected")
        _refresh_contested(author.pk)
        changed_works = _apply_work_selections(claim, now)
        ProfileSettings.objects.get_or_create(
            author=author, defaults={"open_to_collaborate": author.open_to_collaborate}
        )
        changed_authors = _authors_on_works(author, changed_works) if changed_works else []
        _graph_slices_queue(changed_authors)
        if changed_works:
            metrics.author_metrics_refresh(author_ids=[author.pk])
        # Trust, badges and the owner's sections; co-authors' ties if works changed.
        pagecache.author_pages_changed(author_ids=[author.pk, *changed_authors])
    return claim


def _apply_work_selections(claim: Claim, now: datetime) -> list[int]:
    """The claimant's "mine" and "not mine" become their confirmed and disputed authorships."""
    changed = []
    for work_ids, status in (
        (claim.works_mine, Authorship.Status.CONFIRMED),
        (claim.works_not_mine, Authorship.Status.DISPUTED),
    ):
        if not work_ids:
            continue
        rows = Authorship.objects.filter(author_id=claim.author_id, work_id__in=work_ids).exclude(
            status=status
        )
        changed += list(rows.values_list("work_id", flat=True))
        rows.update(status=status, status_changed_by_id=claim.claimant_id, status_changed_at=now)
    return changed


def claim_reject(*, claim: Claim, staff: AbstractBaseUser, reason: str) -> Claim:
    _require_staff(staff)
    reason = _require_reason(reason, "reject a claim")
    now = timezone.now()
    with transaction.atomic():
        _lock_author(claim.author_id)
        _require_no_conflict(claim, staff)
        if not _decide(
            claim=claim,
            from_state=Claim.State.PENDING,
            to_state=Claim.State.REJECTED,
            actor=staff,
            reason=reason,
            now=now,
        ):
            raise _refused(claim, "reject")
        claim = Claim.objects.select_related("author", "claimant").get(pk=claim.pk)
        _event(claim, ClaimEvent.Action.REJECTED, staff, reason)
        _claim_email(claim, "claim_rejected")
        _refresh_contested(claim.author_id)
        pagecache.author_pages_changed(author_ids=[claim.author_id])
    return claim


def claim_revoke(*, claim: Claim, staff: AbstractBaseUser, reason: str) -> Claim:
    """Take an approved record back. The owner's work decisions go with them.

    Their confirmations and disputes were made as the owner; once staff find
    the claim was wrong, they no longer speak for the record, so those
    authorships return to what the source asserts (recorded as staff's change).
    """
    _require_staff(staff)
    reason = _require_reason(reason, "revoke a claim")
    now = timezone.now()
    with transaction.atomic():
        author = _lock_author(claim.author_id)
        _require_no_conflict(claim, staff)
        if not _decide(
            claim=claim,
            from_state=Claim.State.APPROVED,
            to_state=Claim.State.REVOKED,
            actor=staff,
            reason=reason,
            now=now,
        ):
            raise _refused(claim, "revoke")
        claim = Claim.objects.select_related("author", "claimant").get(pk=claim.pk)
        reset = Authorship.objects.filter(
            author=author, status_changed_by_id=claim.claimant_id
        ).exclude(status=Authorship.Status.ASSERTED)
        reset_works = list(reset.values_list("work_id", flat=True))
        reset.update(
            status=Authorship.Status.ASSERTED, status_changed_by_id=staff.pk, status_changed_at=now
        )
        note = (
            f" {len(reset_works)} work decision(s) by the owner were reset." if reset_works else ""
        )
        _event(claim, ClaimEvent.Action.REVOKED, staff, reason + note)
        _claim_email(claim, "claim_revoked")
        _refresh_contested(author.pk)
        changed_authors = _authors_on_works(author, reset_works) if reset_works else []
        _graph_slices_queue(changed_authors)
        if reset_works:
            metrics.author_metrics_refresh(author_ids=[author.pk])
        pagecache.author_pages_changed(author_ids=[author.pk, *changed_authors])
    return claim


def claim_withdraw(*, claim: Claim, user: AbstractBaseUser) -> Claim:
    if claim.claimant_id != user.pk:
        raise ClaimError("Only the claimant can withdraw a claim.")
    now = timezone.now()
    with transaction.atomic():
        _lock_author(claim.author_id)
        if not _decide(
            claim=claim,
            from_state=Claim.State.PENDING,
            to_state=Claim.State.WITHDRAWN,
            actor=user,
            reason="Withdrawn by the claimant.",
            now=now,
        ):
            raise _refused(claim, "withdraw")
        claim = Claim.objects.select_related("author", "claimant").get(pk=claim.pk)
        _event(claim, ClaimEvent.Action.WITHDRAWN, user)
        _claim_email(claim, "claim_withdrawn")
        _refresh_contested(claim.author_id)
        pagecache.author_pages_changed(author_ids=[claim.author_id])
    return claim


# The owner's page


def is_owner(*, user: AbstractBaseUser, author: Author) -> bool:
    """Whether the user's claim on the record was approved: the one check of ownership."""
    return Claim.objects.filter(
        author=author, claimant_id=user.pk, state=Claim.State.APPROVED
    ).exists()


def _require_owner(user: AbstractBaseUser, author: Author) -> None:
    if not is_owner(user=user, author=author):
        raise ClaimError("Only the researcher whose claim was approved can change this record.")


@transaction.atomic
def profile_settings_update(
    *,
    user: AbstractBaseUser,
    author: Author,
    summary: str,
    affiliation: str,
    homepage: str,
    contact: str,
    open_to_collaborate: bool,
    hidden_sections: list[str],
    invitations_from: str = ProfileSettings.InvitationsFrom.VERIFIED,
) -> ProfileSettings:
    """Save the owner's own words about themselves. The graph does not read them, so no re-queue."""
    _require_owner(user, author)
    values: dict[str, Any] = {
        "summary": summary.strip(),
        "affiliation": affiliation.strip(),
        "homepage": homepage.strip(),
        "contact": contact.strip(),
        "open_to_collaborate": open_to_collaborate,
        "invitations_from": invitations_from,
        "hidden_sections": sorted(set(hidden_sections)),
    }
    with transaction.atomic():
        before = (
            ProfileSettings.objects.select_for_update()
            .filter(author=author)
            .values(*PROFILE_NEWS_FIELDS, "affiliation")
            .first()
        ) or {}
        row, _ = ProfileSettings.objects.update_or_create(
            author=author, defaults={**values, "updated_by_id": user.pk}
        )
        # Followers hear of what changed on the page, once per save that changed it.
        if values["affiliation"] != before.get("affiliation", ""):
            AuthorEvent.objects.create(
                author=author,
                kind=AuthorEvent.Kind.AFFILIATION_CHANGED,
                detail={"affiliation": values["affiliation"]},
            )
        changed = [f for f in PROFILE_NEWS_FIELDS if values[f] != before.get(f, _DEFAULTS[f])]
        if changed:
            AuthorEvent.objects.create(
                author=author, kind=AuthorEvent.Kind.PROFILE_UPDATED, detail={"fields": changed}
            )
    pagecache.author_pages_changed(author_ids=[author.pk])
    return row


# What an owner changes on their page that their followers hear about.
PROFILE_NEWS_FIELDS = ("summary", "homepage", "contact", "open_to_collaborate")
_DEFAULTS: dict[str, Any] = {
    "summary": "",
    "homepage": "",
    "contact": "",
    "open_to_collaborate": False,
}


OWNER_STATUSES = (Authorship.Status.CONFIRMED, Authorship.Status.DISPUTED)


@transaction.atomic
def authorship_set_status(
    *, user: AbstractBaseUser, author: Author, work_id: int, status: str
) -> Authorship:
    """The owner confirms a work or disputes it. A disputed one leaves the page and stays
    in the database with who and when; imports never change either (works.importers.upsert).
    """
    if status not in OWNER_STATUSES:
        raise ClaimError("A work can be confirmed or disputed.")
    _require_owner(user, author)
    now = timezone.now()
    changed = (
        Authorship.objects.filter(author=author, work_id=work_id)
        .exclude(status=status)
        .update(status=status, status_changed_by_id=user.pk, status_changed_at=now)
    )
    authorship = (
        Authorship.objects.select_related("work", "work__source")
        .filter(author=author, work_id=work_id)
        .first()
    )
    if authorship is None:
        raise ClaimError("That work is not on your record.")
    if changed:
        changed_authors = _authors_on_works(author, [work_id])
        _graph_slices_queue(changed_authors)
        # A disputed work stops counting as the decision commits.
        metrics.author_metrics_refresh(author_ids=[author.pk])
        pagecache.author_pages_changed(author_ids=changed_authors)
    return authorship


# The owner's affiliation history. Imported lines are the source's: the owner
# hides or shows them (imports keep them hidden); lines of their own they add
# and remove.

AFFILIATION_OWN_LINES_MAX = 30


class AffiliationError(Exception):
    """An affiliation change that cannot happen; the message is written for the owner."""


@transaction.atomic
def affiliation_add(
    *,
    user: AbstractBaseUser,
    author: Author,
    institution_name: str,
    from_year: int,
    to_year: int | None,
) -> AuthorAffiliation:
    """Add a line of the owner's own; to_year None: to the present."""
    _require_owner(user, author)
    name = institution_name.strip()
    this_year = timezone.localdate().year
    last = this_year if to_year is None else to_year
    if not name:
        raise AffiliationError("Name the institution.")
    if not 1900 <= from_year <= last <= this_year:
        raise AffiliationError(f"Give years between 1900 and {this_year}, the first one first.")
    # The author lock serialises two adds at once, so the cap holds.
    _lock_author(author.pk)
    own = AuthorAffiliation.objects.filter(author=author, origin=AuthorAffiliation.Origin.OWNER)
    if own.count() >= AFFILIATION_OWN_LINES_MAX:
        raise AffiliationError(
            f"You have {AFFILIATION_OWN_LINES_MAX} lines of your own, the most there can be: "
            "remove one first."
        )
    line = AuthorAffiliation.objects.create(
        author=author,
        institution_name=name,
        years=list(range(from_year, last + 1)),
        until_present=to_year is None,
        origin=AuthorAffiliation.Origin.OWNER,
    )
    pagecache.author_pages_changed(author_ids=[author.pk])
    return line


@transaction.atomic
def affiliation_remove(*, user: AbstractBaseUser, author: Author, affiliation_id: int) -> None:
    """Remove a line the owner added; imported lines are hidden instead."""
    _require_owner(user, author)
    deleted, _ = AuthorAffiliation.objects.filter(
        pk=affiliation_id, author=author, origin=AuthorAffiliation.Origin.OWNER
    ).delete()
    if not deleted:
        raise AffiliationError("That line is not one you added.")
    pagecache.author_pages_changed(author_ids=[author.pk])


@transaction.atomic
def affiliation_set_hidden(
    *, user: AbstractBaseUser, author: Author, affiliation_id: int, hidden: bool
) -> None:
    """Hide an imported line from the page, or show it again. Idempotent."""
    _require_owner(user, author)
    lines = AuthorAffiliation.objects.filter(pk=affiliation_id, author=author).exclude(
        origin=AuthorAffiliation.Origin.OWNER
    )
    if not lines.exists():
        raise AffiliationError("That line is not an imported one on your record.")
    if lines.exclude(hidden=hidden).update(hidden=hidden):
        pagecache.author_pages_changed(author_ids=[author.pk])


# Missing works: the owner brings works no import found (works.candidates),
# shown with what will happen to each, then added on confirmation.


class MissingWorkOutcome(StrEnum):
    ALREADY = "already"  # on the record already
    LINK = "link"  # a stored work: the owner's authorship is added to it
    NEW = "new"  # no stored work: one is created
    ELSEWHERE = "elsewhere"  # on another record under the owner's name: a dispute, not a copy
    REPEATED = "repeated"  # an earlier entry of the same input is the same work


_MATCHED_BY = {
    matching.MatchedBy.DOI: "DOI",
    matching.MatchedBy.ARXIV: "arXiv id",
    matching.MatchedBy.SOURCE_KEY: "source id",
    matching.MatchedBy.TITLE: "title and year",
}


@dataclass
class PlannedWork:
    candidate: candidates.Candidate
    outcome: MissingWorkOutcome
    work: Work | None = None  # the stored work it is, for every outcome but NEW
    matched_by: str = ""
    elsewhere: Author | None = None  # the other record, for ELSEWHERE
    disputed: bool = False  # ALREADY, but the owner marked it "not mine"


def _name_key(name: str) -> tuple[str, str]:
    """A person's family name and first initial, folded: "Hattie Zhou" and "H. Zhou" agree."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c)
    )
    words = [w for w in re.split(r"[^\w]+", folded) if w]
    return (words[-1], words[0][0]) if words else ("", "")


def _own_names(author: Author) -> set[tuple[str, str]]:
    return {_name_key(n) for n in [author.display_name, *author.name_variants] if n.strip()}


def missing_works_plan(
    *, author: Author, incoming: list[candidates.Candidate]
) -> list[PlannedWork]:
    """What adding these works to the owner's record would do, each; nothing is written.

    Matched as every importer matches (works.matching); a work not found there
    is still the owner's own when a work on their record has the same
    normalised title within a year of it (a preprint and its proceedings
    version: the seed's BibTeX dates to NeurIPS 2019 what the record has as 2020).
    """
    with connection.cursor() as cursor:
        result = matching.works_match(
            cursor,
            [
                matching.IncomingWork(doi=c.doi, arxiv_id=c.arxiv_id, title=c.title, year=c.year)
                for c in incoming
            ],
        )
        own_by_key: dict[str, list[tuple[int, int | None]]] = {}
        loose = [k for k, m in zip(result.title_keys, result.matches, strict=True) if not m and k]
        if loose:
            cursor.execute(
                "SELECT works_title_key(w.title), w.id, w.publication_year FROM works_work w"
                " JOIN works_authorship a ON a.work_id = w.id"
                " WHERE a.author_id = %s AND works_title_key(w.title) = ANY(%s::text[])"
                " ORDER BY w.id",
                [author.pk, loose],
            )
            for key, work_id, year in cursor.fetchall():
                own_by_key.setdefault(key, []).append((work_id, year))
    found: list[tuple[int, str] | None] = []
    for c, match, key in zip(incoming, result.matches, result.title_keys, strict=True):
        if match is not None:
            found.append((match.work_id, _MATCHED_BY[match.by]))
            continue
        near = [
            work_id
            for work_id, year in own_by_key.get(key, [])
            if len(key) >= matching.TITLE_KEY_MIN
            and c.year is not None
            and year is not None
            and abs(year - c.year) <= 1
        ]
        found.append((near[0], "title (a year apart)") if near else None)

    work_ids = {f[0] for f in found if f}
    works = Work.objects.in_bulk(list(work_ids))
    mine = dict(
        Authorship.objects.filter(author=author, work_id__in=work_ids).values_list(
            "work_id", "status"
        )
    )
    own_names = _own_names(author)
    elsewhere: dict[int, Author] = {}
    for other in (
        Authorship.objects.filter(work_id__in=work_ids - set(mine))
        .exclude(author=author)
        .exclude(status=Authorship.Status.DISPUTED)
        .select_related("author")
        .order_by("work_id", "position")
    ):
        names = {_name_key(other.raw_author_name), _name_key(other.author.display_name)}
        if names & own_names:
            elsewhere.setdefault(other.work_id, other.author)

    planned = []
    for position, (c, hit) in enumerate(zip(incoming, found, strict=True)):
        if result.first_of[position] != position:
            planned.append(PlannedWork(c, MissingWorkOutcome.REPEATED))
            continue
        if hit is None:
            planned.append(PlannedWork(c, MissingWorkOutcome.NEW))
            continue
        work_id, by = hit
        work = works[work_id]
        if work_id in mine:
            disputed = mine[work_id] == Authorship.Status.DISPUTED
            planned.append(PlannedWork(c, MissingWorkOutcome.ALREADY, work, by, disputed=disputed))
        elif work_id in elsewhere:
            planned.append(
                PlannedWork(c, MissingWorkOutcome.ELSEWHERE, work, by, elsewhere[work_id])
            )
        else:
            planned.append(PlannedWork(c, MissingWorkOutcome.LINK, work, by))
    return planned


def _owner_position(author: Author, names: list[str]) -> tuple[int, str]:
    own = _own_names(author)
    for position, name in enumerate(names):
        if _name_key(name) in own:
            return position, name
    return 0, author.display_name


@transaction.atomic
def missing_works_add(
    *, user: AbstractBaseUser, author: Author, incoming: list[candidates.Candidate]
) -> list[PlannedWork]:
    """Add the works to the owner's record as the plan says, all or none: new works are
    created, and every added authorship is the researcher's (origin claimant, confirmed),
    which no import removes. Returns the plan as carried out."""
    _require_owner(user, author)
    # One add at a time per record: the plan is computed under the lock it is carried out in.
    Author.objects.select_for_update().filter(pk=author.pk).first()
    plan = missing_works_plan(author=author, incoming=incoming)
    new = [p for p in plan if p.outcome == MissingWorkOutcome.NEW]
    if new:
        with connection.cursor() as cursor:
            sources = source_ids_by_name(
                cursor, [p.candidate.venue for p in new if p.candidate.venue.lower() != "arxiv"]
            )
            if any(p.candidate.venue.lower() == "arxiv" for p in new):
                # The one arXiv source the arXiv importer files preprints under (OpenAlex's).
                sources["arxiv"] = arxiv_source_id(cursor)
        created = Work.objects.bulk_create(
            [
                Work(
                    title=p.candidate.title,
                    abstract=p.candidate.abstract,
                    type=p.candidate.type,
                    publication_year=p.candidate.year,
                    doi=p.candidate.doi,
                    arxiv_id=p.candidate.arxiv_id,
                    source_id=sources.get(p.candidate.venue.lower()),
                )
                for p in new
            ]
        )
        for p, work in zip(new, created, strict=True):
            p.work = work
    now = timezone.now()
    added = [p for p in plan if p.outcome in (MissingWorkOutcome.NEW, MissingWorkOutcome.LINK)]
    authorships = []
    for p in added:
        assert p.work is not None
        position, name = _owner_position(author, p.candidate.authors)
        authorships.append(
            Authorship(
                work=p.work,
                author=author,
                position=position,
                raw_author_name=name,
                origin=Authorship.Origin.CLAIMANT,
                status=Authorship.Status.CONFIRMED,
                status_changed_by_id=user.pk,
                status_changed_at=now,
            )
        )
    Authorship.objects.bulk_create(authorships)
    if added:
        work_ids = sorted(p.work.pk for p in added if p.work is not None)
        if new:
            works_created.send(
                sender=PlannedWork, work_ids=sorted(p.work.pk for p in new if p.work)
            )
        metrics.author_metrics_refresh(author_ids=[author.pk])
        changed = sorted(set(_authors_on_works(author, work_ids)))
        transaction.on_commit(lambda: authors_changed.send(sender=PlannedWork, author_ids=changed))
    return plan
