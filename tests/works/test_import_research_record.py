"""What the record pages need from OpenAlex: citations per year, references, open
access, retractions, other ids, affiliation history, and metrics kept up by imports.

Expected values are read from the real records of ../shared/data, not typed in.
"""

import copy
import json
from pathlib import Path

import pytest

from works import identifiers
from works.importers import import_entities, import_paths
from works.models import Author, AuthorAffiliation, AuthorMetrics, Authorship, Work

pytestmark = [pytest.mark.django_db, pytest.mark.shared_data]


def results(shared_data: Path) -> list[dict]:
    return json.loads((shared_data / "openalex" / "works-page-1.json").read_text())["results"]


def author_entity(shared_data: Path) -> dict:
    return json.loads((shared_data / "openalex" / "entities" / "A5023888391.json").read_text())


def test_works_keep_citations_per_year_references_access_and_retraction(shared_data):
    records = results(shared_data)
    stats = import_paths([shared_data / "openalex" / "works-page-1.json"])
    assert stats.created == len(records)

    stored = {w.openalex_id: w for w in Work.objects.all()}
    with_citations = with_references = 0
    for record in records:
        work = stored[identifiers.openalex_id(record["id"])]
        expected_years = {str(c["year"]): c["cited_by_count"] for c in record["counts_by_year"]}
        assert work.counts_by_year == expected_years
        assert work.referenced_works == [
            identifiers.openalex_id(r) for r in record["referenced_works"]
        ]
        assert work.referenced_works_count == record["referenced_works_count"]
        assert work.is_retracted == record["is_retracted"]
        open_access = record["open_access"]
        assert (work.is_oa, work.oa_status) == (open_access["is_oa"], open_access["oa_status"])
        assert work.oa_url == (open_access["oa_url"] or "")
        assert work.pdf_url == ((record["best_oa_location"] or {}).get("pdf_url") or "")
        biblio = {k: v for k, v in record["biblio"].items() if v}
        assert work.biblio == biblio
        assert "doi" not in work.other_ids and "openalex" not in work.other_ids
        with_citations += bool(expected_years)
        with_references += bool(record["referenced_works"])
    # The file exercises what is checked: not only empty lists.
    assert with_citations > 10 and with_references > 100


def test_imported_authors_get_metrics_from_the_works_on_their_page(
    shared_data, django_capture_on_commit_callbacks
):
    # Counted once the import has committed.
    with django_capture_on_commit_callbacks(execute=True):
        import_paths([shared_data / "openalex" / "works-page-1.json"])

    for author in Author.objects.all()[:50]:
        counted = Work.objects.filter(authorships__author=author)
        row = AuthorMetrics.objects.get(author=author)
        assert row.works == counted.count()
        assert row.citations == sum(w.cited_by_count for w in counted)


def test_a_reimport_with_more_citations_moves_the_authors_metrics(
    shared_data, django_capture_on_commit_callbacks
):
    records = results(shared_data)
    with django_capture_on_commit_callbacks(execute=True):
        import_entities(copy.deepcopy(records), source_name="first")
    record = next(r for r in records if r["authorships"] and r["authorships"][0]["author"]["id"])
    first_author = Author.objects.get(
        openalex_id=identifiers.openalex_id(record["authorships"][0]["author"]["id"])
    )
    before = AuthorMetrics.objects.get(author=first_author).citations

    record = copy.deepcopy(record)
    record["cited_by_count"] += 1000
    with django_capture_on_commit_callbacks(execute=True):
        stats = import_entities([record], source_name="later")

    assert stats.updated == 1
    assert AuthorMetrics.objects.get(author=first_author).citations == before + 1000


def test_author_entity_brings_its_other_ids_and_affiliation_history(shared_data):
    entity = author_entity(shared_data)
    import_entities([entity], source_name="author")

    author = Author.objects.get(openalex_id=identifiers.openalex_id(entity["id"]))
    expected_ids = {k: v for k, v in entity["ids"].items() if k not in {"openalex", "orcid"}}
    assert author.external_ids == expected_ids
    assert "scopus" in author.external_ids

    history = {
        a.institution.openalex_id: a.years
        for a in AuthorAffiliation.objects.filter(author=author).select_related("institution")
    }
    assert history == {
        identifiers.openalex_id(a["institution"]["id"]): sorted(set(a["years"]))
        for a in entity["affiliations"]
    }


def test_an_affiliation_the_owner_hid_stays_hidden_and_a_dropped_one_goes(shared_data):
    entity = author_entity(shared_data)
    import_entities([entity], source_name="author")
    author = Author.objects.get(openalex_id=identifiers.openalex_id(entity["id"]))
    first, second = entity["affiliations"][0], entity["affiliations"][1]
    hidden = AuthorAffiliation.objects.get(
        author=author, institution__openalex_id=identifiers.openalex_id(first["institution"]["id"])
    )
    hidden.hidden = True
    hidden.save()

    later = copy.deepcopy(entity)
    later["affiliations"] = [a for a in later["affiliations"] if a != second]
    later["affiliations"][0]["years"] = [2024, *first["years"]]
    import_entities([later], source_name="author again")

    hidden.refresh_from_db()
    assert hidden.hidden and 2024 in hidden.years
    places = set(
        AuthorAffiliation.objects.filter(author=author).values_list(
            "institution__openalex_id", flat=True
        )
    )
    assert identifiers.openalex_id(second["institution"]["id"]) not in places


def test_reimporting_the_author_changes_nothing(shared_data):
    entity = author_entity(shared_data)
    import_entities([entity], source_name="author")
    again = import_entities([entity], source_name="author again")
    assert (again.unchanged, again.updated) == (1, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("referenced_works", ["https://openalex.org/W1", 7], "must be a string"),
        ("referenced_works", ["not an id at all"], "is not an OpenAlex id"),
        ("counts_by_year", [{"year": "2020", "cited_by_count": 1}], "must be an integer"),
    ],
)
def test_a_malformed_research_field_names_the_field_and_skips_the_work(
    shared_data, field, value, message
):
    record = copy.deepcopy(results(shared_data)[0])
    record[field] = value
    stats = import_entities([record], source_name="broken")

    assert stats.skipped == 1 and not Work.objects.exists()
    assert any(field in p.reason and message in p.reason for p in stats.problems), stats.problems
    assert not Authorship.objects.exists()
