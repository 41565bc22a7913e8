"""Who may reach whom, and the writes of the safety side: blocks, reports, staff decisions.

Every invitation and message goes through `contact_refusal` before it is
written. A block is silent: the blocked person is told only what anyone the
recipient does not hear from is told, never that they were blocked; the
blocker, who knows, is told to unblock first.

Every write here is a unique constraint or a conditional update, so a double
click, or two staff members deciding one report at once, changes things once;
a refusal raises SafetyError, whose message is written for the person who
tried, before anything is written.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from bzpeer.outbox import services as outbox
from profiles.collaboration.models import (
    NOTE_MAX,
    Block,
    Conversation,
    ConversationMember,
    Invitation,
    Report,
    Suspension,
)

# What a sender sees when the recipient does not hear from them, whatever the
# cause (a block among them): the same words, so a block stays silent.
NOT_REACHABLE = "This researcher is not accepting invitations from you right now."
SUSPENDED = (
    "Staff have suspended your ability to send invitations and messages after a report. "
    "Write to the site's staff if you think this is a mistake."
)
YOU_BLOCKED = (
    "You blocked this person, so you cannot write to them. "
    "Unblock them under “People you blocked” to write again."
)


class SafetyError(Exception):
    """A block, report or decision that cannot happen; nothing was written."""


class ReportRefused(SafetyError):
    """The person may not report this (not theirs to report): a 403 rather than a 400."""


def blocked_between(*, a: AbstractBaseUser, b: AbstractBaseUser) -> bool:
    """True when either of the two blocked the other."""
    return Block.objects.filter(
        Q(blocker_id=a.pk, blocked_id=b.pk) | Q(blocker_id=b.pk, blocked_id=a.pk)
    ).exists()


def is_suspended(*, user: AbstractBaseUser) -> bool:
    return Suspension.objects.filter(user_id=user.pk, lifted_at=None).exists()


def contact_refusal(*, sender: AbstractBaseUser, recipient: AbstractBaseUser) -> str | None:
    """Why `sender` may not invite or write to `recipient` now, in their words; None if they may."""
    if is_suspended(user=sender):
        return SUSPENDED
    blockers = set(
        Block.objects.filter(
            Q(blocker_id=sender.pk, blocked_id=recipient.pk)
            | Q(blocker_id=recipient.pk, blocked_id=sender.pk)
        ).values_list("blocker_id", flat=True)
    )
    if sender.pk in blockers:
        return YOU_BLOCKED
    if blockers:
        return NOT_REACHABLE
    return None


# Blocks


def _between(a: AbstractBaseUser, b: AbstractBaseUser) -> Q:
    """Invitations (or, prefixed, conversations' invitations) between the two, either way."""
    return Q(sender_id=a.pk, recipient_id=b.pk) | Q(sender_id=b.pk, recipient_id=a.pk)


def block_set(*, blocker: AbstractBaseUser, blocked: AbstractBaseUser, blocking: bool) -> bool:
    """Block or unblock; True when this call changed whether `blocker` blocks `blocked`.

    Blocking hides the blocked person's pending invitations from the blocker
    (the sender still sees them pending: the block stays silent), withdraws
    the blocker's own pending invitations to them, and closes any open
    conversation between the two. Unblocking only removes the block: what the
    block hid or closed stays so.
    """
    if blocker.pk == blocked.pk:
        raise SafetyError("You cannot block yourself.")
    if not blocking:
        deleted, _ = Block.objects.filter(blocker_id=blocker.pk, blocked_id=blocked.pk).delete()
        return bool(deleted)
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                Block.objects.create(blocker_id=blocker.pk, blocked_id=blocked.pk)
            changed = True
        except IntegrityError:  # blocked already (block_uniq): the rest is idempotent
            changed = False
        Invitation.objects.filter(
            sender_id=blocked.pk,
            recipient_id=blocker.pk,
            state=Invitation.State.PENDING,
            hidden_from_recipient=False,
        ).update(hidden_from_recipient=True)
        Invitation.objects.filter(
            sender_id=blocker.pk, recipient_id=blocked.pk, state=Invitation.State.PENDING
        ).update(state=Invitation.State.WITHDRAWN, decided_at=now)
        Conversation.objects.filter(
            closed_at=None,
            invitation__in=Invitation.objects.filter(_between(blocker, blocked)),
        ).update(closed_at=now, closed_by_id=blocker.pk)
    return changed


# Reports


def _report_target(
    *, reporter: AbstractBaseUser, invitation: Invitation, conversation: Conversation | None
) -> tuple[int, int]:
    """(reported user id, last message id staff may read), or why the reporter may not."""
    if conversation is None:
        if invitation.recipient_id != reporter.pk:
            raise ReportRefused(
                "Only the person an invitation was sent to can report it. Nothing was sent."
            )
        return invitation.sender_id, 0
    if conversation.invitation_id != invitation.pk:
        raise SafetyError("That conversation does not belong to this invitation. Nothing was sent.")
    members = set(
        ConversationMember.objects.filter(conversation=conversation).values_list(
            "user_id", flat=True
        )
    )
    if reporter.pk not in members or len(members) != 2:
        raise ReportRefused(
            "Only the two people in a conversation can report it. Nothing was sent."
        )
    (other,) = members - {reporter.pk}
    return other, conversation.last_message_id


def report_submit(
    *,
    reporter: AbstractBaseUser,
    invitation: Invitation,
    conversation: Conversation | None = None,
    reason: str,
    details: str = "",
) -> Report:
    """Report an invitation (its recipient) or its conversation (either member) to staff.

    Staff will read the invitation and, for a conversation, its messages up to
    the newest one now: nothing written after the report, nothing else.
    """
    if reason not in Report.Reason.values:
        raise SafetyError("Choose a reason from the list. Nothing was sent.")
    details = details.strip()
    if len(details) > NOTE_MAX:
        raise SafetyError(
            f"Keep the details to {NOTE_MAX} characters (they are {len(details)}). "
            "Nothing was sent."
        )
    if conversation is not None:
        # The newest message id now, not the one the page was rendered with.
        conversation = Conversation.objects.get(pk=conversation.pk)
    reported_id, last_message_id = _report_target(
        reporter=reporter, invitation=invitation, conversation=conversation
    )
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter_id=reporter.pk,
                reported_user_id=reported_id,
                invitation=invitation,
                conversation=conversation,
                last_message_id=last_message_id,
                reason=reason,
                details=details,
            )
    except IntegrityError as error:
        raise SafetyError(
            "You have reported this already; staff will look at it. Nothing more was sent."
        ) from error


