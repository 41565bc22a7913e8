"""Django's and allauth's authentication backends, reading the signed-in user with SQL written out.

Usually the user was read already, with the session (bzpeer.sessions.store); these
read it themselves when it was not (a session written before its row named its user).

Every signed-in request reads its user by primary key. The ORM's compiling of
that query cost more than the query itself; here the same row is read with
one statement built once per process, prepared once per connection
(bzpeer.db.prepared_cursor), and turned into the model the ORM would have
made (Model.from_db), then checked as Django checks it (is_active).
"""

from __future__ import annotations

import functools
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router

from bzpeer.db import prepared_cursor
from bzpeer.sessions.store import take_user


@functools.cache
def _user_select(alias: str) -> tuple[str, list[str]]:
    model = get_user_model()
    quote = connections[alias].ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(quote(field.column) for field in fields)
    sql = (
        f"SELECT {columns} FROM {quote(model._meta.db_table)}"
        f" WHERE {quote(model._meta.pk.column)} = %s"
    )
    return sql, [field.attname for field in fields]


def read_user(user_id: Any) -> Any | None:
    """The user with this primary key as the ORM would load it; None if there is none."""
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    alias = router.db_for_read(model)
    sql, attnames = _user_select(alias)
    with prepared_cursor(alias) as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    return model.from_db(alias, attnames, row)


class _ReadsUserWithSql:
    def get_user(self, user_id: Any) -> Any | None:
        # Read with the session in the same statement (bzpeer.sessions.store), or now.
        user = take_user(user_id) or read_user(user_id)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_ReadsUserWithSql, DjangoModelBackend):
    """Django's ModelBackend (the admin's username sign-in)."""


class AuthenticationBackend(_ReadsUserWithSql, AllauthBackend):
    """allauth's backend (sign-in by email)."""
