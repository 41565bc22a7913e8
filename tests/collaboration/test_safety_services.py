"""Safety services: blocks, reports and staff decisions, each changing things once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bzpeer.outbox.models import OutboundEmail
from profiles.collaboration import safety, safety_selectors
from profiles.collaboration.models import (
    NOTE_MAX,
    Block,
    Conversation,
    ConversationMember,
    Invitation,
    Message,
    Report,
    Suspension,
)
from tests.factories import AuthorFactory
from tests.profiles.conftest import make_user
from tests.world import writes

pytestmark = pytest.mark.django_db


# People and what passed between them (also used by test_safety_views)


def invitation_between(sender, recipient, *, state=Invitation.State.PENDING, **fields):
    return Invitation.objects.create(
        sender=sender,
        recipient=recipient,
        author=fields.pop("author", None) or AuthorFactory(),
        subject=fields.pop("subject", "Shall we write together?"),
        body=fields.pop("body", "Our work fits."),
        state=state,
        expires_at=timezone.now() + timedelta(days=30),
        **fields,
    )


def conversation_between(sender, recipient, *bodies: str, **fields) -> Conversation:
    """An accepted invitation's conversation, with these messages (alternating senders)."""
    invitation = invitation_between(sender, recipient, state=Invitation.State.ACCEPTED, **fields)
    conversation = Conversation.objects.create(invitation=invitation)
    for user in (sender, recipient):
        ConversationMember.objects.create(conversation=conversation, user=user)
    for i, body in enumerate(bodies):
        post(conversation, (sender, recipient)[i % 2], body)
    conversation.refresh_from_db()
    return conversation


def post(conversation: Conversation, sender, body: str) -> Message:
    """A message as the conversation services write it: the row and the newest-id marker."""
    message = Message.objects.create(conversation=conversation, sender=sender, body=body)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_id=message.pk, last_message_at=message.created_at
    )
    return message


@pytest.fixture
def sender():
    return make_user("sender@example.org")


@pytest.fixture
def recipient():
    return make_user("owner@uni.example")


@pytest.fixture
def staff_member():
    return make_user("reviewer@bzpeer.example", staff=True)


# Blocks


def test_block_hides_their_pending_invitations_and_closes_the_conversation(sender, recipient):
    pending = invitation_between(sender, recipient)
    conversation = conversation_between(sender, recipient, "Hello")
    elsewhere = invitation_between(sender, make_user())

    assert safety.block_set(blocker=recipient, blocked=sender, blocking=True) is True

    pending.refresh_from_db()
    assert pending.hidden_from_recipient and pending.state == Invitation.State.PENDING
    conversation.refresh_from_db()
    assert conversation.closed_at is not None and conversation.closed_by == recipient
    elsewhere.refresh_from_db()
    assert not elsewhere.hidden_from_recipient


def test_block_withdraws_the_blockers_own_pending_invitations_to_them(sender, recipient):
    mine = invitation_between(recipient, sender)
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    mine.refresh_from_db()
    assert mine.state == Invitation.State.WITHDRAWN and mine.decided_at is not None


def test_block_twice_blocks_once(sender, recipient):
    assert safety.block_set(blocker=recipient, blocked=sender, blocking=True) is True
    assert safety.block_set(blocker=recipient, blocked=sender, blocking=True) is False
    assert Block.objects.filter(blocker=recipient, blocked=sender).count() == 1


def test_block_keeps_a_conversation_closed_by_whoever_closed_it_first(sender, recipient):
    conversation = conversation_between(sender, recipient)
    Conversation.objects.filter(pk=conversation.pk).update(
        closed_at="2026-01-01T00:00:00Z", closed_by=sender
    )
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    conversation.refresh_from_db()
    assert conversation.closed_by == sender and conversation.closed_at.year == 2026


def test_blocking_yourself_is_refused_and_writes_nothing(recipient):
    before = writes()
    with pytest.raises(safety.SafetyError, match="cannot block yourself"):
        safety.block_set(blocker=recipient, blocked=recipient, blocking=True)
    assert writes() == before


def test_the_blocked_person_is_told_only_the_neutral_words(sender, recipient):
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    assert safety.contact_refusal(sender=sender, recipient=recipient) == safety.NOT_REACHABLE
    assert "block" not in safety.NOT_REACHABLE.lower()


def test_the_blocker_is_told_to_unblock_before_writing(sender, recipient):
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    assert safety.contact_refusal(sender=recipient, recipient=sender) == safety.YOU_BLOCKED
    assert "Unblock" in safety.YOU_BLOCKED


def test_unblock_lets_them_write_again_and_keeps_what_the_block_hid(sender, recipient):
    pending = invitation_between(sender, recipient)
    safety.block_set(blocker=recipient, blocked=sender, blocking=True)
    assert safety.block_set(blocker=recipient, blocked=sender, blocking=False) is True
    assert safety.block_set(blocker=recipient, blocked=sender, blocking=False) is False
    assert safety.contact_refusal(sender=sender, recipient=recipient) is None
    pending.refresh_from_db()
    assert pending.hidden_from_recipient


