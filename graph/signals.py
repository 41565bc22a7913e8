"""Recompute slices when an import changed the records they are built from."""

from typing import Any

from django.dispatch import receiver

from graph import services
from works.signals import authors_changed


@receiver(authors_changed)
def queue_changed_authors(sender: Any, author_ids: list[int], **kwargs: Any) -> None:
    services.slices_queue(author_ids=author_ids)
