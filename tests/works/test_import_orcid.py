"""import_orcid against real PostgreSQL, with the real ORCID record of ../shared/data/orcid/.

The shared record has a person and works but no employments or education, so
the affiliation tests add a few in ORCID v3.0's shape (hand-written here, as
are their years and the Scopus id). The OpenAlex side of "no duplicates" is a
hand-written OpenAlex page that copies the record's real DOI and titles: the
shared OpenAlex data holds none of this person's works.
"""

import copy
import json
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import InstitutionFactory
from works.importers import import_entities
from works.importers.orcid import import_orcid_paths
from works.management.commands.import_orcid import Command
from works.models import (
    ORCID_PUT_CODE,
    Author,
    AuthorAffiliation,
    AuthorMetrics,
    Authorship,
    Work,
)
from works.orcid_api import OrcidClient
from works.signals import authors_changed

pytestmark = pytest.mark.django_db

ORCID = "0000-0002-4110-3511"
BEST_PRACTICES_DOI = "10.3847/1538-4365/ac6268"
HEURISTIC_DOI = "10.1007/3-540-51044-3_24"
CLOSING_THE_LOOP = "Closing the Loop: Linking Datasets to Publications and Back"


@pytest.fixture
def record_path(shared_data: Path) -> Path:
    return shared_data / "orcid" / f"record-v3-{ORCID}.json"


