"""The production stack's files: docker-compose.yml, Dockerfile, .dockerignore.

No Docker engine is needed: the files are parsed and checked. `docker compose
config` (which only parses too) runs as well where the compose plugin exists.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
SERVICES = ("postgres", "redis", "web", "worker", "beat")
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _command(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def _healthcheck(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def test_compose_uses_the_compose_spec_without_version(compose):
    assert "version" not in compose


def test_compose_has_the_five_services(compose):
    assert set(SERVICES) <= set(compose["services"])


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_restarts_and_has_a_healthcheck(compose, name):
    service = compose["services"][name]
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"], f"{name} has an empty healthcheck"
    assert not service["healthcheck"].get("disable")


def test_postgres_is_18_with_a_named_volume_and_pg_isready(compose):
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:18"
    # PostgreSQL 18 images refuse a volume at the old /var/lib/postgresql/data.
    volumes = postgres["volumes"]
    assert any(volume.split(":") == ["postgres-data", "/var/lib/postgresql"] for volume in volumes)
    assert "postgres-data" in compose["volumes"]
    assert "pg_isready" in _healthcheck(postgres)


def test_redis_is_7_and_pinged(compose):
    redis = compose["services"]["redis"]
    assert redis["image"] == "redis:7"
    assert "redis-cli ping" in _healthcheck(redis)


def test_web_migrates_then_serves_gunicorn_on_port_8000(compose):
    web = compose["services"]["web"]
    command = _command(web)
    assert "manage.py migrate --noinput" in command
    assert command.index("migrate") < command.index("gunicorn bzpeer.wsgi")
    assert "0.0.0.0:8000" in command
    assert any(str(port).endswith("8000:8000") for port in web["ports"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_postgres_and_redis(compose, name):
    depends_on = compose["services"][name]["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_web_healthcheck_fetches_healthz_with_python(compose):
    healthcheck = _healthcheck(compose["services"]["web"])
    assert "urllib" in healthcheck
    assert "/healthz" in healthcheck
    assert "curl" not in healthcheck


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_web_healthcheck_passes_against_production_gunicorn(compose, tmp_path):
    """The healthcheck must get past ALLOWED_HOSTS and the https redirect."""
    # healthz only runs SELECT 1: the maintenance database always exists.
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        pytest.fail("DATABASE_URL is unset: run the suite with `make test`", pytrace=False)
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "bzpeer.example.org",
        "DATABASE_URL": urlsplit(database_url)._replace(path="/postgres").geturl(),
    }
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            # No control socket: its default path is shared by every gunicorn of this user.
            [
                *(sys.executable, "-m", "gunicorn", "bzpeer.wsgi"),
                *("--bind", f"127.0.0.1:{port}", "--no-control-socket"),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    healthcheck = compose["services"]["web"]["healthcheck"]["test"]
    assert healthcheck[:3] == ["CMD", "python", "-c"]
    script = healthcheck[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}", pytrace=False)
            time.sleep(0.2)
        # Without the healthcheck's headers production refuses the request.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert refused.value.code == 400
        check = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stderr + log_path.read_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_worker_runs_celery_worker_and_answers_ping(compose):
    worker = compose["services"]["worker"]
    assert re.search(r"\bcelery -A bzpeer worker\b", _command(worker))
    assert "inspect ping" in _healthcheck(worker)


def test_beat_runs_celery_beat_with_a_writable_schedule(compose):
    beat = compose["services"]["beat"]
    command = _command(beat)
    assert re.search(r"\bcelery -A bzpeer beat\b", command)
    assert "--schedule=/var/lib/bzpeer/" in command
    assert any(volume.endswith(":/var/lib/bzpeer") for volume in beat["volumes"])
    # Without remote control beat would not answer its healthcheck's ping.
    assert "--enable-remote-control" in command
    assert "inspect ping --destination celerybeat@" in _healthcheck(beat)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_the_production_environment(compose, name):
    environment = compose["services"][name]["environment"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", environment["SECRET_KEY"])
    assert environment["DEBUG"] == "0"
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")
    for variable in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "EMAIL_HOST", "DEFAULT_FROM_EMAIL"):
        assert variable in environment


def test_compose_has_no_env_file(compose):
    assert all("env_file" not in service for service in compose["services"].values())


def test_dockerfile_serves_gunicorn_as_a_non_root_user():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12-slim\b", dockerfile, re.MULTILINE)
    commands = re.findall(r"^(?:CMD|ENTRYPOINT) (.+)$", dockerfile, re.MULTILINE)
    assert any("gunicorn bzpeer.wsgi" in command for command in commands)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}
    assert "EXPOSE 8000" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    # The dummy key only lives in the collectstatic step, never in an ENV.
    assert not re.search(r"^ENV[^\n]*SECRET_KEY", dockerfile, re.MULTILINE)


def test_dockerignore_keeps_local_state_out_of_the_image():
    entries = {
        line.strip()
        for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".data", ".git", "tests/screenshots"} <= entries


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_count_clients_by_the_address_the_proxy_forwards(compose, name):
    # The stack listens on 127.0.0.1 behind the proxy the README asks for: rate
    # limits must count the address that proxy appends to X-Forwarded-For, not
    # the proxy's own, or one client's failures lock out everyone.
    environment = compose["services"][name]["environment"]
    assert environment["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"
