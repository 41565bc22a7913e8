"""Django's PostgreSQL backend (ENGINE "bzpeer.db"), checking each connection it takes from
psycopg's pool before a request uses it.

A pooled connection that PostgreSQL closed while it sat idle (a restart, an administrator's
pg_terminate_backend, idle_session_timeout, a proxy dropping idle connections) is only found
out when used: the request that took it would fail. PostgreSQL says so on the socket as it
closes it ("terminating connection ...", then the end of the stream), and an idle
connection otherwise has nothing to read: so a connection with something to read is
checked with a round trip (an empty query) as it leaves the pool, the others cost one
poll(2) and no round trip. A dead one means the others in the pool are most likely dead
too: they are all checked and replaced at once, and the request waits for a fresh one.

Not the pool's own check on checkout (CONN_HEALTH_CHECKS): it costs a round trip on every
request, and it meets dead connections one at a time, sleeping after each (1 s, 2 s, 4 s
...), so a pool of a few dead ones outlasts the pool's timeout and the request fails anyway.
"""

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


def _may_be_closed(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server sent something to this idle connection: most likely its end."""
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        # django-stubs does not know the pool (Django 5.1) yet.
        pool: ConnectionPool | None = self.pool  # type: ignore[attr-defined]
        if pool is None or not _may_be_closed(connection):
            return connection
        try:
            ConnectionPool.check_connection(connection)
        except psycopg.Error:
            pool.putconn(connection)  # closed, and a new one asked for
            pool.check()
            connection = super().get_new_connection(conn_params)
        return connection
