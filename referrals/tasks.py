"""Thin Celery entry points for the intake. PostgreSQL is the only truth: a task only "kicks"
processing of a stored row, and the sweeper re-kicks rows a lost task left behind."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from . import services


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
    results = services.inbound_process(message_id)
    return {str(k): v for k, v in results.items()}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sweep_inbound() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE, every 30 s): re-kick messages stuck unfinished."""
    return services.inbound_sweep(older_than_seconds=getattr(settings, "INTAKE_STUCK_AFTER_SECONDS", 60))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_identities() -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): POPIA retention, docs/security.md. Safe to repeat: a second run
    finds nothing due."""
    from . import retention

    return retention.purge_identities().as_dict()
