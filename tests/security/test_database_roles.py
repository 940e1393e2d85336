"""Finding 7, first half: the app connected as the superuser owning the tables, so the append-only logs
could be TRUNCATEd or their triggers disabled. Now the app runs as a runtime role that reads and writes
rows only (docs/security.md, "Database roles"). On the real PostgreSQL, as that role."""

import io
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from psycopg import errors
from psycopg.conninfo import make_conninfo
from rest_framework.test import APIClient

from casework import dbroles, services
from casework.models import Incident, Prosecution, TransitionLog
from tests.factories import CourtFactory, IncidentFactory, ProsecutionFactory, StationFactory, SuburbFactory

# Transactional: another connection (the runtime role's) must see the rows and grants; the flush after
# each test restores the migrated data (groups, reference data).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RUNTIME = "casetrail_runtime_test"
OWNER = "casetrail_owner_test"
# A password too, so the tests also run where the server asks for one (here it trusts 127.0.0.1).
PASSWORD = "casetrail-role-test-only"
REPO = Path(__file__).resolve().parents[2]


def create_login_role(name):
    # Roles belong to the whole server. Two test processes may race to create it: the loser finds it made.
    with connection.cursor() as cur:
        cur.execute(
            f"DO $$ BEGIN CREATE ROLE {name} LOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        cur.execute(f"ALTER ROLE {name} LOGIN PASSWORD '{PASSWORD}'")


@pytest.fixture
def runtime():
    create_login_role(RUNTIME)
    call_command("grant_runtime_role", RUNTIME, stdout=io.StringIO())
    return RUNTIME


def connect_as(role, dbname=None):
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=dbname or db["NAME"],
        user=role,
        password=PASSWORD,
        autocommit=True,
    )


def a_logged_transition(make_user):
    p = ProsecutionFactory()
    services.prosecution_issue_warrant(p, actor=make_user("admin"), version=1)
    return TransitionLog.for_object(p).get()


def copy_row_sql(model):
    columns = ", ".join(f.column for f in model._meta.concrete_fields if not f.primary_key)
    table = model._meta.db_table
    return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE id = %s"


def test_the_runtime_role_reads_and_appends_to_the_transition_log(runtime, make_user):
    row = a_logged_transition(make_user)
    with connect_as(runtime) as conn:
        assert conn.execute("SELECT count(*) FROM casework_transitionlog").fetchone() == (1,)
        conn.execute(copy_row_sql(TransitionLog), [row.pk])
    assert TransitionLog.objects.count() == 2


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE casework_transitionlog SET to_state = 'acquitted'",
        "DELETE FROM casework_transitionlog",
        "TRUNCATE casework_transitionlog",
        "ALTER TABLE casework_transitionlog DISABLE TRIGGER casework_transitionlog_no_update_delete",
        "ALTER TABLE casework_transitionlog DISABLE TRIGGER ALL",
        "ALTER TABLE casework_transitionlog ADD COLUMN forged text",
        "DROP TABLE casework_transitionlog CASCADE",
        "SET session_replication_role = replica",  # would skip every trigger
        "CREATE TABLE forged (id int)",
        "UPDATE referrals_identityread SET at = now()",
        "DELETE FROM referrals_identityread",
        "TRUNCATE referrals_identityread",
        "ALTER TABLE referrals_identityread DISABLE TRIGGER ALL",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('casework', '9999_forged', now())",
    ],
)
def test_the_runtime_role_cannot_rewrite_truncate_or_unprotect_the_append_only_logs(runtime, make_user, sql):
    row = a_logged_transition(make_user)
    with connect_as(runtime) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql)
    row.refresh_from_db()
    assert (TransitionLog.objects.count(), row.to_state) == (1, "warrant_issued")


def test_the_runtime_role_holds_exactly_these_privileges(runtime):
    expected = {
        "casework_transitionlog": {"SELECT", "INSERT"},
        "referrals_identityread": {"SELECT", "INSERT"},
        # The retention purge blanks an old identity; the table's trigger refuses every other UPDATE.
        "referrals_identityversion": {"SELECT", "INSERT", "UPDATE"},
        "casework_incident": {"SELECT", "INSERT", "UPDATE", "DELETE"},
        "casework_prosecution": {"SELECT", "INSERT", "UPDATE", "DELETE"},
        "django_migrations": {"SELECT"},
    }
    every = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    held = {}
    with connection.cursor() as cur:
        for table in expected:
            cur.execute(
                "SELECT p FROM unnest(%s::text[]) p WHERE has_table_privilege(%s, %s, p)",
                [every, runtime, table],
            )
            held[table] = {p for (p,) in cur.fetchall()}
        cur.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = %s",
            [runtime],
        )
        assert cur.fetchone() == (False, False, False, False)
    assert held == expected


