import re
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from works import email_domains
from works.models import Author, Authorship, Institution, Source, Topic, Work


class EmailDomainsField(forms.CharField):
    """Domains separated by commas, spaces or lines; each checked by works.email_domains.

    Every bad entry is reported at once; a free-mail or shared host is refused
    with the reason, since an address there would count as institutional.
    """

    widget = forms.Textarea(attrs={"rows": 2, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        domains: list[str] = []
        errors: list[ValidationError] = []
        for entry in re.split(r"[\s,;]+", text):
            if not entry:
                continue
            try:
                domain = email_domains.clean(entry)
            except ValidationError as error:
                errors.append(error)
            else:
                if domain not in domains:
                    domains.append(domain)
        if errors:
            raise ValidationError(errors)
        return domains


class InstitutionAdminForm(forms.ModelForm):
    email_domains = EmailDomainsField(
        required=False,
        help_text="Where the institution's own email addresses end, e.g. umich.edu, "
        "med.umich.edu (a subdomain counts too). Free-mail and shared hosts are refused. "
        "A domain taken out here is never added back by an import.",
    )

    def save(self, commit: bool = True) -> Institution:
        """A domain staff take out is remembered so that imports leave it out; typing it
        back in forgets that."""
        institution = super().save(commit=False)
        kept = set(institution.email_domains)
        removed = set(self.initial.get("email_domains") or []) - kept
        institution.email_domains_refused = sorted(
            (set(institution.email_domains_refused) | removed) - kept
        )
        if commit:
            institution.save()
        return institution

    class Meta:
        model = Institution
        fields = [
            "display_name",
            "openalex_id",
            "ror",
            "country_code",
            "type",
            "email_domains",
            "is_synthetic",
        ]


class AuthorshipInline(admin.TabularInline):
    model = Authorship
    extra = 0
    raw_id_fields = ["author", "work", "status_changed_by"]
    filter_horizontal = ["institutions"]
    fields = ["position", "author", "work", "raw_author_name", "origin", "status"]
    ordering = ["position"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    """Staff correct email domains here. No cached page shows them (the researcher
    pages do not; the institution page and the claim form are built per request)."""

    form = InstitutionAdminForm
    readonly_fields = ["email_domains_refused"]
    list_display = ["display_name", "ror", "openalex_id", "country_code", "type", "is_synthetic"]
    list_filter = ["country_code", "type", "is_synthetic"]
    search_fields = ["display_name", "ror", "openalex_id", "email_domains"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["display_name", "openalex_id", "field", "domain", "is_synthetic"]
    list_filter = ["domain", "field", "is_synthetic"]
    search_fields = ["display_name", "openalex_id"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["display_name", "openalex_id", "type", "issn_l", "is_synthetic"]
    list_filter = ["type", "is_synthetic"]
    search_fields = ["display_name", "openalex_id", "issn_l"]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "openalex_id",
        "orcid",
        "last_known_institution",
        "works_count",
        "is_synthetic",
    ]
    list_filter = ["is_synthetic", "open_to_collaborate"]
    list_select_related = ["last_known_institution"]
    search_fields = ["display_name", "openalex_id", "orcid"]
    raw_id_fields = ["last_known_institution", "merged_into"]


@admin.register(Work)
class WorkAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "type",
        "publication_year",
        "source",
        "doi",
        "arxiv_id",
        "is_synthetic",
    ]
    list_filter = ["type", "publication_year", "is_synthetic"]
    list_select_related = ["source"]
    search_fields = ["title", "openalex_id", "doi", "arxiv_id"]
    raw_id_fields = ["source"]
    inlines = [AuthorshipInline]


@admin.register(Authorship)
class AuthorshipAdmin(admin.ModelAdmin):
    list_display = ["work", "author", "position", "origin", "status"]
    list_filter = ["origin", "status"]
    list_select_related = ["work", "author"]
    search_fields = ["raw_author_name", "author__display_name", "work__title"]
    raw_id_fields = ["work", "author", "status_changed_by"]
    filter_horizontal = ["institutions"]
