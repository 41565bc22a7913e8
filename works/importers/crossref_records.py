"""Read Crossref REST API responses into works to write, validating as they go.

What is read (https://api.crossref.org, https://www.crossref.org/documentation/retrieve-metadata/rest-api/):

- `GET /works/{doi}` answers `{"status": "ok", "message-type": "work",
  "message": {...}}`, one work; `GET /works?...` (a query, a member's or a
  journal's works) answers `"message-type": "work-list"` with the works in
  `message.items` and, when asked for with `cursor=*`, `message.next-cursor`.
- An error answers `"status": "failed"` with a `message-type` such as
  `resource-failure` (404) or `validation-failure` (400) and a list of
  messages: CrossrefFailure, which says Crossref's own words; nothing is
  imported from it. Any other document is not a Crossref response (RecordError).

Of a work: `DOI`; the first of `title` (a list, with inline HTML such as
<i>, <sub>, <scp>); `type`; `container-title` (the venue); `issued` (else
`published-print`, `published-online`, `published`), whose `date-parts` may
hold a year only, or a year and month: the year is kept, the date only when it
has a day; `abstract` (JATS XML, turned into plain text with paragraph
breaks); `author` (`given` and `family`, or an organisation's `name`;
`ORCID` as a URL; `affiliation[].name`); `is-referenced-by-count`;
`reference[].DOI` and `reference-count`; `license[].URL`; `link[]` with
`content-type: application/pdf`; `volume`, `issue`, `page`.

A work without a DOI or a title is a problem named by its place
(`message/items[3] DOI 10.1002/...`) and skipped; the rest is imported.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import lxml.etree
import lxml.html

from works import identifiers

MAX_TITLE = 2_000
MAX_NAME = 500
MAX_ABSTRACT = 100_000
MAX_URL = 2_000
MAX_ITEMS = 1_000  # Crossref's own limit on rows per page

# Crossref work types -> the types works carry (OpenAlex's); any other is "other".
WORK_TYPES = {
    "journal-article": "article",
    "proceedings-article": "article",
    "posted-content": "preprint",
    "book-chapter": "book-chapter",
    "book-section": "book-chapter",
    "book-part": "book-chapter",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "dataset": "dataset",
    "database": "dataset",
    "report": "report",
    "dissertation": "dissertation",
    "peer-review": "peer-review",
    "reference-entry": "reference-entry",
    "standard": "standard",
    "journal-issue": "paratext",
    "component": "supplementary-material",
}
DATE_FIELDS = ("issued", "published-print", "published-online", "published")
# JATS elements that hold a paragraph of their own (the rest run inline).
_BLOCKS = frozenset(
    {"p", "title", "sec", "list", "list-item", "disp-quote", "def-item", "caption", "abstract"}
)
_BREAK = "\x00"


class RecordError(Exception):
    """The document is not a Crossref response; nothing of it can be imported."""


class CrossrefFailure(RecordError):
    """Crossref answered an error body (status "failed"); the message says Crossref's words."""


@dataclass
class CrossrefAuthor:
    name: str  # as the page shows it: "Jun Xu", or an organisation's name
    family: str  # what a stored authorship is matched by (an organisation: its name)
    orcid: str
    affiliations: list[str]


@dataclass
class CrossrefWork:
    location: str  # "message/items[3] DOI 10.1111/ele.14024"
    doi: str
    arxiv_id: str
    title: str
    type: str
    publication_year: int | None
    publication_date: date | None
    venue: str
    abstract: str
    authors: list[CrossrefAuthor | None]  # None: an author without a name, left out
    cited_by_count: int
    references: list[str]  # DOIs, in the order given, once each
    references_count: int
    license_url: str
    pdf_url: str
    biblio: dict[str, str]


@dataclass
class CrossrefPage:
    works: list[CrossrefWork] = field(default_factory=list)
    next_cursor: str = ""
    total_results: int | None = None
    # (location, reason, skipped): a skipped work is not imported; a note is
    # imported with what could be read.
    problems: list[tuple[str, str, bool]] = field(default_factory=list)


def _text(value: Any, max_len: int = MAX_NAME) -> str:
    if not isinstance(value, str):
        return ""
    value = " ".join(value.replace("\x00", "").split())
    try:
        value.encode()
    except UnicodeEncodeError:
        value = value.encode("utf-8", "ignore").decode()
    return value[:max_len]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first_text(value: Any, max_len: int = MAX_NAME) -> str:
    return next((t for item in _list(value) if (t := _text(item, max_len))), "")


