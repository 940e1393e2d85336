"""Reads over prosecutions and the transition log: conviction rate, removals, re-enrolment.

The conviction rate reads the per-day ``OutcomeRollup`` (live for the days not kept yet), removals the
monthly ``RemovalRollup`` and the kept ``RemovalFacts``; re-enrolment and the drill-down lists query
live. Every function returns plain
dicts with raw counts; suppression is applied by ``finish_*`` helpers so page, API and CSV share it.
"""

from collections import Counter, defaultdict
from datetime import date, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf, TruncDate, TruncMonth
from django.utils import timezone

from casework.models import (
    POLICE_ATTRIBUTABLE_REASONS,
    Court,
    District,
    Incident,
    Mechanism,
    Offence,
    PoliceCase,
    Prosecution,
    RemovalReason,
    Station,
    TransitionLog,
)

from . import definitions
from .models import OutcomeRollup, ProsecutionFacts, RemovalFacts, RemovalRollup
from .params import SAST, Period, ReportInputError
from .rollups import day_runs
from .suppression import TOTAL, Table, apply, suppress_count, suppress_grouped, with_rates

S = Prosecution.State

# ------------------------------------------------------------------ conviction rate

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

# group_by → (annotation, reference model for labels or None)
GROUP_BY = ("court", "station", "district", "offence", "mechanism", "gang_related", "month")


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
    return Exists(Incident.objects.filter(police_cases=OuterRef("police_case"), mechanism=Mechanism.SEXUAL))


def _group_expression(group_by: str):
    return {
        "court": F("court__code"),
        "station": F("police_case__station__code"),
        "district": F("court__district__code"),
        "offence": F("police_case__offence__code"),
        "mechanism": first_incident_mechanism(live=False),
        "gang_related": gang_related_expression(),
        "month": TruncMonth("finalised_on", tzinfo=SAST),
    }[group_by]


def _group_key(group_by: str, value):
    if group_by == "month":
        return value.astimezone(SAST).strftime("%Y-%m") if value else None
    return value


def group_labels(group_by: str) -> dict:
    model = {"court": Court, "station": Station, "district": District, "offence": Offence}.get(group_by)
    if model is not None:
        return dict(model.objects.values_list("code", "name"))
    if group_by == "mechanism":
        return {k: str(v) for k, v in Mechanism.choices}
    if group_by == "gang_related":
        return {True: "Gang-related", False: "Not gang-related"}
    return {}


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


def outcome_counts_live(period: Period, group_by: str, *, by_day: bool = False) -> dict:
    """The matters finalised in the period, counted live: {group: Counter(state → n)}, or
    {(SAST day, group): …} with ``by_day`` (what ``OutcomeRollup`` keeps)."""
    qs = finalised_in(period)
    if by_day:
        qs = qs.annotate(day=TruncDate("finalised_on", tzinfo=SAST))
    if group_by == "gang_related":
        rows = _gang_related_states(qs, by_day)
    else:
        day = ("day",) if by_day else ()
        grouped = qs.annotate(grp=_group_expression(group_by)).order_by()
        rows = grouped.values_list(*day, "grp", "state").annotate(n=Count("id"))
    counts: dict = defaultdict(Counter)
    for *day, grp, state, n in rows:
        key = _group_key(group_by, grp)
        counts[(day[0], key) if by_day else key][state] += n
    return counts


def _kept_key(group_by: str, k1: str):
    if group_by == "gang_related":
        return k1 == "1"
    return k1 or None


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
            counts[_kept_key(group_by, k1)][state] += n
    for first, last in day_runs(set(period.each_day()) - computed):
        for key, states in outcome_counts_live(Period(first, last), group_by).items():
            counts[key].update(states)
    return counts


