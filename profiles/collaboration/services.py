"""Writes for direct collaboration: send, accept, decline, withdraw and expire invitations;
post messages and close conversations.

Every state change is a conditional update (`filter(pk=..., state=PENDING)
.update(...)`, then the row count says whether this call made it), so a double
click changes an invitation once and an accept racing a withdraw ends in one
of them and a clear refusal of the other. Before an invitation or a message
is written, profiles.collaboration.safety says whether the sender may reach
the recipient; the notification hooks run in the same transaction, so a mail
exists exactly when the change it announces does.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from profiles.collaboration import notifications, safety, selectors
from profiles.collaboration.models import (
    INVITATION_TTL,
    NOTE_MAX,
    SUBJECT_MAX,
    TEXT_MAX,
    Conversation,
    ConversationMember,
    Invitation,
    Message,
)
from profiles.models import ProfileSettings
from works.models import Author


class CollaborationError(Exception):
    """An invitation or message that cannot happen; the message is for the person who tried.

    status: the HTTP status a view answers with (400 bad input, 403 not allowed,
    409 the thing's state forbids it now).
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


DUPLICATE = (
    "You already have a pending invitation to this researcher: wait for their answer, "
    "or withdraw it from your inbox."
)


def _text(value: str, *, what: str, limit: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise CollaborationError(f"Write {what}.")
    if len(value) > limit:
        raise CollaborationError(f"{what.capitalize()} is at most {limit} characters.")
    return value


@transaction.atomic
def invitation_send(
    *,
    sender: AbstractBaseUser,
    author: Author,
    subject: str,
    body: str,
    recipient_works: list[int],
    sender_works: list[int],
    now: datetime | None = None,
) -> Invitation:
    """Invite the owner of a claimed record; the recipient is its owner now."""
    now = now or timezone.now()
    subject = _text(subject, what="a subject", limit=SUBJECT_MAX)
    body = _text(body, what="why the fit is right", limit=TEXT_MAX)
    owner_id = selectors.record_owner_id(author=author)
    owner_settings = ProfileSettings.objects.filter(author=author).first()
    standing = selectors.standing_for(user=sender)
    refusal = selectors.invite_refusal(
        user=sender,
        owner_id=owner_id,
        openness=selectors.openness(author=author, owner_settings=owner_settings),
        standing=standing,
    )
    if refusal:
        raise CollaborationError(refusal, status=403)
    assert owner_id is not None  # invite_refusal says so otherwise
    recipient = get_user_model().objects.get(pk=owner_id)
    refusal = safety.contact_refusal(sender=sender, recipient=recipient)
    if refusal:
        raise CollaborationError(refusal, status=403)
    if not selectors.works_on_record(author_id=author.pk, work_ids=recipient_works):
        raise CollaborationError(
            "Pick up to 3 works of this record: one you picked is not on it.", status=400
        )
    if sender_works and (
        standing.own_author_id is None
        or not selectors.works_on_record(author_id=standing.own_author_id, work_ids=sender_works)
    ):
        raise CollaborationError(
            "Pick up to 3 works of your own record: one you picked is not on it.", status=400
        )
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                sender_id=sender.pk,
                recipient=recipient,
                author=author,
                sender_author_id=standing.own_author_id,
                subject=subject,
                body=body,
                recipient_works=list(dict.fromkeys(recipient_works)),
                sender_works=list(dict.fromkeys(sender_works)),
                expires_at=now + INVITATION_TTL,
            )
    except IntegrityError as error:
        if "invitation_one_pending" in str(error):
            raise CollaborationError(DUPLICATE, status=409) from error
        raise
    notifications.invitation_sent(invitation=invitation)
    return invitation


def _refused(invitation: Invitation, verb: str) -> CollaborationError:
    """Why a state change did not happen: the invitation's state now, in words."""
    invitation.refresh_from_db(fields=["state", "expires_at"])
    state = selectors.invitation_state(invitation)
    return CollaborationError(
        f"This invitation is {state} already: it can no longer be {verb}.", status=409
    )


def _decide(
    invitation: Invitation, *, state: str, note: str, now: datetime, verb: str, **who: int
) -> Invitation:
    note = _text(note, what="the note", limit=NOTE_MAX, required=False)
    changed = Invitation.objects.filter(
        pk=invitation.pk, state=Invitation.State.PENDING, expires_at__gt=now, **who
    ).update(state=state, decided_at=now, response_note=note)
    if not changed:
        raise _refused(invitation, verb)
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: AbstractBaseUser, note: str = "", now: datetime | None = None
) -> Conversation:
    """The recipient accepts: a conversation of the two of them opens, in the same transaction."""
    now = now or timezone.now()
    _decide(
        invitation,
        state=Invitation.State.ACCEPTED,
        note=note,
        now=now,
        verb="accepted",
        recipient_id=user.pk,
        hidden_from_recipient=False,
    )
    conversation = Conversation.objects.create(invitation=invitation)
    ConversationMember.objects.bulk_create(
        [
            ConversationMember(conversation=conversation, user_id=invitation.recipient_id),
            ConversationMember(conversation=conversation, user_id=invitation.sender_id),
        ]
    )
    notifications.invitation_accepted(invitation=invitation)
    return conversation


