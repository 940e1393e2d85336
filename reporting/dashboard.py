"""Reads over admissions: the incident dashboard, hotspots and spike alerts, attrition, unknown to police.

The dashboard answers from the narrow rollups (``reporting.rollups``) whenever one rollup holds the
chart's dimension and every active filter; otherwise (several filters across rollups) it counts
the admissions live, which is correct but slower. Either way the result says how fresh it is.
"""

import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models import DateField as DateFieldType
from django.db.models.functions import (
    Coalesce,
    ExtractHour,
    ExtractIsoWeekDay,
    TruncDate,
    TruncMonth,
    TruncWeek,
)
from django.utils import timezone

from casework.models import (
    Facility,
    Incident,
    Mechanism,
    PlaceType,
    PoliceCase,
    Prosecution,
    Suburb,
    TransitionLog,
)

from . import definitions
from .models import AdmissionRollup, FunnelReason, FunnelRollup, RollupStamp
from .params import SAST, DashboardFilters, Period, ReportInputError
from .rollups import WEEK_KIND, _gang_expression, day_runs
from .suppression import (
    SMALL,
    TOTAL,
    Table,
    apply,
    cross_table,
    is_small,
    series_table,
    suppress_count,
    suppress_grouped,
    with_rates,
)

AGE_BANDS = ["0-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65+", ""]
SEXES = ["female", "male", "other", "unknown"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

TIME_GROUPS = ("month", "week", "day")
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
)
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
}
FILTER_KIND = {
    "facility": "facility",
    "district": "facility",
    "station": "suburb",
    "mechanism": "mechanism",
    "gang_related": "gang",
}


def _admissions():
    from referrals.models import Admission

    return Admission.objects.all()


def _time_key(group_by: str, day: date) -> str:
    if group_by == "month":
        return day.strftime("%Y-%m")
    if group_by == "week":
        y, w, _ = day.isocalendar()
        return f"{y}-W{w:02d}"
    return day.isoformat()


def _all_time_keys(group_by: str, period: Period) -> list[str]:
    keys, day = [], period.start_date
    while day <= period.end_date:
        k = _time_key(group_by, day)
        if not keys or keys[-1] != k:
            keys.append(k)
        day += timedelta(days=1)
    return keys


def _hw_key(weekday: int, hour: int) -> str:
    return f"{weekday}-{hour:02d}"


# Kinds keyed on two of the one-key kinds' dimensions, for the filter combinations asked most (firearm
# admissions at one hospital or in one district); the mechanism is their second key.
COMBINED_KIND = {frozenset({"facility", "mechanism"}): "facility_mechanism"}
SECOND_KEY = {("facility_mechanism", "mechanism"), ("age_sex", "sex")}  # (kind, dimension in k2)


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


def _rollup_filter(filters: DashboardFilters, kind: str) -> Q:
    q = Q()
    if filters.facility:
        q &= Q(
            k1__in=[
                str(i) for i in Facility.objects.filter(code=filters.facility).values_list("pk", flat=True)
            ]
        )
    if filters.district:
        ids = Facility.objects.filter(district__code=filters.district).values_list("pk", flat=True)
        q &= Q(k1__in=[str(i) for i in ids])
    if filters.station:
        q &= Q(
            k1__in=[
                str(i)
                for i in Suburb.objects.filter(station__code=filters.station).values_list("pk", flat=True)
            ]
        )
    if filters.mechanism:
        q &= Q(**{_column(kind, "mechanism"): filters.mechanism})
    if filters.gang_related is not None:
        q &= Q(k1="1" if filters.gang_related else "0")
    return q


def _live_filter(filters: DashboardFilters):
    qs = _admissions()
    if filters.facility:
        qs = qs.filter(facility__code=filters.facility)
    if filters.district:
        qs = qs.filter(facility__district__code=filters.district)
    if filters.station:
        qs = qs.filter(suburb__station__code=filters.station)
    if filters.mechanism:
        qs = qs.filter(mechanism=filters.mechanism)
    if filters.gang_related is not None:
        qs = qs.annotate(gang=_gang_expression()).filter(gang=filters.gang_related)
    return qs


