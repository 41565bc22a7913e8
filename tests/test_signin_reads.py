"""Who is signed in, read on every request: the session and its user in one statement written
out and prepared (bzpeer.sessions.store, bzpeer.auth_backends, bzpeer.db.prepared_cursor),
with what a researcher page knows of its visitor read ahead in the same statement.

Everything Django's own reads decide must still hold: an expired session, a deactivated
account, a password changed elsewhere and a forged session key all sign the visitor
out; sessions written before the backends moved keep their owners signed in.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bzpeer.auth_backends import read_user
from bzpeer.sessions.models import Session
from bzpeer.sessions.store import SessionStore
from profiles.models import Follow
from tests.factories import AuthorFactory
from tests.profiles.conftest import make_user

pytestmark = pytest.mark.django_db

ACCOUNT_PAGE = "/following/"


def signed_in(client: Client) -> bool:
    """Whether the site treats this client as signed in: the page has its Log out button."""
    response = client.get(ACCOUNT_PAGE)
    return response.status_code == 200 and "Log out" in response.content.decode()


def session_for(user, *, backend: str) -> SessionStore:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session


def client_with(session: SessionStore) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = str(session.session_key)
    return client


@pytest.mark.parametrize(
    "backend",
    [
        "django.contrib.auth.backends.ModelBackend",
        "allauth.account.auth_backends.AuthenticationBackend",
        "bzpeer.auth_backends.AuthenticationBackend",
    ],
)
def test_sessions_naming_the_old_backends_keep_their_owner_signed_in(backend):
    user = make_user()
    assert signed_in(client_with(session_for(user, backend=backend)))


def test_a_session_naming_a_backend_the_site_does_not_have_is_not_signed_in():
    user = make_user()
    assert not signed_in(client_with(session_for(user, backend="elsewhere.Backend")))


def test_an_expired_session_is_not_signed_in():
    user = make_user()
    session = session_for(user, backend=settings.AUTHENTICATION_BACKENDS[0])
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert not signed_in(client_with(session))


def test_a_forged_session_key_is_not_signed_in():
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert not signed_in(client)


def test_a_deactivated_account_is_signed_out_on_its_next_request(client):
    user = make_user()
    client.force_login(user)
    assert signed_in(client)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not signed_in(client)


def test_a_password_changed_elsewhere_signs_the_other_sessions_out(client):
    user = make_user()
    client.force_login(user)
    assert signed_in(client)
    user.set_password("another long passphrase 123")
    user.save()
    assert not signed_in(client)


def test_the_user_is_read_as_the_orm_reads_it():
    user = make_user(first_name="Ada", last_name="Lovelace")
    read = read_user(str(user.pk))
    for field in type(user)._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(user, field.attname), field.name
    assert read._state.adding is False and read._state.db == "default"
    assert read_user("not a number") is None
    assert read_user(user.pk + 1000) is None


def test_postgresql_plans_each_signed_in_read_once_per_connection(client):
    client.force_login(make_user())
    for _ in range(settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] + 2):
        assert signed_in(client)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    # The session and its user are one statement.
    assert any('FROM "bzpeer_session"' in s and 'JOIN "auth_user"' in s for s in prepared), prepared


def follow_button(client: Client, author) -> str:
    page = client.get(reverse("profiles:researcher_detail", args=[author.pk])).content.decode()
    return "Unfollow" if 'name="action" value="unfollow"' in page else "Follow"


def test_a_researcher_page_shows_each_visitor_their_own_follow_read_with_their_session():
    author = AuthorFactory()
    follower, other = make_user(), make_user()
    Follow.objects.create(user=follower, author=author)
    clients = {}
    for user in (follower, other):
        clients[user] = Client()
        clients[user].force_login(user)
    # Alternating, so that a state read ahead for one could only show if it leaked.
    for _ in range(3):
        assert follow_button(clients[follower], author) == "Unfollow"
        assert follow_button(clients[other], author) == "Follow"
    Follow.objects.filter(user=follower).delete()
    assert follow_button(clients[follower], author) == "Follow"


def test_a_session_whose_row_does_not_name_its_user_still_signs_in_with_the_right_state(
    django_assert_num_queries,
):
    """A session saved by a process from before the column: the user and the visitor's
    state are then read on their own, as before."""
    author = AuthorFactory()
    user = make_user()
    Follow.objects.create(user=user, author=author)
    session = session_for(user, backend=settings.AUTHENTICATION_BACKENDS[0])
    assert Session.objects.get(session_key=session.session_key).user_id == user.pk
    Session.objects.filter(session_key=session.session_key).update(user_id=None)
    client = client_with(session)
    assert follow_button(client, author) == "Unfollow"
    # session, user, visitor state: three statements where there is one otherwise
    with django_assert_num_queries(3):
        assert follow_button(client, author) == "Unfollow"
    assert signed_in(client)


def test_a_deleted_user_s_session_reads_as_signed_out():
    user = make_user()
    client = client_with(session_for(user, backend=settings.AUTHENTICATION_BACKENDS[0]))
    assert signed_in(client)
    user.delete()
    assert not signed_in(client)


def test_sessions_of_django_s_table_are_moved_with_their_user_and_stay_signed_in():
    """The data migration (bzpeer_sessions 0002): nobody is signed out by the new table."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("bzpeer.sessions.migrations.0002_copy_live_sessions")
    user = make_user()
    old = DjangoSessionStore()
    old[SESSION_KEY] = str(user.pk)
    old[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    old[HASH_SESSION_KEY] = user.get_session_auth_hash()
    old.create()
    expired = DjangoSessionStore()
    expired[SESSION_KEY] = str(user.pk)
    expired.create()
    type(expired).get_model_class().objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert not Session.objects.filter(session_key=old.session_key).exists()
    migration.copy_live_sessions(apps, None)
    moved = Session.objects.get(session_key=old.session_key)
    assert moved.user_id == user.pk
    assert not Session.objects.filter(session_key=expired.session_key).exists()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = str(old.session_key)
    assert signed_in(client)
