"""allauth's social sign-in, answering clearly for a provider that this server has no app for."""

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.http import HttpRequest
from django.shortcuts import render

PROVIDER_NAMES = {"orcid": "ORCID"}
SIGN_IN_URLS = {"orcid": ("orcid_login", "orcid_callback")}


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_provider(self, request: HttpRequest, provider: str, client_id: Any = None) -> Any:
        """The provider, or a 404 page saying it is not set up (allauth raises, answering 500).

        ORCID's log-in and callback URLs exist whether or not ORCID_CLIENT_ID is set.
        """
        try:
            return super().get_provider(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            # Elsewhere (the connections page listing an account linked while
            # the provider was set up) allauth copes with the missing app.
            match = getattr(request, "resolver_match", None)
            if match is None or match.url_name not in SIGN_IN_URLS.get(provider, ()):
                raise
            page = render(
                request,
                "socialaccount/provider_unavailable.html",
                {"provider_name": PROVIDER_NAMES.get(provider, provider)},
                status=404,
            )
            raise ImmediateHttpResponse(page) from None
