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


# Finding 14: single-document files are streamed, with a bound on each record


def page(records: list[bytes], *, indent: bool = False) -> bytes:
    """An OpenAlex API response holding these records' JSON."""
    separator = b",\n    " if indent else b","
    head = b'{"meta": {"count": %d, "per_page": 200}, "results": [' % len(records)
    return head + separator.join(records) + b"]}"


def wide(values: int) -> bytes:
    """A work whose "ids" holds this many empty objects: cheap in JSON, costly once built."""
    return b'{"id": "https://openalex.org/W1", "ids": [' + b"{}," * (values - 1) + b"{}]}"


def run_reader(path: Path) -> tuple[int, int]:
    """(records read, peak memory in KiB) of a fresh process reading the file."""
    import os
    import subprocess
    import sys

    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "import django\n"
        "django.setup()\n"
        "from works.importers import openalex\n"
        "count = 0\n"
        "try:\n"
        "    for item in openalex._Reader(Path(sys.argv[1])).items():\n"
        "        count += openalex._parse(item).record is not None\n"
        "except openalex._FileError:\n"
        "    pass\n"
        "print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bzpeer.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    count, peak = done.stdout.split()
    return int(count), int(peak)


def write_gzip(path: Path, *parts: bytes, repeat: bytes = b"", times: int = 0) -> Path:
    """A gzip file of the parts with `repeat` written `times` times after the first
    part, without holding it all in memory."""
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(parts[0])
        for _ in range(times):
            handle.write(repeat)
        for part in parts[1:]:
            handle.write(part)
    return path


GOOD_PAGE_HEAD = page(good_lines(range(2)))[:-2] + b","


@pytest.mark.parametrize(
    "bomb",
    [
        # Four million objects in one record: built whole, over 300 MB.
        (GOOD_PAGE_HEAD + b'{"id": "W1", "ids": [', b"{}]}]}", b"{}," * 1_000_000, 4),
        # 200 million levels of nesting: a byte each in yajl's stack.
        (GOOD_PAGE_HEAD + b"\n", b"", b"[" * 1_000_000, 200),
        # A string of 200 MB: yajl holds it whole, and Python again.
        (GOOD_PAGE_HEAD + b'\n"', b'"]}', b"a" * 1_000_000, 200),
    ],
    ids=["wide-record", "deep-nesting", "long-string"],
)
def test_a_gzip_bomb_document_is_read_in_bounded_memory(tmp_path, bomb) -> None:
    head, tail, repeat, times = bomb
    path = write_gzip(tmp_path / "page.json.gz", head, tail, repeat=repeat, times=times)
    small = write_gzip(tmp_path / "small.json.gz", page(good_lines(range(3))))

    records, peak = run_reader(path)
    _, baseline = run_reader(small)

    assert path.stat().st_size < 300_000
    assert records == 2
    # A record is built up to MAX_RECORD_VALUES (about 100 MB at worst), yajl
    # holds up to 16 MB of one value and 100,000 levels, and no more.
    assert (peak - baseline) / 1024 < 150


def test_a_document_nested_beyond_what_the_parser_holds_stops_there(tmp_path) -> None:
    path = write_gzip(tmp_path / "page.json.gz", GOOD_PAGE_HEAD, repeat=b"[" * 1_000, times=200)

    stats = import_paths([path])

    assert [(p.location, p.reason) for p in stats.problems] == [
        ("record 3", "nested more than 100,000 levels deep; the file is not read further")
    ]
    assert (stats.created, stats.failed_paths) == (2, [str(path)])


def test_a_value_longer_than_the_parser_holds_stops_the_document_there(tmp_path) -> None:
    path = write_gzip(
        tmp_path / "page.json.gz", GOOD_PAGE_HEAD + b'"', repeat=b"a" * 1_000_000, times=20
    )

    stats = import_paths([path])

    assert len(stats.problems) == 1
    assert stats.problems[0].location == "after record 2"
    assert stats.problems[0].reason.startswith("a single value (or blank space) longer than 16,")
    assert (stats.created, stats.failed_paths) == (2, [str(path)])


@pytest.mark.parametrize("indent", [False, True], ids=["one-line", "indented"])
def test_a_record_beyond_the_value_bound_is_named_and_the_rest_of_the_page_kept(
    tmp_path, monkeypatch, indent
) -> None:
    monkeypatch.setattr("works.importers.openalex.MAX_RECORD_VALUES", 1_000)
    path = tmp_path / "page.json"
    records = [*good_lines(range(2)), wide(5_000), *good_lines(range(2, 4))]
    path.write_bytes(page(records, indent=indent))

    out, err, failure = run_command(path)

    assert failure == ""
    assert f"{path}:record 3: more than 1,000 values in one record" in err
    assert "created 4, updated 0, unchanged 0, skipped 1" in out
    assert Work.objects.count() == 4


def test_a_json_line_beyond_the_value_bound_is_named_and_skipped(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("works.importers.openalex.MAX_RECORD_VALUES", 1_000)
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(2)), wide(5_000), *good_lines(range(2, 4))))

    stats = import_paths([path])

    assert [(p.location, p.reason) for p in stats.problems] == [
        ("line 3", "more than 1,000 values in one record")
    ]
    assert stats.created == 4


