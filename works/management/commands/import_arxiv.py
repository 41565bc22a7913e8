from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from works.arxiv_api import ArxivClient, ArxivError, import_arxiv_ids
from works.importers import ImportAborted, ImportStats
from works.importers.arxiv import import_arxiv_paths


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
        try:
            if paths:
                missing = [str(p) for p in paths if not p.exists()]
                if missing:
                    raise CommandError(f"No such file: {', '.join(missing)}")
                stats = import_arxiv_paths(paths, strict=strict)
            else:
                assert ids is not None
                stats = import_arxiv_ids(ids, client=self.arxiv_client, strict=strict)
        except ImportAborted as error:
            raise CommandError(
                f"{error.problem}\nStrict import stopped: nothing was written."
            ) from error
        except ArxivError as error:
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
        if stats.failed_paths:
            reasons = "; ".join(
                f"{p.path}: {p.reason}" for p in stats.problems if p.path in stats.failed_paths
            )
            raise CommandError(f"Could not import: {reasons or ', '.join(stats.failed_paths)}")
        if stats.records and stats.skipped == stats.records:
            raise CommandError("Every record was skipped: nothing was imported.")
