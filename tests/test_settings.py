"""Settings read from the environment, loaded in fresh processes.

Each case starts Python with a clean environment (only PATH and the variables
under test), so the suite's own environment cannot leak into the answer.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
STRONG_KEY = secrets.token_urlsafe(50)

DUMP_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
from bzpeer.celery import app
database = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "EMAIL_BACKEND": settings.EMAIL_BACKEND,
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
    "CACHE_LOCATION": settings.CACHES["default"].get("LOCATION"),
    "DB_HOST": database["HOST"],
    "DB_PORT": database["PORT"],
    "DB_NAME": database["NAME"],
    "DB_USER": database["USER"],
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "CELERY_TASK_ALWAYS_EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "celery_broker_url": app.conf.broker_url,
    "celery_task_always_eager": app.conf.task_always_eager,
    "STATICFILES_BACKEND": settings.STORAGES["staticfiles"]["BACKEND"],
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
}))
"""


def _run(args: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "bzpeer.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
        **variables,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(**variables: str) -> dict[str, Any]:
    loaded = _run(["-c", DUMP_SETTINGS], **variables)
    assert loaded.returncode == 0, loaded.stderr
    return json.loads(loaded.stdout.strip().splitlines()[-1])


def test_no_variables_means_development():
    settings = _settings()
    assert settings["DEBUG"] is True
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert settings["CACHE_BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    # The embedded PostgreSQL that `make run` / `make test` start.
    assert settings["DB_HOST"] == str(BASE_DIR / ".data" / "pg")
    assert settings["DB_NAME"] == "bzpeer"
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_production_without_secret_key_refuses_to_start():
    refused = _run(["-c", "import django; django.setup()"], DEBUG="0")
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "SECRET_KEY is not set" in refused.stderr
    assert "Production mode (DEBUG off) needs a long random SECRET_KEY" in refused.stderr


@pytest.mark.parametrize(
    "weak_key",
    [
        "changeme",
        "x" * 49,
        "django-insecure-bzpeer-development-only",
        "x" * 64,
        "abcd" * 16,
    ],
    ids=["short", "49-characters", "the-development-key", "one-repeated-character", "4-distinct"],
)
def test_production_with_a_weak_secret_key_refuses_to_start(weak_key):
    refused = _run(["-c", "import django; django.setup()"], DEBUG="0", SECRET_KEY=weak_key)
    assert refused.returncode != 0
    assert "SECRET_KEY is too weak for production" in refused.stderr


def test_production_passes_the_deploy_checklist():
    variables = {"DEBUG": "0", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "example.org"}
    if os.environ.get("DATABASE_URL"):
        variables["DATABASE_URL"] = os.environ["DATABASE_URL"]
    checked = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **variables)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_production_settings_are_production_shaped():
    settings = _settings(
        DEBUG="0", SECRET_KEY=STRONG_KEY, REDIS_URL="redis://cache.internal:6379/2"
    )
    assert settings["DEBUG"] is False
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert settings["CACHE_BACKEND"] == "bzpeer.cache.RedisCache"
    assert settings["CACHE_LOCATION"] == "redis://cache.internal:6379/2"
    assert settings["STATICFILES_BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_database_and_redis_urls_come_from_the_environment():
    settings = _settings(
        DATABASE_URL="postgres://alice:s3cret@db.internal:6543/profiles",
        REDIS_URL="redis://cache.internal:6380/3",
    )
    assert settings["DB_HOST"] == "db.internal"
    assert settings["DB_PORT"] == 6543
    assert settings["DB_NAME"] == "profiles"
    assert settings["DB_USER"] == "alice"
    assert settings["CELERY_BROKER_URL"] == "redis://cache.internal:6380/3"
    assert settings["celery_broker_url"] == "redis://cache.internal:6380/3"
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is False
    assert settings["celery_task_always_eager"] is False
    assert settings["CACHE_BACKEND"] == "bzpeer.cache.RedisCache"


def test_without_redis_url_celery_runs_tasks_in_process():
    settings = _settings()
    assert settings["CELERY_BROKER_URL"] == "memory://"
    assert settings["CELERY_TASK_ALWAYS_EAGER"] is True
    assert settings["celery_task_always_eager"] is True


PRINT_TRUSTED_PROXY_COUNT = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)"
)


@pytest.mark.parametrize(("value", "expected"), [(None, "0"), ("", "0"), ("1", "1"), ("2", "2")])
def test_the_trusted_proxy_count_comes_from_the_environment(value, expected):
    variables = {} if value is None else {"TRUSTED_PROXY_COUNT": value}
    loaded = _run(["-c", PRINT_TRUSTED_PROXY_COUNT], **variables)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().splitlines()[-1] == expected


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_trusted_proxy_count_that_is_not_a_whole_number_refuses_to_start(value):
    refused = _run(["-c", PRINT_TRUSTED_PROXY_COUNT], TRUSTED_PROXY_COUNT=value)
    assert refused.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be a whole number of proxies" in refused.stderr
