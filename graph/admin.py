from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from graph import services
from graph.models import GraphSlice


@admin.register(GraphSlice)
class GraphSliceAdmin(admin.ModelAdmin):
    list_display = [
        "author",
        "status",
        "algorithm_version",
        "attempts",
        "build_ms",
        "computed_at",
        "checked_at",
        "updated_at",
    ]
    list_filter = ["status", "algorithm_version"]
    search_fields = ["author__display_name", "=author__id"]
    raw_id_fields = ["author"]
    list_select_related = ["author"]
    exclude = ["data", "explorer_data"]
    readonly_fields = [
        f.name for f in GraphSlice._meta.get_fields() if f.name not in {"data", "explorer_data"}
    ]
    actions = ["rebuild"]

    @admin.action(description="Rebuild the selected graph slices")
    def rebuild(self, request: HttpRequest, queryset: QuerySet[GraphSlice]) -> None:
        queued = services.slices_queue(author_ids=queryset.values_list("author_id", flat=True))
        self.message_user(request, f"{queued} slice(s) queued.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
