"""Reads for users over prosecutions and the transition log: conviction rate, removals, re-enrolment.

The conviction rate reads the per-day ``OutcomeRollup`` (live for the days not kept yet), removals the
monthly ``RemovalRollup`` and the kept ``RemovalFacts``; re-enrolment and the drill-down lists query
live. Every function returns plain dicts with the counts suppressed as asked, so page, API and CSV
share them.
"""

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.models import (
    POLICE_ATTRIBUTABLE_REASONS,
    Court,
    District,
    Mechanism,
    Offence,
    Prosecution,
    RemovalReason,
    Station,
)

from . import definitions
from .measures.outcomes import (
    GROUP_BY,
    MEASURES,
    finalised_in,
    group_expression,
    kept_key,
    outcome_counts_live,
)
from .measures.re_enrolment import re_enrolments
from .measures.removals import REMOVAL_COUNTS, REMOVAL_TRANSITIONS, removal_groups_live
from .models import OutcomeRollup, RemovalRollup
from .params import ReportInputError
from .periods import Period, day_runs, month_days, months_within
from .suppression import (
    TOTAL,
    Table,
    apply,
    grouped_table,
    suppress_count,
    suppress_grouped,
    suppress_grouped_nested,
    with_rates,
)

S = Prosecution.State

# ------------------------------------------------------------------ conviction rate

COUNT_FIELDS = list(MEASURES)
RATES = {
    "conviction_rate": ("convictions", "verdicts"),
    "outcome_conviction_rate": ("convictions", "finalised"),
}
# The additive identities of a row (and of the total row), which suppression must respect.
ROW_IDENTITIES = [
    ("verdicts", ["convictions", "acquittals"]),
    ("finalised", ["verdicts", "withdrawn", "provisionally_withdrawn", "struck_off", "diverted"]),
]
ROW_FIELDS = ["group", *COUNT_FIELDS, *RATES]


def _unknown_grouping(group_by: str, choices=GROUP_BY) -> ReportInputError:
    return ReportInputError({"group_by": f"'{group_by}' is not one of: {', '.join(choices)}."})


def group_labels(group_by: str) -> dict:
    model = {"court": Court, "station": Station, "district": District, "offence": Offence}.get(group_by)
    if model is not None:
        return dict(model.objects.values_list("code", "name"))
    if group_by == "mechanism":
        return {k: str(v) for k, v in Mechanism.choices}
    if group_by == "gang_related":
        return {True: _("Gang-related"), False: _("Not gang-related")}
    return {}


def outcome_counts(period: Period, group_by: str) -> dict:
    """{group: Counter(state → n)} of the matters finalised in the period: from the per-day
    ``OutcomeRollup`` rows, and live for the days of the period not computed yet."""
    in_days = {"day__gte": period.start_date, "day__lte": period.end_date}
    computed = set(OutcomeRollup.objects.filter(kind="day", **in_days).values_list("day", flat=True))
    counts: dict = defaultdict(Counter)
    kind = "court" if group_by == "month" else group_by  # month: every matter's court row, by its day
    kept = OutcomeRollup.objects.filter(kind=kind, **in_days).order_by()
    if group_by == "month":
        rows = kept.annotate(grp=TruncMonth("day")).values_list("grp", "state").annotate(n=Sum("n"))
        for month, state, n in rows:
            counts[month.strftime("%Y-%m")][state] += n
    else:
        for k1, state, n in kept.values_list("k1", "state").annotate(n=Sum("n")):
            counts[kept_key(group_by, k1)][state] += n
    for first, last in day_runs(set(period.each_day()) - computed):
        for key, states in outcome_counts_live(Period(first, last), group_by).items():
            counts[key].update(states)
    return counts


def _court_preset(period: Period, court: str, raw_total: dict) -> dict:
    """The court's own row withheld as the by-court report withholds it, preset on the filtered total
    (the same figures), so that neither report gives away what the other hides."""
    by_court = {
        key: {name: sum(states[s] for s in members) for name, members in MEASURES.items()}
        for key, states in outcome_counts(period, "court").items()
    }
    total = {f: sum(r[f] for r in by_court.values()) for f in COUNT_FIELDS}
    kinds = _suppressed_rows("court", by_court, total)
    preset = grouped_table({}, raw_total, row_identities=ROW_IDENTITIES).suppress()
    for f in COUNT_FIELDS:
        if (court, f) in kinds:
            preset[(TOTAL, f)] = kinds[(court, f)]
    return preset


def _suppressed_rows(group_by: str, raw: dict, total: dict) -> dict:
    """The rows' kinds: courts nested in their districts (a reader opens both for the period), districts
    in the one order the by-court report decides them in."""
    if group_by == "court":
        district_of = dict(Court.objects.values_list("code", "district__code"))
        return suppress_grouped_nested(raw, total, district_of, row_identities=ROW_IDENTITIES)
    if group_by == "district":
        raw = dict(sorted(raw.items(), key=lambda kv: str(kv[0])))
    return suppress_grouped(raw, total, row_identities=ROW_IDENTITIES)


