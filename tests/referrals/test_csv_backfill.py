"""A CSV backfill processed in bulk keeps every rule of the one-by-one path: incidents joined by
place, mechanism and two hours; rows for known visits update them; the dashboard days refreshed;
and, on PostgreSQL, rows validated once at upload (a lost cache of them is rebuilt from the raw file)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from casework import services as cw_services
from casework.models import GangAssertion, Suburb
from referrals.intake import process
from referrals.models import Admission, InboundMessage, StagedRow
from reporting.models import AdmissionRollup

from .test_csv_and_form import csv_text, good, upload

pytestmark = pytest.mark.django_db


def at(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def test_a_backfill_joins_incidents_by_place_mechanism_and_two_hours(
    api, clerk, django_capture_on_commit_callbacks
):
    t = timezone.now() - timedelta(days=2)
    rows = [
        good(1, arrival_at=at(t)),
        good(2, arrival_at=at(t + timedelta(minutes=90))),  # same place and mechanism, 1.5 h later
        good(3, arrival_at=at(t + timedelta(hours=5))),  # too late: another incident
        good(4, arrival_at=at(t + timedelta(minutes=30)), icd10_codes="S31.1 X95.0"),  # firearm
        good(5, arrival_at=at(t + timedelta(hours=5, minutes=10)), gang_suspected="Y"),
        good(6, arrival_at=at(t), suburb=""),  # no place: no incident yet
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(api(clerk), csv_text(rows)).status_code == 201
    incident = dict(Admission.objects.values_list("visit_number", "incident_id"))
    assert incident["CSV1"] == incident["CSV2"]
    assert len({incident["CSV1"], incident["CSV3"], incident["CSV4"]}) == 3
    assert incident["CSV5"] == incident["CSV3"] and incident["CSV6"] is None
    later = Admission.objects.get(visit_number="CSV5").incident
    assert later.gang_related is True
    assertion = GangAssertion.objects.get(incident=later)
    assert assertion.source == "ec_clinician" and "tygerberg/CSV5" in assertion.basis
    assert not StagedRow.objects.exists()  # nothing left behind once processed


def test_a_backfill_row_joins_an_incident_that_already_exists(api, clerk, django_capture_on_commit_callbacks):
    t = timezone.now() - timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        upload(api(clerk), csv_text([good(1, arrival_at=at(t))]), name="first.csv")
        upload(api(clerk), csv_text([good(2, arrival_at=at(t + timedelta(minutes=45)))]), name="second.csv")
    first, second = Admission.objects.order_by("visit_number")
    assert first.incident_id is not None and second.incident_id == first.incident_id


def test_ec_suspicion_in_a_backfill_is_asserted_through_casework_by_its_rule(
    api, clerk, django_capture_on_commit_callbacks
):
    # An incident the committee said was not gang-related: the EC's suspicion in a backfill row that
    # joins it is a newer standing assertion, so casework's rule (the latest standing one) makes it
    # gang-related; the earlier assertion stays on record.
    t = timezone.now() - timedelta(days=2)
    place = Suburb.objects.get(code="tafelsig")  # the rows' suburb
    incident = cw_services.incident_create(actor=None, occurred_at=t, suburb=place, mechanism="sharp")
    cw_services.incident_assert_gang_relatedness(
        incident=incident, actor=None, gang_related=False, basis="committee review", source="committee",
        at=t + timedelta(hours=1),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        upload(api(clerk), csv_text([good(1, arrival_at=at(t + timedelta(minutes=20)), gang_suspected="Y")]))
    incident.refresh_from_db()
    assert Admission.objects.get().incident_id == incident.pk
    assert incident.gang_related is True
    assert sorted(incident.gang_assertions.values_list("source", "gang_related")) == [
        ("committee", False),
        ("ec_clinician", True),
    ]


def test_rows_for_known_visits_and_repeated_visits_update_the_same_admission(
    api, clerk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(api(clerk), csv_text([good(1, triage="red")]), name="first.csv")
        report = upload(
            api(clerk),
            csv_text(
                [good(1, triage="green"), good(2, triage="red"), good(2, triage="yellow", role="perpetrator")]
            ),
            name="second.csv",
        ).json()
    assert report["accepted"] == 3
    assert Admission.objects.count() == 2
    assert Admission.objects.get(visit_number="CSV1").triage == "green"
    again = Admission.objects.get(visit_number="CSV2")
    assert (again.triage, again.role) == ("yellow", "perpetrator")  # the later row wins
    second = InboundMessage.objects.get(report__filename="second.csv")
    assert second.status == "processed" and second.report["stored"] == 3


def test_a_backfill_refreshes_the_dashboard_days_it_touched(api, clerk, django_capture_on_commit_callbacks):
    day1 = timezone.localtime(timezone.now() - timedelta(days=3)).replace(hour=10, minute=0)
    day2 = day1 + timedelta(days=1)
    rows = [good(1, arrival_at=at(day1)), good(2, arrival_at=at(day1)), good(3, arrival_at=at(day2))]
    with django_capture_on_commit_callbacks(execute=True):
        upload(api(clerk), csv_text(rows))
    counts = dict(AdmissionRollup.objects.filter(kind="facility").values_list("day", "n"))
    assert counts == {day1.date(): 2, day2.date(): 1}


@pytest.mark.postgres
def test_rows_are_validated_once_at_upload_and_a_lost_copy_is_rebuilt_from_the_raw_file(
    api, clerk, django_capture_on_commit_callbacks
):
    upload(api(clerk), csv_text([good(1, name="Jo Doe"), good(2)]))  # stored, not processed yet
    message = InboundMessage.objects.get()
    assert message.status == "received" and StagedRow.objects.filter(message=message).count() == 2
    # The staged rows are a cache in an UNLOGGED table: a crash empties it, the raw file is the truth.
    StagedRow.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        process.inbound_process(message.pk)
    message.refresh_from_db()
    assert message.status == "processed" and message.report["stored"] == 2
    assert Admission.objects.get(visit_number="CSV1").identity.name == "Jo Doe"
