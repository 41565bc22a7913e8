"""Import the real OpenAlex records of ../shared/data (read in place, never copied).

Expected rows are computed from the file itself, not typed in.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from works import identifiers
from works.importers import import_paths
from works.models import Author, Authorship, Institution, Source, Topic, Work

pytestmark = [pytest.mark.django_db, pytest.mark.shared_data]

KNOWN_KINDS = {"W", "A", "I", "T", "S"}


def works_page(shared_data: Path) -> Path:
    return shared_data / "openalex" / "works-page-1.json"


def expected_ids(results: list[dict[str, Any]]) -> dict[str, set[str]]:
    authorships = [
        a for w in results for a in w["authorships"] if (a.get("author") or {}).get("id")
    ]
    return {
        "works": {identifiers.openalex_id(w["id"]) for w in results},
        "authors": {identifiers.openalex_id(a["author"]["id"]) for a in authorships},
        "institutions": {
            identifiers.openalex_id(i["id"])
            for a in authorships
            for i in a.get("institutions") or []
            if i.get("id")
        },
        # OpenAlex lists some authors twice on a work: one authorship each.
        "authorships": {
            f"{identifiers.openalex_id(w['id'])}/{identifiers.openalex_id(a['author']['id'])}"
            for w in results
            for a in w["authorships"]
            if (a.get("author") or {}).get("id")
        },
    }


def db_ids() -> dict[str, set[str]]:
    return {
        "works": set(Work.objects.values_list("openalex_id", flat=True)),
        "authors": set(Author.objects.values_list("openalex_id", flat=True)),
        "institutions": set(Institution.objects.values_list("openalex_id", flat=True)),
        "authorships": {
            f"{w}/{a}"
            for w, a in Authorship.objects.values_list("work__openalex_id", "author__openalex_id")
        },
    }


def test_real_works_page_imports_exactly_its_works_authors_and_institutions(shared_data) -> None:
    path = works_page(shared_data)
    results = json.loads(path.read_text())["results"]

    stats = import_paths([path])

    expected = expected_ids(results)
    assert db_ids() == expected
    assert (stats.created, stats.skipped, stats.problems) == (len(expected["works"]), 0, [])
    assert stats.changed_author_ids == set(Author.objects.values_list("id", flat=True))


def test_real_works_page_reimported_changes_nothing(shared_data) -> None:
    path = works_page(shared_data)
    import_paths([path])
    before = sorted(Work.objects.values_list("openalex_id", "updated_at"))

    stats = import_paths([path])

    assert (stats.created, stats.updated, stats.skipped) == (0, 0, 0)
    assert stats.unchanged == Work.objects.count()
    assert stats.changed_author_ids == set()
    assert sorted(Work.objects.values_list("openalex_id", "updated_at")) == before


def test_real_entity_files_import_and_unknown_kinds_are_reported(shared_data) -> None:
    paths = sorted((shared_data / "openalex" / "entities").glob("*.json"))
    kinds = {p: identifiers.openalex_id(json.loads(p.read_text())["id"])[0] for p in paths}

    stats = import_paths(paths)

    unknown = {str(p) for p, kind in kinds.items() if kind not in KNOWN_KINDS}
    assert {p.path for p in stats.problems} == unknown
    assert all("unknown entity type" in p.reason for p in stats.problems)
    assert stats.skipped == len(unknown)
    assert stats.created + stats.updated == len(paths) - len(unknown)
    models: dict[str, Any] = {"W": Work, "A": Author, "I": Institution, "T": Topic, "S": Source}
    for path, kind in kinds.items():
        if kind in models:
            assert models[kind].objects.filter(openalex_id=path.stem).exists()

    again = import_paths(paths)
    assert (again.created, again.updated) == (0, 0)


@pytest.mark.parametrize("shape", ["gzip", "array", "indented-gzip"])
def test_real_works_page_streamed_in_any_shape_gives_the_same_rows(
    shared_data, tmp_path, shape
) -> None:
    import gzip

    path = works_page(shared_data)
    results = json.loads(path.read_text())["results"]
    if shape == "gzip":
        variant = tmp_path / "page.json.gz"
        variant.write_bytes(gzip.compress(path.read_bytes()))
    elif shape == "array":
        variant = tmp_path / "works.json"
        variant.write_text(json.dumps(results))
    else:
        variant = tmp_path / "page.gz"
        variant.write_bytes(gzip.compress(json.dumps({"results": results}, indent=2).encode()))

    stats = import_paths([variant])

    assert db_ids() == expected_ids(results)
    assert (stats.created, stats.skipped, stats.problems) == (len(results), 0, [])
