"""Every read in court watching starts from the access layer's visible_* querysets."""

from datetime import date, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.labels import words
from casework.models import Court, Prosecution, TransitionLog

from . import permissions as perms
from .models import (
    REVIEW_OVERDUE_AFTER,
    Brief,
    CommitteeMeeting,
    Feedback,
    Hearing,
    Notification,
    WithdrawalReview,
)


def _briefs(qs: QuerySet[Brief]) -> QuerySet[Brief]:
    return qs.select_related("prosecution__court", "prosecution__police_case__station", "officer")


def brief_list_for_user(
    user, *, prosecution: int | None = None, state: str = "", court: str = "", officer: str = ""
) -> QuerySet[Brief]:
    qs = _briefs(perms.visible_briefs(user))
    if prosecution:
        qs = qs.filter(prosecution_id=prosecution)
    if state:
        qs = qs.filter(state=state)
    if court:
        qs = qs.filter(prosecution__court__code=court)
    if officer:
        qs = qs.filter(officer__username=officer)
    return qs.order_by("next_appearance", "id")


def brief_get_for_user(user, pk: int) -> Brief:
    """Raises Brief.DoesNotExist for a brief that is missing or not this user's (a 404 either way)."""
    return _briefs(perms.visible_briefs(user)).get(pk=pk)


def my_briefs(user) -> QuerySet[Brief]:
    return _briefs(perms.visible_briefs(user).filter(officer=user)).order_by("state", "next_appearance", "id")


def stale_briefs(qs: QuerySet[Brief], today: date | None = None) -> QuerySet[Brief]:
    """Open briefs of open matters whose next date has passed with no hearing recorded for it."""
    today = today or timezone.localdate()
    heard = Hearing.objects.filter(brief=OuterRef("pk"), date__gte=OuterRef("next_appearance"))
    return (
        qs.filter(state__in=Brief.OPEN_STATES, next_appearance__lt=today)
        .exclude(prosecution__state__in=Prosecution.FINALISED_STATES)
        .exclude(Exists(heard))
    )


def unassigned_briefs(qs: QuerySet[Brief]) -> QuerySet[Brief]:
    return qs.filter(state=Brief.State.UNASSIGNED).exclude(
        prosecution__state__in=Prosecution.FINALISED_STATES
    )


def court_roll(user, *, start: date, end: date, mine_only: bool = True) -> list[dict]:
    """Expected hearings from start to end (inclusive), grouped by court, each with its last hearing;
    a matter whose hearing in the period is already recorded stays on the roll, marked done."""
    qs = perms.visible_briefs(user)
    if mine_only:
        qs = qs.filter(officer=user)
    due = Q(state__in=Brief.OPEN_STATES, next_appearance__gte=start, next_appearance__lte=end)
    heard = Q(pk__in=Hearing.objects.filter(date__gte=start, date__lte=end).values("brief"))
    briefs = list(
        _briefs(qs)
        .filter(due | heard)
        .prefetch_related("prosecution__accused", "prosecution__police_case__offence")
        .order_by("prosecution__court__name", "next_appearance", "id")
    )
    last = {}
    for h in Hearing.objects.filter(brief__in=briefs).order_by("brief_id", "-date", "-id"):
        last.setdefault(h.brief_id, h)
    done = {b: h for b, h in last.items() if start <= h.date <= end}
    open_reviews = set(
        WithdrawalReview.objects.filter(prosecution__brief__in=briefs).values_list(
            "prosecution_id", flat=True
        )
    )
    feedback_open = set(
        Feedback.objects.filter(brief__in=briefs, responded_at__isnull=True).values_list(
            "brief_id", flat=True
        )
    )
    groups: dict[int, dict] = {}
    for b in briefs:
        g = groups.setdefault(b.prosecution.court_id, {"court": b.prosecution.court, "rows": []})
        g["rows"].append(
            {
                "brief": b,
                "done": done.get(b.pk),
                "last": last.get(b.pk),
                "watch_for": watch_for(
                    b, last.get(b.pk), b.pk in feedback_open, b.prosecution_id in open_reviews
                ),
            }
        )
    return list(groups.values())


def watch_for(brief: Brief, last: Hearing | None, feedback_open: bool, reviewed: bool) -> list[str]:
    """Plain hints for the officer in court: what the last hearing promised, what is outstanding."""
    hints = []
    p = brief.prosecution
    if last is None:
        hints.append(_("First hearing on this brief: note charges, bail and the investigating officer."))
    elif last.outcome == Hearing.Outcome.POSTPONED and last.reason:
        hints.append(
            _("Last postponed for “%(reason)s”: check it is resolved.")
            % {"reason": words("reason", last.reason)}
        )
    if p.enrolments > 1:
        hints.append(_("Re-enrolled matter (enrolment %(count)s).") % {"count": p.enrolments})
    if reviewed:
        hints.append(_("Matter has been before the withdrawal committee."))
    if feedback_open:
        hints.append(_("Feedback to SAPS/NPA still awaits a response."))
    if p.state == Prosecution.State.CONVICTED:
        hints.append(_("Convicted: sentencing expected."))
    if p.state == Prosecution.State.TRIAL:
        hints.append(_("On trial: note witnesses called and absent."))
    return hints