@transaction.atomic
def invitation_decline(
    *, invitation: Invitation, user: AbstractBaseUser, note: str = "", now: datetime | None = None
) -> Invitation:
    return _decide(
        invitation,
        state=Invitation.State.DECLINED,
        note=note,
        now=now or timezone.now(),
        verb="declined",
        recipient_id=user.pk,
        hidden_from_recipient=False,
    )


@transaction.atomic
def invitation_withdraw(
    *, invitation: Invitation, user: AbstractBaseUser, now: datetime | None = None
) -> Invitation:
    return _decide(
        invitation,
        state=Invitation.State.WITHDRAWN,
        note="",
        now=now or timezone.now(),
        verb="withdrawn",
        sender_id=user.pk,
    )


def invitation_mark_seen(*, invitation: Invitation, user: AbstractBaseUser) -> None:
    """The recipient opened it: it leaves the unread count. Once; the first time counts."""
    if invitation.recipient_id != user.pk or invitation.recipient_seen_at is not None:
        return
    now = timezone.now()
    if Invitation.objects.filter(pk=invitation.pk, recipient_seen_at=None).update(
        recipient_seen_at=now
    ):
        invitation.recipient_seen_at = now


def invitations_expire(*, now: datetime | None = None) -> int:
    """Mark pending invitations past their time expired; how many. Pages treat them so already."""
    return Invitation.objects.filter(
        state=Invitation.State.PENDING, expires_at__lte=now or timezone.now()
    ).update(state=Invitation.State.EXPIRED)


# Conversations

CLOSED = "This conversation is closed: no more messages can be sent in it."


@transaction.atomic
def message_post(
    *,
    conversation: Conversation,
    sender: AbstractBaseUser,
    recipient: AbstractBaseUser,
    body: str,
    now: datetime | None = None,
) -> Message:
    """Write a message; the conversation's newest-message marker and the sender's read marker move.

    The conditional update on the open conversation comes first: it locks the
    row, so a close racing a message ends with the message refused or in
    before the close, never after.
    """
    now = now or timezone.now()
    body = _text(body, what="a message", limit=TEXT_MAX)
    refusal = safety.contact_refusal(sender=sender, recipient=recipient)
    if refusal:
        raise CollaborationError(refusal, status=403)
    if not Conversation.objects.filter(pk=conversation.pk, closed_at=None).update(
        last_message_at=now
    ):
        raise CollaborationError(CLOSED, status=409)
    message = Message.objects.create(conversation=conversation, sender_id=sender.pk, body=body)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_id=Greatest(F("last_message_id"), message.pk)
    )
    ConversationMember.objects.filter(conversation=conversation, user_id=sender.pk).update(
        last_read_message_id=Greatest(F("last_read_message_id"), message.pk)
    )
    notifications.message_posted(message=message)
    return message


def conversation_read(*, member: ConversationMember, conversation: Conversation) -> None:
    """The member opened the conversation: caught up to its newest message, and present."""
    ConversationMember.objects.filter(pk=member.pk).update(
        last_read_message_id=Greatest(F("last_read_message_id"), conversation.last_message_id),
        last_seen_at=timezone.now(),
    )


@transaction.atomic
def conversation_close(
    *, conversation: Conversation, user: AbstractBaseUser, now: datetime | None = None
) -> Conversation:
    now = now or timezone.now()
    if not Conversation.objects.filter(pk=conversation.pk, closed_at=None).update(
        closed_at=now, closed_by_id=user.pk
    ):
        raise CollaborationError("This conversation is closed already.", status=409)
    conversation.refresh_from_db()
    return conversation
