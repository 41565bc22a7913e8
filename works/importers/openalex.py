"""Import OpenAlex records: API responses, JSON-lines snapshots, single entities.

Formats, told apart by content (a .jsonl or .ndjson name forces JSON lines;
gzip is recognised by its magic bytes, whatever the name):

- JSON lines, plain or gzipped, one entity per line (the OpenAlex snapshot):
  read line by line, so memory stays flat however long the file is.
- An API response `{"meta": ..., "results": [...]}`, a single entity object,
  or a JSON array of entities, plain or gzipped: one document, streamed by
  ijson and built record by record, so memory stays flat however large the
  document is (a gzip bomb included).

Every record, a line or an item of a document, is bounded: at most
MAX_LINE_BYTES of JSON, MAX_RECORD_VALUES values and MAX_DEPTH levels of
nesting. A record beyond them is reported and skipped, never built whole.

Records are validated one by one (openalex_records), a bad one is reported and
skipped, and good ones are written in batches (upsert), each batch in its own
transaction; with strict=True the first problem aborts the file and nothing
from it is written.

A file is read and validated in a child process while this one writes: the
two halves cost about the same, so on two cores they overlap instead of
taking turns. The writer takes the records in file order, so problems,
batches and strict mode behave as if both halves ran in one process.

JSON lines are decoded by orjson, about twice as fast as Python's json; what
orjson refuses (NaN, lone surrogates, a byte-order mark, broken JSON) in a line
of up to _MAX_TOKEN_BYTES is decoded again by json, so the leniency and the
error messages are json's. One difference stays: orjson reads an integer beyond
64 bits as a float, which validation refuses where an integer belongs, as it
would refuse the integer itself. A document is stricter, being read by yajl:
NaN, or a number beyond 64 bits or a double's range, stops the file there (the
records before it stay).
"""

import contextlib
import fcntl
import gc
import gzip
import io
import json
import logging
import multiprocessing
import pickle
import traceback
import zlib
from collections import Counter, deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

import ijson
import orjson
import psycopg
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from tqdm import tqdm

from works import metrics
from works.importers import upsert
from works.importers.openalex_records import (
    AuthorRow,
    InstitutionRow,
    Record,
    RecordError,
    SourceRow,
    TopicRow,
    WorkRow,
    parse_entity,
)
from works.models import Authorship
from works.signals import affiliations_changed, authors_changed, works_created

MAX_LINE_BYTES = 64 * 1024 * 1024
# orjson's own limit; json's is Python's recursion limit, about as deep.
MAX_DEPTH = 1_024
# Values (objects, lists, numbers, strings...) in one record. Real works hold
# about one per 20 bytes, a few thousand each; 1,000,000 is a work of 20 MB,
# and holds a record's decoded size to some 100 MB whatever its JSON.
MAX_RECORD_VALUES = 1_000_000
# Bytes of a document handed to ijson at a time.
_READ_BYTES = 64 * 1024
# yajl keeps a byte per level of nesting, and the whole of a string or number
# until it ends, however long: past these a document is not read further.
# Records nested deeper than MAX_DEPTH but within _MAX_PARSER_DEPTH are
# skipped, and the records after them read. json, the fallback for lines,
# holds a line as a str of up to four bytes a character: it is not given
# lines over _MAX_TOKEN_BYTES.
_MAX_PARSER_DEPTH = 100_000
_MAX_TOKEN_BYTES = 16 * 1024 * 1024
# Problems beyond this are counted, not kept: a broken million-line file must
# not fill memory with reports nobody reads past the first screen.
MAX_LISTED_PROBLEMS = 1_000
JSON_LINES_SUFFIXES = {".jsonl", ".ndjson"}

logger = logging.getLogger(__name__)

# At the end of a file, entities are written before the works that mention
# them, so an author's own record is the one that creates its row (and counts
# as created) and the works' copies of it only fill blanks.
_WRITE_ORDER = ("institution", "topic", "source", "author", "work")
_KIND_OF: dict[type, str] = {
    WorkRow: "work",
    AuthorRow: "author",
    InstitutionRow: "institution",
    TopicRow: "topic",
    SourceRow: "source",
}


@dataclass
class ImportProblem:
    path: str
    location: str  # "line 12", "record 7", or "file"
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.location}: {self.reason}"


