"""Identity as one encrypted token per patient (old per-field tokens stay readable), and the
table of validated CSV rows waiting for processing (UNLOGGED on PostgreSQL: a cache, see models)."""

import django.db.models.deletion
from django.db import migrations, models

import referrals.crypto


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE referrals_stagedrow SET UNLOGGED")


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0001_initial"),
        ("referrals", "0002_integration_group_and_append_only_reads"),
    ]

    operations = [
        # The old columns keep their names in the database; in Python they are legacy_*.
        migrations.RenameField("patientidentity", "name", "legacy_name"),
        migrations.AlterField(
            "patientidentity",
            "legacy_name",
            referrals.crypto.EncryptedTextField(blank=True, db_column="name"),
        ),
        migrations.RenameField("patientidentity", "identifiers", "legacy_identifiers"),
        migrations.AlterField(
            "patientidentity",
            "legacy_identifiers",
            referrals.crypto.EncryptedJSONField(blank=True, null=True, db_column="identifiers"),
        ),
        migrations.RenameField("patientidentity", "date_of_birth", "legacy_date_of_birth"),
        migrations.AlterField(
            "patientidentity",
            "legacy_date_of_birth",
            referrals.crypto.EncryptedTextField(blank=True, db_column="date_of_birth"),
        ),
        migrations.RenameField("patientidentity", "contact", "legacy_contact"),
        migrations.AlterField(
            "patientidentity",
            "legacy_contact",
            referrals.crypto.EncryptedTextField(blank=True, db_column="contact"),
        ),
        migrations.AddField(
            "patientidentity",
            "details",
            referrals.crypto.EncryptedJSONField(blank=True, null=True),
        ),
            migrations.CreateModel(
            name="StagedRow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("row", models.PositiveIntegerField()),
                ("repeat", models.BooleanField(default=False)),
                ("facility_id", models.BigIntegerField()),
                ("visit_number", models.CharField(max_length=60)),
                ("arrival_at", models.DateTimeField()),
                ("injury_at", models.DateTimeField(null=True)),
                ("age_years", models.PositiveSmallIntegerField(null=True)),
                ("age_band", models.CharField(blank=True, max_length=8)),
                ("sex", models.CharField(max_length=8)),
                ("role", models.CharField(max_length=12)),
                ("mechanism", models.CharField(max_length=20)),
                ("icd10_codes", models.JSONField(default=list)),
                ("triage", models.CharField(blank=True, max_length=8)),
                ("place_type", models.CharField(blank=True, max_length=20)),
                ("suburb_text", models.CharField(blank=True, max_length=120)),
                ("suburb_id", models.BigIntegerField(null=True)),
                ("latitude", models.DecimalField(decimal_places=5, max_digits=8, null=True)),
                ("longitude", models.DecimalField(decimal_places=5, max_digits=8, null=True)),
                ("disposition", models.CharField(blank=True, max_length=12)),
                ("police_informed", models.BooleanField(null=True)),
                ("gang_suspected", models.BooleanField(null=True)),
                ("pseudonym", models.CharField(blank=True, max_length=64)),
                ("details", referrals.crypto.EncryptedJSONField()),
                (
                    "message",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        to="referrals.inboundmessage",
                    ),
                ),
            ],
        ),
        migrations.RunPython(unlogged, migrations.RunPython.noop),
        # Indexes no query needs (each costs every insert): facility alone is the leading column of two
        # others; the pseudonym is compared for equality only (no varchar_pattern_ops index).
        # Only the index goes (AlterField would also drop and re-validate the foreign key).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="admission",
                    name="facility",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="admissions",
                        to="casework.facility",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS referrals_admission_facility_id_2d4c6ddc",
                    "CREATE INDEX referrals_admission_facility_id_2d4c6ddc ON referrals_admission (facility_id)",
                ),
            ],
        ),
        migrations.AlterField(
            model_name="admission",
            name="pseudonym",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddIndex(
            model_name="admission",
            index=models.Index(fields=["pseudonym"], name="admission_pseudonym"),
        ),
    ]
