"""In development, make sure a staff account exists to review claims with.

`make run` calls this. With DEBUG on and no staff user yet, it creates
staff@bzpeer.localhost with a random password and a TOTP authenticator (staff
pages need a second factor, bzpeer.staff) and prints the log-in once: the
password, the TOTP secret (and its otpauth:// link for an authenticator app)
and ten single-use recovery codes. Only a hash of the password is stored, so it
can never be printed again (reset it with `manage.py changepassword`). A
staff@bzpeer.localhost made before staff needed TOTP gets one, printed the
same way. With DEBUG off it refuses and changes nothing, so a production
database never gets a known account.
"""

import secrets
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEV_STAFF_EMAIL = "staff@bzpeer.localhost"


def _add_second_factor(user: AbstractBaseUser) -> str:
    """TOTP plus recovery codes, as allauth's set-up pages make them; returns what to print."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).get_unused_codes()
    return (
        f"  TOTP secret: {secret}\n"
        f"    (add it to an authenticator app: {get_mfa_adapter().build_totp_url(user, secret)}\n"
        f"    or print the current code with `oathtool --totp -b {secret}`)\n"
        "  recovery codes (each works once): " + " ".join(codes) + "\n"
    )


class Command(BaseCommand):
    help = "Development only: create a staff account if none exists and print its log-in once."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "ensure_dev_staff runs only in development (DEBUG on); it never creates "
                "accounts in production. Create staff there with `manage.py createsuperuser`."
            )
        User = get_user_model()
        with transaction.atomic():
            if User.objects.filter(is_staff=True).exists():
                self.stdout.write(
                    "A staff account exists; its log-in was printed when it was made."
                )
                older = User.objects.filter(is_staff=True, email__iexact=DEV_STAFF_EMAIL).first()
                if (
                    older
                    and not Authenticator.objects.filter(
                        user=older, type=Authenticator.Type.TOTP
                    ).exists()
                ):
                    self.stdout.write(
                        self.style.SUCCESS(
                            f"Staff pages now need a second factor; {DEV_STAFF_EMAIL} got one "
                            "(printed once, keep it):\n" + _add_second_factor(older)
                        )
                    )
                return
            if User.objects.filter(email__iexact=DEV_STAFF_EMAIL).exists():
                raise CommandError(
                    f"{DEV_STAFF_EMAIL} exists but is not staff; not promoting it. "
                    "Make a staff account with `manage.py createsuperuser`."
                )
            username = "staff"
            if User.objects.filter(username=username).exists():
                username = f"staff-{secrets.token_hex(3)}"
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(
                username=username, email=DEV_STAFF_EMAIL, password=password
            )
            # allauth's mandatory verification would otherwise stop the log-in.
            EmailAddress.objects.create(
                user=user, email=DEV_STAFF_EMAIL, verified=True, primary=True
            )
            second_factor = _add_second_factor(user)
        self.stdout.write(
            self.style.SUCCESS(
                "Development staff account (printed once, keep it):\n"
                f"  email:    {DEV_STAFF_EMAIL}\n"
                f"  password: {password}\n"
                f"{second_factor}"
                "  log in at /accounts/login/, then give a code from the app (or a recovery\n"
                "  code); review claims at /staff/claims/ and in /admin/"
            )
        )