@dataclass
class ImportStats:
    """What an import did; created/updated/unchanged/skipped count top-level records."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    # Authors created, changed, or whose authorships changed: their graph
    # slices need recomputing.
    changed_author_ids: set[int] = field(default_factory=set)
    failed_paths: list[str] = field(default_factory=list)  # unreadable in whole or in part
    problems_not_listed: int = 0
    # Imports of one person's works (ORCID) count them apart from the person:
    # works found stored already, and works created.
    works_matched: int = 0
    works_added: int = 0

    @property
    def records(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    def add_problem(self, problem: ImportProblem) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_not_listed += 1

    def merge(self, other: "ImportStats") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        for problem in other.problems:
            self.add_problem(problem)
        self.problems_not_listed += other.problems_not_listed
        self.changed_author_ids |= other.changed_author_ids
        self.failed_paths += other.failed_paths
        self.works_matched += other.works_matched
        self.works_added += other.works_added

    def summary(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}"
        )


class ImportAborted(Exception):
    """A strict import met a problem; nothing from that file or stream was written."""

    def __init__(self, problem: ImportProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem
        # What earlier files of the same import_paths call committed.
        self.committed = ImportStats()


class _FileError(Exception):
    def __init__(self, location: str, reason: str) -> None:
        super().__init__(reason)
        self.location = location
        self.reason = reason


@dataclass(slots=True)
class _Item:
    location: str
    value: Any = None
    error: str = ""  # set when the record could not even be decoded


class _Parsed(NamedTuple):
    """An item after validation: a record, or the reason it is skipped."""

    location: str
    record: Record | None
    error: str
    notes: list[str]


def _parse(item: _Item) -> _Parsed:
    if item.error:
        return _Parsed(item.location, None, item.error, [])
    notes: list[str] = []
    try:
        record = parse_entity(item.value, notes)
    except RecordError as error:
        return _Parsed(item.location, None, str(error), [])
    except RecursionError:
        return _Parsed(item.location, None, _TOO_DEEP, [])
    except Exception as error:
        # Whatever the validation still misses is one record's problem, not
        # the file's: the record is named, skipped, and the import goes on.
        logger.warning("OpenAlex record at %s not imported", item.location, exc_info=True)
        return _Parsed(item.location, None, f"cannot be imported ({_summary(error)})", [])
    return _Parsed(item.location, record, "", notes)


_TOO_DEEP = f"nested too deeply (more than {MAX_DEPTH:,} levels)"


def _summary(error: BaseException) -> str:
    """The exception's kind and message, on one line and short enough to print."""
    message = " ".join(str(error).split())
    if len(message) > 200:
        message = message[:200] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


# Parsed records per message from the parsing process: large enough that
# pickling and the pipe cost little per record, small enough that the writer
# starts at once.
_CHUNK = 100
# The pipe between the two processes is the only buffer: the parser blocks
# when it is full, so memory stays bounded. A pipe holds 64 KiB by default,
# less than one message (about 140 KB for 100 works); at 1 MiB (Linux's limit
# for an unprivileged process) it holds more than a batch, so the parser keeps
# going while the writer waits for the database.
_PIPE_BYTES = 1 << 20


def _parse_file(path: Path, conn: "Connection") -> None:
    """The parsing process: every item of the file, parsed, in chunks; then a final message.

    Messages are pickled and written here, in the one thread: a
    multiprocessing.Queue's feeder thread would have to win the GIL back from
    this busy thread for every write to the pipe, and the writer would wait
    for it.
    """
    # The inherited objects live as long as the process: the collector's full
    # passes need not walk them again and again.
    gc.freeze()

    def send(message: Any) -> None:
        conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    chunk: list[_Parsed] = []
    reader = _Reader(path)
    location = "file"
    try:
        for item in reader.items():
            location = item.location
            chunk.append(_parse(item))
            if len(chunk) >= _CHUNK:
                send(chunk)
                chunk = []
        send(chunk)
        send(("done",))
    except _FileError as error:
        send(chunk)
        send(("file error", error.location, error.reason))
    except BrokenPipeError:
        pass  # the writer stopped early
    except BaseException as error:
        # A bug, not bad input: what was parsed before still goes in, and the
        # file is reported as failed where it stopped.
        send(chunk)
        send(("crashed", location, _summary(error), traceback.format_exc()))
    finally:
        conn.close()


def _parsed_here(path: Path) -> Iterator[_Parsed]:
    """The file's items, parsed in this process; a crash fails the file where it happened."""
    location = "file"
    try:
        for item in _Reader(path).items():
            location = item.location
            yield _parse(item)
    except _FileError:
        raise
    except Exception as error:
        logger.exception("Parsing %s failed at %s", path, location)
        raise _FileError(location, f"the parser failed ({_summary(error)})") from None


