"""Profiles: follows, claims on author records and their review, and the owner's settings.

`works.Author` stays the public record as imported; what an owner writes about
themselves lives in `ProfileSettings`, a row no import touches, and what they
say about their works lives on `works.Authorship.status`, which imports never
change once a person set it.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from works.models import Author, Institution, Work


def all_event_kinds() -> list[str]:
    """A new follow hears about everything until its follower chooses."""
    return [kind.value for kind in AuthorEvent.Kind]


class Follow(models.Model):
    """A person following a researcher. Unique, so double clicks count once.

    `kinds` is what the follower hears about (event kinds, chosen by News),
    in the feed and in digests alike; `delivery` whether they also get an
    email digest of them, daily or weekly (profiles.digests).
    """

    class News(models.TextChoices):
        WORKS = "works", "New works"
        COAUTHORS = "coauthors", "New co-authors"
        CLAIMS = "claims", "Verified claims"
        PROFILE = "profile", "Profile changes (affiliation, summary, homepage…)"

    class Delivery(models.TextChoices):
        FEED = "feed", "Feed only"
        DAILY = "daily", "Daily email digest"
        WEEKLY = "weekly", "Weekly email digest"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)
    kinds = ArrayField(
        models.CharField(max_length=24),
        default=all_event_kinds,
        blank=True,
        help_text="The event kinds the follower hears about (see Follow.News).",
    )
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.FEED)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "author"], name="follow_uniq")]
        indexes = [
            models.Index(fields=["author", "user"], name="follow_author_idx"),
            # The digest run's scan: only the follows that want email.
            models.Index(
                fields=["delivery", "user"],
                condition=~Q(delivery="feed"),
                name="follow_digest_idx",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.author_id}"

    @property
    def news(self) -> list[str]:
        """The News choices this follow hears about."""
        return [news for news, kinds in NEWS_KINDS.items() if set(kinds) <= set(self.kinds)]

    # For the settings form on /following/ (templates/profiles/_follow_settings.html).

    def news_options(self) -> list[tuple[str, str, bool]]:
        news = self.news
        return [(value, label, value in news) for value, label in self.News.choices]

    def delivery_options(self) -> list[tuple[str, str, bool]]:
        return [(value, label, value == self.delivery) for value, label in self.Delivery.choices]

    def settings_summary(self) -> str:
        """ "All news, feed only"; "New works, verified claims, weekly email digest"."""
        news = self.news
        heard = (
            "All news"
            if len(news) == len(self.News.choices)
            else ", ".join(str(self.News(n).label).split(" (")[0] for n in news) or "Nothing"
        )
        return f"{heard} · {self.get_delivery_display()}"


class Digest(models.Model):
    """A digest email a person was sent for one period (profiles.digests).

    The unique row, written in the same transaction as the outbox mail, is
    what makes a second run, a task delivered twice or two beats at once
    send nothing more.
    """

    class Period(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests"
    )
    period = models.CharField(max_length=8, choices=Period.choices)
    period_start = models.DateField(help_text="The day, or the Monday of the ISO week.")
    events = models.PositiveIntegerField(help_text="Events the digest listed in all.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period", "period_start"], name="digest_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} digest of {self.period_start} to {self.user_id}"


class Claim(models.Model):
    """A person's claim that an author record is theirs, with the evidence staff review.

    States: pending -> approved | rejected | withdrawn; approved -> revoked.
    Every change is a conditional update in profiles.services, so a double click
    or two reviewers at once change a claim once.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REVOKED = "revoked", "Revoked"

    class Risk(models.TextChoices):
        NEW_ACCOUNT = "new_account", "Account younger than a day"
        EMAIL_DOMAIN_MISMATCH = (
            "email_domain_mismatch",
            "Email domain matches no institution of the record",
        )
        SEVERAL_CLAIMS = "several_claims", "This account has claimed other records"
        CONTESTED = "contested", "Another person claims this record"

    LIVE_STATES = (State.PENDING, State.APPROVED)

    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="claims")
    claimant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    contested = models.BooleanField(
        default=False, help_text="Another person has a pending or approved claim on the record."
    )

    # Evidence. An ORCID iD counts only when proven by an ORCID sign-in (an
    # allauth SocialAccount of the claimant whose uid is the record's iD).
    orcid_verified = models.BooleanField(default=False)
    orcid = models.CharField("ORCID iD proven", max_length=19, blank=True, default="")
    email = models.EmailField("Email verified by code", blank=True, default="")
    email_domain = models.CharField(max_length=253, blank=True, default="")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    email_institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The institution of the record whose email domain the address is at.",
    )
    links = ArrayField(models.URLField(max_length=500), default=list, blank=True)
    statement = models.TextField(blank=True, default="")
    works_mine = ArrayField(models.BigIntegerField(), default=list, blank=True)
    works_not_mine = ArrayField(models.BigIntegerField(), default=list, blank=True)

    # Automatic checks, run once at submission: [{code, label, passed, detail}].
    checks = models.JSONField(default=list, blank=True)
    checks_passed = models.BooleanField(
        default=False, help_text="ORCID sign-in or institutional email passed: the record is L2."
    )
    risk_flags = ArrayField(
        models.CharField(max_length=32, choices=Risk.choices), default=list, blank=True
    )

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author"],
                condition=Q(state="approved"),
                name="claim_one_approved_per_author",
            ),
            # One open claim per person and record: a second submit is the first one.
            models.UniqueConstraint(
                fields=["author", "claimant"],
                condition=Q(state="pending"),
                name="claim_one_pending_per_claimant",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "created_at"], name="claim_queue_idx"),
            models.Index(fields=["author", "state"], name="claim_author_state_idx"),
            models.Index(fields=["claimant", "state"], name="claim_claimant_idx"),
        ]

    def __str__(self) -> str:
        return f"claim {self.pk} on author {self.author_id} ({self.state})"

    def risk_labels(self) -> list[str]:
        labels = dict(self.Risk.choices)
        return [labels.get(flag, flag) for flag in self.risk_flags]


