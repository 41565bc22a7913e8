"""Reads over bibliographic records, shaped for the pages that show them."""

import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Page, Paginator
from django.db import OperationalError, connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Lookup,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Concat, Greatest, Lower, Replace
from django.db.models.lookups import Exact
from django.shortcuts import get_object_or_404

from bzpeer import paging
from works.models import (
    Author,
    Authorship,
    Institution,
    Topic,
    Work,
    WorkTopic,
    folded,
)


def author_list_featured(*, limit: int) -> list[Author]:
    """Real researchers first (most works), then generated ones to fill the list."""
    return list(
        Author.objects.filter(merged_into__isnull=True)
        .select_related("last_known_institution")
        .annotate(n_works=Count("authorships"))
        .order_by("is_synthetic", "-n_works", "display_name")[:limit]
    )


def work_list_recent(*, limit: int) -> list[Work]:
    ordered_authorships = (
        Authorship.objects.filter(status__in=_VISIBLE_AUTHORSHIP_STATUSES)
        .select_related("author")
        .order_by("position")
    )
    return list(
        Work.objects.select_related("source")
        .prefetch_related(Prefetch("authorships", queryset=ordered_authorships))
        # Newest first: by date, then by year for works known only by their year;
        # works with neither last (PostgreSQL puts NULLs first in a DESC order).
        .order_by(
            F("publication_date").desc(nulls_last=True),
            F("publication_year").desc(nulls_last=True),
            "-id",
        )[:limit]
    )


def record_counts() -> dict[str, int]:
    return {
        "authors": Author.objects.count(),
        "works": Work.objects.count(),
        "institutions": Institution.objects.count(),
        "topics": Topic.objects.count(),
    }


def work_get_for_page(*, work_id: int) -> Work:
    """A work with its authors in order, less those who said it is not theirs."""
    ordered_authorships = (
        Authorship.objects.filter(status__in=_VISIBLE_AUTHORSHIP_STATUSES)
        .select_related("author")
        .order_by("position")
    )
    return get_object_or_404(
        Work.objects.select_related("source").prefetch_related(
            Prefetch("authorships", queryset=ordered_authorships)
        ),
        pk=work_id,
    )


# A work page's "Cited by" and "References": the newest of them in the database.
WORK_LINKS_SHOWN = 20


@dataclass(frozen=True)
class WorkLinks:
    works: list[Work]  # the newest WORK_LINKS_SHOWN
    total: int  # how many are in the database

    @property
    def more(self) -> int:
        return self.total - len(self.works)


def _newest_with_total(works: QuerySet[Work], *, limit: int) -> WorkLinks:
    """The newest `limit` works and how many there are, in one query (a window count
    is taken before the LIMIT)."""
    rows: list[Work] = list(
        works.select_related("source")
        .only(
            "title",
            "publication_year",
            "publication_date",
            "cited_by_count",
            "is_retracted",
            "source__display_name",
        )
        .annotate(total=Window(Count("*")))
        .order_by(
            F("publication_year").desc(nulls_last=True),
            F("publication_date").desc(nulls_last=True),
            "-id",
        )[:limit]
    )
    total: int = getattr(rows[0], "total", 0) if rows else 0
    return WorkLinks(works=rows, total=total)


def work_cited_by(*, work: Work, limit: int = WORK_LINKS_SHOWN) -> WorkLinks:
    """Works in the database whose references name this one, by its OpenAlex id or
    its DOI (Crossref's references; the GIN index work_references_gin serves
    `referenced_works && ARRAY[ids]`). A work whose only authors disputed it is
    still a work that cites this one: it is listed."""
    names = [name for name in (work.openalex_id, work.doi.lower()) if name]
    if not names:
        return WorkLinks(works=[], total=0)
    return _newest_with_total(
        Work.objects.filter(referenced_works__overlap=names).exclude(pk=work.pk),
        limit=limit,
    )


