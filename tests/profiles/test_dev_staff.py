"""`ensure_dev_staff`: a staff log-in (password and second factor) printed once in development,
never in production."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.mfa import totp_code

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("ensure_dev_staff", stdout=out)
    return out.getvalue()


def printed(output: str, label: str) -> str:
    return output.split(label)[1].split()[0]


def test_creates_a_staff_account_once_and_prints_its_log_in_once(client, settings):
    settings.DEBUG = True
    first = run()
    password, secret = printed(first, "password:"), printed(first, "TOTP secret:")
    assert "staff@bzpeer.localhost" in first
    assert f"otpauth://totp/staff%40bzpeer.localhost?secret={secret}&issuer=BZPEER" in first
    user = get_user_model().objects.get(email="staff@bzpeer.localhost")
    assert user.is_staff and user.check_password(password)
    assert EmailAddress.objects.filter(user=user, verified=True, primary=True).exists()

    second = run()
    assert password not in second and secret not in second
    assert "A staff account exists" in second
    assert get_user_model().objects.filter(is_staff=True).count() == 1

    response = client.post(
        "/accounts/login/", {"login": "staff@bzpeer.localhost", "password": password}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert client.get("/staff/claims/").status_code == 200


def test_a_printed_recovery_code_stands_in_for_the_authenticator_app(client, settings):
    settings.DEBUG = True
    output = run()
    codes = output.split("recovery codes (each works once):")[1].split()[:10]
    assert len(set(codes)) == 10 and all(code.isdigit() for code in codes)
    client.post(
        "/accounts/login/",
        {"login": "staff@bzpeer.localhost", "password": printed(output, "password:")},
    )
    client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert client.get("/staff/claims/").status_code == 200


def test_an_older_dev_staff_account_without_totp_gets_one_printed(settings):
    settings.DEBUG = True
    user = get_user_model().objects.create_superuser("staff", "staff@bzpeer.localhost", "x")
    output = run()
    assert "A staff account exists" in output
    assert "TOTP secret:" in output
    assert user.authenticator_set.filter(type="totp").exists()
    assert "TOTP secret:" not in run()


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
