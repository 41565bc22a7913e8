"""Who may use staff pages (/staff/..., the Django admin): staff whose session used a second factor.

`staff_access` is the one place that decides; the staff views (through
`require_staff`) and the admin site (`StaffAdminSite.has_permission`) both
ask it. Staff sign in through the site's own log-in, which is rate-limited
and asks for the TOTP code (allauth.mfa); the admin has no password form of
its own. A staff account without TOTP, or a session that did not use it,
gets a page saying what to do instead of the staff data.
"""

import enum
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRefresh

from bzpeer.http import safe_next


class StaffAccess(enum.Enum):
    NOT_STAFF = "not staff"
    NEEDS_SETUP = "staff without an authenticator"
    NEEDS_CODE = "staff whose session did not use their authenticator"
    GRANTED = "granted"


def staff_access(request: HttpRequest) -> StaffAccess:
    user = request.user
    if not (user.is_active and user.is_staff):
        return StaffAccess.NOT_STAFF
    if not Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists():
        return StaffAccess.NEEDS_SETUP
    # allauth records each step of this session's sign-in (and of any later
    # re-authentication); "mfa" is a TOTP or recovery code.
    records = get_authentication_records(request, user)
    if not any(record.get("method") == "mfa" for record in records):
        return StaffAccess.NEEDS_CODE
    return StaffAccess.GRANTED


def require_staff(request: HttpRequest) -> AbstractBaseUser:
    """The staff member behind the request: 404 for everyone but staff, so staff
    pages are not advertised; staff without a second factor in this session get
    the page that says how to add one."""
    access = staff_access(request)
    if access is StaffAccess.NOT_STAFF:
        raise Http404("No such page.")
    if access is not StaffAccess.GRANTED:
        # allauth's AccountMiddleware answers with this response.
        raise ImmediateHttpResponse(_second_factor_page(request, access))
    assert isinstance(request.user, AbstractBaseUser)
    return request.user


def _second_factor_page(request: HttpRequest, access: StaffAccess) -> HttpResponse:
    if getattr(request, "htmx", False):
        # A fragment swap would hide the explanation: reload the page, which shows it.
        return HttpResponseClientRefresh()
    here = request.get_full_path() if request.method == "GET" else reverse("profiles:staff_claims")
    return render(
        request,
        "staff/second_factor.html",
        {
            "needs_setup": access is StaffAccess.NEEDS_SETUP,
            "confirm_url": f"{reverse('mfa_reauthenticate')}?{urlencode({'next': here}, safe='/')}",
            "here": here,
        },
        status=403,
    )


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return staff_access(request) is StaffAccess.GRANTED

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """No password form here: the site's log-in has the rate limits and the second factor."""
        next_url = safe_next(
            request, request.GET, default=reverse("admin:index", current_app=self.name)
        )
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
        require_staff(request)
        return redirect(next_url)
