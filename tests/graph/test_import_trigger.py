"""An import queues the slices of the authors whose records changed, and only those."""

from pathlib import Path

import pytest

from graph.models import GraphSlice
from tests.factories import AuthorFactory
from works.importers import import_paths

pytestmark = pytest.mark.django_db

WORKS_PAGE = (
    Path(__file__).resolve().parent.parent / "works" / "fixtures" / "openalex" / "works-page.json"
)


def test_import_builds_the_changed_authors_slices(django_capture_on_commit_callbacks):
    bystander = AuthorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        stats = import_paths([WORKS_PAGE])

    assert stats.changed_author_ids
    slices = GraphSlice.objects.filter(author_id__in=stats.changed_author_ids)
    assert slices.count() == len(stats.changed_author_ids)
    assert set(slices.values_list("status", flat=True)) == {GraphSlice.Status.READY}
    assert not GraphSlice.objects.filter(author=bystander).exists()