def work_references(*, work: Work, limit: int = WORK_LINKS_SHOWN) -> WorkLinks:
    """The works this one cites that are in the database (by OpenAlex id or DOI)."""
    if not work.referenced_works:
        return WorkLinks(works=[], total=0)
    return _newest_with_total(
        Work.objects.alias(doi_lower=Lower("doi"))
        # "doi <> ''" is the DOI index's own condition (work_doi_uniq): said here, so
        # PostgreSQL may use it rather than read every work.
        .filter(
            Q(openalex_id__in=work.referenced_works)
            | (Q(doi_lower__in=work.referenced_works) & ~Q(doi=""))
        )
        .exclude(pk=work.pk),
        limit=limit,
    )


def work_authors_attach(works: list[Work]) -> list[Work]:
    """Sets `ordered_authors` on each work: its visible authors' names in published order.

    One query for any number of works (an export of 5,000 works reads its
    authors together), and no model instances: the exports need only the names.
    """
    names: dict[int, list[str]] = {work.pk: [] for work in works}
    rows = (
        Authorship.objects.filter(work_id__in=list(names), status__in=_VISIBLE_AUTHORSHIP_STATUSES)
        .order_by("work_id", "position")
        .values_list("work_id", "author__display_name")
    )
    for work_id, name in rows:
        names[work_id].append(name)
    for work in works:
        work.ordered_authors = names[work.pk]  # type: ignore[attr-defined]
    return works


def work_get_for_export(*, work_id: int) -> Work:
    """A work with `ordered_authors` set, from the authors work_get_for_page prefetches."""
    work = work_get_for_page(work_id=work_id)
    work.ordered_authors = [a.author.display_name for a in work.authorships.all()]  # type: ignore[attr-defined]
    return work


# Researcher search, topic and institution pages.

# Authorships a researcher disputed are not their work: they never count or show.
_VISIBLE_AUTHORSHIP_STATUSES = [
    status for status in Authorship.Status.values if status != Authorship.Status.DISPUTED
]

# A word of a query: letters and digits of any script ("Müller", "王小明"); a
# hyphen, a full stop or an apostrophe separates words as it does for pg_trgm.
_QUERY_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class AuthorQuery:
    """A researcher search, bounded so that no query costs much more than a real name.

    The cost of a search grows with the number of rows its trigram conditions
    pick times the length of the text each row is compared with: 100 copies of
    "a" picked 4,000 of 30,000 authors and compared each with 200 characters
    (0.5-0.8 s). A name has a handful of words, so only the first `max_words`
    are kept, each once. A one-letter word (an initial: "J. R. R. Tolkien",
    "Nguyen Van A") narrows the trigram match of longer words and ranks by
    prefix, but initials alone pick rows only by prefix ("J. R." finds
    "J. R. Smith"): their trigrams start half the names in the table. A
    one-character word of a script without letter case (Chinese, Japanese,
    Korean: "李") is a whole name part, not an initial.
    """

    text: str  # the query as typed, up to its last kept word: exact and prefix matches
    match: str  # the kept words, each once, when one is more than an initial: trigram matches
    words: tuple[str, ...]  # the kept words, lowercased, each once: ranks by prefix
    dropped: tuple[str, ...]  # the words past the limit, as typed


def _is_initial(word: str) -> bool:
    return len(word) == 1 and unicodedata.category(word) != "Lo"


def author_query_parse(query: str, *, max_words: int) -> AuthorQuery:
    found = list(_QUERY_WORD.finditer(query))
    kept, dropped = found[:max_words], found[max_words:]
    text = query[: kept[-1].end()] if dropped else query
    words = list(dict.fromkeys(m.group().lower() for m in kept))
    return AuthorQuery(
        text=text,
        match=" ".join(words) if not all(_is_initial(word) for word in words) else "",
        words=tuple(words),
        dropped=tuple(m.group() for m in dropped),
    )


class _Like(Lookup):
    """`lhs LIKE rhs`, which a trigram index serves (Django's startswith is LIKE rhs || '%')."""

    lookup_name = "like"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", [*lhs_params, *rhs_params]


def _prefix_tsquery(words: tuple[str, ...]) -> SearchQuery | None:
    """Every word of the query, folded, as a prefix: "hat žh" -> 'hat':* & 'zh':*.

    Each word is folded by PostgreSQL (as the names are) and then quoted: unaccent
    turns a few letters into tsquery syntax ("½" -> " 1/2", U+02BC -> "'").
    """
    query: SearchQuery | None = None
    for word in words:
        quoted = Concat(
            Value("'"),
            Replace(folded(Value(word)), Value("'"), Value("''"), output_field=TextField()),
            Value("':*"),
            output_field=TextField(),
        )
        part = SearchQuery(quoted, search_type="raw", config="simple")
        query = part if query is None else query & part
    return query


