"""Reminders: thin, idempotent Celery entry points (beat runs them daily; see config/settings.py).

Each notice is created once by its unique key (kind:object:date per user), so a second run, a
redelivery or a second worker sends nothing; its e-mail is a task of its own (``notifications``).
Each task answers how many notices it created. Links are ``reverse()``d paths; the e-mail puts
``settings.SITE_URL`` in front.
"""

from datetime import date, datetime, time, timedelta

from celery import shared_task
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from . import notifications, selectors
from . import permissions as perms
from .models import Brief, Notification, WithdrawalReview

RETRY = {"acks_late": True, "autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 8}


def _day(today: str | None) -> date:
    return date.fromisoformat(today) if today else timezone.localdate()


def _brief_url(brief: Brief) -> str:
    return reverse("courtwatch:brief-detail", args=[brief.pk])


@shared_task(**RETRY)
def send_hearing_reminders(today: str | None = None) -> int:
    """The day before a hearing, remind the officer watching the brief."""
    tomorrow = _day(today) + timedelta(days=1)
    briefs = Brief.objects.filter(
        state__in=(Brief.State.ASSIGNED, Brief.State.MONITORING),
        next_appearance=tomorrow,
        officer__isnull=False,
    ).select_related("prosecution__court", "officer")
    sent = 0
    for b in briefs:
        n = notifications.notify(
            b.officer,
            Notification.Kind.HEARING_REMINDER,
            key=f"hearing_reminder:brief:{b.pk}:{tomorrow.isoformat()}",
            subject=f"Hearing tomorrow: {b.prosecution.case_number} at {b.prosecution.court}",
            body=f"{b.prosecution} is expected on the roll on {tomorrow:%A %d %B %Y}.",
            url=_brief_url(b),
        )
        sent += n is not None
    # Notices whose e-mail ran out of retries get another go once a day.
    notifications.notification_queue_unsent()
    return sent


@shared_task(**RETRY)
def send_stale_brief_digest(today: str | None = None) -> int:
    """Each morning, tell every supervisor which briefs went stale and which are unassigned."""
    day = _day(today)
    stale = list(
        selectors.stale_briefs(Brief.objects.all(), day).select_related("prosecution__court", "officer")
    )
    unassigned = selectors.unassigned_briefs(Brief.objects.all()).count()
    if not stale and not unassigned:
        return 0
    lines = [
        f"- {b.prosecution} (next date {b.next_appearance}, officer {b.officer or 'none'}): {_brief_url(b)}"
        for b in stale
    ]
    body = (
        f"{len(stale)} stale brief(s) (next date passed, no hearing recorded); {unassigned} unassigned.\n"
        + "\n".join(lines)
    )
    sent = 0
    for user in perms.supervisors():
        n = notifications.notify(
            user,
            Notification.Kind.STALE_DIGEST,
            key=f"stale_digest:user:{user.pk}:{day.isoformat()}",
            subject=f"Court watch: {len(stale)} stale, {unassigned} unassigned ({day})",
            body=body,
            url=reverse("courtwatch:supervisor"),
        )
        sent += n is not None
    return sent


@shared_task(**RETRY)
def send_overdue_review_notices(today: str | None = None) -> int:
    """Tell committee members once about each review that went 30 days undecided."""
    day = _day(today)
    now = timezone.make_aware(datetime.combine(day, time.max))
    overdue = list(
        selectors.overdue_reviews(WithdrawalReview.objects.all(), now).select_related("prosecution__court")
    )
    sent = 0
    for review in overdue:
        overdue_on = timezone.localdate(review.overdue_on)
        for user in perms.committee_members():
            n = notifications.notify(
                user,
                Notification.Kind.REVIEW_OVERDUE,
                key=f"review_overdue:review:{review.pk}:{overdue_on.isoformat()}",
                subject=f"Withdrawal review overdue: {review.prosecution}",
                body=(
                    f"Review {review.pk} ({review.removal}, {review.removal_reason or 'no reason'}) "
                    "was flagged on "
                    f"{timezone.localdate(review.flagged_at)} and is still {review.state}."
                ),
                url=reverse("courtwatch:review-detail", args=[review.pk]),
            )
            sent += n is not None
    return sent
