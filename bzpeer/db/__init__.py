"""Django's PostgreSQL backend, checking the connections it takes from psycopg's pool."""

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor whose statements PostgreSQL plans once per connection (bzpeer.db.base);
    Django's own cursor where the database is not this backend's."""
    connection = connections[using]
    make = getattr(connection, "prepared_cursor", None)
    return make() if make is not None else connection.cursor()
