from django.contrib import admin

from works.models import Author, Authorship, Institution, Source, Topic, Work


class AuthorshipInline(admin.TabularInline):
    model = Authorship
    extra = 0
    raw_id_fields = ["author", "work", "status_changed_by"]
    filter_horizontal = ["institutions"]
    fields = ["position", "author", "work", "raw_author_name", "origin", "status"]
    ordering = ["position"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
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