def _suburb_counts(period: Period, filters: DashboardFilters) -> Counter:
    """Whole ISO weeks from the weekly rollup, the ragged ends from the daily one (7x fewer rows)."""
    first_monday = period.start_date + timedelta(days=-period.start_date.weekday() % 7)
    end_monday = (period.end_date + timedelta(days=1)) - timedelta(
        days=(period.end_date + timedelta(days=1)).weekday()
    )
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


def _counts_from_rollup(kind: str, group_by: str, period: Period, filters: DashboardFilters) -> Counter:
    if group_by == "suburb":
        return _suburb_counts(period, filters)
    qs = AdmissionRollup.objects.filter(
        _rollup_filter(filters, kind), kind=kind, day__gte=period.start_date, day__lte=period.end_date
    )
    counts: Counter = Counter()
    qs = qs.order_by()
    if group_by in ("month", "week"):
        trunc = TruncMonth("day") if group_by == "month" else TruncWeek("day")
        for start, n in qs.annotate(g=trunc).values("g").annotate(s=Sum("n")).values_list("g", "s"):
            counts[_time_key(group_by, start if isinstance(start, date) else start.date())] += n
    elif group_by == "day":
        for day, n in qs.values("day").annotate(s=Sum("n")).values_list("day", "s"):
            counts[_time_key(group_by, day)] += n
    elif group_by == "weekday":
        for wd, n in (
            qs.annotate(g=ExtractIsoWeekDay("day")).values("g").annotate(s=Sum("n")).values_list("g", "s")
        ):
            counts[wd] += n
    elif group_by == "hour_weekday":
        rows = qs.annotate(g=ExtractIsoWeekDay("day")).values("g", "k1").annotate(s=Sum("n"))
        for wd, k1, n in rows.values_list("g", "k1", "s"):
            counts[_hw_key(wd, int(k1))] += n
    else:
        field = _column(kind, "sex" if group_by == "sex" else GROUP_KIND[group_by])
        for key, n in qs.values(field).annotate(s=Sum("n")).values_list(field, "s"):
            counts[int(key) if group_by == "hour" else key] += n
    return counts


def _counts_live(group_by: str, period: Period, filters: DashboardFilters) -> Counter:
    qs = _live_filter(filters).filter(arrival_at__gte=period.start, arrival_at__lt=period.end)
    expressions = {
        "hour": ExtractHour("arrival_at", tzinfo=SAST),
        "age_band": F("age_band"),
        "sex": F("sex"),
        "mechanism": F("mechanism"),
        "place_type": F("place_type"),
        "facility": F("facility_id"),
        "suburb": F("suburb_id"),
    }
    counts: Counter = Counter()
    if group_by in TIME_GROUPS or group_by == "weekday":
        rows = (
            qs.annotate(g=TruncDate("arrival_at", tzinfo=SAST)).order_by().values("g").annotate(n=Count("id"))
        )
        for r in rows:
            counts[r["g"].isoweekday() if group_by == "weekday" else _time_key(group_by, r["g"])] += r["n"]
    elif group_by == "hour_weekday":
        rows = (
            qs.annotate(
                wd=ExtractIsoWeekDay("arrival_at", tzinfo=SAST), h=ExtractHour("arrival_at", tzinfo=SAST)
            )
            .order_by()
            .values("wd", "h")
            .annotate(n=Count("id"))
        )
        for r in rows:
            counts[_hw_key(r["wd"], r["h"])] += r["n"]
    else:
        rows = qs.annotate(g=expressions[group_by]).order_by().values("g").annotate(n=Count("id"))
        for r in rows:
            key = r["g"]
            counts[key if group_by == "hour" else ("" if key is None else str(key))] += r["n"]
    return counts


