"""The attrition funnel: admissions → incidents → referred → police case opened → referred to NPA →
prosecuted → finalised → convicted, and the reasons matters fell out, per SAST day."""

from collections import Counter, defaultdict
from datetime import date, datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate

from casework.models import Incident, PoliceCase, Prosecution, TransitionLog
from referrals.models import Admission, Referral

from ..models import FunnelReason
from ..periods import SAST

FUNNEL = [
    "admissions",
    "incidents",
    "referred",
    "police_case_opened",
    "referred_to_npa",
    "prosecuted",
    "finalised",
    "convicted",
]
PROSECUTIONS = "policecase__prosecutions"


def declined_key(reason: str) -> str:
    """A referral's free-text decline reason, normalised (lower case; none given said so)."""
    return (reason or "").strip().lower() or "no reason given"


def _arrivals(start: datetime, end: datetime):
    return (
        Admission.objects.filter(arrival_at__gte=start, arrival_at__lt=end)
        .annotate(day=TruncDate("arrival_at", tzinfo=SAST))
        .order_by()
        .values_list("day")
        .annotate(n=Count("id"))
    )


def _links(start: datetime, end: datetime):
    """The docket links of the incidents that occurred in [start, end), with the incident's SAST day."""
    return PoliceCase.incidents.through.objects.filter(
        incident__occurred_at__gte=start, incident__occurred_at__lt=end
    ).annotate(day=TruncDate("incident__occurred_at", tzinfo=SAST))


def _docket_steps(links):
    """Per day, the incidents reaching each step from the docket on: the cohort's docket links joined
    once to their prosecutions, each step counting distinct incidents."""
    # Correlated on the link (an index probe per docket): an uncorrelated ``IN (every refer_to_npa row)``
    # outgrows work_mem at 5M admissions, PostgreSQL drops the hashed subplan and rescans the log per link.
    referred_to_npa = Exists(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(PoliceCase),
            transition="refer_to_npa",
            object_id=OuterRef("policecase_id"),
        )
    )
    prosecuted = Q(**{f"{PROSECUTIONS}__isnull": False})

    def reaching(condition=None):
        return Count("incident_id", distinct=True, filter=condition)

    return (
        links.order_by()
        .values("day")
        .annotate(
            police_case_opened=reaching(),
            referred_to_npa=reaching(prosecuted | Q(referred_to_npa)),
            prosecuted=reaching(prosecuted),
            finalised=reaching(Q(**{f"{PROSECUTIONS}__state__in": Prosecution.FINALISED_STATES})),
            convicted=reaching(Q(**{f"{PROSECUTIONS}__state__in": Prosecution.CONVICTION_STATES})),
        )
    )


def _incident_steps(start: datetime, end: datetime):
    """Per day, the incidents that occurred and those referred (a referral sent, or a docket exists)."""
    has_docket = Exists(PoliceCase.incidents.through.objects.filter(incident_id=OuterRef("pk")))
    was_sent = Exists(
        Referral.objects.filter(admission__incident_id=OuterRef("pk")).exclude(state=Referral.State.PENDING)
    )
    return (
        Incident.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(day=TruncDate("occurred_at", tzinfo=SAST))
        .order_by()
        .values("day")
        .annotate(incidents=Count("pk"), referred=Count("pk", filter=Q(has_docket) | Q(was_sent)))
    )


def _reasons(start: datetime, end: datetime, links) -> set:
    """(day, kind, reason, object id) of the removed prosecutions, closed dockets and declined referrals
    of the incidents that occurred in [start, end)."""
    reasons = set()
    removed = links.filter(**{f"{PROSECUTIONS}__state__in": Prosecution.REMOVED_STATES})
    for day, reason, pk in removed.values_list(
        "day", f"{PROSECUTIONS}__removal_reason", f"{PROSECUTIONS}__pk"
    ):
        reasons.add((day, FunnelReason.Kind.WITHDRAWAL.value, reason, pk))
    closed = links.filter(policecase__state__in=PoliceCase.CLOSED_STATES)
    for day, state, pk in closed.values_list("day", "policecase__state", "policecase_id"):
        reasons.add((day, FunnelReason.Kind.CLOSURE.value, state, pk))
    declined = Referral.objects.filter(
        state=Referral.State.DECLINED,
        admission__incident__occurred_at__gte=start,
        admission__incident__occurred_at__lt=end,
    ).annotate(day=TruncDate("admission__incident__occurred_at", tzinfo=SAST))
    for day, reason, pk in declined.values_list("day", "decline_reason", "pk"):
        reasons.add((day, FunnelReason.Kind.DECLINED.value, declined_key(reason), pk))
    return reasons


def funnel_by_day(start: datetime, end: datetime) -> tuple[dict[date, Counter], set]:
    """The funnel counts per SAST day of the admissions arriving and incidents occurring in [start, end),
    and the (day, kind, reason, object id) of the removed prosecutions, closed dockets and declined
    referrals of those incidents (day: when the incident occurred), counted from the live tables.

    Set-based for any span (one grouped query per step, a correlated index probe per link rather than an
    ``IN`` over a whole table): the nightly rebuild counts a month of days in one pass."""
    by_day: dict[date, Counter] = defaultdict(Counter)
    for day, n in _arrivals(start, end):
        by_day[day]["admissions"] = n
    if not Incident.objects.filter(occurred_at__gte=start, occurred_at__lt=end).exists():
        # A day not kept is, once the reactions have run, a day with no incident: its dockets, matters
        # and reasons are none. Their queries start from every removed matter or declined referral and
        # cost ~300 ms at 100,000 incidents, so the attrition page skips them (one index probe instead).
        return by_day, set()
    links = _links(start, end)
    for r in [*_docket_steps(links), *_incident_steps(start, end)]:
        by_day[r.pop("day")].update(r)
    return by_day, _reasons(start, end, links)


def funnel_live(start: datetime, end: datetime) -> tuple[Counter, set]:
    """The funnel counts of [start, end) and its (kind, reason, object id) reasons, from the live tables.
    Incidents partition by the day they occurred, so the period's distinct counts are the days' sums."""
    by_day, reasons = funnel_by_day(start, end)
    return sum(by_day.values(), Counter()), {(kind, reason, pk) for _, kind, reason, pk in reasons}
