"""PostgreSQL faults, against gunicorn under production settings (tests/gunicorn_server.py).

Connections dropped (a database restart, an administrator's pg_terminate_backend, a proxy
closing idle connections): the site's pooled connections die unnoticed, and the next request
to take one from the pool must still be answered as usual. The server is a process of its
own, so the test's connection survives the drop and checks what was written.

The database down (here: nothing listening on its port; the machine's PostgreSQL is shared
and stays up): pages answer a clear "try again" page with 503, and /healthz says unhealthy.
"""

import json
import secrets
import time
from urllib.parse import urlsplit

import pytest
from django.db import connection

from profiles.models import Follow
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.graph.celery_worker import current_database_url
from tests.gunicorn_server import Browser, GunicornServer, TcpProxy, collect_static
from tests.profiles.conftest import PASSWORD, make_user

# Enough pooled connections that, dropped together, a request meets several dead ones in turn.
POOL_SIZE = 4
SERVER_APPLICATION = "bzpeer-fault-test-server"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root


@pytest.fixture(scope="module")
def server(django_db_setup, static_root, tmp_path_factory):
    """The site on the test database, keeping POOL_SIZE connections open in its pool."""
    live = GunicornServer(
        database_url=current_database_url(),
        static_root=static_root,
        log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log",
        DB_POOL_MIN=str(POOL_SIZE),
        # libpq names the server's connections, so the test drops only those.
        PGAPPNAME=SERVER_APPLICATION,
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def server_without_database(static_root, tmp_path_factory):
    """The site with its database gone: nothing listens on port 1."""
    live = GunicornServer(
        database_url="postgres://bzpeer@127.0.0.1:1/bzpeer",
        static_root=static_root,
        log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log",
        DB_POOL_TIMEOUT="1",
    )
    yield live
    live.stop()


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [SERVER_APPLICATION],
        )
        return int(cursor.fetchone()[0])


def drop_server_connections(server: GunicornServer) -> None:
    """Terminate the server's connections to the database, once its pool holds POOL_SIZE of
    them, and wait until they are gone."""
    # The pool opens with the server's first query.
    assert Browser(server).get("/healthz").status == 200
    deadline = time.monotonic() + 20
    while _server_connections() < POOL_SIZE:
        assert time.monotonic() < deadline, "the server's pool never filled"
        time.sleep(0.1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))"
            " FROM pg_stat_activity WHERE application_name = %s",
            [SERVER_APPLICATION],
        )
        assert cursor.fetchone()[0] >= POOL_SIZE
    assert _server_connections() == 0


@pytest.fixture
def researcher():
    author = AuthorFactory(display_name="Hedda Pollbrook")
    AuthorshipFactory(author=author, work=WorkFactory(title="Counting dropped connections"))
    return author


def signed_in(server: GunicornServer) -> Browser:
    make_user("reader@example.org")
    browser = Browser(server)
    # The log-in form sets the CSRF cookie the POST needs: a failed GET is the failure to show.
    assert_answered(browser.get("/accounts/login/"), 200, server)
    answer = browser.post("/accounts/login/", {"login": "reader@example.org", "password": PASSWORD})
    assert answer.status == 302, answer
    return browser


def assert_answered(answer, status: int, server: GunicornServer) -> None:
    assert answer.status == status, f"{answer}\n{server.log()}"


@pytest.mark.django_db(transaction=True)
def test_profile_page_signed_in_after_connections_dropped(server, researcher):
    browser = signed_in(server)
    drop_server_connections(server)
    answer = browser.get(f"/researchers/{researcher.pk}/")
    assert_answered(answer, 200, server)
    assert "Hedda Pollbrook" in answer.body
    assert "Counting dropped connections" in answer.body
    assert "Log out" in answer.body


@pytest.mark.django_db(transaction=True)
def test_search_after_connections_dropped(server, researcher):
    browser = Browser(server)
    browser.get("/researchers/")
    drop_server_connections(server)
    answer = browser.get("/researchers/?q=pollbrook")
    assert_answered(answer, 200, server)
    assert "Hedda Pollbrook" in answer.body


@pytest.mark.django_db(transaction=True)
def test_log_in_after_connections_dropped(server):
    make_user("writer@example.org")
    browser = Browser(server)
    browser.get("/accounts/login/")
    drop_server_connections(server)
    answer = browser.post("/accounts/login/", {"login": "writer@example.org", "password": PASSWORD})
    assert_answered(answer, 302, server)
    assert answer.headers["Location"] == "/"
    assert "Log out" in browser.get("/").body


@pytest.mark.django_db(transaction=True)
def test_follow_after_connections_dropped(server, researcher):
    browser = signed_in(server)
    browser.get(f"/researchers/{researcher.pk}/")
    drop_server_connections(server)
    answer = browser.post(f"/researchers/{researcher.pk}/follow/", {"action": "follow"})
    assert_answered(answer, 302, server)
    assert Follow.objects.filter(user__email="reader@example.org", author=researcher).exists()


def test_page_while_database_is_down_asks_to_try_again(server_without_database):
    answer = Browser(server_without_database).get("/")
    assert_answered(answer, 503, server_without_database)
    assert int(answer.headers["Retry-After"]) > 0
    assert "temporarily unavailable" in answer.body
    assert "Traceback" not in answer.body
    # The site's own page, with its header and a way to try again.
    assert "Search researchers" in answer.body


def test_healthz_while_database_is_down_says_unhealthy(server_without_database):
    answer = Browser(server_without_database).get("/healthz")
    assert_answered(answer, 503, server_without_database)
    assert json.loads(answer.body)["status"] == "unavailable"


def test_log_in_while_database_is_down_asks_to_try_again(server_without_database):
    browser = Browser(server_without_database)
    # The log-in page needs the database too: the form's CSRF token is made up here.
    browser.cookies["csrftoken"] = browser.csrf_token = secrets.token_hex(16)
    answer = browser.post("/accounts/login/", {"login": "a@example.org", "password": PASSWORD})
    assert_answered(answer, 503, server_without_database)
    assert "temporarily unavailable" in answer.body


# Longer than the pool keeps retrying in the background (psycopg_pool backs off 1, 2, 4, 8 s ...).
OUTAGE_SECONDS = 18


@pytest.mark.django_db(transaction=True)
def test_site_works_again_as_soon_as_database_comes_back(static_root, tmp_path, researcher):
    """Down for a while, then back: without a restart, the first page after it works."""
    database = urlsplit(current_database_url())
    settings = connection.settings_dict
    # HOST as Django has it: the URL quotes a socket directory, which urlsplit lowercases.
    proxy = TcpProxy(settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432))
    address = f"{database.username}@127.0.0.1:{proxy.port}"
    live = GunicornServer(
        database_url=database._replace(netloc=address).geturl(),
        static_root=static_root,
        log_path=tmp_path / "gunicorn.log",
        DB_POOL_TIMEOUT="2",
    )
    try:
        browser = signed_in(live)
        page = f"/researchers/{researcher.pk}/"
        assert_answered(browser.get(page), 200, live)
        proxy.stop()
        down_since = time.monotonic()
        assert_answered(browser.get(page), 503, live)
        assert_answered(browser.get("/healthz"), 503, live)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
        proxy.start()
        answer = browser.get(page)
        assert_answered(answer, 200, live)
        assert "Log out" in answer.body
        assert_answered(browser.get("/healthz"), 200, live)
    finally:
        live.stop()
        proxy.stop()
