"""The session table: Django's, plus the signed-in user's id as a column of its own.

Django keeps the user's id only inside the signed, encoded session data, so a
signed-in request read the session, decoded it, and then read the user: two
round trips before the page's own. With the id in a column the store reads the
user in the same statement (bzpeer.sessions.store). The column is written from
the data on every save, so the two cannot disagree; it has no foreign key, so a
session saved as its user is deleted is not an error (it reads as signed out).
"""

from typing import Any

from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class Session(AbstractBaseSession):
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta(AbstractBaseSession.Meta):  # type: ignore[name-defined]
        db_table = "bzpeer_session"

    @classmethod
    def get_session_store_class(cls) -> Any:
        from bzpeer.sessions.store import SessionStore

        return SessionStore