def supervisor_overview(user, today: date | None = None) -> list[dict]:
    """Per court: unassigned and stale briefs, and the briefs watched there."""
    today = today or timezone.localdate()
    if not perms.is_brief_manager(user):
        return []
    visible = perms.visible_briefs(user)
    unassigned = unassigned_briefs(visible).values("prosecution__court").annotate(n=Count("id"))
    stale = stale_briefs(visible, today).values("prosecution__court").annotate(n=Count("id"))
    active = visible.filter(state__in=Brief.OPEN_STATES).values("prosecution__court").annotate(n=Count("id"))
    counts: dict[int, dict] = {}
    for key, rows in (("unassigned", unassigned), ("stale", stale), ("open", active)):
        for r in rows:
            counts.setdefault(r["prosecution__court"], {"unassigned": 0, "stale": 0, "open": 0})[key] = r["n"]
    courts = Court.objects.filter(pk__in=counts).order_by("name")
    return [{"court": c, **counts[c.pk]} for c in courts]


def hearing_list_for_user(
    user, *, prosecution: int | None = None, brief: int | None = None
) -> QuerySet[Hearing]:
    qs = perms.visible_hearings(user).select_related("court", "new_court", "officer", "recorded_by")
    if prosecution:
        qs = qs.filter(prosecution_id=prosecution)
    if brief:
        qs = qs.filter(brief_id=brief)
    return qs


def feedback_list_for_user(user, *, brief: int | None = None) -> QuerySet[Feedback]:
    qs = perms.visible_feedback(user).select_related("brief__prosecution", "created_by")
    if brief:
        qs = qs.filter(brief_id=brief)
    return qs


def review_list_for_user(user, *, prosecution: int | None = None, state: str = "", open_only: bool = False):
    qs = perms.visible_reviews(user).select_related(
        "prosecution__court", "prosecution__police_case__station", "meeting"
    )
    if prosecution:
        qs = qs.filter(prosecution_id=prosecution)
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.exclude(state=WithdrawalReview.State.CLOSED)
    return qs.order_by("-priority_score", "flagged_at", "id")


# The queue's age filter: days since the review was flagged (the SLA: decided within 30 days).
REVIEW_AGES = ("new", "due_soon", "overdue")


def review_queue_for_user(user, *, state: str = "", court: str = "", age: str = "", now=None):
    """The committee's queue, priority first, filtered by state ("" = every open one, "all" = closed
    too), court code and age: ``new`` (under 20 days), ``due_soon`` (20–30 days, still undecided),
    ``overdue`` (undecided after 30 days)."""
    now = now or timezone.now()
    qs = review_list_for_user(user, open_only=state == "", state="" if state in ("", "all") else state)
    if court:
        qs = qs.filter(prosecution__court__code=court)
    due = now - REVIEW_OVERDUE_AFTER
    soon = now - (REVIEW_OVERDUE_AFTER - timedelta(days=10))
    if age == "new":
        qs = qs.filter(flagged_at__gte=soon)
    elif age == "due_soon":
        qs = qs.filter(state__in=WithdrawalReview.UNDECIDED_STATES, flagged_at__lt=soon, flagged_at__gte=due)
    elif age == "overdue":
        qs = overdue_reviews(qs, now)
    return qs


def review_courts(user) -> QuerySet[Court]:
    """The courts with reviews this user sees (the queue's court filter)."""
    return Court.objects.filter(prosecutions__withdrawal_reviews__in=perms.visible_reviews(user)).distinct()


def review_page_context(review: WithdrawalReview, user) -> dict:
    """What the committee reads on a review: the matter's hearings (with the watcher's notes), the
    feedback given to SAPS / NPA, and the brief when this user may open it."""
    p = review.prosecution
    brief = perms.visible_briefs(user).filter(prosecution=p).first()
    return {
        "hearings": Hearing.objects.filter(prosecution=p).select_related("officer", "new_court"),
        "feedback": Feedback.objects.filter(brief__prosecution=p).select_related("created_by"),
        "brief": brief,
        "closure": TransitionLog.for_object(review).filter(transition="close").order_by("-at", "-id").first(),
    }


def overdue_reviews(qs: QuerySet[WithdrawalReview], now=None) -> QuerySet[WithdrawalReview]:
    now = now or timezone.now()
    return qs.filter(state__in=WithdrawalReview.UNDECIDED_STATES, flagged_at__lt=now - REVIEW_OVERDUE_AFTER)


def meeting_list_for_user(user) -> QuerySet[CommitteeMeeting]:
    return perms.visible_meetings(user).prefetch_related("members")


def meeting_agenda(meeting: CommitteeMeeting) -> QuerySet[WithdrawalReview]:
    return (
        meeting.reviews.select_related(
            "prosecution__court", "prosecution__police_case__station", "decided_by"
        )
        .prefetch_related("members_present", "prosecution__accused")
        .order_by("-priority_score", "flagged_at", "id")
    )


def notification_list_for_user(user) -> QuerySet[Notification]:
    return perms.visible_notifications(user)


def week_bounds(today: date) -> tuple[date, date]:
    start = today - timedelta(days=today.weekday())
    return start, start + timedelta(days=6)
