"""Handing a task to the broker from a web request, a signal or a sweep, never failing it.

Every task the site sends belongs to a database row that says whether it was
handed over (a graph slice's `sent_at`, an outbound email's status), so a
send that fails is only logged: the beat sweep finds the row and sends it
again within a minute. The broker's socket timeouts in settings bound how
long a hung broker can hold the caller.
"""

import logging
from typing import Any

import redis
from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What a stopped or hung Redis raises through kombu (wrapped or not).
BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, redis.RedisError, OSError)


def task_send(task: Task, *args: Any) -> bool:
    """Send `task(*args)`; False, logged, when the broker did not take it.

    Tasks that run in-process (no broker configured) run here, and their
    errors propagate as any other call's would.
    """
    if task.app.conf.task_always_eager:
        task.apply_async(args=args)
        return True
    try:
        task.apply_async(args=args)
    except BROKER_ERRORS as error:
        logger.warning("task %s%r not sent, the sweep sends it later: %s", task.name, args, error)
        return False
    return True
