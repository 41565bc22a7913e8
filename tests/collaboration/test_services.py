"""Invitations and messages: each refusal writes nothing; state changes happen once."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.utils import timezone

from profiles.collaboration import selectors, services
from profiles.collaboration.models import (
    Block,
    Conversation,
    ConversationMember,
    Invitation,
    Message,
    Suspension,
)
from profiles.collaboration.safety import NOT_REACHABLE, SUSPENDED, YOU_BLOCKED
from tests.collaboration.conftest import own, send, set_openness
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import make_user
from works.models import Authorship

pytestmark = pytest.mark.django_db

Error = services.CollaborationError


def refused(sender, record, **overrides) -> Error:
    before = Invitation.objects.count()
    with pytest.raises(Error) as caught:
        send(sender, record, **overrides)
    assert Invitation.objects.count() == before
    return caught.value


def test_an_invitation_goes_to_the_records_owner_and_expires_in_30_days(sender, record, owner):
    invitation = send(sender, record)
    assert invitation.recipient == owner and invitation.author == record
    assert invitation.state == "pending" and invitation.sender_author is None
    assert abs(invitation.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_the_sender_author_is_the_senders_own_claimed_record(sender, record):
    mine = AuthorFactory()
    own(sender, mine)
    assert send(sender, record).sender_author == mine


def test_inviting_yourself_is_refused(owner, record):
    assert refused(owner, record).status == 403
    assert "your own record" in str(refused(owner, record))


def test_an_unclaimed_record_is_refused(sender):
    error = refused(sender, AuthorFactory())
    assert str(error) == selectors.UNCLAIMED and error.status == 403


def test_a_record_not_open_is_refused(sender, record, owner):
    set_openness(owner, record, open_to_collaborate=False)
    assert str(refused(sender, record)) == selectors.NOT_OPEN


def test_a_sender_without_a_verified_email_is_refused(sender, record):
    EmailAddress.objects.filter(user=sender).update(verified=False)
    assert str(refused(sender, record)) == selectors.NOT_VERIFIED


def test_owners_only_refuses_a_sender_without_a_record_and_takes_one_with(sender, record, owner):
    set_openness(owner, record, invitations_from="owners")
    assert str(refused(sender, record)) == selectors.OWNERS_ONLY
    own(sender, AuthorFactory())
    assert send(sender, record).state == "pending"


def test_a_blocked_sender_gets_the_silent_words_and_a_blocker_is_told_to_unblock(
    sender, record, owner
):
    Block.objects.create(blocker=owner, blocked=sender)
    assert str(refused(sender, record)) == NOT_REACHABLE
    Block.objects.all().delete()
    Block.objects.create(blocker=sender, blocked=owner)
    assert str(refused(sender, record)) == YOU_BLOCKED


def test_a_suspended_sender_is_refused(sender, record):
    Suspension.objects.create(user=sender)
    assert str(refused(sender, record)) == SUSPENDED


def test_a_second_pending_invitation_is_refused_clearly(sender, record):
    send(sender, record)
    error = refused(sender, record)
    assert error.status == 409 and "already have a pending invitation" in str(error)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("subject", "", "Write a subject"),
        ("subject", "   ", "Write a subject"),
        ("subject", "x" * 201, "at most 200"),
        ("body", "", "Write why the fit is right"),
        ("body", "x" * 10_000, "at most 5000"),
    ],
)
def test_empty_and_oversized_fields_are_refused(sender, record, field, value, words):
    error = refused(sender, record, **{field: value})
    assert words in str(error) and error.status == 400


def test_works_not_on_the_record_or_more_than_three_are_refused(sender, record):
    works = [a.work_id for a in Authorship.objects.filter(author=record)]
    elsewhere = WorkFactory().pk
    assert "not on it" in str(refused(sender, record, recipient_works=[elsewhere]))
    assert "not on it" in str(refused(sender, record, recipient_works=works[:4]))
    # the sender has no record: none of "their" works can be named
    assert "your own record" in str(refused(sender, record, sender_works=[works[0]]))
    assert send(sender, record, recipient_works=works[:3]).recipient_works == works[:3]


def test_a_work_the_owner_disputed_cannot_be_named(sender, record):
    authorship = Authorship.objects.filter(author=record).first()
    Authorship.objects.filter(pk=authorship.pk).update(status=Authorship.Status.DISPUTED)
    assert "not on it" in str(refused(sender, record, recipient_works=[authorship.work_id]))


def test_the_senders_works_come_from_their_own_record(sender, record):
    mine = AuthorFactory()
    AuthorshipFactory(author=mine, work=(work := WorkFactory()))
    own(sender, mine)
    assert send(sender, record, sender_works=[work.pk]).sender_works == [work.pk]


# Accept, decline, withdraw


def test_accept_opens_a_conversation_of_exactly_the_two(sender, record, owner):
    invitation = send(sender, record)
    conversation = services.invitation_accept(invitation=invitation, user=owner, note="Gladly")
    invitation.refresh_from_db()
    assert (invitation.state, invitation.response_note) == ("accepted", "Gladly")
    members = set(
        ConversationMember.objects.filter(conversation=conversation).values_list(
            "user_id", flat=True
        )
    )
    assert members == {sender.pk, owner.pk}


def test_accept_twice_changes_once(sender, record, owner):
    invitation = send(sender, record)
    services.invitation_accept(invitation=invitation, user=owner)
    with pytest.raises(Error) as caught:
        services.invitation_accept(invitation=invitation, user=owner)
    assert caught.value.status == 409 and "accepted already" in str(caught.value)
    assert Conversation.objects.count() == 1


def test_accept_after_withdraw_is_refused_clearly(sender, record, owner):
    invitation = send(sender, record)
    stale = Invitation.objects.get(pk=invitation.pk)  # the recipient's page, read before
    services.invitation_withdraw(invitation=invitation, user=sender)
    with pytest.raises(Error) as caught:
        services.invitation_accept(invitation=stale, user=owner)
    assert "withdrawn already" in str(caught.value)
    assert not Conversation.objects.exists()


def test_only_the_recipient_accepts_and_only_the_sender_withdraws(sender, record, owner):
    invitation = send(sender, record)
    with pytest.raises(Error):
        services.invitation_accept(invitation=invitation, user=sender)
    with pytest.raises(Error):
        services.invitation_withdraw(invitation=invitation, user=owner)
    invitation.refresh_from_db()
    assert invitation.state == "pending"


def test_decline_keeps_the_note_and_an_oversized_note_is_refused(sender, record, owner):
    invitation = send(sender, record)
    with pytest.raises(Error):
        services.invitation_decline(invitation=invitation, user=owner, note="x" * 1001)
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    services.invitation_decline(invitation=invitation, user=owner, note="Not now")
    invitation.refresh_from_db()
    assert (invitation.state, invitation.response_note) == ("declined", "Not now")


def test_a_hidden_invitation_cannot_be_accepted(sender, record, owner):
    invitation = send(sender, record)
    Invitation.objects.filter(pk=invitation.pk).update(hidden_from_recipient=True)
    with pytest.raises(Error):
        services.invitation_accept(invitation=invitation, user=owner)


# Expiry


def test_a_pending_invitation_past_its_time_reads_expired_and_cannot_be_accepted(
    sender, record, owner
):
    invitation = send(sender, record)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    invitation.refresh_from_db()
    assert selectors.invitation_state(invitation) == "expired"
    with pytest.raises(Error) as caught:
        services.invitation_accept(invitation=invitation, user=owner)
    assert "expired already" in str(caught.value)


def test_expire_marks_only_due_pending_invitations_once(sender, record, owner):
    due = send(sender, record)
    Invitation.objects.filter(pk=due.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    other = make_user()
    fresh = send(other, record)
    assert services.invitations_expire() == 1
    assert services.invitations_expire() == 0
    assert Invitation.objects.get(pk=due.pk).state == "expired"
    assert Invitation.objects.get(pk=fresh.pk).state == "pending"
    # expired, the sender may invite again
    assert send(sender, record).state == "pending"


def test_the_expire_task_is_on_beats_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "profiles.collaboration.tasks.invitations_expire_task" in tasks


# Messages


def test_a_message_moves_the_markers_and_the_sender_has_read_it(conversation, sender, owner):
    message = services.message_post(
        conversation=conversation, sender=sender, recipient=owner, body="  Hello  "
    )
    conversation.refresh_from_db()
    assert message.body == "Hello"
    assert conversation.last_message_id == message.pk and conversation.last_message_at
    mine = ConversationMember.objects.get(conversation=conversation, user=sender)
    theirs = ConversationMember.objects.get(conversation=conversation, user=owner)
    assert (mine.last_read_message_id, theirs.last_read_message_id) == (message.pk, 0)
    assert selectors.unread_count(user=owner) == 1
    assert selectors.unread_count(user=sender) == 0


@pytest.mark.parametrize(
    ("body", "words"), [("", "Write a message"), ("x" * 10_000, "at most 5000")]
)
def test_empty_and_oversized_messages_are_refused(conversation, sender, owner, body, words):
    with pytest.raises(Error) as caught:
        services.message_post(conversation=conversation, sender=sender, recipient=owner, body=body)
    assert words in str(caught.value)
    assert not Message.objects.exists()


def test_a_closed_conversation_refuses_replies_and_closes_once(conversation, sender, owner):
    services.conversation_close(conversation=conversation, user=owner)
    with pytest.raises(Error) as caught:
        services.conversation_close(conversation=conversation, user=sender)
    assert caught.value.status == 409
    with pytest.raises(Error) as caught:
        services.message_post(conversation=conversation, sender=sender, recipient=owner, body="Hi")
    assert caught.value.status == 409 and "closed" in str(caught.value)
    assert not Message.objects.exists()
    conversation.refresh_from_db()
    assert conversation.closed_by == owner


def test_a_blocked_member_cannot_write(conversation, sender, owner):
    Block.objects.create(blocker=owner, blocked=sender)
    with pytest.raises(Error) as caught:
        services.message_post(conversation=conversation, sender=sender, recipient=owner, body="Hi")
    assert str(caught.value) == NOT_REACHABLE
    assert not Message.objects.exists()


def test_the_poll_is_one_statement_that_reads_and_marks(
    conversation, sender, owner, django_assert_num_queries
):
    first = services.message_post(
        conversation=conversation, sender=sender, recipient=owner, body="1"
    )
    second = services.message_post(
        conversation=conversation, sender=sender, recipient=owner, body="2"
    )
    with django_assert_num_queries(1):
        poll = selectors.conversation_poll(
            user=owner, conversation_id=conversation.pk, after=first.pk
        )
    assert [m.id for m in poll.messages] == [second.pk]
    assert (poll.other_read_id, poll.my_last_id, poll.closed) == (second.pk, 0, False)
    member = ConversationMember.objects.get(conversation=conversation, user=owner)
    assert member.last_read_message_id == second.pk and member.last_seen_at
    # the sender sees that the owner read both
    poll = selectors.conversation_poll(
        user=sender, conversation_id=conversation.pk, after=second.pk
    )
    assert poll.messages == [] and poll.other_read_id == second.pk == poll.my_last_id


def test_the_poll_of_a_non_member_is_none_and_writes_nothing(conversation):
    stranger = make_user()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM collaboration_conversationmember WHERE last_seen_at IS NOT NULL"
        )
        before = cursor.fetchone()[0]
    assert (
        selectors.conversation_poll(user=stranger, conversation_id=conversation.pk, after=0) is None
    )
    assert selectors.conversation_poll(user=stranger, conversation_id=999_999, after=0) is None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM collaboration_conversationmember WHERE last_seen_at IS NOT NULL"
        )
        assert cursor.fetchone()[0] == before


def test_the_unread_count_counts_unseen_pending_invitations_and_unread_conversations(
    sender, record, owner
):
    invitation = send(sender, record)
    assert selectors.unread_count(user=owner) == 1
    services.invitation_mark_seen(invitation=invitation, user=owner)
    assert selectors.unread_count(user=owner) == 0
    hidden = send(make_user(), record)
    Invitation.objects.filter(pk=hidden.pk).update(hidden_from_recipient=True)
    assert selectors.unread_count(user=owner) == 0
