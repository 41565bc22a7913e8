"""Email digests of the researchers a person follows: one mail per person and period.

A follow whose delivery is daily or weekly puts the events its follower
hears about (Follow.kinds, since the follow began) into a digest of the last
complete period: the previous day, or the previous ISO week (Monday to
Sunday), both in settings.TIME_ZONE (UTC unless set). Celery beat runs
`digests_send_due` every hour; a period's digests go out in the first run
after it ends, and the runs after that find them sent.

Exactly once: each digest is a `Digest` row, unique per (user, period,
period start), inserted with ON CONFLICT DO NOTHING in the same transaction
as its outbox mail, and only the rows this transaction inserted get a mail.
A task delivered twice or two beats at once meet at that constraint; a
worker killed mid-chunk rolls the chunk back whole, and the next run sends
it. The outbox then delivers each mail once (bzpeer.outbox).

Set-based: people are read in chunks by keyset on their id, four statements
per chunk (who is due, their events, the Digest rows, the mails) and one
UPDATE once it commits, whatever the chunk's size.
"""

import os
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as day_start
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from bzpeer.outbox import optout
from bzpeer.outbox import services as outbox
from profiles.models import Digest, profile_changed_labels

Period = Digest.Period

DIGEST_MAIL = "digest"  # the optout kind
CHUNK_SIZE = 500
# A digest lists this many of the period's newest events, then says how many more.
EVENTS_SHOWN = 50
# Tests slow each chunk down with it (inside its transaction) to kill a worker
# mid-run; unset in production.
CHUNK_DELAY_ENV = "BZPEER_DIGEST_CHUNK_DELAY"


@dataclass(frozen=True)
class PeriodBounds:
    period: str
    first_day: date  # the day, or the Monday of the week
    start: datetime
    end: datetime  # exclusive


def period_last_complete(*, period: str, now: datetime) -> PeriodBounds:
    """The last period of this kind that ended by `now`, in settings.TIME_ZONE."""
    zone = timezone.get_default_timezone()
    today = timezone.localdate(now, zone)
    if period == Period.DAILY:
        first_day, end_day = today - timedelta(days=1), today
    elif period == Period.WEEKLY:
        end_day = today - timedelta(days=today.weekday())
        first_day = end_day - timedelta(days=7)
    else:
        raise ValueError(f"unknown digest period {period!r}")
    return PeriodBounds(
        period=period,
        first_day=first_day,
        start=datetime.combine(first_day, day_start.min, tzinfo=zone),
        end=datetime.combine(end_day, day_start.min, tzinfo=zone),
    )


@dataclass(frozen=True)
class DigestEvent:
    kind: str
    created_at: datetime
    author_id: int
    author_name: str
    work_id: int | None
    work_title: str | None
    work_year: int | None
    other_author_id: int | None
    other_author_name: str | None
    detail: dict[str, Any]

    @property
    def changed_labels(self) -> str:
        return profile_changed_labels(self.detail)


# A follow f's events e in the period: the kinds it chose, since it began.
_IN_PERIOD = """
    e.author_id = f.author_id
    AND e.created_at >= greatest(f.created_at, %(start)s) AND e.created_at < %(end)s
    AND e.kind = ANY(f.kinds)
"""


