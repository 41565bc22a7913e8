"""`manage.py build_graph_slices [--all | --missing | --stale | AUTHOR_ID ...] [--queue]`.

Builds in this process by default, with a progress bar; `--queue` sends the
work to the Celery workers instead (in chunks, like imports do).
"""

from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from tqdm import tqdm

from graph import services
from graph.models import GraphSlice
from works.models import Author

BATCH = 1000


class Command(BaseCommand):
    help = "Build (or queue) graph slices: of every author, of the stale ones, or of some."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("author_ids", nargs="*", type=int, metavar="AUTHOR_ID")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--all", action="store_true", help="every author")
        which.add_argument(
            "--missing", action="store_true", help="authors who have no slice yet (`make run`)"
        )
        which.add_argument(
            "--stale",
            action="store_true",
            help="what the periodic sweep would rebuild (old algorithm, failed, dead builds)",
        )
        parser.add_argument(
            "--queue", action="store_true", help="send to the Celery workers instead"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="recompute even when the inputs and the algorithm version are unchanged",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[int] = options["author_ids"]
        if options["all"] or options["missing"] or options["stale"]:
            if ids:
                raise CommandError("Give author ids, or --all, --missing or --stale: not both.")
        elif not ids:
            raise CommandError("Give author ids, --all, --missing or --stale.")

        if options["queue"] and options["force"]:
            raise CommandError("--force builds in this process: it does not go with --queue.")
        if options["queue"]:
            if options["stale"]:
                queued = services.slices_queue_stale(limit=10**9)
            else:
                queued = sum(
                    services.slices_queue(author_ids=batch) for batch in self._batches(options)
                )
            self.stdout.write(f"{queued} graph slice(s) queued for the workers.")
            return

        if options["stale"]:
            targets = services.slices_mark_stale(limit=10**9)
        else:
            targets = []
            for batch in self._batches(options):
                marked = services.slices_mark_queued(author_ids=batch)
                # --missing also takes slices left queued by a run that was
                # stopped (no worker will take them when tasks run in-process);
                # slices_build skips any that another process is building.
                targets += batch if options["missing"] else marked
        outcomes: Counter[str] = Counter()
        with tqdm(
            total=len(targets), desc="graph slices", unit="author", disable=not targets
        ) as progress:
            for start in range(0, len(targets), services.CHUNK_SIZE):
                chunk = targets[start : start + services.CHUNK_SIZE]
                outcomes.update(services.slices_build(author_ids=chunk, force=options["force"]))
                progress.update(len(chunk))
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        self.stdout.write(f"{len(targets)} graph slice(s): {summary or 'nothing to do'}.")

    def _batches(self, options: dict[str, Any]) -> Iterator[list[int]]:
        if not (options["all"] or options["missing"]):
            yield sorted(set(options["author_ids"]))
            return
        authors = Author.objects.order_by("pk")
        if options["missing"]:
            authors = authors.filter(
                Q(graph_slice__isnull=True)
                | Q(graph_slice__status__in=[GraphSlice.Status.QUEUED, GraphSlice.Status.BUILDING])
            )
        ids = authors.values_list("pk", flat=True)
        last = 0
        while batch := list(ids.filter(pk__gt=last)[:BATCH]):
            yield batch
            last = batch[-1]
