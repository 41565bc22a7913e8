"""Per-follow settings (what you hear about, and how) and the email digests beat sends.

The digests are sent once per person and period: the service twice, a task
delivered twice, two runs at once, and a real Celery worker killed with
SIGKILL in the middle of a run and restarted each leave every digest sent
exactly once, counted in the outbox and at a real SMTP server.
"""

import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bzpeer.outbox import optout
from bzpeer.outbox import services as outbox_services
from bzpeer.outbox.models import EmailOptOut, OutboundEmail
from bzpeer.outbox.tasks import outbound_emails_send_due_task
from profiles import digests
from profiles.models import AuthorEvent, Digest, Follow
from profiles.tasks import digests_send_task
from tests.factories import AuthorFactory, WorkFactory
from tests.graph.celery_worker import Worker, wait_for
from tests.outbox.smtp_server import SmtpServer
from tests.outbox.test_worker import start as start_mailing_worker
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

Kind = AuthorEvent.Kind
HTMX = {"HTTP_HX_REQUEST": "true"}
# Friday 5 December 2025, 03:00 UTC: the digest of Thursday the 4th is due,
# and the week of Monday 24 to Sunday 30 November.
NOW = datetime(2025, 12, 5, 3, 0, tzinfo=UTC)
THURSDAY = datetime(2025, 12, 4, tzinfo=UTC)


def follow(user, author, *, delivery="daily", kinds=None, since=THURSDAY - timedelta(days=30)):
    row = Follow.objects.create(
        user=user, author=author, delivery=delivery, kinds=kinds or [k.value for k in Kind]
    )
    Follow.objects.filter(pk=row.pk).update(created_at=since)
    return row


def event(author, at, *, kind=Kind.NEW_WORK, title="A paper", **fields):
    if kind == Kind.NEW_WORK:
        fields.setdefault("work", WorkFactory(title=title, publication_year=2025))
    return AuthorEvent.objects.create(author=author, kind=kind, created_at=at, **fields)


def mails_to(address: str) -> list[OutboundEmail]:
    return [m for m in OutboundEmail.objects.order_by("pk") if m.to == [address]]


# Who gets what


def test_a_daily_digest_lists_yesterdays_events_of_daily_follows_only():
    ada = make_user("ada@example.org")
    rosa, grace, alan = AuthorFactory(display_name="Rosa Example"), AuthorFactory(), AuthorFactory()
    follow(ada, rosa)
    follow(ada, grace, delivery="feed")
    follow(ada, alan, delivery="weekly")
    event(rosa, THURSDAY + timedelta(hours=9), title="Rosa on Thursday")
    event(rosa, THURSDAY - timedelta(minutes=1), title="Rosa on Wednesday")
    event(rosa, THURSDAY + timedelta(days=1), title="Rosa on Friday")
    event(grace, THURSDAY + timedelta(hours=9), title="Grace, feed only")
    event(alan, THURSDAY + timedelta(hours=9), title="Alan, weekly")

    assert digests.digests_send(period="daily", now=NOW) == 1

    [mail] = mails_to("ada@example.org")
    assert mail.subject == "Your daily BZPEER digest for Thursday 4 December 2025: 1 update"
    assert "Rosa Example has a new work: Rosa on Thursday (2025)" in mail.body
    for absent in ("Wednesday", "Friday", "Grace", "Alan"):
        assert absent not in mail.body
    assert Digest.objects.get(user=ada).period_start.isoformat() == "2025-12-04"


def test_a_digest_lists_only_the_chosen_kinds_and_none_when_nothing_chosen_happened():
    ada, bob = make_user("ada@example.org"), make_user("bob@example.org")
    rosa = AuthorFactory(display_name="Rosa Example")
    follow(ada, rosa, kinds=[Kind.CLAIM_VERIFIED])
    follow(bob, rosa, kinds=[Kind.NEW_WORK])
    event(rosa, THURSDAY + timedelta(hours=1), title="New paper")
    event(rosa, THURSDAY + timedelta(hours=2), kind=Kind.CLAIM_VERIFIED)

    assert digests.digests_send(period="daily", now=NOW) == 2
    [ada_mail], [bob_mail] = mails_to("ada@example.org"), mails_to("bob@example.org")
    assert "now owns their record" in ada_mail.body and "New paper" not in ada_mail.body
    assert "New paper" in bob_mail.body and "owns their record" not in bob_mail.body

    carl = make_user("carl@example.org")
    follow(carl, rosa, kinds=[Kind.NEW_COAUTHOR])
    assert digests.digests_send(period="daily", now=NOW) == 0
    assert mails_to("carl@example.org") == []
    assert not Digest.objects.filter(user=carl).exists()


