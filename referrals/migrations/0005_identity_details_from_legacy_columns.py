"""Every identity into the one encrypted token: rows written before migration 0003 still held one
Fernet token per field (the columns name, identifiers, date_of_birth, contact) and no ``details``.

Decrypted and encrypted again with the deployment's own ``IDENTITY_ENCRYPTION_KEY`` (the fields of
``referrals.crypto``, as the historical model carries them). A token no key opens stops the migration
and nothing changes: the next migration drops the old columns, so nothing is dropped unread. The
columns go in a migration of their own: PostgreSQL refuses ALTER TABLE after updates in the same
transaction while trigger events are pending.
"""

from django.db import migrations

LEGACY = {
    "name": ("legacy_name", ""),
    "identifiers": ("legacy_identifiers", []),
    "date_of_birth": ("legacy_date_of_birth", ""),
    "contact": ("legacy_contact", ""),
}
BATCH = 1000


def details_of(identity) -> dict:
    """The one token's content of a row of before, read as the model read it (an empty field: the default)."""
    return {key: getattr(identity, column) or default for key, (column, default) in LEGACY.items()}


def move_legacy_columns(apps, schema_editor):
    identities = apps.get_model("referrals", "PatientIdentity").objects.using(schema_editor.connection.alias)
    waiting = identities.filter(details__isnull=True).order_by("pk")
    while batch := list(waiting.only("pk", *(column for column, _default in LEGACY.values()))[:BATCH]):
        for identity in batch:
            identity.details = details_of(identity)
        identities.bulk_update(batch, ["details"])  # updated_at kept: the identity did not change


class Migration(migrations.Migration):
    dependencies = [("referrals", "0004_sending_systems_and_identity_versions")]

    # Reversed, nothing to do: the code of before reads ``details`` first.
    operations = [migrations.RunPython(move_legacy_columns, migrations.RunPython.noop)]
