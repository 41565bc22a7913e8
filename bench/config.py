"""Scales, budgets and the targets the harness checks."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
# The shared data sits beside the repository; it is read there, never copied in.
GRQC_PATH = BASE_DIR.parent / "shared" / "data" / "coauthorship" / "ca-GrQc.txt"

# Two runs on one PostgreSQL server (two checkouts) need a database each.
BENCH_DATABASE = os.environ.get("BZPEER_BENCH_DATABASE", "bzpeer_bench_run")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", BENCH_DATABASE):
    raise SystemExit(f"BZPEER_BENCH_DATABASE={BENCH_DATABASE!r} is not a plain database name.")
SEED = 2025
# ca-GrQc authors get generated ids from this index on (A9905000000...), far
# above the generated corpus's, so both corpora live in one database apart.
GRQC_INDEX_OFFSET = 5_000_000
PROFILE_AUTHOR_WORKS = 500  # the profile page is measured for the author nearest this
FOLLOWED_AUTHORS = 500  # the feed's user follows this many researchers
FEED_EVENTS = 1_000_000  # events the feed's researchers and others have, for the pages
EVENTS_FOLLOWED_SHARE = 0.1  # the import's events are measured with this share followed
WORKERS = 2  # Celery worker processes, naive processes, gunicorn workers


@dataclass(frozen=True)
class Scale:
    name: str
    n_authors: int
    n_works: int
    # Time caps, so that a slow pipeline cannot blow the run's budget: a section
    # that hits its cap reports what it finished and says so.
    slice_budget_s: float  # the generated corpus's slice build (its target is 360 s)
    grqc_slice_budget_s: float
    naive_budget_s: float  # each naive run, per process (a uniform random sample)
    load_seconds: float  # per endpoint
    load_warmup_s: float
    concurrency: int  # connections the load generator keeps busy
    soak_seconds: float  # the optional soak section's mixed traffic
    run_budget_s: float  # what the whole run should stay under
    # Works generated for each of the ORCID, Crossref and arXiv importers.
    source_works: int = 2_000


SCALES = {
    "default": Scale(
        name="default",
        n_authors=100_000,
        n_works=300_000,
        slice_budget_s=360.0,
        grqc_slice_budget_s=45.0,
        naive_budget_s=20.0,
        # Thirteen endpoints: 24 s each keeps the whole run within its 15 minutes.
        load_seconds=24.0,
        load_warmup_s=2.0,
        concurrency=8,
        soak_seconds=10 * 60,
        run_budget_s=15 * 60,
    ),
    # A fifth of the default: import changes measured in a few minutes.
    "medium": Scale(
        name="medium",
        n_authors=20_000,
        n_works=60_000,
        slice_budget_s=60.0,
        grqc_slice_budget_s=20.0,
        naive_budget_s=10.0,
        load_seconds=15.0,
        load_warmup_s=2.0,
        concurrency=8,
        soak_seconds=2 * 60,
        run_budget_s=6 * 60,
        source_works=1_000,
    ),
    # A smoke run of every section, sized to finish in two minutes.
    "small": Scale(
        name="small",
        n_authors=1_000,
        n_works=3_000,
        slice_budget_s=20.0,
        grqc_slice_budget_s=8.0,
        naive_budget_s=3.0,
        load_seconds=3.0,
        load_warmup_s=1.0,
        concurrency=8,
        soak_seconds=60.0,
        run_budget_s=2 * 60,
        source_works=200,
    ),
}

# Gunicorn: 2 workers (the issue), gthread with this many threads each.
GUNICORN_THREADS = 4


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    op: str  # ">=" or "<=" (or "==" for an exact match)
    threshold: float
    unit: str = ""


TARGETS = (
    Target("profile_rps_ratio", "profile page rps / floor rps", ">=", 0.4, "x"),
    Target("profile_p99_ratio", "profile page p99 / floor p99", "<=", 3.0, "x"),
    Target("fragment_rps_ratio", "graph fragment rps / floor rps", ">=", 0.7, "x"),
    # A signed-in visitor's page counts as much as an anonymous one (#14).
    Target(
        "signed_in_profile_rps_ratio",
        "signed-in profile rps / floor rps, largest and smallest author",
        ">=",
        0.3,
        "x",
    ),
    Target(
        "sorted_profile_rps_ratio",
        "profile sorted by citations and filtered rps / floor rps, anonymous and signed in",
        ">=",
        0.3,
        "x",
    ),
    Target("feed_p99_ms", "feed p99, 500 follows and 1M events", "<=", 50.0, "ms"),
    Target("import_copy_ratio", "import works/s / raw COPY works/s", ">=", 0.3, "x"),
    Target("reimport_ratio", "re-import works/s / first import works/s", ">=", 1.0, "x"),
    Target("queries_constant", "pages whose query count grows with the author", "==", 0, ""),
    Target("slices_per_s", "slices/s, generated corpus, 2 workers", ">=", 300.0, "/s"),
    Target("slices_all_s", "time to build every generated slice", "<=", 360.0, "s"),
    Target("slices_naive_ratio", "slices/s / naive slices/s, generated corpus", ">=", 10.0, "x"),
    Target("worker_rss_growth", "worker RSS, 2nd half of the build vs 1st", "<=", 0.10, ""),
    Target("soak_failures", "soak: errors and unexpected answers", "==", 0, ""),
    Target("soak_rss_growth", "soak: RSS per process, 2nd half vs 1st", "<=", 0.10, ""),
    Target("run_seconds", "whole run", "<=", 0.0, "s"),  # threshold: the scale's budget
)
