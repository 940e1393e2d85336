# ruff: noqa: E501  (SQL, SVG markup and a cohort table read better unwrapped)
"""Benchmark the dashboard and report endpoints against raw SQL over the project's own tables.

    .venv/bin/python bench/bench_reporting.py --size 1000000

Uses the PostgreSQL server of DATABASE_URL but its own database, ``casetrail_bench_reporting``
(dropped and recreated). Seeds N admissions over three years with an incident each, dockets for
30% of incidents, prosecutions for 40% of dockets in a realistic spread of states, their removal and
re-enrolment log rows, and referrals for 20% of admissions, all with generate_series. Builds the
rollups, then for each endpoint prints the median and p95 latency through Django's test client (the
whole request: auth, parsing, selector, JSON) next to the raw SQL that computes the same figure
from the project's tables, and the ratio. Goals: median <= max(2 x raw, raw + 5 ms); p95 <= 100 ms
up to 1M admissions and <= 150 ms above (the issue's goal at 5M).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BENCH_DB = "casetrail_bench_reporting"
ROOT = Path(__file__).resolve().parent.parent


def bench_url(base: str) -> str:
    u = urlparse(base)
    return urlunparse(u._replace(path=f"/{BENCH_DB}"))


def recreate_database(base: str) -> None:
    import psycopg

    u = urlparse(base)
    admin = urlunparse(u._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


SEED = """
SELECT setseed(0.42);
INSERT INTO casework_district (code, name) SELECT 'bench-d-' || g, 'Bench district ' || g FROM generate_series(1, 6) g;
INSERT INTO casework_facility (code, name, kind, district_id, sub_district)
  SELECT 'bench-f-' || g, 'Bench hospital ' || g, 'district', (SELECT min(id) FROM casework_district WHERE code LIKE 'bench-d-%') + (g % 6), ''
  FROM generate_series(1, 20) g;
INSERT INTO casework_station (code, name, cluster, district_id)
  SELECT 'bench-s-' || g, 'Bench station ' || g, 'Cluster', (SELECT min(id) FROM casework_district WHERE code LIKE 'bench-d-%') + (g % 6)
  FROM generate_series(1, 60) g;
INSERT INTO casework_suburb (code, name, station_id)
  SELECT 'bench-sub-' || g, 'Bench suburb ' || g, (SELECT min(id) FROM casework_station WHERE code LIKE 'bench-s-%') + (g % 60)
  FROM generate_series(1, 200) g;
INSERT INTO casework_court (code, name, level, district_id)
  SELECT 'bench-c-' || g, 'Bench court ' || g, 'regional', (SELECT min(id) FROM casework_district WHERE code LIKE 'bench-d-%') + (g % 6)
  FROM generate_series(1, 12) g;
INSERT INTO casework_offence (code, name) VALUES ('murder', 'Murder'), ('attempted_murder', 'Attempted murder'),
  ('assault_gbh', 'Assault GBH'), ('common_assault', 'Common assault'), ('sexual_offence', 'Sexual offence'),
  ('robbery_aggravated', 'Aggravated robbery'), ('other', 'Other') ON CONFLICT (code) DO NOTHING;

CREATE TEMP TABLE seed AS
SELECT g AS n,
       now() - (random() * interval '1095 days') AS arrival,
       (SELECT min(id) FROM casework_facility WHERE code LIKE 'bench-f-%') + floor(random() * 20)::int AS facility_id,
       (SELECT min(id) FROM casework_suburb WHERE code LIKE 'bench-sub-%') + floor(power(random(), 2) * 200)::int AS suburb_id,
       (ARRAY['firearm','firearm','sharp','sharp','sharp','blunt','bodily_force','sexual','other'])[1 + floor(random() * 9)::int] AS mechanism,
       (ARRAY['home','street','street','tavern','school','workplace','public_transport','other'])[1 + floor(random() * 8)::int] AS place_type,
       (ARRAY['0-14','15-24','15-24','25-34','25-34','35-44','45-54','55-64','65+'])[1 + floor(random() * 9)::int] AS age_band,
       (ARRAY['male','male','male','female','female','unknown'])[1 + floor(random() * 6)::int] AS sex,
       random() < 0.15 AS gang
FROM generate_series(1, __N__) g;