def test_a_digest_lists_only_events_after_the_follow_began():
    ada = make_user("ada@example.org")
    rosa = AuthorFactory()
    follow(ada, rosa, since=THURSDAY + timedelta(hours=12))
    event(rosa, THURSDAY + timedelta(hours=11), title="Before the follow")
    event(rosa, THURSDAY + timedelta(hours=13), title="After the follow")

    digests.digests_send(period="daily", now=NOW)

    [mail] = mails_to("ada@example.org")
    assert "After the follow" in mail.body and "Before the follow" not in mail.body


def test_one_digest_per_person_lists_every_followed_researcher():
    ada = make_user("ada@example.org")
    for name in ("Rosa Example", "Grace Example", "Alan Example"):
        author = AuthorFactory(display_name=name)
        follow(ada, author)
        event(author, THURSDAY + timedelta(hours=8), title=f"Paper by {name}")

    assert digests.digests_send(period="daily", now=NOW) == 1

    [mail] = mails_to("ada@example.org")
    assert mail.subject.endswith(": 3 updates")
    assert sorted(line for line in mail.body.splitlines() if line.startswith("- ")) == [
        f"- {name} has a new work: Paper by {name} (2025)"
        for name in ("Alan Example", "Grace Example", "Rosa Example")
    ]


def test_nobody_without_events_is_mailed():
    ada = make_user("ada@example.org")
    follow(ada, AuthorFactory())

    assert digests.digests_send_due(now=NOW) == 0
    assert OutboundEmail.objects.count() == 0
    assert Digest.objects.count() == 0


def test_a_weekly_digest_covers_the_previous_iso_week_monday_to_sunday():
    ada = make_user("ada@example.org")
    rosa = AuthorFactory()
    follow(ada, rosa, delivery="weekly")
    monday = datetime(2025, 11, 24, tzinfo=UTC)
    event(rosa, monday, title="Monday first thing")
    event(rosa, monday + timedelta(days=7) - timedelta(microseconds=1), title="Sunday last thing")
    event(rosa, monday - timedelta(microseconds=1), title="The week before")
    event(rosa, monday + timedelta(days=7), title="This week")

    assert digests.digests_send(period="weekly", now=NOW) == 1

    [mail] = mails_to("ada@example.org")
    assert mail.subject == "Your weekly BZPEER digest, 24 November to 30 November 2025: 2 updates"
    assert "Monday first thing" in mail.body and "Sunday last thing" in mail.body
    assert "The week before" not in mail.body and "This week" not in mail.body
    assert Digest.objects.get().period_start.isoformat() == "2025-11-24"


def test_periods_are_days_of_settings_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    ada = make_user("ada@example.org")
    rosa = AuthorFactory()
    follow(ada, rosa)
    # 23:30 UTC on Wednesday the 3rd is 00:30 on Thursday in Berlin.
    event(rosa, THURSDAY - timedelta(minutes=30), title="Just after midnight in Berlin")
    event(rosa, THURSDAY + timedelta(hours=23, minutes=30), title="Friday in Berlin")

    digests.digests_send(period="daily", now=NOW)

    [mail] = mails_to("ada@example.org")
    assert "Just after midnight in Berlin" in mail.body and "Friday in Berlin" not in mail.body
    assert "(Europe/Berlin)" in mail.body


def test_a_long_digest_shows_the_newest_events_and_says_how_many_more():
    ada = make_user("ada@example.org")
    rosa = AuthorFactory()
    follow(ada, rosa)
    for i in range(digests.EVENTS_SHOWN + 3):
        event(rosa, THURSDAY + timedelta(minutes=i), title=f"Paper {i:03}")

    digests.digests_send(period="daily", now=NOW)

    [mail] = mails_to("ada@example.org")
    assert f"Paper {digests.EVENTS_SHOWN + 2:03}" in mail.body and "Paper 000" not in mail.body
    assert "…and 3 more on your following feed." in mail.body
    assert Digest.objects.get().events == digests.EVENTS_SHOWN + 3


