"""The OpenAlex importer against real PostgreSQL, with small hand-written records.

tests/works/fixtures/openalex/ holds OpenAlex-shaped records written for these
tests; variants (JSON lines, gzip, broken copies) are derived from them here.
"""

import copy
import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import AuthorFactory
from works.importers import ImportAborted, import_entities, import_paths
from works.management.commands.import_openalex import Command
from works.models import (
    Author,
    Authorship,
    AuthorTopic,
    Institution,
    Source,
    Topic,
    Work,
    WorkTopic,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "openalex"
ENVELOPE = FIXTURES / "works-page.json"
WORK_IDS = {"W900000001", "W900000002", "W900000003"}


def works() -> list[dict[str, Any]]:
    return json.loads(ENVELOPE.read_text())["results"]


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run_command(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_openalex", *args, no_progress=True, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def failing_command(*args: str, **options: Any) -> tuple[str, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_openalex", *args, no_progress=True, stdout=out, stderr=err, **options)
    return str(failure.value), out.getvalue(), err.getvalue()


def db_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every imported row with its updated_at, to prove a re-import touched nothing."""
    return {
        "works": sorted(Work.objects.values_list("openalex_id", "title", "updated_at")),
        "authors": sorted(Author.objects.values_list("openalex_id", "orcid", "updated_at")),
        "institutions": sorted(Institution.objects.values_list("openalex_id", "updated_at")),
        "topics": sorted(Topic.objects.values_list("openalex_id", "updated_at")),
        "sources": sorted(Source.objects.values_list("openalex_id", "updated_at")),
        "authorships": sorted(Authorship.objects.values_list("id", "position", "raw_author_name")),
        "authorship_institutions": sorted(
            Authorship.institutions.through.objects.values_list("authorship_id", "institution_id")
        ),
        "work_topics": sorted(WorkTopic.objects.values_list("work_id", "topic_id", "score")),
    }


def assert_no_half_written_works() -> None:
    """Each work in the database has every authorship its fixture record lists,
    and no author is left over from a work that was not written."""
    listed = {
        r["id"].rsplit("/", 1)[1]: {a["author"]["id"].rsplit("/", 1)[1] for a in r["authorships"]}
        for r in works()
    }
    for work in Work.objects.prefetch_related("authorships__author"):
        written = {a.author.openalex_id for a in work.authorships.all()}
        assert written == listed[work.openalex_id], work.openalex_id
    assert not Author.objects.filter(authorships__isnull=True).exists()


# Formats


def test_envelope_imports_works_with_everything_they_bring() -> None:
    stats = import_paths([ENVELOPE])

    assert (stats.created, stats.updated, stats.unchanged, stats.skipped) == (3, 0, 0, 0)
    assert stats.problems == []
    assert set(Work.objects.values_list("openalex_id", flat=True)) == WORK_IDS
    assert set(Author.objects.values_list("openalex_id", flat=True)) == {
        "A900000001",
        "A900000002",
        "A900000003",
    }
    assert set(Institution.objects.values_list("openalex_id", flat=True)) == {
        "I900000001",
        "I900000002",
        "I900000003",
    }
    assert set(Source.objects.values_list("openalex_id", flat=True)) == {
        "S900000001",
        "S900000002",
    }
    assert set(Topic.objects.values_list("openalex_id", flat=True)) == {"T900001", "T900002"}


def test_work_fields_are_normalised() -> None:
    import_paths([ENVELOPE])
    gnn = Work.objects.select_related("source").get(openalex_id="W900000001")

    assert gnn.doi == "10.1234/gnn.2022.001"
    assert gnn.arxiv_id == ""
    assert gnn.title == "Graph neural networks for citation analysis"
    assert gnn.type == "article"
    assert gnn.publication_year == 2022
    assert str(gnn.publication_date) == "2022-03-15"
    assert gnn.language == "en"
    assert gnn.cited_by_count == 12
    assert gnn.source is not None
    assert (gnn.source.display_name, gnn.source.issn_l, gnn.source.type) == (
        "Journal of Test Informatics",
        "1234-5678",
        "journal",
    )
    assert gnn.source.host_organization_name == "Test Press"


def test_abstract_is_rebuilt_from_the_inverted_index() -> None:
    import_paths([ENVELOPE])

    abstract = Work.objects.get(openalex_id="W900000001").abstract
    assert abstract == "Graphs help us read citation networks. We read them."


def test_arxiv_id_comes_from_an_arxiv_doi_or_an_arxiv_location() -> None:
    import_paths([ENVELOPE])

    assert Work.objects.get(openalex_id="W900000002").arxiv_id == "2201.00001"
    assert Work.objects.get(openalex_id="W900000003").arxiv_id == "2105.01234"


def test_title_falls_back_to_display_name() -> None:
    import_paths([ENVELOPE])

    assert Work.objects.get(openalex_id="W900000003").title == "Notes on placeholders"


def test_authorships_keep_published_order_names_and_institutions() -> None:
    import_paths([ENVELOPE])

    rows = list(
        Authorship.objects.filter(work__openalex_id="W900000001")
        .order_by("position")
        .values_list("author__openalex_id", "position", "raw_author_name", "is_corresponding")
    )
    # The author listed twice keeps the first listing only.
    assert rows == [("A900000001", 0, "A. Example", True), ("A900000002", 1, "Bo Sample", False)]
    bo = Authorship.objects.get(work__openalex_id="W900000001", author__openalex_id="A900000002")
    assert set(bo.institutions.values_list("ror", flat=True)) == {"0test0147", "0test0244"}
    assert bo.origin == Authorship.Origin.OPENALEX
    assert bo.status == Authorship.Status.ASSERTED


def test_authors_and_institutions_from_works_carry_their_identifiers() -> None:
    import_paths([ENVELOPE])

    assert Author.objects.get(openalex_id="A900000001").orcid == "0000-0002-1825-0097"
    assert Author.objects.get(openalex_id="A900000002").orcid == ""
    testing = Institution.objects.get(openalex_id="I900000001")
    assert (testing.ror, testing.country_code, testing.type) == ("0test0147", "CA", "education")
    assert testing.display_name == "University of Testing"


def test_work_topics_keep_scores_and_mark_the_primary_one() -> None:
    import_paths([ENVELOPE])

    rows = set(
        WorkTopic.objects.filter(work__openalex_id="W900000001").values_list(
            "topic__openalex_id", "score", "is_primary"
        )
    )
    assert rows == {("T900001", 0.9912, True), ("T900002", 0.8, False)}
    topic = Topic.objects.get(openalex_id="T900001")
    assert (topic.subfield, topic.field, topic.domain) == (
        "Information Systems",
        "Computer Science",
        "Physical Sciences",
    )


def test_json_lines_give_the_same_rows_as_the_envelope(tmp_path) -> None:
    import_paths([write_lines(tmp_path / "works.jsonl", works())])
    from_lines = db_snapshot()

    stats = import_paths([ENVELOPE])

    assert (stats.created, stats.updated, stats.unchanged) == (0, 0, 3)
    assert db_snapshot() == from_lines


@pytest.mark.parametrize("name", ["works.jsonl.gz", "part_000.gz", "updated_date=2025-01-01"])
def test_gzipped_json_lines_are_read_whatever_the_name(tmp_path, name) -> None:
    path = tmp_path / name
    with gzip.open(path, "wt") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in works())

    stats = import_paths([path])

    assert stats.created == 3
    assert set(Work.objects.values_list("openalex_id", flat=True)) == WORK_IDS


def test_single_entity_files_import_author_institution_topic_and_source() -> None:
    paths = [FIXTURES / n for n in ("A900000001.json", "I900000001.json", "T900001.json")]
    stats = import_paths([*paths, FIXTURES / "S900000001.json"])

    # The author brought its institution and topic along; their own files complete them.
    assert (stats.created, stats.updated, stats.skipped, stats.problems) == (2, 2, 0, [])
    ada = Author.objects.select_related("last_known_institution").get(openalex_id="A900000001")
    assert ada.display_name == "Ada Example"
    assert ada.orcid == "0000-0002-1825-0097"
    assert ada.name_variants == ["A. Example", "Ada Example", "Example, Ada"]
    assert (ada.works_count, ada.cited_by_count) == (2, 12)
    assert ada.last_known_institution is not None
    assert ada.last_known_institution.openalex_id == "I900000001"
    assert set(
        AuthorTopic.objects.filter(author=ada).values_list("topic__openalex_id", "count")
    ) == {("T900001", 2), ("T900003", 1)}
    testing = Institution.objects.get(openalex_id="I900000001")
    assert testing.email_domains == ["testing.example.edu"]
    topic = Topic.objects.get(openalex_id="T900001")
    assert topic.description.startswith("Papers on how citations")
    assert topic.keywords == ["Citation Analysis", "Bibliometrics", "Network Science"]
    source = Source.objects.get(openalex_id="S900000001")
    assert (source.type, source.issn_l, source.host_organization_name) == (
        "journal",
        "1234-5678",
        "Test Press",
    )


def test_author_entity_after_works_completes_the_author_without_losing_works() -> None:
    import_paths([ENVELOPE])
    stats = import_paths([FIXTURES / "A900000001.json"])

    assert stats.updated == 1
    ada = Author.objects.get(openalex_id="A900000001")
    assert ada.works_count == 2
    assert ada.authorships.count() == 1
    assert stats.changed_author_ids == {ada.id}


def test_a_work_copy_without_orcid_keeps_the_known_orcid(tmp_path) -> None:
    import_paths([FIXTURES / "A900000001.json"])
    record = works()[0]
    record["authorships"][0]["author"]["orcid"] = None

    import_paths([write_lines(tmp_path / "w.jsonl", [record])])

    assert Author.objects.get(openalex_id="A900000001").orcid == "0000-0002-1825-0097"


def test_institution_entity_adds_its_domain_to_curated_ones() -> None:
    import_paths([ENVELOPE])
    Institution.objects.filter(openalex_id="I900000001").update(email_domains=["staff.example"])

    import_paths([FIXTURES / "I900000001.json"])
    again = import_paths([FIXTURES / "I900000001.json"])

    testing = Institution.objects.get(openalex_id="I900000001")
    assert testing.email_domains == ["staff.example", "testing.example.edu"]
    assert again.unchanged == 1


# Re-imports


def test_reimport_same_file_changes_nothing() -> None:
    import_paths([ENVELOPE, FIXTURES / "A900000001.json", FIXTURES / "I900000001.json"])
    before = db_snapshot()

    stats = import_paths([ENVELOPE, FIXTURES / "A900000001.json", FIXTURES / "I900000001.json"])

    assert (stats.created, stats.updated, stats.unchanged, stats.skipped) == (0, 0, 5, 0)
    assert stats.changed_author_ids == set()
    assert db_snapshot() == before


def test_updated_copy_of_one_work_updates_that_row_only(tmp_path) -> None:
    import_paths([ENVELOPE])
    before = {w.openalex_id: w.updated_at for w in Work.objects.all()}
    authors_before = {a.openalex_id: a.updated_at for a in Author.objects.all()}
    records = works()
    records[1]["title"] = "A preprint about sampling, revised"
    records[1]["cited_by_count"] = 5

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert (stats.created, stats.updated, stats.unchanged) == (0, 1, 2)
    after = {w.openalex_id: w.updated_at for w in Work.objects.all()}
    assert after["W900000002"] > before["W900000002"]
    assert {k: v for k, v in after.items() if k != "W900000002"} == {
        k: v for k, v in before.items() if k != "W900000002"
    }
    revised = Work.objects.get(openalex_id="W900000002")
    assert (revised.title, revised.cited_by_count) == ("A preprint about sampling, revised", 5)
    # Its authors are announced (their pages and metrics show its title and
    # citations), but their records and authorships are untouched.
    assert stats.changed_author_ids == set(
        Authorship.objects.filter(work=revised).values_list("author_id", flat=True)
    )
    assert {a.openalex_id: a.updated_at for a in Author.objects.all()} == authors_before


def test_author_no_longer_listed_is_removed_and_reported_changed(tmp_path) -> None:
    import_paths([ENVELOPE])
    records = works()
    del records[0]["authorships"][1]  # Bo Sample leaves W900000001

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    bo = Author.objects.get(openalex_id="A900000002")
    assert not Authorship.objects.filter(work__openalex_id="W900000001", author=bo).exists()
    assert stats.updated == 1
    assert stats.changed_author_ids == {bo.id}
    assert Authorship.institutions.through.objects.filter(authorship__author=bo).count() == 1


def test_new_author_on_a_work_is_the_only_changed_author(tmp_path) -> None:
    import_paths([ENVELOPE])
    records = works()
    records[2]["authorships"].append(
        {
            "author": {"id": "https://openalex.org/A900000009", "display_name": "Di New"},
            "institutions": [],
            "raw_author_name": "Di New",
        }
    )

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    di = Author.objects.get(openalex_id="A900000009")
    assert stats.changed_author_ids == {di.id}
    assert Authorship.objects.get(author=di).position == 1


def links_by_openalex_id() -> dict[str, set[tuple[Any, ...]]]:
    return {
        "authorships": {
            (
                a.work.openalex_id,
                a.author.openalex_id,
                a.position,
                a.raw_author_name,
                *sorted(a.institutions.values_list("openalex_id", flat=True)),
            )
            for a in Authorship.objects.select_related("work", "author")
        },
        "work_topics": set(
            WorkTopic.objects.values_list("work__openalex_id", "topic__openalex_id", "score")
        ),
    }


def test_a_batch_of_new_and_known_works_writes_both_as_a_fresh_import_would(tmp_path) -> None:
    records = works()
    path = write_lines(tmp_path / "works.jsonl", records)
    import_paths([path])
    fresh = links_by_openalex_id()
    Work.objects.all().delete()
    import_paths([write_lines(tmp_path / "first.jsonl", records[1:2])])
    records[1]["authorships"].pop()
    import_paths([write_lines(tmp_path / "changed.jsonl", records[1:2])])

    # The known work gets its author back in the same batch as two new works.
    stats = import_paths([path])

    assert (stats.created, stats.updated, stats.unchanged) == (2, 1, 0)
    assert links_by_openalex_id() == fresh


def test_changed_author_ids_on_first_import_are_all_the_authors() -> None:
    stats = import_paths([ENVELOPE])

    assert stats.changed_author_ids == set(Author.objects.values_list("id", flat=True))


def test_changed_institutions_of_an_authorship_mark_its_author_changed(tmp_path) -> None:
    import_paths([ENVELOPE])
    records = works()
    records[1]["authorships"][0]["institutions"] = []

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    bo = Author.objects.get(openalex_id="A900000002")
    assert stats.changed_author_ids == {bo.id}
    assert not Authorship.objects.get(
        work__openalex_id="W900000002", author=bo
    ).institutions.exists()


def test_confirmed_and_disputed_authorships_survive_a_reimport(tmp_path, django_user_model) -> None:
    import_paths([ENVELOPE])
    person = django_user_model.objects.create_user(username="ada", password="x")
    confirmed = Authorship.objects.get(
        work__openalex_id="W900000001", author__openalex_id="A900000001"
    )
    disputed = Authorship.objects.get(
        work__openalex_id="W900000001", author__openalex_id="A900000002"
    )
    for row, status in ((confirmed, "confirmed"), (disputed, "disputed")):
        Authorship.objects.filter(pk=row.pk).update(
            status=status, status_changed_by=person, raw_author_name="Set by a person"
        )
    records = works()
    records[0]["authorships"][0]["raw_author_name"] = "Changed at the source"
    records[0]["authorships"][0]["institutions"] = []
    del records[0]["authorships"][1]  # the disputed one is gone from the source

    import_paths([write_lines(tmp_path / "works.jsonl", records)])

    for row, status in ((confirmed, "confirmed"), (disputed, "disputed")):
        row.refresh_from_db()
        assert (row.status, row.status_changed_by, row.raw_author_name) == (
            status,
            person,
            "Set by a person",
        )
    assert confirmed.institutions.count() == 1
    assert disputed.institutions.count() == 2


def test_authorships_from_another_origin_are_left_alone(tmp_path) -> None:
    import_paths([ENVELOPE])
    Authorship.objects.filter(work__openalex_id="W900000003").update(
        origin=Authorship.Origin.ORCID, raw_author_name="From ORCID"
    )
    records = works()
    records[2]["authorships"] = []

    import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert Authorship.objects.get(work__openalex_id="W900000003").raw_author_name == "From ORCID"


def test_synthetic_import_marks_rows_and_authorships_as_generated() -> None:
    stats = import_entities(works(), source_name="demo", synthetic=True)

    assert stats.created == 3
    assert not Work.objects.filter(is_synthetic=False).exists()
    assert not Author.objects.filter(is_synthetic=False).exists()
    assert set(Authorship.objects.values_list("origin", flat=True)) == {"synthetic"}


def test_record_met_twice_in_one_file_is_written_in_order(tmp_path) -> None:
    first, later = works()[1], copy.deepcopy(works()[1])
    later["title"] = "The later copy"

    stats = import_paths([write_lines(tmp_path / "twice.jsonl", [first, later])])

    assert (stats.created, stats.updated) == (1, 1)
    assert Work.objects.get(openalex_id="W900000002").title == "The later copy"


# Nulls and duplicates in the data


def test_nulls_everywhere_are_survived(tmp_path) -> None:
    record = {
        "id": "https://openalex.org/W900000077",
        "doi": None,
        "title": None,
        "display_name": None,
        "publication_year": None,
        "publication_date": None,
        "language": None,
        "type": None,
        "primary_location": {"source": None, "landing_page_url": None, "pdf_url": None},
        "locations": None,
        "authorships": [
            None,
            {"author": None, "institutions": None},
            {"author": {"id": None, "display_name": "No Id"}},
            {
                "author": {
                    "id": "https://openalex.org/A900000077",
                    "display_name": None,
                    "orcid": None,
                },
                "institutions": [
                    None,
                    {"id": None, "display_name": "Nameless"},
                    {
                        "id": "https://openalex.org/I900000077",
                        "display_name": None,
                        "ror": None,
                        "country_code": None,
                        "type": None,
                    },
                ],
                "is_corresponding": None,
                "raw_author_name": None,
            },
        ],
        "cited_by_count": None,
        "primary_topic": None,
        "topics": None,
        "abstract_inverted_index": None,
    }

    stats = import_paths([write_lines(tmp_path / "nulls.jsonl", [record])])

    assert (stats.created, stats.problems) == (1, [])
    work = Work.objects.get(openalex_id="W900000077")
    assert (work.title, work.abstract, work.doi, work.source, work.publication_date) == (
        "",
        "",
        "",
        None,
        None,
    )
    authorship = Authorship.objects.get(work=work)
    assert authorship.position == 3
    assert list(authorship.institutions.values_list("openalex_id", flat=True)) == ["I900000077"]


def test_an_orcid_held_by_another_author_stays_with_the_first(tmp_path) -> None:
    records = works()
    # OpenAlex duplicates: a second author record with Ada's ORCID.
    records[2]["authorships"][0]["author"] = {
        "id": "https://openalex.org/A900000008",
        "display_name": "Ada Example",
        "orcid": "https://orcid.org/0000-0002-1825-0097",
    }

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert Author.objects.get(openalex_id="A900000001").orcid == "0000-0002-1825-0097"
    assert Author.objects.get(openalex_id="A900000008").orcid == ""
    assert [(p.location, p.reason) for p in stats.problems] == [
        (
            "line 3",
            "ORCID 0000-0002-1825-0097 of A900000008 already belongs to A900000001; "
            "imported A900000008 without it",
        )
    ]
    assert stats.created == 3


def test_an_author_another_source_made_with_the_orcid_becomes_the_openalex_author(
    tmp_path,
) -> None:
    # Made by ORCID, Crossref or arXiv: no OpenAlex id. Not a second record of the person.
    person = AuthorFactory(openalex_id="", orcid="0000-0001-5109-3700")

    stats = import_paths([ENVELOPE])

    person.refresh_from_db()
    assert person.openalex_id == "A900000003" and person.orcid == "0000-0001-5109-3700"
    assert Author.objects.filter(orcid="0000-0001-5109-3700").count() == 1
    assert not stats.problems
    assert stats.created == 3


def test_an_orcid_held_by_another_openalex_author_is_not_taken(tmp_path) -> None:
    AuthorFactory(openalex_id="A900000777", orcid="0000-0001-5109-3700")

    stats = import_paths([ENVELOPE])

    assert Author.objects.get(openalex_id="A900000003").orcid == ""
    assert "already belongs to A900000777" in stats.problems[0].reason
    assert stats.created == 3


def test_a_doi_held_by_another_work_stays_with_it(tmp_path) -> None:
    import_paths([ENVELOPE])
    duplicate = copy.deepcopy(works()[0])
    duplicate["id"] = "https://openalex.org/W900000099"

    stats = import_paths([write_lines(tmp_path / "dup.jsonl", [duplicate])])

    assert Work.objects.get(openalex_id="W900000099").doi == ""
    assert "DOI 10.1234/gnn.2022.001 of W900000099 already belongs to W900000001" in str(
        stats.problems[0]
    )


def test_a_malformed_orcid_is_dropped_and_reported(tmp_path) -> None:
    records = works()[:1]
    records[0]["authorships"][0]["author"]["orcid"] = "https://orcid.org/0000-0002-1825-0098"

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert Author.objects.get(openalex_id="A900000001").orcid == ""
    assert stats.problems[0].reason.startswith("ORCID of A900000001 ")
    assert stats.created == 1


def test_an_author_met_again_reports_its_malformed_orcid_on_every_line(tmp_path) -> None:
    records = copy.deepcopy(works()[:2])
    bad_orcid = "https://orcid.org/0000-0002-1825-0098"
    for record in records:
        record["authorships"][0]["author"] = {
            "id": "https://openalex.org/A900000077",
            "display_name": "Repeated Author",
            "orcid": bad_orcid,
        }

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert [(p.location, p.reason.split(" ")[:3]) for p in stats.problems] == [
        ("line 1", ["ORCID", "of", "A900000077"]),
        ("line 2", ["ORCID", "of", "A900000077"]),
    ]
    assert stats.created == 2


def test_a_known_author_with_a_non_text_name_is_still_refused(tmp_path) -> None:
    records = copy.deepcopy(works()[:2])
    records[1]["authorships"][0]["author"] = {
        **records[0]["authorships"][0]["author"],
        "display_name": ["not", "text"],
    }

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert stats.created == 1
    assert stats.skipped == 1
    assert str(stats.problems[0]).endswith(
        "line 2: authorships[0].author.display_name must be a string, got a list"
    )


# Bad input


def test_truncated_json_line_is_skipped_and_the_rest_imported(tmp_path) -> None:
    path = tmp_path / "works.jsonl"
    lines = [json.dumps(r) for r in works()]
    path.write_text(f"{lines[0]}\n{lines[1][:200]}\n{lines[2]}\n")

    out, err = run_command(str(path))

    assert "created 2, updated 0, unchanged 0, skipped 1" in out
    assert f"{path}:line 2: truncated JSON: the line ends before its JSON is complete" in err
    assert set(Work.objects.values_list("openalex_id", flat=True)) == {"W900000001", "W900000003"}
    assert_no_half_written_works()


def test_a_truncated_last_line_without_newline_is_reported(tmp_path) -> None:
    path = tmp_path / "works.jsonl"
    lines = [json.dumps(r) for r in works()]
    path.write_text(f"{lines[0]}\n{lines[1]}\n{lines[2][:-40]}")

    stats = import_paths([path])

    assert stats.problems[0].location == "line 3"
    assert stats.problems[0].reason.startswith("truncated JSON")
    assert stats.created == 2


def test_invalid_json_line_names_the_column(tmp_path) -> None:
    path = tmp_path / "works.jsonl"
    path.write_text(json.dumps(works()[0]) + '\n{"id": "W1",, "title": "x"}\n')

    stats = import_paths([path])

    assert str(stats.problems[0]) == (
        f"{path}:line 2: invalid JSON: "
        "Expecting property name enclosed in double quotes at column 13"
    )


def test_truncated_envelope_keeps_the_whole_records_and_names_where_it_broke(tmp_path) -> None:
    path = tmp_path / "page.json"
    text = ENVELOPE.read_text()
    path.write_text(text[: text.index('"https://openalex.org/W900000003"') + 20])

    message, out, err = failing_command(str(path))

    assert f"{path}:record 3: truncated JSON: the file ends before its JSON is complete" in err
    assert "Could not read in full" in message
    assert "created 2, " in out
    assert set(Work.objects.values_list("openalex_id", flat=True)) == WORK_IDS - {"W900000003"}
    assert_no_half_written_works()


def test_work_without_id_is_skipped_with_its_record_number(tmp_path) -> None:
    page = json.loads(ENVELOPE.read_text())
    del page["results"][1]["id"]
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=2))

    out, err = run_command(str(path))

    assert f"{path}:record 2: record has no id" in err
    assert "created 2, updated 0, unchanged 0, skipped 1" in out
    assert Work.objects.count() == 2
    assert_no_half_written_works()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"authorships": {"author": "A1"}}, "authorships must be a list, got an object"),
        ({"publication_year": "twenty"}, "publication_year must be an integer, got a string"),
        ({"publication_year": 2021.5}, "publication_year must be an integer, got a number"),
        ({"cited_by_count": -1}, "cited_by_count out of range (0 to 2,147,483,647): -1"),
        ({"publication_date": "2021-13-45"}, "publication_date is not a date: '2021-13-45'"),
        ({"title": ["a", "list"]}, "title must be a string, got a list"),
        ({"primary_location": "arXiv"}, "primary_location must be an object, got a string"),
        (
            {"abstract_inverted_index": {"word": "0"}},
            "abstract_inverted_index['word'] must be a list",
        ),
        (
            {"abstract_inverted_index": {"a": [0], "b": ["1"]}},
            "abstract_inverted_index holds something other than word positions",
        ),
        (
            {"abstract_inverted_index": {"a": [0], "b": [True]}},
            "abstract_inverted_index holds something other than word positions",
        ),
        (
            {"abstract_inverted_index": {"a": [0], "b": [-1]}},
            "abstract_inverted_index holds a negative word position",
        ),
        (
            {"abstract_inverted_index": {"w" * 60_000: [0, 1]}},
            "abstract longer than 100,000 characters",
        ),
        ({"id": "https://openalex.org/subfields/17"}, "id is not an OpenAlex id"),
        ({"id": 900000001}, "id must be a string, got a number"),
        ({"id": "  "}, "record has no id"),
        ({"id": None}, "record has no id"),
    ],
)
def test_wrong_types_skip_the_record_with_a_clear_reason(tmp_path, change, reason) -> None:
    records = works()
    records[0].update(change)

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert [(p.location, p.reason[: len(reason)]) for p in stats.problems] == [("line 1", reason)]
    assert (stats.created, stats.skipped) == (2, 1)
    assert not Work.objects.filter(openalex_id="W900000001").exists()
    assert_no_half_written_works()


def test_an_id_of_the_wrong_kind_is_named(tmp_path) -> None:
    records = works()
    records[0]["authorships"][0]["author"]["id"] = "https://openalex.org/I900000001"

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert stats.problems[0].reason == (
        "authorships[0].author.id should be an author id: I900000001"
    )


def test_nested_wrong_type_names_the_field_path(tmp_path) -> None:
    records = works()
    records[0]["authorships"][1]["institutions"][0]["ror"] = 42

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert (
        stats.problems[0].reason
        == "authorships[1].institutions[0].ror must be a string, got a number"
    )
    # The authors only this work brought are not created either.
    assert not Work.objects.filter(openalex_id="W900000001").exists()
    assert not Author.objects.filter(openalex_id="A900000001").exists()


def test_ten_megabyte_title_is_rejected(tmp_path) -> None:
    records = works()
    records[1]["title"] = "x" * 10_000_000

    out, err = run_command(str(write_lines(tmp_path / "works.jsonl", records)))

    assert "line 2: title longer than 10,000 characters" in err
    assert "created 2, updated 0, unchanged 0, skipped 1" in out
    assert not Work.objects.filter(openalex_id="W900000002").exists()
    assert (
        not Author.objects.filter(openalex_id="A900000002")
        .filter(authorships__work__openalex_id="W900000002")
        .exists()
    )


def test_unknown_entity_type_is_reported_and_skipped() -> None:
    message, out, err = failing_command(str(FIXTURES / "C900001.json"))

    assert f"{FIXTURES / 'C900001.json'}:record 1: unknown entity type 'C' (C900001)" in err
    assert "Every record was skipped" in message
    assert "skipped 1" in out


def test_unknown_entity_type_among_others_does_not_fail_the_import(tmp_path) -> None:
    concept = json.loads((FIXTURES / "C900001.json").read_text())
    path = write_lines(tmp_path / "mixed.jsonl", [*works(), concept])

    out, err = run_command(str(path))

    assert "created 3, updated 0, unchanged 0, skipped 1" in out
    assert f"{path}:line 4: unknown entity type 'C'" in err


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
def test_empty_file_fails_with_a_clear_message(tmp_path, content) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(content)

    message, _, err = failing_command(str(path))

    assert f"{path}:file: empty file" in err
    assert f"Could not read in full: {path}" in message


def test_missing_path_fails_before_importing_anything(tmp_path) -> None:
    missing = tmp_path / "nope.json"

    message, _, _ = failing_command(str(ENVELOPE), str(missing))

    assert message == f"No such file: {missing}"
    assert Work.objects.count() == 0


def test_missing_path_is_reported_by_the_service(tmp_path) -> None:
    missing = tmp_path / "nope.json"

    stats = import_paths([missing, ENVELOPE])

    assert str(stats.problems[0]) == f"{missing}:file: no such file"
    assert stats.failed_paths == [str(missing)]
    assert stats.created == 3


def test_truncated_gzip_keeps_what_was_read_and_fails_the_file(tmp_path) -> None:
    path = tmp_path / "part_000.gz"
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in works() * 50).encode())
    path.write_bytes(data[: len(data) // 2])

    stats = import_paths([path])

    assert stats.failed_paths == [str(path)]
    assert "the compressed file ends early" in stats.problems[0].reason
    assert_no_half_written_works()


def test_a_parsing_process_that_dies_fails_the_file_without_half_written_works(
    tmp_path, monkeypatch
) -> None:
    import os

    from works.importers import openalex

    parse = openalex._parse
    seen = []

    def dies_at_the_third_record(item: Any) -> Any:
        seen.append(item)
        if len(seen) == 3:
            os._exit(1)  # as if the kernel killed it: no message, no clean-up
        return parse(item)

    monkeypatch.setattr("works.importers.openalex._parse", dies_at_the_third_record)
    monkeypatch.setattr("works.importers.openalex._CHUNK", 1)
    path = write_lines(tmp_path / "works.jsonl", works())

    stats = import_paths([path], batch_size=1)

    assert stats.failed_paths == [str(path)]
    assert "ended unexpectedly" in stats.problems[-1].reason
    assert_no_half_written_works()
    assert Work.objects.count() == 2


def test_a_strict_import_that_stops_early_stops_its_parsing_process(tmp_path) -> None:
    import multiprocessing

    records = [{"title": "no id"}, *works() * 2_000]

    with pytest.raises(ImportAborted):
        import_paths([write_lines(tmp_path / "works.jsonl", records)], strict=True)

    assert multiprocessing.active_children() == []
    assert not Work.objects.exists()


def test_numbers_json_does_not_allow_are_refused_with_a_reason(tmp_path) -> None:
    # orjson reads an integer beyond 64 bits as a float, and refuses NaN, which
    # Python's json then reads: either way the record is judged by the same rules.
    path = tmp_path / "works.jsonl"
    huge, nan = works()[0], works()[1]
    huge["cited_by_count"] = 2**70
    nan["cited_by_count"] = "NOT A NUMBER"
    lines = [json.dumps(huge), json.dumps(nan).replace('"NOT A NUMBER"', "NaN")]
    path.write_text("\n".join(lines) + "\n")

    stats = import_paths([path])

    assert [(p.location, p.reason) for p in stats.problems] == [
        ("line 1", "cited_by_count must be an integer, got a number"),
        ("line 2", "cited_by_count must be an integer, got a number"),
    ]
    assert stats.skipped == 2


def test_not_utf8_line_is_skipped(tmp_path) -> None:
    path = tmp_path / "works.jsonl"
    path.write_bytes(json.dumps(works()[0]).encode() + b'\n{"id": "\xff"}\n')

    stats = import_paths([path])

    assert [(p.location, p.reason) for p in stats.problems] == [("line 2", "not UTF-8 text")]


def test_nul_and_lone_surrogates_are_dropped_from_text(tmp_path) -> None:
    path = tmp_path / "works.jsonl"
    record = works()[1]
    line = json.dumps(record).replace("A preprint", "A\\u0000 pre\\ud800print")
    path.write_text(line + "\n")

    stats = import_paths([path])

    assert stats.created == 1
    assert Work.objects.get(openalex_id="W900000002").title == "A preprint about sampling"


def test_strict_writes_nothing_from_the_failing_file(tmp_path) -> None:
    good = write_lines(tmp_path / "good.jsonl", works()[:1])
    records = works()[1:]
    records.append({"id": "https://openalex.org/W900000004", "publication_year": "soon"})
    bad = write_lines(tmp_path / "bad.jsonl", records)

    message, out, _ = failing_command(str(good), str(bad), strict=True, batch_size=1)

    assert f"{bad}:line 3: publication_year must be an integer" in message
    assert f"nothing from {bad} was written" in message
    assert "Before the failing file: created 1" in out
    # Lines 1 and 2 of the bad file were valid and already sent in batches of 1.
    assert set(Work.objects.values_list("openalex_id", flat=True)) == {"W900000001"}


def test_strict_service_raises_import_aborted_with_what_earlier_files_committed(tmp_path) -> None:
    bad = write_lines(tmp_path / "bad.jsonl", [{"title": "no id"}])

    with pytest.raises(ImportAborted) as aborted:
        import_paths([ENVELOPE, bad], strict=True)

    assert aborted.value.problem.location == "line 1"
    assert aborted.value.committed.created == 3


def test_strict_stops_on_a_note_too(tmp_path) -> None:
    records = works()[:1]
    records[0]["doi"] = "not a doi"

    with pytest.raises(ImportAborted, match="DOI 'not a doi' is malformed"):
        import_paths([write_lines(tmp_path / "works.jsonl", records)], strict=True)
    assert Work.objects.count() == 0


def test_record_the_database_refuses_is_skipped_alone_and_leaves_no_rows(tmp_path) -> None:
    # Stands in for whatever the validation could miss: the batch fails, each
    # record is retried alone, and only the refused one is left out.
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE works_work ADD CONSTRAINT test_refuse CHECK (title <> 'Refused')"
        )
    records = works()
    records[1]["title"] = "Refused"

    stats = import_paths([write_lines(tmp_path / "works.jsonl", records)])

    assert (stats.created, stats.skipped) == (2, 1)
    assert stats.problems[0].location == "line 2"
    assert stats.problems[0].reason.startswith("the database refused the record:")
    assert not Work.objects.filter(openalex_id="W900000002").exists()
    assert not Author.objects.filter(authorships__work__openalex_id="W900000002").exists()
    assert_no_half_written_works()


# The command


def test_command_prints_summary_and_changed_authors() -> None:
    command = Command()
    out, err = StringIO(), StringIO()

    call_command(command, str(ENVELOPE), no_progress=True, stdout=out, stderr=err)

    assert out.getvalue().splitlines() == [
        "created 3, updated 0, unchanged 0, skipped 0",
        "3 authors changed",
    ]
    assert err.getvalue() == ""
    assert command.stats is not None
    assert command.stats.changed_author_ids == set(Author.objects.values_list("id", flat=True))


def test_command_needs_exactly_one_kind_of_input() -> None:
    message, _, _ = failing_command()
    assert "Give files to import, or --author, or --search" in message

    message, _, _ = failing_command(str(ENVELOPE), author="A900000001")
    assert "one of them" in message


def test_institutions_of_a_duplicate_listing_are_imported_but_not_linked(tmp_path) -> None:
    records = works()[:1]
    records[0]["authorships"][2]["institutions"] = [
        {"id": "https://openalex.org/I900000005", "display_name": "Second Listing Institute"}
    ]

    import_paths([write_lines(tmp_path / "works.jsonl", records)])

    second = Institution.objects.get(openalex_id="I900000005")
    assert not second.authorships.exists()


def test_import_announces_the_changed_authors_once_committed(django_capture_on_commit_callbacks):
    from works.signals import authors_changed

    received: list[list[int]] = []

    def listener(sender, author_ids, **kwargs):
        received.append(author_ids)

    authors_changed.connect(listener)
    try:
        path = FIXTURES / "works-page.json"
        with django_capture_on_commit_callbacks(execute=True):
            stats = import_paths([path])
        assert received == [sorted(stats.changed_author_ids)]
        with django_capture_on_commit_callbacks(execute=True):
            import_paths([path])  # unchanged: nobody to tell
    finally:
        authors_changed.disconnect(listener)
    assert received == [sorted(stats.changed_author_ids)]
    assert Author.objects.filter(pk__in=received[0]).count() == len(received[0]) > 0