def test_nobody_blocked_nobody_suspended_may_write(sender, recipient):
    assert safety.contact_refusal(sender=sender, recipient=recipient) is None


# Reports


def test_the_recipient_reports_an_invitation_against_its_sender(sender, recipient):
    invitation = invitation_between(sender, recipient)
    report = safety.report_submit(
        reporter=recipient, invitation=invitation, reason="spam", details="  Ads.  "
    )
    assert report.reported_user == sender and report.conversation is None
    assert report.last_message_id == 0 and report.details == "Ads." and report.decision == ""


def test_the_sender_cannot_report_their_own_invitation(sender, recipient):
    invitation = invitation_between(sender, recipient)
    before = writes()
    with pytest.raises(safety.ReportRefused, match="Only the person an invitation was sent to"):
        safety.report_submit(reporter=sender, invitation=invitation, reason="spam")
    assert writes() == before


def test_a_conversation_report_lets_staff_read_up_to_the_newest_message_then(sender, recipient):
    conversation = conversation_between(sender, recipient, "one", "two")
    stale = Conversation.objects.get(pk=conversation.pk)
    third = post(conversation, sender, "three")
    report = safety.report_submit(
        reporter=sender, invitation=conversation.invitation, conversation=stale, reason="other"
    )
    assert report.reported_user == recipient and report.last_message_id == third.pk
    post(conversation, recipient, "after the report")
    read = [m.body for m in safety_selectors.report_messages(report=report)]
    assert read == ["one", "two", "three"]


def test_only_the_two_members_report_a_conversation(sender, recipient):
    conversation = conversation_between(sender, recipient, "hi")
    with pytest.raises(safety.ReportRefused, match="Only the two people"):
        safety.report_submit(
            reporter=make_user(),
            invitation=conversation.invitation,
            conversation=conversation,
            reason="spam",
        )
    assert not Report.objects.exists()


def test_a_conversation_of_another_invitation_is_refused(sender, recipient):
    conversation = conversation_between(sender, recipient, "hi")
    other = invitation_between(sender, recipient)
    with pytest.raises(safety.SafetyError, match="does not belong"):
        safety.report_submit(
            reporter=recipient, invitation=other, conversation=conversation, reason="spam"
        )
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("reason", "details", "says"),
    [
        ("boredom", "", "Choose a reason"),
        ("", "", "Choose a reason"),
        ("spam", "x" * (NOTE_MAX + 1), f"Keep the details to {NOTE_MAX}"),
    ],
)
def test_bad_report_input_is_refused_and_writes_nothing(sender, recipient, reason, details, says):
    invitation = invitation_between(sender, recipient)
    before = writes()
    with pytest.raises(safety.SafetyError, match=says):
        safety.report_submit(
            reporter=recipient, invitation=invitation, reason=reason, details=details
        )
    assert writes() == before


def test_reporting_twice_reports_once_with_a_friendly_word(sender, recipient):
    invitation = invitation_between(sender, recipient)
    safety.report_submit(reporter=recipient, invitation=invitation, reason="spam")
    with pytest.raises(safety.SafetyError, match="reported this already"):
        safety.report_submit(reporter=recipient, invitation=invitation, reason="harassment")
    assert Report.objects.get().reason == "spam"


# Staff decisions


@pytest.fixture
def report(sender, recipient):
    invitation = invitation_between(sender, recipient, subject="Buy my book")
    return safety.report_submit(reporter=recipient, invitation=invitation, reason="spam")


def test_dismiss_records_who_and_when(report, staff_member):
    decided = safety.report_decide(report=report, staff=staff_member, decision="dismiss", note="")
    assert decided.decision == "dismiss" and decided.decided_by == staff_member
    assert decided.decided_at is not None
    assert not Suspension.objects.exists() and not OutboundEmail.objects.exists()


def test_a_second_decision_changes_nothing_and_says_who_decided(report, staff_member):
    safety.report_decide(report=report, staff=staff_member, decision="dismiss", note="")
    other = make_user("second@bzpeer.example", staff=True)
    with pytest.raises(safety.SafetyError, match=r"decided already .*reviewer@bzpeer\.example"):
        safety.report_decide(report=report, staff=other, decision="suspend", note="No.")
    report.refresh_from_db()
    assert report.decision == "dismiss" and report.decided_by == staff_member
    assert not Suspension.objects.exists()


