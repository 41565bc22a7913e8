"""In development, make sure a staff account exists to review claims with.

`make run` calls this. With DEBUG on and no staff user yet, it creates
staff@bzpeer.localhost with a random password and prints the log-in once:
only a hash is stored, so it can never be printed again (reset it with
`manage.py changepassword`). With DEBUG off it refuses and changes nothing, so
a production database never gets a known account.
"""

import secrets
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEV_STAFF_EMAIL = "staff@bzpeer.localhost"


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
        self.stdout.write(
            self.style.SUCCESS(
                "Development staff account (printed once, keep it):\n"
                f"  email:    {DEV_STAFF_EMAIL}\n"
                f"  password: {password}\n"
                "  review claims at /staff/claims/ and in /admin/"
            )
        )
