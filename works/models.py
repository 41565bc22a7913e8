"""Bibliographic records: the public author record and what it is built from.

External ids are stored in their short canonical form (see works.identifiers):
OpenAlex "W123"/"A123"/..., ORCID "0000-0002-1825-0097", DOI "10.1000/xyz"
(lower case, no resolver prefix), arXiv "2201.12345", ROR "00gtcbp88".
Every external id is unique where present (a partial unique constraint, so
records without one coexist).
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, HashIndex
from django.db import models
from django.db.models import F, Func, Q, TextField, Value
from django.db.models.expressions import Combinable
from django.db.models.fields.json import KT
from django.db.models.functions import Lower


def folded(expression: Combinable) -> Func:
    """`expression` in lower case without accents, as researcher search compares names.

    works_fold() is IMMUTABLE (works migration 0007), so PostgreSQL can store it
    in a generated column (Author.name_folded, Author.variants_folded).
    """
    return Func(expression, function="works_fold", output_field=TextField())


def title_key(expression: Combinable) -> Func:
    """A title as works are matched by it (works.matching): folded, tags and
    punctuation gone, whitespace collapsed (works_title_key, works migration 0012)."""
    return Func(expression, function="works_title_key", output_field=TextField())


# The key under which Work.other_ids keeps the ORCID put-code of a work an
# ORCID import created (works.matching finds it again by it).
ORCID_PUT_CODE = "orcid_put_code"


def author_variants_text() -> Func:
    """An author's name variants joined by spaces (works migration 0002)."""
    return Func(F("name_variants"), function="works_author_variants_text", output_field=TextField())


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
    external_ids = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text='Other registries\' ids as the source gave them, by scheme: {"scopus": url}.',
    )
    # What researcher search compares (works.selectors.author_search), folded once
    # when a row is written: a search reads them rather than folding every
    # candidate's names again for each condition and rank that compares them.
    name_folded = models.GeneratedField(
        expression=folded(F("display_name")), output_field=TextField(), db_persist=True
    )
    variants_folded = models.GeneratedField(
        expression=folded(author_variants_text()), output_field=TextField(), db_persist=True
    )
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
            GinIndex(fields=["name_variants"], name="author_variants_gin"),
            # Researcher search (works.selectors.author_search).
            GinIndex(
                fields=["name_folded"], opclasses=["gin_trgm_ops"], name="author_name_fold_trgm"
            ),
            GinIndex(
                fields=["variants_folded"],
                opclasses=["gin_trgm_ops"],
                name="author_variants_fold_trgm",
            ),
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
    counts_by_year = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text='Citations received per year as the source counted them: {"2024": 12}.',
    )
    # OpenAlex ids ("W123") from OpenAlex, DOIs ("10.1000/xyz") from Crossref:
    # the two never mix in one work's list (Crossref fills only an empty one).
    referenced_works = ArrayField(
        models.CharField(max_length=255),
        default=list,
        db_default=Value([], ArrayField(models.CharField(max_length=255))),
        blank=True,
        help_text="The works this one cites: OpenAlex ids, or DOIs where Crossref gave them.",
    )
    referenced_works_count = models.PositiveIntegerField(default=0, db_default=0)
    is_retracted = models.BooleanField(default=False, db_default=False)
    is_oa = models.BooleanField("open access", default=False, db_default=False)
    oa_status = models.CharField(
        "open-access status",
        max_length=16,
        blank=True,
        default="",
        db_default="",
        help_text="diamond, gold, green, hybrid, bronze or closed.",
    )
    oa_url = models.CharField(
        "open-access URL", max_length=2000, blank=True, default="", db_default=""
    )
    pdf_url = models.CharField("PDF URL", max_length=2000, blank=True, default="", db_default="")
    license_url = models.CharField(
        "licence URL",
        max_length=2000,
        blank=True,
        default="",
        db_default="",
        help_text="The licence of the published version, where the publisher gave it.",
    )
    biblio = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text="volume, issue, first_page, last_page where known.",
    )
    other_ids = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text='Other ids of the work by scheme: {"pmid": "123"}.',
    )
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
            # "Cited by" on a work's page: the works whose references name it.
            GinIndex(fields=["referenced_works"], name="work_references_gin"),
            # works.matching: a work by its normalised title, and the works an
            # ORCID import created by their put-code (few: a partial index).
            # A hash index: it keeps 4 bytes a title, where a B-tree refused a
            # title whose key passed its 2,704-byte limit (the whole batch with it).
            HashIndex(title_key(F("title")), name="work_title_key_idx"),
            models.Index(
                KT(f"other_ids__{ORCID_PUT_CODE}"),
                condition=Q(other_ids__has_key=ORCID_PUT_CODE),
                name="work_orcid_put_code_idx",
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
        CROSSREF = "crossref", "Crossref"
        ARXIV = "arxiv", "arXiv"
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
    # The author's affiliations on this work as the source wrote them (Crossref).
    raw_affiliations = ArrayField(
        models.TextField(),
        default=list,
        db_default=Value([], ArrayField(models.TextField())),
        blank=True,
    )
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


class AuthorAffiliation(models.Model):
    """Where a researcher worked, and in which years: imported or the owner's own."""

    class Origin(models.TextChoices):
        OPENALEX = "openalex", "OpenAlex"
        ORCID = "orcid", "ORCID"
        CROSSREF = "crossref", "Crossref"
        ARXIV = "arxiv", "arXiv"
        OWNER = "owner", "The researcher"

    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="affiliations")
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # An owner may name a place no source knows.
    institution_name = models.CharField(max_length=500, blank=True, default="")
    years = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.OPENALEX)
    # The owner's decision about an imported line: imports never bring it back.
    hidden = models.BooleanField(default=False)
    # An owner's line that runs to the present: its years stop at the year it was
    # written, the page reads "2019 to present" in every later year too.
    until_present = models.BooleanField(default=False, db_default=False)
    # The line's own id at its source, where the source has one (ORCID:
    # "employment/<put-code>"): a re-import updates the line it wrote.
    source_key = models.CharField(max_length=64, blank=True, default="", db_default="")
    organization_ids = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text='The organisation\'s ids as the source gave them: {"ror": ..., "grid": ...}.',
    )

    class Meta:
        ordering = ["author", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "institution"],
                condition=Q(origin="openalex"),
                name="authoraffiliation_imported_uniq",
            ),
            models.UniqueConstraint(
                fields=["author", "origin", "source_key"],
                condition=~Q(source_key=""),
                name="authoraffiliation_source_key_uniq",
            ),
            models.CheckConstraint(
                condition=Q(institution__isnull=False) | ~Q(institution_name=""),
                name="authoraffiliation_names_a_place",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_id} at {self.institution_id or self.institution_name}"


class AuthorMetrics(models.Model):
    """A researcher's citation metrics, computed from the works on their page.

    Written by works.metrics whenever what counts changes (an import, an
    authorship confirmed or disputed, a merge), never per request: the page
    reads one row it joins to the author.
    """

    author = models.OneToOneField(
        Author, primary_key=True, on_delete=models.CASCADE, related_name="metrics"
    )
    works = models.PositiveIntegerField(default=0)
    citations = models.PositiveIntegerField(default=0)
    h_index = models.PositiveIntegerField(default=0)
    i10_index = models.PositiveIntegerField(default=0)
    # Google Scholar's "Since <year>" columns: citations received from this year on.
    since_year = models.PositiveSmallIntegerField()
    citations_since = models.PositiveIntegerField(default=0)
    h_index_since = models.PositiveIntegerField(default=0)
    i10_index_since = models.PositiveIntegerField(default=0)
    works_by_year = models.JSONField(default=dict, blank=True, help_text='{"2021": 3}')
    citations_by_year = models.JSONField(default=dict, blank=True, help_text='{"2021": 40}')
    computed_at = models.DateTimeField(help_text="When the numbers last changed.")

    def __str__(self) -> str:
        return f"metrics of {self.author_id}"