class ClaimEvent(models.Model):
    """The audit log of a claim: who did what, when and why."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        CHECKS_RUN = "checks_run", "Automatic checks run"
        CONTESTED = "contested", "Marked contested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REVOKED = "revoked", "Revoked"

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the system (automatic checks, a rival claim's approval).",
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["action", "created_at"], name="claimevent_action_idx")]

    def __str__(self) -> str:
        return f"{self.action} on claim {self.claim_id}"


class EmailCode(models.Model):
    """A one-time code sent to an address a claimant says is theirs.

    Only a keyed hash of the code is stored. A code is good until expires_at,
    for MAX_ATTEMPTS guesses, and once: used_at marks the address verified.
    """

    MAX_ATTEMPTS = 5

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_codes"
    )
    author = models.ForeignKey(
        Author, on_delete=models.CASCADE, related_name="+", help_text="The record being claimed."
    )
    address = models.EmailField()
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "author", "-created_at"], name="emailcode_user_idx")
        ]

    def __str__(self) -> str:
        return f"code for {self.address}"


class ProfileSettings(models.Model):
    """What the owner of a claimed record says about themselves; imports never write here.

    Read only while the record has an approved claim, so a revoked owner's
    words leave the page with them.
    """

    class Section(models.TextChoices):
        AFFILIATION = "affiliation", "Affiliation"
        HOMEPAGE = "homepage", "Homepage"
        CONTACT = "contact", "Contact preference"
        TOPICS = "topics", "Topics"
        COLLABORATORS = "collaborators", "Close collaborators"

    class InvitationsFrom(models.TextChoices):
        VERIFIED = "verified", "Anyone signed in with a verified email"
        OWNERS = "owners", "Only people who own a claimed record"

    author = models.OneToOneField(
        Author, on_delete=models.CASCADE, primary_key=True, related_name="profile_settings"
    )
    summary = models.CharField(
        "summary line", max_length=300, blank=True, default="", help_text="Replaces the summary."
    )
    affiliation = models.CharField(
        "affiliation override",
        max_length=300,
        blank=True,
        default="",
        help_text="Shown instead of the imported affiliation.",
    )
    homepage = models.URLField(max_length=500, blank=True, default="")
    contact = models.CharField(
        "contact preference",
        max_length=300,
        blank=True,
        default="",
        help_text="How to reach you about a collaboration.",
    )
    open_to_collaborate = models.BooleanField(default=False)
    invitations_from = models.CharField(
        "who may invite you",
        max_length=16,
        choices=InvitationsFrom.choices,
        default=InvitationsFrom.VERIFIED,
    )
    hidden_sections = ArrayField(
        models.CharField(max_length=16, choices=Section.choices), default=list, blank=True
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "profile settings"

    def __str__(self) -> str:
        return f"settings of author {self.author_id}"

    def shows(self, section: str) -> bool:
        return section not in self.hidden_sections


class AuthorEvent(models.Model):
    """Something that happened to a researcher, once, whoever follows them.

    Followers read these on /following/; one row per event, not per follower.
    A follow shows the events since it began, so what an import brings is
    recorded only for researchers someone follows at the time
    (services.events_record_import): nobody could ever read the others.
    """

    class Kind(models.TextChoices):
        NEW_WORK = "new_work", "New work"
        NEW_COAUTHOR = "new_coauthor", "New co-author"
        AFFILIATION_CHANGED = "affiliation_changed", "Affiliation changed"
        CLAIM_VERIFIED = "claim_verified", "Claim verified"
        PROFILE_UPDATED = "profile_updated", "Profile updated"

    # The feed index leads with the author: no index of its own.
    author = models.ForeignKey(
        Author, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    work = models.ForeignKey(
        Work, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    other_author = models.ForeignKey(
        Author, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A retried batch, or two imports of one work at once, record a
            # work once per author, and a co-author once per pair per author.
            models.UniqueConstraint(
                fields=["author", "work"],
                condition=models.Q(kind="new_work"),
                name="authorevent_work_uniq",
            ),
            models.UniqueConstraint(
                fields=["author", "other_author"],
                condition=models.Q(kind="new_coauthor"),
                name="authorevent_coauthor_uniq",
            ),
        ]
        indexes = [
            # The feed: each followed author's events, newest first, by keyset. The
            # kind rides along so that a follow's chosen kinds (Follow.kinds) filter
            # inside this index-only walk: without it the planner took the kind
            # index and sorted every event since the follow (37.7 ms against 6.2 ms
            # at 412 follows and 1 million events).
            models.Index(
                fields=["author", "-created_at", "-id"],
                name="authorevent_feed_idx",
                include=["kind"],
            ),
            # The feed filtered by kind: the same walk, one kind at a time.
            models.Index(
                fields=["author", "kind", "-created_at", "-id"], name="authorevent_kind_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of author {self.author_id}"

    @property
    def changed_labels(self) -> str:
        return profile_changed_labels(self.detail)


def profile_changed_labels(detail: object) -> str:
    """What a profile update changed, in words ("summary, homepage")."""
    fields = detail.get("fields", []) if isinstance(detail, dict) else []
    return ", ".join(PROFILE_FIELD_LABELS.get(f, f) for f in fields)


class CoauthorKnown(models.Model):
    """Someone a followed researcher had published with when they got their first follower.

    With the "new co-author" events recorded since, it says whether a work is
    a pair's first: an import checks a pair with one index probe instead of
    reading both researchers' works (4.7 ms a pair for prolific authors).
    """

    # The unique index leads with the author: no index of its own.
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+", db_index=False)
    other_author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["author", "other_author"], name="coauthorknown_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.author_id} published with {self.other_author_id}"


PROFILE_FIELD_LABELS = {
    "summary": "summary",
    "homepage": "homepage",
    "contact": "contact preference",
    "open_to_collaborate": "openness to collaborate",
    # A staff merge brought a duplicate record's works here (profiles.record_operations).
    "merged_record": "works of a duplicate record merged in",
}


# What each choice of Follow.News covers.
NEWS_KINDS: dict[str, list[str]] = {
    Follow.News.WORKS: [AuthorEvent.Kind.NEW_WORK],
    Follow.News.COAUTHORS: [AuthorEvent.Kind.NEW_COAUTHOR],
    Follow.News.CLAIMS: [AuthorEvent.Kind.CLAIM_VERIFIED],
    Follow.News.PROFILE: [AuthorEvent.Kind.AFFILIATION_CHANGED, AuthorEvent.Kind.PROFILE_UPDATED],
}


class DuplicateSuggestion(models.Model):
    """Two author records that are likely one person, with the evidence for staff.

    The pair is stored in canonical order (author_low < author_high), so one
    pair has one row whoever found it. The system finds pairs
    (profiles.duplicates, daily); the owner of a claimed record requests one.
    A later merge points at the suggestion it settles (state MERGED); a
    dismissed pair stays dismissed when the finder sees it again.
    """

    class Kind(models.TextChoices):
        FOUND = "found", "Found by the system"
        REQUESTED = "requested", "Requested by the record's owner"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        MERGED = "merged", "Merged"

    author_low = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+")
    author_high = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FOUND)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    # What the finder saw, as of its last run: {"orcid": "0000-...", "name_folded":
    # "...", "shared_coauthors": n, "coauthor_examples": [{"id", "name"}],
    # "shared_institutions": n, "institution_examples": [{"id", "name"}]}.
    evidence = models.JSONField(default=dict, blank=True)
    # How sure: a shared ORCID iD outweighs any overlap; orders the queue.
    strength = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_reason = models.TextField(blank=True, default="")
    # For staff, from the system: e.g. the other record is claimed by someone else.
    staff_note = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-strength", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author_low", "author_high"], name="duplicatesuggestion_pair_uniq"
            ),
            models.CheckConstraint(
                condition=Q(author_low__lt=models.F("author_high")),
                name="duplicatesuggestion_canonical_order",
            ),
        ]
        indexes = [
            # The staff queue: open ones, strongest then newest, by keyset.
            models.Index(
                fields=["state", "-strength", "-id"], name="duplicatesuggestion_queue_idx"
            ),
            models.Index(fields=["author_high"], name="duplicatesuggestion_high_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.author_low_id} ~ {self.author_high_id} ({self.state})"


class RecordOperation(models.Model):
    """A staff merge or split of author records: what moved, exactly, so that it can be undone.

    `moves` is written by profiles.record_operations and read back by its
    undo; nothing else interprets it. A merge: {"authorships": [{"id",
    "from", "status"}], "dropped": [full rows of the merged record's
    authorships on works the survivor was already on], "follows": [{"id",
    "from"}], "follows_dropped": [rows], "claims": [{"id", "from"}],
    "settings": row or null, "event": id}. A split: {"authorships": [{"id",
    "from", "status", "status_changed_by", "status_changed_at"}],
    "tombstones": [ids], "created_record": bool}.
    """

    class Kind(models.TextChoices):
        MERGE = "merge", "Merge"
        SPLIT = "split", "Split"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    # A merge: the merged record (source) and the survivor (target). A split:
    # the record the works left (source) and the one they went to (target).
    source = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    suggestion = models.ForeignKey(
        DuplicateSuggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, default="")
    moves = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="recordoperation_list_idx"),
            # "Has a later operation touched these records?" (the undo's check).
            models.Index(fields=["source", "created_at"], name="recordoperation_source_idx"),
            models.Index(fields=["target", "created_at"], name="recordoperation_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id} -> {self.target_id}"


class SplitRequest(models.Model):
    """The owner of a claimed record says some works on it are another person's, or
    (with `target`, their own record) that a work on another record is theirs.

    It waits in the staff queue (/staff/merges/) beside the duplicate
    suggestions; staff carry it out on the record's split page, which
    marks it done with the operation, or dismiss it.
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Split"
        DISMISSED = "dismissed", "Dismissed"

    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    work_ids = ArrayField(models.BigIntegerField(), default=list)
    # "This is mine": the requester's own record, where they ask the works to go.
    target = models.ForeignKey(
        Author, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField(blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    operation = models.ForeignKey(
        RecordOperation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "-created_at"], name="splitrequest_queue_idx")]

    def __str__(self) -> str:
        return f"split of {self.author_id} ({self.state})"


