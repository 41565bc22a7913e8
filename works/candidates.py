"""Works a person brings by hand: a DOI, an arXiv id or BibTeX, read into one shape.

A DOI is fetched from Crossref and an arXiv id from the arXiv API (the
importers' clients, so retries, the polite pool and arXiv's spacing hold), and
read by the importers' own parsers; BibTeX is parsed by bibtexparser with
LaTeX turned into text by pylatexenc. Each becomes a Candidate: what the owner
confirms before anything is written (profiles.services.missing_works_add).
"""

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import bibtexparser
from pylatexenc.latex2text import LatexNodes2Text

from works import identifiers
from works.arxiv_api import ArxivClient, ArxivError, ArxivUnavailable
from works.crossref_api import CrossrefClient, CrossrefError, CrossrefUnavailable
from works.importers.arxiv_records import FeedError, parse_feed
from works.importers.crossref_records import RecordError, parse_response

MAX_BIBTEX_ENTRIES = 200
MAX_BIBTEX_BYTES = 1024 * 1024
MAX_TITLE = 2000

_BIBTEX_TYPES = {
    "article": "article",
    "inproceedings": "article",
    "conference": "article",
    "proceedings": "book",
    "book": "book",
    "inbook": "book-chapter",
    "incollection": "book-chapter",
    "phdthesis": "dissertation",
    "mastersthesis": "dissertation",
    "techreport": "report",
    "unpublished": "preprint",
}
_VENUE_FIELDS = ("journal", "booktitle", "publisher", "school", "institution")
# A key followed by a newline and a field, its comma forgotten: authors' own
# BibTeX has it ("@inproceedings{dtl\n  title=..."), and bibtexparser refuses it.
_KEY_WITHOUT_COMMA = re.compile(r"(@\w+\s*\{\s*[^\s,{}=@]+)[ \t]*(\r?\n\s*[A-Za-z][\w-]*\s*=)")


class CandidateError(Exception):
    """What was given cannot become a work; the message is written for the person."""


class SourceUnavailable(CandidateError):
    """The API that would answer is down or timed out: try again later."""


@dataclass(frozen=True)
class Candidate:
    """A work as a source or BibTeX describes it; ids normalised."""

    title: str
    year: int | None = None
    venue: str = ""
    type: str = ""
    doi: str = ""
    arxiv_id: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    came_from: str = ""  # "Crossref", "arXiv", "BibTeX entry dtl (line 1)"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Candidate":
        return cls(**data)


def from_doi(raw: str, *, client: CrossrefClient | None = None) -> Candidate:
    try:
        doi = identifiers.doi(raw)
    except ValueError:
        raise CandidateError(
            f"“{raw}” is not a DOI: give one like 10.1371/journal.pone.0020476."
        ) from None
    try:
        data = (client or CrossrefClient()).work(doi)
    except CrossrefUnavailable as error:
        raise SourceUnavailable(f"Crossref cannot be reached right now ({error}).") from None
    except CrossrefError as error:
        raise CandidateError(f"Crossref does not know the DOI {doi}: {error}") from None
    try:
        page = parse_response(data)
    except RecordError as error:
        raise CandidateError(f"Crossref's answer for {doi} cannot be read: {error}") from None
    if not page.works:
        raise CandidateError(f"Crossref's answer for {doi} holds no work with a title.")
    work = page.works[0]
    return Candidate(
        title=work.title,
        year=work.publication_year,
        venue=work.venue,
        type=work.type,
        doi=work.doi or doi,
        arxiv_id=work.arxiv_id,
        abstract=work.abstract,
        authors=[a.name for a in work.authors if a is not None],
        came_from="Crossref",
    )


