"""A later import never undoes a merge, a split or an owner-added work: real re-imports of files."""

import json
from pathlib import Path

import pytest
from django.urls import reverse

from profiles import record_operations as ops
from tests.profiles.conftest import make_user
from works.importers import import_paths
from works.importers.orcid import import_orcid_paths
from works.models import Author, Authorship, Work

pytestmark = pytest.mark.django_db

SHARED_PAGE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "openalex"
REAL_PAGE = SHARED_PAGE / "works-page-1.json"
ORCID_RECORD = SHARED_PAGE.parent / "orcid" / "record-v3-0000-0002-4110-3511.json"
FIXTURE_PAGE = Path(__file__).resolve().parents[1] / "works/fixtures/openalex/works-page.json"


@pytest.fixture
def reviewer():
    return make_user("reviewer@bzpeer.example", staff=True)


def on_page(author: Author, *, key: str = "work__openalex_id") -> set:
    """The works the record's page lists (disputed ones are not), by OpenAlex id or `key`."""
    return set(
        Authorship.objects.filter(author=author)
        .exclude(status=Authorship.Status.DISPUTED)
        .values_list(key, flat=True)
    )


def test_a_split_survives_a_re_import_of_the_real_openalex_page(reviewer) -> None:
    first = import_paths([REAL_PAGE])
    assert not first.problems
    author = Author.objects.get(openalex_id="A5056258333")
    works = sorted(on_page(author))
    assert len(works) == 2
    moved = Work.objects.get(openalex_id=works[1])

    operation = ops.record_split(staff=reviewer, author_id=author.pk, work_ids=[moved.pk])
    again = import_paths([REAL_PAGE])

    assert not again.problems
    assert on_page(author) == {works[0]}  # not re-attached to the record it left
    assert on_page(operation.target) == {works[1]}
    assert Authorship.objects.filter(work=moved, author=author).get().status == "disputed"
    # The re-import of the same file changed nothing.
    assert (again.created, again.updated) == (0, 0)


def test_a_merge_survives_a_re_import_and_an_import_naming_the_merged_id_writes_to_the_survivor(
    client, reviewer, tmp_path
) -> None:
    import_paths([FIXTURE_PAGE])
    bo = Author.objects.get(openalex_id="A900000002")  # on W900000001 and W900000002
    cy = Author.objects.get(openalex_id="A900000003")  # on W900000002 and W900000003
    ops.record_merge(staff=reviewer, source_id=bo.pk, target_id=cy.pk)
    assert on_page(cy) == {"W900000001", "W900000002", "W900000003"}

    again = import_paths([FIXTURE_PAGE])

    assert not again.problems
    bo.refresh_from_db()
    assert bo.merged_into_id == cy.pk  # not un-merged
    assert not Authorship.objects.filter(author=bo).exists()
    assert on_page(cy) == {"W900000001", "W900000002", "W900000003"}
    # One authorship per work, where both records were named on it too.
    assert Authorship.objects.filter(author=cy, work__openalex_id="W900000002").count() == 1
    assert (again.created, again.updated) == (0, 0)

    # A new work naming the merged record's id, and one naming both records.
    records = json.loads(FIXTURE_PAGE.read_text())["results"]
    bo_then_cy = records[1]["authorships"]

    def new_work(number: int, authorships: list) -> dict:
        title = f"A later paper {number}"
        return {
            "id": f"https://openalex.org/W90000009{number}",
            "title": title,
            "display_name": title,
            "publication_year": 2024,
            "type": "article",
            "authorships": authorships,
        }

    new_for_bo, new_for_both = new_work(1, bo_then_cy[:1]), new_work(2, bo_then_cy)
    path = tmp_path / "new-works.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (new_for_bo, new_for_both)))
    result = import_paths([path])

    assert not result.problems and result.created == 2
    assert on_page(cy) >= {"W900000091", "W900000092"}
    assert Authorship.objects.filter(author=cy, work__openalex_id="W900000092").count() == 1
    assert not Authorship.objects.filter(author=bo).exists()
    assert client.get(reverse("profiles:researcher_detail", args=[bo.pk])).status_code == 301


def test_an_undone_merge_stays_undone_through_a_re_import(reviewer) -> None:
    import_paths([FIXTURE_PAGE])
    bo = Author.objects.get(openalex_id="A900000002")
    cy = Author.objects.get(openalex_id="A900000003")
    before = {a.pk: on_page(a) for a in (bo, cy)}
    operation = ops.record_merge(staff=reviewer, source_id=bo.pk, target_id=cy.pk)
    import_paths([FIXTURE_PAGE])

    ops.record_operation_undo(staff=reviewer, operation_id=operation.pk)
    again = import_paths([FIXTURE_PAGE])

    assert {a.pk: on_page(a) for a in (bo, cy)} == before
    assert (again.created, again.updated) == (0, 0)


def test_an_owner_added_work_survives_a_re_import_and_a_merge(reviewer) -> None:
    import_paths([FIXTURE_PAGE])
    ada = Author.objects.get(openalex_id="A900000001")
    cy = Author.objects.get(openalex_id="A900000003")
    owner = make_user()
    third = Work.objects.get(openalex_id="W900000003")  # OpenAlex names only Cy on it
    Authorship.objects.create(
        work=third,
        author=ada,
        position=1,
        raw_author_name="Ada Example",
        origin=Authorship.Origin.CLAIMANT,
        status=Authorship.Status.CONFIRMED,
        status_changed_by=owner,
    )

    import_paths([FIXTURE_PAGE])
    assert "W900000003" in on_page(ada)

    other = Author.objects.create(display_name="Ada Example")
    ops.record_merge(staff=reviewer, source_id=ada.pk, target_id=other.pk)
    import_paths([FIXTURE_PAGE])

    kept = Authorship.objects.get(work=third, author=other)
    assert (kept.origin, kept.status) == ("claimant", "confirmed")
    assert on_page(other) == {"W900000001", "W900000003"}
    assert "W900000003" in on_page(cy)


def test_a_split_survives_a_re_import_of_the_real_orcid_record(reviewer) -> None:
    import_orcid_paths([ORCID_RECORD])
    author = Author.objects.get(orcid="0000-0002-4110-3511")
    works = sorted(on_page(author, key="work_id"))
    assert len(works) >= 2

    operation = ops.record_split(staff=reviewer, author_id=author.pk, work_ids=[works[0]])
    import_orcid_paths([ORCID_RECORD])

    assert works[0] not in on_page(author, key="work_id")
    assert set(works[1:]) <= on_page(author, key="work_id")
    assert on_page(operation.target, key="work_id") == {works[0]}
