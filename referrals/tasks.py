"""Thin Celery entry points for the intake. PostgreSQL is the only truth: a task only "kicks"
processing of a stored row, and the sweeper re-kicks rows a lost task left behind."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, connection

from casework import after_commit

from .intake import process


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
    step = process.PROCESS_BATCH if connection.vendor == "postgresql" else 1
    return sorted(message_ids)[::step]


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
