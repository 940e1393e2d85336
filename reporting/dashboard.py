"""Reads for users over admissions: the incident dashboard, feed completeness and the ISTV extract.

The dashboard answers from the narrow rollups (``reporting.rollups``) whenever one rollup holds the
chart's dimension and every active filter; otherwise (several filters across rollups) it counts
the admissions live, which is correct but slower. Either way the result says how fresh it is.
"""

from collections import Counter
from datetime import date

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import ExtractIsoWeekDay, TruncMonth, TruncWeek
from django.utils import timezone

from casework.models import Facility, Mechanism, PlaceType, Station, Suburb
from referrals.models import AGE_BANDS, Admission

from .measures.admissions import TIME_GROUPS, WEEK_KIND, counted_live, gang_related, hour_weekday_key
from .models import AdmissionRollup, RollupStamp
from .params import DashboardFilters, ReportInputError
from .periods import SAST, Period, month_period, time_key, whole_weeks
from .suppression import TOTAL, apply, cross_table, series_table, suppress_nested

# The age bands in the order the chart draws them; "" (age unknown) last, and only when counted.
AGE_BAND_ORDER = [label for _, _, label in AGE_BANDS] + [""]
SEXES = ["female", "male", "other", "unknown"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

GROUP_BY = (
    "month",
    "week",
    "day",
    "hour",
    "weekday",
    "hour_weekday",
    "age_band",
    "sex",
    "mechanism",
    "place_type",
    "facility",
    "suburb",
    "sub_district",
    "station",
    "cluster",
)
# Groupings read by summing a finer one: grouping → the finer grouping.
FOLDED = {"sub_district": "facility", "station": "suburb", "cluster": "suburb"}
# group_by → the rollup kind that holds it (None: any kind, only the day is needed)
GROUP_KIND = {
    "month": None,
    "week": None,
    "day": None,
    "weekday": None,
    "hour": "hour",
    "hour_weekday": "hour",
    "age_band": "age_sex",
    "sex": "age_sex",
    "mechanism": "mechanism",
    "place_type": "place",
    "facility": "facility",
    "suburb": "suburb",
    "sub_district": "facility",
    "station": "suburb",
    "cluster": "suburb",
}
FILTER_KIND = {
    "facility": "facility",
    "district": "facility",
    "station": "suburb",
    "mechanism": "mechanism",
    "gang_related": "gang",
}
# Kinds keyed on two of the one-key kinds' dimensions, for the filter combinations asked most (firearm
# admissions at one hospital or in one district); the mechanism is their second key.
COMBINED_KIND = {frozenset({"facility", "mechanism"}): "facility_mechanism"}
SECOND_KEY = {("facility_mechanism", "mechanism"), ("age_sex", "sex")}  # (kind, dimension in k2)
# The hour x weekday heat map and its margins, the hour and weekday charts, are withheld together.
HOUR_FAMILY = ("hour", "weekday", "hour_weekday")
PLACES = ("facility", "sub_district", "suburb", "station", "cluster")


def _all_time_keys(group_by: str, period: Period) -> list[str]:
    keys = []
    for day in period.each_day():
        k = time_key(group_by, day)
        if not keys or keys[-1] != k:
            keys.append(k)
    return keys


def _plan(group_by: str, filters: DashboardFilters) -> str | None:
    """The one rollup kind that answers this chart with these filters, or None (count live)."""
    kinds = {FILTER_KIND[f] for f in filters.active()}
    if GROUP_KIND[group_by]:
        kinds.add(GROUP_KIND[group_by])
    if len(kinds) > 1:
        return COMBINED_KIND.get(frozenset(kinds))
    return kinds.pop() if kinds else "facility"


def _column(kind: str, dimension: str) -> str:
    """Which key of ``kind``'s rows holds the value of the one-key kind ``dimension``."""
    return "k2" if (kind, dimension) in SECOND_KEY else "k1"


def _ids(qs) -> list[str]:
    return [str(i) for i in qs.values_list("pk", flat=True)]


def _rollup_filter(filters: DashboardFilters, kind: str) -> Q:
    q = Q()
    if filters.facility:
        q &= Q(k1__in=_ids(Facility.objects.filter(code=filters.facility)))
    if filters.district:
        q &= Q(k1__in=_ids(Facility.objects.filter(district__code=filters.district)))
    if filters.station:
        q &= Q(k1__in=_ids(Suburb.objects.filter(station__code=filters.station)))
    if filters.mechanism:
        q &= Q(**{_column(kind, "mechanism"): filters.mechanism})
    if filters.gang_related is not None:
        q &= Q(k1="1" if filters.gang_related else "0")
    return q


def _live_filter(filters: DashboardFilters):
    qs = Admission.objects.all()
    if filters.facility:
        qs = qs.filter(facility__code=filters.facility)
    if filters.district:
        qs = qs.filter(facility__district__code=filters.district)
    if filters.station:
        qs = qs.filter(suburb__station__code=filters.station)
    if filters.mechanism:
        qs = qs.filter(mechanism=filters.mechanism)
    if filters.gang_related is not None:
        qs = qs.annotate(gang=gang_related()).filter(gang=filters.gang_related)
    return qs


def _suburb_counts(period: Period, filters: DashboardFilters) -> Counter:
    """Whole ISO weeks from the weekly rollup, the ragged ends from the daily one (7x fewer rows)."""
    first_monday, end_monday = whole_weeks(period)
    q = _rollup_filter(filters, "suburb")
    if first_monday >= end_monday:
        parts = [Q(kind="suburb", day__gte=period.start_date, day__lte=period.end_date)]
    else:
        parts = [
            Q(kind="suburb", day__gte=period.start_date, day__lt=first_monday),
            Q(kind=WEEK_KIND, day__gte=first_monday, day__lt=end_monday),
            Q(kind="suburb", day__gte=end_monday, day__lte=period.end_date),
        ]
    counts: Counter = Counter()
    for part in parts:
        for key, n in (
            AdmissionRollup.objects.filter(q, part).values("k1").annotate(s=Sum("n")).values_list("k1", "s")
        ):
            counts[key] += n
    return counts


def _summed(qs, *by) -> list[tuple]:
    """(…by, n) of kept rows summed by these columns or annotations."""
    return list(qs.values(*by).annotate(s=Sum("n")).values_list(*by, "s"))


def _counts_from_rollup(kind: str, group_by: str, period: Period, filters: DashboardFilters) -> Counter:
    if group_by in FOLDED:
        return _fold(group_by, _counts_from_rollup(kind, FOLDED[group_by], period, filters))
    if group_by == "suburb":
        return _suburb_counts(period, filters)
    qs = AdmissionRollup.objects.filter(
        _rollup_filter(filters, kind), kind=kind, day__gte=period.start_date, day__lte=period.end_date
    ).order_by()
    counts: Counter = Counter()
    if group_by in ("month", "week"):
        trunc = TruncMonth("day") if group_by == "month" else TruncWeek("day")
        for start, n in _summed(qs.annotate(g=trunc), "g"):
            counts[time_key(group_by, start if isinstance(start, date) else start.date())] += n
    elif group_by == "day":
        for day, n in _summed(qs, "day"):
            counts[time_key(group_by, day)] += n
    elif group_by == "weekday":
        for wd, n in _summed(qs.annotate(g=ExtractIsoWeekDay("day")), "g"):
            counts[wd] += n
    elif group_by == "hour_weekday":
        for wd, k1, n in _summed(qs.annotate(g=ExtractIsoWeekDay("day")), "g", "k1"):
            counts[hour_weekday_key(wd, int(k1))] += n
    else:
        field = _column(kind, "sex" if group_by == "sex" else GROUP_KIND[group_by])
        for key, n in _summed(qs, field):
            counts[int(key) if group_by == "hour" else key] += n
    return counts


def _parents(group_by: str) -> dict:
    """{facility / suburb id: its sub-district / station / cluster} for the coarser ``group_by``."""
    if group_by == "sub_district":
        return {str(pk): sub for pk, sub in Facility.objects.values_list("pk", "sub_district")}
    column = "station__code" if group_by == "station" else "station__cluster"
    return {str(pk): code for pk, code in Suburb.objects.values_list("pk", column)}


# A place grouping → the coarser groupings a reader also opens for the same period and filters.
NESTED_IN = {"facility": ["sub_district"], "suburb": ["station", "cluster"], "station": ["cluster"]}


def _nesting(group_by: str, keys: list) -> list[dict]:
    """The chain of parent maps of a place grouping's bars (``suppression.suppress_nested``)."""
    chain = []
    for coarser in NESTED_IN.get(group_by, []):
        if chain or group_by == "station":  # the station → cluster step
            chain.append(dict(Station.objects.values_list("code", "cluster")))
        else:
            parent = _parents(coarser)
            chain.append({k: parent.get(str(k), "") for k in keys})
    return chain


def _fold(group_by: str, counts: Counter) -> Counter:
    """The finer grouping's counts (keyed by facility / suburb id) summed into sub-districts / stations."""
    parent = _parents(group_by)
    folded: Counter = Counter()
    for key, n in counts.items():
        folded[parent.get(str(key), "")] += n
    return folded


def _labels(group_by: str) -> dict:
    if group_by == "station":
        return {code: (code, name) for code, name in Station.objects.values_list("code", "name")}
    model = {"facility": Facility, "suburb": Suburb}.get(group_by)
    if model is None:
        return {}
    return {str(pk): (code, name) for pk, code, name in model.objects.values_list("pk", "code", "name")}


def _ordered_keys(group_by: str, period: Period, counts: Counter) -> list:
    if group_by in TIME_GROUPS:
        return _all_time_keys(group_by, period)
    if group_by == "hour":
        return list(range(24))
    if group_by == "weekday":
        return list(range(1, 8))
    if group_by == "hour_weekday":
        return [hour_weekday_key(d, h) for d in range(1, 8) for h in range(24)]
    if group_by == "age_band":
        return [b for b in AGE_BAND_ORDER if b or counts.get(b)]
    if group_by == "sex":
        return [s for s in SEXES if s in counts] + [k for k in counts if k not in SEXES]
    return sorted(counts, key=lambda k: (-counts[k], str(k)))


CHOICE_LABELS = {"mechanism": Mechanism.choices, "place_type": PlaceType.choices}


def _label(group_by: str, key, labels: dict) -> str:
    if group_by == "weekday":
        return WEEKDAYS[key - 1]
    if group_by == "hour":
        return f"{key:02d}:00"
    if group_by in CHOICE_LABELS:
        return str(dict(CHOICE_LABELS[group_by]).get(key, key or "Unknown"))
    if group_by in ("facility", "suburb", "station"):
        return labels.get(key, (key, "Unknown"))[1] if key else "Unknown"
    if key == "":
        return "Unknown"
    return str(key)


def _counts(group_by: str, period: Period, filters: DashboardFilters) -> tuple[Counter, object, str]:
    kind = _plan(group_by, filters)
    if kind is None:
        return _counts_live(group_by, period, filters), timezone.now(), "live"
    counts = _counts_from_rollup(kind, group_by, period, filters)
    stamp = RollupStamp.objects.filter(kind=kind).values_list("refreshed_at", flat=True).first()
    return counts, stamp, f"rollup:{kind}"


def _counts_live(group_by: str, period: Period, filters: DashboardFilters) -> Counter:
    """The chart counted live from the admissions, whatever the rollups hold (tests compare the two)."""
    live = _live_filter(filters).filter(arrival_at__gte=period.start, arrival_at__lt=period.end)
    return counted_live(live, group_by)


def _withheld(group_by: str, counts: Counter, keys: list, hour_weekday: Counter | None) -> tuple[dict, str]:
    """{key: kind} of the bars to withhold, and the total's kind ("" when shown): the chart and its
    total as one table; the hour and weekday charts as the margins of the hour x weekday table."""
    if hour_weekday is None and group_by in PLACES:  # nested in coarser place groupings
        kinds = suppress_nested({k: counts.get(k, 0) for k in keys}, _nesting(group_by, keys))
        return {k[1]: kind for k, kind in kinds.items() if k != TOTAL}, kinds.get(TOTAL, "")
    if hour_weekday is None:
        kinds = series_table({k: counts.get(k, 0) for k in keys}).suppress()
        return {k[1]: kind for k, kind in kinds.items() if k != TOTAL}, kinds.get(TOTAL, "")
    days, hours = list(range(1, 8)), list(range(24))
    cells = {(d, h): hour_weekday.get(hour_weekday_key(d, h), 0) for d in days for h in hours}
    kinds = cross_table(cells, days, hours).suppress()
    if group_by == "hour_weekday":
        out = {hour_weekday_key(*k[1]): kind for k, kind in kinds.items() if k[0] == "cell"}
    else:
        part = "column" if group_by == "hour" else "row"
        out = {k[1]: kind for k, kind in kinds.items() if k[0] == part}
    return out, kinds.get(TOTAL, "")


def _hour_family(group_by: str, period: Period, filters: DashboardFilters):
    """The hour, weekday or heat-map chart read from the one hour x weekday table, so each withholds
    what the others do: (chart counts, heat-map counts, as of, source)."""
    hour_weekday, as_of, source = _counts("hour_weekday", period, filters)
    counts = Counter()
    for key, n in hour_weekday.items():
        day, hour = (int(x) for x in key.split("-"))
        counts[hour if group_by == "hour" else day if group_by == "weekday" else key] += n
    return counts, hour_weekday, as_of, source


def admissions_by(period: Period, group_by: str, filters: DashboardFilters, *, suppress: bool) -> dict:
    """``{"rows": [{"key", "count", "label"}], "total", "as_of", "source"}``; keys are codes for
    facility / suburb, "YYYY-MM" / "YYYY-Www" / "YYYY-MM-DD" for time, 0-23 for hour, 1-7 (Mon) for
    weekday, "weekday-hour" for the heat map. Suppressed, a withheld bar is ``None`` and names
    ``count`` under ``suppressed`` (and under ``complementary`` when it is withheld only so that a
    small one cannot be worked out); see ``reporting.suppression``."""
    if group_by not in GROUP_BY:
        raise ReportInputError({"group_by": f"'{group_by}' is not one of: {', '.join(GROUP_BY)}."})
    hour_weekday = None
    if suppress and group_by in HOUR_FAMILY:
        counts, hour_weekday, as_of, source = _hour_family(group_by, period, filters)
    else:
        counts, as_of, source = _counts(group_by, period, filters)
    labels = _labels(group_by)
    keys = _ordered_keys(group_by, period, counts)
    keys += [k for k in counts if k not in set(keys)]  # every counted key is a bar: the total is their sum
    kinds, total_kind = _withheld(group_by, counts, keys, hour_weekday) if suppress else ({}, "")
    rows = []
    for key in keys:
        out_key = labels.get(key, (key,))[0] if group_by in ("facility", "suburb") and key else key
        row = apply(
            {"key": out_key if out_key != "" else None, "count": counts.get(key, 0)},
            ["count"],
            kinds,
            lambda f, key=key: key,
        )
        row["label"] = _label(group_by, key, labels)
        rows.append(row)
    total = None if total_kind else sum(counts.values())
    return {"rows": rows, "total": total, "as_of": as_of, "source": source}


def feed_completeness(period: Period) -> list[dict]:
    """Per facility: share of the period's days with at least one admission, and the last arrival."""
    days = dict(
        AdmissionRollup.objects.filter(
            kind="facility", day__gte=period.start_date, day__lte=period.end_date, n__gt=0
        )
        .values("k1")
        .annotate(d=Count("day"))
        .values_list("k1", "d")
    )
    # The newest arrival of each facility read from the (facility, arrival) index, one short backward scan
    # each: MAX() grouped over all admissions read the whole table (0.6 s at 1M, on every dashboard page).
    newest = (
        Admission.objects.filter(facility=OuterRef("pk")).order_by("-arrival_at").values("arrival_at")[:1]
    )
    last = {
        pk: m
        for pk, m in Facility.objects.annotate(m=Subquery(newest)).values_list("pk", "m")
        if m is not None
    }
    out = []
    for pk, code, name in Facility.objects.values_list("pk", "code", "name"):
        d = days.get(str(pk), 0)
        if not d and pk not in last:
            continue
        out.append(
            {
                "facility": code,
                "label": name,
                "days_with_data": d,
                "days": period.days,
                "completeness": round(d / period.days, 3),
                "last_arrival": last.get(pk),
            }
        )
    return sorted(out, key=lambda r: (r["completeness"], r["label"]))


# ------------------------------------------------------------------ ISTV-style extract

EXTRACT_FIELDS = ["injury_time", "arrival_time", "place_type", "suburb", "mechanism"]


def istv_extract(facility: Facility, year: int, month: int) -> list[dict]:
    """One facility's admissions of one month, de-identified: times to the hour, no identifiers."""
    period = month_period(year, month)
    rows = (
        Admission.objects.filter(facility=facility, arrival_at__gte=period.start, arrival_at__lt=period.end)
        .order_by("arrival_at")
        .values_list("injury_at", "arrival_at", "place_type", "suburb__name", "mechanism")
    )

    def hour(t):
        return timezone.localtime(t, SAST).strftime("%Y-%m-%d %H:00") if t else ""

    return [
        {"injury_time": hour(i), "arrival_time": hour(a), "place_type": p, "suburb": s or "", "mechanism": m}
        for i, a, p, s, m in rows
    ]