def _labels(group_by: str) -> dict:
    if group_by == "facility":
        return {
            str(pk): (code, name) for pk, code, name in Facility.objects.values_list("pk", "code", "name")
        }
    if group_by == "suburb":
        return {str(pk): (code, name) for pk, code, name in Suburb.objects.values_list("pk", "code", "name")}
    return {}


def _ordered_keys(group_by: str, period: Period, counts: Counter) -> list:
    if group_by in TIME_GROUPS:
        return _all_time_keys(group_by, period)
    if group_by == "hour":
        return list(range(24))
    if group_by == "weekday":
        return list(range(1, 8))
    if group_by == "hour_weekday":
        return [_hw_key(d, h) for d in range(1, 8) for h in range(24)]
    if group_by == "age_band":
        return [b for b in AGE_BANDS if b or counts.get(b)]
    if group_by == "sex":
        return [s for s in SEXES if s in counts] + [k for k in counts if k not in SEXES]
    return sorted(counts, key=lambda k: (-counts[k], str(k)))


def _label(group_by: str, key, labels: dict) -> str:
    if group_by == "weekday":
        return WEEKDAYS[key - 1]
    if group_by == "hour":
        return f"{key:02d}:00"
    if group_by == "mechanism":
        return str(dict(Mechanism.choices).get(key, key or "Unknown"))
    if group_by == "place_type":
        return str(dict(PlaceType.choices).get(key, key or "Unknown"))
    if group_by in ("facility", "suburb"):
        return labels.get(key, (key, "Unknown"))[1] if key else "Unknown"
    if key == "":
        return "Unknown"
    return str(key)


# The hour x weekday heat map and its margins, the hour and weekday charts, are withheld together.
HOUR_FAMILY = ("hour", "weekday", "hour_weekday")


def _counts(group_by: str, period: Period, filters: DashboardFilters) -> tuple[Counter, object, str]:
    kind = _plan(group_by, filters)
    if kind is None:
        return _counts_live(group_by, period, filters), timezone.now(), "live"
    counts = _counts_from_rollup(kind, group_by, period, filters)
    stamp = RollupStamp.objects.filter(kind=kind).values_list("refreshed_at", flat=True).first()
    return counts, stamp, f"rollup:{kind}"


def _withheld(group_by: str, counts: Counter, keys: list, hour_weekday: Counter | None) -> tuple[dict, str]:
    """{key: kind} of the bars to withhold, and the total's kind ("" when shown): the chart and its
    total as one table; the hour and weekday charts as the margins of the hour x weekday table."""
    if hour_weekday is None:
        kinds = series_table({k: counts.get(k, 0) for k in keys}).suppress()
        return {k[1]: kind for k, kind in kinds.items() if k != TOTAL}, kinds.get(TOTAL, "")
    days, hours = list(range(1, 8)), list(range(24))
    cells = {(d, h): hour_weekday.get(_hw_key(d, h), 0) for d in days for h in hours}
    kinds = cross_table(cells, days, hours).suppress()
    if group_by == "hour_weekday":
        out = {_hw_key(*k[1]): kind for k, kind in kinds.items() if k[0] == "cell"}
    else:
        part = "column" if group_by == "hour" else "row"
        out = {k[1]: kind for k, kind in kinds.items() if k[0] == part}
    return out, kinds.get(TOTAL, "")


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
        # One table for the three charts, so each withholds what the others do.
        hour_weekday, as_of, source = _counts("hour_weekday", period, filters)
        counts = Counter()
        for key, n in hour_weekday.items():
            day, hour = (int(x) for x in key.split("-"))
            counts[hour if group_by == "hour" else day if group_by == "weekday" else key] += n
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
    last = dict(
        _admissions()
        .order_by()
        .values("facility_id")
        .annotate(m=Max("arrival_at"))
        .values_list("facility_id", "m")
    )
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


