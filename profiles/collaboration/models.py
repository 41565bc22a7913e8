"""Direct collaboration: invitations to the owner of a claimed record, and the conversations
they open.

An invitation belongs to a sender account and a claimed author record; its
recipient is the record's owner when it was sent. Accepted, it opens a
conversation of exactly two members, the sender and the recipient. Blocks,
reports and suspensions are the safety side (profiles.collaboration.safety);
every read of a conversation checks membership in one place
(selectors.conversation_for_member).

State changes are conditional updates (`filter(pk=..., state=PENDING)
.update(...)`), so a double click or an accept racing a withdraw changes an
invitation once.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from works.models import Author

INVITATION_TTL = timedelta(days=30)
SUBJECT_MAX = 200
TEXT_MAX = 5000  # an invitation's "why the fit is right", and a message
NOTE_MAX = 1000  # the recipient's note when accepting or declining
WORKS_MAX = 3  # works of each side an invitation may name


class Invitation(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations_sent"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="invitations_received",
        help_text="The owner of the record when the invitation was sent.",
    )
    author = models.ForeignKey(
        Author,
        on_delete=models.CASCADE,
        related_name="invitations",
        help_text="The claimed record the invitation is addressed to.",
    )
    sender_author = models.ForeignKey(
        Author,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The sender's own claimed record when they sent it, if they had one.",
    )
    subject = models.CharField(max_length=SUBJECT_MAX)
    body = models.TextField("why the fit is right", max_length=TEXT_MAX)
    recipient_works = ArrayField(models.BigIntegerField(), default=list, blank=True)
    sender_works = ArrayField(models.BigIntegerField(), default=list, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    response_note = models.TextField(blank=True, default="", max_length=NOTE_MAX)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="A pending invitation expires then.")
    decided_at = models.DateTimeField(null=True, blank=True)
    recipient_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When the recipient first opened it (the unread count)."
    )
    hidden_from_recipient = models.BooleanField(
        default=False,
        help_text="Sent by someone the recipient blocked: kept for the sender, never shown.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open invitation from a person to a record: a second one is refused.
            models.UniqueConstraint(
                fields=["sender", "author"],
                condition=Q(state="pending"),
                name="invitation_one_pending",
            ),
            models.CheckConstraint(
                condition=~Q(sender=models.F("recipient")), name="invitation_not_to_self"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="invitation_inbox_idx"),
            models.Index(fields=["sender", "-created_at"], name="invitation_sent_idx"),
            models.Index(
                fields=["expires_at"], condition=Q(state="pending"), name="invitation_due_idx"
            ),
            # The header's unread count: pending invitations the recipient has not opened.
            models.Index(
                fields=["recipient"],
                condition=Q(state="pending", recipient_seen_at=None, hidden_from_recipient=False),
                name="invitation_unseen_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} to author {self.author_id} ({self.state})"


class Conversation(models.Model):
    """Opened by an accepted invitation; its two members are the invitation's two people."""

    invitation = models.OneToOneField(
        Invitation, on_delete=models.CASCADE, related_name="conversation"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_id = models.BigIntegerField(
        default=0, help_text="The newest message's id: unread counts compare read markers to it."
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_message_at", "-id"]

    def __str__(self) -> str:
        return f"conversation {self.pk}"


class ConversationMember(models.Model):
    """One of the two people of a conversation, with their read marker and presence."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    last_read_message_id = models.BigIntegerField(default=0)
    last_seen_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The member's open page last asked for messages then (no email meanwhile).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="member_uniq"),
        ]
        indexes = [models.Index(fields=["user", "conversation"], name="member_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in conversation {self.conversation_id}"


class Message(models.Model):
    """Plain text; rendered escaped, with links made clickable."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages_sent"
    )
    body = models.TextField(max_length=TEXT_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"], name="message_conversation_idx")]

    def __str__(self) -> str:
        return f"message {self.pk} in conversation {self.conversation_id}"


class Block(models.Model):
    """`blocker` hears nothing more from `blocked`: no invitation, no message. Silent."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_uniq"),
            models.CheckConstraint(
                condition=~Q(blocker=models.F("blocked")), name="block_not_self"
            ),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_blocked_idx")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Report(models.Model):
    """An invitation or a conversation reported to staff, and what staff decided."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        HARASSMENT = "harassment", "Harassment or abuse"
        IMPERSONATION = "impersonation", "Impersonation"
        OTHER = "other", "Something else"

    class Decision(models.TextChoices):
        DISMISS = "dismiss", "Dismissed"
        WARN = "warn", "Sender warned"
        SUSPEND = "suspend", "Sender may no longer invite or write"

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_received"
    )
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="reports")
    conversation = models.ForeignKey(
        Conversation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reports",
        help_text="Set when a conversation was reported: staff read its messages up to the report.",
    )
    last_message_id = models.BigIntegerField(
        default=0, help_text="The newest message staff may read: the one before the report."
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(blank=True, default="", max_length=NOTE_MAX)
    created_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True, default="")
    decision_note = models.TextField(blank=True, default="", max_length=NOTE_MAX)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One report per person and invitation (a conversation's is its invitation's).
            models.UniqueConstraint(fields=["reporter", "invitation"], name="report_once"),
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(decision=""), name="report_open_idx"),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} on invitation {self.invitation_id}"


class Suspension(models.Model):
    """A person staff stopped from inviting or writing, after a report; lifted by staff."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_suspensions"
    )
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(lifted_at=None), name="suspension_one_live"
            ),
        ]

    def __str__(self) -> str:
        return f"suspension of {self.user_id}"


class MessageNotice(models.Model):
    """A member's pending "new messages" email: at most one per conversation and 15 minutes.

    Each message upserts its recipient's row (collaboration.notifications
    .message_posted): the first message not yet emailed, and when the email
    is due. A beat task locks the due rows one at a time and, in that row's
    transaction, queues the email and clears `due_at`, so a worker killed
    mid-run leaves a notice either sent once or still due.
    """

    member = models.OneToOneField(
        ConversationMember, primary_key=True, on_delete=models.CASCADE, related_name="notice"
    )
    first_unemailed_message_id = models.BigIntegerField(
        null=True, blank=True, help_text="The oldest message no email has told the member of yet."
    )
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the email goes out; empty: nothing pending."
    )
    last_emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(due_at__isnull=False), name="notice_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"message notice for member {self.member_id}"