INSERT INTO casework_incident (id, occurred_at, suburb_id, mechanism, place_type, fatal, gang_related, created_at)
  SELECT n, arrival - interval '40 minutes', suburb_id, mechanism, place_type, random() < 0.03, gang, arrival FROM seed;
SELECT setval(pg_get_serial_sequence('casework_incident', 'id'), __N__);

INSERT INTO referrals_admission (facility_id, visit_number, arrival_at, injury_at, age_band, sex, role, mechanism,
    icd10_codes, triage, place_type, suburb_id, suburb_text, disposition, pseudonym, incident_id, event,
    created_at, updated_at)
  SELECT facility_id, 'V' || n, arrival, arrival - interval '40 minutes', age_band, sex, 'victim', mechanism,
    '[]'::jsonb, 'yellow', place_type, suburb_id, '', 'discharged', '', n, 'A04', arrival, arrival FROM seed;

CREATE TEMP TABLE cases AS
  SELECT row_number() OVER () AS k, s.n AS incident_id, s.arrival FROM seed s WHERE random() < 0.30;
INSERT INTO casework_policecase (id, state_changed_at, version, station_id, cas_serial, cas_month, cas_year, offence_id,
    opened_on, state, created_at)
  SELECT k, arrival, 1, (SELECT min(id) FROM casework_station WHERE code LIKE 'bench-s-%') + (k % 60)::int, (k / 60)::int % 99999 + 1,
    extract(month FROM arrival)::int, extract(year FROM arrival)::int, (ARRAY(SELECT id FROM casework_offence ORDER BY id LIMIT 7))[1 + (k % 7)::int],
    (arrival + interval '2 days')::date,
    (ARRAY['opened','investigating','investigating','referred_to_npa','closed_undetected','closed_unfounded','withdrawn_by_complainant'])[1 + floor(random() * 7)::int],
    arrival
  FROM cases;
SELECT setval(pg_get_serial_sequence('casework_policecase', 'id'), (SELECT max(id) FROM casework_policecase));
INSERT INTO casework_policecase_incidents (policecase_id, incident_id) SELECT k, incident_id FROM cases;

CREATE TEMP TABLE pros AS
  SELECT row_number() OVER () AS k, c.k AS case_id, c.arrival,
    (ARRAY['convicted','sentenced','sentenced','acquitted','withdrawn','withdrawn','withdrawn','provisionally_withdrawn',
           'struck_off','diverted','remanded','warrant_issued','trial'])[1 + floor(random() * 13)::int] AS state,
    (ARRAY['complainant_withdrew','witness_unavailable','witness_intimidated','insufficient_evidence','accused_not_traced',
           'further_investigation','other','investigation_incomplete','docket_not_at_court','forensic_report_outstanding',
           'witness_not_subpoenaed','detention_48h_exceeded','defective_service','police_witness_absent'])[1 + floor(random() * 14)::int] AS reason,
    random() < 0.05 AS re_enrolled
  FROM cases c WHERE random() < 0.40;
INSERT INTO casework_prosecution (id, state_changed_at, version, police_case_id, court_id, case_number, enrolled_on, state,
    finalised_on, removal_reason, sentence_text, diversion_programme, enrolments, created_at)
  SELECT k, arrival + interval '200 days', 1, case_id, (SELECT min(id) FROM casework_court WHERE code LIKE 'bench-c-%') + (k % 12)::int, 'B ' || k,
    (arrival + interval '30 days')::date, state,
    CASE WHEN state IN ('convicted','sentenced','acquitted','withdrawn','provisionally_withdrawn','struck_off','diverted')
         THEN least(arrival + (interval '1 day' * (60 + floor(random() * 500))), now()) END,
    CASE WHEN state IN ('withdrawn','provisionally_withdrawn','struck_off') THEN reason ELSE '' END, '', '',
    CASE WHEN re_enrolled THEN 2 ELSE 1 END, arrival
  FROM pros;
SELECT setval(pg_get_serial_sequence('casework_prosecution', 'id'), (SELECT max(id) FROM casework_prosecution));
INSERT INTO casework_transitionlog (content_type_id, object_id, transition, from_state, to_state, at, recorded_at, reason, note, data)
  SELECT __PCT__, p.id, CASE p.state WHEN 'withdrawn' THEN 'withdraw' WHEN 'struck_off' THEN 'strike_off' ELSE 'withdraw_provisionally' END,
    'remanded', p.state, p.finalised_on, p.finalised_on, p.removal_reason, '', '{}'::jsonb
  FROM casework_prosecution p WHERE p.state IN ('withdrawn','provisionally_withdrawn','struck_off');
