"""Thin Celery entry points for the intake. PostgreSQL is the only truth: a task only "kicks"
processing of a stored row, and the sweeper re-kicks rows a lost task left behind."""

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, connection

from casework import after_commit

from .intake import process
from .models import Channel, InboundMessage

log = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def process_inbound(message_id: int) -> dict:
    """Process a stored message (and other waiting ones with it). Safe to repeat."""
    results = process.inbound_process(message_id)
    return {str(k): v for k, v in results.items()}


def kick(message_ids: list[int]) -> None:
    """Queue processing of these stored messages after commit (at once outside a transaction).

    Whatever id it names, a task claims up to ``PROCESS_BATCH`` waiting messages on PostgreSQL, so
    one task per batch of ids is enough there; with eager tasks (tests, the embedded default) that
    processes them at once, in order.
    """
    for pk in _one_per_batch(message_ids):
        after_commit.queue(process_inbound, pk)


def _one_per_batch(message_ids: list[int]) -> list[int]:
    """The ids to kick so that every waiting message is claimed: on PostgreSQL one kick claims a batch
    of single messages, but a CSV file is claimed only by its own kick (a batch leaves files out), so
    each file gets one — else a file whose kick was lost waited for ever (found under `make load`)."""
    if connection.vendor != "postgresql":
        return sorted(message_ids)
    files = set(
        InboundMessage.objects.filter(pk__in=message_ids, channel=Channel.CSV).values_list("pk", flat=True)
    )
    singles = sorted(set(message_ids) - files)
    return sorted(files) + singles[:: process.PROCESS_BATCH]


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sweep_inbound(older_than_seconds: int | None = None) -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE, every 30 s): re-kick messages stuck unfinished (stuck: for
    ``INTAKE_STUCK_AFTER_SECONDS``, unless given)."""
    if older_than_seconds is None:
        older_than_seconds = getattr(settings, "INTAKE_STUCK_AFTER_SECONDS", 60)
    counts, waiting = process.inbound_release_stuck(older_than_seconds=older_than_seconds)
    for pk in _one_per_batch(waiting):  # rows already committed: kicked now, not after a commit
        process_inbound.delay(pk)
    return counts


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_identities() -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): POPIA retention, docs/security.md. Safe to repeat: a second run
    finds nothing due."""
    from . import retention

    return retention.purge_identities().as_dict()


# ---------------------------------------------------------------- the embedded mode's sweeper

# Embedded mode (no broker: tasks run in-process) has no beat to run ``sweep_inbound``: one daemon
# thread per serving process does, so a message left received/processing is not stuck for ever.
EMBEDDED_SWEEP_SECONDS = 30.0
_embedded_lock = threading.Lock()
_embedded: "EmbeddedSweeper | None" = None


def embedded_sweeper_wanted() -> bool:
    """No broker (eager tasks) and not under the tests, which run the sweep themselves."""
    return bool(settings.CELERY_TASK_ALWAYS_EAGER) and not getattr(settings, "TESTING", False)


class EmbeddedSweeper(threading.Thread):
    """Runs ``sweep_inbound`` every ``interval`` seconds until ``stop()``; its own database connection."""

    def __init__(self, interval: float):
        super().__init__(name="casetrail-embedded-sweeper", daemon=True)
        self.interval, self.stopping = interval, threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                sweep_inbound()
            except Exception:
                log.exception("The embedded intake sweep failed; it runs again in %s s", self.interval)
            finally:
                connection.close()  # this thread's connection: not held open between sweeps

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def start_embedded_sweeper(interval: float = EMBEDDED_SWEEP_SECONDS) -> EmbeddedSweeper | None:
    """Start this process's sweeper once (later calls do nothing, returning None)."""
    global _embedded
    with _embedded_lock:
        if _embedded is not None and _embedded.is_alive():
            return None
        _embedded = EmbeddedSweeper(interval)
        _embedded.start()
        return _embedded


def start_embedded_sweeper_on_request(**_signal) -> None:
    """``request_started`` receiver (apps.py): a process that serves requests — runserver, a WSGI
    server — sweeps; migrate, shell and the other commands never start it."""
    start_embedded_sweeper()
