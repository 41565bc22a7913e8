"""Two people, an invitation between them and its conversation, written with the ORM.

The mail tests build rows the way the collaboration services do and call the
notification hooks where the services call them (in the same transaction).
"""

import itertools

from django.contrib.auth import get_user_model
from django.utils import timezone

from profiles.collaboration import notifications
from profiles.collaboration.models import (
    INVITATION_TTL,
    Conversation,
    ConversationMember,
    Invitation,
    Message,
)
from tests.factories import AuthorFactory

_numbers = itertools.count(1)


def make_user(email: str | None = None):
    n = next(_numbers)
    return get_user_model().objects.create_user(
        f"mailuser{n}", email or f"person{n}@example.org", None
    )


def invitation(*, sender=None, recipient=None, subject="Joint work on graph sampling", **extra):
    """An invitation from `sender` (with a claimed record of their own) to `recipient`'s record."""
    sender = sender or make_user("ada@example.org")
    recipient = recipient or make_user("grace@example.org")
    extra.setdefault("sender_author", AuthorFactory(display_name="Ada Sender"))
    return Invitation.objects.create(
        sender=sender,
        recipient=recipient,
        author=AuthorFactory(display_name="Grace Owner"),
        subject=subject,
        body=extra.pop("body", "We both sample large graphs.\nLet us compare notes."),
        expires_at=timezone.now() + INVITATION_TTL,
        **extra,
    )


def sent(**options) -> Invitation:
    """An invitation, and its hook as the sending service calls it."""
    invite = invitation(**options)
    notifications.invitation_sent(invitation=invite)
    return invite


def conversation(invite: Invitation | None = None) -> Conversation:
    """The invitation accepted: its conversation of the two, without the acceptance's hook."""
    invite = invite or invitation()
    Invitation.objects.filter(pk=invite.pk).update(
        state=Invitation.State.ACCEPTED, decided_at=timezone.now()
    )
    talk = Conversation.objects.create(invitation=invite)
    ConversationMember.objects.create(conversation=talk, user=invite.sender)
    ConversationMember.objects.create(conversation=talk, user=invite.recipient)
    return talk


def post(talk: Conversation, sender, body: str = "Hello") -> Message:
    """A message, the conversation's marker and the sender's read marker, then the hook."""
    message = Message.objects.create(conversation=talk, sender=sender, body=body)
    Conversation.objects.filter(pk=talk.pk).update(
        last_message_id=message.pk, last_message_at=message.created_at
    )
    ConversationMember.objects.filter(conversation=talk, user=sender).update(
        last_read_message_id=message.pk
    )
    notifications.message_posted(message=message)
    return message


def member(talk: Conversation, user) -> ConversationMember:
    return ConversationMember.objects.get(conversation=talk, user=user)