def conviction_rate(period: Period, group_by: str, *, suppress: bool, court: str = "") -> dict:
    """``{"definitions", "rows", "total", "as_of"}`` as the API answers it (rows also carry a ``label``).
    ``court``: the matters of that court only (counted live; its total withheld as the by-court row)."""
    if group_by not in GROUP_BY:
        raise _unknown_grouping(group_by)
    as_of = timezone.now()
    counts = outcome_counts_live(period, group_by, court=court) if court else outcome_counts(period, group_by)
    raw = {
        key: {name: sum(states[s] for s in members) for name, members in MEASURES.items()}
        for key, states in counts.items()
    }
    labels = group_labels(group_by)
    # Every prosecution falls in exactly one group, so the total is the sum of the raw groups.
    raw_total = {f: sum(r[f] for r in raw.values()) for f in COUNT_FIELDS}
    kinds = {}
    if suppress:
        preset = _court_preset(period, court, raw_total) if court else None
        if preset is None:
            kinds = _suppressed_rows(group_by, raw, raw_total)
        else:
            kinds = grouped_table(raw, raw_total, row_identities=ROW_IDENTITIES).suppress(preset)
    rows = []
    for key, r in raw.items():
        row = apply({"group": key, **r}, COUNT_FIELDS, kinds, lambda f, key=key: (key, f))
        rows.append(with_rates(row, r, RATES, suppress=suppress))
        rows[-1]["label"] = str(labels.get(key, key if key is not None else "Unknown"))
    rows.sort(key=lambda r: (r["group"] is None, str(r["group"]) if group_by == "month" else r["label"]))
    total = apply({"group": None, **raw_total}, COUNT_FIELDS, kinds, lambda f: (TOTAL, f))
    total = with_rates(total, raw_total, RATES, suppress=suppress)
    total["label"] = "Total"
    return {"definitions": definitions.CONVICTION_RATE, "rows": rows, "total": total, "as_of": as_of}


def _in_group(qs, group_by: str, group: str):
    """The prosecutions of one group of the grouping (``group`` as the page's link names it)."""
    qs = qs.annotate(grp=group_expression(group_by))
    if group_by == "gang_related":
        return qs.filter(grp=group in ("True", "true", "1"))
    if group_by == "month":
        try:
            year, month = (int(x) for x in group.split("-"))
        except ValueError:
            raise ReportInputError({"group": _("A month is YYYY-MM.")}) from None
        # USE_TZ: Django extracts in the current time zone (SAST)
        return qs.filter(finalised_on__year=year, finalised_on__month=month)
    if group == "None":
        return qs.filter(grp__isnull=True)
    return qs.filter(grp=group)


def conviction_drill_down(
    prosecutions, period: Period, group_by: str, group: str | None, measure: str
) -> "list[Prosecution]":
    """The prosecutions one figure counts, cut to ``prosecutions`` (what the user may see)."""
    if measure not in MEASURES:
        raise ReportInputError({"measure": f"'{measure}' is not one of: {', '.join(MEASURES)}."})
    qs = prosecutions.filter(pk__in=finalised_in(period).values("pk"), state__in=MEASURES[measure])
    if group_by and group not in (None, "", "total"):
        if group_by not in GROUP_BY:
            raise _unknown_grouping(group_by)
        qs = _in_group(qs, group_by, group)
    return qs.select_related("court", "police_case__station", "police_case__offence").order_by(
        "-finalised_on", "-id"
    )


# ------------------------------------------------------------------ removals attributable to police


def _removal_groups(period: Period) -> list[tuple]:
    """``removal_groups_live`` of the period: whole calendar months from ``RemovalRollup`` (a month's
    rows are ``removal_groups_live`` of that month), the rest from the kept facts; rows of one group may
    repeat (one per part) and are summed by the caller."""
    wanted = months_within(period)
    months = sorted(
        RemovalRollup.objects.filter(by="month", month__in=wanted).values_list("month", flat=True)
    )
    kept = RemovalRollup.objects.filter(month__in=months).exclude(by="month").order_by()
    rows = list(
        kept.values_list("by", "reason", "transition", "ref_id", "gang_related", "gender_based").annotate(
            n=Sum("n")
        )
    )
    in_months = {m + timedelta(days=i) for m in months for i in range(month_days(m))}
    for first, last in day_runs(d for d in period.each_day() if d not in in_months):
        rows += removal_groups_live(Period(first, last))
    return rows


