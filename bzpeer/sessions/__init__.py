"""Sessions in PostgreSQL, each row naming its signed-in user, read with the user in one statement.

The store is bzpeer.sessions.store (SESSION_ENGINE); the table is bzpeer.sessions.models.Session.
"""
