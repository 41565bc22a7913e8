"""Read an arXiv API Atom feed into rows to write, validating as it goes.

What is read (http://export.arxiv.org/api/query, the Atom 1.0 feed its user
manual describes), per `<entry>`:

- `id`: the abstract page, http://arxiv.org/abs/1501.05039v2 or
  http://arxiv.org/abs/quant-ph/0210005v1. The id is kept without its version
  (works.identifiers.arxiv_id), the version number beside it.
- `title` and `summary` (the abstract), whitespace collapsed: arXiv wraps them
  at 80 columns.
- `published`: when version 1 was submitted, the work's date.
- `author`: `name` and any `arxiv:affiliation`, in published order.
- `arxiv:doi` and `arxiv:journal_ref`: the published version, where there is one.
- the PDF link, `arxiv:primary_category` and the `category` terms; MSC and
  ACM classes that authors put among the categories are told apart.

The XML is parsed by the standard library's expat with entity expansion off:
a feed with a DOCTYPE, an entity declaration or an external entity is refused
before anything of it is read (arXiv's feeds have none), so a hostile file can
neither expand entities nor make the parser fetch anything.

arXiv answers a bad query with HTTP 200 and a feed whose only entry is titled
"Error" (its id under http://arxiv.org/api/errors): that is FeedError with
arXiv's own words, not an empty import. An entry that cannot be read (no id,
no title) is a problem named by its line and id, and skipped; the rest of the
feed is imported.
"""

import contextlib
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
from dataclasses import dataclass, field
from datetime import date

from works import identifiers

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
ERROR_ID_PREFIX = "http://arxiv.org/api/errors"
MAX_TITLE = 2_000
MAX_ABSTRACT = 100_000
MAX_NAME = 500
MAX_URL = 2_000
MAX_TEXT = 1_000

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2\d\d\d)(?!\d)")
_VERSION = re.compile(r"v(\d+)$")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# arXiv's own categories (cs.DB, quant-ph, physics.hist-ph, math.AG) and the
# classes authors add among them: MSC 2020 (03B70, 68Q99, 14J60) and ACM 1998
# (F.4.1, K.2, H.3.m).
_CATEGORY = re.compile(r"[a-z-]+(?:\.[A-Za-z-]+)?")
_MSC = re.compile(r"\d\d[A-Z-](?:\d\d|xx)?")
_ACM = re.compile(r"[A-K](?:\.\d+|\.m)(?:\.\d+|\.m)?")
# What expat says of a document that stops short.
_TRUNCATED = {
    expat.errors.codes[message]
    for message in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
    )
}
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


class FeedError(Exception):
    """The document is not an arXiv feed, or arXiv answered with an error; nothing
    of it can be imported."""


class _Refused(Exception):
    pass


@dataclass
class ArxivAuthor:
    name: str
    affiliations: list[str]


@dataclass
class ArxivEntry:
    location: str  # "line 11 entry 1501.05039v1"
    arxiv_id: str  # without version: "1501.05039", "quant-ph/0210005"
    version: int
    title: str
    abstract: str
    submitted: date | None  # of version 1 (`published`)
    doi: str
    journal_ref: str
    journal_year: int | None  # the year in the journal reference, where it has one
    pdf_url: str
    categories: list[str]  # primary first
    msc_class: list[str]
    acm_class: list[str]
    authors: list[ArxivAuthor]

    @property
    def publication_year(self) -> int | None:
        """The published version's year where the journal reference gives it (the work
        is that version), else the year arXiv received the paper."""
        return self.journal_year or (self.submitted.year if self.submitted else None)

    @property
    def publication_date(self) -> date | None:
        """arXiv's date, unless the published version came out in another year."""
        if self.submitted and self.submitted.year == self.publication_year:
            return self.submitted
        return None

    @property
    def published_elsewhere(self) -> bool:
        return bool(self.doi or self.journal_ref)

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}v{self.version}"


@dataclass
class ArxivFeed:
    entries: list[ArxivEntry] = field(default_factory=list)
    # (location, reason, skipped): a skipped entry is not imported; a note is
    # imported with what could be read.
    problems: list[tuple[str, str, bool]] = field(default_factory=list)


