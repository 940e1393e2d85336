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

from casework.models import Court, Prosecution
from courtwatch import permissions as perms
from courtwatch import services
from courtwatch.models import Brief, WithdrawalReview


def seed(ctx) -> None:
    supervisor = ctx.users.get("court_watch_supervisor")
    watchers = list(perms.court_watchers().order_by("username"))
    members = list(perms.committee_members().order_by("username"))
    if supervisor is None or not watchers:
        ctx.say("  courtwatch: no supervisor or court watchers among the demo users; skipped")
        return
    courts = list(
        # One filter() so that both conditions hold for the same matter: a court with an open matter
        # whose brief has no officer (an exclude() would drop every court with any finalised matter).
        Court.objects.filter(
            prosecutions__brief__state=Brief.State.UNASSIGNED,
            prosecutions__state__in=[
                s for s in Prosecution.State.values if s not in Prosecution.FINALISED_STATES
            ],
        )
        .distinct()
        .order_by("name")
    )
    assigned = 0
    for i, court in enumerate(courts):
        with transaction.atomic():
            assigned += len(
                services.brief_bulk_assign(actor=supervisor, court=court, officer=watchers[i % len(watchers)])
            )
        ctx.progress("courtwatch", i + 1, len(courts))
    ctx.say(f"  {assigned} open briefs assigned to {len(watchers)} court watchers")

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

    if not members:
        return
    flagged = list(WithdrawalReview.objects.filter(state=WithdrawalReview.State.FLAGGED)[:8])
    if not flagged:
        return
    with transaction.atomic():
        meeting = services.meeting_create(
            actor=members[0], date=timezone.localdate() - timedelta(days=2), members=members
        )
        for review in flagged:
            services.review_schedule(review, actor=members[0], version=None, meeting=meeting)
        decisions = ["uphold_withdrawal", "further_investigation", "re_enrol"]
        for review, decision in zip(flagged[:3], decisions, strict=False):
            services.review_decide(
                WithdrawalReview.objects.get(pk=review.pk),
                actor=members[0],
                version=None,
                decision=decision,
                rationale="Demo decision: see the docket notes.",
            )
    ctx.say(f"  committee meeting {meeting.date}: {len(flagged)} reviews on the agenda, 3 decided")
