"""Reads for direct collaboration: who may invite, the inbox, one invitation, one conversation.

Every read of an invitation or a conversation checks that the user is one of
its two people here (`invitation_for_user`, `conversation_for_member`); staff
are nobody special (they read only what was reported, on the staff pages).
"""

from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from bzpeer.db import prepared_cursor
from profiles.collaboration.models import (
    WORKS_MAX,
    Conversation,
    ConversationMember,
    Invitation,
    Message,
)
from profiles.models import Claim, ProfileSettings
from works.models import Author, Authorship, Work

# What the invite form offers to pick from, newest first.
WORKS_OFFERED = 30
# A conversation page shows this many of the newest messages.
MESSAGES_SHOWN = 200

SELF = "This is your own record: you cannot invite yourself."
UNCLAIMED = "Claim this author entity first to unlock direct invitations."
NOT_OPEN = "This researcher is not open to new collaborations right now."
NOT_VERIFIED = "Verify your email address first: only people with a verified email may invite."
OWNERS_ONLY = "This researcher accepts invitations only from people who own a claimed record."


@dataclass(frozen=True)
class Standing:
    """What decides whether a person may invite: a verified email, a claimed record of their own."""

    verified: bool
    own_author_id: int | None


# A person's standing as two SQL columns of %(user)s, for statements that read it with more
# (profiles.selectors.visitor_state): the oldest approved claim is their own record.
STANDING_SQL = f"""
    EXISTS (SELECT FROM {EmailAddress._meta.db_table}
            WHERE user_id = %(user)s AND verified),
    (SELECT author_id FROM {Claim._meta.db_table}
     WHERE claimant_id = %(user)s AND state = '{Claim.State.APPROVED}'
     ORDER BY decided_at, id LIMIT 1)
"""


