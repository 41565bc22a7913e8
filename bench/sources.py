"""Inputs for the ORCID, Crossref and arXiv importers, grown from the real recorded responses.

Each generator reads the shared data's responses (../shared/data, never copied
into the repository) and replicates their records with fresh ids, so that the
importers see the shape they see in production (the same fields, nesting and
duplicates within an ORCID work group) at a size worth timing:

- orcid: one `/record` file per researcher, each with WORKS_PER_RECORD work
  groups copied from the recorded record's groups (a fresh iD per record, fresh
  DOI, arXiv id, other ids and put-codes per group).
- crossref: `work-list` pages of CROSSREF_PAGE items copied from every recorded
  work and work-list item (fresh DOI; authors drawn from a pool of people
  named in the recorded responses, those with an ORCID keep a fresh one).
- arxiv: Atom feeds of ARXIV_PAGE entries copied from the recorded feed (fresh
  id in the entry's own scheme, fresh DOI where it had one, authors from the pool).

Titles are words of the recorded titles, shuffled, with a serial number, so no
two generated works match each other by title and year. Given the DOIs of works
already stored (the OpenAlex corpus the run imported first), every
MATCHED_EVERY-th generated work carries one of them instead of a fresh DOI, as a
researcher's ORCID record or a Crossref search mostly lists works OpenAlex
already has: those are matched and gain what they lack rather than created.
"""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from bench.config import BASE_DIR
from works.identifiers import orcid_checksum

SHARED_DATA = BASE_DIR.parent / "shared" / "data"
ORCID_RECORD = SHARED_DATA / "orcid" / "record-v3-0000-0002-4110-3511.json"
CROSSREF_DIR = SHARED_DATA / "crossref"
ARXIV_FEED = SHARED_DATA / "arxiv" / "api-query-all-science.atom.xml"

WORKS_PER_RECORD = 25  # an ORCID record's work groups
CROSSREF_PAGE = 500  # items in one work-list file (the API's rows go to 1,000)
ARXIV_PAGE = 500  # entries in one feed file (the API gives up to 2,000)
PEOPLE_SHARE = 3  # a generated person writes about this many works (at least MIN_PEOPLE)
MIN_PEOPLE = 300  # more than any recorded work's authors
# Fresh ids start here, far from the recorded ones and apart per source.
ORCID_BASE = 9_000_000_000_000  # 0000-0009-0000-0000 onwards (ORCID's 0009 block)
PUT_CODE_BASE = 900_000_000
DOI_PREFIX = "10.99999"  # not a registrant's prefix, so it matches nothing real
SOURCES = ("orcid", "crossref", "arxiv")
MATCHED_EVERY = 4  # a quarter of the works carry a stored work's DOI, when given some


@dataclass
class SourceInput:
    source: str  # orcid, crossref, arxiv
    paths: list[Path] = field(default_factory=list)
    works: int = 0  # generated works (ORCID: work groups)
    matched: int = 0  # of them, carrying a DOI of a stored work
    records: int = 0  # files' top-level records: ORCID records, Crossref items, arXiv entries
    bytes: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.paths),
            "works": self.works,
            "matching_stored_doi": self.matched,
            "bytes": self.bytes,
        }

    def write(self, path: Path, text: str, *, records: int) -> None:
        path.write_text(text)
        self.paths.append(path)
        self.records += records
        self.bytes += path.stat().st_size

    def doi(self, source: str, serial: int, stored: list[str]) -> str:
        """The serial-th work's DOI: a stored work's for every MATCHED_EVERY-th, else fresh.

        The sources take turns through the stored DOIs, so no stored work is
        matched by two of them (whose made-up arXiv ids would disagree)."""
        quotient, remainder = divmod(serial, MATCHED_EVERY)
        index = quotient * len(SOURCES) + SOURCES.index(source)
        if stored and remainder == 0 and index < len(stored):
            self.matched += 1
            return stored[index]
        return f"{DOI_PREFIX}/bench.{source}.{serial}"


def fresh_orcid(n: int) -> str:
    digits = f"{ORCID_BASE + n:015d}"
    full = digits + orcid_checksum(digits)
    return "-".join(full[i : i + 4] for i in range(0, 16, 4))


def _arxiv_new(n: int) -> str:
    """The n-th new-scheme id, 1501.00001 onwards, 90,000 a month."""
    month, number = divmod(n, 90_000)
    year, month = divmod(month, 12)
    return f"{15 + year:02d}{month + 1:02d}.{number + 1:05d}"