# ------------------------------------------------------------------ hotspots and spike alerts

BASELINE_WEEKS = 8
ALERT_P = 0.01
ALERT_MIN_COUNT = 3
HOTSPOT_FIELDS = [
    "suburb",
    "label",
    "station",
    "recent",
    "previous",
    "change",
    "change_ratio",
    "rank_by_count",
    "rank_by_change",
]


def _poisson_terms(lam: float):
    """P(X = 0), P(X = 1), … for X ~ Poisson(lam), each from its logarithm (no underflow for large lam)."""
    k = 0
    while True:
        yield math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1))
        k += 1


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    cdf = 0.0
    for i, term in enumerate(_poisson_terms(lam)):
        if i >= k:
            break
        cdf += term
    return max(0.0, 1.0 - cdf)


def poisson_upper_limit(lam: float, p: float = ALERT_P) -> int:
    """The smallest k with P(X >= k) < p: a count at or above it is a spike (one pass, O(k))."""
    cdf = 0.0
    for k, term in enumerate(_poisson_terms(lam)):
        if 1.0 - cdf < p:  # 1 - cdf = P(X >= k)
            return k
        cdf += term


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def hotspots(*, weeks: int = 4, suppress: bool, today: date | None = None) -> dict:
    """Suburbs ranked by admissions in the last ``weeks`` complete ISO weeks and by change against the
    ``weeks`` before; spike alerts per suburb per week (Poisson upper limit over the trailing
    ``BASELINE_WEEKS`` weeks; docs/reporting.md)."""
    today = today or timezone.localdate()
    this_week = _week_start(today)
    recent_start = this_week - timedelta(weeks=weeks)
    previous_start = recent_start - timedelta(weeks=weeks)
    first = min(previous_start, recent_start - timedelta(weeks=BASELINE_WEEKS))
    weekly: dict[str, Counter] = defaultdict(Counter)
    rows = (
        AdmissionRollup.objects.filter(kind=WEEK_KIND, day__gte=first, day__lt=this_week)
        .exclude(k1="")
        .values_list("day", "k1", "n")
    )
    for monday, k1, n in rows:
        weekly[k1][monday] += n
    suburbs = {
        str(pk): (code, name, st)
        for pk, code, name, st in Suburb.objects.values_list("pk", "code", "name", "station__name")
    }
    table = []
    alerts = []
    week_starts = [recent_start + timedelta(weeks=i) for i in range(weeks)]
    for k1, by_week in weekly.items():
        recent = sum(by_week[w] for w in week_starts)
        previous = sum(by_week[previous_start + timedelta(weeks=i)] for i in range(weeks))
        code, name, station = suburbs.get(k1, (k1, k1, ""))
        table.append(
            {
                "suburb": code,
                "label": name,
                "station": station,
                "recent": recent,
                "previous": previous,
                "change": recent - previous,
                "change_ratio": round(recent / previous, 2) if previous else None,
            }
        )
        for w in week_starts:
            base = [by_week[w - timedelta(weeks=i)] for i in range(1, BASELINE_WEEKS + 1)]
            lam = max(sum(base) / BASELINE_WEEKS, 0.5)
            observed = by_week[w]
            limit = poisson_upper_limit(lam)
            if observed >= ALERT_MIN_COUNT and observed >= limit:
                y, wk, _ = w.isocalendar()
                alerts.append(
                    {
                        "suburb": code,
                        "label": name,
                        "week": f"{y}-W{wk:02d}",
                        "week_start": w.isoformat(),
                        "observed": suppress_count(observed, suppress),
                        "baseline": round(lam, 2),
                        "upper_limit": limit,
                        "p_value": round(poisson_sf(observed, lam), 5),
                    }
                )
    by_count = sorted(table, key=lambda r: (-r["recent"], r["label"]))
    for i, r in enumerate(by_count, 1):
        r["rank_by_count"] = i
    for i, r in enumerate(sorted(table, key=lambda r: (-r["change"], r["label"])), 1):
        r["rank_by_change"] = i
    for r in table:
        for f in ("recent", "previous"):
            if suppress and r[f] is not None and 0 < r[f] <= 4:
                r.setdefault("suppressed", []).append(f)
                r[f] = None
        if r.get("suppressed"):
            r["change"], r["change_ratio"] = None, None
            r["suppressed"] += ["change", "change_ratio"]
    alerts.sort(key=lambda a: (a["week_start"], -a["p_value"] if a["p_value"] else 0), reverse=True)
    stamp = RollupStamp.objects.filter(kind="suburb").values_list("refreshed_at", flat=True).first()
    return {
        "definitions": {
            "recent": (
                f"Admissions in the last {weeks} complete ISO weeks (Mon-Sun, SAST), "
                f"{recent_start} to {this_week - timedelta(days=1)}."
            ),
            "previous": f"Admissions in the {weeks} weeks before that.",
            "alert": (
                f"A suburb-week is a spike when it has at least {ALERT_MIN_COUNT} admissions and "
                f"P(X >= observed) < {ALERT_P} for X ~ Poisson(mean of the suburb's {BASELINE_WEEKS} "
                "preceding weeks, at least 0.5)."
            ),
        },
        "rows": by_count,
        "alerts": alerts,
        "as_of": stamp,
    }