def _widen(conn: "Connection") -> None:
    """Let the pipe hold _PIPE_BYTES where the system allows (Linux); elsewhere keep its size."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(conn.fileno(), set_size, _PIPE_BYTES)


def _can_fork() -> bool:
    # A daemonic process (a Celery pool worker) may not start children.
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def _parsed_file(path: Path) -> Generator[_Parsed, None, None]:
    """The file's items, parsed in a child process; file-level failures raise _FileError.

    The child is forked: it inherits the loaded code and never touches the
    database connection. It is stopped when the writer stops early.
    """
    if not _can_fork():
        yield from _parsed_here(path)
        return
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    _widen(writer)
    child = context.Process(target=_parse_file, args=(path, writer), daemon=True)
    child.start()
    # The child holds the only write end now: if it dies, reading ends in EOFError.
    writer.close()
    last = ""
    try:
        while True:
            try:
                message = pickle.loads(reader.recv_bytes())
            except EOFError:
                raise _FileError(
                    f"after {last}" if last else "file",
                    "the parsing process ended unexpectedly (killed, or out of memory?)",
                ) from None
            if isinstance(message, list):
                if message:
                    last = message[-1].location
                yield from message
            elif message[0] == "done":
                return
            elif message[0] == "file error":
                raise _FileError(message[1], message[2])
            else:
                _, location, summary, details = message
                logger.error("Parsing %s failed at %s:\n%s", path, location, details)
                raise _FileError(location, f"the parser failed ({summary})")
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        reader.close()


def _json_error(error: json.JSONDecodeError, text: str, *, unit: str, position: str) -> str:
    if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
        return (
            f"truncated JSON: the {unit} ends before its JSON is complete "
            f"({error.msg} at {position})"
        )
    return f"invalid JSON: {error.msg} at {position}"


class _Reader:
    """The records of one file, as items; file-level failures raise _FileError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.line = 0
        self.document: _Document | None = None

    def position(self) -> str:
        """Where the reading is, for a failure of the file itself."""
        if self.document is not None:
            return self.document.position()
        return f"line {self.line + 1}"

    def items(self) -> Iterator[_Item]:
        try:
            yield from self._items()
        except FileNotFoundError:
            raise _FileError("file", "no such file") from None
        except IsADirectoryError:
            raise _FileError("file", "is a directory, not a file") from None
        except PermissionError:
            raise _FileError("file", "permission denied") from None
        except EOFError:
            raise _FileError(
                self.position(), "the compressed file ends early (truncated .gz?)"
            ) from None
        except (gzip.BadGzipFile, zlib.error) as error:
            raise _FileError(self.position(), f"corrupt gzip data: {error}") from None
        except OSError as error:
            raise _FileError("file", f"cannot read: {error.strerror or error}") from None

    def _open(self) -> io.BufferedIOBase:
        with self.path.open("rb") as probe:
            compressed = probe.read(2) == b"\x1f\x8b"
        if compressed:
            return gzip.open(self.path, "rb")
        return self.path.open("rb")

    def _lines(self, handle: io.BufferedIOBase) -> Iterator[bytes | None]:
        """Lines in order; None stands for a line over MAX_LINE_BYTES, which is skipped."""
        while line := handle.readline(MAX_LINE_BYTES + 1):
            self.line += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield None
            else:
                yield line

    def _items(self) -> Iterator[_Item]:
        name = self.path.name.lower().removesuffix(".gz")
        forced_lines = Path(name).suffix in JSON_LINES_SUFFIXES
        with self._open() as handle:
            lines = self._lines(handle)
            first: bytes | None = b""
            for first in lines:
                if first is None or first.strip():
                    break
            else:
                raise _FileError("file", "empty file")
            first_item = self._line_item(first)
            # A file is JSON lines when named so, or when its first line is one
            # entity; anything else is one document.
            if forced_lines or (
                not first_item.error
                and isinstance(first_item.value, dict)
                and "results" not in first_item.value
            ):
                yield first_item
                yield from (self._line_item(line) for line in lines if line is None or line.strip())
                return
        del first, first_item
        self.document = _Document()
        with self._open() as handle:
            yield from self.document.items(handle)

    def _line_item(self, line: bytes | None) -> _Item:
        location = f"line {self.line}"
        if line is None:
            return _Item(location, error=f"line longer than {MAX_LINE_BYTES:,} bytes")
        # Every value but the first of a container follows a comma, and each
        # container opens with a bracket: commas plus twice the brackets bound
        # the values from above. Counted before anything is built, and only
        # where the bytes alone do not rule it out.
        if len(line) > MAX_RECORD_VALUES and (
            line.count(b",") + 2 * (line.count(b"[") + line.count(b"{")) > MAX_RECORD_VALUES
        ):
            return _Item(location, error=_too_many_values())
        try:
            return _Item(location, orjson.loads(line))
        except orjson.JSONDecodeError as error:
            # json decodes from a str, up to four bytes a character: a long
            # line is judged by orjson alone.
            if len(line) > _MAX_TOKEN_BYTES:
                return _Item(location, error=f"invalid JSON: {error}")
        try:
            text = line.decode("utf-8-sig" if self.line == 1 else "utf-8")
        except UnicodeDecodeError:
            return _Item(location, error="not UTF-8 text")
        try:
            return _Item(location, json.loads(text))
        except json.JSONDecodeError as error:
            position = f"column {error.colno}"
            return _Item(location, error=_json_error(error, text, unit="line", position=position))
        except RecursionError:
            return _Item(location, error=_TOO_DEEP)
        except ValueError as error:  # an integer of more digits than Python converts
            return _Item(location, error=f"a number too long to read ({_summary(error)})")