def _arxiv_old(archive: str, n: int) -> str:
    """The n-th old-scheme id of an archive, 9108001 onwards, 999 a month."""
    month, number = divmod(n, 999)
    year, month = divmod(month + 7, 12)  # from August 1991
    return f"{archive}/{(91 + year) % 100:02d}{month + 1:02d}{number + 1:03d}"


class _Words:
    """Titles and people made of the recorded responses' words and names."""

    def __init__(self, rng: random.Random, titles: list[str], names: list[tuple[str, str]]):
        self.rng = rng
        self.words = sorted({w for t in titles for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", t)})
        self.given = sorted({g for g, _ in names if g})
        self.family = sorted({f for _, f in names if f})

    def title(self, serial: int) -> str:
        words = self.rng.sample(self.words, min(len(self.words), self.rng.randint(5, 12)))
        return f"{' '.join(words).capitalize()} {serial}"

    def people(self, n: int, orcid_from: int) -> list[tuple[str, str, str]]:
        return [
            (self.rng.choice(self.given), self.rng.choice(self.family), fresh_orcid(orcid_from + i))
            for i in range(max(n, MIN_PEOPLE))
        ]


def _recorded() -> tuple[list[str], list[tuple[str, str]]]:
    titles: list[str] = []
    names: list[tuple[str, str]] = []
    for item in _crossref_templates():
        titles.extend(t for t in item.get("title") or [] if isinstance(t, str))
        for author in item.get("author") or []:
            if author.get("given") and author.get("family"):
                names.append((author["given"], author["family"]))
    for entry in _arxiv_entries(ARXIV_FEED.read_text())[1]:
        if title := re.search(r"<title>(.*?)</title>", entry, re.S):
            titles.append(" ".join(title[1].split()))
        for name in re.findall(r"<name>(.*?)</name>", entry):
            given, _, family = name.rpartition(" ")
            names.append((given, family))
    return titles, names


def _words(seed: int) -> _Words:
    titles, names = _recorded()
    return _Words(random.Random(seed), titles, names)


def _start(
    folder: Path, seed: int, works: int, *, orcid_from: int
) -> tuple[_Words, list[tuple[str, str, str]]]:
    """A source's words and its pool of authors (given, family, ORCID iD)."""
    folder.mkdir(parents=True, exist_ok=True)
    words = _words(seed)
    return words, words.people(works // PEOPLE_SHARE, orcid_from=orcid_from)


# ---------------------------------------------------------------- ORCID


def orcid_input(
    works: int, *, seed: int, folder: Path, stored_dois: list[str] | None = None
) -> SourceInput:
    folder.mkdir(parents=True, exist_ok=True)
    words = _words(seed)
    rng = words.rng
    template = json.loads(ORCID_RECORD.read_text())
    groups = template["activities-summary"]["works"]["group"]
    out = SourceInput("orcid")
    serial = 0
    for index in range(max(1, -(-works // WORKS_PER_RECORD))):
        record = copy.deepcopy(template)
        orcid = fresh_orcid(index)
        given, family, _ = words.people(1, 0)[0]
        record["orcid-identifier"].update(path=orcid, uri=f"https://orcid.org/{orcid}")
        record["person"]["name"]["given-names"] = {"value": given}
        record["person"]["name"]["family-name"] = {"value": family}
        record["person"]["name"]["path"] = orcid
        new_groups = []
        for _ in range(min(WORKS_PER_RECORD, works - serial)):
            group = copy.deepcopy(rng.choice(groups))
            ids = {"arxiv": _arxiv_new(serial)}
            if any(e["external-id-type"] == "doi" for e in group["external-ids"]["external-id"]):
                ids["doi"] = out.doi("orcid", serial, stored_dois or [])
            title = words.title(serial)
            for holder in [group, *group["work-summary"]]:
                for ext in holder["external-ids"]["external-id"]:
                    kind = ext["external-id-type"]
                    value = ids.get(kind, f"{ext['external-id-value']}.{serial}")
                    ext["external-id-value"] = value
                    if ext.get("external-id-url") and kind == "doi":
                        ext["external-id-url"] = {"value": f"https://doi.org/{value}"}
            for summary in group["work-summary"]:
                put_code = PUT_CODE_BASE + serial * 10 + group["work-summary"].index(summary)
                summary["put-code"] = put_code
                summary["path"] = f"/{orcid}/work/{put_code}"
                summary["title"]["title"] = {"value": title}
            new_groups.append(group)
            serial += 1
        record["activities-summary"]["works"]["group"] = new_groups
        path = folder / f"record-{orcid}.json"
        out.write(path, json.dumps(record), records=1)
        if serial >= works:
            break
    out.works = serial
    return out


# ---------------------------------------------------------------- Crossref


def _crossref_templates() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in sorted(CROSSREF_DIR.glob("*.json")):
        message = json.loads(path.read_text()).get("message")
        if not isinstance(message, dict):
            continue  # an error body
        if path.name.startswith("work-"):
            items.append(message)
        else:
            items.extend(message.get("items") or [])
    return [item for item in items if item.get("DOI") and item.get("title")]


def crossref_input(
    works: int, *, seed: int, folder: Path, stored_dois: list[str] | None = None
) -> SourceInput:
    words, people = _start(folder, seed + 1, works, orcid_from=1_000_000)
    rng = words.rng
    templates = _crossref_templates()
    envelope = {"status": "ok", "message-type": "work-list", "message-version": "1.0.0"}
    out = SourceInput("crossref")
    for start in range(0, works, CROSSREF_PAGE):
        items = []
        for serial in range(start, min(works, start + CROSSREF_PAGE)):
            item = copy.deepcopy(rng.choice(templates))
            doi = out.doi("crossref", serial, stored_dois or [])
            item["DOI"] = doi
            item["URL"] = f"https://doi.org/{doi}"
            item["title"] = [words.title(serial)]
            for key in ("alternative-id", "relation", "update-to"):
                item.pop(key, None)
            persons = [a for a in item.get("author") or [] if "family" in a]  # not organisations
            # Distinct people: one person is not two authors of one work.
            chosen = rng.sample(people, len(persons)) if len(persons) <= len(people) else []
            for author, (given, family, orcid) in zip(persons, chosen, strict=False):
                author.update(given=given, family=family)
                if author.get("ORCID"):
                    author["ORCID"] = f"https://orcid.org/{orcid}"
            items.append(item)
        message = {"total-results": works, "items-per-page": len(items), "items": items}
        path = folder / f"works-{start // CROSSREF_PAGE + 1:04d}.json"
        out.write(path, json.dumps({**envelope, "message": message}), records=len(items))
    out.works = out.records
    return out


# ---------------------------------------------------------------- arXiv


def _arxiv_entries(text: str) -> tuple[str, list[str], str]:
    entries = re.findall(r"  <entry>.*?</entry>\n", text, re.S)
    head = text[: text.index(entries[0])]
    tail = text[text.index(entries[-1]) + len(entries[-1]) :]
    return head, entries, tail


def arxiv_input(
    works: int, *, seed: int, folder: Path, stored_dois: list[str] | None = None
) -> SourceInput:
    words, people = _start(folder, seed + 2, works, orcid_from=2_000_000)
    rng = words.rng
    head, entries, tail = _arxiv_entries(ARXIV_FEED.read_text())
    out = SourceInput("arxiv")
    old_serials: dict[str, int] = {}
    for start in range(0, works, ARXIV_PAGE):
        chunk = []
        for serial in range(start, min(works, start + ARXIV_PAGE)):
            entry = rng.choice(entries)
            old_id = re.search(r"<id>http://arxiv.org/abs/(.+?)v\d+</id>", entry)
            assert old_id is not None
            if "/" in old_id[1]:
                archive = old_id[1].split("/")[0]
                new_id = _arxiv_old(archive, old_serials.get(archive, 0))
                old_serials[archive] = old_serials.get(archive, 0) + 1
            else:
                new_id = _arxiv_new(5_000_000 + serial)
            entry = entry.replace(old_id[1], new_id)
            # Titles are letters, hyphens and digits: nothing re.sub would read as a group.
            title = f"<title>{escape(words.title(serial))}</title>"
            entry = re.sub(r"<title>.*?</title>", title, entry, count=1, flags=re.S)
            entry = re.sub(
                r"<name>.*?</name>",
                lambda _: f"<name>{escape(' '.join(rng.choice(people)[:2]))}</name>",
                entry,
            )
            if doi := re.search(r"<arxiv:doi[^>]*>(.*?)</arxiv:doi>", entry):
                entry = entry.replace(doi[1], out.doi("arxiv", serial, stored_dois or []))
            chunk.append(entry)
        path = folder / f"query-{start // ARXIV_PAGE + 1:04d}.atom.xml"
        out.write(path, head + "".join(chunk) + tail, records=len(chunk))
    out.works = out.records
    return out


GENERATORS = {"orcid": orcid_input, "crossref": crossref_input, "arxiv": arxiv_input}