# ------------------------------------------------------------------ attrition funnel

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


def _declined_key(reason: str) -> str:
    return (reason or "").strip().lower() or "no reason given"


def funnel_by_day(start: datetime, end: datetime) -> tuple[dict[date, Counter], set]:
    """The funnel counts per SAST day of the admissions arriving and incidents occurring in [start, end),
    and the (day, kind, reason, object id) of the removed prosecutions, closed dockets and declined
    referrals of those incidents (day: when the incident occurred), counted from the live tables.

    Set-based for any span (one grouped query per step, a correlated index probe per link rather than an
    ``IN`` over a whole table): the nightly rebuild counts a month of days in one pass."""
    from referrals.models import Referral

    in_period = {"occurred_at__gte": start, "occurred_at__lt": end}
    by_day: dict[date, Counter] = defaultdict(Counter)
    arrivals = (
        _admissions()
        .filter(arrival_at__gte=start, arrival_at__lt=end)
        .annotate(day=TruncDate("arrival_at", tzinfo=SAST))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
    )
    for r in arrivals:
        by_day[r["day"]]["admissions"] = r["n"]
    # The cohort's docket links joined once to their prosecutions; each step counts distinct incidents.
    links = PoliceCase.incidents.through.objects.filter(
        **{f"incident__{k}": v for k, v in in_period.items()}
    ).annotate(day=TruncDate("incident__occurred_at", tzinfo=SAST))
    # Correlated on the link (an index probe per docket): an uncorrelated ``IN (every refer_to_npa row)``
    # outgrows work_mem at 5M admissions, PostgreSQL drops the hashed subplan and rescans the log per link.
    referred_to_npa = Exists(
        TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(PoliceCase),
            transition="refer_to_npa",
            object_id=OuterRef("policecase_id"),
        )
    )
    pros = "policecase__prosecutions"
    steps = (
        links.order_by()
        .values("day")
        .annotate(
            police_case_opened=Count("incident_id", distinct=True),
            referred_to_npa=Count(
                "incident_id", distinct=True, filter=Q(**{f"{pros}__isnull": False}) | Q(referred_to_npa)
            ),
            prosecuted=Count("incident_id", distinct=True, filter=Q(**{f"{pros}__isnull": False})),
            finalised=Count(
                "incident_id", distinct=True, filter=Q(**{f"{pros}__state__in": Prosecution.FINALISED_STATES})
            ),
            convicted=Count(
                "incident_id",
                distinct=True,
                filter=Q(**{f"{pros}__state__in": Prosecution.CONVICTION_STATES}),
            ),
        )
    )
    for r in steps:
        by_day[r.pop("day")].update(r)
    has_docket = Exists(PoliceCase.incidents.through.objects.filter(incident_id=OuterRef("pk")))
    was_sent = Exists(
        Referral.objects.filter(admission__incident_id=OuterRef("pk")).exclude(state=Referral.State.PENDING)
    )
    incidents = (
        Incident.objects.filter(**in_period)
        .annotate(day=TruncDate("occurred_at", tzinfo=SAST))
        .order_by()
        .values("day")
        .annotate(incidents=Count("pk"), referred=Count("pk", filter=Q(has_docket) | Q(was_sent)))
    )
    for r in incidents:
        by_day[r.pop("day")].update(r)
    reasons = set()
    removed = links.filter(**{f"{pros}__state__in": Prosecution.REMOVED_STATES})
    for day, reason, pk in removed.values_list("day", f"{pros}__removal_reason", f"{pros}__pk"):
        reasons.add((day, FunnelReason.Kind.WITHDRAWAL.value, reason, pk))
    closed = links.filter(policecase__state__in=PoliceCase.CLOSED_STATES)
    for day, state, pk in closed.values_list("day", "policecase__state", "policecase_id"):
        reasons.add((day, FunnelReason.Kind.CLOSURE.value, state, pk))
    declined = Referral.objects.filter(
        state=Referral.State.DECLINED, **{f"admission__incident__{k}": v for k, v in in_period.items()}
    ).annotate(day=TruncDate("admission__incident__occurred_at", tzinfo=SAST))
    for day, reason, pk in declined.values_list("day", "decline_reason", "pk"):
        reasons.add((day, FunnelReason.Kind.DECLINED.value, _declined_key(reason), pk))
    return by_day, reasons


