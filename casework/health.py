"""Liveness and readiness for a load balancer (docs/operations.md, "Health and readiness").

``GET /health/`` says the process answers and touches nothing else. ``GET /ready/`` runs every check: the
database, the broker and a worker on the ``intake`` queue (where a broker is configured), and whatever
another app registers with ``register_check`` at start-up (referrals: the age of the oldest unfinished
intake message), so this module imports no other app. Answers carry no identity and no counts of people.
"""

import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

PATHS = ("/health/", "/ready/")
INTAKE_QUEUE = "intake"

# A check answers (ok, detail); the detail is shown as it is, so it must say nothing about a person.
Check = Callable[[], tuple[bool, dict]]
_CHECKS: dict[str, Check] = {}
_queues_seen: dict[str, object] = {"at": None, "queues": frozenset()}


def register_check(name: str, check: Check) -> None:
    """Add a readiness check (called from an app's ``ready()``); a second call by the same name replaces."""
    _CHECKS[name] = check


def _broker_configured() -> bool:
    """No broker (the embedded default) means tasks run in-process: nothing to ask, nothing to fail."""
    return bool(current_app.conf.broker_url) and not current_app.conf.task_always_eager


def database() -> tuple[bool, dict]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, {}


def broker() -> tuple[bool, dict]:
    if not _broker_configured():
        return True, {"configured": False}
    with current_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=settings.READY_WORKER_TIMEOUT_SECONDS)
    return True, {"configured": True}


def consumed_queues() -> frozenset[str]:
    """The queues some worker consumes, asked of the workers and kept ``READY_WORKER_CACHE_SECONDS``: a
    load balancer probing every second must not broadcast to the workers every second."""
    at = _queues_seen["at"]
    if at is not None and time.monotonic() - at < settings.READY_WORKER_CACHE_SECONDS:
        return _queues_seen["queues"]
    inspector = current_app.control.inspect(timeout=settings.READY_WORKER_TIMEOUT_SECONDS)
    replies = inspector.active_queues() or {}
    queues = frozenset(q["name"] for worker_queues in replies.values() for q in worker_queues or ())
    _queues_seen.update(at=time.monotonic(), queues=queues)
    return queues


def forget_workers() -> None:
    """Drop the kept answer of the workers (tests, and a check that must see a change at once)."""
    _queues_seen.update(at=None, queues=frozenset())


def intake_worker() -> tuple[bool, dict]:
    if not _broker_configured():
        return True, {"configured": False}
    return INTAKE_QUEUE in consumed_queues(), {"queue": INTAKE_QUEUE}


def _run(check: Check) -> tuple[bool, dict]:
    try:
        return check()
    except Exception as e:  # a failing dependency is an answer (503), never a 500
        return False, {"error": type(e).__name__}


def readiness() -> dict[str, dict]:
    """Every check by name: ``{"ok": bool, …detail}``."""
    checks = {"database": database, "broker": broker, "intake_worker": intake_worker, **_CHECKS}
    results = {}
    for name, check in checks.items():
        if name == "intake_worker" and not results["broker"]["ok"]:
            results[name] = {"ok": False, "error": "broker"}  # asking the workers would only wait on retries
            continue
        ok, detail = _run(check)
        results[name] = {"ok": ok, **detail}
    return results


@never_cache
def health(request):
    """Liveness: the process answers. No database, no broker: a restart would not mend those."""
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request):
    """Readiness: 200 with each check, or 503 naming the failing ones."""
    results = readiness()
    failing = sorted(name for name, result in results.items() if not result["ok"])
    body = {"status": "failing" if failing else "ready", "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if failing else 200)
