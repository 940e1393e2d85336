"""Settings of a multi-host deployment (docs/operations.md): the replica alias and PgBouncer's rules."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = (
    "import json; from config import settings as s; print(json.dumps({'routers': s.DATABASE_ROUTERS, "
    "'reporting': s.REPORTING_DATABASE, 'dbs': {a: {'host': d['HOST'], 'no_server_cursors': "
    "d.get('DISABLE_SERVER_SIDE_CURSORS', False), 'options': d.get('OPTIONS', {}).get('options')} "
    "for a, d in s.DATABASES.items()}}))"
)


def settings_with(**env) -> dict:
    """The settings as a deployment with this environment reads them (a fresh process, not under pytest)."""
    out = subprocess.run(
        [sys.executable, "-c", READ], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


PRIMARY = "postgres://app@db-primary:5432/casetrail"
REPLICA = "postgres://app@db-replica:5432/casetrail"


def test_a_replica_url_adds_the_replica_alias_and_reports_read_it():
    s = settings_with(DATABASE_URL=PRIMARY, REPLICA_DATABASE_URL=REPLICA)
    assert s["reporting"] == "replica"
    assert s["dbs"]["replica"]["host"] == "db-replica"
    assert s["dbs"]["default"]["host"] == "db-primary"
    assert s["routers"] == ["casework.db_router.ReportingReadsRouter"]


def test_without_a_replica_there_is_one_database():
    s = settings_with(DATABASE_URL=PRIMARY, REPLICA_DATABASE_URL="")
    assert s["reporting"] == "default"
    assert list(s["dbs"]) == ["default"]


def test_behind_pgbouncer_in_transaction_pooling_no_server_side_cursors_and_no_startup_options():
    plain = settings_with(DATABASE_URL=PRIMARY, REPLICA_DATABASE_URL=REPLICA)
    assert plain["dbs"]["default"]["options"] == "-c jit=off -c work_mem=32MB"
    assert plain["dbs"]["default"]["no_server_cursors"] is False
    pooled = settings_with(
        DATABASE_URL=PRIMARY, REPLICA_DATABASE_URL=REPLICA, PGBOUNCER_TRANSACTION_POOLING="true"
    )
    for alias in ("default", "replica"):
        assert pooled["dbs"][alias]["no_server_cursors"] is True
        assert pooled["dbs"][alias]["options"] is None
