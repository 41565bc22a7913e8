"""The search behind gunicorn, as production serves it."""

import pytest

from tests.graph.celery_worker import current_database_url
from tests.gunicorn_server import Browser, GunicornServer, collect_static

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    static_root = tmp_path_factory.mktemp("static")
    collect_static(static_root)
    live = GunicornServer(
        database_url=current_database_url(),
        static_root=static_root,
        log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log",
    )
    yield live
    live.stop()


def test_a_5000_character_search_in_the_address_gets_the_search_pages_message(server):
    answer = Browser(server).get("/researchers/?q=" + "x" * 5000)

    assert answer.status == 400, answer
    assert "That search is too long: use at most 200 characters (it has 5000)." in answer.body
