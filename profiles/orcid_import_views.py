"""'Bring in my ORCID works': the owner's button, and the run's status (page or polled fragment).

A module of its own beside profiles.views, as profiles.duplicate_views is.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from bzpeer import ratelimit
from bzpeer.http import AuthenticatedHttpRequest
from profiles import orcid_imports
from profiles.models import Claim, OrcidImportRun
from profiles.views import _get_author_for_page
from works.models import Author

TEMPLATE = "profiles/orcid_import.html"
NOT_PROVEN = "Only the owner of this record, with its ORCID iD proven by ORCID sign-in, imports it."
WORKS_ARRIVED = "orcid-works-arrived"
TOO_MANY = "Too many imports asked for: wait an hour and try again."


def _get_author_for_orcid_owner(request: AuthenticatedHttpRequest, author_id: int) -> Author:
    """The record whose approved claim is this user's and proved its ORCID iD; 404 otherwise."""
    author = _get_author_for_page(author_id)
    if (
        not author.orcid
        or not Claim.objects.filter(
            author=author, claimant=request.user, state=Claim.State.APPROVED, orcid_verified=True
        ).exists()
    ):
        raise Http404(NOT_PROVEN)
    return author


def _render(
    request: AuthenticatedHttpRequest,
    author_id: int,
    author: Author | None,
    run: OrcidImportRun | None,
    *,
    note: str = "",
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {"author_id": author_id, "author": author, "run": run, "note": note}
    if request.htmx:
        response: HttpResponse = render(request, TEMPLATE + "#status", context, status=status)
        # A run seen finishing (by the poll, or a press run in-process), not the
        # page's first look at an old one: the page's works list reloads itself.
        seen_finishing = request.method == "POST" or "poll" in request.GET
        if seen_finishing and run is not None and run.status == OrcidImportRun.Status.DONE:
            trigger_client_event(response, WORKS_ARRIVED)
        if status == 200 and (run is None or not run.live) and request.method == "GET":
            # The poll has its answer: htmx swaps it in and stops asking.
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def orcid_import(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    """GET: the latest run's status; POST: start a run (one at a time per record)."""
    if request.method != "POST" and request.htmx:
        # The poll: one indexed query, which also keeps the status to the person who pressed.
        run = (
            OrcidImportRun.objects.filter(author_id=author_id, requested_by=request.user)
            .order_by("-created_at", "-id")
            .first()
        )
        return _render(request, author_id, None, run)
    author = _get_author_for_orcid_owner(request, author_id)
    if request.method != "POST":
        return _render(
            request, author.pk, author, orcid_imports.orcid_import_latest(author_id=author.pk)
        )
    if ratelimit.limit_exceeded(request, action="orcid_import"):
        return _render(
            request,
            author.pk,
            author,
            orcid_imports.orcid_import_latest(author_id=author.pk),
            note=TOO_MANY,
            status=429,
        )
    try:
        run = orcid_imports.orcid_import_request(user=request.user, author=author)
    except orcid_imports.OrcidImportBusy as busy:
        return _render(request, author.pk, author, busy.run, note=orcid_imports.BUSY, status=409)
    if request.htmx:
        return _render(request, author.pk, author, run)
    return redirect("profiles:orcid_import", author_id=author.pk)
