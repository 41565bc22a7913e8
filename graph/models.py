"""A stored graph slice: one row per author, built by a Celery task, served as SVG.

The row is also the build's job record. Its status moves
queued -> building -> ready | failed, always by conditional updates (see
graph.services), so two requests or two workers never build one author twice
at once. A worker that dies mid-build leaves the row "building" with a lease
that runs out; the periodic sweep then queues it again. A queued row whose
task the broker did not take (it was down or hung) keeps `sent_at` empty, and
the sweep sends it at its next run.
"""

from django.db import models
from django.db.models import Q

from works.models import Author


class GraphSlice(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    author = models.OneToOneField(
        Author, on_delete=models.CASCADE, primary_key=True, related_name="graph_slice"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    data = models.JSONField(
        default=dict, blank=True, help_text="The slice shown on the researcher page."
    )
    explorer_data = models.JSONField(
        default=dict, blank=True, help_text="The larger slice of the full explorer and graph.json."
    )
    error = models.TextField(blank=True, default="")
    input_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="sha256 of the rows the data was built from.",
    )
    algorithm_version = models.PositiveSmallIntegerField(
        default=0, help_text="graph.services.ALGORITHM_VERSION of the stored data (0: none yet)."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Builds started since the last one that finished."
    )
    rebuild_requested = models.BooleanField(
        default=False,
        help_text="The inputs changed while a build was running: build once more after it.",
    )
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "When the build task of a queued row was handed to the broker; empty until then"
            " (the broker was away): the sweep sends unsent rows within a minute."
        ),
    )
    started_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A build still 'building' after this time is presumed dead and is queued again.",
    )
    computed_at = models.DateTimeField(null=True, blank=True, help_text="When data was computed.")
    checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the inputs were last compared with input_hash."
    )
    build_ms = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The sweep's scans: the few rows not ready, and ready rows by age.
            models.Index(
                fields=["status", "lease_expires_at"],
                condition=~Q(status="ready"),
                name="graphslice_pending_idx",
            ),
            models.Index(
                fields=["algorithm_version", "checked_at"],
                condition=Q(status="ready"),
                name="graphslice_ready_age_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"graph slice of author {self.author_id} ({self.status})"
