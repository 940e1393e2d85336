"""Who may read reports, who sees small cells, and who may drill down to the prosecutions behind a figure.

The only access rules of ``reporting``; they stand on ``casework.permissions``.

- Reports and the dashboard: ``manager``, ``vpu_analyst``, ``admin``, ``court_watch_supervisor`` and
  ``committee_member`` (the committee reads conviction and removal figures for its agenda; the
  supervisor plans court-watching on them). Every other role gets 403.
- Small cells are suppressed for everyone by default: a count of 1–4 is "<5" on the page and
  ``null`` in the API and CSV (the row lists it under ``suppressed``); a rate whose denominator is
  under 5, or whose numerator is suppressed, is withheld (``null``). More counts are withheld so that
  none of those can be worked out from a total or its neighbours (complementary suppression,
  ``reporting.suppression``); the same for every role that gets suppressed figures.
- Only ``vpu_analyst`` and ``admin`` may ask for unsuppressed figures (``?unsuppressed=1``).
  A ``manager`` always gets aggregates only, suppressed.
- A figure links to the list of prosecutions it counts for users whose ``visible_prosecutions`` is
  not empty (admin, supervisor, and whoever casework / courtwatch lets see prosecutions); the list
  is always cut to what they may see. Managers and analysts get aggregates only.
- A scheduled report subscription: ``manager``, ``vpu_analyst``, ``admin``.
- Places: ``vpu_analyst`` and ``admin`` read admissions by suburb; every other reporting role (the
  manager first) by SAPS station precinct, where counts are large enough to show and where deployment
  is decided. A page never offers a link the reader's role cannot open (``report_pages``).
"""

from django.utils.translation import gettext_lazy as _

from casework import permissions as cw

REPORT_ROLES = frozenset(
    {cw.MANAGER, cw.VPU_ANALYST, cw.ADMIN, cw.COURT_WATCH_SUPERVISOR, cw.COMMITTEE_MEMBER}
)
UNSUPPRESSED_ROLES = frozenset({cw.VPU_ANALYST, cw.ADMIN})
SUBSCRIBER_ROLES = frozenset({cw.MANAGER, cw.VPU_ANALYST, cw.ADMIN})
DRILL_DOWN_ROLES = frozenset({cw.ADMIN, cw.COURT_WATCH_SUPERVISOR, cw.COMMITTEE_MEMBER})

SMALL_CELL_MAX = 4  # counts 1..4 are suppressed
MIN_DENOMINATOR = 5  # a rate over fewer than 5 is withheld


def may_view_reports(user) -> bool:
    return bool(cw.roles_of(user) & REPORT_ROLES)


def may_see_unsuppressed(user) -> bool:
    return bool(cw.roles_of(user) & UNSUPPRESSED_ROLES)


def suppress_for(user, *, unsuppressed_requested: bool) -> bool:
    """Whether small cells are suppressed for this request."""
    return not (unsuppressed_requested and may_see_unsuppressed(user))


def may_drill_down(user) -> bool:
    return bool(cw.roles_of(user) & DRILL_DOWN_ROLES)


def drill_down_prosecutions(user):
    """The prosecutions a drill-down list may show to this user (empty for aggregate-only roles)."""
    if not may_drill_down(user):
        return cw.visible_prosecutions(user).none()
    return cw.visible_prosecutions(user)


def may_subscribe(user) -> bool:
    return bool(cw.roles_of(user) & SUBSCRIBER_ROLES)


def place_level(user) -> str:
    """ "suburb" or "station": the finest place this user reads admissions by (hotspots, the map)."""
    return "suburb" if may_see_unsuppressed(user) else "station"


# (url name, label, who may open it): the reports index and the reports bar list only what opens.
REPORT_PAGES = (
    ("reporting:dashboard", _("Incident dashboard"), may_view_reports),
    ("reporting:hotspots", _("Hotspots and spike alerts"), may_view_reports),
    ("reporting:map", _("Map of admissions"), may_view_reports),
    ("reporting:conviction-rate", _("Conviction rate"), may_view_reports),
    ("reporting:attrition", _("Attrition funnel"), may_view_reports),
    ("reporting:removals", _("Removals attributable to police"), may_view_reports),
    ("reporting:re-enrolment", _("Re-enrolment outcomes"), may_view_reports),
    ("reporting:unknown-to-police", _("Unknown to police"), may_view_reports),
    ("reporting:extract", _("Monthly facility extract (ISTV)"), may_see_unsuppressed),
    ("reporting:subscriptions", _("Scheduled reports"), may_subscribe),
)


def report_pages(user) -> list[tuple[str, str]]:
    """(url name, label) of the report pages this user may open, in the index's order."""
    return [(name, label) for name, label, may in REPORT_PAGES if may(user)]
