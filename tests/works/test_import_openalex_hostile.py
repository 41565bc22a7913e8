"""Hostile input to the OpenAlex importer: each bad line or record is named and
skipped, every good one is kept, and what was written is announced."""

import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from works.importers import import_paths
from works.models import Author, Authorship, Work
from works.signals import authors_changed

pytestmark = pytest.mark.django_db


def work(number: int) -> dict[str, Any]:
    """A small valid work with one author of its own."""
    return {
        "id": f"https://openalex.org/W{800_000_000 + number}",
        "title": f"Work {number}",
        "publication_year": 2020,
        "authorships": [
            {
                "author": {
                    "id": f"https://openalex.org/A{800_000_000 + number}",
                    "display_name": f"Author {number}",
                },
                "raw_author_name": f"Author {number}",
            }
        ],
    }


def lines(*parts: bytes) -> bytes:
    return b"".join(part + b"\n" for part in parts)


def good_lines(numbers: range) -> list[bytes]:
    return [json.dumps(work(n)).encode() for n in numbers]


class Announcements:
    """The author ids each authors_changed signal carried."""

    def __init__(self) -> None:
        self.received: list[list[int]] = []

    def __call__(self, sender: Any, author_ids: list[int], **kwargs: Any) -> None:
        self.received.append(author_ids)

    @property
    def author_ids(self) -> set[int]:
        return {i for ids in self.received for i in ids}


@pytest.fixture
def announcements():
    listener = Announcements()
    authors_changed.connect(listener)
    yield listener
    authors_changed.disconnect(listener)