def standing_for(*, user: AbstractBaseUser) -> Standing:
    """One query: the user's verified email and their own claimed record (the oldest approved)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {STANDING_SQL}", {"user": user.pk})
        verified, own_author_id = cursor.fetchone()
    return Standing(verified=bool(verified), own_author_id=own_author_id)


@dataclass(frozen=True)
class Openness:
    """What the owner says about invitations: open or not, and from whom."""

    open: bool
    invitations_from: str


def openness(*, author: Author, owner_settings: ProfileSettings | None) -> Openness:
    """The owner's settings; until they save any, the record's imported flag and anyone verified."""
    if owner_settings is None:
        return Openness(author.open_to_collaborate, ProfileSettings.InvitationsFrom.VERIFIED)
    return Openness(owner_settings.open_to_collaborate, owner_settings.invitations_from)


def invite_refusal(
    *, user: AbstractBaseUser, owner_id: int | None, openness: Openness, standing: Standing
) -> str | None:
    """Why `user` may not invite the owner of a record, in their words; None when they may.

    Blocks and suspensions are not read here (profiles.collaboration.safety is
    asked when an invitation is written), so a block stays silent on the page.
    """
    if owner_id is None:
        return UNCLAIMED
    if owner_id == user.pk:
        return SELF
    if not openness.open:
        return NOT_OPEN
    if not standing.verified:
        return NOT_VERIFIED
    if openness.invitations_from == ProfileSettings.InvitationsFrom.OWNERS and (
        standing.own_author_id is None
    ):
        return OWNERS_ONLY
    return None


def record_owner_id(*, author: Author) -> int | None:
    return (
        Claim.objects.filter(author=author, state=Claim.State.APPROVED)
        .values_list("claimant_id", flat=True)
        .first()
    )


def works_offered(*, author_id: int | None) -> list[Work]:
    """The works of a record an invitation may name: its visible ones, newest first."""
    if author_id is None:
        return []
    return list(
        Work.objects.filter(authorships__author_id=author_id)
        .exclude(authorships__author_id=author_id, authorships__status=Authorship.Status.DISPUTED)
        .order_by("-publication_year", "-publication_date", "-id")[:WORKS_OFFERED]
    )


def works_on_record(*, author_id: int, work_ids: list[int]) -> bool:
    """True when every work is on the record and not disputed by its owner."""
    if not work_ids:
        return True
    if len(work_ids) > WORKS_MAX:
        return False
    found = (
        Authorship.objects.filter(author_id=author_id, work_id__in=work_ids)
        .exclude(status=Authorship.Status.DISPUTED)
        .count()
    )
    return found == len(set(work_ids))


# Invitations


def invitation_state(invitation: Invitation, *, now: datetime | None = None) -> str:
    """The state as people see it: a pending invitation past its time is expired already."""
    if invitation.state == Invitation.State.PENDING and invitation.expires_at <= (
        now or timezone.now()
    ):
        return Invitation.State.EXPIRED
    return invitation.state


def invitations_received(*, user: AbstractBaseUser) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(recipient_id=user.pk, hidden_from_recipient=False)
        .select_related("sender", "author", "sender_author")
        .order_by("-created_at", "-id")
    )


def invitations_sent(*, user: AbstractBaseUser) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(sender_id=user.pk)
        .select_related("author", "recipient")
        .order_by("-created_at", "-id")
    )


def invitation_for_user(*, user: AbstractBaseUser, invitation_id: int) -> Invitation | None:
    """The invitation if `user` sent it or received it (and it is not hidden from them)."""
    return (
        Invitation.objects.filter(pk=invitation_id)
        .filter(Q(sender_id=user.pk) | Q(recipient_id=user.pk, hidden_from_recipient=False))
        .select_related("sender", "recipient", "author", "sender_author", "conversation")
        .first()
    )


def invitation_works(*, invitation: Invitation) -> tuple[list[Work], list[Work]]:
    """The recipient's and the sender's works the invitation names, in one query."""
    ids = [*invitation.recipient_works, *invitation.sender_works]
    if not ids:
        return [], []
    by_id = {w.pk: w for w in Work.objects.filter(pk__in=ids).select_related("source")}
    return (
        [by_id[i] for i in invitation.recipient_works if i in by_id],
        [by_id[i] for i in invitation.sender_works if i in by_id],
    )


# Conversations


@dataclass
class ConversationRow:
    member: ConversationMember
    conversation: Conversation
    unread: bool


def conversations_for_user(*, user: AbstractBaseUser) -> list[ConversationRow]:
    members = (
        ConversationMember.objects.filter(user_id=user.pk)
        .select_related(
            "conversation__invitation__author",
            "conversation__invitation__sender",
            "conversation__invitation__sender_author",
        )
        .order_by(F("conversation__last_message_at").desc(nulls_last=True), "-conversation_id")
    )
    return [
        ConversationRow(
            member=m,
            conversation=m.conversation,
            unread=m.conversation.last_message_id > m.last_read_message_id,
        )
        for m in members
    ]


@dataclass
class ConversationView:
    conversation: Conversation
    invitation: Invitation
    me: ConversationMember
    other: ConversationMember


def conversation_for_member(
    *, user: AbstractBaseUser, conversation_id: int
) -> ConversationView | None:
    """The conversation if `user` is one of its two members, with both members: one query."""
    members = list(
        ConversationMember.objects.filter(conversation_id=conversation_id).select_related(
            "user",
            "conversation__invitation__author",
            "conversation__invitation__sender",
            "conversation__invitation__sender_author",
        )
    )
    me = next((m for m in members if m.user_id == user.pk), None)
    other = next((m for m in members if m.user_id != user.pk), None)
    if me is None or other is None:
        return None
    return ConversationView(
        conversation=me.conversation,
        invitation=me.conversation.invitation,
        me=me,
        other=other,
    )


def messages_latest(*, conversation: Conversation) -> list[Message]:
    newest = list(
        Message.objects.filter(conversation=conversation).order_by("-id")[:MESSAGES_SHOWN]
    )
    newest.reverse()
    return newest


@dataclass(frozen=True)
class PollMessage:
    id: int
    sender_id: int
    body: str
    created_at: datetime


@dataclass(frozen=True)
class Poll:
    messages: list[PollMessage]
    other_read_id: int  # the other member's read marker
    my_last_id: int  # the newest message this member wrote, 0 if none
    closed: bool
    other_name: str  # as the `person` template filter names them


# One statement: marks the member present and caught up, and returns what is
# new after `after`. A user who is not a member updates no row, so the join
# on `me` returns nothing: membership is enforced by the same statement.
_POLL_SQL = """
WITH me AS (
    UPDATE collaboration_conversationmember m
    SET last_seen_at = %(now)s,
        last_read_message_id = GREATEST(m.last_read_message_id, c.last_message_id)
    FROM collaboration_conversation c
    WHERE m.conversation_id = %(conversation)s AND m.user_id = %(user)s
      AND c.id = m.conversation_id
    RETURNING m.conversation_id, c.closed_at
)
SELECT msg.id, msg.sender_id, msg.body, msg.created_at,
       (SELECT o.last_read_message_id FROM collaboration_conversationmember o
         WHERE o.conversation_id = me.conversation_id AND o.user_id <> %(user)s),
       (SELECT max(mine.id) FROM collaboration_message mine
         WHERE mine.conversation_id = me.conversation_id AND mine.sender_id = %(user)s),
       me.closed_at IS NOT NULL,
       (SELECT coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username)
          FROM collaboration_conversationmember o JOIN auth_user u ON u.id = o.user_id
         WHERE o.conversation_id = me.conversation_id AND o.user_id <> %(user)s)