def _word_similarity(query: Func, text: F) -> Func:
    # TrigramWordSimilarity takes the query as a plain string; here it is folded in SQL.
    return Func(query, text, function="word_similarity", output_field=FloatField())


def _visible_works_count() -> Coalesce:
    works = (
        Authorship.objects.filter(author=OuterRef("pk"), status__in=_VISIBLE_AUTHORSHIP_STATUSES)
        .order_by()
        .values("author")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(works, output_field=IntegerField()), 0)


def author_search(*, query: AuthorQuery) -> QuerySet[Author]:
    """Researchers whose name or a name variant matches `query`, best match first.

    Names and query are compared folded (lower case, accents removed: works_fold),
    so "kovacevic" finds "Kovačević" and "PESIC" finds "Pešić". The names are
    folded when a row is written (Author.name_folded, Author.variants_folded): a
    search folds only the query. Which rows match is decided only by conditions
    the trigram indexes on the folded names answer (author_name_fold_trgm,
    author_variants_fold_trgm), so PostgreSQL reads a BitmapOr of index scans and
    never the whole table: word similarity (pg_trgm's `%>`, threshold
    pg_trgm.word_similarity_threshold, 0.6 by default) tolerates typos ("hatie
    zhou") and word order; LIKE 'q%' keeps every name that starts with the query
    however short it is ("h." for "H. Zhou"). Full-text search over the
    name and its variants then ranks the candidates: an exact name first, then
    names where every query word starts a word, then by similarity. Real records
    come before generated ones on ties.
    """
    name = F("name_folded")
    variants = F("variants_folded")
    text = query.text
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    matches = Q(_Like(name, folded(Value(f"{escaped}%"))))
    score: Any = Value(0.0)
    if query.match:
        match = folded(Value(query.match))
        matches |= TrigramWordSimilar(name, match) | TrigramWordSimilar(variants, match)
        score = Greatest(_word_similarity(match, name), _word_similarity(match, variants))
    tiers = [When(Exact(name, folded(Value(text))), then=Value(0))]
    tsquery = _prefix_tsquery(query.words)
    if tsquery is not None:
        tiers.append(When(_vector=tsquery, then=Value(1)))
    return (
        Author.objects.filter(matches, merged_into__isnull=True)
        .select_related("last_known_institution")
        .alias(_vector=SearchVector(name, variants, config="simple"))
        .annotate(
            match_tier=Case(*tiers, default=Value(2)),
            match_score=score,
            n_works=_visible_works_count(),
        )
        .order_by(
            "match_tier", "-match_score", "is_synthetic", "-works_count", "display_name", "id"
        )
    )


class SearchTooSlow(Exception):
    """A search ran past its statement timeout and was cancelled."""


# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout.
_QUERY_CANCELED = "57014"


def author_search_page(
    *, query: AuthorQuery, number: str | None, per_page: int, timeout_ms: int
) -> tuple[Page, str]:
    """One page of author_search (its count and rows read now), and the note that says
    when it is not the page asked for (bzpeer.paging); each statement cut off
    after `timeout_ms`: a search that still costs too much fails alone, and quickly,
    rather than holding a connection while every other page waits for one.

    The rows of the page asked for carry the number of matches (a window count),
    so a search is one statement that finds and ranks the candidates once; only a
    page past the last needs the count first, then reads the last page.

    Raises SearchTooSlow when PostgreSQL cancels a statement.
    """
    matches = author_search(query=query)
    paginator = Paginator(matches, per_page)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # No parallel workers: a search ranks a bounded set of candidates,
                # and starting a worker for it cost more than it saved on a busy
                # server (the "Kovačević" page: 34 ms with one, 24 without).
                cursor.execute(
                    f"SET LOCAL statement_timeout = {int(timeout_ms)};"
                    " SET LOCAL max_parallel_workers_per_gather = 0"
                )
            # The page asked for, as if it existed (page_with_note settles that).
            asked = paging.page_choice(number, num_pages=sys.maxsize).number
            bottom = (asked - 1) * per_page
            counted = matches.annotate(matches_total=Window(Count("*")))
            rows = list(counted[bottom : bottom + per_page])
            known = bool(rows) or asked == 1
            if known:
                # Paginator.count is a cached property: the window count fills it.
                paginator.count = rows[0].matches_total if rows else 0  # type: ignore[attr-defined]
            page, note = paging.page_with_note(paginator, number)
            page.object_list = rows if known else list(page.object_list)
            # It only read: rolling back ends the timeout with the search, inside
            # a caller's transaction too (a savepoint), where a commit would not.
            transaction.set_rollback(True)
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == _QUERY_CANCELED:
            raise SearchTooSlow from error
        raise
    return page, note