def conviction_rate(period: Period, group_by: str, *, suppress: bool) -> dict:
    """``{"definitions", "rows", "total"}`` as the API answers it (rows also carry a ``label``)."""
    if group_by not in GROUP_BY:
        raise ReportInputError({"group_by": f"'{group_by}' is not one of: {', '.join(GROUP_BY)}."})
    grouped = [
        {"grp": key, **{name: sum(states[s] for s in members) for name, members in MEASURES.items()}}
        for key, states in outcome_counts(period, group_by).items()
    ]
    labels = group_labels(group_by)
    raw = {r.pop("grp"): r for r in grouped}
    # Every prosecution falls in exactly one group, so the total is the sum of the raw groups.
    raw_total = {f: sum(r[f] for r in raw.values()) for f in COUNT_FIELDS}
    kinds = suppress_grouped(raw, raw_total, row_identities=ROW_IDENTITIES) if suppress else {}
    rows = []
    for key, r in raw.items():
        row = apply({"group": key, **r}, COUNT_FIELDS, kinds, lambda f, key=key: (key, f))
        rows.append(with_rates(row, r, RATES, suppress=suppress))
        rows[-1]["label"] = str(labels.get(key, key if key is not None else "Unknown"))
    rows.sort(key=lambda r: (r["group"] is None, str(r["group"]) if group_by == "month" else r["label"]))
    total = apply({"group": None, **raw_total}, COUNT_FIELDS, kinds, lambda f: (TOTAL, f))
    total = with_rates(total, raw_total, RATES, suppress=suppress)
    total["label"] = "Total"
    return {"definitions": definitions.CONVICTION_RATE, "rows": rows, "total": total}


def conviction_drill_down(
    prosecutions, period: Period, group_by: str, group: str | None, measure: str
) -> "list[Prosecution]":
    """The prosecutions one figure counts, cut to ``prosecutions`` (what the user may see)."""
    if measure not in MEASURES:
        raise ReportInputError({"measure": f"'{measure}' is not one of: {', '.join(MEASURES)}."})
    qs = prosecutions.filter(pk__in=finalised_in(period).values("pk"), state__in=MEASURES[measure])
    if group_by and group not in (None, "", "total"):
        if group_by not in GROUP_BY:
            raise ReportInputError({"group_by": f"'{group_by}' is not one of: {', '.join(GROUP_BY)}."})
        qs = qs.annotate(grp=_group_expression(group_by))
        if group_by == "gang_related":
            qs = qs.filter(grp=group in ("True", "true", "1"))
        elif group_by == "month":
            try:
                year, month = (int(x) for x in group.split("-"))
            except ValueError:
                raise ReportInputError({"group": "A month is YYYY-MM."}) from None
            qs = qs.filter(
                finalised_on__year=year, finalised_on__month=month
            )  # USE_TZ: Django extracts in the current time zone (SAST)
        elif group == "None":
            qs = qs.filter(grp__isnull=True)
        else:
            qs = qs.filter(grp=group)
    return qs.select_related("court", "police_case__station", "police_case__offence").order_by(
        "-finalised_on", "-id"
    )


# ------------------------------------------------------------------ removals attributable to police

REMOVAL_TRANSITIONS = {
    "withdraw": "withdrawn",
    "withdraw_provisionally": "provisionally_withdrawn",
    "strike_off": "struck_off",
}
REMOVAL_COUNTS = ["removals", "withdrawn", "provisionally_withdrawn", "struck_off"]


def _prosecution_ct():
    return ContentType.objects.get_for_model(Prosecution)


REMOVAL_LOG_TRANSITIONS = tuple(REMOVAL_TRANSITIONS)


def _removal_sql(columns: str, where: str, group: bool) -> str:
    """The removal log rows joined to their prosecution, docket and offence; gang-related and
    gender-based by the kept prosecution facts, else the live rule.

    SQL, because the transition log points at its object generically (no foreign key to join on).
    """
    t = {
        m.__name__: m._meta.db_table
        for m in (TransitionLog, Prosecution, PoliceCase, Offence, Incident, ProsecutionFacts)
    }
    links = PoliceCase.incidents.through._meta.db_table

    def linked(condition: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM {links} pi JOIN {t['Incident']} i ON i.id = pi.incident_id "
            f"WHERE pi.policecase_id = p.police_case_id AND {condition})"
        )

    transitions = ", ".join(f"'{name}'" for name in REMOVAL_LOG_TRANSITIONS)
    count, grouping = (", COUNT(*)", "GROUP BY 1, 2, 3, 4, 5, 6") if group else ("", "")
    return f"""
        SELECT {columns}, pc.station_id, p.court_id,
               COALESCE(f.gang_related, {linked("i.gang_related")}),
               (o.code = 'sexual_offence' OR COALESCE(f.sexual, {linked("i.mechanism = 'sexual'")})){count}
        FROM {t["TransitionLog"]} l
        JOIN {t["Prosecution"]} p ON p.id = l.object_id
        JOIN {t["PoliceCase"]} pc ON pc.id = p.police_case_id
        JOIN {t["Offence"]} o ON o.id = pc.offence_id
        LEFT JOIN {t["ProsecutionFacts"]} f ON f.prosecution_id = p.id
        WHERE l.content_type_id = %s AND l.transition IN ({transitions}) AND {where}
        {grouping}
    """  # noqa: S608  (table names from the models; values are parameters)