class OrcidImportRun(models.Model):
    """One "Bring in my ORCID works" press: the owner's ORCID record imported into theirs.

    The row is the run's job record, as an outbound email's is
    (bzpeer.outbox): `queued` -> `running` (claimed by one conditional
    UPDATE, with a lease) -> `done` or `failed`. `task_sent_at` says whether
    the broker has its task, so the beat sweep sends one for runs queued
    while the broker was away, and again for a run whose worker died (lease
    run out). At most one queued or running run per record, by constraint.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    LIVE_STATES = (Status.QUEUED, Status.RUNNING)

    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="orcid_import_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orcid_import_runs"
    )
    orcid = models.CharField(max_length=19, help_text="The iD proven by sign-in, as pressed.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started.")
    task_sent_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    works_total = models.PositiveIntegerField(default=0)
    works_matched = models.PositiveIntegerField(default=0)
    works_added = models.PositiveIntegerField(default=0)
    errors = ArrayField(
        models.TextField(), default=list, blank=True, help_text="What went wrong, each named."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["author"],
                condition=Q(status__in=["queued", "running"]),
                name="orcidimportrun_one_live_per_author",
            ),
        ]
        indexes = [
            # The status fragment: the latest run of a record.
            models.Index(fields=["author", "-created_at"], name="orcidimportrun_latest_idx"),
            # The sweep's scan: the few runs not finished.
            models.Index(
                fields=["status"],
                condition=Q(status__in=["queued", "running"]),
                name="orcidimportrun_live_idx",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"ORCID import {self.pk} of {self.orcid} into author {self.author_id} ({self.status})"
        )

    @property
    def live(self) -> bool:
        return self.status in self.LIVE_STATES
