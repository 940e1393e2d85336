"""Issue 10, finding 4: de-identified roles get no quasi-identifiers, rejection reasons name the
field and never its value, raw messages are for admins only and every view of one is audited."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from casework.models import Facility, Incident
from referrals.intake import receive
from referrals.models import Admission, IdentityRead, InboundMessage, Referral
from tests.referrals.helpers import adt, bundle, err, msa

pytestmark = pytest.mark.django_db

# 23:47 the evening before yesterday, SAST: minutes that the hour must hide.
ARRIVAL = timezone.localtime().replace(hour=23, minute=47, second=12, microsecond=0) - timedelta(days=2)
INJURY = ARRIVAL - timedelta(minutes=38)  # 23:09


@pytest.fixture
def admission(django_capture_on_commit_callbacks, facility, suburb):
    """A 24-year-old seen at 23:47, injured at 23:09, visit V5531209."""
    dob = (ARRIVAL.date() - timedelta(days=24 * 365 + 30)).strftime("%Y%m%d")
    raw = adt(
        visit="V5531209",
        arrival=ARRIVAL,
        dob=dob,
        obx={"SUBURB": suburb.code, "INJURY_TIME": INJURY.strftime("%Y%m%d%H%M%S"), "ROLE": "victim"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        receive.inbound_receive_hl7(raw=raw)
    a = Admission.objects.get()
    Admission.objects.filter(pk=a.pk).update(latitude="-33.93456", longitude="18.61234")
    a.refresh_from_db()
    assert (a.age_years, a.age_band, a.incident_id is not None) == (24, "15-24", True)
    return a


def hour_of(moment) -> str:
    return timezone.localtime(moment).replace(minute=0, second=0).isoformat()


DE_IDENTIFIED = ["vpu_analyst", "saps_liaison", "npa_liaison", "court_watcher", "committee_member", "manager"]


# ---------------------------------------------------------------- the API


def test_an_analyst_sees_the_age_band_times_to_the_hour_and_no_visit_number_or_pseudonym(
    api, make_user, admission
):
    analyst = make_user("vpu_analyst")
    for body in (
        api(analyst).get(f"/api/v1/admissions/{admission.pk}/").json(),
        api(analyst).get("/api/v1/admissions/").json()["results"][0],
    ):
        assert body["minimised"] is True
        assert "visit_number" not in body and "pseudonym" not in body and "age_years" not in body
        assert "identity" not in body
        assert body["age_band"] == "15-24"
        assert body["arrival_at"] == hour_of(ARRIVAL)
        assert body["injury_at"] == hour_of(INJURY)
        assert body["created_at"].endswith(":00:00+02:00")
        assert (body["latitude"], body["longitude"]) == ("-33.93", "18.61")
        text = json.dumps(body)
        assert "V5531209" not in text and admission.pseudonym not in text and ":47" not in text


def test_the_clerk_of_the_facility_and_an_admin_see_the_admission_as_recorded(
    api, clerk, admin_user, admission
):
    for user in (clerk, admin_user):
        body = api(user).get(f"/api/v1/admissions/{admission.pk}/").json()
        assert "minimised" not in body
        assert body["visit_number"] == "V5531209"
        assert body["age_years"] == 24
        assert body["pseudonym"] == admission.pseudonym
        assert body["arrival_at"] == timezone.localtime(ARRIVAL).isoformat()


def test_a_clerk_of_another_facility_with_saps_duties_sees_the_referred_admission_minimised(
    api, make_user, admission, suburb
):
    Referral.objects.create(admission=admission, station=suburb.station)
    other = Facility.objects.exclude(code="tygerberg").first()
    liaison = make_user("saps_liaison", "health_capture", grants=[suburb.station, other])
    body = api(liaison).get(f"/api/v1/admissions/{admission.pk}/").json()
    assert body["minimised"] is True and "visit_number" not in body and "identity" not in body
    referral = api(liaison).get("/api/v1/referrals/").json()
    rows = referral["results"] if isinstance(referral, dict) else referral
    assert rows[0]["arrival_at"] == hour_of(ARRIVAL)


def test_a_saps_liaison_sees_the_referral_and_its_admission_to_the_hour(api, make_user, admission, suburb):
    Referral.objects.create(admission=admission, station=suburb.station)
    liaison = make_user("saps_liaison", grants=[suburb.station])
    listed = api(liaison).get("/api/v1/referrals/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["arrival_at"] == hour_of(ARRIVAL)
    body = api(liaison).get(f"/api/v1/admissions/{admission.pk}/").json()
    assert body["minimised"] is True and "prior_visits" not in body  # linkage is not SAPS's work


def test_finding_a_patient_by_pseudonym_is_refused_to_de_identified_readers(api, make_user, admission):
    analyst = make_user("vpu_analyst")
    response = api(analyst).get(f"/api/v1/admissions/?pseudonym={admission.pseudonym}")
    assert response.status_code in (400, 422)
    assert "pseudonym" in json.dumps(response.json())


def test_analysts_see_how_many_earlier_visits_a_patient_had_without_the_pseudonym(
    api, make_user, admission, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        receive.inbound_receive_hl7(
            raw=adt(control="MSG0002", visit="V5531300", arrival=ARRIVAL + timedelta(days=1))
        )
    later = Admission.objects.get(visit_number="V5531300")
    assert later.pseudonym == admission.pseudonym
    analyst = make_user("vpu_analyst")
    assert api(analyst).get(f"/api/v1/admissions/{later.pk}/").json()["prior_visits"] == 1
    assert api(analyst).get(f"/api/v1/admissions/{admission.pk}/").json()["prior_visits"] == 0


@pytest.mark.parametrize(
    "role", ["saps_liaison", "npa_liaison", "court_watcher", "committee_member", "manager"]
)
def test_incidents_show_their_time_to_the_hour_to_de_identified_roles(
    api, make_user, admission, suburb, role
):
    incident = Incident.objects.get(pk=admission.incident_id)
    user = make_user(role, grants=[suburb.station] if role == "saps_liaison" else [])
    response = api(user).get(f"/api/v1/incidents/{incident.pk}/")
    if response.status_code == 404:
        return  # not in this role's scope at all
    body = response.json()
    assert body["occurred_at"] == hour_of(incident.occurred_at)
    assert body["created_at"].endswith(":00:00+02:00")


def test_incidents_show_their_time_to_the_minute_to_the_clerk_whose_admission_it_holds(
    api, clerk, admin_user, make_user, admission
):
    incident = Incident.objects.get(pk=admission.incident_id)
    exact = timezone.localtime(incident.occurred_at).isoformat()
    assert api(clerk).get(f"/api/v1/incidents/{incident.pk}/").json()["occurred_at"] == exact
    assert api(admin_user).get(f"/api/v1/incidents/{incident.pk}/").json()["occurred_at"] == exact
    analyst = make_user("vpu_analyst")
    assert api(analyst).get(f"/api/v1/incidents/{incident.pk}/").json()["occurred_at"] == hour_of(
        incident.occurred_at
    )


# ---------------------------------------------------------------- the pages


def test_the_admission_pages_show_an_analyst_the_age_band_and_the_hour_only(client, make_user, admission):
    client.force_login(make_user("vpu_analyst"))
    listing = client.get("/intake/admissions/").content.decode()
    detail = client.get(f"/intake/admissions/{admission.pk}/").content.decode()
    for page in (listing, detail):
        assert "V5531209" not in page
        assert timezone.localtime(ARRIVAL).strftime("%H:%M") not in page
        assert timezone.localtime(ARRIVAL).strftime("%Y-%m-%d %H") + "h" in page
    assert timezone.localtime(INJURY).strftime("%H:%M") not in detail
    assert "15-24" in detail and "24 (15-24)" not in detail


def test_the_admission_page_shows_the_clerk_the_visit_the_minute_and_the_age(client, clerk, admission):
    client.force_login(clerk)
    detail = client.get(f"/intake/admissions/{admission.pk}/").content.decode()
    assert "V5531209" in detail
    assert timezone.localtime(ARRIVAL).strftime("%Y-%m-%d %H:%M") in detail
    assert "24 (15-24)" in detail


def test_the_referral_queue_shows_saps_the_arrival_to_the_hour(client, make_user, admission, suburb):
    Referral.objects.create(admission=admission, station=suburb.station)
    client.force_login(make_user("saps_liaison", grants=[suburb.station]))
    page = client.get("/intake/referrals/").content.decode()
    assert timezone.localtime(ARRIVAL).strftime("%Y-%m-%d %H") + "h" in page
    assert timezone.localtime(ARRIVAL).strftime("%H:%M") not in page


def test_the_incident_page_shows_saps_the_hour(client, make_user, admission, suburb):
    client.force_login(make_user("saps_liaison", grants=[suburb.station]))
    incident = Incident.objects.get(pk=admission.incident_id)
    page = client.get(f"/incidents/{incident.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert timezone.localtime(incident.occurred_at).strftime("%H:%M") not in text
    assert timezone.localtime(incident.occurred_at).strftime("%H") + "h" in text


# ---------------------------------------------------------------- rejection reasons


def test_an_hl7_rejection_names_the_field_and_never_echoes_the_date_of_birth(api, admin_user):
    answer = receive.inbound_receive_hl7(raw=adt(dob="20011345", control="BADDOB"))
    message = InboundMessage.objects.get(control_id="BADDOB")
    assert message.status == "rejected"
    assert "PID-7" in message.reason and "20011345" not in message.reason
    assert msa(answer.body)[1] == "AE"
    assert "PID-7" in err(answer.body) and "20011345" not in answer.body.split("MSA|", 1)[1]
    listed = api(admin_user).get("/api/v1/dead-letters/").json()
    assert "20011345" not in json.dumps(listed)
    assert IdentityRead.objects.count() == 0  # the list reads no raw text


@pytest.mark.parametrize(
    ("column", "value"),
    [("date_of_birth", "2001-13-45"), ("sex", "Thandiwe"), ("age_years", "twenty"), ("triage", "Mokoena")],
)
def test_a_csv_row_problem_names_the_column_and_never_its_value(admin_user, column, value):
    row = {
        "facility": "tygerberg",
        "visit_number": "V1",
        "arrival_at": timezone.localtime(ARRIVAL).strftime("%Y-%m-%d %H:%M"),
        "icd10_codes": "S31.1 X99.0",
        "patient_id": "0105125800083",
        "patient_id_type": "NI",
    }
    row[column] = value
    text = ",".join(row) + "\n" + ",".join(row.values()) + "\n"
    report = receive.inbound_receive_csv(text=text, actor=admin_user).extra["report"]
    (problem,) = report["problems"]
    assert problem["field"] == column and value not in problem["problem"]
    assert value not in InboundMessage.objects.get().reason


def test_a_fhir_rejection_names_the_element_and_never_its_value():
    b = bundle()
    patient = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["birthDate"] = "2001-13-45"
    answer = receive.inbound_receive_fhir(body=json.dumps(b), authorise=False)
    outcome = json.loads(answer.body)
    assert outcome["issue"][0]["expression"] == ["Patient.birthDate"] or "birthDate" in json.dumps(outcome)
    assert "2001-13-45" not in json.dumps(outcome["issue"])
    assert "2001-13-45" not in InboundMessage.objects.get().reason


def test_reasons_stored_before_the_rule_are_listed_without_their_values(api, client, admin_user):
    InboundMessage.objects.create(
        channel="hl7_mllp",
        sender="tygerberg",
        control_id="OLD1",
        raw="MSH|…",
        status="rejected",
        reason="PID-7: '20011345' is not a real date/time (month must be in 1..12).",
        report={"problems": [{"row": 2, "field": "sex", "problem": "'Thandiwe' is not F, M, O or U."}]},
    )
    listed = json.dumps(api(admin_user).get("/api/v1/dead-letters/").json())
    assert "20011345" not in listed and "Thandiwe" not in listed and "PID-7" in listed
    client.force_login(admin_user)
    page = client.get("/intake/dead-letters/").content.decode()
    assert "20011345" not in page and "PID-7" in page


# ---------------------------------------------------------------- raw messages


@pytest.mark.parametrize("role", ["health_capture", *DE_IDENTIFIED])
def test_raw_messages_are_for_admins_only(api, client, make_user, role):
    InboundMessage.objects.create(
        channel="hl7_mllp", sender="x", control_id="R1", raw="PID|Doe^Jo", status="failed"
    )
    message = InboundMessage.objects.get()
    user = make_user(role)
    assert api(user).get(f"/api/v1/dead-letters/{message.pk}/").status_code in (403, 404)
    client.force_login(user)
    assert client.get(f"/intake/dead-letters/{message.pk}/").status_code in (403, 404)
    assert IdentityRead.objects.count() == 0


def test_every_view_of_a_raw_message_by_an_admin_is_audited(api, client, admin_user):
    InboundMessage.objects.create(
        channel="hl7_mllp", sender="x", control_id="R1", raw="PID|Doe^Jo", status="failed"
    )
    message = InboundMessage.objects.get()
    assert "Doe^Jo" in api(admin_user).get(f"/api/v1/dead-letters/{message.pk}/").json()["raw"]
    client.force_login(admin_user)
    assert "Doe^Jo" in client.get(f"/intake/dead-letters/{message.pk}/").content.decode()
    reads = IdentityRead.objects.filter(message=message, reader=admin_user)
    assert reads.count() == 2


def test_masking_keeps_the_senders_facility_code_and_hides_the_patients_value():
    from referrals.minimise import reason_without_values

    assert (
        reason_without_values("MSH-4: Unknown facility code 'nowhere'.")
        == "MSH-4: Unknown facility code 'nowhere'."
    )
    kept = "MSH-4: Sending system 'HECTIS' may not send for facility 'tygerberg'."
    assert reason_without_values(kept) == kept
    assert reason_without_values("PID-7: '20011345' is not a real date.") == "PID-7: '…' is not a real date."