# Exactly once


def test_running_twice_sends_each_digest_once():
    ada = make_user("ada@example.org")
    rosa = AuthorFactory()
    follow(ada, rosa)
    event(rosa, THURSDAY + timedelta(hours=1))

    assert digests.digests_send_due(now=NOW) == 1
    assert digests.digests_send_due(now=NOW + timedelta(hours=1)) == 0
    assert digests.digests_send_due(now=NOW + timedelta(hours=20)) == 0
    assert len(mails_to("ada@example.org")) == 1
    # The next day is another period: nothing happened in it, nothing is sent.
    assert digests.digests_send_due(now=NOW + timedelta(days=1)) == 0


def test_each_chunk_costs_the_same_queries_whatever_its_size():
    def run(people: int, chunk_size: int) -> int:
        OutboundEmail.objects.all().delete()
        Digest.objects.all().delete()
        Follow.objects.all().delete()
        rosa = AuthorFactory()
        event(rosa, THURSDAY + timedelta(hours=1))
        for _ in range(people):
            follow(make_user(), rosa)
        with CaptureQueriesContext(connection) as queries:
            assert digests.digests_send(period="daily", now=NOW, chunk_size=chunk_size) == people
        return len(queries)

    one = run(1, 500)
    assert run(40, 500) == one, "one chunk: the same statements for 1 and 40 people"
    # Four chunks of 10: each chunk's statements again, and the last empty read once.
    per_chunk = one - 1
    assert run(40, 10) == 4 * per_chunk + 1
    assert per_chunk <= 6


def test_a_digest_has_a_stop_link_that_works_without_logging_in():
    ada = make_user("ada@example.org")
    rosa = AuthorFactory()
    follow(ada, rosa)
    event(rosa, THURSDAY + timedelta(hours=1))
    digests.digests_send(period="daily", now=NOW)
    [mail] = mails_to("ada@example.org")
    link = re.search(r"^(http\S+/email/stop/\S+/)$", mail.body, re.MULTILINE).group(1)
    assert mail.headers["List-Unsubscribe"] == f"<{link}>"
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    anonymous = Client()
    path = urlparse(link).path
    assert "digest emails" in anonymous.get(path).content.decode()
    assert anonymous.post(path).status_code == 200
    assert optout.opted_out(user_id=ada.pk, kind="digest")

    event(rosa, THURSDAY + timedelta(days=1, hours=1))
    assert digests.digests_send(period="daily", now=NOW + timedelta(days=1)) == 0


# The settings form on /following/


def settings_url(author) -> str:
    return reverse("profiles:follow_settings", args=[author.pk])


def test_the_following_page_shows_each_follows_settings(client):
    ada = make_user()
    rosa = AuthorFactory(display_name="Rosa Example")
    follow(ada, rosa, delivery="weekly", kinds=[Kind.NEW_WORK])
    client.force_login(ada)

    html = client.get(reverse("profiles:following")).content.decode()

    assert f'action="{settings_url(rosa)}"' in html
    assert "Hear:</span> New works · Weekly email digest" in html
    assert 'name="news" value="works" checked' in html
    assert 'name="news" value="claims">' in html
    assert 'name="delivery" value="weekly" checked' in html


def test_saving_the_settings_with_a_plain_form_redirects_to_the_feed(client):
    ada = make_user()
    rosa = AuthorFactory(display_name="Rosa Example")
    follow(ada, rosa, delivery="feed")
    client.force_login(ada)

    response = client.post(settings_url(rosa), {"news": ["works", "profile"], "delivery": "daily"})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('profiles:following')}#follow-settings-{rosa.pk}"
    row = Follow.objects.get(user=ada)
    assert sorted(row.kinds) == sorted(
        [Kind.NEW_WORK, Kind.AFFILIATION_CHANGED, Kind.PROFILE_UPDATED]
    )
    assert row.delivery == "daily"
    page = client.get(response["Location"]).content.decode()
    assert "Saved for Rosa Example: New works, Profile changes · Daily email digest." in page


