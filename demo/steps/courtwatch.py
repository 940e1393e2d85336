"""Step "courtwatch": give the demo's briefs to its court watchers and put the committee to work.

Briefs and withdrawal reviews already exist: the casework step enrolled and moved its matters
through casework's services, and courtwatch's reactions opened a brief per matter and flagged a
review per withdrawal. This step, through courtwatch's services, assigns the open briefs court by
court to the demo watchers (as the supervisor), calls a committee meeting, schedules the most
urgent flagged reviews and decides some of them, and records a piece of feedback.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from casework.models import Prosecution
from courtwatch import permissions as perms
from courtwatch import services
from courtwatch.models import Brief, WithdrawalReview

AGENDA = 6  # reviews on the upcoming meeting's agenda


def seed(ctx) -> None:
    supervisor = ctx.users.get("court_watch_supervisor")
    watchers = list(perms.court_watchers().order_by("username"))
    members = list(perms.committee_members().order_by("username"))
    if supervisor is None or not watchers:
        ctx.say("  courtwatch: no supervisor or court watchers among the demo users; skipped")
        return
    # Only the service-made matters: the bulk history's briefs stay with the supervisor, unassigned,
    # as most of a province's roll would (the programme watches the cases it chooses).
    ids = [p.pk for p in ctx.prosecutions]
    briefs = Brief.objects.filter(state=Brief.State.UNASSIGNED, prosecution__in=ids).exclude(
        prosecution__state__in=Prosecution.FINALISED_STATES
    )
    courts = sorted({b.prosecution.court for b in briefs.select_related("prosecution__court")}, key=str)
    assigned = 0
    for i, court in enumerate(courts):
        with transaction.atomic():
            for brief in briefs.filter(prosecution__court=court).order_by("id"):
                services.brief_assign(
                    brief, actor=supervisor, version=None, officer=watchers[i % len(watchers)]
                )
                assigned += 1
        ctx.progress("courtwatch", i + 1, len(courts))
    ctx.say(f"  {assigned} more open briefs assigned to {len(watchers)} court watchers")

    brief = Brief.objects.filter(officer=watchers[0], state__in=Brief.OPEN_STATES).first()
    if brief is not None:
        services.feedback_create(
            actor=watchers[0],
            brief=brief,
            category="docket_not_at_court",
            recipient="saps",
            recipient_detail=brief.prosecution.police_case.station.name,
            text="Docket was not at court for the second time; the investigating officer was not present.",
        )

    if members:
        _committee(ctx, members)


def _committee(ctx, members) -> None:
    """A meeting two days ago that decided three reviews, and the next one, on Thursday, with an agenda."""
    undecided = WithdrawalReview.objects.filter(state=WithdrawalReview.State.FLAGGED)
    flagged = list(undecided.order_by("-priority_score", "flagged_at")[:3])
    today = timezone.localdate()
    with transaction.atomic():
        if flagged:
            meeting = services.meeting_create(
                actor=members[0], date=today - timedelta(days=2), members=members
            )
            decisions = ["uphold_withdrawal", "further_investigation", "re_enrol"]
            for review, decision in zip(flagged, decisions, strict=False):
                review = services.review_schedule(review, actor=members[0], version=None, meeting=meeting)
                services.review_decide(
                    WithdrawalReview.objects.get(pk=review.pk),
                    actor=members[0],
                    version=None,
                    decision=decision,
                    rationale="Demo decision: see the docket notes.",
                )
            ctx.say(f"  committee meeting {meeting.date}: {len(flagged)} reviews decided")
        # The next Thursday after today (a week today when today is Thursday).
        upcoming = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
        meeting = services.meeting_create(actor=members[0], date=upcoming, members=members)
        agenda = list(undecided.order_by("-priority_score", "flagged_at")[:AGENDA])
        for review in agenda:
            services.review_schedule(review, actor=members[0], version=None, meeting=meeting)
    ctx.say(f"  next committee meeting {upcoming}: {len(agenda)} reviews on the agenda")
