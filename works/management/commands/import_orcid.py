from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from works.importers import ImportStats
from works.importers.orcid import import_orcid_paths
from works.management.importing import run_import
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

        if paths and (missing := [str(p) for p in paths if not p.exists()]):
            raise CommandError(f"No such file: {', '.join(missing)}")

        def do_import() -> ImportStats:
            if paths:
                return import_orcid_paths(paths, strict=strict)
            assert orcid is not None
            return import_orcid_id(orcid, client=self.orcid_client, strict=strict)

        self.stats = run_import(self, do_import, source_errors=(OrcidError,))
