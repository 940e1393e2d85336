"""Keep the dashboard's narrow rollups fresh: recompute the SAST days a change touches.

How freshness works (docs/reporting.md):
1. An admission is recorded or changed (``admission_recorded``), or an incident's gang-relatedness
   changes (``incident_changed``): ``reporting.reactions`` notes the SAST days touched.
2. Once per transaction, after commit, ``tasks.refresh_rollups`` runs for those days (in-process
   when Celery is eager, on a worker otherwise). It deletes and recomputes each kind's rows for
   each day under a per-day advisory lock, so two refreshes of one day never interleave.
3. A sweeper (beat, every minute) recomputes the days of admissions updated since its last run:
   the safety net for a change that reached the database by another path.

The attrition funnel's per-day rows (``FunnelRollup``, ``FunnelReason``) are recomputed with a day's
dashboard rollups, and on their own (``mark_funnel_days``) for the days of incidents a docket,
prosecution or referral step touches. The conviction rate's per-day ``OutcomeRollup`` is recomputed
(``mark_outcome_days``) for the days a prosecution is or was finalised on when it moves. The
per-prosecution facts and kept removals are refreshed per prosecution (``mark_prosecutions``), and with
them the removals report's monthly ``RemovalRollup`` of the months those removals fall in.
"""

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Min, Sum, Value
from django.db.models.functions import Coalesce, ExtractHour, TruncDate, TruncWeek
from django.utils import timezone

from .models import AdmissionRollup, FunnelReason, FunnelRollup, OutcomeRollup, RemovalRollup, RollupStamp
from .params import SAST, Period


def _gang_expression():
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
    "gang": (_gang_expression(), None),
    "facility_mechanism": (F("facility_id"), F("mechanism")),
}


def _admissions():
    from referrals.models import Admission

    return Admission.objects.all()


def sast_day(moment: datetime) -> date:
    return timezone.localtime(moment, SAST).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=SAST)
    return start, start + timedelta(days=1)


def _key(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _compute(qs, kind: str) -> list[AdmissionRollup]:
    k1, k2 = KINDS[kind]
    rows = (
        qs.annotate(
            rday=TruncDate("arrival_at", tzinfo=SAST), rk1=k1, rk2=k2 if k2 is not None else Value("")
        )
        .order_by()
        .values("rday", "rk1", "rk2")
        .annotate(cnt=Count("id"))
    )
    return [
        AdmissionRollup(kind=kind, day=r["rday"], k1=_key(r["rk1"]), k2=_key(r["rk2"]), n=r["cnt"])
        for r in rows
    ]


def _stamp(kinds) -> None:
    now = timezone.now()
    for kind in kinds:
        RollupStamp.objects.update_or_create(kind=kind, defaults={"refreshed_at": now})


WEEK_KIND = "suburb_week"  # suburb x ISO week (day = the Monday), summed from the daily suburb rows


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _lock(namespace: int, day: date) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, day.toordinal()])


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


# ------------------------------------------------------------------ attrition funnel and unknown to police


def _funnel_rows(first: date, last: date) -> tuple[list[FunnelRollup], list[FunnelReason]]:
    """The funnel rows of the SAST days first..last: each day's marker, the steps and reasons of the
    incidents that occurred that day, and the admissions that arrived that day by group and docket
    bucket. One grouped query per figure for the whole span."""
    from .dashboard import UNKNOWN_GROUP_BY, UNKNOWN_GROUP_FIELD, funnel_by_day, with_docket_bucket

    start, end = _day_bounds(first)[0], _day_bounds(last)[1]
    counts, reasons = funnel_by_day(start, end)
    days = Period(first, last).each_day()
    rows = [FunnelRollup(kind="day", day=day, n=0) for day in days]
    rows += [
        FunnelRollup(kind="step", day=day, k1=step, n=n)
        for day in days
        for step, n in counts.get(day, {}).items()
        if n
    ]
    # One pass over the admissions, summed here into the three groupings (a row per admission at most).
    by_group = {group_by: Counter() for group_by in UNKNOWN_GROUP_BY}
    fields = [UNKNOWN_GROUP_FIELD[g] for g in UNKNOWN_GROUP_BY]
    admissions = with_docket_bucket(_admissions().filter(arrival_at__gte=start, arrival_at__lt=end))
    grouped = admissions.order_by().values_list("arrival_day", "bucket", *fields).annotate(cnt=Count("id"))
    for day, bucket, *keys, n in grouped:
        for group_by, key in zip(UNKNOWN_GROUP_BY, keys, strict=True):
            by_group[group_by][day, _key(key), bucket] += n
    rows += [
        FunnelRollup(kind=f"unknown_{group_by}", day=day, k1=k1, k2=bucket, n=n)
        for group_by, counter in by_group.items()
        for (day, k1, bucket), n in counter.items()
    ]
    facts = [
        FunnelReason(day=d, kind=kind, reason=reason or "", object_id=pk) for d, kind, reason, pk in reasons
    ]
    return rows, facts