INSERT INTO casework_transitionlog (content_type_id, object_id, transition, from_state, to_state, at, recorded_at, reason, note, data)
  SELECT __PCT__, k, 're_enrol', 'withdrawn', 'remanded', arrival + interval '100 days', arrival + interval '100 days',
    'committee', '', jsonb_build_object('review', k) FROM pros WHERE re_enrolled;
INSERT INTO casework_transitionlog (content_type_id, object_id, transition, from_state, to_state, at, recorded_at, reason, note, data)
  SELECT __CCT__, case_id, 'refer_to_npa', 'investigating', 'referred_to_npa', arrival + interval '20 days',
    arrival + interval '20 days', '', '', '{}'::jsonb FROM pros;

INSERT INTO referrals_referral (state_changed_at, version, admission_id, station_id, state, decline_reason, created_at)
  SELECT a.arrival_at, 1, a.id, sub.station_id,
    (ARRAY['pending','sent','acknowledged','case_opened','declined'])[1 + floor(random() * 5)::int],
    'Victim does not want to lay a charge', a.arrival_at
  FROM referrals_admission a JOIN casework_suburb sub ON sub.id = a.suburb_id WHERE a.id % 5 = 0;
"""

SAST = "Africa/Johannesburg"


def measure(fn, repeat: int) -> tuple[float, float]:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--only", default="", help="run only the figures whose name contains this (or one of a,b,...)"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="reuse an already seeded database (rollups are rebuilt, the funnel's only when missing)",
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL server (the bench makes its own database there).")
        return 2
    if not args.keep:
        recreate_database(base)
    os.environ["DATABASE_URL"] = bench_url(base)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")  # the development keys; DEBUG itself is switched off below
    # The bench times the reports, not the rate limits: one user asks hundreds of times a minute here.
    for scope in ("user", "burst", "address", "reports", "exports"):
        os.environ.setdefault(f"THROTTLE_RATE_{scope.upper()}", "off")
    sys.path.insert(0, str(ROOT))
    import datetime

    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log in memory while timing
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from casework.models import PoliceCase, Prosecution
    from reporting import rollups

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    pct = ContentType.objects.get_for_model(Prosecution).pk
    cct = ContentType.objects.get_for_model(PoliceCase).pk
    if not args.keep:
        with connection.cursor() as cur:
            cur.execute(
                SEED.replace("__N__", str(int(args.size)))
                .replace("__PCT__", str(pct))
                .replace("__CCT__", str(cct))
            )
            cur.execute("ANALYZE")
        print(f"seeded {args.size:,} admissions in {time.perf_counter() - t0:.1f} s")
    t1 = time.perf_counter()
    written = rollups.rebuild_all()
    print(f"built {written:,} rollup rows in {time.perf_counter() - t1:.1f} s")
    t1 = time.perf_counter()
    facts = rollups.refresh_prosecution_facts(None)
    print(
        f"wrote the facts of {facts:,} prosecutions (and their removals) in {time.perf_counter() - t1:.1f} s"
    )
    t1 = time.perf_counter()
    outcomes = rollups.rebuild_outcomes()
    print(f"built {outcomes:,} outcome rollup rows in {time.perf_counter() - t1:.1f} s")
    from reporting.models import FunnelRollup

    if not args.keep or not FunnelRollup.objects.exists():  # one pass per day: minutes at 1M; --keep reuses
        t1 = time.perf_counter()
        funnel = rollups.rebuild_funnel()
        print(f"built {funnel:,} funnel rollup rows in {time.perf_counter() - t1:.1f} s")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # what autovacuum does in production: visibility map, statistics
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM casework_prosecution")
        (n_pros,) = cur.fetchone()
        cur.execute("SELECT count(*) FROM referrals_admission")
        (n_admissions,) = cur.fetchone()
        cur.execute("SELECT kind, count(*) FROM reporting_admissionrollup GROUP BY kind ORDER BY kind")
        sizes = dict(cur.fetchall())
    print(f"admissions: {n_admissions:,}; prosecutions: {n_pros:,}; rollup rows per kind: {sizes}")
    p95_goal = 100 if n_admissions <= 1_000_000 else 150

    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-analyst")
    user.groups.add(Group.objects.get(name="vpu_analyst"))
    client = Client()
    client.force_login(user)

    from django.utils import timezone

    today = timezone.localdate()
    year_ago = today.replace(year=today.year - 1)
    q = f"from={year_ago + datetime.timedelta(days=1)}&to={today}&unsuppressed=1"
    lo = f"timestamptz '{year_ago + datetime.timedelta(days=1)} 00:00:00+02'"
    hi = f"timestamptz '{today + datetime.timedelta(days=1)} 00:00:00+02'"
    adm = f"FROM referrals_admission a WHERE a.arrival_at >= {lo} AND a.arrival_at < {hi}"
    local = f"(a.arrival_at AT TIME ZONE '{SAST}')"
    finalised = (
        "p.state IN ('convicted','sentenced','acquitted','withdrawn','provisionally_withdrawn','struck_off','diverted') "
        f"AND p.finalised_on >= {lo} AND p.finalised_on < {hi}"
    )
    measures = (
        "count(*) FILTER (WHERE p.state IN ('convicted','sentenced')), count(*) FILTER (WHERE p.state = 'acquitted'), "
        "count(*) FILTER (WHERE p.state IN ('convicted','sentenced','acquitted')), count(*) FILTER (WHERE p.state='withdrawn'), "
        "count(*) FILTER (WHERE p.state='provisionally_withdrawn'), count(*) FILTER (WHERE p.state='struck_off'), "
        "count(*) FILTER (WHERE p.state='diverted'), count(*)"
    )
    d90 = today - datetime.timedelta(days=89)

    SEXUAL = "i.mechanism = 'sexual'"

    def linked(condition: str) -> str:
        return (
            "EXISTS (SELECT 1 FROM casework_policecase_incidents pi JOIN casework_incident i ON i.id = pi.incident_id "
            f"WHERE pi.policecase_id = p.police_case_id AND {condition})"
        )

    lo90 = f"timestamptz '{d90} 00:00:00+02'"
    cases = [
        (
            "dashboard month (1 y)",
            "/api/v1/dashboard/incidents/?group_by=month&" + q,
            f"SELECT to_char({local}, 'YYYY-MM'), count(*) {adm} GROUP BY 1",
        ),
        (
            "dashboard day (1 y)",
            "/api/v1/dashboard/incidents/?group_by=day&" + q,
            f"SELECT {local}::date, count(*) {adm} GROUP BY 1",
        ),
        (
            "dashboard hour x weekday",
            "/api/v1/dashboard/incidents/?group_by=hour_weekday&" + q,
            f"SELECT extract(isodow FROM {local}), extract(hour FROM {local}), count(*) {adm} GROUP BY 1, 2",
        ),
        (
            "dashboard age band",
            "/api/v1/dashboard/incidents/?group_by=age_band&" + q,
            f"SELECT a.age_band, count(*) {adm} GROUP BY 1",
        ),
        (
            "dashboard facility",
            "/api/v1/dashboard/incidents/?group_by=facility&" + q,
            f"SELECT a.facility_id, count(*) {adm} GROUP BY 1",
        ),
        (
            "dashboard suburb",
            "/api/v1/dashboard/incidents/?group_by=suburb&" + q,
            f"SELECT a.suburb_id, count(*) {adm} GROUP BY 1",
        ),
        (
            "dashboard month, mechanism=firearm",
            "/api/v1/dashboard/incidents/?group_by=month&mechanism=firearm&" + q,
            f"SELECT to_char({local}, 'YYYY-MM'), count(*) {adm} AND a.mechanism = 'firearm' GROUP BY 1",
        ),
        (
            "dashboard month, facility+mechanism",
            "/api/v1/dashboard/incidents/?group_by=month&mechanism=firearm&facility=bench-f-3&" + q,
            f"SELECT to_char({local}, 'YYYY-MM'), count(*) {adm} AND a.mechanism = 'firearm' AND a.facility_id = (SELECT id FROM casework_facility WHERE code='bench-f-3') GROUP BY 1",
        ),
        (
            "hotspots (4 weeks)",
            "/api/v1/dashboard/hotspots/?unsuppressed=1",
            f"SELECT a.suburb_id, date_trunc('week', {local}), count(*) FROM referrals_admission a WHERE a.arrival_at >= now() - interval '17 weeks' GROUP BY 1, 2",
        ),
        (
            "conviction rate by court",
            "/api/v1/reports/conviction-rate/?group_by=court&" + q,
            f"SELECT c.code, {measures} FROM casework_prosecution p JOIN casework_court c ON c.id = p.court_id WHERE {finalised} GROUP BY 1",
        ),
        (
            "conviction rate by gang",
            "/api/v1/reports/conviction-rate/?group_by=gang_related&" + q,
            f"SELECT EXISTS (SELECT 1 FROM casework_policecase_incidents pi JOIN casework_incident i ON i.id = pi.incident_id "
            f"WHERE pi.policecase_id = p.police_case_id AND i.gang_related) g, {measures} FROM casework_prosecution p WHERE {finalised} GROUP BY 1",
        ),
        (
            "conviction rate by month",
            "/api/v1/reports/conviction-rate/?group_by=month&" + q,
            f"SELECT date_trunc('month', p.finalised_on AT TIME ZONE '{SAST}'), {measures} FROM casework_prosecution p WHERE {finalised} GROUP BY 1",
        ),
        (
            "removals",
            "/api/v1/reports/removals/?" + q,
            f"SELECT l.transition, l.reason, pc.station_id, p.court_id, {linked('i.gang_related')}, "
            f"(o.code = 'sexual_offence' OR {linked(SEXUAL)}), count(*) "
            f"FROM casework_transitionlog l JOIN casework_prosecution p ON p.id = l.object_id "
            f"JOIN casework_policecase pc ON pc.id = p.police_case_id JOIN casework_offence o ON o.id = pc.offence_id "
            f"WHERE l.content_type_id = {pct} AND l.transition IN ('withdraw','withdraw_provisionally','strike_off') "
            f"AND l.at >= {lo} AND l.at < {hi} GROUP BY 1, 2, 3, 4, 5, 6",
        ),
        (
            "re-enrolment",
            "/api/v1/reports/re-enrolment/?" + q,
            f"SELECT p.state, count(*) FROM casework_prosecution p WHERE p.id IN (SELECT object_id FROM casework_transitionlog "
            f"WHERE transition = 're_enrol' AND at >= {lo} AND at < {hi}) GROUP BY 1",
        ),
        (
            "attrition (90 d)",
            f"/api/v1/reports/attrition/?from={d90}&to={today}&unsuppressed=1",
            f"""
            WITH c AS (SELECT id FROM casework_incident WHERE occurred_at >= {lo90} AND occurred_at < {hi}),
            links AS (SELECT pi.incident_id, pi.policecase_id FROM casework_policecase_incidents pi JOIN c ON c.id = pi.incident_id),
            pros AS (SELECT l.incident_id, p.state, p.removal_reason FROM links l JOIN casework_prosecution p ON p.police_case_id = l.policecase_id),
            npa AS (SELECT l.incident_id FROM links l JOIN casework_transitionlog t ON t.object_id = l.policecase_id
                    AND t.content_type_id = {cct} AND t.transition = 'refer_to_npa'),
            sent AS (SELECT a.incident_id FROM referrals_referral r JOIN referrals_admission a ON a.id = r.admission_id
                     JOIN c ON c.id = a.incident_id WHERE r.state <> 'pending')
            SELECT (SELECT count(*) FROM referrals_admission WHERE arrival_at >= {lo90} AND arrival_at < {hi}),
                   (SELECT count(*) FROM c),
                   (SELECT count(*) FROM (SELECT incident_id FROM links UNION SELECT incident_id FROM sent) u),
                   (SELECT count(DISTINCT incident_id) FROM links),
                   (SELECT count(*) FROM (SELECT incident_id FROM npa UNION SELECT incident_id FROM pros) u),
                   (SELECT count(DISTINCT incident_id) FROM pros),
                   (SELECT count(DISTINCT incident_id) FROM pros WHERE state IN ('convicted','sentenced','acquitted','withdrawn','provisionally_withdrawn','struck_off','diverted')),
                   (SELECT count(DISTINCT incident_id) FROM pros WHERE state IN ('convicted','sentenced')),
                   (SELECT array_agg(x) FROM (SELECT removal_reason || count(*) x FROM pros WHERE state IN ('withdrawn','provisionally_withdrawn','struck_off') GROUP BY removal_reason) r),
                   (SELECT array_agg(x) FROM (SELECT pc.state || count(*) x FROM casework_policecase pc WHERE pc.id IN (SELECT policecase_id FROM links)
                    AND pc.state IN ('closed_undetected','closed_unfounded','withdrawn_by_complainant','declined_to_prosecute') GROUP BY pc.state) s),
                   (SELECT array_agg(x) FROM (SELECT r.decline_reason || count(*) x FROM referrals_referral r JOIN referrals_admission a ON a.id = r.admission_id
                    JOIN c ON c.id = a.incident_id WHERE r.state = 'declined' GROUP BY r.decline_reason) d)
            """,
        ),
        (
            "unknown to police (90 d)",
            f"/api/v1/reports/unknown-to-police/?from={d90}&to={today}&unsuppressed=1",
            "SELECT a.facility_id"
            + "".join(
                f", count(*) FILTER (WHERE a.arrival_at <= now() - interval '{n} days')"
                f", count(*) FILTER (WHERE a.arrival_at <= now() - interval '{n} days' AND NOT EXISTS ("
                f"SELECT 1 FROM casework_policecase pc JOIN casework_policecase_incidents pi ON pi.policecase_id = pc.id "
                f"WHERE pi.incident_id = a.incident_id AND pc.opened_on <= ({local})::date + {n}))"
                for n in (7, 30, 90)
            )
            + f" FROM referrals_admission a WHERE a.arrival_at >= {lo90} AND a.arrival_at < {hi} GROUP BY 1",
        ),
    ]

    def raw(sql):
        def run():
            with connection.cursor() as cur:
                cur.execute(sql)
                cur.fetchall()

        return run

    def endpoint(url):
        def run():
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code, r.content[:300])

        return run

    from django.http import QueryDict

    from reporting import attrition, dashboard, hotspots, selectors
    from reporting.params import parse_dashboard_filters, parse_period

    def selector(url):
        path, _, query = url.partition("?")
        p = QueryDict(query)
        calls = {
            "/api/v1/dashboard/incidents/": lambda: dashboard.admissions_by(
                parse_period(p), p.get("group_by"), parse_dashboard_filters(p), suppress=False
            ),
            "/api/v1/dashboard/hotspots/": lambda: hotspots.hotspots(weeks=4, suppress=False),
            "/api/v1/reports/conviction-rate/": lambda: selectors.conviction_rate(
                parse_period(p), p.get("group_by"), suppress=False
            ),
            "/api/v1/reports/removals/": lambda: selectors.removals(parse_period(p), suppress=False),
            "/api/v1/reports/re-enrolment/": lambda: selectors.re_enrolment(parse_period(p), suppress=False),
            "/api/v1/reports/attrition/": lambda: attrition.attrition(parse_period(p), suppress=False),
            "/api/v1/reports/unknown-to-police/": lambda: attrition.unknown_to_police(
                parse_period(p), "facility", suppress=False
            ),
        }
        return calls[path]

    print(
        f"\n{'figure':42} {'request':>8} {'req p95':>8} {'selector':>8} {'sel p95':>8} {'raw SQL':>8} {'raw p95':>8}"
        f" {'ratio':>6}  goal (selector median <= max(2 x raw, raw + 5 ms), p95 <= {p95_goal} ms)"
    )
    for name, url, sql in cases:
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        med, p95 = measure(endpoint(url), args.repeat)
        smed, sp95 = measure(selector(url), args.repeat)
        rmed, rp95 = measure(raw(sql), args.repeat)
        ok = smed <= max(2 * rmed, rmed + 5) and sp95 <= p95_goal
        print(
            f"{name:42} {med:8.1f} {p95:8.1f} {smed:8.1f} {sp95:8.1f} {rmed:8.1f} {rp95:8.1f} {smed / rmed:6.2f}"
            f"  {'met' if ok else 'MISSED'}{'' if p95 <= p95_goal else f' (request p95 > {p95_goal} ms)'}"
        )

    # Freshness: one admission's day recomputed (what the after-commit task does).
    from reporting.rollups import refresh_days

    med, p95 = measure(lambda: refresh_days([today - datetime.timedelta(days=3)]), 20)
    print(f"\nrefresh of one day's rollups (all kinds): median {med:.1f} ms, p95 {p95:.1f} ms")
    med, p95 = measure(lambda: rollups.refresh_outcome_days([today - datetime.timedelta(days=3)]), 20)
    print(f"refresh of one day's conviction-rate outcomes: median {med:.1f} ms, p95 {p95:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
