"""Reads over bibliographic records, shaped for the pages that show them."""

from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from works.models import Author, Authorship, Institution, Topic, Work


def author_list_featured(*, limit: int) -> list[Author]:
    """Real researchers first (most works), then generated ones to fill the list."""
    return list(
        Author.objects.filter(merged_into__isnull=True)
        .select_related("last_known_institution")
        .annotate(n_works=Count("authorships"))
        .order_by("is_synthetic", "-n_works", "display_name")[:limit]
    )


def work_list_recent(*, limit: int) -> list[Work]:
    ordered_authorships = Authorship.objects.select_related("author").order_by("position")
    return list(
        Work.objects.select_related("source")
        .prefetch_related(Prefetch("authorships", queryset=ordered_authorships))
        .order_by("is_synthetic", "-publication_year", "-id")[:limit]
    )


def record_counts() -> dict[str, int]:
    return {
        "authors": Author.objects.count(),
        "works": Work.objects.count(),
        "institutions": Institution.objects.count(),
        "topics": Topic.objects.count(),
    }


def work_queryset() -> QuerySet[Work]:
    return Work.objects.select_related("source")


def work_get_for_page(*, work_id: int) -> Work:
    ordered_authorships = Authorship.objects.select_related("author").order_by("position")
    return get_object_or_404(
        Work.objects.select_related("source").prefetch_related(
            Prefetch("authorships", queryset=ordered_authorships)
        ),
        pk=work_id,
    )


def author_get_for_page(*, author_id: int) -> Author:
    return get_object_or_404(
        Author.objects.select_related("last_known_institution", "merged_into"), pk=author_id
    )


def author_works(*, author_id: int, limit: int) -> list[Work]:
    return list(
        Work.objects.filter(authorships__author_id=author_id)
        .select_related("source")
        .order_by("-publication_year", "-publication_date", "-id")[:limit]
    )
