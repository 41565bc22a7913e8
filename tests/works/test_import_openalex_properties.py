"""Property-based tests of the OpenAlex importer (hypothesis).

Whatever a file holds (any JSON value at any field of an otherwise valid
record, any nesting, any bytes), the import reports instead of raising, the
good records of the same file are kept, and the database holds each record
whole or not at all: exactly the good records' rows plus, when the importer
accepted it, every row the odd record brings.

Each example runs in a transaction of its own that is rolled back, so the
examples of one test never see each other's rows. No example database is
kept (database=None): nothing is written under the repository.
"""

import gzip
import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from works.importers import ImportStats, import_entities, import_paths
from works.importers.openalex import _Document, _Item, _parse, _Reader
from works.importers.openalex_records import (
    AuthorRow,
    InstitutionRow,
    Record,
    SourceRow,
    TopicRow,
    WorkRow,
)
from works.models import Author, Authorship, Institution, Source, Topic, Work

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "openalex"

# Modest counts: every example forks a parsing process and writes to PostgreSQL.
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HOLE = "__the value under test__"


def base_records() -> list[dict[str, Any]]:
    """Valid records of every kind the importer takes, from the test fixtures."""
    records = json.loads((FIXTURES / "works-page.json").read_text())["results"]
    for name in ("A900000001", "I900000001", "T900001", "S900000001"):
        records.append(json.loads((FIXTURES / f"{name}.json").read_text()))
    return records


BASES = base_records()


def good(number: int) -> dict[str, Any]:
    return {
        "id": f"https://openalex.org/W{800_000_000 + number}",
        "title": f"Work {number}",
        "authorships": [
            {"author": {"id": f"https://openalex.org/A{800_000_000 + number}"}},
        ],
    }


GOOD = [json.dumps(good(n)).encode() for n in range(4)]


def ids_of(row: Record | None) -> dict[str, set[Any]]:
    """The rows, by OpenAlex id, that importing this record writes."""
    found: dict[str, set[Any]] = {
        k: set() for k in ("works", "authors", "institutions", "topics", "sources", "authorships")
    }
    if isinstance(row, WorkRow):
        found["works"].add(row.openalex_id)
        for authorship in row.authorships:
            found["authors"].add(authorship.author.openalex_id)
            found["authorships"].add((row.openalex_id, authorship.author.openalex_id))
            found["institutions"] |= {i.openalex_id for i in authorship.institutions}
        found["institutions"] |= {i.openalex_id for i in row.unlinked_institutions}
        found["topics"] |= {t.topic.openalex_id for t in row.topics}
        if row.source is not None:
            found["sources"].add(row.source.openalex_id)
    elif isinstance(row, AuthorRow):
        found["authors"].add(row.openalex_id)
        if row.last_known_institution is not None:
            found["institutions"].add(row.last_known_institution.openalex_id)
        # The affiliation history's institutions are written too (an author
        # whose last known institution is gone still has them).
        found["institutions"] |= {f.institution.openalex_id for f in row.affiliations}
        found["topics"] |= {t.topic.openalex_id for t in row.topics}
    elif isinstance(row, InstitutionRow):
        found["institutions"].add(row.openalex_id)
    elif isinstance(row, TopicRow):
        found["topics"].add(row.openalex_id)
    elif isinstance(row, SourceRow):
        found["sources"].add(row.openalex_id)
    return found


def db_ids() -> dict[str, set[Any]]:
    return {
        "works": set(Work.objects.values_list("openalex_id", flat=True)),
        "authors": set(Author.objects.values_list("openalex_id", flat=True)),
        "institutions": set(Institution.objects.values_list("openalex_id", flat=True)),
        "topics": set(Topic.objects.values_list("openalex_id", flat=True)),
        "sources": set(Source.objects.values_list("openalex_id", flat=True)),
        "authorships": set(
            Authorship.objects.values_list("work__openalex_id", "author__openalex_id")
        ),
    }


def union(*parts: dict[str, set[Any]]) -> dict[str, set[Any]]:
    return {key: set().union(*(p[key] for p in parts)) for key in parts[0]}


