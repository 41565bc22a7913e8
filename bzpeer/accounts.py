"""The site's allauth account adapter."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from bzpeer import ratelimit


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys login_failed's per-key rule (5 failures in 5 minutes)
        # by the account alone, so anyone could lock a researcher out by typing
        # wrong passwords for their email. Keyed by account and address, a
        # stranger locks out only themselves; the per-IP rule still stops one
        # address from guessing at many accounts.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{ratelimit.client_address(request)}"