def run_command(path: Path) -> tuple[str, str, str]:
    """stdout, stderr and the CommandError message ("" when the command succeeded)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("import_openalex", str(path), no_progress=True, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), str(error)
    return out.getvalue(), err.getvalue(), ""


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Finding 13: a line nested 2,000 deep among valid lines


def test_a_line_nested_2000_deep_is_named_and_every_good_line_kept(
    tmp_path, announcements, django_capture_on_commit_callbacks
) -> None:
    path = tmp_path / "works.jsonl"
    bad = b'{"id": "https://openalex.org/W1", "title": ' + deep(2_000) + b"}"
    path.write_bytes(lines(*good_lines(range(200)), bad, *good_lines(range(200, 300))))

    with django_capture_on_commit_callbacks(execute=True):
        out, err, failure = run_command(path)

    assert failure == ""
    assert "created 300, updated 0, unchanged 0, skipped 1" in out
    assert f"{path}:line 201: nested too deeply" in err
    assert "Traceback" not in err + out
    assert Work.objects.count() == 300
    assert Authorship.objects.count() == 300
    assert announcements.author_ids == set(Author.objects.values_list("id", flat=True))
    assert len(announcements.author_ids) == 300


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (deep(100_000), "nested too deeply"),
        (b'{"id": "W1", "x": ' + deep(2_000) + b', "y": NaN}', "nested too deeply"),
        (b'{"id": "W1", "cited_by_count": ' + b"9" * 5_000 + b"}", "a number too long"),
        (b'{"id": "W1", "cited_by_count": -' + b"9" * 5_000 + b"}", "a number too long"),
    ],
    ids=["deep-list", "deep-with-nan", "huge-int", "huge-negative-int"],
)
def test_a_line_json_cannot_hold_is_skipped_with_its_reason(tmp_path, bad, reason) -> None:
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(3)), bad, *good_lines(range(3, 5))))

    stats = import_paths([path])

    assert [(p.location, p.reason[: len(reason)]) for p in stats.problems] == [("line 4", reason)]
    assert (stats.created, stats.skipped, stats.failed_paths) == (5, 1, [])


def topic_score(score: bytes) -> bytes:
    record = work(99)
    record["topics"] = [{"id": "https://openalex.org/T900001", "score": "SCORE"}]
    return json.dumps(record).encode().replace(b'"SCORE"', score)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (topic_score(b"1" + b"0" * 400), "topics[0].score must be a finite number"),
        (topic_score(b"1e400"), "topics[0].score must be a finite number"),
        (topic_score(b"-1e400"), "topics[0].score must be a finite number"),
        (topic_score(b"NaN"), "topics[0].score must be a finite number"),
        (topic_score(b"Infinity"), "topics[0].score must be a finite number"),
    ],
    ids=["int-beyond-float", "overflowing-float", "negative-overflow", "nan", "infinity"],
)
def test_a_number_no_float_can_hold_skips_the_record_with_its_reason(tmp_path, bad, reason) -> None:
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(3)), bad, *good_lines(range(3, 5))))

    stats = import_paths([path])

    assert [(p.location, p.reason[: len(reason)]) for p in stats.problems] == [("line 4", reason)]
    assert (stats.created, stats.skipped) == (5, 1)
    assert not Work.objects.filter(openalex_id="W800000099").exists()


def test_a_crash_while_mapping_one_record_skips_only_that_record(tmp_path, monkeypatch) -> None:
    # Stands in for whatever the validation could still miss: the record is
    # named with the error's kind, and the file goes on.
    from works.importers import openalex

    parse_entity = openalex.parse_entity

    def fails_on_work_2(value: Any, notes: list[str]) -> Any:
        if value.get("title") == "Work 2":
            raise TypeError("unexpected shape")
        return parse_entity(value, notes)

    monkeypatch.setattr(openalex, "parse_entity", fails_on_work_2)
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(5))))

    stats = import_paths([path])

    assert [(p.location, p.reason) for p in stats.problems] == [
        ("line 3", "cannot be imported (TypeError: unexpected shape)")
    ]
    assert (stats.created, stats.skipped) == (4, 1)


def test_a_parsing_process_that_dies_keeps_and_announces_what_came_before(
    tmp_path, monkeypatch, announcements, django_capture_on_commit_callbacks
) -> None:
    import os

    from works.importers import openalex

    parse = openalex._parse
    seen = []

    def dies_at_the_fourth_record(item: Any) -> Any:
        seen.append(item)
        if len(seen) == 4:
            os._exit(1)  # as if the kernel killed it: no message, no clean-up
        return parse(item)

    monkeypatch.setattr(openalex, "_parse", dies_at_the_fourth_record)
    monkeypatch.setattr(openalex, "_CHUNK", 1)
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(6))))

    with django_capture_on_commit_callbacks(execute=True):
        out, err, failure = run_command(path)

    assert f"Could not read in full: {path}" in failure
    assert f"{path}:after line 3: the parsing process ended unexpectedly" in err
    assert "Traceback" not in err
    assert "created 3, " in out
    assert Work.objects.count() == 3
    assert announcements.author_ids == set(Author.objects.values_list("id", flat=True))


def test_a_bug_in_the_parsing_process_fails_the_file_clearly(tmp_path, monkeypatch) -> None:
    def broken(item: Any) -> Any:
        raise ZeroDivisionError("parser bug")

    # The parsing process is forked, so it inherits the patch.
    monkeypatch.setattr("works.importers.openalex._parse", broken)
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(3))))

    _, err, failure = run_command(path)

    assert f"{path}:line 1: the parser failed (ZeroDivisionError: parser bug)" in err
    assert "Traceback" not in err
    assert f"Could not read in full: {path}" in failure
    assert not Work.objects.exists()


def test_an_error_while_writing_still_announces_the_committed_batches(
    tmp_path, monkeypatch, announcements, django_capture_on_commit_callbacks
) -> None:
    from django.db import OperationalError

    from works.importers import upsert

    write_works = upsert.write_works
    calls = []

    def fails_on_the_second_batch(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("the server closed the connection")
        return write_works(*args, **kwargs)

    monkeypatch.setattr(upsert, "write_works", fails_on_the_second_batch)
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(4))))

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(OperationalError),
    ):
        import_paths([path], batch_size=2)

    assert Work.objects.count() == 2
    assert announcements.author_ids == set(Author.objects.values_list("id", flat=True))
    assert len(announcements.author_ids) == 2


def test_gzip_of_a_deep_line_among_good_ones(tmp_path) -> None:
    path = tmp_path / "part_000.gz"
    bad = b'{"id": "https://openalex.org/W1", "title": ' + deep(5_000) + b"}"
    path.write_bytes(gzip.compress(lines(*good_lines(range(2)), bad, *good_lines(range(2, 4)))))

    stats = import_paths([path])

    assert [(p.location, p.reason[:17]) for p in stats.problems] == [
        ("line 3", "nested too deeply")
    ]
    assert stats.created == 4
