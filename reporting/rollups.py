"""Keep the reports' rows: recompute the SAST days (and months) a change touches from the measures.

How freshness works (docs/reporting.md):
1. An admission is recorded or changed (``admission_recorded``), or an incident's gang-relatedness
   changes (``incident_changed``): ``reporting.reactions`` notes the SAST days touched.
2. Once per transaction, after commit (``reporting.refresh``), ``tasks.refresh_rollups`` runs for those
   days (in-process when Celery is eager, on a worker otherwise). It deletes and recomputes each kind's
   rows for each day under a per-day advisory lock, so two refreshes of one day never interleave.
3. A sweeper (beat, every minute) recomputes the days of admissions updated since its last run:
   the safety net for a change that reached the database by another path.

The attrition funnel's per-day rows (``FunnelRollup``, ``FunnelReason``) are recomputed with a day's
dashboard rollups, and on their own for the days of incidents a docket, prosecution or referral step
touches. The conviction rate's per-day ``OutcomeRollup`` is recomputed for the days a prosecution is or
was finalised on when it moves. The per-prosecution facts and kept removals are refreshed per
prosecution, and with them the removals report's monthly ``RemovalRollup`` of the months those removals
fall in.
"""

from collections import Counter
from datetime import UTC, date, timedelta

from django.db import connection, transaction
from django.db.models import Count, Min, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from casework.models import Incident, PoliceCase, Prosecution
from referrals.models import Admission

from .measures import admissions, funnel, outcomes, removals, unknown_to_police
from .measures.touched import incident_days, outcome_days, removal_months
from .models import (
    AdmissionRollup,
    FunnelReason,
    FunnelRollup,
    OutcomeRollup,
    ProsecutionFacts,
    RemovalFacts,
    RemovalRollup,
    RollupStamp,
)
from .periods import Period, day_runs, month_period, sast_day, today, week_start

KINDS = admissions.KINDS
WEEK_KIND = admissions.WEEK_KIND
SWEEP_KIND = "_sweep"
RUN_DAYS = 31  # one transaction and one pass per month of days: bounded locks, memory and rows
# Advisory lock namespaces, one per kind of kept row.
LOCK_DAY, LOCK_WEEK, LOCK_FUNNEL, LOCK_OUTCOME, LOCK_REMOVAL_MONTH = 727, 728, 729, 730, 731


def _lock(namespace: int, day: date) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, day.toordinal()])


def _locked_runs(namespace: int, days):
    """The days as contiguous runs of at most ``RUN_DAYS``, each inside its own transaction holding its
    days' advisory locks (taken in date order, so two refreshes never deadlock)."""
    for first, last in day_runs(days, RUN_DAYS):
        with transaction.atomic():
            for day in Period(first, last).each_day():
                _lock(namespace, day)
            yield first, last


# ------------------------------------------------------------------ the dashboard's admissions


def _admission_rows(qs, kind: str) -> list[AdmissionRollup]:
    return [
        AdmissionRollup(kind=kind, day=day, k1=admissions.key_text(k1), k2=admissions.key_text(k2), n=n)
        for day, k1, k2, n in admissions.per_day(qs, kind)
    ]


def _stamp(kinds) -> None:
    now = timezone.now()
    for kind in kinds:
        RollupStamp.objects.update_or_create(kind=kind, defaults={"refreshed_at": now})


def _weekly_rows(daily) -> list[AdmissionRollup]:
    rows = daily.annotate(week=TruncWeek("day")).values("week", "k1").annotate(total=Sum("n")).order_by()
    return [
        AdmissionRollup(
            kind=WEEK_KIND,
            day=r["week"] if isinstance(r["week"], date) else r["week"].date(),
            k1=r["k1"],
            n=r["total"],
        )
        for r in rows
    ]


