"""What waits for court watchers, their supervisors and the committee (the start page's counts).

Registered from ``menus.register``; counted over what ``permissions`` lets this user see.
"""

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from casework.permissions import COMMITTEE_MEMBER, COURT_WATCHER
from casework.waiting import Waiting, link, register

from . import permissions as perms
from . import selectors
from .models import Brief, WithdrawalReview
from .permissions import BRIEF_MANAGERS, QUEUE_READERS


def _watcher(user):
    today = timezone.localdate()
    mine = perms.visible_briefs(user).filter(officer=user, state__in=Brief.OPEN_STATES)
    n = mine.filter(next_appearance=today).count()
    text = ngettext("%(n)s matter on today's roll", "%(n)s matters on today's roll", n) % {"n": n}
    yield Waiting(n, text, link("courtwatch:roll", query="period=today"))
    stale = selectors.stale_briefs(mine, today).count()
    if stale:
        text = ngettext(
            "%(n)s brief whose last date has no hearing recorded",
            "%(n)s briefs whose last date has no hearing recorded",
            stale,
        ) % {"n": stale}
        yield Waiting(stale, text, link("courtwatch:my-briefs"))


def _supervisor(user):
    briefs = perms.visible_briefs(user)
    n = selectors.unassigned_briefs(briefs).count()
    text = ngettext("%(n)s brief to assign", "%(n)s briefs to assign", n) % {"n": n}
    yield Waiting(n, text, link("courtwatch:supervisor"))
    stale = selectors.stale_briefs(briefs).count()
    if stale:
        text = ngettext("%(n)s stale brief", "%(n)s stale briefs", stale) % {"n": stale}
        yield Waiting(stale, text, link("courtwatch:supervisor"))


def _committee(user):
    today = timezone.localdate()
    meeting = perms.visible_meetings(user).filter(date__gte=today).order_by("date", "id").first()
    if meeting is not None:
        n = meeting.reviews.count()
        day = _("today") if meeting.date == today else formats.date_format(meeting.date, "l j F")
        text = ngettext(
            "%(n)s review on the agenda of %(day)s", "%(n)s reviews on the agenda of %(day)s", n
        ) % {"n": n, "day": day}
        yield Waiting(n, text, link("courtwatch:meeting-detail", meeting.pk))
    flagged = perms.visible_reviews(user).filter(state=WithdrawalReview.State.FLAGGED).count()
    text = ngettext(
        "%(n)s flagged review not yet on an agenda", "%(n)s flagged reviews not yet on an agenda", flagged
    ) % {"n": flagged}
    yield Waiting(flagged, text, link("courtwatch:review-queue", query="state=flagged"))


def register_counters() -> None:
    register(20, {COURT_WATCHER}, _watcher)
    register(30, BRIEF_MANAGERS, _supervisor)
    register(40, QUEUE_READERS | {COMMITTEE_MEMBER}, _committee)
