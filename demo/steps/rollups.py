"""Step "rollups": refresh the reports' kept rows once, over the whole demo period.

The bulk history (``volume``) bypasses the reactions that keep them, so the figures are recomputed
here, in this process, by reporting's own tasks. They are called by their registered names, the way
beat and the after-commit queue reach them: nothing outside reporting imports it (lint-imports).
"""

from celery import current_app

TASK = "reporting.tasks.rebuild_everything"  # dashboard rollups, funnel, outcomes, facts and removals


def seed(ctx) -> None:
    current_app.tasks[TASK].apply(throw=True)