def _removal_counts(period: Period) -> tuple[dict, dict, dict, dict]:
    """(by reason, top stations, top courts, splits) of the removals in the period, raw."""
    by_reason, stations, courts = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    splits = {"gender_based": defaultdict(Counter), "gang_related": defaultdict(Counter)}
    names = {
        "station": dict(Station.objects.values_list("pk", "name")),
        "court": dict(Court.objects.values_list("pk", "name")),
    }
    for by, reason, transition, ref, gang, gbv, n in _removal_groups(period):
        reason = reason or "other"
        if by in names:
            (stations if by == "station" else courts)[reason][names[by].get(ref, "?")] += n
            continue
        police = reason in POLICE_ATTRIBUTABLE_REASONS
        by_reason[reason]["removals"] += n
        by_reason[reason][REMOVAL_TRANSITIONS[transition]] += n
        for split, yes in (("gender_based", gbv), ("gang_related", gang)):
            splits[split][bool(yes)]["removals"] += n
            splits[split][bool(yes)]["police_attributable"] += n if police else 0
    return by_reason, stations, courts, splits


def _reason_row(reason, c, total_removals, kinds, suppress, tops) -> dict:
    raw = {"group": reason, **{k: c[k] for k in REMOVAL_COUNTS}, "all_removals": total_removals}
    row = apply(raw, REMOVAL_COUNTS, kinds, lambda f: (reason, f))
    row["all_removals"] = None if (TOTAL, "removals") in kinds else total_removals
    row = with_rates(row, raw, {"share": ("removals", "all_removals")}, suppress=suppress)
    del row["all_removals"]
    row["label"] = str(REMOVAL_LABELS.get(reason, reason))
    row["police_attributable"] = reason in POLICE_ATTRIBUTABLE_REASONS
    # A top list only bounds the reason's removals; withheld with them when they are withheld.
    hidden = row["removals"] is None
    for name, counter in tops.items():
        row[name] = [
            {"name": n, "removals": None if hidden and suppress else suppress_count(k, suppress)}
            for n, k in counter
        ]
    return row


REMOVAL_LABELS = dict(RemovalReason.choices)
POLICE_SHARE = {"police_attributable_share": ("police_attributable", "removals")}


def _split_rows(splits, kinds, suppress) -> dict:
    out = {}
    for split, groups in splits.items():
        out[split] = []
        for yes in (True, False):
            raw = {"group": yes, **{f: groups[yes][f] for f in ("removals", "police_attributable")}}
            row = apply(raw, ["removals", "police_attributable"], kinds, lambda f, s=split, y=yes: (s, y, f))
            out[split].append(with_rates(row, raw, POLICE_SHARE, suppress=suppress))
    return out


def removals(period: Period, *, suppress: bool, top: int = 3) -> dict:
    """Removals from the roll in the period by reason, with the police-attributable share, each reason's
    top stations and courts, and the gender-based and gang-related splits."""
    by_reason, stations, courts, splits = _removal_counts(period)
    total_removals = sum(c["removals"] for c in by_reason.values())
    police_total = sum(c["removals"] for r, c in by_reason.items() if r in POLICE_ATTRIBUTABLE_REASONS)
    kinds = _removal_kinds(by_reason, total_removals, police_total, splits) if suppress else {}
    rows = []
    for reason, c in sorted(by_reason.items(), key=lambda kv: (-kv[1]["removals"], kv[0])):
        tops = {
            "top_stations": stations[reason].most_common(top),
            "top_courts": courts[reason].most_common(top),
        }
        rows.append(_reason_row(reason, c, total_removals, kinds, suppress, tops))
    raw_total = {"group": None, "removals": total_removals, "police_attributable": police_total}
    total = apply(raw_total, ["removals", "police_attributable"], kinds, lambda f: (TOTAL, f))
    total = with_rates(total, raw_total, POLICE_SHARE, suppress=suppress)
    split_rows = _split_rows(splits, kinds, suppress)
    return {"definitions": definitions.REMOVALS, "rows": rows, "total": total, "splits": split_rows}


def removal_tables(by_reason, total_removals: int, police_total: int, splits: dict) -> tuple:
    """The removals report as tables for suppression: the total row alone, then the reasons
    (removals = withdrawn + provisionally withdrawn + struck off; the police-attributable ones sum to
    the police total, the others to the rest, which is not shown) and each split (yes + no = the total;
    police-attributable <= removals), all around that total row (which only this report shows, so it may
    be withheld to protect them)."""
    alone = Table()
    _total_row(alone, total_removals, police_total)
    reasons = Table()
    _total_row(reasons, total_removals, police_total)
    for reason, c in by_reason.items():
        for f in REMOVAL_COUNTS:
            reasons.count((reason, f), c[f])
        reasons.identity((reason, "removals"), [(reason, f) for f in REMOVAL_COUNTS[1:]])
    for side, police in (("police_attributable", True), ("other", False)):
        members = [r for r in by_reason if (r in POLICE_ATTRIBUTABLE_REASONS) == police]
        reasons.identity((TOTAL, side), [(r, "removals") for r in members])
    return alone, [reasons, *(_split_table(s, g, total_removals, police_total) for s, g in splits.items())]