def test_saving_the_settings_with_htmx_answers_the_follows_fragment(client):
    ada = make_user()
    rosa = AuthorFactory()
    follow(ada, rosa)
    client.force_login(ada)

    response = client.post(settings_url(rosa), {"news": ["claims"], "delivery": "weekly"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<details") and "<html" not in html
    assert "Saved." in html and 'value="weekly" checked' in html
    assert Follow.objects.get(user=ada).kinds == [Kind.CLAIM_VERIFIED]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"delivery": "daily"}, "Choose at least one kind of news, or unfollow the researcher."),
        ({"news": ["works"]}, "Choose how to hear: feed only, or a daily or weekly email digest."),
        ({"news": ["works"], "delivery": "hourly"}, "Choose feed only, or a daily or weekly"),
        ({"news": ["gossip"], "delivery": "daily"}, "gossip is not one of them"),
        ({"news": ["<script>alert(1)</script>"], "delivery": "daily"}, "&lt;script&gt;"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_settings_are_a_400_with_a_message_and_change_nothing(client, data, message, htmx):
    ada = make_user()
    rosa = AuthorFactory()
    follow(ada, rosa, delivery="feed")
    client.force_login(ada)

    response = client.post(settings_url(rosa), data, **(HTMX if htmx else {}))

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "<script>alert" not in html
    assert ("<html" in html) is not htmx
    row = Follow.objects.get(user=ada)
    assert row.delivery == "feed" and len(row.kinds) == len(Kind.choices)


def test_settings_of_a_researcher_you_do_not_follow_are_a_404(client):
    ada, bob = make_user(), make_user()
    followed_by_bob = AuthorFactory()
    follow(bob, followed_by_bob, delivery="feed")
    client.force_login(ada)

    for author_id in (followed_by_bob.pk, 999_999_999):
        url = reverse("profiles:follow_settings", args=[author_id])
        response = client.post(url, {"news": ["works"], "delivery": "daily"})
        assert response.status_code == 404
    assert Follow.objects.get(user=bob).delivery == "feed"


def test_choosing_a_digest_again_after_the_stop_link_starts_them_again(client):
    ada = make_user()
    rosa = AuthorFactory()
    follow(ada, rosa)
    optout.opt_out(user_id=ada.pk, kind="digest")
    client.force_login(ada)

    client.post(settings_url(rosa), {"news": ["works"], "delivery": "feed"})
    assert optout.opted_out(user_id=ada.pk, kind="digest"), "feed only is no wish for mail"

    client.post(settings_url(rosa), {"news": ["works"], "delivery": "weekly"})
    assert not EmailOptOut.objects.filter(user=ada).exists()


def test_the_feed_shows_only_the_kinds_each_follow_chose(client):
    ada = make_user()
    rosa, grace = AuthorFactory(display_name="Rosa"), AuthorFactory(display_name="Grace")
    follow(ada, rosa, delivery="feed", kinds=[Kind.NEW_WORK])
    follow(ada, grace, delivery="feed", kinds=[Kind.CLAIM_VERIFIED])
    now = timezone.now()
    event(rosa, now - timedelta(hours=1), title="Rosa's paper")
    event(rosa, now - timedelta(hours=2), kind=Kind.CLAIM_VERIFIED)
    event(grace, now - timedelta(hours=3), title="Grace's paper")
    event(grace, now - timedelta(hours=4), kind=Kind.CLAIM_VERIFIED)
    client.force_login(ada)

    html = client.get(reverse("profiles:following")).content.decode()

    assert "Rosa&#x27;s paper" in html and "Grace&#x27;s paper" not in html
    assert html.count("feed-event--claim_verified") == 1
    assert html.count("feed-event--new_work") == 1


# A real worker, killed mid-run


def start(workers: list[Worker], queue: str, tmp_path, smtp: SmtpServer, **env: str) -> Worker:
    """A worker mailing through the test's SMTP server, and sending its tasks to its queue."""
    return start_mailing_worker(
        workers, queue, tmp_path, smtp, CELERY_TASK_DEFAULT_QUEUE=queue, **env
    )


def five_people_with_a_digest_due() -> list[str]:
    bounds = digests.period_last_complete(period="daily", now=timezone.now())
    rosa = AuthorFactory(display_name="Rosa Example")
    event(rosa, bounds.start + timedelta(hours=1), title="Due paper")
    addresses = [f"reader{i}@example.org" for i in range(5)]
    for address in addresses:
        follow(make_user(address), rosa, since=bounds.start - timedelta(days=1))
    return addresses


def received(smtp: SmtpServer) -> list[str]:
    return sorted(str(message["To"]) for message in smtp.messages)


def sent_counts(worker: Worker) -> list[int]:
    found = re.findall(r"digests_send_task\[[^\]]+\] succeeded in [0-9.]+s: (\d+)", worker.log())
    return [int(n) for n in found]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("through_the_broker")
def test_a_worker_killed_mid_run_and_restarted_sends_each_digest_exactly_once(
    queue, workers, tmp_path, smtp
):
    smtp.start()
    addresses = five_people_with_a_digest_due()
    slow = start(workers, queue, tmp_path, smtp, **{digests.CHUNK_DELAY_ENV: "6"})

    digests_send_task.delay(2)  # chunks of 2, 2 and 1, each 6 s in its transaction
    wait_for(
        lambda: Digest.objects.count() == 2,
        timeout=60,
        what="the first chunk committing",
        workers=[slow],
    )
    slow.kill()  # in the second chunk's transaction
    time.sleep(1)
    assert Digest.objects.count() == 2, "the killed chunk is rolled back whole"
    assert OutboundEmail.objects.count() == 2

    fresh = start(workers, queue, tmp_path, smtp)
    digests_send_task.delay(2)  # the next beat
    wait_for(
        lambda: sent_counts(fresh) == [3], timeout=60, what="the next run", workers=[slow, fresh]
    )
    # The killed worker may have reserved the first chunk's mail tasks and taken
    # them with it: the outbox's sweep sends such mails once RESEND_AFTER has
    # passed (and a task that does come back finds its mail sent).
    OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).update(
        task_sent_at=timezone.now() - outbox_services.RESEND_AFTER
    )
    outbound_emails_send_due_task.delay()
    wait_for(lambda: len(smtp.messages) == 5, timeout=60, what="the mails", workers=[fresh])
    digests_send_task.delay(2)  # delivered once more
    wait_for(lambda: sent_counts(fresh) == [3, 0], timeout=60, what="the repeat", workers=[fresh])
    time.sleep(1)
    assert received(smtp) == addresses
    assert OutboundEmail.objects.count() == 5
    assert Digest.objects.count() == 5
    for message in smtp.messages:
        # Each one's own stop link (the header may arrive folded).
        link = "".join(message["List-Unsubscribe"].split()).strip("<>")
        user_id, kind = optout.token_read(link.rstrip("/").rsplit("/", 1)[1])
        assert kind == "digest"
        assert get_user_model().objects.get(pk=user_id).email == message["To"]
    assert all(m["Subject"].startswith("Your daily BZPEER digest") for m in smtp.messages)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("through_the_broker")
def test_two_runs_at_once_send_each_digest_once(queue, workers, tmp_path, smtp):
    smtp.start()
    addresses = five_people_with_a_digest_due()
    first = start(workers, queue, tmp_path, smtp, **{digests.CHUNK_DELAY_ENV: "2"})
    second = start(workers, queue, tmp_path, smtp, **{digests.CHUNK_DELAY_ENV: "2"})

    digests_send_task.delay(2)
    digests_send_task.delay(2)
    wait_for(
        lambda: len(sent_counts(first)) + len(sent_counts(second)) == 2,
        timeout=90,
        what="both runs",
        workers=[first, second],
    )
    wait_for(lambda: len(smtp.messages) >= 5, timeout=60, what="the mails", workers=[first, second])
    time.sleep(1)
    assert "digests_send_task" in first.log() and "digests_send_task" in second.log(), (
        "each worker ran one of the two runs"
    )
    assert sum(sent_counts(first) + sent_counts(second)) == 5
    assert received(smtp) == addresses
    assert OutboundEmail.objects.count() == 5
