"""Migration 0005/0006: identities written before the one token (one Fernet token per field) are
moved into ``details`` with nothing lost, then the per-field columns are dropped."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from referrals.crypto import encrypt
from referrals.models import Admission, PatientIdentity

BEFORE = ("referrals", "0004_sending_systems_and_identity_versions")

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def migrate(*targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())


def identity_columns() -> set[str]:
    with connection.cursor() as cur:
        return {
            c.name for c in connection.introspection.get_table_description(cur, "referrals_patientidentity")
        }


def admission_with_identity(facility, visit: str, **details) -> Admission:
    admission = Admission.objects.create(
        facility=facility, visit_number=visit, arrival_at=timezone.now(), mechanism="sharp"
    )
    PatientIdentity.objects.create(admission=admission, **details)
    return admission


def test_rows_of_before_keep_every_field_in_the_one_token_and_the_old_columns_go(facility):
    legacy = admission_with_identity(facility, "V1")
    bare = admission_with_identity(facility, "V2")
    current = admission_with_identity(facility, "V3", name="Lindiwe Dlamini", contact="021 555 0199")
    updated_at = PatientIdentity.objects.get(admission=legacy).updated_at
    migrate(BEFORE)
    assert {"name", "identifiers", "date_of_birth", "contact"} <= identity_columns()
    with connection.cursor() as cur:
        # As migration 0003's code wrote them: one token per field, no details; an unset field empty.
        cur.execute(
            "UPDATE referrals_patientidentity SET details = NULL, name = %s, identifiers = %s,"
            " date_of_birth = %s, contact = %s WHERE admission_id = %s",
            [
                encrypt("Jo Doe"),
                encrypt(json.dumps([{"value": "77120", "type": "MR"}])),
                encrypt("2001-05-12"),
                encrypt("021 555 0101"),
                legacy.pk,
            ],
        )
        cur.execute(
            "UPDATE referrals_patientidentity SET details = NULL, name = %s, identifiers = NULL,"
            " date_of_birth = '', contact = '' WHERE admission_id = %s",
            [encrypt("Sipho Ndlovu"), bare.pk],
        )

    migrate()

    assert identity_columns() == {"id", "admission_id", "details", "updated_at"}
    moved = PatientIdentity.objects.get(admission=legacy)
    assert moved.details == {
        "name": "Jo Doe",
        "identifiers": [{"value": "77120", "type": "MR"}],
        "date_of_birth": "2001-05-12",
        "contact": "021 555 0101",
    }
    assert moved.updated_at == updated_at  # moved, not changed
    assert PatientIdentity.objects.get(admission=bare).details == {
        "name": "Sipho Ndlovu",
        "identifiers": [],
        "date_of_birth": "",
        "contact": "",
    }
    kept = PatientIdentity.objects.get(admission=current)
    assert (kept.name, kept.identifiers, kept.contact) == ("Lindiwe Dlamini", [], "021 555 0199")