def day_runs(days, longest: int | None = None) -> list[tuple[date, date]]:
    """Sorted days as contiguous (first, last) runs, of at most ``longest`` days when given."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        extends = runs and runs[-1][1] + timedelta(days=1) == day
        if extends and (longest is None or (day - runs[-1][0]).days < longest):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(a, b) for a, b in runs]


RUN_DAYS = 31  # one transaction and one pass per month of days: bounded locks, memory and rows


def _locked_runs(namespace: int, days):
    """The days as contiguous runs of at most ``RUN_DAYS``, each inside its own transaction holding its
    days' advisory locks (taken in date order, so two refreshes never deadlock)."""
    for first, last in day_runs(days, RUN_DAYS):
        with transaction.atomic():
            for day in Period(first, last).each_day():
                _lock(namespace, day)
            yield first, last


def refresh_funnel_days(days) -> int:
    """Recompute the funnel rollups of these SAST days; returns the rows written."""
    written = 0
    for first, last in _locked_runs(729, days):
        FunnelRollup.objects.filter(day__gte=first, day__lte=last).delete()
        FunnelReason.objects.filter(day__gte=first, day__lte=last).delete()
        rows, facts = _funnel_rows(first, last)
        FunnelRollup.objects.bulk_create(rows, batch_size=5000)
        FunnelReason.objects.bulk_create(facts, batch_size=5000)
        written += len(rows) + len(facts)
    return written


def rebuild_funnel() -> int:
    """Recompute the funnel rollups of every day from the first arrival or incident to today."""
    from casework.models import Incident

    firsts = [
        m
        for m in (
            _admissions().aggregate(m=Min("arrival_at"))["m"],
            Incident.objects.aggregate(m=Min("occurred_at"))["m"],
        )
        if m is not None
    ]
    if not firsts:
        return 0
    first, last = sast_day(min(firsts)), timezone.localdate(timezone=SAST)
    return refresh_funnel_days(Period(first, last).each_day())


def refresh_days(days) -> int:
    """Recompute every kind for these SAST days (and their ISO weeks); returns the rows written."""
    written = 0
    days = sorted(set(days))
    for day in days:
        start, end = _day_bounds(day)
        with transaction.atomic():
            _lock(727, day)
            AdmissionRollup.objects.filter(day=day, kind__in=KINDS).delete()
            qs = _admissions().filter(arrival_at__gte=start, arrival_at__lt=end)
            rows = [r for kind in KINDS for r in _compute(qs, kind)]
            AdmissionRollup.objects.bulk_create(rows)
            written += len(rows)
    written += refresh_funnel_days(days)
    for monday in sorted({_week_start(d) for d in days}):
        with transaction.atomic():
            _lock(728, monday)
            AdmissionRollup.objects.filter(kind=WEEK_KIND, day=monday).delete()
            daily = AdmissionRollup.objects.filter(
                kind="suburb", day__gte=monday, day__lt=monday + timedelta(days=7)
            )
            rows = _weekly_rows(daily)
            AdmissionRollup.objects.bulk_create(rows)
            written += len(rows)
    _stamp([*KINDS, WEEK_KIND])
    return written


def rebuild_all() -> int:
    """Recompute every rollup from scratch (deploys, the benchmark, a repaired feed)."""
    written = 0
    with transaction.atomic():
        AdmissionRollup.objects.all().delete()
        for kind in KINDS:
            rows = _compute(_admissions(), kind)
            AdmissionRollup.objects.bulk_create(rows, batch_size=5000)
            written += len(rows)
        rows = _weekly_rows(AdmissionRollup.objects.filter(kind="suburb"))
        AdmissionRollup.objects.bulk_create(rows, batch_size=5000)
        written += len(rows)
    _stamp([*KINDS, WEEK_KIND])
    return written


SWEEP_KIND = "_sweep"


def incident_days(incident_ids) -> set[date]:
    """The SAST days whose funnel rollups these incidents count in: the days they occurred on and the
    arrival days of their admissions (whose "unknown to police" bucket follows the incident's dockets)."""
    from casework.models import Incident

    ids = list(incident_ids)
    if not ids:
        return set()
    occurred = Incident.objects.filter(pk__in=ids).values_list("occurred_at", flat=True)
    arrivals = _admissions().filter(incident_id__in=ids).values_list("arrival_at", flat=True)
    return {sast_day(t) for t in [*occurred, *arrivals]}


