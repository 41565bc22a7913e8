import time

from django.core.management.base import BaseCommand

from profiles.duplicates import duplicate_suggestions_refresh


class Command(BaseCommand):
    help = (
        "Find author records that are likely one person (a shared ORCID iD; the same name "
        "with a shared co-author or institution) and refresh the staff's open suggestions. "
        "Dismissed suggestions stay dismissed."
    )

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        result = duplicate_suggestions_refresh()
        self.stdout.write(
            f"{result.found} likely duplicate pairs: {result.created} new, "
            f"{result.updated} updated, {result.removed} no longer found "
            f"({time.perf_counter() - started:.2f} s)"
        )
