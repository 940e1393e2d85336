"""Step "rollups": refresh the reports' kept rows once, over the whole demo period.

The bulk history (``volume``) bypasses the reactions that keep them, so the figures are recomputed
here, in this process, by reporting's own tasks. They are called by their registered names, the way
beat and the after-commit queue reach them: nothing outside reporting imports it (lint-imports).
"""

from celery import current_app
from django.db import connection

TASK = "reporting.tasks.rebuild_everything"  # dashboard rollups, funnel, outcomes, facts and removals


def seed(ctx) -> None:
    # The bulk history arrived in bulk (inside one transaction in the tests): without fresh statistics the
    # planner takes the tables for empty and the day-by-day rebuild crawls (PostgreSQL: over 30 minutes
    # at 90,000 admissions, 32 s after ANALYZE, which counts the rows this transaction wrote).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    current_app.tasks[TASK].apply(throw=True)