def test_a_record_nested_5000_deep_in_a_page_is_named_and_the_rest_kept(tmp_path) -> None:
    path = tmp_path / "page.json"
    bad = b'{"id": "https://openalex.org/W1", "title": ' + deep(5_000) + b"}"
    path.write_bytes(page([*good_lines(range(2)), bad, *good_lines(range(2, 4))]))

    stats = import_paths([path])

    assert [(p.location, p.reason[:17]) for p in stats.problems] == [
        ("record 3", "nested too deeply")
    ]
    assert (stats.created, stats.failed_paths) == (4, [])


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", ["array", "indented-array", "bom-and-blank-lines"])
def test_a_top_level_array_of_entities_is_streamed(tmp_path, compress, shape) -> None:
    records = good_lines(range(4))
    if shape == "array":
        data = b"[" + b",".join(records) + b"]"
    elif shape == "indented-array":
        data = b"[\n  " + b",\n  ".join(records) + b"\n]\n"
    else:
        data = b"\xef\xbb\xbf\n\n[" + b",".join(records) + b"]"
    path = tmp_path / "works.json"
    path.write_bytes(gzip.compress(data) if compress else data)

    stats = import_paths([path])

    assert (stats.created, stats.problems) == (4, [])


def test_broken_json_in_a_page_names_the_record_and_bytes_and_keeps_those_before(
    tmp_path,
) -> None:
    path = tmp_path / "page.json"
    broken = json.dumps(work(2)).encode().replace(b'"title"', b'"title",,')
    path.write_bytes(page([*good_lines(range(2)), broken, *good_lines(range(3, 5))]))

    out, err, failure = run_command(path)

    assert f"{path}:record 3: invalid JSON: parse error:" in err
    assert f"(in bytes 0 to {path.stat().st_size - 1:,})" in err
    assert f"Could not read in full: {path}" in failure
    assert "created 2, " in out
    assert Work.objects.count() == 2


def test_a_first_line_refused_for_its_content_still_leaves_the_file_readable(tmp_path) -> None:
    # Not named .jsonl and its first line too deep to be taken for an entity:
    # the file is read as a stream of objects, each a record.
    path = tmp_path / "part_000.gz"
    bad = b'{"id": "https://openalex.org/W1", "title": ' + deep(5_000) + b"}"
    path.write_bytes(gzip.compress(lines(bad, *good_lines(range(3)), b"[]", b'"text"')))

    stats = import_paths([path])

    assert [(p.location, p.reason) for p in stats.problems] == [
        ("record 1", "nested too deeply (more than 1,024 levels)"),
        ("record 5", "not a JSON object but a list"),
        ("record 6", "not a JSON object but a string"),
    ]
    assert (stats.created, stats.failed_paths) == (3, [])


@pytest.mark.parametrize(
    ("data", "location", "reason"),
    [
        (b'{"meta": {}, "results": {"id": "W1"}}', "file", "an API response whose results"),
        (b'"just a string"', "file", "expected an OpenAlex API response"),
        (b"[1, [2]]", "record 1", "not a JSON object but a number"),
        (b'{"results": [\n{"id": "W1"}]} {"results": []}', "after record 1", "more JSON after"),
        (b"[{}] []", "after record 1", "more JSON after the end of the document"),
        (b'{"results": [{}]}\n{"x": 1', "after record 1", "more JSON after"),
        (b'{"results": [{}]} ,', "after record 1", "invalid JSON"),
        (b'{"meta": {}, "results": [1e400]}', "file", "a number too large to read"),
    ],
    ids=[
        "results-object",
        "scalar",
        "scalar-items",
        "two-pages",
        "two-arrays",
        "page-and-more",
        "page-and-garbage",
        "1e400",
    ],
)
def test_a_document_of_the_wrong_shape_is_refused_clearly(tmp_path, data, location, reason):
    path = tmp_path / "page.json"
    path.write_bytes(data)

    stats = import_paths([path])

    assert (location, reason) in [(p.location, p.reason[: len(reason)]) for p in stats.problems]


def test_a_number_beyond_64_bits_stops_a_page_at_its_record_and_keeps_those_before(
    tmp_path,
) -> None:
    # yajl cannot hold it, and cannot go on after it: the page stops there.
    path = tmp_path / "page.json"
    huge = json.dumps({**work(9), "cited_by_count": 2**64}).encode()
    path.write_bytes(page([*good_lines(range(2)), huge, *good_lines(range(2, 4))]))

    out, err, failure = run_command(path)

    assert f"{path}:record 3: a number too large to read (parse error: integer overflow" in err
    assert f"Could not read in full: {path}" in failure
    assert "created 2, " in out


def test_a_database_failure_ends_the_command_with_a_clear_message(tmp_path, monkeypatch) -> None:
    from django.db import OperationalError

    from works.importers import upsert

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr(upsert, "write_works", unreachable)
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(*good_lines(range(2))))

    _, _, failure = run_command(path)

    assert failure.startswith(
        "The database failed: couldn't get a connection after 10.00 sec\n"
        "What was written before stays"
    )


def test_a_long_line_json_would_decode_but_orjson_refuses_is_refused_without_a_second_pass(
    tmp_path, monkeypatch
) -> None:
    # json needs the line as a str, four bytes a character once one is
    # astral: beyond _MAX_TOKEN_BYTES a line is judged by orjson alone.
    monkeypatch.setattr("works.importers.openalex._MAX_TOKEN_BYTES", 2_000)
    short = json.dumps({**work(8), "note": "\U0001f600"}).replace("}", ', "x": NaN}', 1)
    long = json.dumps({**work(9), "note": "\U0001f600" + "a" * 3_000}).replace(
        "}", ', "x": NaN}', 1
    )
    path = tmp_path / "works.jsonl"
    path.write_bytes(lines(short.encode(), long.encode()))

    stats = import_paths([path])

    assert [(p.location, p.reason[:13]) for p in stats.problems] == [("line 2", "invalid JSON:")]
    assert Work.objects.filter(openalex_id="W800000008").exists()
