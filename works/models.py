"""Bibliographic records: the public author record and what it is built from.

External ids are stored in their short canonical form (see works.identifiers):
OpenAlex "W123"/"A123"/..., ORCID "0000-0002-1825-0097", DOI "10.1000/xyz"
(lower case, no resolver prefix), arXiv "2201.12345", ROR "00gtcbp88".
Every external id is unique where present (a partial unique constraint, so
records without one coexist).
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


def _unique_when_set(field: str, name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=[field], condition=~Q(**{field: ""}), name=name)


class Record(models.Model):
    """Fields every imported or generated record has."""

    is_synthetic = models.BooleanField(
        default=False,
        db_index=True,
        help_text="Generated demo data, never shown as a real record.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Institution(Record):
    openalex_id = models.CharField(max_length=32, blank=True, default="")
    ror = models.CharField("ROR id", max_length=16, blank=True, default="")
    display_name = models.CharField(max_length=500)
    country_code = models.CharField(max_length=2, blank=True, default="")
    type = models.CharField(max_length=32, blank=True, default="")
    email_domains = ArrayField(
        models.CharField(max_length=253),
        default=list,
        blank=True,
        help_text="Domains of the institution's email addresses, e.g. mila.quebec.",
    )
    email_domains_refused = ArrayField(
        models.CharField(max_length=253),
        default=list,
        blank=True,
        help_text="Domains staff removed from email_domains: imports never add them back.",
    )

    class Meta:
        ordering = ["display_name"]
        constraints = [
            _unique_when_set("openalex_id", "institution_openalex_id_uniq"),
            _unique_when_set("ror", "institution_ror_uniq"),
        ]
        indexes = [GinIndex(fields=["email_domains"], name="institution_domains_gin")]

    def __str__(self) -> str:
        return self.display_name


class Topic(Record):
    openalex_id = models.CharField(max_length=32, blank=True, default="")
    display_name = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    subfield = models.CharField(max_length=255, blank=True, default="")
    field = models.CharField(max_length=255, blank=True, default="")
    domain = models.CharField(max_length=255, blank=True, default="")
    keywords = ArrayField(models.CharField(max_length=255), default=list, blank=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [_unique_when_set("openalex_id", "topic_openalex_id_uniq")]

    def __str__(self) -> str:
        return self.display_name


class Source(Record):
    """Where a work appeared: a journal, a repository such as arXiv, a conference."""

    openalex_id = models.CharField(max_length=32, blank=True, default="")
    display_name = models.CharField(max_length=500)
    type = models.CharField(max_length=32, blank=True, default="")
    issn_l = models.CharField("ISSN-L", max_length=9, blank=True, default="")
    host_organization_name = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["display_name"]
        constraints = [_unique_when_set("openalex_id", "source_openalex_id_uniq")]

    def __str__(self) -> str:
        return self.display_name


class Author(Record):
    """The public author record, imported from an authoritative source."""

    openalex_id = models.CharField(max_length=32, blank=True, default="")
    orcid = models.CharField("ORCID iD", max_length=19, blank=True, default="")
    display_name = models.CharField(max_length=500)
    name_variants = ArrayField(models.CharField(max_length=500), default=list, blank=True)
    last_known_institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(
        max_length=300, blank=True, default="", help_text="The researcher's own summary line."
    )
    open_to_collaborate = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_records",
        help_text="Set when this record was merged into another: its URL redirects there.",
    )
    works_count = models.PositiveIntegerField(default=0)
    cited_by_count = models.PositiveIntegerField(default=0)
    topics: "models.ManyToManyField[Topic, AuthorTopic]" = models.ManyToManyField(
        Topic, through="AuthorTopic", related_name="authors"
    )

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            _unique_when_set("openalex_id", "author_openalex_id_uniq"),
            _unique_when_set("orcid", "author_orcid_uniq"),
        ]
        indexes = [
            GinIndex(fields=["display_name"], opclasses=["gin_trgm_ops"], name="author_name_trgm"),
            GinIndex(fields=["name_variants"], name="author_variants_gin"),
        ]

    def __str__(self) -> str:
        return self.display_name


class AuthorTopic(models.Model):
    """How much of an author's work is on a topic (OpenAlex author.topics count)."""

    # authortopic_uniq (author, topic) serves lookups by author.
    author = models.ForeignKey(Author, on_delete=models.CASCADE, db_index=False)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["author", "topic"], name="authortopic_uniq")]

    def __str__(self) -> str:
        return f"{self.author_id} on {self.topic_id} ({self.count})"