def _refresh_admission_days(days) -> int:
    written = 0
    for day in days:
        period = Period(day, day)
        with transaction.atomic():
            _lock(LOCK_DAY, day)
            AdmissionRollup.objects.filter(day=day, kind__in=KINDS).delete()
            qs = Admission.objects.filter(arrival_at__gte=period.start, arrival_at__lt=period.end)
            rows = [r for kind in KINDS for r in _admission_rows(qs, kind)]
            AdmissionRollup.objects.bulk_create(rows)
            written += len(rows)
    return written


def _refresh_weeks(mondays) -> int:
    written = 0
    for monday in sorted(mondays):
        with transaction.atomic():
            _lock(LOCK_WEEK, monday)
            AdmissionRollup.objects.filter(kind=WEEK_KIND, day=monday).delete()
            daily = AdmissionRollup.objects.filter(
                kind="suburb", day__gte=monday, day__lt=monday + timedelta(days=7)
            )
            rows = _weekly_rows(daily)
            AdmissionRollup.objects.bulk_create(rows)
            written += len(rows)
    return written


def refresh_days(days) -> int:
    """Recompute every kind for these SAST days (and their ISO weeks, and their funnel); returns the rows
    written."""
    days = sorted(set(days))
    written = _refresh_admission_days(days)
    written += refresh_funnel_days(days)
    written += _refresh_weeks({week_start(d) for d in days})
    _stamp([*KINDS, WEEK_KIND])
    return written


def rebuild_all() -> int:
    """Recompute every rollup from scratch (deploys, the benchmark, a repaired feed)."""
    written = 0
    with transaction.atomic():
        AdmissionRollup.objects.all().delete()
        for kind in KINDS:
            rows = _admission_rows(Admission.objects.all(), kind)
            AdmissionRollup.objects.bulk_create(rows, batch_size=5000)
            written += len(rows)
        rows = _weekly_rows(AdmissionRollup.objects.filter(kind="suburb"))
        AdmissionRollup.objects.bulk_create(rows, batch_size=5000)
        written += len(rows)
    _stamp([*KINDS, WEEK_KIND])
    return written


# ------------------------------------------------------------------ attrition funnel and unknown to police


def _unknown_rows(period: Period) -> list[FunnelRollup]:
    """Admissions that arrived on each day by group and docket bucket: one pass over the admissions,
    summed here into the three groupings (a row per admission at most)."""
    groupings = unknown_to_police.UNKNOWN_GROUP_BY
    by_group = {group_by: Counter() for group_by in groupings}
    fields = [unknown_to_police.UNKNOWN_GROUP_FIELD[g] for g in groupings]
    arrived = Admission.objects.filter(arrival_at__gte=period.start, arrival_at__lt=period.end)
    grouped = (
        unknown_to_police.with_docket_bucket(arrived)
        .order_by()
        .values_list("arrival_day", "bucket", *fields)
        .annotate(cnt=Count("id"))
    )
    for day, bucket, *keys, n in grouped:
        for group_by, key in zip(groupings, keys, strict=True):
            by_group[group_by][day, admissions.key_text(key), bucket] += n
    return [
        FunnelRollup(kind=f"unknown_{group_by}", day=day, k1=k1, k2=bucket, n=n)
        for group_by, counter in by_group.items()
        for (day, k1, bucket), n in counter.items()
    ]


def _funnel_rows(first: date, last: date) -> tuple[list[FunnelRollup], list[FunnelReason]]:
    """The funnel rows of the SAST days first..last: each day's marker, the steps and reasons of the
    incidents that occurred that day, and the admissions that arrived that day by group and docket
    bucket. One grouped query per figure for the whole span."""
    period = Period(first, last)
    counts, reasons = funnel.funnel_by_day(period.start, period.end)
    days = period.each_day()
    rows = [FunnelRollup(kind="day", day=day, n=0) for day in days]
    rows += [
        FunnelRollup(kind="step", day=day, k1=step, n=n)
        for day in days
        for step, n in counts.get(day, {}).items()
        if n
    ]
    rows += _unknown_rows(period)
    facts = [
        FunnelReason(day=d, kind=kind, reason=reason or "", object_id=pk) for d, kind, reason, pk in reasons
    ]
    return rows, facts


