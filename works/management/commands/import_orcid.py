from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from works.importers import ImportAborted, ImportStats
from works.importers.orcid import import_orcid_paths
from works.orcid_api import OrcidClient, OrcidError, import_orcid_id


class Command(BaseCommand):
    help = """Import ORCID v3.0 records: the person, employments and education, works.

  import_orcid FILE...        responses of GET https://pub.orcid.org/v3.0/{iD}/record
                              saved as JSON, one record a file
  import_orcid --orcid ID     the same, fetched from the ORCID public API

Works are matched to stored ones by DOI, then arXiv id, then the ORCID
put-code, then title and year; a match gains the authorship and the ids it
lacks, anything else is created. Prints "created N, updated N, unchanged N,
skipped N" (the person, each affiliation and each work count once) and how
many authors changed; each problem goes to stderr as path:place: reason (a bad
work or affiliation is skipped, the rest imported). Exits non-zero when a file
is missing, is not JSON or not an ORCID record, or at the first problem with
--strict (then nothing is written)."""

    # Tests (and callers) may set a client whose HTTP layer they control.
    orcid_client: OrcidClient | None = None
    stats: ImportStats | None = None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="FILE", help="ORCID record files")
        parser.add_argument("--orcid", metavar="ID", help="ORCID iD to fetch from the public API")
        parser.add_argument(
            "--strict", action="store_true", help="stop at the first problem, writing nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(p) for p in options["paths"]]
        orcid: str | None = options["orcid"]
        if bool(paths) == bool(orcid):
            raise CommandError("Give ORCID record files, or --orcid ID (one of them).")
        strict: bool = options["strict"]
        try:
            if paths:
                missing = [str(p) for p in paths if not p.exists()]
                if missing:
                    raise CommandError(f"No such file: {', '.join(missing)}")
                stats = import_orcid_paths(paths, strict=strict)
            else:
                assert orcid is not None
                stats = import_orcid_id(orcid, client=self.orcid_client, strict=strict)
        except ImportAborted as error:
            raise CommandError(
                f"{error.problem}\nStrict import stopped: nothing was written."
            ) from error
        except OrcidError as error:
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
