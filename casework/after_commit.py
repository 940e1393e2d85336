"""The one way Casetrail runs something after a transaction commits.

Side effects of a write (refresh a rollup, kick intake processing, send an email) are Celery tasks
queued after commit, so a worker never looks for a row that is not there yet and a rolled-back
write causes nothing:

- ``queue(task, *args)`` — one task call after commit: Celery's own ``delay_on_commit``.
- ``queue_merged(task, values)`` — where one transaction notes many values for the same task
  (the days a batch of admissions touched, the prosecutions a bulk change moved), the values of
  the whole transaction go to a single call, ``task.delay(sorted(values))``, after commit.

Both run at once outside a transaction, and in-process when Celery is eager (the embedded
default and the tests; the tests let a failing task fail the test). A broker that is down never
fails the write that already committed: it is logged, and the periodic sweepers catch up from
PostgreSQL, the only truth.

Values merged in a transaction (or savepoint) that rolls back are sent with the next commit of
the same thread: every merged task is an idempotent refresh or kick, so a spare run costs a
little work and loses nothing. That is the price of using only Django's public ``on_commit``.
"""

import logging
import threading
from collections.abc import Hashable, Iterable

from django.db import transaction

log = logging.getLogger(__name__)
_pending = threading.local()


def queue(task, *args, **kwargs) -> None:
    """Queue ``task`` with these arguments once the current transaction commits."""
    transaction.on_commit(lambda: _send(task, list(args), kwargs))


def queue_merged(task, values: Iterable[Hashable]) -> None:
    """Note ``values`` for ``task``; after commit the transaction's values go in one call, sorted."""
    values = set(values)
    if not values:
        return
    waiting = _waiting()
    first = task.name not in waiting
    waiting.setdefault(task.name, (task, set()))[1].update(values)
    if first or transaction.get_connection().in_atomic_block:
        # One callback per note inside a transaction: whichever runs first sends them all, the rest
        # find nothing. Cheaper than looking for our callback among Django's private list.
        transaction.on_commit(_flush)


def _waiting() -> dict:
    if not hasattr(_pending, "tasks"):
        _pending.tasks = {}
    return _pending.tasks


def _flush() -> None:
    waiting, _pending.tasks = _waiting(), {}
    for task, values in waiting.values():
        _send(task, [sorted(values)], {})


def _send(task, args: list, kwargs: dict) -> None:
    try:
        task.delay(*args, **kwargs)
    except Exception:  # the broker is away: the write stands, a sweeper re-kicks from PostgreSQL
        if task.app.conf.task_always_eager and task.app.conf.task_eager_propagates:
            raise
        log.exception("Could not queue %s after commit; the periodic sweep will catch up", task.name)
