"""The session store (SESSION_ENGINE): Django's database sessions, read in one statement with
the signed-in user and whatever the page asked to read ahead.

A signed-in request used to make three round trips before rendering anything of its
own: the session, then the user the session names, then the page's facts about that
user (follow, claim, inbox count). Each is quick for PostgreSQL; the round trips and
their context switches were most of a signed-in page's time on a two-core server. The
session row names its user in a column (bzpeer.sessions.models), so one statement,
prepared once per connection (bzpeer.db.prepared_cursor), reads

- the session row (the key, not expired: Django's conditions),
- the user row, turned into the model the ORM would make and handed to the
  authentication backend (bzpeer.auth_backends), which checks it as Django does,
- and any `ReadAhead` a view registered before the session was first touched, each a
  one-row SELECT naming the session's user as `s.user_id`.

A read-ahead's row is only used for the user Django then authenticates (the session's
auth hash checked as usual); a view that finds none (the session was read earlier, or
belongs to nobody) makes its own query. Writing, expiry and clearing are Django's.

Sessions written before the authentication backends moved to bzpeer.auth_backends
name the old ones; they are read as the new ones, so nobody is signed out by the move.
"""

from __future__ import annotations

import contextvars
import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError
from django.core.signals import request_finished
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


@dataclass(frozen=True)
class ReadAhead:
    """A one-row SELECT of `columns` values to read with the session.

    `sql` names the session's user as `s.user_id` and its own parameters as %(name)s,
    given in `params` (names starting with "session_" are the store's).
    """

    name: str
    sql: str
    params: dict[str, Any]
    columns: int


# The user the last session statement read, for the backend in the same request.
_user_read: contextvars.ContextVar[Any] = contextvars.ContextVar("session_user", default=None)


def take_user(user_id: Any) -> Any | None:
    """The user the session statement read, if it is the one with this id; only once."""
    user = _user_read.get()
    if user is None:
        return None
    _user_read.set(None)
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    return user if user.pk == pk else None


def _forget_user(**kwargs: Any) -> None:
    _user_read.set(None)


request_finished.connect(_forget_user, dispatch_uid="bzpeer.sessions.store.forget_user")


@functools.cache
def _select(alias: str, read_aheads: tuple[tuple[str, int], ...]) -> tuple[str, list[str], int]:
    """The statement for these read-aheads ((sql, columns) each), the user's attnames and the
    position of its primary key among them."""
    from bzpeer.sessions.models import Session

    user_model = get_user_model()
    quote = connections[alias].ops.quote_name
    fields = user_model._meta.concrete_fields
    user_columns = ", ".join(f"u.{quote(field.column)}" for field in fields)
    lateral = "".join(
        f" LEFT JOIN LATERAL ({sql}) AS ahead{i} ON TRUE" for i, (sql, _) in enumerate(read_aheads)
    )
    ahead_columns = "".join(f", ahead{i}.*" for i in range(len(read_aheads)))
    sql = (
        f"SELECT s.session_data, s.expire_date, s.user_id, {user_columns}{ahead_columns}"
        f" FROM {quote(Session._meta.db_table)} s"
        f" LEFT JOIN {quote(user_model._meta.db_table)} u"
        f" ON u.{quote(user_model._meta.pk.column)} = s.user_id{lateral}"
        " WHERE s.session_key = %(session_key)s AND s.expire_date > %(session_now)s"
    )
    attnames = [field.attname for field in fields]
    return sql, attnames, attnames.index(user_model._meta.pk.attname)


def _user_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SessionStore(DatabaseSessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._read_aheads: list[ReadAhead] = []
        self._ahead_rows: dict[str, tuple[int | None, tuple[Any, ...]]] = {}

    @classmethod
    def get_model_class(cls) -> Any:
        from bzpeer.sessions.models import Session

        return Session

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        instance: Any = super().create_model_instance(data)
        instance.user_id = _user_id(data.get(SESSION_KEY))
        return instance

    def read_ahead(self, query: ReadAhead) -> None:
        """Read `query` with the session, if the session is not read yet (else nothing)."""
        if not hasattr(self, "_session_cache") and self.session_key:
            self._read_aheads.append(query)

    def read_ahead_row(self, name: str, user_id: Any) -> tuple[Any, ...] | None:
        """The row the read-ahead `name` gave, if it was read for this user."""
        got = self._ahead_rows.get(name)
        if got is None or got[0] is None or got[0] != user_id:
            return None
        return got[1]

    def _get_session_from_db(self) -> Any:
        read_aheads, self._read_aheads = self._read_aheads, []
        _user_read.set(None)
        key = self.session_key
        if not key:
            self._session_key = None
            return None
        model = self.model
        alias = router.db_for_read(model)
        sql, attnames, pk_index = _select(alias, tuple((q.sql, q.columns) for q in read_aheads))
        params: dict[str, Any] = {}
        for query in read_aheads:
            params.update(query.params)
        params.update(session_key=key, session_now=timezone.now())
        with prepared_cursor(alias) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        session_data, expire_date, user_id = row[:3]
        user_values = row[3 : 3 + len(attnames)]
        if user_values[pk_index] is not None:
            user_model = get_user_model()
            _user_read.set(
                user_model.from_db(router.db_for_read(user_model), attnames, user_values)
            )
        position = 3 + len(attnames)
        for query in read_aheads:
            self._ahead_rows[query.name] = (user_id, row[position : position + query.columns])
            position += query.columns
        return model(session_key=key, session_data=session_data, expire_date=expire_date)

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        backend = data.get(BACKEND_SESSION_KEY)
        if backend in RENAMED_BACKENDS:
            data[BACKEND_SESSION_KEY] = RENAMED_BACKENDS[backend]
        return data
