"""The launcher behind `make run` and `make test`: the embedded PostgreSQL path."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(data_dir / "pg") in cmdline:
            found.append(proc)
    return found


def _launcher_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["BZPEER_DATA_DIR"] = str(data_dir)
    return env


def test_without_database_url_an_embedded_postgresql_serves_the_command_then_stops(tmp_path):
    probe = (
        "import os, psycopg; "
        "url = os.environ['DATABASE_URL']; "
        "print(url); "
        "print(psycopg.connect(url).execute('SHOW server_version').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bzpeer.dev", "exec", sys.executable, "-c", probe],
        cwd=BASE_DIR,
        env=_launcher_env(tmp_path),
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
    while _postgres_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _postgres_processes(tmp_path) == [], "the embedded server outlived the command"


def test_a_terminated_launcher_stops_its_command_and_the_database(tmp_path):
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
        env=_launcher_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert launcher.stdout is not None
        assert "embedded PostgreSQL 18 ready" in launcher.stdout.readline()
        assert _postgres_processes(tmp_path)
        launcher.terminate()
        launcher.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _postgres_processes(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _postgres_processes(tmp_path) == []
    finally:
        if launcher.poll() is None:
            launcher.kill()