def _too_many_values() -> str:
    return f"more than {MAX_RECORD_VALUES:,} values in one record"


_NOT_A_DOCUMENT = (
    "expected an OpenAlex API response {meta, results}, an entity object, "
    "a list of entities or JSON lines"
)


class _Builder:
    """One record built from ijson's events, within the bounds on a record.

    Past a bound, what was built is dropped and the rest of the record only
    counted through, so a record of any size costs at most the bounds.
    """

    __slots__ = ("depth", "error", "keys", "stack", "text", "value", "values")

    def __init__(self) -> None:
        self.stack: list[Any] = []  # the containers open, outermost first
        self.keys: list[Any] = []  # for each, the key its next value goes under
        self.depth = 0
        self.values = 0
        self.text = 0  # characters of the keys and strings
        self.value: Any = None
        self.error = ""

    def add(self, event: str, value: Any) -> bool:
        """Take one event; True once the record is complete."""
        if event == "map_key":
            if not self.error:
                self.keys[-1] = value
                self._count_text(value)
            return False
        if event == "start_map" or event == "start_array":
            self.depth += 1
            if self.error:
                return False
            if self.depth > MAX_DEPTH:
                self._fail(_TOO_DEEP)
                return False
            container: Any = {} if event == "start_map" else []
            if self.stack:
                self._put(container)
            self.stack.append(container)
            self.keys.append(None)
            return False
        if event == "end_map" or event == "end_array":
            self.depth -= 1
            if not self.error:
                self.keys.pop()
                self.value = self.stack.pop()
            return self.depth == 0
        if not self.error:
            if event == "string":
                self._count_text(value)
            self._put(value)
        return False

    def _put(self, value: Any) -> None:
        self.values += 1
        if self.values > MAX_RECORD_VALUES:
            self._fail(_too_many_values())
            return
        parent = self.stack[-1]
        if parent.__class__ is list:
            parent.append(value)
        else:
            parent[self.keys[-1]] = value

    def _count_text(self, value: str) -> None:
        self.text += len(value)
        if self.text > MAX_LINE_BYTES:
            self._fail(f"more than {MAX_LINE_BYTES:,} characters of text in one record")

    def _fail(self, reason: str) -> None:
        self.error = reason
        self.stack.clear()
        self.keys.clear()
        self.value = None