def test_every_table_a_trigger_keeps_append_only_is_in_the_registry():
    # A row-level BEFORE trigger that fires on DELETE is how this project makes a table append-only.
    with connection.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
                 AND t.tgtype & 1 = 1 AND t.tgtype & 2 = 2 AND t.tgtype & 8 = 8"""
        )
        protected = {t for (t,) in cur.fetchall()}
    assert {"casework_transitionlog", "referrals_identityread"} <= protected
    assert protected == set(dbroles.append_only_tables()), (
        "add the model to casework/dbroles.APPEND_ONLY_MODELS"
    )


def test_truncate_is_refused_even_to_a_runtime_role_granted_it_by_mistake(runtime, make_user):
    a_logged_transition(make_user)
    with connection.cursor() as cur:
        cur.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {runtime}")
    with connect_as(runtime) as conn, pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        conn.execute("TRUNCATE casework_transitionlog CASCADE")
    assert TransitionLog.objects.count() == 1

    call_command("grant_runtime_role", runtime, stdout=io.StringIO())
    with connection.cursor() as cur:
        cur.execute("SELECT has_table_privilege(%s, 'casework_transitionlog', 'TRUNCATE')", [runtime])
        assert cur.fetchone() == (False,)


def test_a_table_a_later_migration_makes_is_readable_and_writable_by_the_runtime_role(runtime):
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE casework_later_table (id int)")
    try:
        with connect_as(runtime) as conn:
            conn.execute("INSERT INTO casework_later_table VALUES (1)")
            conn.execute("UPDATE casework_later_table SET id = 2")
            assert conn.execute("SELECT id FROM casework_later_table").fetchall() == [(2,)]
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP TABLE casework_later_table")


def test_the_app_serves_requests_connected_as_the_runtime_role(runtime, make_user):
    station = StationFactory()
    suburb = SuburbFactory(station=station)
    saps = make_user("saps_liaison", grants=[station])
    court = CourtFactory()
    npa = make_user("npa_liaison", grants=[court])
    prosecution = ProsecutionFactory(court=court)

    with dbroles.connected_as("default", USER=runtime, PASSWORD=PASSWORD):
        with connection.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone() == (runtime,)
        incident = IncidentFactory(suburb=suburb)
        incident.place_type = "home"
        incident.save()

        saps_api, npa_api = APIClient(), APIClient()
        saps_api.force_authenticate(saps)
        npa_api.force_authenticate(npa)
        created = saps_api.post(
            "/api/v1/incidents/",
            {"occurred_at": "2025-04-19T22:10:00+02:00", "suburb": suburb.code, "mechanism": "firearm"},
            format="json",
        )
        remanded = npa_api.post(
            f"/api/v1/prosecutions/{prosecution.pk}/transitions/remand/",
            {"version": 1, "reason": "docket_not_at_court", "next_date": "2025-03-14"},
            format="json",
        )

    assert created.status_code == 201, created.content
    assert remanded.status_code == 200, remanded.content
    assert Incident.objects.get(pk=incident.pk).place_type == "home"
    assert Incident.objects.filter(pk=created.json()["id"], mechanism="firearm").exists()
    assert Prosecution.objects.get(pk=prosecution.pk).state == "remanded"
    assert list(TransitionLog.for_object(prosecution).values_list("transition", "actor__username")) == [
        ("remand", npa.username)
    ]


def child_env(**extra):
    env = dict(os.environ, DEBUG="true", DJANGO_SETTINGS_MODULE="config.settings", **extra)
    for key in ("SECRET_KEY", "IDENTITY_ENCRYPTION_KEY", "PSEUDONYM_KEY"):
        value = getattr(settings, key, "")
        if isinstance(value, str) and value:
            env[key] = value
    return env


def test_a_deployment_set_up_as_documented_migrates_as_the_owner_and_runs_as_the_runtime_role():
    """setup_database_roles | psql, then `manage.py migrate` with DATABASE_OWNER_URL: a fresh database."""
    db = settings.DATABASES["default"]
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    name = f"{db['NAME']}_roles"[:63]
    admin_url = make_conninfo(
        host=host, port=port, user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    try:
        script = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "setup_database_roles",
                "--owner",
                OWNER,
                "--runtime",
                RUNTIME,
                "--database",
                name,
            ],
            cwd=REPO,
            env=child_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        subprocess.run(["psql", "-q", admin_url], input=script, capture_output=True, text=True, check=True)
        passwords = ["-v", f"owner_password={PASSWORD}", "-v", f"runtime_password={PASSWORD}"]
        # Safe to run again, now setting the passwords.
        subprocess.run(
            ["psql", "-q", *passwords, admin_url], input=script, capture_output=True, text=True, check=True
        )
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO,
            env=child_env(
                DATABASE_URL=f"postgres://{RUNTIME}:{PASSWORD}@{host}:{port}/{name}",
                DATABASE_OWNER_URL=f"postgres://{OWNER}:{PASSWORD}@{host}:{port}/{name}",
            ),
            capture_output=True,
            text=True,
        )
        assert migrated.returncode == 0, migrated.stderr

        with connect_as(OWNER, name) as conn:
            owners = conn.execute(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        assert owners == [(OWNER,)]
        with connect_as(RUNTIME, name) as conn:
            assert conn.execute("SELECT count(*) FROM auth_group").fetchone()[0] > 0
            for sql in [
                "TRUNCATE casework_transitionlog",
                "DELETE FROM casework_transitionlog",
                "ALTER TABLE casework_transitionlog DISABLE TRIGGER ALL",
                "CREATE TABLE forged (id int)",
            ]:
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(sql)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
