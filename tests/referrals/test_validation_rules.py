"""One set of intake rules for every channel (issue 12): the form shows as a field error, before saving,
what HL7 (AE naming the field), CSV (a row report) and FHIR (4xx naming the element) refuse."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from referrals.models import Admission, InboundMessage
from referrals.parsing.rules import icd10_problem, sa_id_problem

from .helpers import adt, bundle, err, msa

pytestmark = pytest.mark.django_db

GOOD_ID = "8001015009087"  # checksum correct
BAD_ID = "8001015009088"  # last digit mistyped


def local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def form_data(**changes):
    arrival = timezone.now() - timedelta(hours=1)
    data = {
        "facility": "tygerberg",
        "visit_number": "F-100",
        "mechanism": "sharp",
        "icd10_codes": "S31.1",
        "patient_id": GOOD_ID,
        "patient_id_type": "NI",
        "sex": "female",
        "role": "victim",
        "arrival_at": local(arrival),
        "injury_at": local(arrival - timedelta(minutes=30)),
    }
    data.update(changes)
    return data


# ------------------------------------------------------------------ the rules themselves


@pytest.mark.parametrize("code", ["X99.0", "X99", "x95.9", "Y06.1", "T74.2", "S31.1", "S52.01", "X85.99"])
def test_who_icd10_codes_are_accepted(code):
    assert icd10_problem(code) == ""


@pytest.mark.parametrize("code", ["banana", "X99.A", "Y06.5", "S21.3", "Q1", "U99.9"])
def test_codes_not_in_the_who_list_are_refused_in_words(code):
    assert "is not a WHO ICD-10 code" in icd10_problem(code)


def test_an_sa_id_number_is_checked_by_its_luhn_digit_and_its_date():
    assert sa_id_problem(GOOD_ID) == ""
    assert sa_id_problem("800101 5009 087") == ""
    assert sa_id_problem(BAD_ID) == "The ID number's check digit is wrong: a digit is mistyped."
    assert "13 digits" in sa_id_problem("80010150090")
    assert "date of birth" in sa_id_problem("8013015009080")


def test_another_countrys_national_id_is_not_checked_as_a_south_african_one():
    from referrals.parsing.common import Record
    from referrals.parsing.rules import check_identifiers

    rec = Record(facility_code="tygerberg", visit_number="V")
    rec.identifiers = [{"value": "63-123456-A-42", "type": "NI", "authority": "ZWE"}]
    check_identifiers(rec, "PID-3")  # no error


# ------------------------------------------------------------------ the form: a field error, nothing written


@pytest.mark.parametrize(
    "changes, field, words",
    [
        (
            {"injury_at": local(timezone.now() - timedelta(minutes=5))},
            "injury_at",
            "The injury time is after the arrival time.",
        ),
        ({"date_of_birth": timezone.localdate().isoformat()}, "date_of_birth", "after the arrival"),
        ({"icd10_codes": "banana"}, "icd10_codes", "'BANANA' is not a WHO ICD-10 code"),
        ({"patient_id": BAD_ID}, "patient_id", "check digit is wrong"),
        ({"mechanism": "", "icd10_codes": "S31.1"}, "mechanism", "Choose the mechanism"),
    ],
)
def test_the_form_names_the_field_a_rule_refuses_and_writes_nothing(client, clerk, changes, field, words):
    client.force_login(clerk)
    if "date_of_birth" in changes:  # a birth after an arrival an hour ago: born later today
        changes["arrival_at"] = local(timezone.now() - timedelta(days=1))
        changes["injury_at"] = ""
    response = client.post("/intake/new/", form_data(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert words in " ".join(errors[field])
    assert "Not saved: correct the fields marked below." in response.content.decode()
    assert InboundMessage.objects.count() == 0 and Admission.objects.count() == 0


def test_the_form_has_no_default_mechanism(client, clerk):
    client.force_login(clerk)
    page = client.get("/intake/new/")
    assert page.context["form"]["mechanism"].value() in (None, "")


# ------------------------------------------------------------------ HL7: AE naming the field


@pytest.mark.parametrize(
    "kwargs, location",
    [
        ({"codes": ("S31.1", "BANANA")}, "DG1^2^3"),
        ({"patient_id": BAD_ID}, "PID^1^3"),
        ({"dob": "20991231"}, "PID^1^7"),
        ({"acc": "ACC|{injury}|X99.0"}, "ACC^1^1"),
    ],
)
def test_hl7_answers_ae_naming_the_field_and_makes_no_admission(api, feed, kwargs, location):
    arrival = timezone.now() - timedelta(hours=2)
    if "acc" in kwargs:
        later = timezone.localtime(arrival + timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
        kwargs["acc"] = kwargs["acc"].format(injury=later)
    if kwargs.get("dob"):
        kwargs["dob"] = timezone.localtime(arrival + timedelta(days=1)).strftime("%Y%m%d")
    raw = adt(control="R1", arrival=arrival, **kwargs)
    response = api(feed).post("/api/v1/intake/hl7/", data=raw, content_type="application/hl7-v2")
    ack = response.content.decode()
    assert response.status_code == 422
    assert msa(ack)[1] == "AE"
    assert err(ack).split("|")[2] == location
    assert InboundMessage.objects.get().status == "rejected"
    assert Admission.objects.count() == 0


# ------------------------------------------------------------------ CSV: the row report


def test_csv_lists_each_refused_row_with_its_field_and_keeps_the_good_one(api, clerk):
    arrival = timezone.localtime(timezone.now() - timedelta(days=1))
    at = arrival.strftime("%Y-%m-%d %H:%M")
    after = (arrival + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    header = "facility,visit_number,arrival_at,icd10_codes,patient_id,patient_id_type,date_of_birth,injury_at"
    rows = [
        f"tygerberg,OK1,{at},S31.1 X99.4,{GOOD_ID},NI,,",
        f"tygerberg,B1,{at},S31.1 X99.4,{GOOD_ID},NI,,{after}",
        f"tygerberg,B2,{at},S31.1 X99.4,{GOOD_ID},NI,{(arrival + timedelta(days=1)).date().isoformat()},",
        f"tygerberg,B3,{at},BANANA X99.4,{GOOD_ID},NI,,",
        f"tygerberg,B4,{at},S31.1 X99.4,{BAD_ID},NI,,",
    ]
    text = "\n".join([header, *rows]) + "\n"
    response = api(clerk).post(
        "/api/v1/intake/csv/",
        {"file": SimpleUploadedFile("b.csv", text.encode(), "text/csv")},
        format="multipart",
    )
    assert response.status_code == 201
    report = response.json()
    assert report["accepted"] == 1
    assert [(p["row"], p["field"]) for p in report["problems"]] == [
        (3, "injury_at"),
        (4, "date_of_birth"),
        (5, "icd10_codes"),
        (6, "patient_id"),
    ]


# ------------------------------------------------------------------ FHIR: 4xx naming the element


@pytest.mark.parametrize(
    "kwargs, element",
    [
        ({"codes": ("S21.1", "banana")}, "Condition[1].code.coding.code"),
        ({"patient_id": BAD_ID}, "Patient.identifier"),
    ],
)
def test_fhir_answers_422_naming_the_element(api, feed, kwargs, element):
    body = json.dumps(bundle(**kwargs))
    response = api(feed).post("/api/v1/intake/fhir/", data=body, content_type="application/fhir+json")
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == [element]
    assert Admission.objects.count() == 0