def sweep() -> int:
    """Refresh the days of admissions changed since the last sweep (the safety net)."""
    now = timezone.now()
    stamp = RollupStamp.objects.filter(kind=SWEEP_KIND).first()
    since = stamp.refreshed_at if stamp else now - timedelta(minutes=5)
    arrivals = (
        _admissions()
        .filter(updated_at__gte=since - timedelta(seconds=5))
        .values_list("arrival_at", flat=True)
    )
    days = {sast_day(a) for a in arrivals}
    # A docket opened (no event) changes the funnel and "unknown to police" of its incidents' days.
    from casework.models import PoliceCase

    days |= incident_days(
        PoliceCase.incidents.through.objects.filter(
            policecase__created_at__gte=since - timedelta(seconds=5)
        ).values_list("incident_id", flat=True)
    )
    written = refresh_days(days) if days else 0
    from casework.models import Prosecution

    missing = set(Prosecution.objects.filter(report_facts__isnull=True).values_list("pk", flat=True)[:5000])
    missing |= _prosecutions_with_unkept_removals()
    if missing:
        refresh_prosecution_facts(missing)
    RollupStamp.objects.update_or_create(kind=SWEEP_KIND, defaults={"refreshed_at": now})
    return written


# ------------------------------------------------------------------ conviction-rate outcomes per day

OUTCOME_KINDS = ("court", "station", "district", "offence", "mechanism", "gang_related")


def _outcome_rows(first: date, last: date) -> list[OutcomeRollup]:
    """The outcome rows of the SAST days first..last: each day's marker and, per grouping, the matters
    finalised that day by group and state, counted by the report's own live rule."""
    from .selectors import outcome_counts_live

    days = Period(first, last).each_day()
    rows = [OutcomeRollup(kind="day", day=day, n=0) for day in days]
    for kind in OUTCOME_KINDS:
        counts = outcome_counts_live(Period(first, last), kind, by_day=True)
        rows += [
            OutcomeRollup(kind=kind, day=day, k1=_key(group), state=state, n=n)
            for (day, group), states in counts.items()
            for state, n in states.items()
        ]
    return rows


def refresh_outcome_days(days) -> int:
    """Recompute the conviction-rate rollups of these SAST days; returns the rows written."""
    written = 0
    for first, last in _locked_runs(730, days):
        OutcomeRollup.objects.filter(day__gte=first, day__lte=last).delete()
        rows = _outcome_rows(first, last)
        OutcomeRollup.objects.bulk_create(rows, batch_size=5000)
        written += len(rows)
    return written


def rebuild_outcomes() -> int:
    """Recompute the conviction-rate rollups of every day from the first finalisation to today."""
    from casework.models import Prosecution

    first = Prosecution.objects.aggregate(m=Min("finalised_on"))["m"]
    if first is None:
        OutcomeRollup.objects.all().delete()
        return 0
    first, last = sast_day(first), timezone.localdate(timezone=SAST)
    OutcomeRollup.objects.filter(day__lt=first).delete()
    return refresh_outcome_days(Period(first, last).each_day())


def outcome_days(prosecution_ids) -> set[date]:
    """The SAST days whose outcome rows these prosecutions count in, now or before: the day of their
    current finalisation and of every earlier one in the log (a re-enrolment or a sentence moves a matter
    off the day it was counted on)."""
    from django.contrib.contenttypes.models import ContentType

    from casework.models import Prosecution, TransitionLog

    ids = list(prosecution_ids)
    if not ids:
        return set()
    now = Prosecution.objects.filter(pk__in=ids, finalised_on__isnull=False).values_list(
        "finalised_on", flat=True
    )
    before = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Prosecution),
        object_id__in=ids,
        to_state__in=Prosecution.FINALISED_STATES,
    ).values_list("at", flat=True)
    return {sast_day(t) for t in [*now, *before]}


# ------------------------------------------------------------------ per-prosecution facts


def _prosecutions_with_unkept_removals(limit: int = 5000) -> set[int]:
    from django.contrib.contenttypes.models import ContentType

    from casework.models import Prosecution, TransitionLog

    from .models import RemovalFacts
    from .selectors import REMOVAL_LOG_TRANSITIONS

    logs = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Prosecution), transition__in=REMOVAL_LOG_TRANSITIONS
    ).exclude(pk__in=RemovalFacts.objects.values("log_id"))
    return set(logs.values_list("object_id", flat=True)[:limit])


