"""Registered sending systems (issue 10: intake authentication), the sender of each message, and
identity versions (an update never silently overwrites who a patient is).

The group of hospital systems' accounts is renamed ``integration`` (the role name of DESIGN.md);
identity versions are append-only in the database (blanking ``details`` stays possible for the
POPIA purge; TRUNCATE stays possible: the test runner resets with it).
"""

import django.db.models.deletion
import django.utils.timezone
import referrals.crypto
from django.conf import settings
from django.db import migrations, models


PROTECT = """
CREATE OR REPLACE FUNCTION referrals_identityversion_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.details IS NULL AND NEW.admission_id = OLD.admission_id
       AND NEW.replaced_at = OLD.replaced_at
       AND NEW.replaced_by_message_id IS NOT DISTINCT FROM OLD.replaced_by_message_id
       AND NEW.replaced_by_sender_id IS NOT DISTINCT FROM OLD.replaced_by_sender_id
       AND NEW.replaced_by_user_id IS NOT DISTINCT FROM OLD.replaced_by_user_id THEN
        RETURN NEW;  -- the retention purge blanks the identity and keeps the record of the change
    END IF;
    RAISE EXCEPTION 'referrals_identityversion is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER referrals_identityversion_no_update_delete
    BEFORE UPDATE OR DELETE ON referrals_identityversion
    FOR EACH ROW EXECUTE FUNCTION referrals_identityversion_append_only();
"""
UNPROTECT = """
DROP TRIGGER IF EXISTS referrals_identityversion_no_update_delete ON referrals_identityversion;
DROP FUNCTION IF EXISTS referrals_identityversion_append_only();
"""


def rename_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    old = Group.objects.filter(name="intake_integration").first()
    if old is not None and not Group.objects.filter(name="integration").exists():
        old.name = "integration"
        old.save()
    else:
        Group.objects.get_or_create(name="integration")


def unrename_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name="integration").update(name="intake_integration")


def protect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PROTECT, params=None)


def unprotect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNPROTECT, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0003_identity_details_and_staged_rows"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SendingSystem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, unique=True)),
                (
                    "certificate_sha256",
                    models.CharField(
                        blank=True,
                        help_text="Hex digest of the certificate (DER); colons and case are ignored.",
                        max_length=64,
                        verbose_name="client certificate SHA-256 fingerprint",
                    ),
                ),
                (
                    "certificate_subject",
                    models.CharField(
                        blank=True,
                        help_text="Used when no fingerprint is given: any certificate of our CA with this CN.",
                        max_length=200,
                        verbose_name="client certificate subject CN",
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sending_system",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="IdentityVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("details", referrals.crypto.EncryptedJSONField(null=True)),
                ("replaced_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "admission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="identity_versions",
                        to="referrals.admission",
                    ),
                ),
                (
                    "replaced_by_message",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="referrals.inboundmessage",
                    ),
                ),
                (
                    "replaced_by_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "replaced_by_sender",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="referrals.sendingsystem",
                    ),
                ),
            ],
            options={
                "ordering": ["admission", "-replaced_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="sending_system",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="referrals.sendingsystem",
            ),
        ),
        migrations.AddConstraint(
            model_name="sendingsystem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("certificate_sha256", ""), _negated=True),
                fields=("certificate_sha256",),
                name="one_sender_per_certificate",
            ),
        ),
        migrations.AddConstraint(
            model_name="sendingsystem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("certificate_subject", ""), _negated=True),
                fields=("certificate_subject",),
                name="one_sender_per_subject",
            ),
        ),
        migrations.RunPython(rename_group, unrename_group),
        migrations.RunPython(protect, unprotect),
    ]