FROM me
LEFT JOIN collaboration_message msg
  ON msg.conversation_id = me.conversation_id AND msg.id > %(after)s
ORDER BY msg.id
LIMIT %(limit)s
"""


def conversation_poll(
    *, user: AbstractBaseUser, conversation_id: int, after: int, now: datetime | None = None
) -> Poll | None:
    """What is new in a conversation for one of its members, in one SQL statement; None if not one.

    It also writes the member's presence and read marker: a read with a
    marker, kept in one statement so that a poll costs one query.
    """
    with prepared_cursor() as cursor:
        cursor.execute(
            _POLL_SQL,
            {
                "now": now or timezone.now(),
                "conversation": conversation_id,
                "user": user.pk,
                "after": after,
                "limit": MESSAGES_SHOWN,
            },
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    return Poll(
        messages=[
            PollMessage(id=r[0], sender_id=r[1], body=r[2], created_at=r[3])
            for r in rows
            if r[0] is not None
        ],
        other_read_id=first[4] or 0,
        my_last_id=first[5] or 0,
        closed=first[6],
        other_name=first[7] or "",
    )


# The site header


# The header's count as one SQL expression of %(user)s and %(now)s, for statements that
# read it with more (profiles.selectors.visitor_state).
UNREAD_COUNT_SQL = f"""
    (SELECT count(*) FROM {Invitation._meta.db_table}
      WHERE recipient_id = %(user)s AND state = 'pending'
        AND recipient_seen_at IS NULL AND NOT hidden_from_recipient
        AND expires_at > %(now)s)
  + (SELECT count(*) FROM {ConversationMember._meta.db_table} m
       JOIN {Conversation._meta.db_table} c ON c.id = m.conversation_id
      WHERE m.user_id = %(user)s
        AND c.last_message_id > m.last_read_message_id)
"""


def unread_count(*, user: AbstractBaseUser, now: datetime | None = None) -> int:
    """Pending invitations received and not yet opened, plus conversations with unread messages.

    One statement over two indexes (invitation_unseen_idx, member_user_idx).
    """
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT {UNREAD_COUNT_SQL}", {"user": user.pk, "now": now or timezone.now()}
        )
        return int(cursor.fetchone()[0])
