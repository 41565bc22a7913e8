"""The site's allauth account adapter.

Log-in failures lock per account and address; mail goes through the outbox.
"""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest

from bzpeer import ratelimit
from bzpeer.outbox import services as outbox


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys login_failed's per-key rule (5 failures in 5 minutes)
        # by the account alone, so anyone could lock a researcher out by typing
        # wrong passwords for their email. Keyed by account and address, a
        # stranger locks out only themselves; the per-IP rule still stops one
        # address from guessing at many accounts.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{ratelimit.client_address(request)}"

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """As allauth's, but queued: a mail server or broker that is away never fails sign-up."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        outbox.email_queue_message(message=self.render_mail(template_prefix, email, ctx))
