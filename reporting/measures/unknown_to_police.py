"""Unknown to police: admissions with no docket linked to their incident after 7, 30 and 90 days."""

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.db.models import Case, CharField, Count, ExpressionWrapper, OuterRef, Q, Subquery, Value, When
from django.db.models import DateField as DateFieldType
from django.db.models.functions import Coalesce, TruncDate

from casework.models import PoliceCase
from referrals.models import Admission

from ..periods import SAST

UNKNOWN_DAYS = (7, 30, 90)
UNKNOWN_GROUP_BY = ("facility", "suburb", "mechanism")
UNKNOWN_GROUP_FIELD = {"facility": "facility__code", "suburb": "suburb__code", "mechanism": "mechanism"}
# docket bucket (k2 of the unknown_* rollups) → the windows in which that admission is still unknown
UNKNOWN_IN = {n: [b for b in ("7", "30", "90", "") if b == "" or int(b) > n] for n in UNKNOWN_DAYS}


def with_docket_bucket(qs):
    """Annotate each admission's SAST ``arrival_day`` and its ``bucket``: "7" / "30" / "90" when its
    incident's first docket was opened on or before the arrival day + that many days, "" when not (or
    no docket). One index probe per admission: a bucket built from a separate "first docket" subquery
    repeats it in every WHEN."""
    deadlines = {
        n: ExpressionWrapper(OuterRef("arrival_day") + timedelta(days=n), output_field=DateFieldType())
        for n in UNKNOWN_DAYS
    }
    first_docket = (
        PoliceCase.objects.filter(incidents=OuterRef("incident_id"))
        .order_by("opened_on")
        .annotate(
            bucket=Case(
                *[When(opened_on__lte=deadlines[n], then=Value(str(n))) for n in UNKNOWN_DAYS],
                default=Value(""),
                output_field=CharField(),
            )
        )
        .values("bucket")[:1]
    )
    return qs.annotate(arrival_day=TruncDate("arrival_at", tzinfo=SAST)).annotate(
        bucket=Coalesce(Subquery(first_docket), Value(""))
    )


def unknown_live(start: datetime, end: datetime, group_by: str, now: datetime) -> dict:
    """{group: Counter(eligible_Nd, unknown_Nd)} of the admissions that arrived in [start, end), live."""
    group_field = UNKNOWN_GROUP_FIELD[group_by]
    qs = with_docket_bucket(Admission.objects.filter(arrival_at__gte=start, arrival_at__lt=end))
    eligible = {
        f"eligible_{n}d": Count("id", filter=Q(arrival_at__lte=now - timedelta(days=n))) for n in UNKNOWN_DAYS
    }
    groups: dict = defaultdict(Counter)
    for r in qs.order_by().values(group_field, "bucket").annotate(**eligible):
        key, bucket = r.pop(group_field), r.pop("bucket")
        groups[key].update(r)
        groups[key].update(
            {f"unknown_{n}d": r[f"eligible_{n}d"] for n in UNKNOWN_DAYS if bucket in UNKNOWN_IN[n]}
        )
    return groups
