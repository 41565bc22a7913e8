"""A follow made while an import batch writes its events: it sees those events or it
began after them, never missing one that happened after it began (FEED_FOLLOW_LOCK)."""

import threading
import time

import pytest
from django.db import connection, transaction

from profiles import services
from profiles.models import AuthorEvent, Follow
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory
from tests.profiles.conftest import make_user


@pytest.mark.django_db(transaction=True)
def test_a_follow_during_an_import_batch_waits_and_begins_after_its_events():
    author = AuthorFactory()
    # Someone follows the author already, so the batch writes an event.
    services.follow_set(user=make_user(), author=author, following=True)
    work = WorkFactory()
    AuthorshipFactory(work=work, author=author)
    follower = make_user()
    events_written, release, followed = threading.Event(), threading.Event(), threading.Event()

    def import_batch() -> None:
        try:
            with transaction.atomic():
                services.events_record_new_works(work_ids=[work.pk])
                events_written.set()
                release.wait(10)  # the batch's other writes, then its commit
        finally:
            connection.close()

    def follow() -> None:
        try:
            events_written.wait(10)
            services.follow_set(user=follower, author=author, following=True)
            followed.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=import_batch), threading.Thread(target=follow)]
    for thread in threads:
        thread.start()
    assert events_written.wait(10)
    time.sleep(0.5)
    assert not followed.is_set()  # waits for the batch to commit
    release.set()
    for thread in threads:
        thread.join(10)
    assert followed.is_set()
    event = AuthorEvent.objects.get(author=author, kind=AuthorEvent.Kind.NEW_WORK)
    follow_row = Follow.objects.get(user=follower, author=author)
    # The event happened before the follow began: not in that follower's feed.
    assert follow_row.created_at > event.created_at
