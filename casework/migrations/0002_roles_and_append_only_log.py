"""The roles of DESIGN.md as Django groups, and a database guard that keeps the transition log append-only.

TRUNCATE stays possible on purpose: it is what the test runner uses to reset a test database,
and no request path can issue it.
"""

from django.db import migrations

ROLES = [
    "health_capture",
    "vpu_analyst",
    "saps_liaison",
    "npa_liaison",
    "court_watcher",
    "court_watch_supervisor",
    "committee_member",
    "manager",
    "admin",
]

PROTECT_LOG = """
CREATE OR REPLACE FUNCTION casework_transitionlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'casework_transitionlog is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER casework_transitionlog_no_update_delete
    BEFORE UPDATE OR DELETE ON casework_transitionlog
    FOR EACH ROW EXECUTE FUNCTION casework_transitionlog_append_only();
"""

UNPROTECT_LOG = """
DROP TRIGGER IF EXISTS casework_transitionlog_no_update_delete ON casework_transitionlog;
DROP FUNCTION IF EXISTS casework_transitionlog_append_only();
"""


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def protect_log(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PROTECT_LOG, params=None)


def unprotect_log(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNPROTECT_LOG, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(protect_log, unprotect_log),
    ]