def _require_staff(user: AbstractBaseUser) -> None:
    if not (getattr(user, "is_staff", False) and user.is_active):
        raise SafetyError("Only staff decide reports.")


def _warning_email(report: Report, note: str) -> None:
    person = report.reported_user
    context = {"site_name": "BZPEER", "report": report, "note": note}
    subject = " ".join(
        render_to_string("collaboration/safety/warning_subject.txt", context).split()
    )
    body = render_to_string("collaboration/safety/warning_message.txt", context)
    outbox.email_queue(to=[person.email], subject=subject, body=body)


def report_decide(*, report: Report, staff: AbstractBaseUser, decision: str, note: str) -> Report:
    """Dismiss, warn (a mail to the reported person) or suspend them; once per report.

    A warning or a suspension needs a note: the warning mail quotes it, and it
    is the record of why.
    """
    _require_staff(staff)
    if decision not in Report.Decision.values:
        raise SafetyError("Choose dismiss, warn or suspend. Nothing changed.")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise SafetyError(f"Keep the note to {NOTE_MAX} characters. Nothing changed.")
    if decision != Report.Decision.DISMISS and not note:
        raise SafetyError(
            "Say why in the note: it is the record of this decision. Nothing changed."
        )
    now = timezone.now()
    with transaction.atomic():
        if not Report.objects.filter(pk=report.pk, decision="").update(
            decision=decision, decision_note=note, decided_by_id=staff.pk, decided_at=now
        ):
            done = Report.objects.select_related("decided_by").get(pk=report.pk)
            by = done.decided_by.email if done.decided_by else "someone"
            when = f"{timezone.localtime(done.decided_at):%d %b %Y %H:%M}"
            raise SafetyError(
                f"Report {report.pk} was decided already ({done.get_decision_display().lower()}, "
                f"by {by} at {when}). Nothing changed."
            )
        report = Report.objects.select_related("reported_user", "decided_by", "invitation").get(
            pk=report.pk
        )
        if decision == Report.Decision.WARN:
            _warning_email(report, note)
        elif decision == Report.Decision.SUSPEND:
            # A person already suspended stays under the suspension they have.
            Suspension.objects.bulk_create(
                [
                    Suspension(
                        user_id=report.reported_user_id, report=report, created_by_id=staff.pk
                    )
                ],
                ignore_conflicts=True,
            )
    return report


def suspension_lift(*, suspension: Suspension, staff: AbstractBaseUser) -> Suspension:
    """The person may invite and write again; once (a second lift changes nothing)."""
    _require_staff(staff)
    if not Suspension.objects.filter(pk=suspension.pk, lifted_at=None).update(
        lifted_at=timezone.now(), lifted_by_id=staff.pk
    ):
        raise SafetyError("This suspension was lifted already. Nothing changed.")
    return Suspension.objects.select_related("lifted_by").get(pk=suspension.pk)
