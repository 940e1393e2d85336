"""Removals from the roll (withdraw, provisional withdrawal, strike-off), read from the transition log.

SQL where the log is joined: it points at its object generically (no foreign key to join on).
"""

from django.contrib.contenttypes.models import ContentType
from django.db import connection

from casework.models import Incident, Offence, PoliceCase, Prosecution, TransitionLog
from casework.transitions import removal_transitions

from ..models import ProsecutionFacts, RemovalFacts
from ..periods import Period

# name → the removed state it leads to, read from the prosecution's state machine (no second list to keep)
REMOVAL_TRANSITIONS = removal_transitions()
REMOVAL_LOG_TRANSITIONS = tuple(REMOVAL_TRANSITIONS)
REMOVAL_COUNTS = ["removals", *(str(s) for s in Prosecution.REMOVED_STATES)]  # the report's columns


def prosecution_type():
    return ContentType.objects.get_for_model(Prosecution)


def removal_logs():
    """The transition log rows of every removal of a prosecution."""
    return TransitionLog.objects.filter(
        content_type=prosecution_type(), transition__in=REMOVAL_LOG_TRANSITIONS
    )


def _removal_sql(columns: str, where: str, group: bool) -> str:
    """The removal log rows joined to their prosecution, docket and offence; gang-related and
    gender-based by the kept prosecution facts, else the live rule."""
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
    params: list = [prosecution_type().pk]
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


def removal_groups_live(period: Period) -> list[tuple]:
    """The removals in the period counted three narrow ways, as (by, reason, transition, station or court
    id, gang, gender_based, count): by "split" (reason x transition x gang x gender-based), "station"
    (reason x station) and "court" (reason x court) — a few hundred rows where the full cross product is
    nearly one row per removal. From the kept ``RemovalFacts``; a removal in the period that has none yet
    is counted by the live rule."""
    facts = RemovalFacts._meta.db_table
    bounds = [period.start, period.end]
    in_period = {"at__gte": period.start, "at__lt": period.end}
    # A fact is its log row's (one per row, same time), so equal counts mean every removal is kept and
    # the anti-join below, a third of the report's time at 5M admissions, can be skipped.
    if removal_logs().filter(**in_period).count() == RemovalFacts.objects.filter(**in_period).count():
        missing, params = "FALSE", [prosecution_type().pk]
    else:
        missing = (
            f"l.at >= %s AND l.at < %s AND NOT EXISTS (SELECT 1 FROM {facts} rf WHERE rf.log_id = l.id"
            " AND rf.at >= %s AND rf.at < %s)"  # a fact's time is its log row's: hash the period's facts
        )
        params = [prosecution_type().pk, *bounds, *bounds]
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
