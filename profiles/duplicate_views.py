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
from profiles import duplicates, record_operations
from profiles.forms import (
    DuplicateDismissForm,
    DuplicateRequestForm,
    MissingWorkForm,
    RecordMergeForm,
    RecordSplitForm,
    SplitRequestForm,
    WorkMineForm,
)
from profiles.models import DuplicateSuggestion, RecordOperation, SplitRequest
from profiles.views import _get_author_for_owner, _missing_works_render
from works.models import Author

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
    split_requests = (
        list(
            SplitRequest.objects.filter(state=SplitRequest.State.OPEN)
            .select_related("author", "requested_by")
            .order_by("created_at", "id")[: duplicates.QUEUE_PAGE_SIZE]
        )
        if after is None and state == DuplicateSuggestion.State.OPEN
        else []
    )
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
            "split_requests": split_requests,
        },
    )


def _pair(suggestion: DuplicateSuggestion) -> tuple[int, int]:
    return (suggestion.author_low_id, suggestion.author_high_id)


def _detail_context(
    suggestion: DuplicateSuggestion,
    form: DuplicateDismissForm,
    merge_form: RecordMergeForm | None = None,
) -> dict:
    facts = duplicates.duplicate_record_facts(author_ids=set(_pair(suggestion)))
    return {
        "suggestion": suggestion,
        "low": facts.get(suggestion.author_low_id),
        "high": facts.get(suggestion.author_high_id),
        "form": form,
        "merge_form": merge_form or RecordMergeForm(pair=_pair(suggestion)),
    }


@require_safe
def staff_merge_detail(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    suggestion = _get_suggestion_for_staff(request, suggestion_id)
    return render(
        request, "staff/merge_detail.html", _detail_context(suggestion, DuplicateDismissForm())
    )


@require_POST
def staff_merge_do(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    """Merge the pair: the record staff chose survives, the other redirects to it."""
    suggestion = _get_suggestion_for_staff(request, suggestion_id)
    reviewer = staff.require_staff(request)
    form = RecordMergeForm(request.POST, pair=_pair(suggestion))
    if form.is_valid():
        survivor = form.cleaned_data["survivor"]
        (merged,) = set(_pair(suggestion)) - {survivor}
        try:
            operation = record_operations.record_merge(
                staff=reviewer,
                source_id=merged,
                target_id=survivor,
                suggestion=suggestion,
                note=form.cleaned_data["note"],
            )
        except record_operations.RecordOperationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Record {merged} merged into record {survivor} (operation {operation.pk}): "
                "its page now redirects there.",
            )
            return redirect("profiles:staff_merge_detail", suggestion_id=suggestion.pk)
    suggestion.refresh_from_db()
    return render(
        request,
        "staff/merge_detail.html",
        _detail_context(suggestion, DuplicateDismissForm(), form),
        status=400,
    )


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError("“before” is an operation id (a number).")
    return int(raw)


@require_safe
def staff_operations(request: HttpRequest) -> HttpResponse:
    """Every merge and split, newest first, each with its undo."""
    staff.require_staff(request)
    try:
        before = _before(request)
    except ValueError as error:
        return _bad_request(str(error))
    operations, next_before = record_operations.operations_page(before=before)
    return render(
        request,
        "staff/operations.html",
        {"operations": operations, "before": before, "next_before": next_before},
    )


@require_POST
def staff_operation_undo(request: HttpRequest, operation_id: int) -> HttpResponse:
    reviewer = staff.require_staff(request)
    operation = get_object_or_404(RecordOperation, pk=operation_id)
    try:
        record_operations.record_operation_undo(staff=reviewer, operation_id=operation.pk)
    except record_operations.RecordOperationError as error:
        messages.error(request, str(error))
        operations, next_before = record_operations.operations_page(before=None)
        return render(
            request,
            "staff/operations.html",
            {"operations": operations, "before": None, "next_before": next_before},
            status=409,
        )
    messages.success(
        request,
        f"Operation {operation.pk} undone: records {operation.source_id} and "
        f"{operation.target_id} are as they were before it.",
    )
    return redirect("profiles:staff_operations")


def _split_context(
    author: Author, candidates: list, form: RecordSplitForm, split_request: SplitRequest | None
) -> dict:
    return {
        "author": author,
        "candidates": candidates,
        "form": form,
        "split_request": split_request,
    }


def _open_split_request(request: HttpRequest, author: Author) -> SplitRequest | None:
    raw = request.GET.get("request") or request.POST.get("request") or ""
    if not raw.isdigit() or len(raw) > 18:
        return None
    return (
        SplitRequest.objects.select_related("requested_by", "target")
        .filter(pk=int(raw), author=author)
        .first()
    )


@require_http_methods(["GET", "HEAD", "POST"])
def staff_split(request: HttpRequest, author_id: int) -> HttpResponse:
    """Staff move chosen works of a record to a new record or an existing one."""
    reviewer = staff.require_staff(request)
    author = get_object_or_404(Author, pk=author_id)
    if author.merged_into_id is not None:
        messages.info(request, f"Record {author.pk} was merged into this one: split here.")
        return redirect("profiles:staff_split", author_id=author.merged_into_id)
    split_request = _open_split_request(request, author)
    candidates = record_operations.split_candidates(author=author)
    work_ids = [a.work_id for a in candidates]
    if request.method in ("GET", "HEAD"):
        initial: dict = (
            {"works": split_request.work_ids, "request": split_request.pk} if split_request else {}
        )
        if split_request and split_request.target_id:
            # "This is mine": the requester's record is where they asked the works to go.
            initial.update(
                destination=RecordSplitForm.EXISTING, target=str(split_request.target_id)
            )
        form = RecordSplitForm(initial=initial, work_ids=work_ids)
        return render(
            request, "staff/split.html", _split_context(author, candidates, form, split_request)
        )
    form = RecordSplitForm(request.POST, work_ids=work_ids)
    if form.is_valid():
        try:
            operation = record_operations.record_split(
                staff=reviewer,
                author_id=author.pk,
                work_ids=form.cleaned_data["works"],
                target_id=form.cleaned_data["target"],
                request=split_request,
                note=form.cleaned_data["note"],
            )
        except record_operations.RecordOperationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"{len(form.cleaned_data['works'])} work(s) moved from record {author.pk} to "
                f"record {operation.target_id} (operation {operation.pk}).",
            )
            return redirect("profiles:staff_operations")
    return render(
        request,
        "staff/split.html",
        _split_context(author, candidates, form, split_request),
        status=400,
    )