def _total_row(t: Table, total_removals: int, police_total: int) -> None:
    t.count((TOTAL, "removals"), total_removals)
    t.count((TOTAL, "police_attributable"), police_total)
    t.unpublished((TOTAL, "other"), total_removals - police_total)
    t.identity((TOTAL, "removals"), [(TOTAL, "police_attributable"), (TOTAL, "other")])


def _split_table(split: str, groups: dict, total_removals: int, police_total: int) -> Table:
    t = Table()
    t.count((TOTAL, "removals"), total_removals)
    t.count((TOTAL, "police_attributable"), police_total)
    for yes in (True, False):
        g = groups[yes]
        t.count((split, yes, "removals"), g["removals"])
        t.count((split, yes, "police_attributable"), g["police_attributable"])
        t.unpublished((split, yes, "other"), g["removals"] - g["police_attributable"])
        t.identity((split, yes, "removals"), [(split, yes, "police_attributable"), (split, yes, "other")])
    for f in ("removals", "police_attributable"):
        t.identity((TOTAL, f), [(split, True, f), (split, False, f)])
    return t


def _removal_kinds(*args) -> dict:
    """The tables share the total row, which the report shows once: a total one table withholds is
    withheld in all, a count one table pins is shown in all, until nothing changes (each round only
    withholds more or shows what is known, so it ends)."""
    alone, tables = removal_tables(*args)
    kinds, known = alone.suppress(), set()
    for _round in range(20):
        before = dict(kinds)
        for t in tables:
            t.public = known & set(t.values)
            preset = {k: v for k, v in kinds.items() if k in t.values}
            got = t.suppress(preset)
            kinds.update(got)
            for k in set(preset) - set(got):  # pinned here, so known to a reader: shown everywhere
                kinds.pop(k, None)
                known.add(k)
        if kinds == before:
            break
    return kinds


# ------------------------------------------------------------------ re-enrolment outcomes

RE_ENROL_COUNTS = ["matters", "open", "convictions", "acquittals", "removed_again", "diverted", "verdicts"]
RE_ENROL_IDENTITIES = [
    ("verdicts", ["convictions", "acquittals"]),
    ("matters", ["open", "verdicts", "removed_again", "diverted"]),
]


def _re_enrol_counts(states: dict, ids) -> tuple[dict, Counter]:
    st = Counter(states[i] for i in ids)
    conv = st[S.CONVICTED] + st[S.SENTENCED]
    row = {
        "matters": len(ids),
        "open": sum(n for s, n in st.items() if s not in Prosecution.FINALISED_STATES),
        "convictions": conv,
        "acquittals": st[S.ACQUITTED],
        "removed_again": sum(st[s] for s in Prosecution.REMOVED_STATES),
        "diverted": st[S.DIVERTED],
        "verdicts": conv + st[S.ACQUITTED],
    }
    return row, st


def _re_enrol_row(group, raw, st, kinds, key, suppress) -> dict:
    out = apply({"group": group, **raw}, RE_ENROL_COUNTS, kinds, key)
    out = with_rates(out, raw, {"conviction_rate": ("convictions", "verdicts")}, suppress=suppress)
    # Where the matters stand now splits the counts above finer than their identities can follow:
    # withheld whole when suppressed (the counts above carry the answer).
    out["current_state"] = {s: None if suppress else n for s, n in sorted(st.items())}
    if suppress and st:
        out["suppressed"] = out.get("suppressed", []) + ["current_state"]
    return out


def re_enrolment(period: Period, *, suppress: bool) -> dict:
    """Matters re-enrolled in the period, after a committee review or not, and where they stand now."""
    states, after_review = {}, set()
    for pk, reviewed, state in re_enrolments(period):
        states[pk] = state
        if reviewed:
            after_review.add(pk)
    groups = {
        "after_review": _re_enrol_counts(states, after_review),
        "other": _re_enrol_counts(states, set(states) - after_review),
    }
    raw_total, total_states = _re_enrol_counts(states, set(states))
    kinds = {}
    if suppress:
        kinds = suppress_grouped(
            {g: r for g, (r, _) in groups.items()}, raw_total, row_identities=RE_ENROL_IDENTITIES
        )
    rows = [_re_enrol_row(g, r, st, kinds, lambda f, g=g: (g, f), suppress) for g, (r, st) in groups.items()]
    total = _re_enrol_row(None, raw_total, total_states, kinds, lambda f: (TOTAL, f), suppress)
    return {"definitions": definitions.RE_ENROLMENT, "rows": rows, "total": total}
