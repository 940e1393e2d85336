"""Reads for users: suburbs ranked by admissions, and spike alerts by a Poisson upper limit.

Suburbs (place of injury) are ranked by admissions in the last W complete ISO weeks and by the change
against the W weeks before; a suburb-week is a spike when it has at least ``ALERT_MIN_COUNT``
admissions and P(X >= observed) < ``ALERT_P`` for X ~ Poisson(the mean of its ``BASELINE_WEEKS``
preceding weeks, at least 0.5). docs/reporting.md says why this rule.
"""

import math
from collections import Counter, defaultdict
from datetime import date, timedelta

from django.utils.translation import gettext as _

from casework.models import Suburb

from . import periods
from .measures.admissions import WEEK_KIND
from .models import AdmissionRollup, RollupStamp
from .periods import iso_week, week_start
from .suppression import suppress_count

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


def _weekly(first: date, this_week: date) -> dict[str, Counter]:
    """{suburb id: Counter(Monday → admissions)} of the whole weeks from ``first`` to before this one."""
    weekly: dict[str, Counter] = defaultdict(Counter)
    rows = (
        AdmissionRollup.objects.filter(kind=WEEK_KIND, day__gte=first, day__lt=this_week)
        .exclude(k1="")
        .values_list("day", "k1", "n")
    )
    for monday, k1, n in rows:
        weekly[k1][monday] += n
    return weekly


def _alerts(suburb: tuple, by_week: Counter, week_starts: list[date], suppress: bool) -> list[dict]:
    code, name, _ = suburb
    alerts = []
    for w in week_starts:
        base = [by_week[w - timedelta(weeks=i)] for i in range(1, BASELINE_WEEKS + 1)]
        lam = max(sum(base) / BASELINE_WEEKS, 0.5)
        observed = by_week[w]
        limit = poisson_upper_limit(lam)
        if observed >= ALERT_MIN_COUNT and observed >= limit:
            alerts.append(
                {
                    "suburb": code,
                    "label": name,
                    "week": iso_week(w),
                    "week_start": w.isoformat(),
                    "observed": suppress_count(observed, suppress),
                    "baseline": round(lam, 2),
                    "upper_limit": limit,
                    "p_value": round(poisson_sf(observed, lam), 5),
                }
            )
    return alerts


def _ranked(table: list[dict], suppress: bool) -> list[dict]:
    """The rows by admissions, ranked: one rank, by the recent count. Small counts are withheld with
    their change, and a row whose recent count is withheld gets no rank (a rank among "<5" rows would
    tell which is larger); those rows follow, by name."""
    for r in table:
        for f in ("recent", "previous"):
            if suppress and r[f] is not None and 0 < r[f] <= 4:
                r.setdefault("suppressed", []).append(f)
                r[f] = None
        if r.get("suppressed"):
            r["change"], r["change_ratio"] = None, None
            r["suppressed"] += ["change", "change_ratio"]
    ranked = sorted((r for r in table if r["recent"] is not None), key=lambda r: (-r["recent"], r["label"]))
    for i, r in enumerate(ranked, 1):
        r["rank_by_count"] = i
    changes = sorted((r for r in table if r["change"] is not None), key=lambda r: (-r["change"], r["label"]))
    for i, r in enumerate(changes, 1):
        r["rank_by_change"] = i
    unranked = sorted((r for r in table if r["recent"] is None), key=lambda r: r["label"])
    for r in [*unranked, *(r for r in table if r["change"] is None)]:
        r.setdefault("rank_by_count", None)
        r["rank_by_change"] = None
    return ranked + unranked


def _definitions(weeks: int, recent_start: date, this_week: date) -> dict:
    return {
        "recent": (
            _("Admissions in the last %(weeks)s complete ISO weeks (Mon-Sun, SAST), %(start)s to %(end)s.")
            % {"weeks": weeks, "start": recent_start, "end": this_week - timedelta(days=1)}
        ),
        "previous": _("Admissions in the %(weeks)s weeks before that.") % {"weeks": weeks},
        "alert": (
            _(
                "A place-week (a suburb or precinct in one week) is a spike when it has at least "
                "%(min)s admissions and "
                "P(X >= observed) < %(p)s for X ~ Poisson(mean of the place's %(weeks)s "
                "preceding weeks, at least 0.5)."
            )
            % {"min": ALERT_MIN_COUNT, "p": ALERT_P, "weeks": BASELINE_WEEKS}
        ),
    }


def _places(level: str) -> tuple[dict, dict]:
    """({suburb id: place key}, {place key: (code, name, station name)}) for suburbs or precincts."""
    if level == "station":
        rows = list(Suburb.objects.values_list("pk", "station__code", "station__name"))
        return {str(pk): code for pk, code, _ in rows}, {code: (code, name, name) for _, code, name in rows}
    rows = Suburb.objects.values_list("pk", "code", "name", "station__name")
    return {str(pk): str(pk) for pk, *_ in rows}, {str(pk): (code, name, st) for pk, code, name, st in rows}


def _folded(weekly: dict[str, Counter], place_of: dict) -> dict[str, Counter]:
    out: dict[str, Counter] = defaultdict(Counter)
    for k1, by_week in weekly.items():
        out[place_of.get(k1, k1)].update(by_week)
    return out


def hotspots(*, weeks: int = 4, suppress: bool, today: date | None = None, level: str = "suburb") -> dict:
    """Suburbs (or, ``level="station"``, SAPS station precincts) ranked by admissions in the last
    ``weeks`` complete ISO weeks, with the change against the ``weeks`` before; spike alerts per place
    per week (Poisson upper limit over the trailing ``BASELINE_WEEKS`` weeks; docs/reporting.md)."""
    this_week = week_start(today or periods.today())
    recent_start = this_week - timedelta(weeks=weeks)
    previous_start = recent_start - timedelta(weeks=weeks)
    place_of, suburbs = _places(level)
    weekly = _folded(
        _weekly(min(previous_start, recent_start - timedelta(weeks=BASELINE_WEEKS)), this_week), place_of
    )
    table, alerts = [], []
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
        alerts += _alerts((code, name, station), by_week, week_starts, suppress)
    rows = _ranked(table, suppress)
    alerts.sort(key=lambda a: (a["week_start"], -a["p_value"] if a["p_value"] else 0), reverse=True)
    stamp = RollupStamp.objects.filter(kind="suburb").values_list("refreshed_at", flat=True).first()
    return {
        "definitions": _definitions(weeks, recent_start, this_week),
        "level": level,
        "rows": rows,
        "alerts": alerts,
        "as_of": stamp,
    }