def refresh_funnel_days(days) -> int:
    """Recompute the funnel rollups of these SAST days; returns the rows written."""
    written = 0
    for first, last in _locked_runs(LOCK_FUNNEL, days):
        FunnelRollup.objects.filter(day__gte=first, day__lte=last).delete()
        FunnelReason.objects.filter(day__gte=first, day__lte=last).delete()
        rows, facts = _funnel_rows(first, last)
        FunnelRollup.objects.bulk_create(rows, batch_size=5000)
        FunnelReason.objects.bulk_create(facts, batch_size=5000)
        written += len(rows) + len(facts)
    return written


def rebuild_funnel() -> int:
    """Recompute the funnel rollups of every day from the first arrival or incident to today."""
    firsts = [
        m
        for m in (
            Admission.objects.aggregate(m=Min("arrival_at"))["m"],
            Incident.objects.aggregate(m=Min("occurred_at"))["m"],
        )
        if m is not None
    ]
    if not firsts:
        return 0
    return refresh_funnel_days(Period(sast_day(min(firsts)), today()).each_day())


# ------------------------------------------------------------------ the safety net


def sweep() -> int:
    """Refresh the days of admissions changed since the last sweep (the safety net)."""
    now = timezone.now()
    stamp = RollupStamp.objects.filter(kind=SWEEP_KIND).first()
    since = (stamp.refreshed_at if stamp else now - timedelta(minutes=5)) - timedelta(seconds=5)
    arrivals = Admission.objects.filter(updated_at__gte=since).values_list("arrival_at", flat=True)
    days = {sast_day(a) for a in arrivals}
    # A docket opened (no event) changes the funnel and "unknown to police" of its incidents' days.
    opened = PoliceCase.incidents.through.objects.filter(policecase__created_at__gte=since)
    days |= incident_days(opened.values_list("incident_id", flat=True))
    written = refresh_days(days) if days else 0
    missing = set(Prosecution.objects.filter(report_facts__isnull=True).values_list("pk", flat=True)[:5000])
    missing |= _prosecutions_with_unkept_removals()
    if missing:
        refresh_prosecution_facts(missing)
    RollupStamp.objects.update_or_create(kind=SWEEP_KIND, defaults={"refreshed_at": now})
    return written


# ------------------------------------------------------------------ conviction-rate outcomes per day


def _outcome_rows(first: date, last: date) -> list[OutcomeRollup]:
    """The outcome rows of the SAST days first..last: each day's marker and, per grouping, the matters
    finalised that day by group and state, counted by the report's own live rule."""
    days = Period(first, last).each_day()
    rows = [OutcomeRollup(kind="day", day=day, n=0) for day in days]
    for kind in outcomes.KEPT_GROUP_BY:
        counts = outcomes.outcome_counts_live(Period(first, last), kind, by_day=True)
        rows += [
            OutcomeRollup(kind=kind, day=day, k1=admissions.key_text(group), state=state, n=n)
            for (day, group), states in counts.items()
            for state, n in states.items()
        ]
    return rows


def refresh_outcome_days(days) -> int:
    """Recompute the conviction-rate rollups of these SAST days; returns the rows written."""
    written = 0
    for first, last in _locked_runs(LOCK_OUTCOME, days):
        OutcomeRollup.objects.filter(day__gte=first, day__lte=last).delete()
        rows = _outcome_rows(first, last)
        OutcomeRollup.objects.bulk_create(rows, batch_size=5000)
        written += len(rows)
    return written


