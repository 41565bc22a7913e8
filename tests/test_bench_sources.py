"""The benchmark's ORCID, Crossref and arXiv inputs (bench.sources) are files the importers take.

Made from ../shared/data's recorded responses with fresh ids; each generated
work must become exactly one stored work (none skipped, none matched to
another generated one), and a second import of the same files changes nothing,
which is what the benchmark's re-import line measures.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from bench.sources import GENERATORS, fresh_orcid
from tests.factories import WorkFactory
from works.identifiers import orcid
from works.models import Author, Work

pytestmark = pytest.mark.django_db

WORKS = 60


def _import(source: str, paths: list[Path]) -> str:
    out, err = StringIO(), StringIO()
    call_command(f"import_{source}", *[str(p) for p in paths], stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


@pytest.mark.parametrize("source", ["orcid", "crossref", "arxiv"])
def test_each_generated_work_is_imported_once_and_a_reimport_changes_nothing(
    source: str, tmp_path: Path
) -> None:
    made = GENERATORS[source](WORKS, seed=7, folder=tmp_path / source)

    assert made.works == WORKS
    assert all(p.parent == tmp_path / source for p in made.paths)
    first = _import(source, made.paths)

    assert Work.objects.count() == WORKS
    titles = list(Work.objects.values_list("title", flat=True))
    assert len(set(titles)) == WORKS
    assert (
        Work.objects.exclude(doi="").count()
        == Work.objects.exclude(doi="").values("doi").distinct().count()
    )
    assert "skipped 0" in first
    second = _import(source, made.paths)
    assert "created 0, updated 0," in second
    assert Work.objects.count() == WORKS


def test_orcid_records_are_split_into_researchers_with_valid_fresh_ids(tmp_path: Path) -> None:
    made = GENERATORS["orcid"](WORKS, seed=7, folder=tmp_path)

    assert len(made.paths) == 3  # 25 + 25 + 10 work groups
    _import("orcid", made.paths)
    ids = set(Author.objects.exclude(orcid="").values_list("orcid", flat=True))
    assert ids == {fresh_orcid(i) for i in range(3)}
    assert all(orcid(i) == i for i in ids)  # check digits hold


def test_generation_is_repeatable(tmp_path: Path) -> None:
    one = GENERATORS["crossref"](10, seed=3, folder=tmp_path / "one")
    two = GENERATORS["crossref"](10, seed=3, folder=tmp_path / "two")

    assert one.paths[0].read_bytes() == two.paths[0].read_bytes()


@pytest.mark.parametrize("source", ["orcid", "crossref", "arxiv"])
def test_works_given_a_stored_works_doi_are_matched_to_it_not_created(
    source: str, tmp_path: Path
) -> None:
    stored = [WorkFactory(doi=f"10.5555/bzpeer-demo.w{i}") for i in range(60)]
    made = GENERATORS[source](WORKS, seed=7, folder=tmp_path, stored_dois=[w.doi for w in stored])

    assert made.matched >= 3
    _import(source, made.paths)

    assert Work.objects.count() == len(stored) + WORKS - made.matched
    second = _import(source, made.paths)
    assert "created 0, updated 0," in second
