"""The intake's readiness check (docs/operations.md): registered with ``casework.health`` at start-up."""

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from casework import health

from .models import InboundMessage


def oldest_unfinished_intake() -> tuple[bool, dict]:
    """Not ready while a stored message has waited longer than ``READY_INTAKE_MAX_AGE_SECONDS`` to be
    processed: the workers are not keeping up, or none is running. Says an age, never whose message."""
    oldest = InboundMessage.objects.filter(status__in=InboundMessage.UNFINISHED).aggregate(
        at=Min("received_at")
    )
    limit = settings.READY_INTAKE_MAX_AGE_SECONDS
    age = 0 if oldest["at"] is None else max(0, int((timezone.now() - oldest["at"]).total_seconds()))
    return age <= limit, {"oldest_seconds": age, "limit_seconds": limit}


def register() -> None:
    health.register_check("intake_backlog", oldest_unfinished_intake)
