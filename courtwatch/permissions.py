"""Who may see and do what in court watching: the only module of this app that asks guardian.

A court watcher works the briefs granted to them (guardian ``watch_brief``, direct FK table,
moved on reassignment): records hearings (which move the prosecution), feedback, and monitors
and closes the brief. A supervisor sees all briefs, assigns or reassigns them and runs their
life (monitor, close, reopen), but takes no case transition and records no hearing or feedback
(DESIGN.md; issue 10 finding 2). A committee member works the review queue and sees the
prosecutions in it. At start-up (``apps.py``) this module widens casework's scopes so a watcher
sees and may move the prosecutions of their own briefs, and a committee member sees reviewed ones.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from casework import permissions as cw
from casework.models import Prosecution

from .models import Brief, CommitteeMeeting, Feedback, Hearing, Notification, WithdrawalReview
from .outcomes import HEARING_TRANSITIONS

WATCH_BRIEF = "courtwatch.watch_brief"
BRIEF_MANAGERS = {cw.ADMIN, cw.COURT_WATCH_SUPERVISOR}
REVIEWERS = {cw.ADMIN, cw.COMMITTEE_MEMBER}
# The review queue and meetings: the reviewers, and the supervisor who follows their decisions.
QUEUE_READERS = REVIEWERS | {cw.COURT_WATCH_SUPERVISOR}


# -------------------------------------------------------------------- grants


def grant_watch(user, brief: Brief) -> None:
    assign_perm(WATCH_BRIEF, user, brief)


def revoke_watch(user, brief: Brief) -> None:
    remove_perm(WATCH_BRIEF, user, brief)


def _watched(user) -> QuerySet[Brief]:
    if not getattr(user, "is_authenticated", False):
        return Brief.objects.none()
    return get_objects_for_user(
        user, WATCH_BRIEF, klass=Brief, accept_global_perms=False, with_superuser=False
    )


def watches(user, brief: Brief) -> bool:
    return cw.has_role(user, cw.COURT_WATCHER) and _watched(user).filter(pk=brief.pk).exists()


def court_watchers() -> QuerySet:
    return get_user_model().objects.filter(groups__name=cw.COURT_WATCHER, is_active=True).distinct()


def committee_members() -> QuerySet:
    return get_user_model().objects.filter(groups__name=cw.COMMITTEE_MEMBER, is_active=True).distinct()


def supervisors() -> QuerySet:
    return get_user_model().objects.filter(groups__name=cw.COURT_WATCH_SUPERVISOR, is_active=True).distinct()


# -------------------------------------------------------------------- visibility


def visible_briefs(user) -> QuerySet[Brief]:
    roles = cw.roles_of(user)
    if roles & BRIEF_MANAGERS:
        return Brief.objects.all()
    if cw.COURT_WATCHER in roles:
        return Brief.objects.filter(pk__in=_watched(user).values("pk"))
    return Brief.objects.none()


def visible_hearings(user) -> QuerySet[Hearing]:
    return Hearing.objects.filter(brief__in=visible_briefs(user))


def visible_feedback(user) -> QuerySet[Feedback]:
    return Feedback.objects.filter(brief__in=visible_briefs(user))


def visible_reviews(user) -> QuerySet[WithdrawalReview]:
    roles = cw.roles_of(user)
    if not roles:
        return WithdrawalReview.objects.none()
    if roles & (REVIEWERS | {cw.COURT_WATCH_SUPERVISOR}):
        return WithdrawalReview.objects.all()
    # Watchers and NPA liaisons see the reviews of matters they already see (read only).
    return WithdrawalReview.objects.filter(prosecution__in=cw.visible_prosecutions(user))


def visible_meetings(user) -> QuerySet[CommitteeMeeting]:
    if cw.roles_of(user) & (REVIEWERS | {cw.COURT_WATCH_SUPERVISOR}):
        return CommitteeMeeting.objects.all()
    return CommitteeMeeting.objects.none()


def visible_notifications(user) -> QuerySet[Notification]:
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(user=user)


# -------------------------------------------------------------------- actions


def is_brief_manager(user) -> bool:
    return bool(cw.roles_of(user) & BRIEF_MANAGERS)


def may_see_roll(user) -> bool:
    return is_brief_manager(user) or cw.has_role(user, cw.COURT_WATCHER)


def may_see_review_queue(user) -> bool:
    return bool(cw.roles_of(user) & QUEUE_READERS)


def start_page(user) -> str | None:
    """Where court watching starts for this user (a URL name); None if it has no page for them."""
    roles = cw.roles_of(user)
    if roles & BRIEF_MANAGERS:
        return "courtwatch:supervisor"
    if cw.COURT_WATCHER in roles:
        return "courtwatch:my-briefs"
    if cw.COMMITTEE_MEMBER in roles:
        return "courtwatch:review-queue"
    return None


def may_work_brief(user, brief: Brief) -> bool:
    """Record hearings (they move the prosecution) and feedback on this brief: its officer, or an admin."""
    return cw.is_admin(user) or watches(user, brief)


def may_transition_brief(user, brief: Brief, name: str) -> bool:
    """A brief's own life (not the case's): the supervisor runs it, its officer monitors and closes it."""
    if is_brief_manager(user):
        return True
    return name in {"start_monitoring", "close"} and watches(user, brief)


def may_transition_review(user, review: WithdrawalReview, name: str) -> bool:
    return bool(cw.roles_of(user) & REVIEWERS)


def may_create_meeting(user) -> bool:
    return bool(cw.roles_of(user) & REVIEWERS)


# -------------------------------------------------------------------- casework extension points


def prosecution_scope(user) -> Q | None:
    roles = cw.roles_of(user)
    q = None
    if cw.COURT_WATCHER in roles:
        q = Q(pk__in=_watched(user).values("prosecution"))
    if cw.COMMITTEE_MEMBER in roles:
        reviewed = Q(pk__in=WithdrawalReview.objects.values("prosecution"))
        q = reviewed if q is None else q | reviewed
    return q


def prosecution_transition_rule(user, prosecution: Prosecution, name: str) -> bool:
    """The assigned watcher may move the matter as a hearing outcome does; a supervisor never."""
    if name not in HEARING_TRANSITIONS:
        return False
    brief = Brief.objects.filter(prosecution=prosecution).first()
    return brief is not None and watches(user, brief)


def register() -> None:
    cw.register_scope("prosecution", prosecution_scope)
    cw.register_transition_rule("prosecution", prosecution_transition_rule)