def refresh_prosecution_facts(prosecution_ids=None) -> int:
    """Recompute gang-relatedness and mechanism of these prosecutions (all when None)."""
    from casework.models import Prosecution

    from .models import ProsecutionFacts
    from .selectors import first_incident_mechanism, gang_related_expression, sexual_expression

    qs = Prosecution.objects.all()
    if prosecution_ids is not None:
        qs = qs.filter(pk__in=list(prosecution_ids))
    rows = qs.annotate(
        g=gang_related_expression(live=True), m=first_incident_mechanism(), x=sexual_expression()
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
    from .models import RemovalFacts
    from .selectors import removal_fact_rows

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
        for log_id, pk, at, transition, reason, station_id, court_id, gang, gbv in removal_fact_rows(ids)
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
    from .selectors import month_days, removal_groups_live

    written = 0
    for month in sorted(set(months)):
        with transaction.atomic():
            _lock(731, month)
            RemovalRollup.objects.filter(month=month).delete()
            last = month + timedelta(days=month_days(month) - 1)
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
                for by, reason, transition, ref, gang, gbv, n in removal_groups_live(Period(month, last))
            ]
            RemovalRollup.objects.bulk_create(rows, batch_size=5000)
            written += len(rows)
    return written


def removal_months(prosecution_ids=None) -> set[date]:
    """The calendar months (first days) of these prosecutions' removals (all when None)."""
    from django.contrib.contenttypes.models import ContentType

    from casework.models import Prosecution, TransitionLog

    from .selectors import REMOVAL_LOG_TRANSITIONS, months_within

    logs = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Prosecution), transition__in=REMOVAL_LOG_TRANSITIONS
    )
    if prosecution_ids is not None:
        logs = logs.filter(object_id__in=list(prosecution_ids))
    else:  # every month from the first removal's to this one
        first = logs.aggregate(m=Min("at"))["m"]
        if first is None:
            return set()
        return set(months_within(Period(sast_day(first).replace(day=1), timezone.localdate(timezone=SAST))))
    return {sast_day(at).replace(day=1) for at in logs.values_list("at", flat=True)}


_pending_facts = threading.local()


def mark_prosecutions(ids) -> None:
    """Refresh these prosecutions' facts once after this transaction commits."""
    ids = set(ids)
    if not ids:
        return
    conn = transaction.get_connection()
    pending = getattr(_pending_facts, "ids", None)
    if conn.in_atomic_block and pending is not None and any(e[1] is _flush_facts for e in conn.run_on_commit):
        pending |= ids
        return
    _pending_facts.ids = ids
    transaction.on_commit(_flush_facts, robust=True)


def _flush_facts() -> None:
    ids, _pending_facts.ids = getattr(_pending_facts, "ids", None) or set(), None
    if ids:
        from . import tasks

        tasks.refresh_prosecution_facts.delay(sorted(ids))


# ------------------------------------------------------------------ once per transaction, after commit


class _DaysAfterCommit:
    """SAST days noted by the changes of one transaction, handed once after its commit to one refresh
    task (in-process when Celery is eager, on a worker otherwise)."""

    def __init__(self, task_name: str):
        self.task_name = task_name
        self._local = threading.local()

    def mark(self, days) -> None:
        days = set(days)
        if not days:
            return
        conn = transaction.get_connection()
        callback = getattr(self._local, "callback", None)
        registered = callback is not None and any(e[1] is callback for e in conn.run_on_commit)
        if conn.in_atomic_block and registered:
            self._local.days |= days
            return
        self._local.days = days
        self._local.callback = callback = self._flush  # one bound method, to find it among the callbacks
        # robust: a broker that is down must not fail the write that just committed; the sweeper catches up.
        transaction.on_commit(callback, robust=True)  # runs at once outside a transaction

    def _flush(self) -> None:
        days = getattr(self._local, "days", None) or set()
        self._local.days, self._local.callback = None, None
        if days:
            from . import tasks

            getattr(tasks, self.task_name).delay(sorted(d.isoformat() for d in days))


# The dashboard's days (arrival days), the funnel's own (the days incidents occurred on, and their
# admissions' arrival days) and the conviction-rate outcomes' (days of finalisation), each refreshed
# once per transaction after commit without recomputing the others.
mark_days = _DaysAfterCommit("refresh_rollups").mark
mark_funnel_days = _DaysAfterCommit("refresh_funnel").mark
mark_outcome_days = _DaysAfterCommit("refresh_outcomes").mark
