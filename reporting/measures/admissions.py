"""The incident dashboard's counts of EC violence admissions, by SAST day and one or two keys."""

from collections import Counter

from django.db.models import Count, F, Value
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay, TruncDate

from ..periods import SAST, time_key

TIME_GROUPS = ("month", "week", "day")


def gang_related():
    """Rule: the linked incident's standing assertion; without an incident, the EC's 'gang suspected'."""
    return Coalesce(F("incident__gang_related"), F("gang_suspected"), Value(False))


# kind → (k1 expression, k2 expression or None); each kind is one chart's rollup.
KINDS = {
    "facility": (F("facility_id"), None),
    "mechanism": (F("mechanism"), None),
    "suburb": (F("suburb_id"), None),
    "hour": (ExtractHour("arrival_at", tzinfo=SAST), None),
    "age_sex": (F("age_band"), F("sex")),
    "place": (F("place_type"), None),
    "gang": (gang_related(), None),
    "facility_mechanism": (F("facility_id"), F("mechanism")),
}
WEEK_KIND = "suburb_week"  # suburb x ISO week (day = the Monday), summed from the daily suburb rows


def key_text(value) -> str:
    """A key as the rollups keep it: "" for none, "1" / "0" for a yes / no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def per_day(admissions, kind: str):
    """(SAST day, k1, k2, n) of these admissions by one rollup kind's keys."""
    k1, k2 = KINDS[kind]
    return (
        admissions.annotate(
            rday=TruncDate("arrival_at", tzinfo=SAST), rk1=k1, rk2=k2 if k2 is not None else Value("")
        )
        .order_by()
        .values_list("rday", "rk1", "rk2")
        .annotate(cnt=Count("id"))
    )


def hour_weekday_key(weekday: int, hour: int) -> str:
    return f"{weekday}-{hour:02d}"


LIVE_EXPRESSIONS = {
    "hour": lambda: ExtractHour("arrival_at", tzinfo=SAST),
    "age_band": lambda: F("age_band"),
    "sex": lambda: F("sex"),
    "mechanism": lambda: F("mechanism"),
    "place_type": lambda: F("place_type"),
    "facility": lambda: F("facility_id"),
    "suburb": lambda: F("suburb_id"),
    "sub_district": lambda: F("facility__sub_district"),
    "station": lambda: F("suburb__station__code"),
    "cluster": lambda: F("suburb__station__cluster"),
}


def counted_live(admissions, group_by: str) -> Counter:
    """These admissions counted by one dashboard dimension, straight from the table."""
    counts: Counter = Counter()
    if group_by in TIME_GROUPS or group_by == "weekday":
        rows = admissions.annotate(g=TruncDate("arrival_at", tzinfo=SAST)).order_by().values("g")
        for r in rows.annotate(n=Count("id")):
            counts[r["g"].isoweekday() if group_by == "weekday" else time_key(group_by, r["g"])] += r["n"]
    elif group_by == "hour_weekday":
        rows = admissions.annotate(
            wd=ExtractIsoWeekDay("arrival_at", tzinfo=SAST), h=ExtractHour("arrival_at", tzinfo=SAST)
        )
        for r in rows.order_by().values("wd", "h").annotate(n=Count("id")):
            counts[hour_weekday_key(r["wd"], r["h"])] += r["n"]
    else:
        rows = admissions.annotate(g=LIVE_EXPRESSIONS[group_by]()).order_by().values("g")
        for r in rows.annotate(n=Count("id")):
            key = r["g"]
            counts[key if group_by == "hour" else ("" if key is None else str(key))] += r["n"]
    return counts