def topic_get_for_page(*, topic_id: int) -> Topic:
    return get_object_or_404(Topic, pk=topic_id)


def topic_researchers(*, topic: Topic, limit: int) -> tuple[list[Author], int]:
    """The researchers with the most works on `topic` (as `n_topic_works`), and how many there are.

    Counted from the works in the database rather than AuthorTopic, so the
    number beside each name is the number of works the topic page can show.
    """
    works_on_topic = WorkTopic.objects.filter(topic=topic).values("work_id")
    researchers: list[Author] = list(
        Author.objects.filter(
            merged_into__isnull=True,
            authorships__work_id__in=works_on_topic,
            authorships__status__in=_VISIBLE_AUTHORSHIP_STATUSES,
        )
        .select_related("last_known_institution")
        .annotate(n_topic_works=Count("authorships"))
        .order_by("-n_topic_works", "is_synthetic", "display_name", "id")[:limit]
    )
    total = (
        Authorship.objects.filter(
            work_id__in=works_on_topic,
            status__in=_VISIBLE_AUTHORSHIP_STATUSES,
            author__merged_into__isnull=True,
        )
        .values("author_id")
        .distinct()
        .count()
    )
    return researchers, total


def topic_works(*, topic: Topic) -> QuerySet[Work]:
    """Works on `topic`, newest first, with their (undisputed) authors in order."""
    ordered_authorships = (
        Authorship.objects.filter(status__in=_VISIBLE_AUTHORSHIP_STATUSES)
        .select_related("author")
        .order_by("position")
    )
    return (
        Work.objects.filter(worktopic__topic=topic)
        .select_related("source")
        .prefetch_related(Prefetch("authorships", queryset=ordered_authorships))
        .order_by(
            F("publication_year").desc(nulls_last=True),
            F("publication_date").desc(nulls_last=True),
            "-id",
        )
    )


def institution_get_for_page(*, institution_id: int) -> Institution:
    return get_object_or_404(Institution, pk=institution_id)


def institution_researchers(*, institution: Institution) -> QuerySet[Author]:
    """Researchers at `institution`: current ones first, real before generated, then the
    most prolific (by OpenAlex's works_count), with `n_works` counted for each.

    Two sources, both shown: authors whose last known institution it is (they
    are there now, `is_current`), and authors with an undisputed authorship
    listing it (they published from there at some point). A page that listed
    only the first would miss everyone whose affiliation was never imported as
    "last known", which is most authors of older works.
    """
    # A UNION of two index lookups, rather than `last_known = x OR id IN (...)`,
    # which PostgreSQL can only answer by reading every author.
    here_now = Author.objects.filter(last_known_institution=institution).order_by().values("pk")
    published_here = (
        Authorship.institutions.through.objects.filter(
            institution=institution,
            authorship__status__in=_VISIBLE_AUTHORSHIP_STATUSES,
        )
        .order_by()
        .values("authorship__author_id")
    )
    return (
        Author.objects.filter(pk__in=here_now.union(published_here), merged_into__isnull=True)
        .annotate(
            is_current=Q(last_known_institution=institution),
            n_works=_visible_works_count(),
        )
        # Ordered by the stored OpenAlex works_count, not n_works: sorting on the
        # counted works would count them for every researcher there, not just
        # for the page shown (50 ms for 2,000 researchers).
        .order_by("-is_current", "is_synthetic", "-works_count", "display_name", "id")
    )