class _Document:
    """The records of one JSON document, streamed: an API response's results,
    a top-level array's items, or the document itself when it is one entity
    (then further objects after it are records too: JSON lines whose first
    line was refused, or concatenated entities).

    Records are located by their index ("record 7"); a document that breaks
    off stops there, with the byte range where it broke, and the records
    before it stand.
    """

    def __init__(self) -> None:
        self.depth = 0  # containers open outside the record being built
        self.shape = ""  # "array", "entity" or "response", once known
        self.in_records = False  # inside the list whose items are records
        self.records_depth = 0  # self.depth inside that list
        self.awaiting_results = False  # the response's "results" key was just read
        self.index = 0  # records begun
        self.record: _Builder | None = None
        self.offset = 0  # bytes handed to the parser

    def position(self) -> str:
        if self.record is not None:
            return f"record {self.index}"
        if self.index:
            return f"after record {self.index}"
        return "file"

    def items(self, handle: io.BufferedIOBase) -> Iterator[_Item]:
        events = ijson.utils.sendable_list()
        parser = ijson.basic_parse_coro(events, use_float=True, multiple_values=True)
        chunk = handle.read(_READ_BYTES)
        if chunk.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
            chunk = chunk[3:]
            self.offset = 3
        quiet_since = 0  # where the parser last produced an event
        while True:
            try:
                if chunk:
                    parser.send(chunk)
                else:
                    parser.close()
            except (ijson.JSONError, UnicodeDecodeError) as error:
                # The events before the error are good: their records stand.
                # (Bytes that are not UTF-8 stop the parser as bad JSON does.)
                yield from self._take(events)
                raise self._error(error, len(chunk)) from None
            yield from self._take(events)
            if events:
                del events[:]
                quiet_since = self.offset + len(chunk)
            elif self.offset + len(chunk) - quiet_since > _MAX_TOKEN_BYTES:
                raise _FileError(
                    self.position(),
                    f"a single value (or blank space) longer than {_MAX_TOKEN_BYTES:,} bytes "
                    f"from byte {quiet_since:,}; the file is not read further",
                )
            if self.depth + (self.record.depth if self.record else 0) > _MAX_PARSER_DEPTH:
                raise _FileError(
                    self.position(),
                    f"nested more than {_MAX_PARSER_DEPTH:,} levels deep; "
                    "the file is not read further",
                )
            if not chunk:
                break
            self.offset += len(chunk)
            chunk = handle.read(_READ_BYTES)
        if not self.shape:
            raise _FileError("file", "empty file")

    def _take(self, events: list[tuple[str, Any]]) -> Iterator[_Item]:
        for event, value in events:
            record = self.record
            if record is not None:
                if (
                    self.shape == "entity"
                    and self.index == 1
                    and record.depth == 1
                    and event == "map_key"
                    and value == "results"
                ):
                    # Not an entity but an API response: its results are the records.
                    self.shape = "response"
                    self.record = None
                    self.index = 0
                    self.depth = 1
                    self.awaiting_results = True
                elif record.add(event, value):
                    self.record = None
                    location = f"record {self.index}"
                    if record.error:
                        yield _Item(location, error=record.error)
                    else:
                        yield _Item(location, record.value)
                continue
            opens = event == "start_map" or event == "start_array"
            if self.awaiting_results:
                self.awaiting_results = False
                if event != "start_array":
                    raise _FileError("file", "an API response whose results is not a list")
                self.depth += 1
                self.in_records = True
                self.records_depth = self.depth
            elif (
                self.in_records and self.depth == self.records_depth and event != "end_array"
            ) or (self.depth == 0 and self.shape == "entity"):
                # A record begins: an item of the records' list, or another top-level object.
                self.index += 1
                if opens:
                    self.record = _Builder()
                    self.record.add(event, value)
                else:
                    yield _Item(f"record {self.index}", value)
            elif self.depth == 0 and self.shape:
                raise _FileError(self.position(), "more JSON after the end of the document")
            elif not self.shape:
                if event == "start_array":
                    self.shape = "array"
                    self.depth = 1
                    self.in_records = True
                    self.records_depth = 1
                elif event == "start_map":
                    self.shape = "entity"
                    self.index = 1
                    self.record = _Builder()
                    self.record.add(event, value)
                else:
                    raise _FileError("file", _NOT_A_DOCUMENT)
            elif opens:
                self.depth += 1
            elif event == "end_map" or event == "end_array":
                if self.in_records and self.depth == self.records_depth:
                    self.in_records = False
                self.depth -= 1
            elif event == "map_key" and self.depth == 1 and value == "results":
                self.awaiting_results = True

    def _error(self, error: Exception, chunk_length: int) -> _FileError:
        if isinstance(error, UnicodeDecodeError):
            where = f"in bytes {self.offset:,} to {self.offset + max(chunk_length - 1, 0):,}"
            return _FileError(self.position(), f"not UTF-8 text ({error.reason}, {where})")
        message = error.args[0] if error.args else ""
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        message = str(message).strip().splitlines()[0] if str(message).strip() else "invalid"
        location = self.position()
        if "premature EOF" in message:
            return _FileError(location, "truncated JSON: the file ends before its JSON is complete")
        where = f"in bytes {self.offset:,} to {self.offset + max(chunk_length - 1, 0):,}"
        if "overflow" in message:
            return _FileError(location, f"a number too large to read ({message}, {where})")
        return _FileError(location, f"invalid JSON: {message} ({where})")


