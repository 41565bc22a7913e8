"""Duplicate records: the staff queue (/staff/merges/) and the owner's "also me" request.

A module of its own beside profiles.views (already the largest module): the
merge and split pages another change adds go here too.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from bzpeer import ratelimit, staff
from bzpeer.http import AuthenticatedHttpRequest
from profiles import duplicates
from profiles.forms import DuplicateDismissForm, DuplicateRequestForm
from profiles.models import DuplicateSuggestion
from profiles.views import _get_author_for_owner

STATES = {state.value: state.label for state in DuplicateSuggestion.State}


def _get_suggestion_for_staff(request: HttpRequest, suggestion_id: int) -> DuplicateSuggestion:
    staff.require_staff(request)
    return get_object_or_404(
        DuplicateSuggestion.objects.select_related("requested_by", "decided_by"),
        pk=suggestion_id,
    )


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@require_safe
def staff_merges(request: HttpRequest) -> HttpResponse:
    staff.require_staff(request)
    state = request.GET.get("state", DuplicateSuggestion.State.OPEN)
    if state not in STATES:
        return _bad_request("“state” is one of: " + ", ".join(STATES) + ".")
    after = None
    if "after" in request.GET:
        try:
            after = duplicates.QueueCursor.parse(request.GET["after"])
        except ValueError as error:
            return _bad_request(str(error))
    page = duplicates.duplicate_queue_page(state=state, after=after)
    facts = duplicates.duplicate_record_facts(
        author_ids={pk for s in page.suggestions for pk in (s.author_low_id, s.author_high_id)}
    )
    return render(
        request,
        "staff/merges.html",
        {
            "rows": [
                (s, facts.get(s.author_low_id), facts.get(s.author_high_id))
                for s in page.suggestions
            ],
            "state": state,
            "states": STATES,
            "after": after,
            "next_after": page.next_after,
        },
    )


def _detail_context(suggestion: DuplicateSuggestion, form: DuplicateDismissForm) -> dict:
    facts = duplicates.duplicate_record_facts(
        author_ids={suggestion.author_low_id, suggestion.author_high_id}
    )
    return {
        "suggestion": suggestion,
        "low": facts.get(suggestion.author_low_id),
        "high": facts.get(suggestion.author_high_id),
        "form": form,
    }


@require_safe
def staff_merge_detail(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    suggestion = _get_suggestion_for_staff(request, suggestion_id)
    return render(
        request, "staff/merge_detail.html", _detail_context(suggestion, DuplicateDismissForm())
    )


@require_POST
def staff_merge_dismiss(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    suggestion = _get_suggestion_for_staff(request, suggestion_id)
    reviewer = staff.require_staff(request)
    form = DuplicateDismissForm(request.POST)
    if not form.is_valid():
        return render(
            request, "staff/merge_detail.html", _detail_context(suggestion, form), status=400
        )
    if duplicates.duplicate_dismiss(
        suggestion=suggestion, staff=reviewer, note=form.cleaned_data["note"]
    ):
        messages.success(request, f"Suggestion {suggestion.pk} dismissed.")
    else:
        messages.info(request, f"Suggestion {suggestion.pk} was already decided.")
    return redirect("profiles:staff_merge_detail", suggestion_id=suggestion.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def duplicate_request(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    """ "These records are also me": the owner names another record for staff to merge."""
    author = _get_author_for_owner(request, author_id)
    template = "profiles/duplicate_request.html"
    if request.method in ("GET", "HEAD"):
        return render(request, template, {"author": author, "form": DuplicateRequestForm()})
    form = DuplicateRequestForm(request.POST)
    if ratelimit.limit_exceeded(request, action="duplicate_request"):
        form.is_valid()
        form.add_error(None, "Too many requests: wait an hour and try again.")
        return render(request, template, {"author": author, "form": form}, status=429)
    if not form.is_valid():
        return render(request, template, {"author": author, "form": form}, status=400)
    try:
        suggestion = duplicates.duplicate_request(
            user=request.user,
            author=author,
            other_id=form.cleaned_data["other"],
            reason=form.cleaned_data["reason"],
        )
    except duplicates.DuplicateRequestError as error:
        form.add_error("other", str(error))
        return render(request, template, {"author": author, "form": form}, status=400)
    if suggestion.staff_note:
        messages.info(
            request,
            f"{suggestion.staff_note} Your request went to staff with a note saying so.",
        )
    else:
        messages.success(request, "Your request is with staff: they compare the two records.")
    return redirect("profiles:researcher_detail", author_id=author.pk)