def removal_fact_rows(prosecution_ids=None) -> list[tuple]:
    """(log id, prosecution id, at, transition, reason, station id, court id, gang, gender_based) of the
    removals of these prosecutions (all when None), for ``RemovalFacts``."""
    params: list = [_prosecution_ct().pk]
    where = "1 = 1"
    if prosecution_ids is not None:
        ids = [int(i) for i in prosecution_ids]
        if not ids:
            return []
        where = f"p.id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    with connection.cursor() as cur:
        cur.execute(_removal_sql("l.id, p.id, l.at, l.transition, l.reason", where, group=False), params)
        return cur.fetchall()


def _removal_groups(period: Period) -> list[tuple]:
    """The removals in the period counted three narrow ways, as (by, reason, transition, station or court
    id, gang, gender_based, count): by "split" (reason x transition x gang x gender-based), "station"
    (reason x station) and "court" (reason x court) — a few hundred rows where the full cross product is
    nearly one row per removal. Whole calendar months come from ``RemovalRollup`` (a month's rows are
    ``removal_groups_live`` of that month), the rest from the kept facts; rows of one group may repeat
    (one per part) and are summed by the caller."""
    months = sorted(_computed_removal_months(months_within(period)))
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


def months_within(period: Period) -> list[date]:
    """The first days of the calendar months the period covers wholly, the current month included when
    the period runs to today or later: no removal takes effect in the future, so its days after today
    hold none (and "the year to today" is not a ragged end of the busiest month)."""
    today = timezone.localdate(timezone=SAST)
    month = period.start_date.replace(day=1)
    if month < period.start_date:
        month = next_month(month)
    months = []
    while month <= period.end_date:
        last = month + timedelta(days=month_days(month) - 1)
        if last > period.end_date and not (period.end_date >= today >= month):
            break
        months.append(month)
        month = next_month(month)
    return months


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_days(month: date) -> int:
    return (next_month(month) - month).days


def _computed_removal_months(months) -> set[date]:
    return set(RemovalRollup.objects.filter(by="month", month__in=months).values_list("month", flat=True))


def removal_groups_live(period: Period) -> list[tuple]:
    """``_removal_groups`` from the kept ``RemovalFacts``; a removal in the period that has none yet is
    counted by the live rule."""
    facts = RemovalFacts._meta.db_table
    bounds = [period.start, period.end]
    in_period = {"at__gte": period.start, "at__lt": period.end}
    logged = TransitionLog.objects.filter(
        content_type=_prosecution_ct(), transition__in=REMOVAL_LOG_TRANSITIONS, **in_period
    )
    # A fact is its log row's (one per row, same time), so equal counts mean every removal is kept and
    # the anti-join below, a third of the report's time at 5M admissions, can be skipped.
    if logged.count() == RemovalFacts.objects.filter(**in_period).count():
        missing, params = "FALSE", [_prosecution_ct().pk]
    else:
        missing = (
            f"l.at >= %s AND l.at < %s AND NOT EXISTS (SELECT 1 FROM {facts} rf WHERE rf.log_id = l.id"
            " AND rf.at >= %s AND rf.at < %s)"  # a fact's time is its log row's: hash the period's facts
        )
        params = [_prosecution_ct().pk, *bounds, *bounds]
    live = _removal_sql("l.transition, l.reason", missing, group=False)
    sql = f"""
        WITH r (transition, reason, station_id, court_id, gang, gbv) AS (
            SELECT transition, reason, station_id, court_id, gang_related, gender_based
            FROM {facts} WHERE at >= %s AND at < %s
            UNION ALL {live}
        )
        SELECT 'split', reason, transition, CAST(NULL AS BIGINT), gang, gbv, COUNT(*)
        FROM r GROUP BY 2, 3, 5, 6
        UNION ALL
        SELECT 'station', reason, NULL, station_id, NULL, NULL, COUNT(*) FROM r GROUP BY 2, 4
        UNION ALL
        SELECT 'court', reason, NULL, court_id, NULL, NULL, COUNT(*) FROM r GROUP BY 2, 4
    """  # noqa: S608  (table names from the models; values are parameters)
    with connection.cursor() as cur:
        cur.execute(sql, [*bounds, *params])
        return cur.fetchall()


