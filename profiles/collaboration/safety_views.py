"""Block and report, beside an invitation or a conversation; the staff side of reports.

The two people of an invitation reach its controls (`_get_invitation_for_party`,
a 404 for anyone else, staff too). Staff reach reports, and through a report
only what was reported, with the second factor (bzpeer.staff.require_staff,
a 404 for everyone else). Every action is a plain form that redirects back,
and with htmx answers the fragment it changed.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from bzpeer import paging, ratelimit, staff
from bzpeer.http import AuthenticatedHttpRequest, HtmxHttpRequest, safe_next
from profiles.collaboration import safety, safety_selectors
from profiles.collaboration.models import Block, Conversation, Invitation, Report
from profiles.collaboration.safety_forms import (
    BlockForm,
    ReportDecisionForm,
    ReportFilterForm,
    ReportForm,
)

PARTIAL = "collaboration/_safety_actions.html"


def _get_invitation_for_party(request: HttpRequest, invitation_id: int) -> Invitation:
    """An invitation's safety controls are its sender's and recipient's only; a 404 for others."""
    invitation = get_object_or_404(
        Invitation.objects.select_related("sender", "recipient", "author"), pk=invitation_id
    )
    if request.user.pk not in (invitation.sender_id, invitation.recipient_id):
        raise Http404("No such invitation.")
    return invitation


def _other_party(invitation: Invitation, request: AuthenticatedHttpRequest) -> Any:
    return invitation.recipient if request.user.pk == invitation.sender_id else invitation.sender


def _conversation_of(invitation: Invitation, wanted: bool) -> Conversation | None:
    """The invitation's conversation when the controls sat on its page."""
    if not wanted:
        return None
    return Conversation.objects.filter(invitation=invitation).first()


def _controls(
    request: AuthenticatedHttpRequest,
    invitation: Invitation,
    conversation: Conversation | None,
    *,
    status: int = 200,
    report_form: ReportForm | None = None,
) -> HttpResponse:
    """The controls fragment again, with what just happened (for htmx)."""
    return render(
        request,
        PARTIAL,
        {
            "invitation": invitation,
            "conversation": conversation,
            "other_user": _other_party(invitation, request),
            "report_form": report_form,
            "next": safe_next(request, request.POST, ""),
        },
        status=status,
    )


