"""allauth's account adapter, with its mail going through the outbox."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site

from outbox import services as outbox


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """As allauth's, but queued: a mail server or broker that is away never fails sign-up."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        outbox.email_queue_message(message=self.render_mail(template_prefix, email, ctx))
