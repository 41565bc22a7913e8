"""Sessions in PostgreSQL, read with one prepared statement written out.

Django's database sessions read the row through the ORM; compiling that query
cost more than running it, on every signed-in request, and PostgreSQL planned
it anew each time. This store reads the same row with the same conditions (the
key, not expired) as SQL written out, prepared once per connection
(bzpeer.db.prepared_cursor), and is otherwise Django's: writing, expiry and
clearing are unchanged.

Sessions written before the authentication backends moved to
bzpeer.auth_backends name the old ones; they are read as the new ones, so
nobody is signed out by the move.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone

from bzpeer.db import prepared_cursor

# The backends a session may name from before bzpeer.auth_backends, and what they are now.
RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "bzpeer.auth_backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": (
        "bzpeer.auth_backends.AuthenticationBackend"
    ),
}


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        key = self.session_key
        if not key:
            self._session_key = None
            return None
        alias = router.db_for_read(Session)
        table = connections[alias].ops.quote_name(Session._meta.db_table)
        with prepared_cursor(alias) as cursor:
            cursor.execute(
                f"SELECT session_data, expire_date FROM {table}"
                " WHERE session_key = %s AND expire_date > %s",
                [key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return Session(session_key=key, session_data=row[0], expire_date=row[1])

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        backend = data.get(BACKEND_SESSION_KEY)
        if backend in RENAMED_BACKENDS:
            data[BACKEND_SESSION_KEY] = RENAMED_BACKENDS[backend]
        return data
