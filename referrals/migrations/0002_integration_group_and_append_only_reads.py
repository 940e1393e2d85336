"""The ``intake_integration`` group (hospital systems' accounts) and a database guard that keeps the
identity-read audit append-only (TRUNCATE stays possible: the test runner resets with it)."""

from django.db import migrations

PROTECT = """
CREATE OR REPLACE FUNCTION referrals_identityread_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'referrals_identityread is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER referrals_identityread_no_update_delete
    BEFORE UPDATE OR DELETE ON referrals_identityread
    FOR EACH ROW EXECUTE FUNCTION referrals_identityread_append_only();
"""
UNPROTECT = """
DROP TRIGGER IF EXISTS referrals_identityread_no_update_delete ON referrals_identityread;
DROP FUNCTION IF EXISTS referrals_identityread_append_only();
"""


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="intake_integration")


def protect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PROTECT, params=None)


def unprotect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNPROTECT, params=None)


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(create_group, migrations.RunPython.noop),
        migrations.RunPython(protect, unprotect),
    ]
