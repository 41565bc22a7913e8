from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from bzpeer.celery import app as celery_app
from bzpeer.sessions.models import Session
from bzpeer.sessions.store import SessionStore
from bzpeer.tasks import sessions_clear_task

pytestmark = pytest.mark.django_db


def _session(*, expires_in: timedelta) -> str:
    store = SessionStore()
    store["who"] = "someone"
    store.create()
    Session.objects.filter(pk=store.session_key).update(expire_date=timezone.now() + expires_in)
    return str(store.session_key)


def test_sessions_clear_deletes_expired_sessions_and_keeps_live_ones():
    expired = [_session(expires_in=timedelta(seconds=-1)) for _ in range(3)]
    live = _session(expires_in=timedelta(days=1))

    sessions_clear_task.delay()

    assert list(Session.objects.values_list("pk", flat=True)) == [live]
    assert not Session.objects.filter(pk__in=expired).exists()
    assert SessionStore(live)["who"] == "someone"


def test_beat_clears_sessions_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["sessions-clear"]

    assert entry["schedule"] == 3600.0
    assert entry["task"] in celery_app.tasks
