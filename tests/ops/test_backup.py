"""Backup and restore (docs/operations.md, "Backup and restore"): ``pg_dump -Fc`` of a populated database,
``pg_restore`` into a fresh one, and every row is there: counts per table, the transition log, an
identity that decrypts with the key."""

import json
import os
import shutil
import subprocess

import psycopg
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from casework.models import Facility
from referrals import crypto
from referrals import services as intake
from referrals.intake import receive
from referrals.models import Admission
from tests.factories import PoliceCaseFactory, StationFactory

from ..referrals.helpers import adt

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def conninfo(name: str) -> str:
    db = settings.DATABASES["default"]
    parts = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "dbname": name,
    }
    if db.get("PASSWORD"):
        parts["password"] = db["PASSWORD"]
    return " ".join(f"{k}={v}" for k, v in parts.items())


def counts(name: str) -> dict[str, int]:
    with psycopg.connect(conninfo(name)) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


@pytest.fixture
def restored():
    """The name of a fresh database to restore into; dropped after the test."""
    name = settings.DATABASES["default"]["NAME"] + "_restored"
    admin = conninfo("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def populate(make_user):
    """An admission received over HL7 with its identity, and a docket moved once (a transition log row)."""
    tygerberg = Facility.objects.get(code="tygerberg")
    sender = intake.sending_system_register(name="hectis", facilities=[tygerberg])
    receive.inbound_receive_hl7(
        raw=adt(name="Mokoena^Thandiwe", patient_id="0105125800083", visit="V-BACKUP-1"), actor=sender.account
    )
    admission = Admission.objects.get(visit_number="V-BACKUP-1")
    station = StationFactory(name="Mitchells Plain")
    case = PoliceCaseFactory(station=station)
    saps = APIClient()
    saps.force_authenticate(make_user("saps_liaison", grants=[station]))
    r = saps.post(f"/api/v1/police-cases/{case.pk}/transitions/investigate/", {"version": 1}, format="json")
    assert r.status_code == 200
    return admission, case


def test_a_custom_format_dump_restores_into_a_fresh_database_with_every_row(make_user, restored, tmp_path):
    assert shutil.which("pg_dump") and shutil.which("pg_restore")
    admission, case = populate(make_user)
    source = settings.DATABASES["default"]["NAME"]
    dump = tmp_path / "casetrail.dump"
    env = {**os.environ, "PGPASSWORD": settings.DATABASES["default"].get("PASSWORD") or ""}
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), "-d", conninfo(source)], check=True, env=env)
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", conninfo(restored), str(dump)],
        check=True,
        env=env,
    )

    before, after = counts(source), counts(restored)
    assert after == before
    assert before["referrals_admission"] == 1 and before["referrals_patientidentity"] == 1
    assert before["casework_transitionlog"] >= 1
    assert len(before) > 40  # every table of every app, not a handful

    with psycopg.connect(conninfo(restored)) as conn:
        log = conn.execute(
            "SELECT transition, from_state, to_state FROM casework_transitionlog WHERE object_id = %s "
            "AND content_type_id = (SELECT id FROM django_content_type WHERE model = 'policecase')",
            [case.pk],
        ).fetchall()
        (token,) = conn.execute(
            "SELECT i.details FROM referrals_patientidentity i "
            "JOIN referrals_admission a ON a.id = i.admission_id WHERE a.visit_number = 'V-BACKUP-1'"
        ).fetchone()
        # The append-only log is still append-only after a restore: its trigger came back with it.
        with pytest.raises(psycopg.Error), conn.transaction():
            conn.execute("UPDATE casework_transitionlog SET reason = 'edited'")
    assert log == [("investigate", "opened", "investigating")]
    assert "Mokoena" not in token  # encrypted at rest, in the dump too
    identity = json.loads(crypto.decrypt(token))
    assert "Mokoena" in json.dumps(identity)
    assert "0105125800083" in json.dumps(identity)
    assert admission.pk == Admission.objects.get(visit_number="V-BACKUP-1").pk
