"""A closed-loop HTTP/1.1 load generator, run as its own process.

    python -m bench.load --port 8123 --path /bench/floor/ --concurrency 8 --duration 30

Keeps `concurrency` keep-alive connections busy: each sends its next request
as soon as the previous answer is read in full. Requests that finish within
the measuring window (after the warm-up) count; prints one JSON object with
requests per second and latency percentiles. Only ever talks to 127.0.0.1.
Written on asyncio streams so that a machine with only Python can run it
(no wrk); one core of this client drives a few thousand requests per second,
more than two gunicorn workers serve on the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    body_bytes: int = 0
    errors: int = 0
    reconnects: int = 0


def _head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """Status, Content-Length, chunked, whether the server closes the connection."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length: int | None = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if lines[0].startswith("HTTP/1.0") and not close:
        close = True
    return status, length, chunked, close


async def _chunked(reader: asyncio.StreamReader) -> int:
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        chunk = int(line.split(b";", 1)[0], 16)
        if chunk == 0:
            await reader.readuntil(b"\r\n")
            return size
        await reader.readexactly(chunk + 2)
        size += chunk


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, int, bool]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status, length, chunked, close = _head(head)
    if status in (204, 304) or 100 <= status < 200:  # no body, whatever the headers say
        size = 0
    elif chunked:
        size = await _chunked(reader)
    elif length is not None:
        await reader.readexactly(length)
        size = length
    else:
        size = len(await reader.read())
        close = True
    return status, size, close


async def _connection(
    port: int,
    requests: list[tuple[str, bytes]],
    *,
    first: int,
    measure_from: float,
    until: float,
    tallies: dict[str, Tally],
) -> None:
    """Send the requests in turn, starting with `first`, until the window closes."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    turn = first
    while time.perf_counter() < until:
        name, request = requests[turn % len(requests)]
        turn += 1
        tally = tallies[name]
        if writer is None or reader is None:
            reader, writer = await asyncio.open_connection(HOST, port)
            tally.reconnects += 1
        started = time.perf_counter()
        try:
            status, size, close = await asyncio.wait_for(
                _exchange(reader, writer, request), REQUEST_TIMEOUT
            )
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            tally.errors += 1
            writer.close()
            reader = writer = None
            continue
        finished = time.perf_counter()
        if measure_from <= finished <= until:
            tally.latencies.append(finished - started)
            tally.statuses[status] += 1
            tally.body_bytes += size
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[index]


def request_bytes(
    port: int, path: str, headers: list[str], *, method: str = "GET", body: str = ""
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "User-Agent: bzpeer-bench",
        "Accept: text/html",
        *headers,
        "Connection: keep-alive",
    ]
    if method != "GET":
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("latin-1")


def summary(tally: Tally, *, path: str, concurrency: int, duration: float) -> dict[str, Any]:
    ordered = sorted(tally.latencies)
    count = len(ordered)
    ok = sum(n for status, n in tally.statuses.items() if 200 <= status < 300)
    return {
        "path": path,
        "concurrency": concurrency,
        "seconds": duration,
        "requests": count,
        "rps": count / duration,
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors,
        "connections_opened": tally.reconnects,
        "mean_bytes": round(tally.body_bytes / count) if count else 0,
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p90_ms": percentile(ordered, 0.90) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] if ordered else 0.0) * 1000,
    }


async def load(
    *,
    port: int,
    requests: list[tuple[str, bytes]],
    concurrency: int,
    duration: float,
    warmup: float,
) -> dict[str, Tally]:
    """Each connection sends the requests in turn, each starting at another one."""
    tallies = {name: Tally() for name, _ in requests}
    start = time.perf_counter()
    measure_from, until = start + warmup, start + warmup + duration
    await asyncio.gather(
        *(
            _connection(
                port,
                requests,
                first=index,
                measure_from=measure_from,
                until=until,
                tallies=tallies,
            )
            for index in range(concurrency)
        )
    )
    return tallies


async def run(
    *,
    port: int,
    path: str,
    headers: list[str],
    concurrency: int,
    duration: float,
    warmup: float,
    samples: bool = False,
) -> dict[str, Any]:
    request = request_bytes(port, path, headers)
    tallies = await load(
        port=port,
        requests=[(path, request)],
        concurrency=concurrency,
        duration=duration,
        warmup=warmup,
    )
    tally = tallies[path]
    out = summary(tally, path=path, concurrency=concurrency, duration=duration)
    if samples:  # every latency, so that runs can be merged into one distribution
        out["latencies_ms"] = [round(latency * 1000, 3) for latency in sorted(tally.latencies)]
    return out


async def run_mix(
    *, port: int, mix: list[dict[str, Any]], concurrency: int, duration: float, warmup: float
) -> dict[str, Any]:
    """A mix of requests ({name, path, method, headers, body}); each kind reported apart."""
    requests = [
        (
            item["name"],
            request_bytes(
                port,
                item["path"],
                item.get("headers", []),
                method=item.get("method", "GET"),
                body=item.get("body", ""),
            ),
        )
        for item in mix
    ]
    tallies = await load(
        port=port, requests=requests, concurrency=concurrency, duration=duration, warmup=warmup
    )
    kinds = {
        item["name"]: summary(
            tallies[item["name"]], path=item["path"], concurrency=concurrency, duration=duration
        )
        for item in mix
    }
    every = Tally()
    for tally in tallies.values():
        every.latencies += tally.latencies
        every.statuses.update(tally.statuses)
        every.body_bytes += tally.body_bytes
        every.errors += tally.errors
        every.reconnects += tally.reconnects
    return {
        "all": summary(every, path="(mix)", concurrency=concurrency, duration=duration),
        "kinds": kinds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", help="one path, requested over and over")
    parser.add_argument(
        "--mix", help="a JSON file: a list of {name, path, method, headers, body} sent in turn"
    )
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--samples", action="store_true", help="print every latency too")
    options = parser.parse_args(argv)
    if bool(options.path) == bool(options.mix):
        parser.error("give one of --path and --mix")
    if options.mix:
        with open(options.mix) as handle:
            mix = json.load(handle)
        result = asyncio.run(
            run_mix(
                port=options.port,
                mix=mix,
                concurrency=options.concurrency,
                duration=options.duration,
                warmup=options.warmup,
            )
        )
    else:
        result = asyncio.run(
            run(
                port=options.port,
                path=options.path,
                headers=options.header,
                concurrency=options.concurrency,
                duration=options.duration,
                warmup=options.warmup,
                samples=options.samples,
            )
        )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
