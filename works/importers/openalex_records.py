"""Validate one OpenAlex entity (a decoded JSON object) into typed rows.

Everything a record says is checked here, before anything is written: a record
that fails raises RecordError with a reason a person can act on, and the
importer skips it whole. Smaller flaws that do not make the record wrong (an
ORCID with a bad check digit, a malformed DOI) drop that one value and are
reported as notes.

Limits follow the database columns; text columns without one get a sanity
bound so that a corrupt record cannot make the import hold megabytes per row.
"""

import dataclasses
import math
import re
from dataclasses import dataclass
from datetime import date
from itertools import repeat
from operator import itemgetter
from typing import Any

from works import email_domains, identifiers

MAX_TITLE = 10_000
MAX_ABSTRACT = 100_000
MAX_DESCRIPTION = 100_000
MAX_NAME = 500
MAX_AUTHORSHIPS = 32_767  # Authorship.position is a smallint
MAX_ITEMS = 10_000
MAX_INT = 2**31 - 1
MAX_BIBLIO = 64
MAX_URL = 2_000
_BIBLIO_KEYS = ("volume", "issue", "first_page", "last_page")

KIND_BY_PREFIX = {"W": "work", "A": "author", "I": "institution", "T": "topic", "S": "source"}

_SURROGATES = re.compile(r"[\ud800-\udfff]")


class RecordError(ValueError):
    """The record cannot be imported; the message says why."""


def _reduce(row: Any) -> tuple[type, tuple[Any, ...]]:
    """Pickle a row as its class and field values: rebuilding it is then one
    constructor call, where the default for slotted dataclasses runs a Python
    __setstate__ per object (files are parsed in a child process, and the
    writing process unpickles some twenty rows per work)."""
    return type(row), tuple(map(row.__getattribute__, row.__slots__))


@dataclass(slots=True)
class SourceRow:
    __reduce__ = _reduce

    openalex_id: str
    display_name: str
    type: str
    issn_l: str
    host_organization_name: str


@dataclass(slots=True)
class InstitutionRow:
    __reduce__ = _reduce

    openalex_id: str
    ror: str
    display_name: str
    country_code: str
    type: str
    email_domains: list[str] = dataclasses.field(default_factory=list)


@dataclass(slots=True)
class TopicRow:
    __reduce__ = _reduce

    openalex_id: str
    display_name: str
    subfield: str
    field: str
    domain: str
    description: str = ""
    keywords: list[str] = dataclasses.field(default_factory=list)


@dataclass(slots=True)
class AuthorTopicRow:
    __reduce__ = _reduce

    topic: TopicRow
    count: int


@dataclass(slots=True)
class AuthorRow:
    __reduce__ = _reduce

    openalex_id: str
    display_name: str
    orcid: str
    name_variants: list[str] = dataclasses.field(default_factory=list)
    works_count: int = 0
    cited_by_count: int = 0
    last_known_institution: InstitutionRow | None = None
    topics: list[AuthorTopicRow] = dataclasses.field(default_factory=list)
    external_ids: dict[str, str] = dataclasses.field(default_factory=dict)
    affiliations: list["AffiliationRow"] = dataclasses.field(default_factory=list)


@dataclass(slots=True)
class AffiliationRow:
    __reduce__ = _reduce

    institution: InstitutionRow
    years: list[int]


@dataclass(slots=True)
class AuthorshipRow:
    __reduce__ = _reduce

    author: AuthorRow
    position: int
    raw_author_name: str
    is_corresponding: bool
    institutions: list[InstitutionRow]


@dataclass(slots=True)
class WorkTopicRow:
    __reduce__ = _reduce

    topic: TopicRow
    score: float
    is_primary: bool


@dataclass(slots=True)
class WorkRow:
    __reduce__ = _reduce

    openalex_id: str
    doi: str
    arxiv_id: str
    title: str
    abstract: str
    type: str
    publication_year: int | None
    publication_date: str | None
    language: str
    cited_by_count: int
    source: SourceRow | None
    authorships: list[AuthorshipRow]
    counts_by_year: dict[str, int]
    referenced_works: list[str]
    referenced_works_count: int
    is_retracted: bool
    is_oa: bool
    oa_status: str
    oa_url: str
    pdf_url: str
    biblio: dict[str, str]
    other_ids: dict[str, str]
    topics: list[WorkTopicRow]
    # Named by the record only on an authorship that is not kept (a duplicate
    # listing, an author without id): still institutions the record brings,
    # so they are imported, but linked to no one.
    unlinked_institutions: list[InstitutionRow]
    # The full-text document of title and abstract (tsvector text), when the
    # importer had PostgreSQL compute it ahead of the write; None: the
    # database computes it as the row is written (works migration 0012).
    search_document: str | None = None


