"""Load the shipped Western Cape reference data (casework/reference_data.py).

Idempotent: rows are matched by code and updated, never duplicated; admins' own rows are left
alone. Reversing is a no-op on purpose: dockets and incidents point at these rows.
"""

from django.db import migrations


def load_reference_data(apps, schema_editor):
    from casework import reference_data

    reference_data.load(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0002_roles_and_append_only_log"),
    ]

    operations = [
        migrations.RunPython(load_reference_data, migrations.RunPython.noop),
    ]