def funnel_live(start: datetime, end: datetime) -> tuple[Counter, set]:
    """The funnel counts of [start, end) and its (kind, reason, object id) reasons, from the live tables.
    Incidents partition by the day they occurred, so the period's distinct counts are the days' sums."""
    by_day, reasons = funnel_by_day(start, end)
    return sum(by_day.values(), Counter()), {(kind, reason, pk) for _, kind, reason, pk in reasons}


def _computed_days(period: Period) -> set[date]:
    return set(
        FunnelRollup.objects.filter(
            kind="day", day__gte=period.start_date, day__lte=period.end_date
        ).values_list("day", flat=True)
    )


def _day_runs(days) -> list[tuple[datetime, datetime]]:
    """Contiguous runs of SAST days as [start, end) instants."""
    return [(Period(a, b).start, Period(a, b).end) for a, b in day_runs(days)]


def attrition_table(counts: Counter) -> Table:
    """Each step is the next one plus its drop; admissions are the dashboard's total (public)."""
    t = Table()
    for step in FUNNEL:
        t.count(("count", step), counts[step], public=step == "admissions")
    steps = FUNNEL[1:]
    if any(counts[b] > counts[a] for a, b in zip(steps, steps[1:], strict=False)):
        return t  # not a funnel (cannot happen): small counts only
    for a, b in zip(steps, steps[1:], strict=False):
        t.count(("drop", b), counts[a] - counts[b])
        t.identity(("count", a), [("count", b), ("drop", b)])
    return t