class _Beside:
    """A thread with a database connection of its own, for work beside the writer.

    The connection is PostgreSQL's own (the settings' parameters, no pool): it
    is opened on first use and closed with the thread. Each job runs in a
    transaction that never waits more than 2 s for a lock, so that it cannot
    hold up an import whose writer holds one.
    """

    def __init__(self, name: str) -> None:
        self.params = connection.get_connection_params()  # in the writer's thread
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.conn: psycopg.Connection[Any] | None = None

    def submit(self, job: Any, *args: Any) -> "Future[None]":
        return self.executor.submit(self._run, job, *args)

    def _run(self, job: Any, *args: Any) -> None:
        if self.conn is None:
            self.conn = psycopg.connect(**self.params, autocommit=True)
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            job(cursor, *args)

    def close(self) -> None:
        self.executor.submit(self._close)
        self.executor.shutdown(wait=True)

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _PlannerStatistics:
    """ANALYZE the imported tables each time an import has doubled what it created.

    Autovacuum may be off, or lag behind a bulk import: a table filled without
    statistics makes PostgreSQL take `= ANY(batch ids)` for most of the table
    and scan all of it, batch after batch. Doubling keeps it to a few runs (a
    million records: about ten), and small imports never pay for it. Records
    that were only updated or unchanged leave the tables' sizes as the
    statistics knew them, so a re-import does not count them.

    Between batches that commit on their own, ANALYZE runs on a connection of
    its own in a thread of its own, while the writer goes on (it sees the
    batches committed by then); inside a caller's transaction (strict=True) it
    runs in that transaction, the only one that sees the rows. The import
    returns once it is done.
    """

    FIRST_AT = 2_000
    SQL = f"ANALYZE {', '.join(upsert.TABLES)}"

    def __init__(self) -> None:
        self.created = 0
        self.next_at = self.FIRST_AT
        self.beside: _Beside | None = None

    def wrote(self, created: int, cursor: Any, *, in_transaction: bool) -> None:
        self.created += created
        if self.created >= self.next_at:
            self.next_at = 2 * self.created
            if in_transaction:
                cursor.execute(self.SQL)
                return
            if self.beside is None:
                self.beside = _Beside("openalex-analyze")
            self.beside.submit(self._analyze)

    def _analyze(self, cursor: Any) -> None:
        try:
            cursor.execute(self.SQL)
        except Exception:
            logger.warning("ANALYZE of the imported tables failed", exc_info=True)
            raise

    def close(self) -> None:
        if self.beside is not None:
            self.beside.close()
            self.beside = None


# Works whose search documents are asked for in one statement.
_DOCUMENTS_CHUNK = 100


class _SearchDocuments:
    """Has PostgreSQL compute the search documents of the works being imported,
    ahead of their batch, on a connection of its own in a thread of its own.

    Computing the document was the largest part of writing a work. Asked for
    as the works arrive, it is done while this process reads and decodes the
    next records, instead of by the writer's statement. A document not computed
    here (the connection failed, or a lock made it wait) is left to the
    database's trigger (works migration 0012): the import never fails for it.
    """

    def __init__(self) -> None:
        self.pending: list[WorkRow] = []
        self.futures: dict[int, Future[None]] = {}  # by chunk number
        self.chunk_of: dict[int, int] = {}  # id() of a work -> its chunk number
        self.chunks = 0
        self.enabled = True
        self.beside = _Beside("openalex-documents")

    def __enter__(self) -> "_SearchDocuments":
        return self

    def __exit__(self, *exc: object) -> None:
        self.pending.clear()
        for future in self.futures.values():
            future.cancel()
        self.beside.close()

    def add(self, work: WorkRow) -> None:
        if not self.enabled:
            return
        self.chunk_of[id(work)] = self.chunks
        self.pending.append(work)
        if len(self.pending) >= _DOCUMENTS_CHUNK:
            self._submit()

    def wait(self, works: Iterable[WorkRow]) -> None:
        """Until the documents of these works are computed (or given up)."""
        last = max((self.chunk_of.pop(id(work), -1) for work in works), default=-1)
        if last == self.chunks:  # its chunk is still being filled
            self._submit()
        for number in sorted(n for n in self.futures if n <= last):
            error = self.futures.pop(number).exception()
            if error is not None and self.enabled:
                logger.warning(
                    "Search documents not computed ahead; the database computes them as"
                    " works are written",
                    exc_info=error,
                )
                self.enabled = False

    def _submit(self) -> None:
        if self.pending:
            self.futures[self.chunks] = self.beside.submit(self._compute, self.pending)
            self.chunks += 1
            self.pending = []

    def _compute(self, cursor: Any, works: list[WorkRow]) -> None:
        if not self.enabled:
            return
        try:
            upsert.search_documents_fill(cursor, works)
        except BaseException:
            self.enabled = False
            for work in works:
                work.search_document = None
            raise


