"""The site's allauth account adapter and sign-up form.

Log-in failures lock per account and address; mail goes through the outbox and
greets the person by name.
"""

from typing import Any
from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.core import context as allauth_context
from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest

from bzpeer import ratelimit
from bzpeer.http import safe_next
from bzpeer.outbox import services as outbox


def person_name(user: AbstractBaseUser | None, email: str = "") -> str:
    """What mail and pages call a person: the name they gave, else their address up to the @."""
    name = getattr(user, "get_full_name", lambda: "")().strip()
    if name:
        return name
    address = email or getattr(user, "email", "")
    return address.partition("@")[0] or getattr(user, "username", "") or "there"


class SignupForm(forms.Form):
    """allauth's sign-up form with an optional name (ACCOUNT_SIGNUP_FORM_CLASS).

    The field is called first_name so that allauth's adapter stores it with the
    new account; it holds the whole name, as get_full_name() then reads it.
    """

    first_name = forms.CharField(
        label="Your name",
        max_length=150,
        required=False,
        help_text="Optional: how we greet you in our emails.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    field_order = ["first_name", "email", "password1", "password2"]

    def signup(self, request: HttpRequest, user: AbstractBaseUser) -> None:
        """Nothing more to store: allauth saved the name with the account."""


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys login_failed's per-key rule (5 failures in 5 minutes)
        # by the account alone, so anyone could lock a researcher out by typing
        # wrong passwords for their email. Keyed by account and address, a
        # stranger locks out only themselves; the per-IP rule still stops one
        # address from guessing at many accounts.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{ratelimit.client_address(request)}"

    def get_email_confirmation_url(
        self, request: HttpRequest, emailconfirmation: EmailConfirmation
    ) -> str:
        """allauth's link, carrying the page the person signed up from (`next`).

        allauth returns there after the confirmation only while the sign-up's
        pending log-in is in the session: not when the link is opened in
        another browser (a phone's mail app) or more than 15 minutes later.
        Only a path on this site is carried; the confirmation view checks it
        again when it redirects.
        """
        url = super().get_email_confirmation_url(request, emailconfirmation)
        if request is None:
            return url
        next_url = safe_next(request, request.POST, "") or safe_next(request, request.GET, "")
        if next_url.startswith("/") and not next_url.startswith("//"):
            url += "?" + urlencode({"next": next_url})
        return url

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """As allauth's, but queued: a mail server or broker that is away never fails sign-up.

        The mail greets the account's person; some of allauth's mails (an
        account already exists, a reset for an unknown address) name none.
        """
        request = allauth_context.request
        site = get_current_site(request)
        # Without the Sites framework the site is named by the request's host.
        site.name = settings.SITE_NAME
        user = context.get("user")
        if user is None:
            address = EmailAddress.objects.filter(email__iexact=email).select_related("user")
            user = next((row.user for row in address[:1]), None)
        ctx = {
            "request": request,
            "email": email,
            "current_site": site,
            "site_name": settings.SITE_NAME,
            "person_name": person_name(user, email),
        }
        ctx.update(context)
        outbox.email_queue_message(message=self.render_mail(template_prefix, email, ctx))
