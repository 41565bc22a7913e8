"""Staff log-ins with a second factor, for tests: staff pages open only to such sessions.

`force_login_with_totp` is `client.force_login` plus what allauth writes into
the session when a person signs in with a password and then a TOTP code
(its authentication records), so staff tests need not walk the log-in pages.
`totp_code` computes the code an authenticator app would show, with allauth's
own TOTP functions, for tests that do walk them.
"""

import time

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.utils import decrypt
from django.test import Client, RequestFactory


def add_totp(user) -> str:
    """Give `user` a TOTP authenticator (as if set up in an app); returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_secret(user) -> str:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def totp_code(secret: str, *, periods_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or `periods_ahead` periods later)."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD + periods_ahead
    return format_hotp_value(hotp_value(secret, counter))


def force_login_with_totp(client: Client, user) -> None:
    """Log `user` in as after a password and a TOTP code; gives them TOTP if they lack it."""
    authenticator = (
        Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        or TOTP.activate(user, generate_totp_secret()).instance
    )
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, user, "password", email=user.email)
    record_authentication(request, user, "mfa", type=authenticator.type, id=authenticator.pk)
    request.session.save()