def markup_text(markup: str, *, paragraphs: bool = False) -> str:
    """The text of a JATS or HTML fragment (`<jats:p>`, `<i>`, `&amp;`), tags gone.

    With paragraphs, each block element (a paragraph, a section title) is a
    paragraph of its own, separated by a blank line; otherwise one line. Parsed
    by lxml's HTML parser, which takes the undeclared `jats:` prefix as part of
    the tag's name and recovers from broken markup rather than refusing it.
    """
    if not markup or not markup.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return _text(markup, MAX_ABSTRACT)
    pieces: list[str] = []

    def walk(element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        block = tag.rpartition(":")[2].lower() in _BLOCKS
        if block:
            pieces.append(_BREAK)
        if tag and element.text:
            pieces.append(element.text)
        for child in element:
            walk(child)
        if block:
            pieces.append(_BREAK)
        if element.tail:
            pieces.append(element.tail)

    if root.text:
        pieces.append(root.text)
    for child in root:
        walk(child)
    chunks = [" ".join(chunk.split()) for chunk in "".join(pieces).split(_BREAK)]
    chunks = [chunk for chunk in chunks if chunk]
    if paragraphs:
        # Publishers often open with a heading that only says what this is.
        if len(chunks) > 1 and chunks[0].rstrip(":").lower() == "abstract":
            chunks = chunks[1:]
        return "\n\n".join(chunks)
    return " ".join(chunks)


def _date_parts(value: Any) -> list[int]:
    parts = _list(_list(value.get("date-parts") if isinstance(value, dict) else None)[:1])
    parts = parts[0] if parts and isinstance(parts[0], list) else []
    out = []
    for part in parts[:3]:
        if isinstance(part, bool) or not isinstance(part, int | str):
            break
        text = str(part).strip()
        if not text.isdigit():
            break
        out.append(int(text))
    return out


def _dates(work: dict[str, Any]) -> tuple[int | None, date | None]:
    """The publication year, and the date when it has a month and a day."""
    for name in DATE_FIELDS:
        parts = _date_parts(work.get(name))
        if not parts or not 1000 <= parts[0] <= 9999:
            continue
        if len(parts) == 3:
            try:
                return parts[0], date(*parts)
            except ValueError:
                pass
        return parts[0], None
    return None, None


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, min(value, 2**31 - 1))


def parse_response(data: Any) -> CrossrefPage:
    """The works of a Crossref `work` or `work-list` response; RecordError if it is
    not one, CrossrefFailure if it is Crossref's error body."""
    if not isinstance(data, dict):
        raise RecordError("not a Crossref response: the document is not a JSON object")
    message_type = data.get("message-type")
    message = data.get("message")
    if data.get("status") == "failed" or (
        isinstance(message_type, str) and message_type.endswith("-failure")
    ):
        raise CrossrefFailure(failure_text(data))
    page = CrossrefPage()
    if message_type == "work" and isinstance(message, dict):
        _read_work(page, message, "message")
    elif message_type == "work-list" and isinstance(message, dict):
        items = message.get("items")
        if not isinstance(items, list):
            raise RecordError("a Crossref work-list without message.items")
        if len(items) > MAX_ITEMS:
            raise RecordError(
                f"a Crossref work-list of {len(items):,} works, more than a page can hold "
                f"({MAX_ITEMS:,})"
            )
        for index, item in enumerate(items):
            _read_work(page, item, f"message/items[{index}]")
        page.next_cursor = _text(message.get("next-cursor"), 1_000)
        total = message.get("total-results")
        page.total_results = total if isinstance(total, int) else None
    else:
        shown = message_type if isinstance(message_type, str) else "none"
        raise RecordError(
            f"not a Crossref works response: message-type {shown[:40]!r} "
            "(expected 'work' from GET /works/{doi} or 'work-list' from GET /works)"
        )
    return page


def failure_text(data: dict[str, Any]) -> str:
    """Crossref's error body in words: its message-type and its messages."""
    kind = _text(data.get("message-type"), 60) or "error"
    messages = []
    for item in _list(data.get("message")):
        if isinstance(item, dict):
            words = _text(item.get("message"), 300)
            value = _text(item.get("value"), 100)
            messages.append(f"{words} (value {value!r})" if value and words else words)
        elif isinstance(item, str):
            messages.append(_text(item, 300))
    if isinstance(data.get("message"), str):
        messages.append(_text(data["message"], 300))
    said = "; ".join(m for m in messages if m) or "no reason given"
    return f"Crossref answered {kind}: {said}"


