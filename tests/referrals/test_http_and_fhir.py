"""HL7 over HTTP and FHIR R4 bundles: who may send, what is answered, what is stored."""

import json

import pytest

from referrals.models import Admission, InboundMessage

from .helpers import adt, as_json, bundle, msa

pytestmark = pytest.mark.django_db


def post_hl7(client, raw, content_type="application/hl7-v2"):
    return client.post("/api/v1/intake/hl7/", data=raw, content_type=content_type)


def post_fhir(client, body):
    return client.post("/api/v1/intake/fhir/", data=body, content_type="application/fhir+json")


def test_a_sending_system_posts_hl7_for_its_facility_and_gets_the_ack(
    api, feed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_hl7(api(feed), adt())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/hl7-v2")
    assert msa(response.content.decode())[1:3] == ["AA", "MSG0001"]
    assert Admission.objects.count() == 1


def test_a_sending_system_may_not_post_for_another_facility_and_no_admission_is_made(
    api, feed, other_facility
):
    response = post_hl7(api(feed), adt(facility=other_facility.code))
    assert response.status_code == 403
    assert msa(response.content.decode())[1] == "AR"
    assert Admission.objects.count() == 0
    assert InboundMessage.objects.get().status == "rejected"  # kept for the dead letters


def test_a_clerk_may_not_post_hl7_which_is_for_sending_systems_and_nothing_is_stored(api, clerk):
    response = post_hl7(api(clerk), adt())
    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0


def test_the_integration_account_posts_for_each_of_its_facilities_and_reads_nothing(
    api, make_sender, facility, other_facility, django_capture_on_commit_callbacks
):
    feed = make_sender("hub", facilities=[facility, other_facility]).account
    with django_capture_on_commit_callbacks(execute=True):
        response = post_hl7(api(feed), adt(facility=other_facility.code), content_type="text/plain")
    assert response.status_code == 200
    assert api(feed).get("/api/v1/admissions/").json()["results"] == []  # it submits, it does not read


@pytest.mark.parametrize("role", ["vpu_analyst", "saps_liaison", "manager", "health_capture", "admin"])
def test_people_who_are_not_a_sending_system_may_not_post_messages(api, make_user, role):
    assert post_hl7(api(make_user(role)), adt()).status_code == 403
    assert InboundMessage.objects.count() == 0


def test_anonymous_posts_are_refused(api):
    assert post_hl7(api(), adt()).status_code in (401, 403)
    assert InboundMessage.objects.count() == 0


def test_a_malformed_hl7_post_answers_422_with_an_ae_ack_naming_the_field(api, feed):
    response = post_hl7(api(feed), adt(visit=""))
    assert response.status_code == 422
    assert "PV1^1^19" in response.content.decode()


def test_another_content_type_is_415(api, feed):
    response = api(feed).post("/api/v1/intake/hl7/", data={"a": 1}, format="json")
    assert response.status_code == 415
    assert not InboundMessage.objects.exists()


def test_a_valid_bundle_is_accepted_and_becomes_an_admission(
    api, feed, suburb, django_capture_on_commit_callbacks
):
    b = bundle(
        observations={"TRIAGE": "orange", "SUBURB": suburb.code, "ROLE": "victim", "GANG_SUSPECTED": "N"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_fhir(api(feed), as_json(b))
    assert response.status_code == 202, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    a = Admission.objects.get()
    assert (a.visit_number, a.mechanism, a.triage, a.suburb, a.gang_suspected) == (
        "F0001",
        "sharp",
        "orange",
        suburb,
        False,
    )
    assert a.identity.name == "Jo Doe"
    again = post_fhir(api(feed), as_json(b))
    assert again.status_code == 200 and InboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    "mutate, element",
    [
        (lambda b: b["entry"][2]["resource"]["period"].update(start="yesterday"), "Encounter.period.start"),
        (lambda b: b["entry"][2]["resource"]["period"].pop("start"), "Encounter.period.start"),
        (lambda b: b["entry"][2]["resource"].update({"class": {"code": "IMP"}}), "Encounter.class"),
        (lambda b: b["entry"].pop(1), "Patient"),
        (lambda b: b["entry"].pop(2), "Encounter"),
        (lambda b: b["entry"][2]["resource"].pop("serviceProvider"), "Encounter.serviceProvider"),
        (lambda b: b["entry"][1]["resource"].update(gender=42), "Patient.gender"),
        (
            lambda b: b["entry"][0]["resource"].update(identifier=[{"value": "atlantis"}]),
            "Organization.identifier.value",
        ),
        (lambda b: b.update(resourceType="Patient"), "Bundle.resourceType"),
    ],
)
def test_an_invalid_bundle_answers_an_operation_outcome_naming_the_element(api, feed, mutate, element):
    b = bundle()
    mutate(b)
    response = post_fhir(api(feed), as_json(b))
    assert response.status_code in (400, 422), response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert outcome["issue"][0]["expression"][0].startswith(element), outcome
    assert Admission.objects.count() == 0
    assert InboundMessage.objects.get().status == "rejected"


def test_a_body_that_is_not_json_is_rejected_naming_the_bundle(api, feed):
    response = post_fhir(api(feed), "{not json")
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle"]
    assert not Admission.objects.exists()


def test_injection_looking_text_is_stored_inertly(api, feed, clerk, django_capture_on_commit_callbacks):
    evil = "Robert'); DROP TABLE referrals_admission;-- <script>alert(1)</script>"
    b = bundle(name=(evil, "O'Brien"), observations={"SUBURB": evil, "ROLE": "victim"})
    with django_capture_on_commit_callbacks(execute=True):
        response = post_fhir(api(feed), json.dumps(b))
    assert response.status_code == 202
    a = Admission.objects.get()
    assert a.suburb is None and a.suburb_text == evil[:120]
    assert a.identity.name == f"{evil} O'Brien"
    page = api(clerk).get(f"/api/v1/admissions/{a.pk}/").json()
    assert page["suburb_text"] == evil[:120]


def test_a_bundle_without_an_assault_code_is_accepted_and_not_recorded(api, feed):
    response = post_fhir(api(feed), as_json(bundle(codes=["S06.0"])))
    assert response.status_code == 202
    message = InboundMessage.objects.get()
    assert message.status == "filtered" and message.raw == ""
    assert Admission.objects.count() == 0
