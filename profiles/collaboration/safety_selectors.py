"""Reads for the safety side: what a person blocked, what staff may read of a report.

Staff read conversations only through a report, and only its messages up to
the one that was newest when it was reported (`report_messages`): there is
no read here that takes a conversation by itself.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from profiles.collaboration.models import Block, Invitation, Message, Report, Suspension
from profiles.models import Claim

OPEN = "open"
DECIDED = "decided"
STATES = {OPEN: "Open", DECIDED: "Decided", "": "All"}


def blocks_made(*, user: AbstractBaseUser) -> QuerySet[Block]:
    """The people `user` blocked, newest first, each with the record they own if any."""
    return (
        Block.objects.filter(blocker_id=user.pk)
        .select_related("blocked")
        .annotate(
            record_name=Subquery(
                Claim.objects.filter(claimant_id=OuterRef("blocked_id"), state=Claim.State.APPROVED)
                .order_by("decided_at")
                .values("author__display_name")[:1]
            )
        )
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class SafetyState:
    """What the block and report controls beside an invitation show to one of its parties."""

    blocked: bool  # the viewer blocked the other person
    reported: bool  # the viewer reported this invitation (or its conversation)


def safety_state(
    *, user: AbstractBaseUser, invitation: Invitation, other_user: AbstractBaseUser
) -> SafetyState:
    """One query, whatever the page."""
    row = (
        Invitation.objects.filter(pk=invitation.pk)
        .annotate(
            blocked=Exists(Block.objects.filter(blocker_id=user.pk, blocked_id=other_user.pk)),
            reported=Exists(Report.objects.filter(reporter_id=user.pk, invitation=OuterRef("pk"))),
        )
        .values("blocked", "reported")
        .first()
    )
    if row is None:
        return SafetyState(blocked=False, reported=False)
    return SafetyState(blocked=row["blocked"], reported=row["reported"])


def _reports_about(field: str) -> Coalesce:
    """How many other reports there are about this report's reported person."""
    return Coalesce(
        Subquery(
            Report.objects.filter(reported_user_id=OuterRef(field))
            .exclude(pk=OuterRef("pk"))
            .order_by()
            .values("reported_user_id")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def staff_reports(*, state: str) -> QuerySet[Report]:
    """Open reports first (oldest first), then decided ones (newest decision first)."""
    reports = Report.objects.select_related(
        "reporter", "reported_user", "invitation", "decided_by"
    ).annotate(
        other_reports=_reports_about("reported_user_id"),
        is_open=Q(decision=""),
    )
    if state == OPEN:
        reports = reports.filter(decision="")
    elif state == DECIDED:
        reports = reports.exclude(decision="")
    return reports.order_by("-is_open", "-decided_at", "created_at", "id")


def report_for_staff(*, report_id: int) -> Report | None:
    return (
        Report.objects.select_related(
            "reporter",
            "reported_user",
            "invitation__author",
            "invitation__sender",
            "invitation__recipient",
            "decided_by",
        )
        .annotate(other_reports=_reports_about("reported_user_id"))
        .filter(pk=report_id)
        .first()
    )


def report_messages(*, report: Report) -> QuerySet[Message]:
    """The messages staff may read for this report: its conversation's, up to the report."""
    if report.conversation_id is None:
        return Message.objects.none()
    return Message.objects.filter(
        conversation_id=report.conversation_id, id__lte=report.last_message_id
    ).select_related("sender")


@dataclass(frozen=True)
class History:
    """What else staff know of the reported person."""

    decisions: dict[str, int]  # decision -> how many of the other reports ended so
    live_suspension: Suspension | None


def reported_history(*, report: Report) -> History:
    counts = dict(
        Report.objects.filter(reported_user_id=report.reported_user_id)
        .exclude(pk=report.pk)
        .exclude(decision="")
        .order_by()
        .values_list("decision")
        .annotate(n=Count("pk"))
    )
    live = (
        Suspension.objects.filter(user_id=report.reported_user_id, lifted_at=None)
        .select_related("created_by", "report")
        .first()
    )
    return History(decisions=counts, live_suspension=live)
