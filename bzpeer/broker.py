"""Handing a task to the broker from a web request, a signal or a sweep, never failing it.

Every task the site sends belongs to a database row that says whether it was
handed over (a graph slice's `sent_at`, an outbound email's status), so a
send that fails is only logged: the beat sweep finds the row and sends it
again within a minute. The broker's socket timeouts in settings bound how
long a hung broker can hold the caller, and after a failed send this process
does not try again for PAUSE_AFTER_FAILURE seconds: a hung broker costs one
timeout per process, not one per request.
"""

import logging
import time
from typing import Any

import redis
from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What a stopped or hung Redis raises through kombu (wrapped or not).
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, redis.RedisError, OSError)
PAUSE_AFTER_FAILURE = 10.0

# time.monotonic() before which this process does not try the broker.
_paused_until = 0.0


def task_send(task: Task, *args: Any) -> bool:
    """Send `task(*args)`; False, logged, when the broker did not take it (or failed just now).

    Tasks that run in-process (no broker configured) run here, and their
    errors propagate as any other call's would.
    """
    global _paused_until
    if task.app.conf.task_always_eager:
        task.apply_async(args=args)
        return True
    if time.monotonic() < _paused_until:
        logger.info("task %s%r not sent, the broker failed moments ago", task.name, args)
        return False
    try:
        task.apply_async(args=args)
    except BROKER_ERRORS as error:
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
        logger.warning("task %s%r not sent, the sweep sends it later: %s", task.name, args, error)
        return False
    return True


def task_send_resume() -> None:
    """Try the broker again at the next send (tests: time has passed)."""
    global _paused_until
    _paused_until = 0.0
