"""Thin Celery entry points for reporting: refresh rollups, sweep, send scheduled reports."""

from datetime import date

from celery import shared_task
from django.db import OperationalError

from . import rollups, services


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def refresh_rollups(days: list[str]) -> int:
    """Recompute the dashboard rollups of these SAST days (ISO dates). Idempotent."""
    return rollups.refresh_days(date.fromisoformat(d) for d in days)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def refresh_funnel(days: list[str]) -> int:
    """Recompute the attrition / unknown-to-police rollups of these SAST days (ISO dates). Idempotent."""
    return rollups.refresh_funnel_days(date.fromisoformat(d) for d in days)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def refresh_outcomes(days: list[str]) -> int:
    """Recompute the conviction-rate rollups of these SAST days (ISO dates). Idempotent."""
    return rollups.refresh_outcome_days(date.fromisoformat(d) for d in days)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def refresh_prosecution_facts(prosecution_ids: list[int]) -> int:
    """Recompute the per-prosecution report facts (gang-related, mechanism). Idempotent."""
    return rollups.refresh_prosecution_facts(prosecution_ids)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def rebuild_prosecution_facts() -> int:
    """Nightly: recompute every prosecution's facts and removals, and every day's funnel and outcome
    rollups (catches a docket whose incidents, station or offence changed silently)."""
    written = rollups.refresh_prosecution_facts(None)
    return written + rollups.rebuild_funnel() + rollups.rebuild_outcomes()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def sweep_rollups() -> int:
    return rollups.sweep()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_scheduled_reports() -> int:
    """Send every subscription whose last complete week / month has not been sent yet (once per period)."""
    return services.send_due_subscriptions()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def rebuild_everything() -> int:
    """Recompute every kept row from scratch: the dashboard's rollups, the funnel, the conviction-rate
    outcomes, every prosecution's facts and kept removals (a bulk load: the demo's history, a restore)."""
    written = rollups.rebuild_all() + rollups.rebuild_funnel() + rollups.rebuild_outcomes()
    return written + rollups.refresh_prosecution_facts(None)
