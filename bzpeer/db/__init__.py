"""Django's PostgreSQL backend, checking the connections it takes from psycopg's pool."""