def rebuild_outcomes() -> int:
    """Recompute the conviction-rate rollups of every day from the first finalisation to today."""
    first = Prosecution.objects.aggregate(m=Min("finalised_on"))["m"]
    if first is None:
        OutcomeRollup.objects.all().delete()
        return 0
    first = sast_day(first)
    OutcomeRollup.objects.filter(day__lt=first).delete()
    return refresh_outcome_days(Period(first, today()).each_day())


# ------------------------------------------------------------------ per-prosecution facts


def _prosecutions_with_unkept_removals(limit: int = 5000) -> set[int]:
    logs = removals.removal_logs().exclude(pk__in=RemovalFacts.objects.values("log_id"))
    return set(logs.values_list("object_id", flat=True)[:limit])


def refresh_prosecution_facts(prosecution_ids=None) -> int:
    """Recompute gang-relatedness and mechanism of these prosecutions (all when None)."""
    qs = Prosecution.objects.all()
    if prosecution_ids is not None:
        qs = qs.filter(pk__in=list(prosecution_ids))
    rows = qs.annotate(
        g=outcomes.gang_related_expression(live=True),
        m=outcomes.first_incident_mechanism(),
        x=outcomes.sexual_expression(),
    ).values_list("pk", "g", "m", "x")
    facts = [
        ProsecutionFacts(prosecution_id=pk, gang_related=bool(g), mechanism=m or "", sexual=bool(x))
        for pk, g, m, x in rows
    ]
    with transaction.atomic():
        stale = ProsecutionFacts.objects.all()
        if prosecution_ids is not None:
            stale = stale.filter(prosecution_id__in=[f.prosecution_id for f in facts])
        stale.delete()
        ProsecutionFacts.objects.bulk_create(facts, batch_size=5000)
        refresh_removal_facts(None if prosecution_ids is None else [f.prosecution_id for f in facts])
    if prosecution_ids is not None:  # gang-related and mechanism are conviction-rate groupings
        refresh_outcome_days(outcome_days(f.prosecution_id for f in facts))
    return len(facts)


def refresh_removal_facts(prosecution_ids=None) -> int:
    """Rewrite the kept removals (``RemovalFacts``) of these prosecutions (all when None)."""
    ids = None if prosecution_ids is None else list(prosecution_ids)
    rows = [
        RemovalFacts(
            log_id=log_id,
            prosecution_id=pk,
            at=timezone.make_aware(at, UTC) if timezone.is_naive(at) else at,  # SQLite: naive UTC
            transition=transition,
            reason=reason or "",
            station_id=station_id,
            court_id=court_id,
            gang_related=bool(gang),
            gender_based=bool(gbv),
        )
        for log_id, pk, at, transition, reason, station_id, court_id, gang, gbv in removals.removal_fact_rows(
            ids
        )
    ]
    with transaction.atomic():
        stale = RemovalFacts.objects.all()
        if ids is not None:
            stale = stale.filter(prosecution_id__in=ids)
        stale.delete()
        RemovalFacts.objects.bulk_create(rows, batch_size=5000)
        if ids is None:
            RemovalRollup.objects.all().delete()
        refresh_removal_months(removal_months(ids))
    return len(rows)


def refresh_removal_months(months) -> int:
    """Recompute the removals report's rollup of these calendar months (their first days)."""
    written = 0
    for month in sorted(set(months)):
        with transaction.atomic():
            _lock(LOCK_REMOVAL_MONTH, month)
            RemovalRollup.objects.filter(month=month).delete()
            rows = [RemovalRollup(month=month, by="month", n=0)]
            rows += [
                RemovalRollup(
                    month=month,
                    by=by,
                    reason=reason or "",
                    transition=transition or "",
                    ref_id=ref,
                    gang_related=gang,
                    gender_based=gbv,
                    n=n,
                )
                for by, reason, transition, ref, gang, gbv, n in removals.removal_groups_live(
                    month_period(month.year, month.month)
                )
            ]
            RemovalRollup.objects.bulk_create(rows, batch_size=5000)
            written += len(rows)
    return written
