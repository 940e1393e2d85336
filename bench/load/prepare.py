"""Build (or reuse) the load test's database: the 1M-admission seed of bench_reporting.py, its rollups, and
the load's own users with their grants, API tokens and page sessions (written to a JSON file for locust).

    .venv/bin/python bench/load/prepare.py --size 1000000 --out /tmp/casetrail-load/users.json

DATABASE_URL names the PostgreSQL server; the database is LOAD_DB (default ``casetrail_load``), seeded only
when it holds fewer than --size admissions (or with --fresh).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_reporting  # noqa: E402  (its SEED is the one seeding of the benchmarks)


def database_url(base: str, name: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def seeded_admissions(base: str, name: str) -> int:
    """How many admissions the seed wrote there (0 when the database or its table is missing)."""
    import psycopg

    try:
        with psycopg.connect(database_url(base, name)) as conn:
            row = conn.execute("SELECT count(*) FROM referrals_admission WHERE visit_number LIKE 'V%%'")
            return row.fetchone()[0]
    except psycopg.Error:
        return 0


def recreate_database(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def seed(size: int) -> None:
    """bench_reporting's seed and rollups, as its main() builds them."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from casework.models import PoliceCase, Prosecution
    from reporting import rollups

    t0 = time.perf_counter()
    pct = ContentType.objects.get_for_model(Prosecution).pk
    cct = ContentType.objects.get_for_model(PoliceCase).pk
    sql = bench_reporting.SEED.replace("__N__", str(size)).replace("__PCT__", str(pct))
    with connection.cursor() as cur:
        cur.execute(sql.replace("__CCT__", str(cct)))
        cur.execute("ANALYZE")
    print(f"seeded {size:,} admissions in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    rollups.rebuild_all()
    rollups.refresh_prosecution_facts(None)
    rollups.rebuild_outcomes()
    rollups.rebuild_funnel()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"built the rollups in {time.perf_counter() - t0:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="drop and reseed the load database")
    parser.add_argument("--out", default="", help="write the load users' credentials here (JSON)")
    parser.add_argument("--users", type=int, default=10, help="users per role")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        print("make load needs DATABASE_URL on a PostgreSQL server (it makes its own database there)")
        return 2
    name = os.environ.get("LOAD_DB", "casetrail_load")
    have = 0 if args.fresh else seeded_admissions(base, name)
    if have < args.size:
        print(f"{name}: {have:,} seeded admissions, {args.size:,} wanted: seeding afresh", flush=True)
        recreate_database(base, name)
    else:
        print(f"reusing {name}: {have:,} seeded admissions", flush=True)
    os.environ["DATABASE_URL"] = database_url(base, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if have < args.size:
        seed(args.size)
    if args.out:
        import load_users

        Path(args.out).write_text(json.dumps(load_users.ensure(args.users), indent=1))
        print(f"load users written to {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