def _due_people(bounds: PeriodBounds, *, after: int, limit: int) -> list[tuple[int, str]]:
    """(user id, address) of the next people after `after` with a digest to get, by id."""
    users = get_user_model()._meta.db_table
    sql = f"""
        SELECT f.user_id, min(u.email) FROM profiles_follow f
        JOIN {users} u ON u.id = f.user_id
        WHERE f.delivery = %(period)s AND f.user_id > %(after)s
          AND u.is_active AND u.email <> ''
          AND EXISTS (SELECT 1 FROM profiles_authorevent e WHERE {_IN_PERIOD})
          AND NOT EXISTS (SELECT 1 FROM outbox_emailoptout o
                          WHERE o.user_id = f.user_id AND o.kind = %(optout)s)
          AND NOT EXISTS (SELECT 1 FROM profiles_digest d WHERE d.user_id = f.user_id
                          AND d.period = %(period)s AND d.period_start = %(first_day)s)
        GROUP BY f.user_id ORDER BY f.user_id LIMIT %(limit)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {**_params(bounds), "after": after, "limit": limit})
        return [(row[0], row[1]) for row in cursor.fetchall()]


def _params(bounds: PeriodBounds) -> dict[str, Any]:
    return {
        "period": bounds.period,
        "start": bounds.start,
        "end": bounds.end,
        "first_day": bounds.first_day,
        "optout": DIGEST_MAIL,
    }


def _events_of(
    bounds: PeriodBounds, user_ids: list[int]
) -> dict[int, tuple[list[DigestEvent], int]]:
    """Each person's newest EVENTS_SHOWN events of the period and how many there are, one query."""
    sql = f"""
        WITH mine AS (
            SELECT f.user_id, e.id, e.created_at,
                   row_number() OVER (PARTITION BY f.user_id
                                      ORDER BY e.created_at DESC, e.id DESC) AS n,
                   count(*) OVER (PARTITION BY f.user_id) AS total
            FROM profiles_follow f JOIN profiles_authorevent e ON {_IN_PERIOD}
            WHERE f.delivery = %(period)s AND f.user_id = ANY(%(users)s)
        )
        SELECT m.user_id, m.total, e.kind, e.created_at, e.author_id, a.display_name,
               e.work_id, w.title, w.publication_year, e.other_author_id, o.display_name, e.detail
        FROM mine m
        JOIN profiles_authorevent e ON e.id = m.id
        JOIN works_author a ON a.id = e.author_id
        LEFT JOIN works_work w ON w.id = e.work_id
        LEFT JOIN works_author o ON o.id = e.other_author_id
        WHERE m.n <= %(shown)s
        ORDER BY m.user_id, m.n
    """
    found: dict[int, tuple[list[DigestEvent], int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, {**_params(bounds), "users": user_ids, "shown": EVENTS_SHOWN})
        for user_id, total, *fields in cursor.fetchall():
            event = DigestEvent(*fields)
            found.setdefault(user_id, ([], total))[0].append(event)
    return found


def _claim(bounds: PeriodBounds, counts: dict[int, int]) -> set[int]:
    """Insert the Digest rows; the people whose row this call inserted (no one else's)."""
    user_ids = sorted(counts)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO profiles_digest (user_id, period, period_start, events, created_at)
            SELECT u, %s, %s, n, now() FROM unnest(%s::bigint[], %s::bigint[]) AS t(u, n)
            ON CONFLICT (user_id, period, period_start) DO NOTHING
            RETURNING user_id
            """,
            [bounds.period, bounds.first_day, user_ids, [counts[u] for u in user_ids]],
        )
        return {row[0] for row in cursor.fetchall()}


def _mail(
    bounds: PeriodBounds, *, user_id: int, address: str, events: list[DigestEvent], total: int
) -> outbox.Mail:
    last_day = bounds.end.date() - timedelta(days=1)
    context = {
        "site_name": "BZPEER",
        "daily": bounds.period == Period.DAILY,
        "first_day": bounds.first_day,
        "last_day": last_day,
        "events": events,
        "total": total,
        "more": total - len(events),
        "site_url": _site_url(""),
        "following_url": _site_url(reverse("profiles:following")),
        "stop_url": optout.stop_url(user_id=user_id, kind=DIGEST_MAIL),
        "time_zone": timezone.get_default_timezone_name(),
    }
    subject = " ".join(render_to_string("profiles/email/digest_subject.txt", context).split())
    return outbox.Mail(
        to=[address],
        subject=subject,
        body=render_to_string("profiles/email/digest_message.txt", context),
        headers=optout.stop_headers(user_id=user_id, kind=DIGEST_MAIL),
    )


def _site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def digests_send(*, period: str, now: datetime | None = None, chunk_size: int = CHUNK_SIZE) -> int:
    """Queue the digests of the last complete `period` that are not sent yet; how many."""
    bounds = period_last_complete(period=period, now=now or timezone.now())
    sent = 0
    after = 0
    while True:
        people = _due_people(bounds, after=after, limit=chunk_size)
        if not people:
            return sent
        after = people[-1][0]
        events = _events_of(bounds, [user_id for user_id, _ in people])
        with transaction.atomic():
            mine = _claim(bounds, {u: events[u][1] for u, _ in people if u in events})
            outbox.email_queue_many(
                mails=[
                    _mail(
                        bounds,
                        user_id=user_id,
                        address=address,
                        events=events[user_id][0],
                        total=events[user_id][1],
                    )
                    for user_id, address in people
                    if user_id in mine
                ]
            )
            sent += len(mine)
            delay = os.environ.get(CHUNK_DELAY_ENV)
            if delay:
                time.sleep(float(delay))


def digests_send_due(*, now: datetime | None = None, chunk_size: int = CHUNK_SIZE) -> int:
    """The hourly beat: the daily and the weekly digests that are due; how many were queued."""
    now = now or timezone.now()
    return sum(
        digests_send(period=period, now=now, chunk_size=chunk_size)
        for period in (Period.DAILY, Period.WEEKLY)
    )
