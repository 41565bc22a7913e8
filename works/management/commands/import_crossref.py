from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from works.crossref_api import (
    DEFAULT_MAX_PAGES,
    CrossrefClient,
    CrossrefError,
    import_crossref_dois,
    import_crossref_query,
)
from works.importers import ImportStats
from works.importers.crossref import import_crossref_paths
from works.management.importing import run_import


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
        if paths and (missing := [str(p) for p in paths if not p.exists()]):
            raise CommandError(f"No such file: {', '.join(missing)}")
        client = self.crossref_client

        def do_import() -> ImportStats:
            nonlocal client
            if paths:
                return import_crossref_paths(paths, strict=strict)
            if client is None:
                client = CrossrefClient(mailto=options["mailto"])
            elif options["mailto"]:
                client.mailto = options["mailto"]
            if dois:
                return import_crossref_dois(dois, client=client, strict=strict)
            assert query is not None
            return import_crossref_query(
                query, client=client, max_pages=options["max_pages"], strict=strict
            )

        def note() -> str:
            if query and client is not None and client.more_pages:
                return f"Stopped after {client.pages_fetched} pages: more remain (--max-pages)."
            return ""

        self.stats = run_import(self, do_import, source_errors=(CrossrefError,), note=note)
