"""'Bring in my ORCID works': the owner's button, the run, its status, its limits.

Tasks run in-process here; tests/profiles/test_orcid_import_worker.py runs
them in a real worker. ORCID's API is the recorded record served over HTTP
(tests.profiles.orcid_api_server): the only thing mocked.
"""

import json
from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from profiles import orcid_imports
from profiles.models import OrcidImportRun
from tests.factories import WorkFactory
from tests.profiles.conftest import make_user, owned_record
from tests.profiles.orcid_api_server import ORCID
from works.models import Author, Authorship, Work
from works.orcid_api import OrcidClient

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def orcid_owned_record(orcid=ORCID):
    """A record with an ORCID iD whose owner's approved claim proved it by ORCID sign-in."""
    return owned_record("Alberto Accomazzi", orcid_proven=orcid)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(author) -> str:
    return f"/researchers/{author.pk}/orcid-import/"


def test_owner_with_orcid_proven_sees_the_button_others_do_not():
    owner, author = orcid_owned_record()
    page = signed_in(owner).get(f"/researchers/{author.pk}/").content.decode()
    assert "Bring in my ORCID works" in page
    assert f'hx-get="{url(author)}"' in page

    for visitor in (Client(), signed_in(make_user())):
        assert (
            "Bring in my ORCID works"
            not in visitor.get(f"/researchers/{author.pk}/").content.decode()
        )


def test_owner_whose_claim_did_not_prove_the_orcid_gets_no_button_and_a_404():
    owner, author = owned_record("Alberto Accomazzi")
    # The iD arrived after the claim, which never proved it.
    Author.objects.filter(pk=author.pk).update(orcid=ORCID)
    client = signed_in(owner)
    assert (
        "Bring in my ORCID works" not in client.get(f"/researchers/{author.pk}/").content.decode()
    )
    assert client.post(url(author)).status_code == 404
    assert not OrcidImportRun.objects.exists()


def test_a_stranger_cannot_start_an_import():
    _, author = orcid_owned_record()
    assert signed_in(make_user()).post(url(author)).status_code == 404
    answer = Client().post(url(author))
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert not OrcidImportRun.objects.exists()


def test_the_press_is_csrf_protected():
    owner, author = orcid_owned_record()
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(url(author)).status_code == 403
    assert not OrcidImportRun.objects.exists()


def test_owner_presses_and_the_works_arrive_matched_and_added(
    orcid_api_url, django_capture_on_commit_callbacks
):
    owner, author = orcid_owned_record()
    # One of the record's three works is stored already (from another source), by DOI.
    stored = WorkFactory(
        title="Best Practices for Data Publication", doi="10.3847/1538-4365/ac6268"
    )
    client = signed_in(owner)

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(url(author))

    assert answer.status_code == 302 and answer["Location"] == url(author)
    status = client.get(url(author)).content.decode()
    assert "3 works: 1 matched, 2 added." in status
    run = OrcidImportRun.objects.get()
    assert (run.status, run.works_total, run.works_matched, run.works_added) == ("done", 3, 1, 2)
    titles = set(Work.objects.filter(authorships__author=author).values_list("title", flat=True))
    assert len(titles) == 3 and "Best Practices for Data Publication" in titles
    assert Authorship.objects.get(work=stored, author=author).origin == Authorship.Origin.ORCID
    # Into this record: no second record for the iD.
    assert Author.objects.filter(orcid=ORCID).count() == 1


def test_pressing_again_after_a_run_changes_nothing_more(
    orcid_api_url, django_capture_on_commit_callbacks
):
    owner, author = orcid_owned_record()
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(author))
    works = Work.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(author))

    assert Work.objects.count() == works
    latest = orcid_imports.orcid_import_latest(author_id=author.pk)
    assert (latest.works_matched, latest.works_added) == (3, 0)
    assert "3 works: 3 matched, 0 added." in client.get(url(author)).content.decode()


def test_a_second_press_while_one_runs_says_so_and_starts_nothing(orcid_api_url):
    owner, author = orcid_owned_record()
    client = signed_in(owner)
    # Not executed: the first run stays queued, as it is while a worker is busy.
    client.post(url(author))

    again = client.post(url(author), **HTMX)

    assert again.status_code == 409
    html = again.content.decode()
    assert orcid_imports.BUSY in html and "Queued." in html
    assert OrcidImportRun.objects.count() == 1
    plain = client.post(url(author))
    assert plain.status_code == 409 and orcid_imports.BUSY in plain.content.decode()