def test_warn_mails_the_reported_person_with_the_note_once_committed(
    report, staff_member, sender, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        safety.report_decide(
            report=report, staff=staff_member, decision="warn", note="Keep invitations on topic."
        )
    email = OutboundEmail.objects.get()
    assert email.to == [sender.email]
    assert [m.to for m in mailoutbox] == [[sender.email]]
    assert "Keep invitations on topic." in mailoutbox[0].body
    assert "Buy my book" in mailoutbox[0].body and "warning" in mailoutbox[0].subject


def test_suspend_stops_the_sender_inviting_and_writing(report, staff_member, sender, recipient):
    safety.report_decide(report=report, staff=staff_member, decision="suspend", note="Spam.")
    suspension = Suspension.objects.get()
    assert suspension.user == sender and suspension.report == report
    assert suspension.created_by == staff_member
    assert safety.contact_refusal(sender=sender, recipient=make_user()) == safety.SUSPENDED
    # The reporter is not touched.
    assert safety.contact_refusal(sender=recipient, recipient=sender) is None


def test_a_second_suspension_keeps_the_first(report, staff_member, sender):
    safety.report_decide(report=report, staff=staff_member, decision="suspend", note="Spam.")
    invitation = invitation_between(sender, make_user())
    second = safety.report_submit(
        reporter=invitation.recipient, invitation=invitation, reason="spam"
    )
    safety.report_decide(report=second, staff=staff_member, decision="suspend", note="Again.")
    assert Suspension.objects.filter(user=sender).count() == 1
    assert Report.objects.get(pk=second.pk).decision == "suspend"


@pytest.mark.parametrize("decision", ["warn", "suspend"])
def test_warn_and_suspend_need_a_note(report, staff_member, decision):
    before = writes()
    with pytest.raises(safety.SafetyError, match="Say why in the note"):
        safety.report_decide(report=report, staff=staff_member, decision=decision, note="  ")
    assert writes() == before


def test_an_unknown_decision_or_a_long_note_is_refused(report, staff_member):
    with pytest.raises(safety.SafetyError, match="Choose dismiss, warn or suspend"):
        safety.report_decide(report=report, staff=staff_member, decision="ban", note="x")
    with pytest.raises(safety.SafetyError, match="Keep the note"):
        safety.report_decide(
            report=report, staff=staff_member, decision="warn", note="x" * (NOTE_MAX + 1)
        )
    report.refresh_from_db()
    assert report.decision == ""


def test_only_staff_decide(report, recipient):
    with pytest.raises(safety.SafetyError, match="Only staff"):
        safety.report_decide(report=report, staff=recipient, decision="dismiss", note="")
    report.refresh_from_db()
    assert report.decision == ""


def test_lift_lets_them_write_again_once(report, staff_member, sender):
    safety.report_decide(report=report, staff=staff_member, decision="suspend", note="Spam.")
    suspension = Suspension.objects.get()
    lifted = safety.suspension_lift(suspension=suspension, staff=staff_member)
    assert lifted.lifted_at is not None and lifted.lifted_by == staff_member
    assert safety.contact_refusal(sender=sender, recipient=make_user()) is None
    with pytest.raises(safety.SafetyError, match="lifted already"):
        safety.suspension_lift(suspension=suspension, staff=staff_member)


@pytest.mark.django_db(transaction=True)
def test_two_staff_deciding_at_once_decide_once(sender, recipient):
    """Two reviewers submit at the same moment, from two connections: one decision stands."""
    invitation = invitation_between(sender, recipient)
    report = safety.report_submit(reporter=recipient, invitation=invitation, reason="spam")
    reviewers = [make_user(f"r{i}@bzpeer.example", staff=True) for i in range(2)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(reviewer, decision):
        try:
            start.wait()
            safety.report_decide(report=report, staff=reviewer, decision=decision, note="Seen.")
            outcomes.append("decided")
        except safety.SafetyError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(reviewers[0], "suspend")),
        threading.Thread(target=decide, args=(reviewers[1], "warn")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["decided", "refused"]
    report.refresh_from_db()
    assert report.decision in ("suspend", "warn")
    assert Suspension.objects.count() == (1 if report.decision == "suspend" else 0)
    assert OutboundEmail.objects.count() == (1 if report.decision == "warn" else 0)


# What staff read


def test_staff_list_puts_open_reports_first_and_counts_other_reports(sender, staff_member):
    reports = []
    for _ in range(3):
        invitation = invitation_between(sender, make_user())
        reports.append(
            safety.report_submit(
                reporter=invitation.recipient, invitation=invitation, reason="spam"
            )
        )
    safety.report_decide(report=reports[0], staff=staff_member, decision="dismiss", note="")
    listed = list(safety_selectors.staff_reports(state=""))
    assert [r.pk for r in listed] == [reports[1].pk, reports[2].pk, reports[0].pk]
    assert {r.other_reports for r in listed} == {2}
    assert [r.pk for r in safety_selectors.staff_reports(state="open")] == [
        reports[1].pk,
        reports[2].pk,
    ]
    assert [r.pk for r in safety_selectors.staff_reports(state="decided")] == [reports[0].pk]


def test_an_invitation_report_shows_staff_no_messages(sender, recipient):
    conversation = conversation_between(sender, recipient, "private words")
    report = safety.report_submit(
        reporter=recipient, invitation=conversation.invitation, reason="spam"
    )
    assert list(safety_selectors.report_messages(report=report)) == []