def attrition(period: Period, *, suppress: bool) -> dict:
    """The funnel of the incidents (and admissions) of the period: from the per-day ``FunnelRollup``
    and ``FunnelReason`` rows, and live for any day of the period not computed yet."""
    live_days = set(period.each_day()) - _computed_days(period)
    in_days = {"day__gte": period.start_date, "day__lte": period.end_date}
    counts: Counter = Counter(
        dict(
            FunnelRollup.objects.filter(kind="step", **in_days)
            .values("k1")
            .annotate(s=Sum("n"))
            .values_list("k1", "s")
        )
    )
    kept_reasons = FunnelReason.objects.filter(**in_days).order_by()
    if live_days:
        objects = set(kept_reasons.values_list("kind", "reason", "object_id"))
        for start, end in _day_runs(live_days):
            live_counts, live_reasons = funnel_live(start, end)
            counts.update(live_counts)
            objects |= live_reasons
        by_reason = Counter((kind, reason) for kind, reason, _ in objects)
    else:
        by_reason = Counter(
            {
                (kind, reason): n
                for kind, reason, n in kept_reasons.values("kind", "reason")
                .annotate(n=Count("object_id", distinct=True))
                .values_list("kind", "reason", "n")
            }
        )
    kinds = attrition_table(counts).suppress() if suppress else {}
    rows, previous = [], None
    for step in FUNNEL:
        n = counts[step]
        drop = None if previous is None or step == "incidents" else previous - n
        row = apply(
            {"group": step, "count": n, "drop": drop}, ["count", "drop"], kinds, lambda f, s=step: (f, s)
        )
        if suppress and "drop" not in row.get("suppressed", []) and is_small(drop):
            row = apply(row, ["drop"], {"drop": SMALL}, lambda f: f)  # a negative drop: no identity
        row["label"] = str(definitions.ATTRITION[step])
        rows.append(row)
        previous = n

    def top(kind, n=8):
        counter = Counter({reason: k for (kd, reason), k in by_reason.items() if kd == kind})
        return [{"reason": k, "count": suppress_count(v, suppress)} for k, v in counter.most_common(n)]

    return {
        "definitions": definitions.ATTRITION,
        "rows": rows,
        "reasons": {
            "withdrawal_reasons": top(FunnelReason.Kind.WITHDRAWAL),
            "police_case_closures": top(FunnelReason.Kind.CLOSURE),
            "referrals_declined": top(FunnelReason.Kind.DECLINED),
        },
    }


# ------------------------------------------------------------------ unknown to police

UNKNOWN_DAYS = (7, 30, 90)
UNKNOWN_GROUP_BY = ("facility", "suburb", "mechanism")
UNKNOWN_FIELDS = ["group", "label"] + [
    f for n in UNKNOWN_DAYS for f in (f"eligible_{n}d", f"unknown_{n}d", f"unknown_share_{n}d")
]


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


def _unknown_live(start: datetime, end: datetime, group_by: str, now: datetime) -> dict:
    group_field = UNKNOWN_GROUP_FIELD[group_by]
    qs = with_docket_bucket(_admissions().filter(arrival_at__gte=start, arrival_at__lt=end))
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


def _unknown_kinds(raw: dict, raw_total: dict) -> dict:
    """Per window: eligible = unknown + known (known is not shown), each column summing to the total
    row. The windows are withheld each on its own (eligible after 30 days <= after 7 is not used)."""
    fields = {}
    for n in UNKNOWN_DAYS:
        fields.update({f"eligible_{n}d": None, f"unknown_{n}d": None, f"known_{n}d": None})

    def with_known(r):
        out = dict(r)
        for n in UNKNOWN_DAYS:
            out[f"known_{n}d"] = r[f"eligible_{n}d"] - r[f"unknown_{n}d"]
        return {f: out[f] for f in fields}

    return suppress_grouped(
        {k: with_known(r) for k, r in raw.items()},
        with_known(raw_total),
        row_identities=[(f"eligible_{n}d", [f"unknown_{n}d", f"known_{n}d"]) for n in UNKNOWN_DAYS],
        unpublished={f"known_{n}d" for n in UNKNOWN_DAYS},
    )