class _Import:
    """The records of one file or stream on their way to the database, in batches."""

    def __init__(
        self,
        *,
        path: str,
        strict: bool,
        batch_size: int,
        synthetic: bool,
        bar: tqdm | None,
        statistics: _PlannerStatistics,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.path = path
        self.strict = strict
        self.batch_size = batch_size
        self.synthetic = synthetic
        self.origin = Authorship.Origin.SYNTHETIC if synthetic else Authorship.Origin.OPENALEX
        self.bar = bar
        self.statistics = statistics
        self.stats = ImportStats()
        self.pending: dict[str, dict[str, tuple[str, Record]]] = {k: {} for k in _WRITE_ORDER}
        self.documents: _SearchDocuments

    def run(self, items: Iterable[_Parsed]) -> ImportStats:
        """Import the parsed items; with strict=True in one transaction, all or nothing."""
        with (
            _SearchDocuments() as self.documents,
            transaction.atomic() if self.strict else contextlib.nullcontext(),
        ):
            try:
                for item in self._ahead(items):
                    self.add(item)
            except _FileError as error:
                self.stats.failed_paths.append(self.path)
                self.problem(error.location, error.reason)
            for kind in _WRITE_ORDER:
                self.flush(kind)
        return self.stats

    def _ahead(self, items: Iterable[_Parsed]) -> Iterator[_Parsed]:
        """The items, a batch behind reading them: the search documents of a
        batch's works are asked for while the batch before it is written."""
        window: deque[_Parsed] = deque()
        try:
            for item in items:
                if isinstance(item.record, WorkRow):
                    self.documents.add(item.record)
                window.append(item)
                if len(window) > self.batch_size:
                    yield window.popleft()
        except _FileError:
            yield from window  # what was read before the file failed still goes in
            raise
        yield from window

    def problem(self, location: str, reason: str) -> None:
        problem = ImportProblem(self.path, location, reason)
        if self.strict:
            raise ImportAborted(problem)
        self.stats.add_problem(problem)

    def skip(self, location: str, reason: str) -> None:
        self.stats.skipped += 1
        self.problem(location, reason)

    def add(self, item: _Parsed) -> None:
        if self.bar is not None:
            self.bar.update(1)
        record = item.record
        if record is None:
            self.skip(item.location, item.error)
            return
        for note in item.notes:
            self.problem(item.location, note)
        kind = _KIND_OF[type(record)]
        pending = self.pending[kind]
        # A record met twice in one batch is written in order: the later copy
        # goes into the next batch.
        if record.openalex_id in pending:
            self.flush(kind)
        pending[record.openalex_id] = (item.location, record)
        if len(pending) >= self.batch_size:
            self.flush(kind)

    def flush(self, kind: str) -> None:
        items = list(self.pending[kind].values())
        self.pending[kind].clear()
        if items:
            if kind == "work":
                self.documents.wait(r for _, r in items if isinstance(r, WorkRow))
            self._write(kind, items)

    def _write(self, kind: str, items: list[tuple[str, Record]]) -> None:
        in_transaction = connection.in_atomic_block  # strict, or the caller's
        try:
            # The driver's own cursor: with DEBUG on, Django's would keep every
            # statement, with its inlined batch, in connection.queries.
            with (
                transaction.atomic(),
                connection.wrap_database_errors,
                psycopg.Cursor(connection.connection) as cursor,
            ):
                result = self._write_batch(cursor, kind, items)
                if result.created_work_ids:
                    # In the batch's transaction: listeners' rows commit with the works.
                    works_created.send(sender=ImportStats, work_ids=sorted(result.created_work_ids))
                if result.affiliation_changes:
                    affiliations_changed.send(
                        sender=ImportStats, changes=sorted(result.affiliation_changes)
                    )
                self.statistics.wrote(
                    sum(change == "created" for change in result.changes.values()),
                    cursor,
                    in_transaction=in_transaction,
                )
        except (DataError, IntegrityError) as error:
            if len(items) == 1:
                reason = str(error).strip().splitlines()[0]
                self.skip(items[0][0], f"the database refused the record: {reason}")
                return
            # Find the record the database refuses; the rest of the batch still goes in.
            for item in items:
                self._write(kind, [item])
            return
        for location, reason in result.notes:
            self.problem(location, reason)
        changes = Counter(result.changes.values())
        self.stats.created += changes["created"]
        self.stats.updated += changes["updated"]
        self.stats.unchanged += changes["unchanged"]
        self.stats.changed_author_ids |= result.changed_author_ids

    def _write_batch(
        self, cursor: Any, kind: str, items: list[tuple[str, Record]]
    ) -> upsert.BatchResult:
        synthetic = self.synthetic
        if kind == "work":
            works = [(loc, r) for loc, r in items if isinstance(r, WorkRow)]
            return upsert.write_works(cursor, works, synthetic=synthetic, origin=self.origin)
        if kind == "author":
            authors = [(loc, r) for loc, r in items if isinstance(r, AuthorRow)]
            return upsert.write_authors(cursor, authors, synthetic=synthetic)
        if kind == "institution":
            institutions = [(loc, r) for loc, r in items if isinstance(r, InstitutionRow)]
            return upsert.write_institutions(cursor, institutions, synthetic=synthetic)
        if kind == "topic":
            topics = [(loc, r) for loc, r in items if isinstance(r, TopicRow)]
            return upsert.write_topics(cursor, topics, synthetic=synthetic)
        sources = [(loc, r) for loc, r in items if isinstance(r, SourceRow)]
        return upsert.write_sources(cursor, sources, synthetic=synthetic)


@contextlib.contextmanager
def _collector_frozen() -> Iterator[None]:
    """Keep the garbage collector's full passes off the objects that exist already.

    The writer unpickles some fifty objects per work; the collections those
    allocations trigger would otherwise walk all of Django's long-lived
    objects each time (a third of the writer's own time on a large file).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def import_paths(
    paths: list[Path],
    *,
    strict: bool = False,
    batch_size: int = 500,
    progress: bool = False,
    synthetic: bool = False,
) -> ImportStats:
    """Import OpenAlex files; with strict=True, ImportAborted on the first problem.

    Files are independent: with strict=True the files before the failing one
    stay imported (ImportAborted.committed says what they did). progress=True
    shows a tqdm bar (records, rate) on a terminal. synthetic=True marks the
    rows as generated demo data and gives authorships origin "synthetic"; an
    import only updates or removes authorships of its own origin.
    """
    total = ImportStats()
    statistics = _PlannerStatistics()
    # Whatever happens, what was committed is announced: its slices need recomputing.
    with _collector_frozen(), _announcing(total), contextlib.closing(statistics):
        for path in map(Path, paths):
            # disable=None: a bar on a terminal, none in logs.
            with tqdm(desc=path.name, unit=" records", disable=None if progress else True) as bar:
                job = _Import(
                    path=str(path),
                    strict=strict,
                    batch_size=batch_size,
                    synthetic=synthetic,
                    bar=bar,
                    statistics=statistics,
                )
                try:
                    # closing: a strict import that stops early stops the parsing process at once.
                    with contextlib.closing(_parsed_file(path)) as items:
                        total.merge(job.run(items))
                except ImportAborted as error:
                    error.committed = total
                    raise
                except BaseException:
                    if not strict:  # each batch was committed on its own
                        total.merge(job.stats)
                    raise
    return total


def import_entities(
    entities: Iterable[Any],
    *,
    source_name: str = "<memory>",
    strict: bool = False,
    batch_size: int = 500,
    synthetic: bool = False,
) -> ImportStats:
    """Import decoded OpenAlex entities (e.g. fetched from the API); problems name source_name."""
    items = (
        _parse(_Item(f"record {index}", value)) for index, value in enumerate(entities, start=1)
    )
    statistics = _PlannerStatistics()
    job = _Import(
        path=source_name,
        strict=strict,
        batch_size=batch_size,
        synthetic=synthetic,
        bar=None,
        statistics=statistics,
    )
    stats = ImportStats()  # a strict import that fails wrote nothing
    try:
        with contextlib.closing(statistics):
            stats = job.run(items)
    finally:
        # Without strict, each batch was committed on its own.
        announce_changes(stats if strict else job.stats)
    return stats


@contextlib.contextmanager
def _announcing(stats: ImportStats) -> Iterator[None]:
    try:
        yield
    finally:
        announce_changes(stats)


def announce_changes(stats: ImportStats) -> None:
    """Once the writes are committed, have workers recount the changed authors'
    metrics (once per import, not batch by batch: an author's works span
    batches) and tell listeners (graph slices, cached pages) which authors changed."""
    if not stats.changed_author_ids:
        return
    author_ids = sorted(stats.changed_author_ids)

    def announce() -> None:
        try:
            metrics.author_metrics_queue(author_ids=author_ids)
        except DatabaseError:
            logger.exception("metrics of %d changed author(s) not recounted", len(author_ids))
        authors_changed.send(sender=ImportStats, author_ids=author_ids)

    transaction.on_commit(announce)
