"""Claims in the Django admin: read-only evidence, decisions only through the services.

The admin never edits a claim's state field directly; its actions call the
same services as /staff/claims/, so the conditional updates, the audit log and
the emails are the same whichever door staff use.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from profiles import services
from profiles.models import Claim, ClaimEvent, EmailCode, Follow, ProfileSettings


class ClaimEventInline(admin.TabularInline):
    model = ClaimEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "actor", "reason"]
    readonly_fields = ["created_at", "action", "actor", "reason"]
    ordering = ["created_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The claimant reads it in the email and on the claim's page.",
    )


def _decide_with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Claim],
    *,
    action: str,
    verb: str,
) -> HttpResponse | None:
    """An intermediate page asks for the reason, then each claim goes through the service."""
    service = services.claim_reject if action == "reject" else services.claim_revoke
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        _apply(modeladmin, request, queryset, service, verb, reason=form.cleaned_data["reason"])
        return None
    return render(
        request,
        "profiles/admin_claim_reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": f"{verb.capitalize()} {queryset.count()} claim(s)",
            "claims": queryset,
            "form": form,
            "action": f"{action}_claims",
            "verb": verb,
            "opts": modeladmin.model._meta,
        },
    )


def _apply(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Claim],
    service: Callable[..., Claim],
    verb: str,
    **kwargs: str,
) -> None:
    done = 0
    for claim in queryset.order_by("created_at", "id"):
        try:
            service(claim=claim, staff=request.user, **kwargs)
        except services.ClaimError as error:
            modeladmin.message_user(request, f"Claim {claim.pk}: {error}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} claim(s) {verb}.", messages.SUCCESS)


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "author",
        "claimant",
        "state",
        "contested",
        "checks_passed",
        "created_at",
        "decided_at",
    ]
    list_filter = ["state", "contested", "checks_passed"]
    list_select_related = ["author", "claimant"]
    search_fields = ["author__display_name", "claimant__email", "email", "orcid"]
    ordering = ["created_at", "id"]
    inlines = [ClaimEventInline]
    actions = ["approve_claims", "reject_claims", "revoke_claims"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Claim._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Approve selected claims", permissions=["change"])
    def approve_claims(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        _apply(self, request, queryset, services.claim_approve, "approved")

    @admin.action(description="Reject selected claims (asks for a reason)", permissions=["change"])
    def reject_claims(self, request: HttpRequest, queryset: QuerySet[Claim]) -> HttpResponse | None:
        return _decide_with_reason(self, request, queryset, action="reject", verb="rejected")

    @admin.action(description="Revoke selected claims (asks for a reason)", permissions=["change"])
    def revoke_claims(self, request: HttpRequest, queryset: QuerySet[Claim]) -> HttpResponse | None:
        return _decide_with_reason(self, request, queryset, action="revoke", verb="revoked")


@admin.register(EmailCode)
class EmailCodeAdmin(admin.ModelAdmin):
    list_display = ["address", "user", "author", "created_at", "expires_at", "used_at", "attempts"]
    list_select_related = ["user", "author"]
    search_fields = ["address", "user__email"]
    # The code exists only as a keyed hash; nothing here can reveal or change it.
    exclude = ["code_hash"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in EmailCode._meta.fields if f.name != "code_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ProfileSettings)
class ProfileSettingsAdmin(admin.ModelAdmin):
    list_display = ["author", "open_to_collaborate", "updated_by", "updated_at"]
    raw_id_fields = ["author", "updated_by"]
    search_fields = ["author__display_name"]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["user", "author", "created_at"]
    raw_id_fields = ["user", "author"]
