"""Courts serve stations: the dockets an NPA liaison of a court may see and enrol come from the
stations that court serves (issue 10, finding 2). Filled from the shipped STATION_COURTS table."""

from django.db import migrations, models


def load_court_stations(apps, schema_editor):
    from casework import reference_data

    reference_data.load_court_stations(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0004_transition_log_by_step"),
    ]

    operations = [
        migrations.AddField(
            model_name="court",
            name="stations",
            field=models.ManyToManyField(
                blank=True, related_name="courts", to="casework.station", verbose_name="stations served"
            ),
        ),
        migrations.RunPython(load_court_stations, migrations.RunPython.noop),
    ]
