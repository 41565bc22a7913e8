"""Django's PostgreSQL backend (ENGINE "bzpeer.db"), checking each connection it takes from
psycopg's pool before a request uses it.

A pooled connection that PostgreSQL closed while it sat idle (a restart, an administrator's
pg_terminate_backend, a proxy dropping idle connections) is only found out when used; the
request that took it would fail. So each connection is checked as it leaves the pool (one
empty query). A dead one means the others in the pool are most likely dead too: they are
all checked and replaced at once, and the request waits for a fresh connection.

Not the pool's own check on checkout (CONN_HEALTH_CHECKS): it meets dead connections one at a
time and sleeps after each (1 s, 2 s, 4 s ...), so a pool of a few dead ones outlasts the
pool's timeout and the request fails anyway.
"""

from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        # django-stubs does not know the pool (Django 5.1) yet.
        pool: ConnectionPool | None = self.pool  # type: ignore[attr-defined]
        if pool is None:
            return connection
        try:
            ConnectionPool.check_connection(connection)
        except psycopg.Error:
            pool.putconn(connection)  # closed, and a new one asked for
            pool.check()
            connection = super().get_new_connection(conn_params)
        return connection