def unknown_to_police(period: Period, group_by: str, *, suppress: bool, now: datetime | None = None) -> dict:
    """From the per-day ``unknown_<group_by>`` rollups; live for the days not computed yet and for the
    three days on which a window's eligibility cut-off (arrival at or before now - n days) falls."""
    if group_by not in UNKNOWN_GROUP_BY:
        raise ReportInputError({"group_by": f"'{group_by}' is not one of: {', '.join(UNKNOWN_GROUP_BY)}."})
    now = now or timezone.now()
    counts = [f"eligible_{n}d" for n in UNKNOWN_DAYS] + [f"unknown_{n}d" for n in UNKNOWN_DAYS]
    # Days before a window's cut-off day are wholly eligible for it, days after it not at all.
    cutoff = {n: timezone.localtime(now - timedelta(days=n), SAST).date() for n in UNKNOWN_DAYS}
    period_days = set(period.each_day())
    live_days = (period_days - _computed_days(period)) | (set(cutoff.values()) & period_days)
    groups: dict = defaultdict(Counter)
    aggregates = {}
    for n in UNKNOWN_DAYS:
        eligible = Q(day__lt=cutoff[n])
        aggregates[f"eligible_{n}d"] = Sum("n", filter=eligible)
        aggregates[f"unknown_{n}d"] = Sum("n", filter=eligible & Q(k2__in=UNKNOWN_IN[n]))
    kept = (
        FunnelRollup.objects.filter(
            kind=f"unknown_{group_by}", day__gte=period.start_date, day__lte=period.end_date
        )
        .exclude(day__in=live_days)
        .values("k1")
        .annotate(**aggregates)
    )
    for r in kept:
        key = r.pop("k1")
        groups[None if key == "" and group_by != "mechanism" else key].update(
            {f: v or 0 for f, v in r.items()}
        )
    for start, end in _day_runs(live_days):
        for key, r in _unknown_live(start, end, group_by, now).items():
            groups[key].update(r)
    labels = {
        "facility": dict(Facility.objects.values_list("code", "name")),
        "suburb": dict(Suburb.objects.values_list("code", "name")),
        "mechanism": {k: str(v) for k, v in Mechanism.choices},
    }[group_by]
    rates = {f"unknown_share_{n}d": (f"unknown_{n}d", f"eligible_{n}d") for n in UNKNOWN_DAYS}
    raw = {key: {f: c[f] for f in counts} for key, c in groups.items()}
    # The groups partition the admissions, so the total is their sum (one query, not two).
    raw_total = {f: sum(r[f] for r in raw.values()) for f in counts}
    kinds = _unknown_kinds(raw, raw_total) if suppress else {}
    rows = []
    for key, r in raw.items():
        row = apply({"group": key, **r}, counts, kinds, lambda f, key=key: (key, f))
        row = with_rates(row, r, rates, suppress=suppress)
        row["label"] = labels.get(key, key or "Unknown")
        rows.append(row)
    rows.sort(key=lambda r: str(r["label"]))
    total = apply({"group": None, **raw_total}, counts, kinds, lambda f: (TOTAL, f))
    total = with_rates(total, raw_total, rates, suppress=suppress)
    total["label"] = "Total"
    return {"definitions": definitions.UNKNOWN_TO_POLICE, "rows": rows, "total": total}


# ------------------------------------------------------------------ ISTV-style extract

EXTRACT_FIELDS = ["injury_time", "arrival_time", "place_type", "suburb", "mechanism"]


def istv_extract(facility: Facility, year: int, month: int) -> list[dict]:
    """One facility's admissions of one month, de-identified: times to the hour, no identifiers."""
    start = datetime(year, month, 1, tzinfo=SAST)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SAST)
    rows = (
        _admissions()
        .filter(facility=facility, arrival_at__gte=start, arrival_at__lt=end)
        .order_by("arrival_at")
        .values_list("injury_at", "arrival_at", "place_type", "suburb__name", "mechanism")
    )

    def hour(t):
        return timezone.localtime(t, SAST).strftime("%Y-%m-%d %H:00") if t else ""

    return [
        {"injury_time": hour(i), "arrival_time": hour(a), "place_type": p, "suburb": s or "", "mechanism": m}
        for i, a, p, s, m in rows
    ]
