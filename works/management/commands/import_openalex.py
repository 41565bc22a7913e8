from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from works.importers import ImportAborted, ImportStats, import_paths
from works.openalex_api import (
    AuthorCandidate,
    OpenAlexClient,
    OpenAlexError,
    import_author,
    search_authors,
)


class Command(BaseCommand):
    help = """Import OpenAlex records from files or from the OpenAlex API.

  import_openalex PATH...          API responses {meta, results}, arrays of
                                   entities, JSON-lines snapshots or single
                                   entities (each plain or .gz), streamed
  import_openalex --author ID      an author (ORCID iD in any form, or OpenAlex
                                   A-id) and all their works, from the API
  import_openalex --search "NAME"  list matching authors; imports the one picked
                                   with --pick N, or the only one if exactly one
                                   matches

Prints "created N, updated N, unchanged N, skipped N" and how many authors
changed; each problem goes to stderr as path:location: reason (a bad record is
skipped, the rest of its file imported). Exits non-zero
when a file is missing or unreadable, on the first problem with --strict
(nothing from that file is written), or when every record was skipped."""

    # Tests (and callers) may set a client whose HTTP layer they control.
    openalex_client: OpenAlexClient | None = None
    stats: ImportStats | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="PATH", help="files to import")
        parser.add_argument("--author", help="ORCID iD or OpenAlex author id to fetch")
        parser.add_argument("--search", metavar="NAME", help="search OpenAlex authors by name")
        parser.add_argument(
            "--pick", type=int, metavar="N", help="with --search: import the N-th candidate"
        )
        parser.add_argument(
            "--strict", action="store_true", help="stop at the first problem, writing nothing"
        )
        parser.add_argument("--batch-size", type=int, default=500, help="records per batch")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(p) for p in options["paths"]]
        author: str | None = options["author"]
        search: str | None = options["search"]
        if sum(map(bool, (paths, author, search))) != 1:
            raise CommandError("Give files to import, or --author, or --search (one of them).")
        if options["pick"] is not None and not search:
            raise CommandError("--pick goes with --search.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        strict: bool = options["strict"]
        batch_size: int = options["batch_size"]
        try:
            if paths:
                missing = [str(p) for p in paths if not p.exists()]
                if missing:
                    raise CommandError(f"No such file: {', '.join(missing)}")
                stats = import_paths(
                    paths,
                    strict=strict,
                    batch_size=batch_size,
                    progress=not options["no_progress"],
                )
            else:
                client = self.openalex_client or OpenAlexClient()
                if search:
                    picked = self._pick(search, options["pick"], client)
                    if picked is None:
                        return
                    author = picked.openalex_id
                assert author is not None
                stats = import_author(author, client=client, strict=strict, batch_size=batch_size)
        except ImportAborted as error:
            if error.committed.records:
                self.stdout.write(f"Before the failing file: {error.committed.summary()}")
            raise CommandError(
                f"{error.problem}\nStrict import stopped: nothing from "
                f"{error.problem.path} was written."
            ) from error
        except OpenAlexError as error:
            raise CommandError(str(error)) from error
        except DatabaseError as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise CommandError(
                f"The database failed: {reason}\nWhat was written before stays; "
                "running the same import again completes it."
            ) from error
        self.stats = stats
        self._report(stats)

    def _pick(self, name: str, pick: int | None, client: OpenAlexClient) -> AuthorCandidate | None:
        candidates = search_authors(name, client=client)
        if not candidates:
            raise CommandError(f"No OpenAlex author matches {name!r}.")
        for number, candidate in enumerate(candidates, start=1):
            details = [candidate.openalex_id]
            if candidate.orcid:
                details.append(f"ORCID {candidate.orcid}")
            if candidate.institution:
                details.append(candidate.institution)
            details.append(f"{candidate.works_count} works")
            self.stdout.write(f"{number:>3}. {candidate.display_name} ({', '.join(details)})")
        if pick is None and len(candidates) == 1:
            return candidates[0]
        if pick is None:
            self.stdout.write("Several authors match: run again with --pick N to import one.")
            return None
        if not 1 <= pick <= len(candidates):
            raise CommandError(f"--pick {pick}: choose between 1 and {len(candidates)}.")
        return candidates[pick - 1]

    def _report(self, stats: ImportStats) -> None:
        for problem in stats.problems:
            self.stderr.write(str(problem))
        if stats.problems_not_listed:
            self.stderr.write(f"... and {stats.problems_not_listed} more problems not listed")
        self.stdout.write(stats.summary())
        changed = len(stats.changed_author_ids)
        self.stdout.write(f"{changed} author{'' if changed == 1 else 's'} changed")
        if stats.failed_paths:
            raise CommandError(f"Could not read in full: {', '.join(stats.failed_paths)}")
        if stats.records and stats.skipped == stats.records:
            raise CommandError("Every record was skipped: nothing was imported.")