@login_required
@require_POST
def block(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    """POST: block or unblock the other person of this invitation (and its conversation)."""
    invitation = _get_invitation_for_party(request, invitation_id)
    conversation = _conversation_of(invitation, bool(request.POST.get("conversation")))
    form = BlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether to block or unblock. Nothing changed.")
        if request.htmx:
            return _controls(request, invitation, conversation, status=400)
        return HttpResponse(
            "Say whether to block or unblock. Nothing changed.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    blocking = form.cleaned_data["action"] == BlockForm.BLOCK
    safety.block_set(
        blocker=request.user, blocked=_other_party(invitation, request), blocking=blocking
    )
    if blocking:
        messages.success(
            request,
            "You blocked this person. You will get no invitations or messages from them, "
            "and they are not told.",
        )
    else:
        messages.success(request, "You unblocked this person. They can write to you again.")
    if request.htmx:
        return _controls(request, invitation, conversation)
    return redirect(safe_next(request, request.POST, reverse("safety:blocked")))


@login_required
@require_safe
def blocked_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "collaboration/safety/blocked.html",
        {"blocks": list(safety_selectors.blocks_made(user=request.user))},
    )


@login_required
@require_POST
def unblock(request: AuthenticatedHttpRequest, blocked_user_id: int) -> HttpResponse:
    """From "People you blocked": only the viewer's own blocks, a 404 for anything else."""
    block_row = get_object_or_404(
        Block.objects.select_related("blocked"), blocker=request.user, blocked_id=blocked_user_id
    )
    safety.block_set(blocker=request.user, blocked=block_row.blocked, blocking=False)
    messages.success(request, "Unblocked. They can invite you and write to you again.")
    if request.htmx:
        return render(
            request,
            "collaboration/safety/blocked.html#blocked-list",
            {"blocks": list(safety_selectors.blocks_made(user=request.user))},
        )
    return redirect("safety:blocked")


def _report_page(
    request: AuthenticatedHttpRequest,
    invitation: Invitation,
    conversation: Conversation | None,
    form: ReportForm,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        "collaboration/safety/report.html",
        {
            "invitation": invitation,
            "conversation": conversation,
            "other_user": _other_party(invitation, request),
            "form": form,
            "error": error,
            "already": Report.objects.filter(reporter=request.user, invitation=invitation).first(),
            "may_report": conversation is not None or invitation.recipient_id == request.user.pk,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def report(request: AuthenticatedHttpRequest, invitation_id: int) -> HttpResponse:
    """GET: the report form on a page of its own. POST: send the report to staff."""
    invitation = _get_invitation_for_party(request, invitation_id)
    if request.method in ("GET", "HEAD"):
        conversation = _conversation_of(invitation, "conversation" in request.GET)
        form = ReportForm(initial={"conversation": conversation is not None})
        return _report_page(request, invitation, conversation, form)

    form = ReportForm(request.POST)
    status, error = 0, ""
    conversation = None
    if ratelimit.limit_exceeded(request, action="report_submit"):
        form.is_valid()
        status, error = 429, "Too many reports sent: wait an hour and try again. Nothing was sent."
    elif not form.is_valid():
        status = 400
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        error += " Nothing was sent."
    else:
        conversation = _conversation_of(invitation, form.cleaned_data["conversation"])
        if form.cleaned_data["conversation"] and conversation is None:
            status, error = 400, "This invitation has no conversation to report. Nothing was sent."
        if not status:
            try:
                safety.report_submit(
                    reporter=request.user,
                    invitation=invitation,
                    conversation=conversation,
                    reason=form.cleaned_data["reason"],
                    details=form.cleaned_data["details"],
                )
            except safety.ReportRefused as refusal:
                status, error = 403, str(refusal)
            except safety.SafetyError as refusal:
                status, error = 400, str(refusal)
    if status:
        if request.htmx:
            messages.error(request, error)
            return _controls(request, invitation, conversation, status=status, report_form=form)
        return _report_page(request, invitation, conversation, form, status=status, error=error)
    messages.success(
        request,
        "Thank you: staff will look at your report. Only staff read it; nobody else is told.",
    )
    if request.htmx:
        return _controls(request, invitation, conversation)
    return redirect(
        safe_next(request, request.POST, reverse("safety:report", args=[invitation.pk]))
    )


# Staff


def _get_report_for_staff(request: HttpRequest, report_id: int) -> Report:
    staff.require_staff(request)
    found = safety_selectors.report_for_staff(report_id=report_id)
    if found is None:
        raise Http404("No such report.")
    return found


STAFF_REPORTS_PER_PAGE = 25


@require_safe
@vary_on_headers("HX-Request")
def staff_reports(request: HtmxHttpRequest) -> HttpResponse:
    staff.require_staff(request)
    form = ReportFilterForm(request.GET)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    page, page_note = paging.page_with_note(
        Paginator(safety_selectors.staff_reports(state=state), STAFF_REPORTS_PER_PAGE),
        request.GET.get("page"),
    )
    template = "staff/reports.html"
    if request.htmx:
        template += "#reports"
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        template,
        {
            "form": form,
            "state": state,
            "page": page,
            "page_note": page_note,
            "query": query.urlencode(),
            "open_count": Report.objects.filter(decision="").count(),
        },
    )


def _report_context(report: Report, form: ReportDecisionForm | None = None) -> dict[str, Any]:
    return {
        "report": report,
        "invitation": report.invitation,
        "messages_read": list(safety_selectors.report_messages(report=report)),
        "history": safety_selectors.reported_history(report=report),
        "form": form or ReportDecisionForm(),
    }


@require_safe
def staff_report_detail(request: HtmxHttpRequest, report_id: int) -> HttpResponse:
    found = _get_report_for_staff(request, report_id)
    return render(request, "staff/report_detail.html", _report_context(found))


@require_POST
def staff_report_decide(request: AuthenticatedHttpRequest, report_id: int) -> HttpResponse:
    found = _get_report_for_staff(request, report_id)
    form = ReportDecisionForm(request.POST)
    status = 200
    if not form.is_valid():
        status = 400
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        try:
            safety.report_decide(
                report=found,
                staff=request.user,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except safety.SafetyError as error:
            status = 409
            messages.error(request, str(error))
        else:
            messages.success(request, f"Report {found.pk}: {found.get_decision_display()}.")
            form = ReportDecisionForm()
    if status == 200 and not request.htmx:
        return redirect("safety:staff_report_detail", report_id=found.pk)
    found = _get_report_for_staff(request, report_id)
    template = "staff/report_detail.html" + ("#decision" if request.htmx else "")
    return render(request, template, _report_context(found, form), status=status)


@require_POST
def staff_suspension_lift(request: AuthenticatedHttpRequest, report_id: int) -> HttpResponse:
    """Lift the reported person's live suspension, whichever report it came from."""
    found = _get_report_for_staff(request, report_id)
    live = safety_selectors.reported_history(report=found).live_suspension
    status = 200
    try:
        if live is None:
            raise safety.SafetyError("This person is not suspended now. Nothing changed.")
        safety.suspension_lift(suspension=live, staff=request.user)
    except safety.SafetyError as error:
        status = 409
        messages.error(request, str(error))
    else:
        messages.success(request, "Suspension lifted: they can invite and write again.")
    if request.htmx or status != 200:
        template = "staff/report_detail.html" + ("#decision" if request.htmx else "")
        return render(request, template, _report_context(found), status=status)
    return redirect("safety:staff_report_detail", report_id=found.pk)