class Work(Record):
    openalex_id = models.CharField(max_length=32, blank=True, default="")
    doi = models.CharField("DOI", max_length=255, blank=True, default="")
    arxiv_id = models.CharField("arXiv id", max_length=32, blank=True, default="")
    title = models.TextField()
    abstract = models.TextField(blank=True, default="")
    type = models.CharField(max_length=32, blank=True, default="", help_text="preprint, article, …")
    publication_year = models.PositiveSmallIntegerField(null=True, blank=True)
    publication_date = models.DateField(null=True, blank=True)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="works"
    )
    language = models.CharField(max_length=16, blank=True, default="")
    cited_by_count = models.PositiveIntegerField(default=0)
    topics: "models.ManyToManyField[Topic, WorkTopic]" = models.ManyToManyField(
        Topic, through="WorkTopic", related_name="works"
    )
    authors: "models.ManyToManyField[Author, Authorship]" = models.ManyToManyField(
        Author, through="Authorship", related_name="works"
    )

    class Meta:
        ordering = ["-publication_date", "-id"]
        constraints = [
            _unique_when_set("openalex_id", "work_openalex_id_uniq"),
            models.UniqueConstraint(Lower("doi"), condition=~Q(doi=""), name="work_doi_uniq"),
            _unique_when_set("arxiv_id", "work_arxiv_id_uniq"),
        ]
        indexes = [
            models.Index(
                models.F("publication_year").desc(nulls_last=True),
                models.F("id").desc(),
                name="work_year_idx",
            ),
            # The home page's "Recent works": the newest ten without sorting every work.
            models.Index(
                models.F("publication_date").desc(nulls_last=True),
                models.F("publication_year").desc(nulls_last=True),
                models.F("id").desc(),
                name="work_recent_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class WorkTopic(models.Model):
    # Both foreign keys are the first column of a two-column index below: a
    # one-column index of each would only add to every insert.
    work = models.ForeignKey(Work, on_delete=models.CASCADE, db_index=False)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, db_index=False)
    score = models.FloatField(default=0.0)
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["work", "topic"], name="worktopic_uniq")]
        indexes = [models.Index(fields=["topic", "work"], name="worktopic_topic_idx")]

    def __str__(self) -> str:
        return f"{self.work_id} on {self.topic_id}"


class Authorship(models.Model):
    """One author on one work, in published order, and who asserted it."""

    class Origin(models.TextChoices):
        OPENALEX = "openalex", "OpenAlex"
        ORCID = "orcid", "ORCID"
        PUBLISHER = "publisher", "Publisher metadata (BibTeX)"
        CLAIMANT = "claimant", "The researcher"
        SYNTHETIC = "synthetic", "Generated demo data"

    class Status(models.TextChoices):
        ASSERTED = "asserted", "Asserted by the source"
        CONFIRMED = "confirmed", "Confirmed by the researcher"
        DISPUTED = "disputed", "Disputed by the researcher"

    # Lookups by work or by author use the two-column indexes in Meta: one-column
    # indexes of these keys would cost every imported authorship two more
    # index insertions and serve no query.
    work = models.ForeignKey(
        Work, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    author = models.ForeignKey(
        Author, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    position = models.PositiveSmallIntegerField(help_text="0-based order on the work as published.")
    raw_author_name = models.CharField(max_length=500, blank=True, default="")
    is_corresponding = models.BooleanField(default=False)
    institutions = models.ManyToManyField(Institution, blank=True, related_name="authorships")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.OPENALEX)
    # A person's decision: imports never change these three fields or bring a
    # disputed authorship back onto the page.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ASSERTED)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # authorship_changed_by_idx indexes only the rows that have one
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["work", "position"]
        constraints = [
            models.UniqueConstraint(fields=["work", "author"], name="authorship_work_author_uniq"),
        ]
        indexes = [
            models.Index(fields=["author", "work"], name="authorship_author_idx"),
            models.Index(fields=["work", "position"], name="authorship_order_idx"),
            # A person's decisions are few: deleting a user finds theirs here.
            models.Index(
                fields=["status_changed_by"],
                condition=Q(status_changed_by__isnull=False),
                name="authorship_changed_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.raw_author_name or self.author_id} on {self.work_id}"
