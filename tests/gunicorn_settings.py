"""The production settings as they are, for a gunicorn that a test starts, with its static
files collected into the test's scratch folder rather than into the repository."""

import os
from pathlib import Path

from bzpeer.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["TEST_STATIC_ROOT"])
