"""Which kept days and months a change touches: what the after-commit refresh recomputes."""

from datetime import date

from django.db.models import Min

from casework.models import Incident, Prosecution, TransitionLog
from referrals.models import Admission

from ..periods import Period, months_within, sast_day, today
from .removals import prosecution_type, removal_logs


def incident_days(incident_ids) -> set[date]:
    """The SAST days whose funnel rollups these incidents count in: the days they occurred on and the
    arrival days of their admissions (whose "unknown to police" bucket follows the incident's dockets)."""
    ids = list(incident_ids)
    if not ids:
        return set()
    occurred = Incident.objects.filter(pk__in=ids).values_list("occurred_at", flat=True)
    arrivals = Admission.objects.filter(incident_id__in=ids).values_list("arrival_at", flat=True)
    return {sast_day(t) for t in [*occurred, *arrivals]}


def outcome_days(prosecution_ids) -> set[date]:
    """The SAST days whose outcome rows these prosecutions count in, now or before: the day of their
    current finalisation and of every earlier one in the log (a re-enrolment or a sentence moves a matter
    off the day it was counted on)."""
    ids = list(prosecution_ids)
    if not ids:
        return set()
    now = Prosecution.objects.filter(pk__in=ids, finalised_on__isnull=False).values_list(
        "finalised_on", flat=True
    )
    before = TransitionLog.objects.filter(
        content_type=prosecution_type(), object_id__in=ids, to_state__in=Prosecution.FINALISED_STATES
    ).values_list("at", flat=True)
    return {sast_day(t) for t in [*now, *before]}


def removal_months(prosecution_ids=None) -> set[date]:
    """The calendar months (first days) of these prosecutions' removals (all when None: every month from
    the first removal's to this one)."""
    logs = removal_logs()
    if prosecution_ids is None:
        first = logs.aggregate(m=Min("at"))["m"]
        if first is None:
            return set()
        return set(months_within(Period(sast_day(first).replace(day=1), today())))
    logs = logs.filter(object_id__in=list(prosecution_ids))
    return {sast_day(at).replace(day=1) for at in logs.values_list("at", flat=True)}
