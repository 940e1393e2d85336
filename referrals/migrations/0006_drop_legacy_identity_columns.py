"""The per-field identity columns, empty of meaning since 0005 moved every row into ``details``."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("referrals", "0005_identity_details_from_legacy_columns")]

    operations = [
        migrations.RemoveField("patientidentity", "legacy_name"),
        migrations.RemoveField("patientidentity", "legacy_identifiers"),
        migrations.RemoveField("patientidentity", "legacy_date_of_birth"),
        migrations.RemoveField("patientidentity", "legacy_contact"),
    ]
