"""Reports read from a PostgreSQL read replica when one is configured (docs/operations.md, "Read replica").

``REPLICA_DATABASE_URL`` set: the settings add the ``replica`` alias and ``REPORTING_DATABASE = "replica"``.
While a view of the ``reporting`` app runs (``ReportingReadsMiddleware``), or inside ``reporting_reads()``,
reads of the case data go to that alias. Everything else reads and writes ``default``: every write, every
locked read (``select_for_update`` is a write), sessions, users, permissions, tokens, the Celery tasks that
rebuild the rollups (they must see the primary's latest rows) and every read outside a report.
A replica lags by a moment: a report may miss the last second's admissions, never a user's own sign-in.
"""

import contextlib
import contextvars

from django.conf import settings

# The case data a report reads; the rest (auth, sessions, guardian, knox, axes, otp, beat) stays on default.
REPORT_DATA_APPS = frozenset({"casework", "referrals", "courtwatch", "reporting"})
# casework never imports reporting (docs/architecture.md): its views are known by their module's name.
REPORTING_VIEW_MODULE = "reporting."

_reporting = contextvars.ContextVar("casetrail_reporting_reads", default=False)


@contextlib.contextmanager
def reporting_reads():
    """Within this block, reads of the case data go to the reporting database (the replica, if any)."""
    token = _reporting.set(True)
    try:
        yield
    finally:
        _reporting.reset(token)


class ReportingReadsRouter:
    """Reads of the case data inside a report go to ``settings.REPORTING_DATABASE``; nothing else moves."""

    def db_for_read(self, model, **hints):
        if _reporting.get() and model._meta.app_label in REPORT_DATA_APPS:
            return getattr(settings, "REPORTING_DATABASE", "default")
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database and its copy: every relation holds in both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # the replica follows the primary's schema by replication


class ReportingReadsMiddleware:
    """Marks the run of a ``reporting`` view, so its reads go to the reporting database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:  # a worker thread serves the next request: never let the mark outlive this one
            token = request.__dict__.pop("_casetrail_reporting_reads", None)
            if token is not None:
                _reporting.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "__module__", "").startswith(REPORTING_VIEW_MODULE):
            request._casetrail_reporting_reads = _reporting.set(True)
        return None
