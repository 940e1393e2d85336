"""Reads for users over the kept funnel rows: the attrition funnel and "unknown to police".

Both read ``FunnelRollup`` / ``FunnelReason`` per SAST day and count live the days not kept yet (and,
for unknown to police, the days on which a window's cut-off falls), so every figure is the live one.
"""

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from casework.models import Facility, Mechanism, Suburb

from . import definitions
from .measures.funnel import FUNNEL, funnel_live
from .measures.unknown_to_police import UNKNOWN_DAYS, UNKNOWN_GROUP_BY, UNKNOWN_IN, unknown_live
from .models import FunnelReason, FunnelRollup
from .params import ReportInputError
from .periods import Period, period_runs, sast_day
from .suppression import SMALL, TOTAL, Table, apply, is_small, suppress_count, suppress_grouped, with_rates

UNKNOWN_FIELDS = ["group", "label"] + [
    f for n in UNKNOWN_DAYS for f in (f"eligible_{n}d", f"unknown_{n}d", f"unknown_share_{n}d")
]


def _computed_days(period: Period) -> set[date]:
    return set(
        FunnelRollup.objects.filter(
            kind="day", day__gte=period.start_date, day__lte=period.end_date
        ).values_list("day", flat=True)
    )


# ------------------------------------------------------------------ attrition funnel


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


def _funnel_counts(period: Period) -> tuple[Counter, Counter]:
    """(step → incidents, (kind, reason) → distinct objects) of the period: kept days from their rows,
    the rest live. The kept reasons are counted in SQL; an object counted live too (a matter linked to
    incidents of a kept and a live day) is taken off the kept count, so each is counted once. (Reading
    every kept reason row into Python to union them cost 0.5-1.5 s a page whenever a day was not kept.)"""
    live_days = set(period.each_day()) - _computed_days(period)
    in_days = {"day__gte": period.start_date, "day__lte": period.end_date}
    steps = FunnelRollup.objects.filter(kind="step", **in_days).values("k1").annotate(s=Sum("n"))
    counts: Counter = Counter(dict(steps.values_list("k1", "s")))
    kept_reasons = FunnelReason.objects.filter(**in_days).exclude(day__in=live_days).order_by()
    grouped = kept_reasons.values("kind", "reason").annotate(n=Count("object_id", distinct=True))
    by_reason = Counter({(kind, reason): n for kind, reason, n in grouped.values_list("kind", "reason", "n")})
    live_objects: set = set()
    for run in period_runs(live_days):
        live_counts, live_reasons = funnel_live(run.start, run.end)
        counts.update(live_counts)
        live_objects |= live_reasons
    if live_objects:
        ids = {pk for _, _, pk in live_objects}
        also_kept = set(kept_reasons.filter(object_id__in=ids).values_list("kind", "reason", "object_id"))
        by_reason.subtract(Counter((kind, reason) for kind, reason, _ in also_kept & live_objects))
        by_reason.update(Counter((kind, reason) for kind, reason, _ in live_objects))
    return counts, +by_reason


def _funnel_rows(counts: Counter, kinds: dict, suppress: bool) -> list[dict]:
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
    return rows


def attrition(period: Period, *, suppress: bool) -> dict:
    """The funnel of the incidents (and admissions) of the period: from the per-day ``FunnelRollup``
    and ``FunnelReason`` rows, and live for any day of the period not computed yet."""
    counts, by_reason = _funnel_counts(period)
    kinds = attrition_table(counts).suppress() if suppress else {}

    def top(kind, n=8):
        counter = Counter({reason: k for (kd, reason), k in by_reason.items() if kd == kind})
        return [{"reason": k, "count": suppress_count(v, suppress)} for k, v in counter.most_common(n)]

    return {
        "definitions": definitions.ATTRITION,
        "rows": _funnel_rows(counts, kinds, suppress),
        "reasons": {
            "withdrawal_reasons": top(FunnelReason.Kind.WITHDRAWAL),
            "police_case_closures": top(FunnelReason.Kind.CLOSURE),
            "referrals_declined": top(FunnelReason.Kind.DECLINED),
        },
    }


# ------------------------------------------------------------------ unknown to police

UNKNOWN_COUNTS = [f"eligible_{n}d" for n in UNKNOWN_DAYS] + [f"unknown_{n}d" for n in UNKNOWN_DAYS]
UNKNOWN_RATES = {f"unknown_share_{n}d": (f"unknown_{n}d", f"eligible_{n}d") for n in UNKNOWN_DAYS}


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


def _unknown_groups(period: Period, group_by: str, now: datetime) -> dict:
    """{group: Counter(eligible_Nd, unknown_Nd)}: kept days from their rows; live the days not kept and
    the (at most three) days on which a window's eligibility cut-off (arrival at or before now - N days)
    falls — days before it are wholly eligible for it, days after it not at all."""
    cutoff = {n: sast_day(now - timedelta(days=n)) for n in UNKNOWN_DAYS}
    period_days = set(period.each_day())
    live_days = (period_days - _computed_days(period)) | (set(cutoff.values()) & period_days)
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
    groups: dict = defaultdict(Counter)
    for r in kept:
        key = r.pop("k1")
        key = None if key == "" and group_by != "mechanism" else key
        groups[key].update({f: v or 0 for f, v in r.items()})
    for run in period_runs(live_days):
        for key, r in unknown_live(run.start, run.end, group_by, now).items():
            groups[key].update(r)
    return groups


def _unknown_labels(group_by: str) -> dict:
    if group_by == "mechanism":
        return {k: str(v) for k, v in Mechanism.choices}
    model = Facility if group_by == "facility" else Suburb
    return dict(model.objects.values_list("code", "name"))


def unknown_to_police(period: Period, group_by: str, *, suppress: bool, now: datetime | None = None) -> dict:
    """From the per-day ``unknown_<group_by>`` rollups; live for the days not computed yet and for the
    three days on which a window's eligibility cut-off (arrival at or before now - n days) falls."""
    if group_by not in UNKNOWN_GROUP_BY:
        raise ReportInputError({"group_by": f"'{group_by}' is not one of: {', '.join(UNKNOWN_GROUP_BY)}."})
    groups = _unknown_groups(period, group_by, now or timezone.now())
    labels = _unknown_labels(group_by)
    raw = {key: {f: c[f] for f in UNKNOWN_COUNTS} for key, c in groups.items()}
    # The groups partition the admissions, so the total is their sum (one query, not two).
    raw_total = {f: sum(r[f] for r in raw.values()) for f in UNKNOWN_COUNTS}
    kinds = _unknown_kinds(raw, raw_total) if suppress else {}
    rows = []
    for key, r in raw.items():
        row = apply({"group": key, **r}, UNKNOWN_COUNTS, kinds, lambda f, key=key: (key, f))
        row = with_rates(row, r, UNKNOWN_RATES, suppress=suppress)
        row["label"] = labels.get(key, key or "Unknown")
        rows.append(row)
    rows.sort(key=lambda r: str(r["label"]))
    total = apply({"group": None, **raw_total}, UNKNOWN_COUNTS, kinds, lambda f: (TOTAL, f))
    total = with_rates(total, raw_total, UNKNOWN_RATES, suppress=suppress)
    total["label"] = "Total"
    return {"definitions": definitions.UNKNOWN_TO_POLICE, "rows": rows, "total": total}
