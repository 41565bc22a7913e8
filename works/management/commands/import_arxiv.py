from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from works.arxiv_api import ArxivClient, ArxivError, import_arxiv_ids
from works.importers import ImportStats
from works.importers.arxiv import import_arxiv_paths
from works.management.importing import run_import


class Command(BaseCommand):
    help = """Import works from arXiv: Atom feeds of its API, or ids fetched from it.

  import_arxiv FILE...        responses of http://export.arxiv.org/api/query saved as XML
  import_arxiv --id ID...     ids (1501.05039, 1501.05039v2, quant-ph/0210005) fetched
                              from the API, 100 a request, one request every 3 seconds

Works are matched to stored ones by DOI, then arXiv id, then title and year: an
entry with a DOI or journal reference is its published version, which gains the
arXiv id and the arXiv copy rather than a second work. Prints "created N,
updated N, unchanged N, skipped N" (each entry counts once) and how many
authors changed; each problem goes to stderr as path:line N entry ID: reason (a
bad entry is skipped, the rest imported). Exits non-zero when a file is
missing, is not XML or not an arXiv feed, when arXiv answered with an error,
or at the first problem with --strict (then nothing is written)."""

    # Tests (and callers) may set a client whose HTTP layer they control.
    arxiv_client: ArxivClient | None = None
    stats: ImportStats | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="FILE", help="arXiv API feed files")
        parser.add_argument(
            "--id", dest="ids", nargs="+", metavar="ID", help="arXiv ids to fetch from the API"
        )
        parser.add_argument(
            "--strict", action="store_true", help="stop at the first problem, writing nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(p) for p in options["paths"]]
        ids: list[str] | None = options["ids"]
        if bool(paths) == bool(ids):
            raise CommandError("Give arXiv feed files, or --id ID... (one of them).")
        strict: bool = options["strict"]

        if paths and (missing := [str(p) for p in paths if not p.exists()]):
            raise CommandError(f"No such file: {', '.join(missing)}")

        def do_import() -> ImportStats:
            if paths:
                return import_arxiv_paths(paths, strict=strict)
            assert ids is not None
            return import_arxiv_ids(ids, client=self.arxiv_client, strict=strict)

        self.stats = run_import(self, do_import, source_errors=(ArxivError,))
