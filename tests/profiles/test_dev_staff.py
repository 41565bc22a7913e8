"""`ensure_dev_staff`: a staff log-in printed once in development, never in production."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("ensure_dev_staff", stdout=out)
    return out.getvalue()


def test_creates_a_staff_account_once_and_prints_its_log_in_once(client, settings):
    settings.DEBUG = True
    first = run()
    password = first.split("password:")[1].split()[0]
    assert "staff@bzpeer.localhost" in first
    user = get_user_model().objects.get(email="staff@bzpeer.localhost")
    assert user.is_staff and user.check_password(password)
    assert EmailAddress.objects.filter(user=user, verified=True, primary=True).exists()

    second = run()
    assert password not in second and "A staff account exists" in second
    assert get_user_model().objects.filter(is_staff=True).count() == 1

    response = client.post(
        "/accounts/login/", {"login": "staff@bzpeer.localhost", "password": password}
    )
    assert response.status_code == 302
    assert client.get("/staff/claims/").status_code == 200


def test_refuses_in_production_and_creates_nothing(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only in development"):
        call_command("ensure_dev_staff", stdout=StringIO())
    assert not get_user_model().objects.exists()


def test_never_promotes_an_existing_account(settings):
    settings.DEBUG = True
    get_user_model().objects.create_user("someone", "staff@bzpeer.localhost", "x")
    with pytest.raises(CommandError, match="not promoting"):
        call_command("ensure_dev_staff", stdout=StringIO())
    assert not get_user_model().objects.filter(is_staff=True).exists()


def test_refusal_is_a_non_zero_exit_from_the_command_line(settings):
    settings.DEBUG = False
    from profiles.management.commands.ensure_dev_staff import Command

    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "ensure_dev_staff"])
    assert exit_info.value.code != 0