def _read_work(page: CrossrefPage, item: Any, location: str) -> None:
    if not isinstance(item, dict):
        page.problems.append((location, "not a work: not a JSON object", True))
        return
    raw_doi = item.get("DOI")
    where = f"{location} DOI {_text(raw_doi, 120)}" if _text(raw_doi) else location
    try:
        doi = identifiers.doi(raw_doi) if isinstance(raw_doi, str) else ""
    except ValueError:
        page.problems.append((where, f"not a DOI: {_text(raw_doi, 80)!r}: not imported", True))
        return
    if not doi:
        page.problems.append((where, "a work without a DOI: not imported", True))
        return
    if len(doi) > 255:
        page.problems.append((where, "a DOI over 255 characters: not imported", True))
        return
    title = markup_text(_first_text(item.get("title"), MAX_TITLE * 4))[:MAX_TITLE]
    if not title:
        page.problems.append((where, "a work without a title: not imported", True))
        return
    try:
        arxiv_id = identifiers.arxiv_id(doi) if doi.startswith("10.48550/") else ""
    except ValueError:
        arxiv_id = ""
    year, published = _dates(item)
    raw_type = _text(item.get("type"), 64).lower()
    abstract = item.get("abstract")
    page.works.append(
        CrossrefWork(
            location=where,
            doi=doi,
            arxiv_id=arxiv_id,
            title=title,
            type=WORK_TYPES.get(raw_type, "other" if raw_type else ""),
            publication_year=year,
            publication_date=published,
            venue=_first_text(item.get("container-title")),
            abstract=markup_text(abstract, paragraphs=True)[:MAX_ABSTRACT]
            if isinstance(abstract, str)
            else "",
            authors=[
                _read_author(page, author, f"{where} author[{index}]")
                for index, author in enumerate(_list(item.get("author")))
            ],
            cited_by_count=_count(item.get("is-referenced-by-count")),
            references=_references(item),
            references_count=max(
                _count(item.get("reference-count")),
                _count(item.get("references-count")),
                len(_list(item.get("reference"))),
            ),
            license_url=_license(item),
            pdf_url=_pdf(item),
            biblio=_biblio(item),
        )
    )


def _read_author(page: CrossrefPage, author: Any, where: str) -> CrossrefAuthor | None:
    if not isinstance(author, dict):
        page.problems.append((where, "an author that is not a JSON object: left out", False))
        return None
    given, family = _text(author.get("given")), _text(author.get("family"))
    organisation = _text(author.get("name"))
    name = " ".join(part for part in (given, family) if part) or organisation
    if not name:
        page.problems.append((where, "an author without a name: left out", False))
        return None
    orcid = ""
    if raw := author.get("ORCID"):
        try:
            orcid = identifiers.orcid(raw) if isinstance(raw, str) else ""
        except ValueError as error:
            page.problems.append((where, f"{error}: imported without it", False))
    affiliations: dict[str, None] = {}
    for affiliation in _list(author.get("affiliation")):
        if isinstance(affiliation, dict) and (text := _text(affiliation.get("name"), 1_000)):
            affiliations[text] = None
    return CrossrefAuthor(
        name=name,
        family=family or organisation or name,
        orcid=orcid,
        affiliations=list(affiliations),
    )


def _references(item: dict[str, Any]) -> list[str]:
    found: dict[str, None] = {}
    for reference in _list(item.get("reference")):
        raw = reference.get("DOI") if isinstance(reference, dict) else None
        if not isinstance(raw, str):
            continue
        try:
            doi = identifiers.doi(raw)
        except ValueError:
            continue  # a reference is evidence, not a record: one Crossref mangled is left out
        if doi and len(doi) <= 255:
            found[doi] = None
    return list(found)


def _url(value: Any) -> str:
    text = _text(value, MAX_URL + 1)
    return text if re.match(r"https?://", text) and len(text) <= MAX_URL else ""


def _license(item: dict[str, Any]) -> str:
    licences = [lic for lic in _list(item.get("license")) if isinstance(lic, dict)]
    # The published version's licence over an accepted manuscript's.
    licences.sort(key=lambda lic: lic.get("content-version") != "vor")
    return next((url for lic in licences if (url := _url(lic.get("URL")))), "")


def _pdf(item: dict[str, Any]) -> str:
    links = [
        link
        for link in _list(item.get("link"))
        if isinstance(link, dict) and link.get("content-type") == "application/pdf"
    ]
    links.sort(key=lambda link: link.get("content-version") != "vor")
    return next((url for link in links if (url := _url(link.get("URL")))), "")


def _biblio(item: dict[str, Any]) -> dict[str, str]:
    biblio = {"volume": _text(item.get("volume"), 64), "issue": _text(item.get("issue"), 64)}
    first, _, last = _text(item.get("page"), 64).partition("-")
    biblio["first_page"], biblio["last_page"] = first.strip(), last.strip()
    return {key: value for key, value in biblio.items() if value}
