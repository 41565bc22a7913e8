"""The outbox: every email the site sends is a row first, then a Celery task delivers it.

A request only writes the row (in its own transaction, so a mail exists
exactly when the change it announces does); the mail server and the broker
are never on a request's path. The row is also the delivery's job record:
`pending` -> `sending` (claimed by one conditional UPDATE, with a lease) ->
`sent`, or back to `pending` with a later `next_attempt_at` when the mail
server refused, until `failed` after MAX_ATTEMPTS. `task_sent_at` says
whether a task for the pending row is with the broker, so the sweep sends
one for the rows that have none (the broker was away) rather than piling up
duplicates. A worker killed mid-send leaves the row `sending`; once the
lease runs out the sweep sends it again.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class OutboundEmail(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    from_email = models.CharField(max_length=254)
    to = ArrayField(models.CharField(max_length=254))
    subject = models.TextField()
    body = models.TextField(blank=True, help_text="Plain text; erased once sent.")
    headers = models.JSONField(
        default=dict, blank=True, help_text="Extra headers (List-Unsubscribe for a stop link)."
    )
    html = models.TextField(blank=True, help_text="HTML alternative; erased once sent.")
    message_id = models.CharField(
        max_length=255, help_text="The same Message-ID on every attempt, so receivers can tell."
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Deliveries started.")
    next_attempt_at = models.DateTimeField(help_text="A pending mail is not tried before this.")
    task_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "When the send task of a pending mail was handed to the broker; empty until then"
            " (the broker was away) and after a failed attempt: the sweep sends it when due."
        ),
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A mail still 'sending' after this time is presumed lost and is sent again.",
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep's scan: the few rows not yet sent.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="outboundemail_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"email to {', '.join(self.to)} ({self.status})"


class EmailOptOut(models.Model):
    """A person asked for no more mail of one kind (bzpeer.outbox.optout), by a signed link."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_opt_outs"
    )
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="optout_uniq")]

    def __str__(self) -> str:
        return f"{self.user_id} wants no {self.kind} mail"