@require_POST
def staff_split_request_dismiss(request: HttpRequest, request_id: int) -> HttpResponse:
    reviewer = staff.require_staff(request)
    split_request = get_object_or_404(SplitRequest, pk=request_id)
    if record_operations.split_request_dismiss(request=split_request, staff=reviewer):
        messages.success(request, f"Split request {split_request.pk} dismissed.")
    else:
        messages.info(request, f"Split request {split_request.pk} was already decided.")
    return redirect("profiles:staff_merges")


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


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def split_request(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    """The owner ticks works on their record that are another person's, for staff to split off."""
    author = _get_author_for_owner(request, author_id)
    template = "profiles/split_request.html"
    candidates = record_operations.split_candidates(author=author)
    work_ids = [a.work_id for a in candidates]
    context = {"author": author, "candidates": candidates}
    if request.method in ("GET", "HEAD"):
        return render(request, template, {**context, "form": SplitRequestForm(work_ids=work_ids)})
    form = SplitRequestForm(request.POST, work_ids=work_ids)
    if ratelimit.limit_exceeded(request, action="split_request"):
        form.is_valid()
        form.add_error(None, "Too many requests: wait an hour and try again.")
        return render(request, template, {**context, "form": form}, status=429)
    if form.is_valid():
        try:
            record_operations.split_request_submit(
                user=request.user,
                author=author,
                work_ids=form.cleaned_data["works"],
                reason=form.cleaned_data["reason"],
            )
        except record_operations.RecordOperationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, "Your request is with staff: they move those works to another record."
            )
            return redirect("profiles:researcher_detail", author_id=author.pk)
    return render(request, template, {**context, "form": form}, status=400)


@login_required
@require_POST
def work_mine_request(request: AuthenticatedHttpRequest, author_id: int) -> HttpResponse:
    """ "This is mine": the owner asks staff to move a work on another record to theirs."""
    author = _get_author_for_owner(request, author_id)
    form = WorkMineForm(request.POST)
    if not form.is_valid():
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _work_mine_refused(request, author, error, status=400)
    if ratelimit.limit_exceeded(request, action="split_request"):
        return _work_mine_refused(
            request, author, "Too many requests: wait an hour and try again.", status=429
        )
    try:
        record_operations.work_mine_request(
            user=request.user,
            author=author,
            work_id=form.cleaned_data["work"],
            elsewhere_id=form.cleaned_data["record"],
            reason=form.cleaned_data["reason"],
        )
    except record_operations.RecordOperationError as error:
        return _work_mine_refused(request, author, str(error), status=409)
    messages.success(
        request,
        f"Your request is with staff: they check that work {form.cleaned_data['work']} is yours "
        f"and move it from record {form.cleaned_data['record']} to yours.",
    )
    return redirect("profiles:researcher_detail", author_id=author.pk)


def _work_mine_refused(
    request: AuthenticatedHttpRequest, author: Author, error: str, *, status: int
) -> HttpResponse:
    return _missing_works_render(
        request, author, MissingWorkForm(), status=status, error=f"Nothing was sent. {error}"
    )
