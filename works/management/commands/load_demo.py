"""`manage.py load_demo`: the seed researcher and a generated population, idempotently.

`make run` calls it every time; a second run with the same arguments writes nothing.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from works.demo.seed import SEED_RESEARCHER
from works.demo.services import demo_load
from works.demo.synthetic import generate_population

DEFAULT_SYNTHETIC_AUTHORS = 3000
DEFAULT_SEED = 42


class Command(BaseCommand):
    help = (
        "Load the seed researcher (Hattie Zhou and her three works) and a generated "
        "population of synthetic researchers. Safe to run again: nothing changes when "
        "the data is already there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--synthetic",
            type=int,
            default=DEFAULT_SYNTHETIC_AUTHORS,
            metavar="N",
            help=f"generated authors (default {DEFAULT_SYNTHETIC_AUTHORS}); 0 leaves the "
            "generated records as they are",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"random seed of the generated population (default {DEFAULT_SEED})",
        )

    def handle(self, *args: Any, synthetic: int, seed: int, **options: Any) -> None:
        if synthetic < 0:
            raise CommandError("--synthetic must be 0 or more")
        started = time.monotonic()
        population = generate_population(n_authors=synthetic, seed=seed) if synthetic else None
        result = demo_load(population=population)

        author = result.seed.author
        if result.seed.created or result.seed.updated:
            change = f"{result.seed.created} rows created, {result.seed.updated} updated"
        else:
            change = "unchanged"
        self.stdout.write(f"Seed researcher {SEED_RESEARCHER} (author {author.pk}): {change}.")
        generated = result.synthetic
        if generated is None:
            self.stdout.write("Generated population: skipped (--synthetic 0).")
        else:
            size = (
                f"{generated.authors} authors, {generated.works} works, "
                f"{generated.authorships} authorships, seed {seed}"
            )
            if not generated.loaded:
                self.stdout.write(f"Generated population ({size}): already loaded.")
            else:
                verb = "replaced the previous one" if generated.replaced else "loaded"
                self.stdout.write(f"Generated population ({size}): {verb}.")
        self.stdout.write(
            self.style.SUCCESS(f"load_demo done in {time.monotonic() - started:.1f}s")
        )