GOOD_IDS = union(*(ids_of(_parse(_Item("", good(n))).record) for n in range(4)))


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example's writes, undone when it ends."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextmanager
def file_holding(name: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(data)
        yield path


def command(path: Path) -> tuple[str, str]:
    """Run the command as a person would: it may fail, but only with a CommandError."""
    out, err = StringIO(), StringIO()
    try:
        call_command("import_openalex", str(path), no_progress=True, stdout=out, stderr=err)
    except CommandError as error:
        assert str(error).strip()
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return out.getvalue(), err.getvalue()


# Strategies

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats()
    | st.text()
)
# Any JSON value Python's json can write (NaN and the infinities included).
json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def nested(draw: st.DrawFn) -> str:
    """JSON text nested up to 5,000 levels deep (deeper than any decoder's recursion)."""
    depth = draw(st.integers(min_value=1, max_value=5_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"k": ', "}"), ('[{"k": ', "}]")]))
    inner = draw(st.sampled_from(["0", "[]", '"text"', "null"]))
    return opener * depth + inner + closer * depth


odd_numbers = st.sampled_from(
    ["1e400", "-1e400", "1" + "0" * 400, "1" + "0" * 5_000, "NaN", "Infinity", "-Infinity"]
)
odd_strings = st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\u0000"', '"\\ufeff"'])
# JSON texts a line may hold at a field.
line_values = json_values.map(json.dumps) | nested() | odd_numbers | odd_strings
# Values yajl reads (a document): no NaN, no number beyond 64 bits or a double
# (yajl refuses -2**63 too); such a number stops a document, as tested by hand.
document_values = (
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=1 - 2**63, max_value=2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    ).map(json.dumps)
    | nested()
)


# Numbers at the edges of what yajl reads, and of the database's columns.
document_numbers = st.sampled_from(
    ["9223372036854775807", "-9223372036854775807", "1.7976931348623157e308", "-1", "2147483648"]
)


def places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and list index of a record, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from places(item, (*path, index))


def place_in(record: dict[str, Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    """Any place in the record; a numeric field's place as often as all others,
    those being few and the values most ways to go wrong there (ranges, NaN,
    overflow)."""
    every = list(places(record))
    numbers = [p for p in every if p[-1] in NUMERIC_FIELDS]
    return st.sampled_from(every) | st.sampled_from(numbers)


NUMERIC_FIELDS = {"score", "cited_by_count", "publication_year", "works_count", "count"}


@st.composite
def odd_records(
    draw: st.DrawFn, values: st.SearchStrategy[str], numbers: st.SearchStrategy[str]
) -> bytes:
    """A valid record of some kind, with one field (at any depth) set to any value,
    removed, or added."""
    record = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    path = draw(place_in(record))
    *parents, last = path
    parent = record
    for step in parents:
        parent = parent[step]
    action = draw(st.sampled_from(["set", "set", "remove", "add"]))
    if action == "remove":
        del parent[last]
        return json.dumps(record).encode()
    if last in NUMERIC_FIELDS and draw(st.booleans()):
        values = numbers
    if action == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=8))] = HOLE
    else:
        parent[last] = HOLE
    text = json.dumps(record).replace(json.dumps(HOLE), draw(values), 1)
    return text.encode()


def assert_whole_or_nothing(stats: ImportStats, expected_row: Record | None) -> None:
    """The database holds the good records, and the odd one whole or not at all."""
    refused = any("the database refused" in p.reason for p in stats.problems)
    if expected_row is None or refused:
        assert db_ids() == GOOD_IDS
    else:
        assert db_ids() == union(GOOD_IDS, ids_of(expected_row))


def expected_from_line(line: bytes) -> Record | None:
    """What the importer's own validation makes of the line (None: refused)."""
    reader = _Reader(Path("expected"))
    reader.line = 3
    return _parse(reader._line_item(line)).record


def expected_from_document(record: bytes) -> Record | None:
    """What the importer's own validation makes of the record as a page item."""
    (item,) = _Document().items(io.BytesIO(b"[" + record + b"]"))
    return _parse(item).record


# Properties


@PROPERTY
@given(odd=odd_records(line_values, odd_numbers))
def test_any_value_at_any_field_of_a_line_leaves_the_good_lines_and_no_half_record(odd) -> None:
    data = b"\n".join([*GOOD[:2], odd, *GOOD[2:]]) + b"\n"
    expected = expected_from_line(odd)

    with rolled_back(), file_holding("works.jsonl", data) as path:
        stats = import_paths([path])

        assert stats.failed_paths == []
        assert stats.records == 5
        assert {p.location for p in stats.problems} <= {"line 3"}
        assert_whole_or_nothing(stats, expected)


@PROPERTY
@given(
    odd=odd_records(document_values, document_numbers),
    shape=st.sampled_from(["page", "array"]),
    compress=st.booleans(),
)
def test_any_value_at_any_field_of_a_page_record_leaves_the_good_ones_and_no_half_record(
    odd, shape, compress
) -> None:
    records = [*GOOD[:2], odd, *GOOD[2:]]
    if shape == "page":
        data = b'{"meta": {"count": 5}, "results": [' + b",\n".join(records) + b"]}"
    else:
        data = b"[" + b",".join(records) + b"]"
    data = gzip.compress(data) if compress else data
    expected = expected_from_document(odd)

    with rolled_back(), file_holding("page.json", data) as path:
        stats = import_paths([path])

        assert stats.failed_paths == []
        assert stats.records == 5
        assert {p.location for p in stats.problems} <= {"record 3"}
        assert_whole_or_nothing(stats, expected)


@PROPERTY
@given(junk=st.binary(max_size=300), name=st.sampled_from(["works.jsonl", "part_000"]))
def test_any_bytes_in_a_line_leave_the_good_lines(junk, name) -> None:
    data = b"\n".join([*GOOD[:2], junk, *GOOD[2:]]) + b"\n"

    with rolled_back(), file_holding(name, data) as path:
        stats = import_paths([path])

        assert stats.failed_paths == []
        ids = db_ids()
        assert all(ids[key] >= GOOD_IDS[key] for key in ids)


@PROPERTY
@given(
    data=st.binary(max_size=2_000)
    | st.binary(max_size=200).map(gzip.compress)
    | st.text(max_size=300).map(str.encode),
    name=st.sampled_from(["page.json", "works.jsonl", "part_000.gz", "x"]),
)
def test_any_file_at_all_ends_in_a_report_never_a_traceback(data, name) -> None:
    with rolled_back(), file_holding(name, data) as path:
        command(path)


@st.composite
def broken_pages(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A valid page with bytes changed at one place, and where each record ends."""
    head = b'{"meta": {"count": 4}, "results": ['
    data, ends = head, []
    for index, record in enumerate(GOOD):
        data += (b"," if index else b"") + record
        ends.append(len(data))
    data += b"]}"
    at = draw(st.integers(min_value=0, max_value=len(data)))
    cut = draw(st.integers(min_value=0, max_value=20))
    junk = draw(st.binary(max_size=20))
    return data[:at] + junk + data[at + cut :], [i for i, end in enumerate(ends) if end <= at]


@PROPERTY
@given(page=broken_pages(), compress=st.booleans())
# Bytes that are not UTF-8 right after a record: the record before them stands.
@example(
    page=(
        b'{"meta": {"count": 2}, "results": [' + GOOD[0] + b',{"\xc0\x80\xc0\x80id": "x"}]}',
        [0],
    ),
    compress=False,
)
def test_a_page_broken_anywhere_keeps_every_record_before_the_break(page, compress) -> None:
    data, whole = page
    data = gzip.compress(data) if compress else data

    with rolled_back(), file_holding("page.json", data) as path:
        command(path)

        kept = db_ids()["works"]
        assert {f"W{800_000_000 + n}" for n in whole} <= kept


@st.composite
def nested_values(draw: st.DrawFn) -> Any:
    """A decoded value nested up to 5,000 levels deep, built without recursion."""
    value: Any = draw(st.sampled_from([0, "text", None]))
    for _ in range(draw(st.integers(min_value=1, max_value=5_000))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


@st.composite
def odd_entities(draw: st.DrawFn) -> dict[str, Any]:
    """As odd_records, for a decoded entity (what the OpenAlex API client hands over)."""
    record = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    path = draw(place_in(record))
    *parents, last = path
    parent = record
    for step in parents:
        parent = parent[step]
    odd_number = st.sampled_from([10**400, -(10**400), 2**64, float("nan"), float("inf")])
    value: Any
    if last in NUMERIC_FIELDS and draw(st.booleans()):
        value = draw(odd_number)
    else:
        value = draw(json_values | nested_values())
    action = draw(st.sampled_from(["set", "set", "remove", "add"]))
    if action == "remove":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=8))] = value
    else:
        parent[last] = value
    return record


@PROPERTY
@given(odd=odd_entities())
def test_any_value_at_any_field_of_a_fetched_entity_leaves_the_others_and_no_half_record(
    odd,
) -> None:
    entities = [good(0), good(1), odd, good(2), good(3)]
    expected = _parse(_Item("record 3", odd)).record

    with rolled_back():
        stats = import_entities(entities, source_name="api")

        assert stats.records == 5
        assert {p.location for p in stats.problems} <= {"record 3"}
        assert_whole_or_nothing(stats, expected)