@pytest.fixture
def record(record_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(record_path.read_text())
    return data


def write(tmp_path: Path, data: Any, name: str = "record.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_orcid", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def failing(*args: str, **options: Any) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_orcid", *args, stdout=StringIO(), stderr=err, **options)
    return str(failure.value), err.getvalue()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row an import writes, with updated_at: a re-import must leave them all alone."""
    return {
        "works": sorted(
            Work.objects.values_list("id", "doi", "arxiv_id", "title", "other_ids", "updated_at")
        ),
        "authors": sorted(
            Author.objects.values_list("id", "display_name", "name_variants", "updated_at")
        ),
        "authorships": sorted(
            Authorship.objects.values_list("id", "work_id", "author_id", "position", "origin")
        ),
        "affiliations": sorted(
            AuthorAffiliation.objects.values_list(
                "id", "institution_id", "institution_name", "years", "hidden"
            )
        ),
    }


def employment(
    put_code: int,
    name: str,
    *,
    start: int | None,
    end: int | None,
    ror: str = "",
    grid: str = "",
    kind: str = "employment",
) -> dict[str, Any]:
    """An affiliation-group as ORCID v3.0 writes it (its summary's fields)."""
    disambiguated = None
    if ror:
        disambiguated = {
            "disambiguated-organization-identifier": f"https://ror.org/{ror}",
            "disambiguation-source": "ROR",
        }
    elif grid:
        disambiguated = {
            "disambiguated-organization-identifier": grid,
            "disambiguation-source": "GRID",
        }
    return {
        "external-ids": {"external-id": []},
        "summaries": [
            {
                f"{kind}-summary": {
                    "put-code": put_code,
                    "department-name": "Astrophysics Data System",
                    "role-title": "Program Manager",
                    "start-date": {"year": {"value": str(start)}} if start else None,
                    "end-date": {"year": {"value": str(end)}, "month": None} if end else None,
                    "organization": {
                        "name": name,
                        "address": {"city": "Cambridge", "region": "MA", "country": "US"},
                        "disambiguated-organization": disambiguated,
                    },
                    "visibility": "PUBLIC",
                    "path": f"/{ORCID}/{kind}/{put_code}",
                }
            }
        ],
    }


@pytest.fixture
def full_record(record: dict[str, Any]) -> dict[str, Any]:
    """The shared record with other names, a Scopus id, employments and education."""
    data = copy.deepcopy(record)
    data["person"]["other-names"] = {"other-name": [{"content": "A. Accomazzi", "put-code": 1}]}
    data["person"]["external-identifiers"] = {
        "external-identifier": [
            {
                "external-id-type": "Scopus Author ID",
                "external-id-value": "6603690468",
                "external-id-url": {
                    "value": "http://www.scopus.com/inward/authorDetails.url?authorID=6603690468"
                },
                "external-id-relationship": "SELF",
            }
        ]
    }
    data["activities-summary"]["employments"] = {
        "affiliation-group": [
            employment(
                501,
                "Center for Astrophysics | Harvard & Smithsonian",
                start=2019,
                end=None,
                ror="03c3r2d17",
            ),
            employment(
                502,
                "Smithsonian Astrophysical Observatory",
                start=1995,
                end=2018,
                grid="grid.455754.2",
            ),
        ]
    }
    data["activities-summary"]["educations"] = {
        "affiliation-group": [
            employment(
                601, "University of Pavia", start=1983, end=1988, ror="00s6t1f81", kind="education"
            )
        ]
    }
    return data


def test_the_shared_record_brings_the_person_and_their_works(record_path: Path) -> None:
    out, err = run(str(record_path))

    author = Author.objects.get(orcid=ORCID)
    assert author.display_name == "Alberto Accomazzi"
    assert author.openalex_id == ""
    works = {w.title: w for w in Work.objects.filter(authorships__author=author)}
    # Four summaries in three groups: the two summaries of one paper are one work.
    assert len(works) == Work.objects.count() == 3
    assert {w.doi for w in works.values()} == {BEST_PRACTICES_DOI, HEURISTIC_DOI, ""}
    best = works["Best Practices for Data Publication in the Astronomical Literature"]
    assert (best.arxiv_id, best.type, best.publication_year) == ("2106.01477", "article", 2022)
    assert best.other_ids == {"bibcode": "2022ApJS..260....5C", ORCID_PUT_CODE: "111778373"}
    loop = works[CLOSING_THE_LOOP]
    assert loop.other_ids[ORCID_PUT_CODE] == "26708993"
    assert (
        works[
            "An approach to heuristic exploitation of astronomers' knowledge in automatic "
            "interpretation of optical pictures"
        ].type
        == "book-chapter"
    )
    assert set(Authorship.objects.values_list("origin", "status", "position")) == {
        ("orcid", "asserted", 0)
    }
    assert out.splitlines() == ["created 4, updated 0, unchanged 0, skipped 0", "1 author changed"]
    assert err == ""


def test_a_reimport_changes_nothing(record_path: Path) -> None:
    run(str(record_path))
    before = snapshot()

    out, _ = run(str(record_path))

    assert snapshot() == before
    assert out.splitlines() == ["created 0, updated 0, unchanged 4, skipped 0", "0 authors changed"]


def test_person_names_ids_and_affiliations_with_years(tmp_path: Path, full_record) -> None:
    cfa = InstitutionFactory(
        ror="03c3r2d17", display_name="Harvard-Smithsonian Center for Astrophysics"
    )
    this_year = timezone.localdate().year

    run(str(write(tmp_path, full_record)))

    author = Author.objects.get(orcid=ORCID)
    assert author.name_variants == ["A. Accomazzi"]
    assert author.external_ids == {
        "scopus": "http://www.scopus.com/inward/authorDetails.url?authorID=6603690468"
    }
    # The current employment is where the author is now.
    assert author.last_known_institution == cfa
    lines = {
        line.source_key: line
        for line in AuthorAffiliation.objects.filter(author=author, origin="orcid")
    }
    assert set(lines) == {"employment/501", "employment/502", "education/601"}
    now = lines["employment/501"]
    assert (now.institution, now.until_present) == (cfa, True)
    assert now.years == list(range(2019, this_year + 1))
    assert now.organization_ids == {"ror": "03c3r2d17"}
    before = lines["employment/502"]
    # No institution holds a GRID id: the line names the organisation itself.
    assert (before.institution, before.institution_name) == (
        None,
        "Smithsonian Astrophysical Observatory",
    )
    assert before.years == list(range(1995, 2019)) and not before.until_present
    assert before.organization_ids == {"grid": "grid.455754.2"}
    # A ROR id no institution holds yet: no institution is made from ORCID.
    study = lines["education/601"]
    assert (study.institution, study.years) == (None, list(range(1983, 1989)))


def test_a_reimport_keeps_a_hidden_line_hidden_and_drops_lines_orcid_dropped(
    tmp_path: Path, full_record
) -> None:
    path = write(tmp_path, full_record)
    run(str(path))
    AuthorAffiliation.objects.filter(source_key="employment/502").update(hidden=True)
    before = snapshot()

    out, _ = run(str(path))
    assert snapshot() == before
    assert out.startswith("created 0, updated 0, unchanged 7, skipped 0")

    full_record["activities-summary"]["employments"]["affiliation-group"] = []
    run(str(write(tmp_path, full_record)))
    remaining = AuthorAffiliation.objects.filter(origin="orcid")
    assert {(line.source_key, line.hidden) for line in remaining} == {
        ("employment/502", True),
        ("education/601", False),
    }


def openalex_page() -> list[dict[str, Any]]:
    """OpenAlex works of the same person (hand-written: real DOI and titles of the record).

    The first is the ORCID record's paper under its DOI (in capitals, as
    publishers write it); the second its
    2007 paper under a title written differently and no DOI, with only a co-author.
    """
    accomazzi = {
        "id": "https://openalex.org/A5000000001",
        "display_name": "Alberto Accomazzi",
        "orcid": f"https://orcid.org/{ORCID}",
    }
    kurtz = {"id": "https://openalex.org/A5000000002", "display_name": "Michael J. Kurtz"}

    def authorship(author: dict[str, Any], position: str) -> dict[str, Any]:
        return {
            "author_position": position,
            "author": author,
            "institutions": [],
            "raw_author_name": author["display_name"],
        }

    return [
        {
            "id": "https://openalex.org/W4000000001",
            "doi": "https://doi.org/10.3847/1538-4365/AC6268",
            "title": "Best Practices for Data Publication in the Astronomical Literature",
            "publication_year": 2022,
            "type": "article",
            "cited_by_count": 12,
            "authorships": [authorship(kurtz, "first"), authorship(accomazzi, "last")],
        },
        {
            "id": "https://openalex.org/W4000000002",
            "doi": None,
            "title": "Closing the loop - linking datasets to publications and back",
            "publication_year": 2007,
            "type": "article",
            "authorships": [authorship(kurtz, "first")],
        },
    ]


def test_on_top_of_openalex_works_sharing_a_doi_or_title_are_not_duplicated(
    record_path: Path,
) -> None:
    import_entities(openalex_page())
    openalex_author = Author.objects.get(openalex_id="A5000000001")
    best = Work.objects.get(openalex_id="W4000000001")
    loop = Work.objects.get(openalex_id="W4000000002")

    out, _ = run(str(record_path))

    # The author is the OpenAlex one, found by the ORCID iD; one new work only.
    assert Author.objects.filter(orcid=ORCID).get() == openalex_author
    assert Work.objects.count() == 3
    best.refresh_from_db()
    assert best.doi == BEST_PRACTICES_DOI
    # The ids OpenAlex lacked are added; OpenAlex's authorship is left as it was.
    assert best.arxiv_id == "2106.01477"
    assert best.other_ids["bibcode"] == "2022ApJS..260....5C"
    assert ORCID_PUT_CODE not in best.other_ids
    assert list(best.authorships.values_list("author__display_name", "position", "origin")) == [
        ("Michael J. Kurtz", 0, "openalex"),
        ("Alberto Accomazzi", 1, "openalex"),
    ]
    # Matched by title and year: the ORCID authorship joins after the listed authors.
    assert list(loop.authorships.values_list("author__display_name", "position", "origin")) == [
        ("Michael J. Kurtz", 0, "openalex"),
        ("Alberto Accomazzi", 1, "orcid"),
    ]
    assert loop.title == "Closing the loop - linking datasets to publications and back"
    created = Work.objects.exclude(openalex_id__startswith="W4").get()
    assert created.doi == HEURISTIC_DOI
    assert out.startswith("created 1, updated 2, unchanged 1, skipped 0")

    before = snapshot()
    out, _ = run(str(record_path))
    assert snapshot() == before
    assert out.startswith("created 0, updated 0, unchanged 4, skipped 0")
    # OpenAlex again keeps what ORCID added, and changes nothing either.
    stats = import_entities(openalex_page())
    assert (stats.created, stats.updated) == (0, 0)
    assert snapshot() == before


def test_a_work_the_record_no_longer_lists_loses_orcids_authorship_but_not_a_decision(
    tmp_path: Path, record: dict[str, Any]
) -> None:
    run(str(write(tmp_path, record)))
    author = Author.objects.get(orcid=ORCID)
    Authorship.objects.filter(author=author, work__doi=HEURISTIC_DOI).update(status="disputed")

    record["activities-summary"]["works"]["group"] = record["activities-summary"]["works"]["group"][
        :1
    ]
    run(str(write(tmp_path, record)))

    assert set(Authorship.objects.filter(author=author).values_list("work__title", "status")) == {
        ("Best Practices for Data Publication in the Astronomical Literature", "asserted"),
        (
            "An approach to heuristic exploitation of astronomers' knowledge in automatic "
            "interpretation of optical pictures",
            "disputed",
        ),
    }


def test_an_import_recounts_metrics_and_retires_pages_once_committed(
    record_path: Path, django_capture_on_commit_callbacks
) -> None:
    received: list[list[int]] = []

    def listener(sender: Any, author_ids: list[int], **kwargs: Any) -> None:
        received.append(author_ids)

    authors_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_orcid_paths([record_path])
        with django_capture_on_commit_callbacks(execute=True):
            import_orcid_paths([record_path])  # unchanged: nobody to tell
    finally:
        authors_changed.disconnect(listener)

    author = Author.objects.get(orcid=ORCID)
    assert received == [[author.pk]]
    assert AuthorMetrics.objects.get(author=author).works == 3


# --- bad input -----------------------------------------------------------


def test_a_work_without_a_title_is_named_and_skipped_and_the_rest_imported(
    tmp_path: Path, record: dict[str, Any]
) -> None:
    record["activities-summary"]["works"]["group"][1]["work-summary"][0]["title"] = None
    path = write(tmp_path, record)

    out, err = run(str(path))

    assert err.strip() == (
        f"{path}:works/group[1] put-code 26708993: a work without a title: not imported"
    )
    assert out.startswith("created 3, updated 0, unchanged 0, skipped 1")
    assert Work.objects.count() == 2


def test_strict_stops_at_the_first_problem_and_writes_nothing(
    tmp_path: Path, record: dict[str, Any]
) -> None:
    record["activities-summary"]["works"]["group"][1]["work-summary"][0]["title"] = None
    path = write(tmp_path, record)

    message, _ = failing(str(path), strict=True)

    assert message == (
        f"{path}:works/group[1] put-code 26708993: a work without a title: not imported\n"
        "Strict import stopped: nothing was written."
    )
    assert not Author.objects.exists() and not Work.objects.exists()


def test_a_truncated_file_is_refused_by_name(tmp_path: Path, record_path: Path) -> None:
    path = tmp_path / "truncated.json"
    path.write_bytes(record_path.read_bytes()[:5000])

    message, _ = failing(str(path))

    assert message.startswith(
        f"Could not import: {path}: truncated JSON: the file ends before its JSON is complete"
    )
    assert not Author.objects.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<record>xml</record>", "not JSON: Expecting value at line 1 column 1"),
        (b"", "empty file: not an ORCID record"),
        (b"[1, 2]", "not an ORCID record: the document is a JSON array"),
        (
            b'{"meta": {}, "results": []}',
            "not an ORCID record: it has no orcid-identifier.path",
        ),
        (
            b'{"orcid-identifier": {"path": "0000-0002-4110-3512"}}',
            "orcid-identifier.path: ORCID iD with a wrong check digit",
        ),
    ],
)
def test_a_file_that_is_not_an_orcid_record_gets_a_clear_error(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "other.json"
    path.write_bytes(content)

    message, err = failing(str(path))

    assert message.startswith(f"Could not import: {path}: {reason}")
    assert f"{path}:file: {reason}" in err


def test_a_bad_file_does_not_stop_the_good_one(tmp_path: Path, record_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")

    message, _ = failing(str(bad), str(record_path))

    assert message.startswith(f"Could not import: {bad}: truncated JSON")
    assert Author.objects.filter(orcid=ORCID).exists()


# --- the public API --------------------------------------------------------


def api_command(handler: Any) -> Command:
    command = Command(stdout=StringIO(), stderr=StringIO())
    command.orcid_client = OrcidClient(
        http=httpx.Client(transport=httpx.MockTransport(handler)), sleep=lambda _: None
    )
    return command


def test_orcid_option_fetches_the_record_as_json(record: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json=record)

    command = api_command(handler)
    call_command(command, orcid=f"https://orcid.org/{ORCID}")

    assert [str(r.url) for r in seen] == [f"https://pub.orcid.org/v3.0/{ORCID}/record"] * 2
    assert seen[0].headers["Accept"] == "application/json"
    assert Work.objects.filter(authorships__author__orcid=ORCID).count() == 3


def test_orcid_option_reports_an_unknown_record() -> None:
    command = api_command(lambda request: httpx.Response(404, json={"response-code": 404}))

    with pytest.raises(CommandError, match=f"ORCID has no such record: .*/{ORCID}/record"):
        call_command(command, orcid=ORCID)


def test_orcid_option_refuses_a_malformed_id() -> None:
    command = api_command(lambda request: httpx.Response(500))

    with pytest.raises(CommandError, match="not an ORCID iD"):
        call_command(command, orcid="0000-0002-4110")


def test_openalex_after_orcid_takes_over_the_works_orcid_created_instead_of_copying_them(
    record_path: Path,
) -> None:
    run(str(record_path))
    from_orcid = Work.objects.get(doi=BEST_PRACTICES_DOI)

    stats = import_entities(openalex_page())

    # The work ORCID created is now OpenAlex's W4000000001, with ORCID's ids kept.
    assert Work.objects.filter(doi=BEST_PRACTICES_DOI).get() == from_orcid
    from_orcid.refresh_from_db()
    assert from_orcid.openalex_id == "W4000000001"
    assert from_orcid.arxiv_id == "2106.01477"
    assert from_orcid.other_ids[ORCID_PUT_CODE] == "111778373"
    assert not [p for p in stats.problems if "DOI" in p.reason]
    # The 2007 paper had no DOI for OpenAlex to find it by: two copies until merged.
    assert Work.objects.count() == 4
    # The person ORCID created is OpenAlex's A5000000001, found by the iD: one record.
    person = Author.objects.get(orcid=ORCID)
    assert person.openalex_id == "A5000000001"
    assert not Author.objects.filter(openalex_id="A5000000001").exclude(pk=person.pk).exists()
    assert not [p for p in stats.problems if "ORCID" in p.reason]
    # Accomazzi's authorship is ORCID's, on his one record; no second one beside it.
    assert sorted(from_orcid.authorships.values_list("author__openalex_id", flat=True)) == [
        "A5000000001",
        "A5000000002",
    ]
    before = snapshot()
    run(str(record_path))
    import_entities(openalex_page())
    assert snapshot() == before


def test_a_journal_title_is_the_works_venue_once(tmp_path: Path, record: dict[str, Any]) -> None:
    summary = record["activities-summary"]["works"]["group"][2]["work-summary"][0]
    summary["journal-title"] = {"value": "Lecture Notes in Physics"}
    path = write(tmp_path, record)

    run(str(path))
    run(str(path))

    work = Work.objects.get(doi=HEURISTIC_DOI)
    assert work.source is not None and work.source.display_name == "Lecture Notes in Physics"
    assert Work.objects.filter(source=work.source).count() == 1
    assert Work.objects.exclude(pk=work.pk).filter(source__isnull=False).count() == 0


def test_a_stored_author_without_an_institution_gets_the_current_employment_and_it_is_announced(
    tmp_path: Path, full_record
) -> None:
    from works.signals import affiliations_changed

    author = Author.objects.create(display_name="Alberto Accomazzi", orcid=ORCID)
    cfa = InstitutionFactory(ror="03c3r2d17")
    received: list[Any] = []

    def listener(sender: Any, changes: Any, **kwargs: Any) -> None:
        received.append(changes)

    affiliations_changed.connect(listener)
    try:
        run(str(write(tmp_path, full_record)))
        run(str(write(tmp_path, full_record)))
    finally:
        affiliations_changed.disconnect(listener)

    author.refresh_from_db()
    assert author.last_known_institution == cfa
    assert received == [[(author.pk, None, cfa.pk)]]


def test_a_record_merged_into_another_brings_the_works_to_the_survivor(record_path: Path) -> None:
    survivor = Author.objects.create(display_name="Accomazzi, Alberto (staff's choice)")
    Author.objects.create(display_name="A. Accomazzi", orcid=ORCID, merged_into=survivor)

    run(str(record_path))

    assert Author.objects.count() == 2
    survivor.refresh_from_db()
    assert survivor.display_name == "Accomazzi, Alberto (staff's choice)"
    assert set(Work.objects.values_list("authorships__author", flat=True)) == {survivor.pk}


def test_strict_writes_no_file_when_a_later_one_is_bad(tmp_path: Path, record_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"orcid-identifier": null}')

    message, _ = failing(str(record_path), str(bad), strict=True)

    assert message.startswith(f"{bad}:file: not an ORCID record")
    assert not Author.objects.exists() and not Work.objects.exists()


def openalex_accomazzi(*alternatives: str) -> dict[str, Any]:
    """Accomazzi's OpenAlex author entity (hand-written), with its alternative names."""
    return {
        "id": "https://openalex.org/A5000000001",
        "display_name": "Alberto Accomazzi",
        "orcid": f"https://orcid.org/{ORCID}",
        "display_name_alternatives": list(alternatives),
        "works_count": 3,
        "cited_by_count": 10,
    }


def test_an_openalex_reimport_keeps_the_name_variants_orcid_added(
    tmp_path: Path, full_record: dict[str, Any]
) -> None:
    import_entities([openalex_accomazzi("Alberto Accomazzi", "Accomazzi A.")])
    run(str(write(tmp_path, full_record)))
    person = Author.objects.get(orcid=ORCID)
    assert person.name_variants == ["Alberto Accomazzi", "Accomazzi A.", "A. Accomazzi"]

    # OpenAlex, asked again, now lists one more spelling and no longer one it had.
    import_entities([openalex_accomazzi("Accomazzi A.", "Alberto G. Accomazzi")])

    person.refresh_from_db()
    assert person.openalex_id == "A5000000001"
    assert person.name_variants == [
        "Alberto Accomazzi",
        "Accomazzi A.",
        "A. Accomazzi",
        "Alberto G. Accomazzi",
    ]
    # The Scopus id ORCID added stays too.
    assert person.external_ids["scopus"].endswith("authorID=6603690468")
    before = snapshot()
    import_entities([openalex_accomazzi("Accomazzi A.", "Alberto G. Accomazzi")])
    run(str(write(tmp_path, full_record)))
    assert snapshot() == before
