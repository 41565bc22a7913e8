"""Read an ORCID v3.0 `/record` document into rows to write, validating as it goes.

What is read (https://pub.orcid.org/v3.0/{iD}/record, Accept: application/json):

- `orcid-identifier.path`: the iD. A document without one is not an ORCID
  record, and nothing of it is imported.
- `person`: the name (credit name, else given and family names), other
  names, and external identifiers (Scopus, ResearcherID, ...). Any part may
  be null: ORCID leaves out what its owner keeps private.
- `activities-summary.employments` and `.educations`: `affiliation-group`s of
  summaries with the organisation, its disambiguated id (ROR, GRID, Ringgold,
  FundRef, LEI) and start and end dates.
- `activities-summary.works.group`: one group per work, holding a summary for
  each source that asserted it (the person, Crossref, NASA ADS...); the
  group's external ids are the union of theirs. The first summary with the
  highest display index is ORCID's preferred one: its put-code, title, type
  and date are the work's.

A part that cannot be read (a work without a title, an employment without an
organisation) is a problem named by its place and put-code, and skipped; the
rest of the record is imported.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from works import identifiers

MAX_TITLE = 2_000
MAX_NAME = 500
MAX_ID = 255

# ORCID work types (v3.0, lower case with hyphens) -> the types works carry
# (OpenAlex's); any other is "other".
WORK_TYPES = {
    "journal-article": "article",
    "conference-paper": "article",
    "magazine-article": "article",
    "newspaper-article": "article",
    "book-chapter": "book-chapter",
    "book": "book",
    "edited-book": "book",
    "preprint": "preprint",
    "working-paper": "preprint",
    "dissertation-thesis": "dissertation",
    "dissertation": "dissertation",
    "data-set": "dataset",
    "report": "report",
    "review": "review",
    "book-review": "review",
    "software": "software",
    "standards-and-policy": "standard",
}
# Person external-identifier types -> the scheme keys the page labels
# (profiles.selectors.IDENTIFIER_LABELS); others are lower-cased with "_".
PERSON_ID_SCHEMES = {
    "scopus author id": "scopus",
    "researcherid": "researcherid",
    "isni": "isni",
    "loop profile": "loop",
    "dblp": "dblp",
    "google scholar": "google_scholar",
}
AFFILIATION_KINDS = (("employments", "employment"), ("educations", "education"))

_NOT_ID = re.compile(r"[^a-z0-9]+")


class RecordError(Exception):
    """The document is not an ORCID record; nothing of it can be imported."""


@dataclass
class OrcidWork:
    location: str  # "works/group[2] put-code 26708993"
    put_code: str
    title: str
    type: str
    publication_year: int | None
    publication_date: date | None
    doi: str
    arxiv_id: str
    other_ids: dict[str, str]
    journal_title: str


@dataclass
class OrcidAffiliation:
    location: str
    source_key: str  # "employment/12345"
    organization_name: str
    organization_ids: dict[str, str]  # {"ror": "04wxnsj81", "grid": "grid.1.2", ...}
    ror: str
    country_code: str
    start_year: int | None
    end_year: int | None


@dataclass
class OrcidRecord:
    orcid: str
    display_name: str  # "" when the record's name is not public
    name_variants: list[str]
    external_ids: dict[str, str]
    affiliations: list[OrcidAffiliation] = field(default_factory=list)
    works: list[OrcidWork] = field(default_factory=list)
    # (location, reason, skipped): a skipped part is not imported; a note is
    # imported with what could be read.
    problems: list[tuple[str, str, bool]] = field(default_factory=list)


def _get(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]..., None where any step is missing or not an object."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(data: Any, *path: str, max_len: int = MAX_NAME) -> str:
    """The string at path (an ORCID `{"value": ...}` wrapper is unwrapped), or ""."""
    value = _get(data, *path)
    if isinstance(value, dict):
        value = value.get("value")
    if not isinstance(value, str):
        return ""
    value = " ".join(value.replace("\x00", "").split())
    try:
        value.encode()
    except UnicodeEncodeError:
        value = value.encode("utf-8", "ignore").decode()
    return value[:max_len]


def _list(data: Any, *path: str) -> list[Any]:
    value = _get(data, *path)
    return value if isinstance(value, list) else []


def _year(fuzzy_date: Any) -> int | None:
    text = _text(fuzzy_date, "year")
    return int(text) if re.fullmatch(r"\d{4}", text) and int(text) > 0 else None


def _date(fuzzy_date: Any) -> date | None:
    year = _year(fuzzy_date)
    month, day = _text(fuzzy_date, "month"), _text(fuzzy_date, "day")
    if year is None or not month.isdigit() or not day.isdigit():
        return None
    try:
        return date(year, int(month), int(day))
    except ValueError:
        return None


def _put_code(summary: Any) -> str:
    value = _get(summary, "put-code")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return ""
    text = str(value).strip()
    return text if text.isdigit() and len(text) <= 20 else ""


def parse_record(data: Any) -> OrcidRecord:
    """The rows of an ORCID v3.0 record; RecordError if it is not one."""
    if not isinstance(data, dict):
        raise RecordError(f"not an ORCID record: the document is a JSON {_kind(data)}")
    raw_orcid = _get(data, "orcid-identifier", "path")
    if not isinstance(raw_orcid, str):
        raise RecordError(
            "not an ORCID record: it has no orcid-identifier.path (expected the response "
            "of GET https://pub.orcid.org/v3.0/{iD}/record)"
        )
    try:
        orcid = identifiers.orcid(raw_orcid)
    except ValueError as error:
        raise RecordError(f"orcid-identifier.path: {error}") from None
    if not orcid:
        raise RecordError("orcid-identifier.path is empty")
    person = _get(data, "person")
    name = _get(person, "name")
    credit = _text(name, "credit-name")
    given, family = _text(name, "given-names"), _text(name, "family-name")
    full = " ".join(part for part in (given, family) if part)
    display_name = credit or full
    variants: dict[str, None] = {}
    for candidate in [
        full,
        *(_text(n, "content") for n in _list(person, "other-names", "other-name")),
    ]:
        if candidate and candidate != display_name:
            variants[candidate] = None
    record = OrcidRecord(
        orcid=orcid,
        display_name=display_name,
        name_variants=list(variants),
        external_ids=_person_ids(person),
    )
    activities = _get(data, "activities-summary")
    for section, kind in AFFILIATION_KINDS:
        _read_affiliations(record, activities, section, kind)
    for index, group in enumerate(_list(activities, "works", "group")):
        _read_work(record, group, f"works/group[{index}]")
    return record


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else "null"
    )


def _person_ids(person: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in _list(person, "external-identifiers", "external-identifier"):
        kind = _text(item, "external-id-type").lower()
        value = _text(item, "external-id-url", max_len=MAX_ID) or _text(
            item, "external-id-value", max_len=MAX_ID
        )
        scheme = PERSON_ID_SCHEMES.get(kind) or _NOT_ID.sub("_", kind).strip("_")[:32]
        if scheme and value and scheme not in ("orcid", "openalex"):
            out.setdefault(scheme, value)
    return out


def _read_affiliations(record: OrcidRecord, activities: Any, section: str, kind: str) -> None:
    summaries: list[tuple[str, Any]] = []
    for g, group in enumerate(_list(activities, section, "affiliation-group")):
        for s, wrapper in enumerate(_list(group, "summaries")):
            summaries.append((f"{section}/affiliation-group[{g}]/summaries[{s}]", wrapper))
    for location, wrapper in summaries:
        summary = _get(wrapper, f"{kind}-summary")
        put_code = _put_code(summary)
        where = f"{location} put-code {put_code}" if put_code else location
        if not put_code:
            record.problems.append((where, f"{kind} without a put-code: not imported", True))
            continue
        organization = _get(summary, "organization")
        organization_name = _text(organization, "name")
        if not organization_name:
            record.problems.append((where, f"{kind} without an organisation name", True))
            continue
        disambiguated = _get(organization, "disambiguated-organization")
        source = _text(disambiguated, "disambiguation-source").lower()
        org_id = _text(disambiguated, "disambiguated-organization-identifier", max_len=MAX_ID)
        organization_ids = {source: org_id} if source and org_id else {}
        ror = ""
        if source == "ror":
            try:
                ror = identifiers.ror(org_id)
            except ValueError as error:
                record.problems.append((where, f"{error}: imported without it", False))
                organization_ids = {}
            else:
                organization_ids = {"ror": ror}
        start, end = _year(_get(summary, "start-date")), _year(_get(summary, "end-date"))
        if start and end and end < start:
            record.problems.append(
                (where, f"{kind} ends ({end}) before it starts ({start}): years left out", False)
            )
            start = end = None
        record.affiliations.append(
            OrcidAffiliation(
                location=where,
                source_key=f"{kind}/{put_code}",
                organization_name=organization_name,
                organization_ids=organization_ids,
                ror=ror,
                country_code=_text(organization, "address", "country", max_len=2).upper(),
                start_year=start,
                end_year=end,
            )
        )


def _display_index(summary: Any) -> int:
    text = _text(summary, "display-index")
    return int(text) if text.isdigit() else 0


def _read_work(record: OrcidRecord, group: Any, location: str) -> None:
    summaries = [s for s in _list(group, "work-summary") if isinstance(s, dict)]
    if not summaries:
        record.problems.append((location, "a work group without any work summary", True))
        return
    # max() keeps the first of equals: ORCID lists the preferred summary first.
    preferred = max(summaries, key=_display_index)
    put_code = _put_code(preferred)
    where = f"{location} put-code {put_code}" if put_code else location
    if not put_code:
        record.problems.append((where, "a work without a put-code: not imported", True))
        return
    ordered = [preferred, *(s for s in summaries if s is not preferred)]
    title = next((t for s in ordered if (t := _text(s, "title", "title", max_len=MAX_TITLE))), "")
    if not title:
        record.problems.append((where, "a work without a title: not imported", True))
        return
    dated = next((s for s in ordered if _year(_get(s, "publication-date"))), preferred)
    ids: dict[str, str] = {}
    for source in [group, *ordered]:
        for item in _list(source, "external-ids", "external-id"):
            relationship = _text(item, "external-id-relationship").lower()
            kind = _NOT_ID.sub("-", _text(item, "external-id-type").lower()).strip("-")[:32]
            value = _text(item, "external-id-value", max_len=MAX_ID + 1)
            if len(value) > MAX_ID:
                # Cut short, an id would name another work: it is left out.
                record.problems.append(
                    (where, f"a {kind} id over {MAX_ID} characters: imported without it", False)
                )
            elif relationship in ("self", "") and kind and value:
                ids.setdefault(kind, value)
    doi = arxiv_id = ""
    if raw := ids.pop("doi", ""):
        try:
            doi = identifiers.doi(raw)
        except ValueError:
            record.problems.append((where, f"not a DOI: {raw[:80]!r}; imported without it", False))
    if raw := ids.pop("arxiv", ""):
        try:
            arxiv_id = identifiers.arxiv_id(raw)
        except ValueError:
            record.problems.append(
                (where, f"not an arXiv id: {raw[:80]!r}; imported without it", False)
            )
    raw_type = _text(preferred, "type").lower().replace("_", "-")
    record.works.append(
        OrcidWork(
            location=where,
            put_code=put_code,
            title=title,
            type=WORK_TYPES.get(raw_type, "other" if raw_type else ""),
            publication_year=_year(_get(dated, "publication-date")),
            publication_date=_date(_get(dated, "publication-date")),
            doi=doi,
            arxiv_id=arxiv_id,
            other_ids=ids,
            journal_title=next((t for s in ordered if (t := _text(s, "journal-title"))), ""),
        )
    )
