"""Settings of every process the benchmark starts: the project's own, plus the floor view.

The floor view is mounted here rather than in bzpeer/urls.py, so production
URLs never carry it; everything else (middleware, templates, database pool,
DEBUG off with a real SECRET_KEY) is bzpeer.settings as it is. Static files
are collected into the run's scratch folder, not into the repository.
"""

import os
from pathlib import Path

from bzpeer.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])

# The load generator is one address asking thousands of times a minute: the
# per-address search limit would answer most of its searches with 429, and
# the benchmark measures the search itself.
RATE_LIMITS = {**RATE_LIMITS, "search": "1000000000/m/ip"}  # noqa: F405