Record = WorkRow | AuthorRow | InstitutionRow | TopicRow | SourceRow


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _storable(text: str) -> str:
    """Text PostgreSQL accepts: text and jsonb refuse NUL, and lone surrogates
    (which json.loads lets through) cannot be encoded."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            text = _SURROGATES.sub("", text)
    return text.strip()


class _Fields:
    """Typed access to one JSON object; errors name the field by its path.

    The path is spelled out only for an error: a work has dozens of nested
    objects, and formatting each one's path up front cost more than checking it.
    """

    __slots__ = ("_index", "_key", "_parent", "data")

    def __init__(
        self,
        data: dict[str, Any],
        parent: "_Fields | None" = None,
        key: str = "",
        index: int | None = None,
    ) -> None:
        self.data = data
        self._parent = parent
        self._key = key
        self._index = index

    @property
    def path(self) -> str:
        if self._parent is None:
            return ""
        name = self._parent.name(self._key)
        return f"{name}." if self._index is None else f"{name}[{self._index}]."

    def name(self, key: str) -> str:
        return f"{self.path}{key}"

    def text(self, key: str, *, max_len: int) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        if value.__class__ is not str:
            raise RecordError(f"{self.name(key)} must be a string, got {_kind(value)}")
        if len(value) > max_len:
            raise RecordError(f"{self.name(key)} longer than {max_len:,} characters")
        # Most text is plain ASCII without NULs: nothing for _storable to remove.
        if value.isascii() and "\x00" not in value:
            return value.strip()
        return _storable(value)

    def integer(self, key: str, *, maximum: int = MAX_INT) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(f"{self.name(key)} must be an integer, got {_kind(value)}")
        if not 0 <= value <= maximum:
            raise RecordError(f"{self.name(key)} out of range (0 to {maximum:,}): {value}")
        return value

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if value is None:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordError(f"{self.name(key)} must be a number, got {_kind(value)}")
        # NaN and infinities (which json reads) cannot be stored, and an integer
        # beyond a float's range cannot even be converted.
        number = float(value) if value.__class__ is float or abs(value) < 2**1023 else math.inf
        if not math.isfinite(number):
            raise RecordError(f"{self.name(key)} must be a finite number")
        return number

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise RecordError(f"{self.name(key)} must be true or false, got {_kind(value)}")
        return value

    def child(self, key: str) -> "_Fields | None":
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise RecordError(f"{self.name(key)} must be an object, got {_kind(value)}")
        return _Fields(value, self, key)

    def children(self, key: str, *, max_items: int = MAX_ITEMS) -> list["_Fields | None"]:
        """The objects of a list; null items come back as None."""
        items = self.items(key, max_items=max_items)
        out: list[_Fields | None] = []
        for index, item in enumerate(items):
            if item is not None and not isinstance(item, dict):
                raise RecordError(f"{self.name(key)}[{index}] must be an object, got {_kind(item)}")
            out.append(None if item is None else _Fields(item, self, key, index))
        return out

    def strings(self, key: str, *, max_len: int) -> list[str]:
        out: list[str] = []
        for index, item in enumerate(self.items(key, max_items=MAX_ITEMS)):
            if item is None:
                continue
            if not isinstance(item, str):
                raise RecordError(f"{self.name(key)}[{index}] must be a string, got {_kind(item)}")
            if len(item) > max_len:
                raise RecordError(f"{self.name(key)}[{index}] longer than {max_len:,} characters")
            text = _storable(item)
            if text and text not in out:
                out.append(text)
        return out

    def items(self, key: str, *, max_items: int) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise RecordError(f"{self.name(key)} must be a list, got {_kind(value)}")
        if len(value) > max_items:
            raise RecordError(f"{self.name(key)} has more than {max_items:,} items")
        return value

    def entity_id(self, prefix: str) -> str:
        """The object's OpenAlex id, "" when absent; it must be of the expected kind."""
        raw = self.text("id", max_len=MAX_NAME)
        try:
            value = identifiers.openalex_id(raw)
        except ValueError:
            raise RecordError(f"{self.name('id')} is not an OpenAlex id: {raw!r}") from None
        if value and value[0] != prefix:
            kind = KIND_BY_PREFIX[prefix]
            article = "an" if kind[0] in "aeiou" else "a"
            raise RecordError(f"{self.name('id')} should be {article} {kind} id: {value}")
        if len(value) > 32:
            raise RecordError(f"{self.name('id')} longer than 32 characters")
        return value

    def display_name_of(self, key: str) -> str:
        """The display_name of a nested object such as a topic's subfield."""
        nested = self.child(key)
        return nested.text("display_name", max_len=255) if nested else ""


