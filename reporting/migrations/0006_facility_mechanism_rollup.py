"""The dashboard's facility x mechanism rollup for the admissions already stored: derived data, but the
dashboard reads this kind as soon as the code that knows it is deployed, so it must not start empty."""

from zoneinfo import ZoneInfo

from django.db import migrations
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

KIND = "facility_mechanism"


def build(apps, schema_editor):
    Admission = apps.get_model("referrals", "Admission")
    AdmissionRollup = apps.get_model("reporting", "AdmissionRollup")
    RollupStamp = apps.get_model("reporting", "RollupStamp")
    AdmissionRollup.objects.filter(kind=KIND).delete()
    rows = (
        Admission.objects.annotate(day=TruncDate("arrival_at", tzinfo=ZoneInfo("Africa/Johannesburg")))
        .order_by()
        .values_list("day", "facility_id", "mechanism")
        .annotate(n=Count("id"))
    )
    batch = []
    for day, facility, mechanism, n in rows.iterator(chunk_size=5000):
        batch.append(AdmissionRollup(kind=KIND, day=day, k1=str(facility), k2=mechanism or "", n=n))
        if len(batch) == 5000:
            AdmissionRollup.objects.bulk_create(batch)
            batch = []
    AdmissionRollup.objects.bulk_create(batch)
    RollupStamp.objects.update_or_create(kind=KIND, defaults={"refreshed_at": timezone.now()})


def unbuild(apps, schema_editor):
    apps.get_model("reporting", "AdmissionRollup").objects.filter(kind=KIND).delete()
    apps.get_model("reporting", "RollupStamp").objects.filter(kind=KIND).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0005_outcomerollup"),
        ("referrals", "0003_identity_details_and_staged_rows"),
    ]

    operations = [migrations.RunPython(build, unbuild)]