def test_the_htmx_press_answers_with_a_polling_status_and_the_poll_stops_when_done(
    orcid_api_url, django_capture_on_commit_callbacks
):
    owner, author = orcid_owned_record()
    client = signed_in(owner)

    pressed = client.post(url(author), **HTMX)
    assert pressed.status_code == 200
    assert f'hx-get="{url(author)}?poll" hx-trigger="every 2s"' in pressed.content.decode()
    assert "Queued." in pressed.content.decode()
    polled = client.get(url(author), **HTMX)
    assert polled.status_code == 200 and 'hx-trigger="every 2s"' in polled.content.decode()

    run = OrcidImportRun.objects.get()
    assert orcid_imports.orcid_import_run(run_id=run.pk) == "done"

    done = client.get(url(author) + "?poll", **HTMX)
    assert done.status_code == 286
    assert "every 2s" not in done.content.decode()
    assert "3 works: 0 matched, 3 added." in done.content.decode()
    # The page's works list reloads when the poll sees the run finish, not at
    # every later page load that looks at the finished run.
    assert "orcid-works-arrived" in done["HX-Trigger"]
    later = client.get(url(author), **HTMX)
    assert later.status_code == 286 and "HX-Trigger" not in later


def test_the_poll_costs_one_indexed_query(orcid_api_url, django_assert_num_queries):
    owner, author = orcid_owned_record()
    client = signed_in(owner)
    client.post(url(author))
    # The session with its user (one statement), then the run.
    with django_assert_num_queries(2):
        client.get(url(author), **HTMX)


def test_the_poll_shows_only_the_presser_their_runs():
    owner, author = orcid_owned_record()
    signed_in(owner).post(url(author))
    other = signed_in(make_user()).get(url(author), **HTMX)
    assert "Queued." not in other.content.decode()
    assert "You have not brought in your ORCID works yet." in other.content.decode()


def test_an_unknown_record_at_orcid_fails_the_run_with_the_reason_named(
    orcid_api_url, settings, django_capture_on_commit_callbacks
):
    owner, author = orcid_owned_record("0000-0002-1825-0097")
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(author))

    html = client.get(url(author)).content.decode()
    assert "The import failed." in html
    assert "ORCID has no public record for this iD." in html
    assert OrcidImportRun.objects.get().status == "failed"


def test_presses_are_rate_limited(orcid_api_url, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "orcid_import": "2/h/user,20/h/ip"}
    owner, author = orcid_owned_record()
    client = signed_in(owner)
    for _ in range(2):
        OrcidImportRun.objects.update(status="done")
        assert client.post(url(author)).status_code == 302
    OrcidImportRun.objects.update(status="done")

    refused = client.post(url(author), **HTMX)

    assert refused.status_code == 429
    assert "Too many imports asked for" in refused.content.decode()
    assert OrcidImportRun.objects.count() == 2


def test_a_run_is_done_once_however_often_its_task_is_delivered(orcid_api_url):
    owner, author = orcid_owned_record()
    signed_in(owner).post(url(author))
    run = OrcidImportRun.objects.get()

    assert orcid_imports.orcid_import_run(run_id=run.pk) == "done"
    assert orcid_imports.orcid_import_run(run_id=run.pk) == "skipped"
    assert OrcidImportRun.objects.get().attempts == 1


def test_a_run_whose_worker_died_is_sent_again_by_the_sweep_once_its_lease_ran_out(orcid_api_url):
    owner, author = orcid_owned_record()
    signed_in(owner).post(url(author))
    run = OrcidImportRun.objects.get()
    assert run.task_sent_at is None, "the press's transaction never committed here"
    OrcidImportRun.objects.filter(pk=run.pk).update(
        status="running", attempts=1, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert orcid_imports.orcid_imports_send_due() == 0, "its worker may still be running it"

    OrcidImportRun.objects.filter(pk=run.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    # In-process, the sent task runs at once.
    assert orcid_imports.orcid_imports_send_due() == 1

    run.refresh_from_db()
    assert (run.status, run.attempts, run.works_added) == ("done", 2, 3)
    assert orcid_imports.orcid_imports_send_due() == 0


def orcid_answering(body: object) -> OrcidClient:
    """The site's ORCID client, its HTTP layer answering `body` (only ORCID is mocked)."""
    return OrcidClient(
        http=httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=body))),
        sleep=lambda _: None,
    )


def test_a_work_orcid_lists_without_a_title_is_named_and_the_others_brought_in(shared_data):
    owner, author = orcid_owned_record()
    record = json.loads((shared_data / "orcid" / f"record-v3-{ORCID}.json").read_text())
    record["activities-summary"]["works"]["group"][1]["work-summary"][0]["title"] = None
    signed_in(owner).post(url(author))
    run = OrcidImportRun.objects.get()

    assert orcid_imports.orcid_import_run(run_id=run.pk, client=orcid_answering(record)) == "done"

    html = signed_in(owner).get(url(author)).content.decode()
    assert "2 works: 0 matched, 2 added." in html
    assert "works/group[1]" in html and "title" in html


def test_an_answer_that_is_not_an_orcid_record_fails_the_run_and_says_why():
    owner, author = orcid_owned_record()
    signed_in(owner).post(url(author))
    run = OrcidImportRun.objects.get()

    outcome = orcid_imports.orcid_import_run(run_id=run.pk, client=orcid_answering({"x": 1}))

    assert outcome == "failed"
    html = signed_in(owner).get(url(author)).content.decode()
    assert "The import failed." in html and "file:" in html
    assert not Work.objects.exists()