def from_arxiv(raw: str, *, client: ArxivClient | None = None) -> Candidate:
    try:
        arxiv_id = identifiers.arxiv_id(raw)
    except ValueError:
        arxiv_id = ""
    if not arxiv_id:
        raise CandidateError(
            f"“{raw}” is not an arXiv id: give one like 1501.05039, 1501.05039v2 "
            "or quant-ph/0210005."
        )
    try:
        feed = parse_feed((client or ArxivClient()).feed([arxiv_id]))
    except ArxivUnavailable as error:
        raise SourceUnavailable(f"arXiv cannot be reached right now ({error}).") from None
    except (ArxivError, FeedError) as error:
        raise CandidateError(f"arXiv did not give {arxiv_id}: {error}") from None
    entry = next((e for e in feed.entries if e.arxiv_id == arxiv_id), None)
    if entry is None:
        raise CandidateError(f"arXiv has no paper {arxiv_id}.")
    return Candidate(
        title=entry.title,
        year=entry.submitted.year if entry.submitted else None,
        venue="arXiv",
        type="preprint",
        doi=entry.doi,
        arxiv_id=entry.arxiv_id,
        abstract=entry.abstract,
        authors=[a.name for a in entry.authors],
        came_from="arXiv",
    )


def _latex_text(value: str) -> str:
    text = LatexNodes2Text(math_mode="verbatim").latex_to_text(value)
    return " ".join(text.split())


def _year(value: str) -> int | None:
    found = re.search(r"\b(1[5-9]\d\d|20\d\d)\b", value)
    return int(found[1]) if found else None


def _optional_id(parse: Any, value: str) -> str:
    try:
        return str(parse(value))
    except ValueError:
        return ""


def from_bibtex(text: str) -> list[Candidate]:
    """Every entry of a BibTeX text; CandidateError names the first that cannot be read."""
    if len(text.encode()) > MAX_BIBTEX_BYTES:
        raise CandidateError(
            f"That BibTeX is more than {MAX_BIBTEX_BYTES // 1024:,} KB: give at most "
            f"{MAX_BIBTEX_ENTRIES} entries at a time."
        )
    library = bibtexparser.parse_string(_KEY_WITHOUT_COMMA.sub(r"\1,\2", text))
    if library.failed_blocks:
        block = library.failed_blocks[0]
        reason = str(getattr(block, "error", "") or "").strip().splitlines()
        why = reason[-1].strip() if reason else "it is not complete"
        raise CandidateError(
            f"The BibTeX cannot be read near line {(block.start_line or 0) + 1}: {why}. "
            "Nothing was added."
        )
    if not library.entries:
        raise CandidateError("No BibTeX entry found: an entry starts with @article{ or similar.")
    if len(library.entries) > MAX_BIBTEX_ENTRIES:
        raise CandidateError(
            f"That is {len(library.entries)} entries: give at most {MAX_BIBTEX_ENTRIES} at a time."
        )
    candidates = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        where = f"BibTeX entry {entry.key} (line {(entry.start_line or 0) + 1})"
        title = _latex_text(fields.get("title", ""))[:MAX_TITLE]
        if not title:
            raise CandidateError(f"The {where} has no title. Nothing was added.")
        authors = [
            _latex_text(name)
            for name in re.split(r"\s+and\s+", fields.get("author", ""))
            if name.strip()
        ]
        arxiv = ""
        if (
            fields.get("archiveprefix", "").lower() == "arxiv"
            or "arxiv" in fields.get("eprinttype", "").lower()
        ):
            arxiv = _optional_id(identifiers.arxiv_id, fields.get("eprint", ""))
        venue = next((_latex_text(fields[f]) for f in _VENUE_FIELDS if fields.get(f)), "")
        candidates.append(
            Candidate(
                title=title,
                year=_year(fields.get("year", "")),
                venue=venue[:500],
                type=_BIBTEX_TYPES.get(entry.entry_type.lower(), ""),
                doi=_optional_id(identifiers.doi, fields.get("doi", "")),
                arxiv_id=arxiv,
                abstract=_latex_text(fields.get("abstract", "")),
                authors=[_family_first(a) for a in authors],
                came_from=where,
            )
        )
    return candidates


def _family_first(name: str) -> str:
    """ "Zhou, Hattie" -> "Hattie Zhou": names as the page writes them."""
    if "," in name:
        family, _, given = name.partition(",")
        return f"{given.strip()} {family.strip()}".strip()
    return name