def removal_tables(by_reason, total_removals: int, police_total: int, splits: dict) -> tuple:
    """The removals report as tables for suppression: the total row alone, then the reasons
    (removals = withdrawn + provisionally withdrawn + struck off; the police-attributable ones sum to
    the police total, the others to the rest, which is not shown) and each split (yes + no = the total;
    police-attributable <= removals), all around that total row (which only this report shows, so it may
    be withheld to protect them)."""

    def total_row(t: Table):
        t.count((TOTAL, "removals"), total_removals)
        t.count((TOTAL, "police_attributable"), police_total)
        t.unpublished((TOTAL, "other"), total_removals - police_total)
        t.identity((TOTAL, "removals"), [(TOTAL, "police_attributable"), (TOTAL, "other")])

    alone = Table()
    total_row(alone)
    reasons = Table()
    total_row(reasons)
    for reason, c in by_reason.items():
        for f in REMOVAL_COUNTS:
            reasons.count((reason, f), c[f])
        reasons.identity((reason, "removals"), [(reason, f) for f in REMOVAL_COUNTS[1:]])
    for side, police in (("police_attributable", True), ("other", False)):
        members = [r for r in by_reason if (r in POLICE_ATTRIBUTABLE_REASONS) == police]
        reasons.identity((TOTAL, side), [(r, "removals") for r in members])
    tables = [reasons]
    for split, groups in splits.items():
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
        tables.append(t)
    return alone, tables


def _removal_kinds(*args) -> dict:
    """The tables share the total row, which the report shows once: a total one table withholds is
    withheld in all, a count one table pins is shown in all, until nothing changes (each round only
    withholds more or shows what is known, so it ends)."""
    alone, tables = removal_tables(*args)
    kinds, known = alone.suppress(), set()
    for _ in range(20):
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