# Validated values of the nested objects that recur across records (one
# institution on thousands of authorships, an author on all their works), by
# the raw values they were validated from. The checks are pure functions of
# those values, so a repeat skips them and replays the notes they gave. Only
# objects that passed are remembered, so every value in a key is a string or
# null; a key holding a list or an object cannot be hashed and is checked anew.
_MEMO_LIMIT = 100_000
_AUTHOR_KEYS = ("id", "display_name", "orcid")
_INSTITUTION_KEYS = ("id", "ror", "display_name", "country_code", "type")
_authors_seen: dict[tuple[Any, ...], tuple[str, str, str, tuple[str, ...]]] = {}
_institutions_seen: dict[tuple[Any, ...], tuple[str, str, str, str, str, tuple[str, ...]]] = {}


def _recall(memo: dict[tuple[Any, ...], Any], key: tuple[Any, ...]) -> Any:
    try:
        return memo.get(key)
    except TypeError:  # unhashable: a list or an object where text belongs
        return None


def _remember(memo: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def entity_kind(value: object) -> str:
    """The kind of entity ("work", "author", ...) by its id prefix; RecordError if unusable."""
    if not isinstance(value, dict):
        raise RecordError(f"not a JSON object but {_kind(value)}")
    raw = value.get("id")
    if raw is not None and not isinstance(raw, str):
        raise RecordError(f"id must be a string, got {_kind(raw)}")
    text = (raw or "")[:MAX_NAME]
    try:
        openalex_id = identifiers.openalex_id(text)
    except ValueError:
        raise RecordError(f"id is not an OpenAlex id: {text[:100]!r}") from None
    if not openalex_id:
        raise RecordError("record has no id")
    kind = KIND_BY_PREFIX.get(openalex_id[0])
    if kind is None:
        raise RecordError(
            f"unknown entity type {openalex_id[0]!r} ({openalex_id}): only works (W), "
            "authors (A), institutions (I), topics (T) and sources (S) are imported"
        )
    return kind


def parse_entity(value: object, notes: list[str]) -> Record:
    """The rows one OpenAlex entity brings; flaws that only drop a value go to notes."""
    kind = entity_kind(value)
    assert isinstance(value, dict)
    fields = _Fields(value)
    if kind == "work":
        return _work(fields, notes)
    if kind == "author":
        return _author_entity(fields, notes)
    if kind == "institution":
        return _institution(fields, "I", notes, with_domains=True)
    if kind == "topic":
        return _topic(fields, with_details=True)
    return _source(fields)


def _identifier(normalise: Any, raw: str, what: str, notes: list[str]) -> str:
    try:
        value: str = normalise(raw)
    except ValueError:
        notes.append(f"{what} {raw!r} is malformed; imported without it")
        return ""
    return value


def _source(fields: _Fields) -> SourceRow:
    return SourceRow(
        openalex_id=fields.entity_id("S"),
        display_name=fields.text("display_name", max_len=MAX_NAME),
        type=fields.text("type", max_len=32),
        issn_l=fields.text("issn_l", max_len=9),
        host_organization_name=fields.text("host_organization_name", max_len=MAX_NAME),
    )


def _institution(
    fields: _Fields, prefix: str, notes: list[str], *, with_domains: bool = False
) -> InstitutionRow:
    if with_domains:
        row = _institution_values(fields, prefix, notes)
        # A default staff can extend; never a webmail or shared host (works.email_domains).
        row.email_domains = email_domains.from_homepage(fields.text("homepage_url", max_len=2_000))
        return row
    key = (prefix, *map(fields.data.get, _INSTITUTION_KEYS))
    known = _recall(_institutions_seen, key)
    if known is None:
        first_note = len(notes)
        row = _institution_values(fields, prefix, notes)
        known = (
            row.openalex_id,
            row.ror,
            row.display_name,
            row.country_code,
            row.type,
            tuple(notes[first_note:]),
        )
        _remember(_institutions_seen, key, known)
        return row
    notes += known[5]
    return InstitutionRow(known[0], known[1], known[2], known[3], known[4])


def _institution_values(fields: _Fields, prefix: str, notes: list[str]) -> InstitutionRow:
    openalex_id = fields.entity_id(prefix)
    country_code = fields.text("country_code", max_len=2).upper()
    return InstitutionRow(
        openalex_id=openalex_id,
        ror=_identifier(
            identifiers.ror, fields.text("ror", max_len=MAX_NAME), f"ROR id of {openalex_id}", notes
        ),
        display_name=fields.text("display_name", max_len=MAX_NAME),
        country_code=country_code if country_code.isalpha() else "",
        type=fields.text("type", max_len=32),
    )


def _topic(fields: _Fields, *, with_details: bool = False) -> TopicRow:
    return TopicRow(
        openalex_id=fields.entity_id("T"),
        display_name=fields.text("display_name", max_len=MAX_NAME),
        subfield=fields.display_name_of("subfield"),
        field=fields.display_name_of("field"),
        domain=fields.display_name_of("domain"),
        description=fields.text("description", max_len=MAX_DESCRIPTION) if with_details else "",
        keywords=fields.strings("keywords", max_len=255) if with_details else [],
    )


def _author(fields: _Fields, notes: list[str]) -> AuthorRow:
    key = tuple(map(fields.data.get, _AUTHOR_KEYS))
    known = _recall(_authors_seen, key)
    if known is None:
        first_note = len(notes)
        openalex_id = fields.entity_id("A")
        raw_orcid = fields.text("orcid", max_len=MAX_NAME)
        known = (
            openalex_id,
            fields.text("display_name", max_len=MAX_NAME),
            _identifier(identifiers.orcid, raw_orcid, f"ORCID of {openalex_id}", notes),
            tuple(notes[first_note:]),
        )
        _remember(_authors_seen, key, known)
    else:
        notes += known[3]
    return AuthorRow(openalex_id=known[0], display_name=known[1], orcid=known[2])


def _author_entity(fields: _Fields, notes: list[str]) -> AuthorRow:
    author = _author(fields, notes)
    author.name_variants = fields.strings("display_name_alternatives", max_len=MAX_NAME)
    author.works_count = fields.integer("works_count") or 0
    author.cited_by_count = fields.integer("cited_by_count") or 0
    # Newer API responses list several last known institutions, older ones one.
    candidates = [c for c in fields.children("last_known_institutions") if c is not None]
    single = fields.child("last_known_institution")
    for candidate in [*candidates, *([single] if single else [])]:
        institution = _institution(candidate, "I", notes)
        if institution.openalex_id:
            author.last_known_institution = institution
            break
    seen: set[str] = set()
    for item in fields.children("topics"):
        if item is None:
            continue
        topic = _topic(item)
        if topic.openalex_id and topic.openalex_id not in seen:
            seen.add(topic.openalex_id)
            author.topics.append(AuthorTopicRow(topic=topic, count=item.integer("count") or 0))
    author.external_ids = _external_ids(fields, exclude={"openalex", "orcid"})
    places: set[str] = set()
    for item in fields.children("affiliations"):
        place = item.child("institution") if item else None
        if item is None or place is None:
            continue
        institution = _institution(place, "I", notes)
        if institution.openalex_id and institution.openalex_id not in places:
            places.add(institution.openalex_id)
            years = _years(item, "years")
            author.affiliations.append(AffiliationRow(institution=institution, years=years))
    return author


def _years(fields: _Fields, key: str) -> list[int]:
    years: set[int] = set()
    for index, value in enumerate(fields.items(key, max_items=MAX_ITEMS)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 9999:
            raise RecordError(f"{fields.name(key)}[{index}] is not a year: {str(value)[:20]!r}")
        years.add(value)
    return sorted(years)


def _external_ids(fields: _Fields, *, exclude: set[str]) -> dict[str, str]:
    """The record's `ids` object but for the ids kept in columns of their own."""
    ids = fields.child("ids")
    if ids is None:
        return {}
    out: dict[str, str] = {}
    for scheme in ids.data:
        if scheme in exclude or len(scheme) > 32:
            continue
        value = ids.data[scheme]
        # mag ids come as numbers; anything else but text is not an id.
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip() and len(value) <= MAX_NAME:
            out[scheme] = _storable(value)
    return out


def _abstract(fields: _Fields) -> str:
    index = fields.child("abstract_inverted_index")
    if index is None:
        return ""
    placed: list[tuple[int, str]] = []
    length = 0
    for word, positions in index.data.items():
        if not isinstance(positions, list):
            raise RecordError(
                f"abstract_inverted_index[{word[:50]!r}] must be a list, got {_kind(positions)}"
            )
        length += (len(word) + 1) * len(positions)
        if length > MAX_ABSTRACT:
            raise RecordError(f"abstract longer than {MAX_ABSTRACT:,} characters")
        placed += zip(positions, repeat(word))
    # Checked in bulk, after the fact: abstracts hold thousands of positions.
    if set(map(type, map(itemgetter(0), placed))) - {int}:
        raise RecordError("abstract_inverted_index holds something other than word positions")
    placed.sort()
    if placed and placed[0][0] < 0:
        raise RecordError("abstract_inverted_index holds a negative word position")
    return _storable(" ".join(map(itemgetter(1), placed)))


def _arxiv_id(work_doi: str, fields: _Fields) -> str:
    if work_doi.startswith("10.48550/arxiv."):
        try:
            return identifiers.arxiv_id(work_doi)
        except ValueError:
            pass
    locations = [fields.child("primary_location"), *fields.children("locations")]
    for location in locations:
        if location is None:
            continue
        for key in ("landing_page_url", "pdf_url"):
            url = location.text(key, max_len=2_000)
            if "arxiv.org/" in url.lower():
                try:
                    return identifiers.arxiv_id(url)
                except ValueError:
                    continue
    return ""


def _publication_date(fields: _Fields) -> str | None:
    raw = fields.text("publication_date", max_len=32)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise RecordError(f"publication_date is not a date: {raw!r}") from None


def _authorships(
    fields: _Fields, notes: list[str]
) -> tuple[list[AuthorshipRow], list[InstitutionRow]]:
    """The usable authorships, and the institutions named only on unusable ones."""
    authorships: list[AuthorshipRow] = []
    unlinked: list[InstitutionRow] = []
    seen: set[str] = set()
    # position is the index in the published list, even where an entry is unusable.
    for position, item in enumerate(fields.children("authorships", max_items=MAX_AUTHORSHIPS)):
        if item is None:
            continue
        author_fields = item.child("author")
        author = _author(author_fields, notes) if author_fields else None
        raw_author_name = item.text("raw_author_name", max_len=MAX_NAME)
        is_corresponding = item.flag("is_corresponding")
        institutions: list[InstitutionRow] = []
        for institution_fields in item.children("institutions"):
            if institution_fields is None:
                continue
            institution = _institution(institution_fields, "I", notes)
            if institution.openalex_id and institution.openalex_id not in {
                i.openalex_id for i in institutions
            }:
                institutions.append(institution)
        # OpenAlex sometimes lists one author twice on a work: the first entry stands.
        if author is None or not author.openalex_id or author.openalex_id in seen:
            unlinked += institutions
            continue
        seen.add(author.openalex_id)
        author.display_name = author.display_name or raw_author_name
        authorships.append(
            AuthorshipRow(
                author=author,
                position=position,
                raw_author_name=raw_author_name,
                is_corresponding=is_corresponding,
                institutions=institutions,
            )
        )
    return authorships, unlinked


def _work_topics(fields: _Fields) -> list[WorkTopicRow]:
    primary_fields = fields.child("primary_topic")
    primary = _topic(primary_fields) if primary_fields else None
    topics: list[WorkTopicRow] = []
    for item in fields.children("topics"):
        if item is None:
            continue
        topic = _topic(item)
        if topic.openalex_id and topic.openalex_id not in {t.topic.openalex_id for t in topics}:
            is_primary = primary is not None and topic.openalex_id == primary.openalex_id
            topics.append(
                WorkTopicRow(topic=topic, score=item.number("score"), is_primary=is_primary)
            )
    if primary and primary.openalex_id and not any(t.is_primary for t in topics):
        assert primary_fields is not None
        topics.append(
            WorkTopicRow(topic=primary, score=primary_fields.number("score"), is_primary=True)
        )
    return topics


def _work(fields: _Fields, notes: list[str]) -> WorkRow:
    openalex_id = fields.entity_id("W")
    work_doi = _identifier(identifiers.doi, fields.text("doi", max_len=MAX_NAME), "DOI", notes)
    if len(work_doi) > 255:
        notes.append("DOI longer than 255 characters; imported without it")
        work_doi = ""
    primary_location = fields.child("primary_location")
    source_fields = primary_location.child("source") if primary_location else None
    source = _source(source_fields) if source_fields else None
    authorships, unlinked_institutions = _authorships(fields, notes)
    open_access = fields.child("open_access")
    best = fields.child("best_oa_location")
    biblio = fields.child("biblio")
    return WorkRow(
        openalex_id=openalex_id,
        doi=work_doi,
        arxiv_id=_arxiv_id(work_doi, fields),
        title=(
            fields.text("title", max_len=MAX_TITLE)
            or fields.text("display_name", max_len=MAX_TITLE)
        ),
        abstract=_abstract(fields),
        type=fields.text("type", max_len=32),
        publication_year=fields.integer("publication_year", maximum=32_767),
        publication_date=_publication_date(fields),
        language=fields.text("language", max_len=16),
        cited_by_count=fields.integer("cited_by_count") or 0,
        source=source if source and source.openalex_id else None,
        authorships=authorships,
        topics=_work_topics(fields),
        unlinked_institutions=unlinked_institutions,
        counts_by_year=_counts_by_year(fields),
        referenced_works=_referenced_works(fields),
        referenced_works_count=fields.integer("referenced_works_count") or 0,
        is_retracted=fields.flag("is_retracted"),
        is_oa=open_access.flag("is_oa") if open_access else False,
        oa_status=open_access.text("oa_status", max_len=16) if open_access else "",
        oa_url=_url(open_access, "oa_url"),
        pdf_url=_url(best, "pdf_url"),
        biblio={
            key: value
            for key in _BIBLIO_KEYS
            if biblio and (value := biblio.text(key, max_len=MAX_BIBLIO))
        },
        other_ids=_external_ids(fields, exclude={"openalex", "doi"}),
    )


def _url(fields: _Fields | None, key: str) -> str:
    """A web address the page links to: only http(s), and only one that fits the column."""
    if fields is None:
        return ""
    value = fields.data.get(key)
    if not isinstance(value, str) or len(value) > MAX_URL:
        return ""
    value = value.strip()
    return value if value.lower().startswith(("https://", "http://")) else ""


def _counts_by_year(fields: _Fields) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in fields.children("counts_by_year"):
        if item is None:
            continue
        year = item.integer("year", maximum=9999)
        cited = item.integer("cited_by_count") or 0
        if year:
            counts[str(year)] = counts.get(str(year), 0) + cited
    return counts


def _referenced_works(fields: _Fields) -> list[str]:
    out: dict[str, None] = {}  # in the record's order, once each
    for index, raw in enumerate(fields.items("referenced_works", max_items=MAX_ITEMS)):
        if not isinstance(raw, str):
            raise RecordError(
                f"{fields.name('referenced_works')}[{index}] must be a string, got {_kind(raw)}"
            )
        try:
            value = identifiers.openalex_id(raw)
        except ValueError:
            raise RecordError(
                f"{fields.name('referenced_works')}[{index}] is not an OpenAlex id: {raw[:80]!r}"
            ) from None
        if value and value[0] == "W" and len(value) <= 32:
            out[value] = None
    return list(out)
