"""Searching within a researcher's works finds what an import has just written.

The import has each work's full-text document computed ahead, on a database
connection of its own, and writes it with the row; everything else that writes
works leaves it to the database (works migration 0012). Either way the page's
search must find the work as soon as the write returns, by its new words only.
"""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from works.importers import import_entities, import_paths
from works.models import Author, Work

pytestmark = pytest.mark.django_db

ENVELOPE = Path(__file__).parent / "fixtures" / "openalex" / "works-page.json"


def record(title: str, abstract: str) -> dict[str, Any]:
    """The fixture's first work (by A900000001 and A900000002), retitled."""
    work = copy.deepcopy(json.loads(ENVELOPE.read_text())["results"][0])
    work["title"] = work["display_name"] = title
    work["abstract_inverted_index"] = {word: [i] for i, word in enumerate(abstract.split())}
    return work


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def found(client, author: Author, q: str) -> list[str]:
    url = reverse("profiles:researcher_detail", args=[author.pk])
    response = client.get(url, {"q": q})
    assert response.status_code == 200
    return [w.title for w in response.context["works"]]


def documents_as_computed() -> bool:
    """Every stored document is what PostgreSQL computes from the row's title and abstract."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bool_and(search_document = to_tsvector('english'::regconfig,"
            " works_fold(title || ' ' || abstract))) FROM works_work"
        )
        (same,) = cursor.fetchone()
    return bool(same)


def test_a_work_imported_from_a_file_is_found_once_the_import_returns(client, tmp_path):
    path = write_lines(tmp_path / "w.jsonl", [record("Quokka census", "Counting marsupials.")])
    import_paths([path])
    author = Author.objects.get(openalex_id="A900000001")
    assert found(client, author, "quokka") == ["Quokka census"]
    assert found(client, author, "marsupial") == ["Quokka census"]  # the abstract, stemmed
    assert documents_as_computed()


def test_a_reimport_that_retitles_a_work_finds_the_new_words_not_the_old(client, tmp_path):
    import_paths([write_lines(tmp_path / "a.jsonl", [record("Quokka census", "Counting.")])])
    import_paths([write_lines(tmp_path / "b.jsonl", [record("Wombat census", "Counting.")])])
    author = Author.objects.get(openalex_id="A900000001")
    assert found(client, author, "wombat") == ["Wombat census"]
    assert found(client, author, "quokka") == []
    assert documents_as_computed()


def test_a_reimport_changing_only_citations_keeps_the_work_findable(client, tmp_path):
    first = record("Quokka census", "Counting marsupials.")
    import_paths([write_lines(tmp_path / "a.jsonl", [first])])
    again = copy.deepcopy(first)
    again["cited_by_count"] = first["cited_by_count"] + 7
    stats = import_paths([write_lines(tmp_path / "b.jsonl", [again])])
    assert stats.updated == 1
    author = Author.objects.get(openalex_id="A900000001")
    assert found(client, author, "marsupials") == ["Quokka census"]
    assert documents_as_computed()


def test_works_imported_without_a_file_are_found_too(client):
    # No parsing process and no documents computed ahead: the database computes them.
    import_entities([record("Quokka census", "Counting marsupials.")])
    author = Author.objects.get(openalex_id="A900000001")
    assert found(client, author, "quokka") == ["Quokka census"]
    assert documents_as_computed()


def test_works_written_outside_the_import_are_found_by_their_current_words(client):
    author = AuthorFactory()
    work = WorkFactory(title="Quokka census", abstract="Counting marsupials.")
    AuthorshipFactory(work=work, author=author)
    assert found(client, author, "quokka") == ["Quokka census"]
    Work.objects.filter(pk=work.pk).update(title="Wombat census")
    cache.clear()  # the anonymous page is cached, and only imports and services refresh it
    assert found(client, author, "wombat") == ["Wombat census"]
    assert found(client, author, "quokka") == []
    work.refresh_from_db()
    work.abstract = "Sleeping koalas."
    work.save()
    cache.clear()
    assert found(client, author, "koala") == ["Wombat census"]
    assert found(client, author, "marsupials") == []
    assert documents_as_computed()