def removals(period: Period, *, suppress: bool, top: int = 3) -> dict:
    by_reason = defaultdict(Counter)
    stations = defaultdict(Counter)
    courts = defaultdict(Counter)
    splits = {"gender_based": defaultdict(Counter), "gang_related": defaultdict(Counter)}
    names = {
        "station": dict(Station.objects.values_list("pk", "name")),
        "court": dict(Court.objects.values_list("pk", "name")),
    }
    for by, reason, transition, ref, gang, gbv, n in _removal_groups(period):
        reason = reason or "other"
        if by == "station":
            stations[reason][names[by].get(ref, "?")] += n
            continue
        if by == "court":
            courts[reason][names[by].get(ref, "?")] += n
            continue
        police = reason in POLICE_ATTRIBUTABLE_REASONS
        by_reason[reason]["removals"] += n
        by_reason[reason][REMOVAL_TRANSITIONS[transition]] += n
        for split, yes in (("gender_based", gbv), ("gang_related", gang)):
            splits[split][bool(yes)]["removals"] += n
            splits[split][bool(yes)]["police_attributable"] += n if police else 0
    labels = dict(RemovalReason.choices)
    total_removals = sum(c["removals"] for c in by_reason.values())
    police_total = sum(c["removals"] for r, c in by_reason.items() if r in POLICE_ATTRIBUTABLE_REASONS)
    kinds = _removal_kinds(by_reason, total_removals, police_total, splits) if suppress else {}
    share = {"share": ("removals", "all_removals")}
    rows = []
    for reason, c in sorted(by_reason.items(), key=lambda kv: (-kv[1]["removals"], kv[0])):
        raw = {"group": reason, **{k: c[k] for k in REMOVAL_COUNTS}, "all_removals": total_removals}
        row = apply(raw, REMOVAL_COUNTS, kinds, lambda f, reason=reason: (reason, f))
        row["all_removals"] = None if (TOTAL, "removals") in kinds else total_removals
        row = with_rates(row, raw, share, suppress=suppress)
        del row["all_removals"]
        row["label"] = str(labels.get(reason, reason))
        row["police_attributable"] = reason in POLICE_ATTRIBUTABLE_REASONS
        # A top list only bounds the reason's removals; withheld with them when they are withheld.
        hidden = row["removals"] is None
        for name, counter in (("top_stations", stations), ("top_courts", courts)):
            row[name] = [
                {"name": n, "removals": None if hidden and suppress else suppress_count(k, suppress)}
                for n, k in counter[reason].most_common(top)
            ]
        rows.append(row)
    police = {"police_attributable_share": ("police_attributable", "removals")}
    raw_total = {"group": None, "removals": total_removals, "police_attributable": police_total}
    total = apply(raw_total, ["removals", "police_attributable"], kinds, lambda f: (TOTAL, f))
    total = with_rates(total, raw_total, police, suppress=suppress)
    split_rows = {}
    for split, groups in splits.items():
        split_rows[split] = []
        for yes in (True, False):
            raw = {
                "group": yes,
                "removals": groups[yes]["removals"],
                "police_attributable": groups[yes]["police_attributable"],
            }
            row = apply(raw, ["removals", "police_attributable"], kinds, lambda f, s=split, y=yes: (s, y, f))
            split_rows[split].append(with_rates(row, raw, police, suppress=suppress))
    return {"definitions": definitions.REMOVALS, "rows": rows, "total": total, "splits": split_rows}


# ------------------------------------------------------------------ re-enrolment outcomes

RE_ENROL_COUNTS = [
    "matters",
    "open",
    "convictions",
    "acquittals",
    "removed_again",
    "diverted",
    "verdicts",
]
RE_ENROL_IDENTITIES = [
    ("verdicts", ["convictions", "acquittals"]),
    ("matters", ["open", "verdicts", "removed_again", "diverted"]),
]


def re_enrolment(period: Period, *, suppress: bool) -> dict:
    # One query: each re-enrolment log row with whether it names a review and the matter's state now.
    rows = (
        TransitionLog.objects.filter(
            content_type=_prosecution_ct(), transition="re_enrol", at__gte=period.start, at__lt=period.end
        )
        .annotate(
            after_review=ExpressionWrapper(Q(data__has_key="review"), output_field=BooleanField()),
            state_now=Subquery(Prosecution.objects.filter(pk=OuterRef("object_id")).values("state")[:1]),
        )
        .values_list("object_id", "after_review", "state_now")
    )
    states, after_review = {}, set()
    for pk, reviewed, state in rows:
        states[pk] = state
        if reviewed:
            after_review.add(pk)
    every = set(states)

    def counts(ids) -> tuple[dict, Counter]:
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

    groups = {"after_review": counts(after_review), "other": counts(every - after_review)}
    raw_total, total_states = counts(every)
    kinds = {}
    if suppress:
        kinds = suppress_grouped(
            {g: r for g, (r, _) in groups.items()}, raw_total, row_identities=RE_ENROL_IDENTITIES
        )

    def tally(group, raw, st, key):
        out = apply({"group": group, **raw}, RE_ENROL_COUNTS, kinds, key)
        out = with_rates(out, raw, {"conviction_rate": ("convictions", "verdicts")}, suppress=suppress)
        # Where the matters stand now splits the counts above finer than their identities can follow:
        # withheld whole when suppressed (the counts above carry the answer).
        out["current_state"] = {s: None if suppress else n for s, n in sorted(st.items())}
        if suppress and st:
            out["suppressed"] = out.get("suppressed", []) + ["current_state"]
        return out

    rows = [tally(g, r, st, lambda f, g=g: (g, f)) for g, (r, st) in groups.items()]
    total = tally(None, raw_total, total_states, lambda f: (TOTAL, f))
    return {"definitions": definitions.RE_ENROLMENT, "rows": rows, "total": total}
