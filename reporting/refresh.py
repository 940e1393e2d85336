"""Note what a change touches; after commit, one refresh task per kind of kept rows gets it all.

Every note goes through ``casework.after_commit.queue_merged``, the project's one after-commit path: the
values one transaction notes for a task are handed to a single call after its commit (at once outside
a transaction). The dashboard's days (arrival days), the funnel's (days incidents occurred on and their
admissions' arrival days), the conviction-rate outcomes' (days of finalisation) and the prosecutions
whose facts and kept removals change are each refreshed without recomputing the others.
"""

from casework.after_commit import queue_merged

from . import tasks


def _iso(days) -> set[str]:
    return {d.isoformat() for d in days}  # JSON for the task; ISO dates sort as the days do


def mark_days(days) -> None:
    """Recompute the dashboard rollups (and funnel) of these SAST days after commit."""
    queue_merged(tasks.refresh_rollups, _iso(days))


def mark_funnel_days(days) -> None:
    """Recompute the attrition and unknown-to-police rows of these SAST days after commit."""
    queue_merged(tasks.refresh_funnel, _iso(days))


def mark_outcome_days(days) -> None:
    """Recompute the conviction-rate rows of these SAST days after commit."""
    queue_merged(tasks.refresh_outcomes, _iso(days))


def mark_prosecutions(ids) -> None:
    """Recompute these prosecutions' facts and kept removals after commit."""
    queue_merged(tasks.refresh_prosecution_facts, ids)
