"""Queueing, building and sweeping slices, read from the rows' state transitions.

Tasks run in-process here (the conftest's eager mode); the callbacks that
transaction.on_commit holds are the tasks that would be sent to a broker.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from graph import selectors, services
from graph.models import GraphSlice
from graph.tasks import graph_slices_build_task, graph_slices_queue_stale_task
from tests.factories import AuthorFactory, AuthorshipFactory, WorkFactory

pytestmark = pytest.mark.django_db

Status = GraphSlice.Status


def sent_chunks(callbacks) -> list[list[int]]:
    """The author ids of each build task the callbacks would send (not page-cache retirements)."""
    return [callback.args[0] for callback in callbacks if callback.func.__name__ == "_send_chunk"]


def author_with_coauthor():
    author = AuthorFactory()
    work = WorkFactory()
    AuthorshipFactory(work=work, author=author, position=0)
    AuthorshipFactory(work=work, author=AuthorFactory(), position=1)
    return author


def built(author) -> GraphSlice:
    with_row = services.slices_queue(author_ids=[author.pk])
    assert with_row == 1
    assert services.slice_build(author_id=author.pk) == "built"
    return GraphSlice.objects.get(pk=author.pk)


def test_two_requests_queue_one_task(django_capture_on_commit_callbacks):
    author = author_with_coauthor()
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.slice_request(author_id=author.pk)
        second = services.slice_request(author_id=author.pk)
    assert sent_chunks(callbacks) == [[author.pk]]
    assert first.status == second.status == Status.QUEUED


def test_queueing_twice_queues_once(django_capture_on_commit_callbacks):
    author = author_with_coauthor()
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.slices_queue(author_ids=[author.pk, author.pk]) == 1
        assert services.slices_queue(author_ids=[author.pk]) == 0
    assert sent_chunks(callbacks) == [[author.pk]]


def test_the_queued_task_builds_the_slice_once(django_capture_on_commit_callbacks):
    author = author_with_coauthor()
    with django_capture_on_commit_callbacks(execute=True):
        services.slice_request(author_id=author.pk)
    row = GraphSlice.objects.get(pk=author.pk)
    assert row.status == Status.READY
    assert row.data["centre"] == f"a:{author.pk}"
    assert row.attempts == 0
    computed_at = row.computed_at

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = services.slice_request(author_id=author.pk)
    assert callbacks == []
    assert again.computed_at == computed_at


def test_unknown_authors_are_not_queued(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.slice_request(author_id=987654) is None
        assert services.slices_queue(author_ids=[987654]) == 0
    assert callbacks == []
    assert not GraphSlice.objects.exists()


def test_many_authors_go_in_chunks_of_a_hundred(django_capture_on_commit_callbacks):
    authors = AuthorFactory.create_batch(250)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.slices_queue(author_ids=[a.pk for a in reversed(authors)]) == 250
    chunks = sent_chunks(callbacks)
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert sorted(pk for chunk in chunks for pk in chunk) == sorted(a.pk for a in authors)


def test_unchanged_inputs_skip_the_rebuild():
    author = author_with_coauthor()
    row = built(author)
    assert services.slices_queue(author_ids=[author.pk]) == 1
    assert services.slice_build(author_id=author.pk) == "unchanged"
    again = GraphSlice.objects.get(pk=author.pk)
    assert again.status == Status.READY
    assert again.computed_at == row.computed_at
    assert again.checked_at > row.checked_at
    assert again.input_hash == row.input_hash


def test_a_new_authorship_rebuilds_with_a_new_hash():
    author = author_with_coauthor()
    row = built(author)
    AuthorshipFactory(work=WorkFactory(), author=author)
    services.slices_queue(author_ids=[author.pk])
    assert services.slice_build(author_id=author.pk) == "built"
    again = GraphSlice.objects.get(pk=author.pk)
    assert again.input_hash != row.input_hash
    assert again.data["meta"]["counts"]["work"] == 2


def test_an_older_algorithm_version_is_rebuilt_on_request(django_capture_on_commit_callbacks):
    author = author_with_coauthor()
    built(author)
    GraphSlice.objects.filter(pk=author.pk).update(algorithm_version=0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.slice_request(author_id=author.pk)
    assert len(sent_chunks(callbacks)) == 1
    assert GraphSlice.objects.get(pk=author.pk).algorithm_version == services.ALGORITHM_VERSION


def test_a_slice_not_queued_is_not_built():
    author = author_with_coauthor()
    built(author)
    assert services.slice_build(author_id=author.pk) == "skipped"
    assert services.slice_build(author_id=987654) == "skipped"


def test_a_build_holding_the_lease_is_not_taken_over():
    author = author_with_coauthor()
    services.slices_mark_queued(author_ids=[author.pk])
    GraphSlice.objects.filter(pk=author.pk).update(
        status=Status.BUILDING, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert services.slice_build(author_id=author.pk) == "skipped"
    GraphSlice.objects.filter(pk=author.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.slice_build(author_id=author.pk) == "built"


def test_a_redelivered_task_takes_over_a_dead_build_at_once():
    author = author_with_coauthor()
    services.slices_mark_queued(author_ids=[author.pk])
    GraphSlice.objects.filter(pk=author.pk).update(
        status=Status.BUILDING, attempts=1, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert services.slices_build(author_ids=[author.pk], takeover=True) == {"built": 1}
    assert GraphSlice.objects.get(pk=author.pk).status == Status.READY


def test_queueing_during_a_build_asks_it_to_run_once_more(django_capture_on_commit_callbacks):
    author = author_with_coauthor()
    services.slices_mark_queued(author_ids=[author.pk])
    GraphSlice.objects.filter(pk=author.pk).update(
        status=Status.BUILDING,
        started_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.slices_queue(author_ids=[author.pk]) == 0
    assert callbacks == []
    assert GraphSlice.objects.get(pk=author.pk).rebuild_requested


def test_a_flag_raised_while_building_requeues_after_the_build(
    django_capture_on_commit_callbacks, monkeypatch
):
    author = author_with_coauthor()
    services.slices_mark_queued(author_ids=[author.pk])
    real_inputs = selectors.slices_inputs

    def inputs_then_an_import(*, author_ids):
        rows = real_inputs(author_ids=author_ids)
        # An import lands while the slices are computed from the rows just read.
        services.slices_queue(author_ids=author_ids)
        return rows

    monkeypatch.setattr(selectors, "slices_inputs", inputs_then_an_import)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.slice_build(author_id=author.pk) == "built"
    row = GraphSlice.objects.get(pk=author.pk)
    assert row.status == Status.QUEUED
    assert not row.rebuild_requested
    assert row.data  # the slice built meanwhile is kept
    assert sent_chunks(callbacks) == [[author.pk]]


def test_a_failed_build_records_the_error_and_can_be_retried(
    monkeypatch, django_capture_on_commit_callbacks
):
    author = author_with_coauthor()
    services.slices_mark_queued(author_ids=[author.pk])

    def broken(*, author_ids):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "slices_inputs", broken)
    assert services.slice_build(author_id=author.pk) == "failed"
    row = GraphSlice.objects.get(pk=author.pk)
    assert row.status == Status.FAILED
    assert row.error == "RuntimeError: the database went away"
    assert row.attempts == 1
    # The page does not retry a failure by itself; the button does.
    with django_capture_on_commit_callbacks() as callbacks:
        services.slice_request(author_id=author.pk)
    assert callbacks == []
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.slice_retry(author_id=author.pk)
    assert len(sent_chunks(callbacks)) == 1
    assert GraphSlice.objects.get(pk=author.pk).status == Status.READY


def test_the_sweep_picks_up_stale_failed_and_stuck_rows(django_capture_on_commit_callbacks):
    now = timezone.now()
    authors = {name: author_with_coauthor() for name in (
        "fresh", "old_version", "unchecked", "failed", "failed_out", "failed_recent",
        "stuck", "stuck_out", "building", "lost", "queued_recent", "unsent",
    )}  # fmt: skip
    for author in authors.values():
        built(author)

    def set_row(name, **fields):
        GraphSlice.objects.filter(pk=authors[name].pk).update(**fields)

    set_row("old_version", algorithm_version=0)
    set_row("unchecked", checked_at=now - timedelta(days=8))
    set_row("failed", status=Status.FAILED, attempts=1, updated_at=now - timedelta(hours=1))
    set_row("failed_out", status=Status.FAILED, attempts=3, updated_at=now - timedelta(hours=1))
    set_row("failed_recent", status=Status.FAILED, attempts=1, updated_at=now)
    set_row(
        "stuck", status=Status.BUILDING, attempts=1, lease_expires_at=now - timedelta(minutes=1)
    )
    set_row(
        "stuck_out", status=Status.BUILDING, attempts=3, lease_expires_at=now - timedelta(minutes=1)
    )
    set_row(
        "building", status=Status.BUILDING, attempts=1, lease_expires_at=now + timedelta(minutes=1)
    )
    set_row("lost", status=Status.QUEUED, queued_at=now - timedelta(hours=2))
    set_row("queued_recent", status=Status.QUEUED, queued_at=now, sent_at=now)
    # Queued a moment ago while the broker was away: sent at once.
    set_row("unsent", status=Status.QUEUED, queued_at=now, sent_at=None)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert graph_slices_queue_stale_task.delay().get() == 6
    picked = {
        authors[n].pk for n in ("old_version", "unchecked", "failed", "stuck", "lost", "unsent")
    }
    assert set(sent_chunks(callbacks)[0]) == picked

    rows = {name: GraphSlice.objects.get(pk=a.pk) for name, a in authors.items()}
    for name in ("old_version", "unchecked", "failed", "stuck", "lost", "unsent", "fresh"):
        assert rows[name].status == Status.READY, name
    assert rows["stuck_out"].status == Status.FAILED
    assert "3 times" in rows["stuck_out"].error
    assert rows["failed_out"].status == Status.FAILED
    assert rows["failed_recent"].status == Status.FAILED
    assert rows["building"].status == Status.BUILDING
    assert rows["queued_recent"].status == Status.QUEUED


def test_the_build_task_reports_its_outcomes():
    authors = [author_with_coauthor() for _ in range(3)]
    services.slices_mark_queued(author_ids=[a.pk for a in authors[:2]])
    result = graph_slices_build_task.delay([a.pk for a in authors]).get()
    assert result == {"built": 2, "skipped": 1}


def test_the_command_builds_in_process(capsys):
    authors = [author_with_coauthor() for _ in range(2)]
    call_command("build_graph_slices", str(authors[0].pk))
    assert "1 built" in capsys.readouterr().out
    assert GraphSlice.objects.get(pk=authors[0].pk).status == Status.READY

    call_command("build_graph_slices", "--all")
    out = capsys.readouterr().out
    assert "1 unchanged" in out
    assert GraphSlice.objects.filter(status=Status.READY).count() == GraphSlice.objects.count()

    GraphSlice.objects.filter(pk=authors[1].pk).update(algorithm_version=0)
    call_command("build_graph_slices", "--stale")
    assert "1 built" in capsys.readouterr().out

    newcomer = author_with_coauthor()
    call_command("build_graph_slices", "--missing")
    assert "2 graph slice(s): 2 built" in capsys.readouterr().out  # with the co-author
    assert GraphSlice.objects.get(pk=newcomer.pk).status == Status.READY


def test_the_command_queues_for_workers(capsys, django_capture_on_commit_callbacks):
    author = author_with_coauthor()
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("build_graph_slices", "--queue", str(author.pk))
    assert "1 graph slice(s) queued" in capsys.readouterr().out
    assert sent_chunks(callbacks) == [[author.pk]]


def test_missing_also_builds_slices_left_queued_by_a_stopped_run(capsys):
    left_queued = author_with_coauthor()
    services.slices_mark_queued(author_ids=[left_queued.pk])  # the run stopped here
    call_command("build_graph_slices", "--missing")
    assert "built" in capsys.readouterr().out
    assert GraphSlice.objects.get(pk=left_queued.pk).status == Status.READY


def test_a_build_task_delivered_twice_builds_once():
    # The sweep re-sends an unsent row whose first send may have got through
    # after all: the second delivery finds the row no longer queued.
    author = author_with_coauthor()
    services.slices_mark_queued(author_ids=[author.pk])
    assert graph_slices_build_task.delay([author.pk]).get() == {"built": 1}
    computed_at = GraphSlice.objects.get(pk=author.pk).computed_at
    assert graph_slices_build_task.delay([author.pk]).get() == {"skipped": 1}
    assert GraphSlice.objects.get(pk=author.pk).computed_at == computed_at
