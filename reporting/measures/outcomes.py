"""Conviction-rate outcomes: the prosecutions finalised in a period, by grouping and state."""

from collections import Counter, defaultdict

from django.db.models import Count, Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, NullIf, TruncDate, TruncMonth

from casework.models import Incident, Mechanism, Prosecution

from ..periods import SAST, Period

S = Prosecution.State

# measure → the states it counts
MEASURES: dict[str, tuple[str, ...]] = {
    "convictions": tuple(Prosecution.CONVICTION_STATES),
    "acquittals": (S.ACQUITTED,),
    "verdicts": (*Prosecution.CONVICTION_STATES, S.ACQUITTED),
    "withdrawn": (S.WITHDRAWN,),
    "provisionally_withdrawn": (S.PROVISIONALLY_WITHDRAWN,),
    "struck_off": (S.STRUCK_OFF,),
    "diverted": (S.DIVERTED,),
    "finalised": tuple(Prosecution.FINALISED_STATES),
}
GROUP_BY = ("court", "station", "district", "offence", "mechanism", "gang_related", "month")
# The groupings kept per day (``OutcomeRollup.kind``); month and the total are the court rows summed.
KEPT_GROUP_BY = ("court", "station", "district", "offence", "mechanism", "gang_related")


def first_incident_mechanism(*, live: bool = True):
    """The mechanism of the earliest incident linked to the prosecution's docket."""
    expression = Subquery(
        Incident.objects.filter(police_cases=OuterRef("police_case"))
        .order_by("occurred_at", "id")
        .values("mechanism")[:1]
    )
    return expression if live else Coalesce(NullIf(F("report_facts__mechanism"), Value("")), expression)


def gang_related_expression(*, live: bool = False):
    """Any linked incident gang-related now. From the kept facts, falling back to the live rule for a
    prosecution whose facts are not written yet (COALESCE evaluates the subquery only then)."""
    expression = Exists(Incident.objects.filter(police_cases=OuterRef("police_case"), gang_related=True))
    return expression if live else Coalesce(F("report_facts__gang_related"), expression)


def sexual_expression():
    """Any incident linked to the prosecution's docket is a sexual assault."""
    return Exists(Incident.objects.filter(police_cases=OuterRef("police_case"), mechanism=Mechanism.SEXUAL))


def group_expression(group_by: str):
    return {
        "court": F("court__code"),
        "station": F("police_case__station__code"),
        "district": F("court__district__code"),
        "offence": F("police_case__offence__code"),
        "mechanism": first_incident_mechanism(live=False),
        "gang_related": gang_related_expression(),
        "month": TruncMonth("finalised_on", tzinfo=SAST),
    }[group_by]


def group_key(group_by: str, value):
    if group_by == "month":
        return value.astimezone(SAST).strftime("%Y-%m") if value else None
    return value


def kept_key(group_by: str, k1: str):
    """A group as ``OutcomeRollup.k1`` keeps it, back to the report's key."""
    if group_by == "gang_related":
        return k1 == "1"
    return k1 or None


def finalised_in(period: Period):
    return Prosecution.objects.filter(
        state__in=Prosecution.FINALISED_STATES, finalised_on__gte=period.start, finalised_on__lt=period.end
    )


def _gang_related_states(qs, by_day: bool):
    """(day?, gang-related, state, n) rows. Counted by (kept fact, state) — a hash aggregate over one
    join — and, only when some matters have no kept facts yet, those few again by the live rule. One
    COALESCE over both makes the planner sort every matter instead, several times slower at 1M."""
    day = ("day",) if by_day else ()
    kept = list(
        qs.order_by().values_list(*day, "report_facts__gang_related", "state").annotate(n=Count("id"))
    )
    rows = [r for r in kept if r[-3] is not None]
    if len(rows) < len(kept):
        live = qs.filter(report_facts__isnull=True).annotate(grp=gang_related_expression(live=True))
        rows += [
            (*r[:-3], bool(r[-3]), *r[-2:])
            for r in live.order_by().values_list(*day, "grp", "state").annotate(n=Count("id"))
        ]
    return rows


def outcome_counts_live(period: Period, group_by: str, *, by_day: bool = False, court: str = "") -> dict:
    """The matters finalised in the period, counted live: {group: Counter(state → n)}, or
    {(SAST day, group): …} with ``by_day`` (what ``OutcomeRollup`` keeps); ``court``: that court's only."""
    qs = finalised_in(period)
    if court:
        qs = qs.filter(court__code=court)
    if by_day:
        qs = qs.annotate(day=TruncDate("finalised_on", tzinfo=SAST))
    if group_by == "gang_related":
        rows = _gang_related_states(qs, by_day)
    else:
        day = ("day",) if by_day else ()
        grouped = qs.annotate(grp=group_expression(group_by)).order_by()
        rows = grouped.values_list(*day, "grp", "state").annotate(n=Count("id"))
    counts: dict = defaultdict(Counter)
    for *day, grp, state, n in rows:
        key = group_key(group_by, grp)
        counts[(day[0], key) if by_day else key][state] += n
    return counts
