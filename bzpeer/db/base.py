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
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format
from psycopg_pool import ConnectionPool

# django-stubs does not know the psycopg 3 names of Django's backend used below.
_backend: Any = base


def _may_be_closed(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server sent something to this idle connection: most likely its end."""
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        """Also for prepared_cursor's statements, which Django's logging saw as None."""
        query: str | None = super().last_executed_query(cursor, sql, params)
        if query is None and isinstance(cursor, _backend.ServerBindingCursor):
            try:
                query = self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                query = None
        return query or sql


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

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

    def prepared_cursor(self) -> Any:
        """A cursor whose statements PostgreSQL parses and plans once per connection.

        Django's cursors bind parameters on the client, so PostgreSQL plans every
        statement anew. For the few statements every signed-in request makes
        (its session, its user, its state on the page) planning cost more than
        running them: this cursor binds on the server, and psycopg prepares a
        statement once it has run `prepare_threshold` times on a connection
        (OPTIONS; Django's own cursors never prepare). Queries are logged and
        counted as through connection.cursor().
        """
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = _backend.ServerBindingCursor(self.connection)
            # As Django's create_cursor: the cursor's time zone where the connection's differs.
            tzloader = self.connection.adapters.get_loader(_backend.TIMESTAMPTZ_OID, Format.TEXT)
            if self.timezone != tzloader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)  # type: ignore[attr-defined]