def parse_xml(raw: bytes) -> ET.Element:
    """The document's root element; FeedError says in words why it cannot be read."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(what: str) -> None:
        raise _Refused(f"not an arXiv feed: it has {what} (refused, as arXiv's feeds have none)")

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = "{" + name if "}" in name else name
        element = builder.start(tag, {("{" + k if "}" in k else k): v for k, v in attrs.items()})
        if tag == ATOM + "entry":
            element.set("_line", str(parser.CurrentLineNumber))

    def end(name: str) -> None:
        builder.end("{" + name if "}" in name else name)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = lambda *args: refuse("a DOCTYPE")
    parser.EntityDeclHandler = lambda *args: refuse("an entity declaration")
    parser.ExternalEntityRefHandler = lambda *args: refuse("an external entity")  # type: ignore[assignment,return-value]
    try:
        parser.Parse(raw, True)
    except _Refused as refused:
        raise FeedError(str(refused)) from None
    except expat.ExpatError as error:
        reason = expat.ErrorString(error.code)
        where = f"line {error.lineno} column {error.offset + 1}"
        if error.code in _TRUNCATED:
            raise FeedError(
                f"truncated XML: the file ends before its feed is complete ({reason} at {where})"
            ) from None
        raise FeedError(f"not XML: {reason} at {where}") from None
    return builder.close()


def _text(element: ET.Element | None, max_len: int = MAX_TEXT) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).replace("\x00", "").split())[:max_len]


def parse_feed(raw: bytes) -> ArxivFeed:
    """The entries of an arXiv API feed; FeedError if it is none, or an error."""
    if not raw.strip():
        raise FeedError("empty file: not an arXiv feed")
    root = parse_xml(raw)
    if root.tag != ATOM + "feed":
        shown = root.tag.replace(ATOM, "atom:")
        raise FeedError(
            f"not an arXiv feed: the document is <{shown}>, not an Atom <feed> "
            "(expected a response of http://export.arxiv.org/api/query)"
        )
    entries = root.findall(ATOM + "entry")
    for entry in entries:
        entry_id = _text(entry.find(ATOM + "id"))
        if entry_id.startswith(ERROR_ID_PREFIX) or "/api/errors" in entry_id:
            summary = _text(entry.find(ATOM + "summary")) or "no reason given"
            raise FeedError(f"arXiv answered with an error: {summary} ({entry_id})")
    feed = ArxivFeed()
    for index, entry in enumerate(entries):
        _read_entry(feed, entry, index)
    return feed


def _read_entry(feed: ArxivFeed, entry: ET.Element, index: int) -> None:
    line = entry.get("_line", "?")
    raw_id = _text(entry.find(ATOM + "id"))
    where = f"line {line} entry {raw_id.rsplit('/abs/', 1)[-1] if raw_id else f'[{index}]'}"
    try:
        arxiv_id = identifiers.arxiv_id(raw_id)
    except ValueError:
        feed.problems.append((where, f"not an arXiv id: {raw_id[:80]!r}; not imported", True))
        return
    if not arxiv_id:
        feed.problems.append((where, "an entry without an id: not imported", True))
        return
    version_match = _VERSION.search(raw_id)
    version = int(version_match[1]) if version_match else 1
    title = _text(entry.find(ATOM + "title"), MAX_TITLE)
    if not title:
        feed.problems.append((where, "an entry without a title: not imported", True))
        return
    submitted = None
    published = _text(entry.find(ATOM + "published"))
    if parts := _DATE.match(published):
        with contextlib.suppress(ValueError):
            submitted = date(int(parts[1]), int(parts[2]), int(parts[3]))
    if submitted is None:
        feed.problems.append(
            (where, f"no readable published date ({published[:40]!r}): imported without", False)
        )
    doi = ""
    if raw_doi := _text(entry.find(ARXIV + "doi")):
        try:
            doi = identifiers.doi(raw_doi)
        except ValueError:
            feed.problems.append(
                (where, f"not a DOI: {raw_doi[:80]!r}; imported without it", False)
            )
    journal_ref = _text(entry.find(ARXIV + "journal_ref"))
    pdf_url = ""
    for link in entry.findall(ATOM + "link"):
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            pdf_url = (link.get("href") or "").strip()[:MAX_URL]
            break
    categories: list[str] = []
    msc: list[str] = []
    acm: list[str] = []
    primary = entry.find(ARXIV + "primary_category")
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [c.get("term", "") for c in entry.findall(ATOM + "category")]
    for term in terms:
        for part in re.split(r"[,;]", term):
            part = part.strip()
            for pattern, out in ((_CATEGORY, categories), (_MSC, msc), (_ACM, acm)):
                if pattern.fullmatch(part):
                    if part not in out:
                        out.append(part)
                    break
    authors = []
    for author in entry.findall(ATOM + "author"):
        name = _text(author.find(ATOM + "name"), MAX_NAME)
        if name:
            affiliations = [
                a for a in (_text(x, MAX_NAME) for x in author.findall(ARXIV + "affiliation")) if a
            ]
            authors.append(ArxivAuthor(name, affiliations))
    feed.entries.append(
        ArxivEntry(
            location=where,
            arxiv_id=arxiv_id,
            version=version,
            title=title,
            abstract=_text(entry.find(ATOM + "summary"), MAX_ABSTRACT),
            submitted=submitted,
            doi=doi,
            journal_ref=journal_ref,
            journal_year=_journal_year(journal_ref, submitted),
            pdf_url=pdf_url,
            categories=categories,
            msc_class=msc,
            acm_class=acm,
            authors=authors,
        )
    )


def _journal_year(journal_ref: str, submitted: date | None) -> int | None:
    """The first four-digit number of the reference that can be its year: from the year
    before arXiv received the paper to five after ("Science & Education, September
    2014, 23(9): 1853-1873" -> 2014, where 1853 is a page). None if no number fits."""
    if not journal_ref or submitted is None:
        return None
    for number in _YEAR.findall(journal_ref):
        if submitted.year - 1 <= int(number) <= submitted.year + 5:
            return int(number)
    return None


def family_name(name: str) -> str:
    """The family name of a name as arXiv writes it ("Michael A. Nielsen" -> "Nielsen",
    "Nielsen, Michael" -> "Nielsen"): its last word but a suffix (Jr., III)."""
    if "," in name:
        head = name.split(",", 1)[0].strip()
        if head.lower().strip(".") not in _NAME_SUFFIXES:
            return head
    words = [w for w in name.replace(",", " ").split()]
    while len(words) > 1 and words[-1].lower().strip(".") in _NAME_SUFFIXES:
        words.pop()
    return words[-1] if words else ""
