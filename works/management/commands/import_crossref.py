from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from works.crossref_api import (
    DEFAULT_MAX_PAGES,
    CrossrefClient,
    CrossrefError,
    import_crossref_dois,
    import_crossref_query,
)
from works.importers import ImportAborted, ImportStats
from works.importers.crossref import import_crossref_paths


class Command(BaseCommand):
    help = """Import works from Crossref: the work, its authors (with ORCID iDs and
affiliations), its references and citation count.

  import_crossref FILE...           Crossref REST responses saved as JSON: GET /works/{doi}
                                    (message-type work) or GET /works?... (work-list)
  import_crossref --doi DOI...      the same, fetched from https://api.crossref.org
  import_crossref --query "TEXT"    the works a Crossref search finds, page by page
                                    (a cursor), at most --max-pages pages

Requests name a contact address (--mailto, else CROSSREF_MAILTO) for Crossref's
polite pool. Works are matched to stored ones by DOI, then arXiv id, then title
and year; a match gains only what it lacks, anything else is created. Prints
"created N, updated N, unchanged N, skipped N" (works) and how many authors
changed; each problem goes to stderr as path:place: reason (a work without a
DOI or a title is skipped, the rest imported). Exits non-zero when a file is
missing, is not JSON or not a Crossref works response (an error body says
Crossref's words), or at the first problem with --strict (then nothing is
written)."""

    # Tests (and callers) may set a client whose HTTP layer they control.
    crossref_client: CrossrefClient | None = None
    stats: ImportStats | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="FILE", help="Crossref response files")
        parser.add_argument("--doi", nargs="+", metavar="DOI", help="DOIs to fetch")
        parser.add_argument("--query", metavar="TEXT", help="a Crossref search")
        parser.add_argument(
            "--max-pages",
            type=int,
            default=DEFAULT_MAX_PAGES,
            help=f"pages of a --query to fetch at most (default {DEFAULT_MAX_PAGES})",
        )
        parser.add_argument("--mailto", metavar="ADDRESS", help="contact address for Crossref")
        parser.add_argument(
            "--strict", action="store_true", help="stop at the first problem, writing nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(p) for p in options["paths"]]
        dois: list[str] = options["doi"] or []
        query: str | None = options["query"]
        if sum(bool(x) for x in (paths, dois, query)) != 1:
            raise CommandError("Give Crossref response files, or --doi DOI..., or --query TEXT.")
        if options["max_pages"] < 1:
            raise CommandError("--max-pages must be 1 or more.")
        strict: bool = options["strict"]
        client = self.crossref_client
        try:
            if paths:
                missing = [str(p) for p in paths if not p.exists()]
                if missing:
                    raise CommandError(f"No such file: {', '.join(missing)}")
                stats = import_crossref_paths(paths, strict=strict)
            else:
                if client is None:
                    client = CrossrefClient(mailto=options["mailto"])
                elif options["mailto"]:
                    client.mailto = options["mailto"]
                if dois:
                    stats = import_crossref_dois(dois, client=client, strict=strict)
                else:
                    assert query is not None
                    stats = import_crossref_query(
                        query, client=client, max_pages=options["max_pages"], strict=strict
                    )
        except ImportAborted as error:
            raise CommandError(
                f"{error.problem}\nStrict import stopped: nothing was written."
            ) from error
        except CrossrefError as error:
            raise CommandError(str(error)) from error
        except DatabaseError as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise CommandError(
                f"The database failed: {reason}\nWhat was written before stays; "
                "running the same import again completes it."
            ) from error
        self.stats = stats
        for problem in stats.problems:
            self.stderr.write(str(problem))
        if stats.problems_not_listed:
            self.stderr.write(f"... and {stats.problems_not_listed} more problems not listed")
        self.stdout.write(stats.summary())
        changed = len(stats.changed_author_ids)
        self.stdout.write(f"{changed} author{'' if changed == 1 else 's'} changed")
        if query and client is not None and client.more_pages:
            self.stdout.write(
                f"Stopped after {client.pages_fetched} pages: more remain (--max-pages)."
            )
        if stats.failed_paths:
            reasons = "; ".join(
                f"{p.path}: {p.reason}" for p in stats.problems if p.path in stats.failed_paths
            )
            raise CommandError(f"Could not import: {reasons or ', '.join(stats.failed_paths)}")
        if stats.records and stats.skipped == stats.records:
            raise CommandError("Every record was skipped: nothing was imported.")
