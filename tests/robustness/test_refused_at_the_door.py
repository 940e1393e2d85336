"""Issue 11, finding 1: bad input is refused at the door with a 4xx naming the field, never a 500, and
nothing is written (casework/inputs.py, docs/security.md "Refused at the door")."""

import json
from datetime import date

import pytest

from casework import permissions as roles
from casework.models import TransitionLog
from reporting.models import Subscription
from tests.factories import CourtFactory, ProsecutionFactory

pytestmark = pytest.mark.django_db

CONTROL = "Control characters (such as NUL) are not allowed."


@pytest.fixture
def court():
    return CourtFactory(name="Wynberg Regional Court")


@pytest.fixture
def npa(make_user, court):
    return make_user(roles.NPA_LIAISON, grants=[court])


@pytest.fixture
def prosecution(court):
    return ProsecutionFactory(court=court)


@pytest.fixture
def manager(make_user):
    return make_user(roles.MANAGER, username="manager-m", email="m@example.org")


@pytest.fixture
def analyst(make_user):
    return make_user(roles.VPU_ANALYST, username="analyst-a")


# ------------------------------------------------------------------ NUL and control characters


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/police-cases/?state=%00",
        "/api/v1/prosecutions/?state=abc%00def",
        "/api/v1/facilities/?x%00=1",
        "/api/v1/briefs/?state=%1B",
    ],
)
def test_a_nul_or_control_character_in_an_api_filter_is_a_400_naming_the_parameter(api, npa, url):
    r = api(npa).get(url)
    assert r.status_code == 400
    body = r.json()
    assert body["detail"].startswith("Invalid input: ")
    assert list(body["errors"].values()) == [[CONTROL]]


def test_a_nul_in_an_api_filter_names_the_parameter(api, npa):
    r = api(npa).get("/api/v1/police-cases/?state=%00")
    assert r.json() == {"detail": "Invalid input: state.", "errors": {"state": [CONTROL]}}


def test_a_nul_in_an_api_path_parameter_is_a_400_naming_the_path(api, npa):
    r = api(npa).get("/api/v1/facilities/1%00/")
    assert r.status_code == 400
    assert r.json()["errors"] == {"path": [CONTROL]}


def test_a_nul_in_a_page_filter_is_a_400_page_naming_the_parameter(client, npa):
    client.force_login(npa)
    r = client.get("/cases/?state=%00")
    assert r.status_code == 400
    assert "text/html" in r["Content-Type"]
    page = r.content.decode()
    assert "<strong>state</strong>" in page and "Control characters" in page
    assert "Content-Security-Policy" in r  # the same headers as every page


def test_a_nul_in_a_page_path_is_a_400_page(client, npa):
    client.force_login(npa)
    r = client.get("/intake/admissions/1%00/")
    assert r.status_code == 400
    assert "<strong>path</strong>" in r.content.decode()


def test_a_meeting_member_with_a_nul_is_refused_naming_the_member_and_no_meeting_is_made(api, make_user):
    from courtwatch.models import CommitteeMeeting

    member = make_user(roles.COMMITTEE_MEMBER, username="member-1")
    r = api(member).post(
        "/api/v1/meetings/", {"date": "2026-01-10", "members": ["member-1\x00"]}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {"members[0]": [CONTROL]}
    assert CommitteeMeeting.objects.count() == 0


def test_a_form_field_with_a_nul_is_a_400_page_and_nothing_is_written(client, manager):
    client.force_login(manager)
    r = client.post(
        "/reports/subscriptions/",
        {"report": "conviction_rate\x00", "frequency": "monthly", "group_by": "court"},
    )
    assert r.status_code == 400
    assert "<strong>report</strong>" in r.content.decode()
    assert Subscription.objects.count() == 0


# ------------------------------------------------------------------ digits that are not ASCII


@pytest.mark.parametrize(
    "url, name",
    [
        ("/api/v1/prosecutions/?police_case=²", "police_case"),
        ("/api/v1/briefs/?prosecution=²", "prosecution"),
        ("/api/v1/hearings/?prosecution=١٢", "prosecution"),
    ],
)
def test_an_id_written_with_non_ascii_digits_is_a_400_naming_the_parameter(api, npa, url, name):
    r = api(npa).get(url)
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [name]


def test_a_case_search_for_a_superscript_two_finds_nothing_instead_of_failing(client, npa):
    client.force_login(npa)
    assert client.get("/cases/?q=²").status_code == 200


def test_an_admission_list_before_a_superscript_two_is_the_first_page(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/intake/admissions/?before=²").status_code == 200


@pytest.mark.parametrize("weeks", ["²", "١٢", "-3", "99"])
def test_hotspot_weeks_that_are_not_ascii_digits_from_1_to_52_are_a_400_naming_weeks(
    client, api, analyst, weeks
):
    r = api(analyst).get("/api/v1/dashboard/hotspots/", {"weeks": weeks})
    assert r.status_code == 400 and list(r.json()["errors"]) == ["weeks"]
    client.force_login(analyst)
    r = client.get("/reports/hotspots/", {"weeks": weeks})
    assert r.status_code == 400 and "<strong>weeks</strong>" in r.content.decode()


# ------------------------------------------------------------------ dates that overflow


REPORT_APIS = [
    "/api/v1/reports/conviction-rate/",
    "/api/v1/reports/attrition/",
    "/api/v1/reports/removals/",
    "/api/v1/reports/re-enrolment/",
    "/api/v1/reports/unknown-to-police/",
    "/api/v1/dashboard/incidents/",
]
REPORT_PAGES = [
    "/reports/conviction-rate/",
    "/reports/removals/",
    "/reports/re-enrolment/",
    "/reports/attrition/",
    "/reports/unknown-to-police/",
    "/reports/dashboard/",
    "/reports/dashboard/chart.csv",
]


@pytest.mark.parametrize("url", REPORT_APIS)
@pytest.mark.parametrize(
    "param, value", [("to", "9999-12-31"), ("from", "0001-01-01"), ("from", "1899-12-31")]
)
def test_a_report_date_outside_1900_to_today_is_a_400_naming_it(api, analyst, url, param, value):
    r = api(analyst).get(url, {param: value})
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [param]
    assert r.json()["errors"][param][0].startswith("A date from 1900-01-01 to today")


@pytest.mark.parametrize("url", REPORT_PAGES)
def test_a_report_page_to_9999_12_31_is_a_400_page_naming_to(client, analyst, url):
    client.force_login(analyst)
    r = client.get(url, {"to": "9999-12-31"})
    assert r.status_code == 400
    assert "<strong>to</strong>" in r.content.decode()


def test_a_report_from_1900_to_today_is_answered(api, analyst):
    r = api(analyst).get("/api/v1/reports/attrition/", {"from": "1900-01-01", "to": date.today().isoformat()})
    assert r.status_code == 400  # more than 20 years: refused for its length, naming from
    assert list(r.json()["errors"]) == ["from"]
    r = api(analyst).get("/api/v1/reports/attrition/", {"from": "2020-01-01", "to": date.today().isoformat()})
    assert r.status_code == 200


@pytest.mark.parametrize("month", ["0-01", "9999-12", "2025-13", "²-01", "2025-٣"])
def test_an_extract_month_out_of_range_is_a_400_naming_month(client, analyst, month):
    client.force_login(analyst)
    r = client.get("/reports/extract/", {"facility": "tygerberg", "month": month})
    assert r.status_code == 400
    assert "<strong>month</strong>" in r.content.decode()


# ------------------------------------------------------------------ JSON bodies


def test_json_nested_thousands_deep_is_a_400_and_nothing_is_written(api, npa, prosecution):
    body = "[" * 5000 + "]" * 5000
    r = api(npa).post(
        f"/api/v1/prosecutions/{prosecution.pk}/transitions/remand/", body, content_type="application/json"
    )
    assert r.status_code == 400
    assert "nested deeper than 32 levels" in r.json()["detail"]
    assert TransitionLog.objects.count() == 0


def test_a_json_object_nested_forty_deep_is_a_400(api, npa):
    body = {"date": "2026-01-10"}
    for _ in range(40):
        body = {"x": body}
    r = api(npa).post("/api/v1/meetings/", body, format="json")
    assert r.status_code == 400


def test_a_json_body_over_a_megabyte_is_a_400(api, npa, prosecution):
    body = json.dumps({"version": 1, "note": "x" * (1024 * 1024)})
    r = api(npa).post(
        f"/api/v1/prosecutions/{prosecution.pk}/transitions/remand/", body, content_type="application/json"
    )
    assert r.status_code == 400
    assert "larger than" in r.json()["detail"]


@pytest.mark.parametrize("body", ["[]", "null", "12", '"x"', "true"])
def test_a_transition_body_that_is_not_a_json_object_is_a_422_and_nothing_changes(
    api, npa, prosecution, body
):
    r = api(npa).post(
        f"/api/v1/prosecutions/{prosecution.pk}/transitions/remand/", body, content_type="application/json"
    )
    assert r.status_code == 422
    assert list(r.json()["errors"]) == ["non_field_errors"]
    prosecution.refresh_from_db()
    assert prosecution.version == 1
    assert TransitionLog.objects.count() == 0


@pytest.mark.parametrize("version", ["1e999", "-1e999", "1.5", "true", '"²"', "99999999999999999999999"])
def test_a_transition_version_that_is_no_whole_number_is_a_422_naming_version(api, npa, prosecution, version):
    r = api(npa).post(
        f"/api/v1/prosecutions/{prosecution.pk}/transitions/remand/",
        f'{{"version": {version}, "next_date": "2026-03-01"}}',
        content_type="application/json",
    )
    assert r.status_code == 422
    assert list(r.json()["errors"]) == ["version"]
    assert TransitionLog.objects.count() == 0


def test_nan_in_json_is_a_400(api, npa, prosecution):
    r = api(npa).post(
        f"/api/v1/prosecutions/{prosecution.pk}/transitions/remand/",
        '{"version": NaN}',
        content_type="application/json",
    )
    assert r.status_code == 400


# ------------------------------------------------------------------ subscriptions


def test_cancelling_subscription_abc_is_a_404_and_nothing_is_cancelled(client, manager):
    client.force_login(manager)
    r = client.post(
        "/reports/subscriptions/", {"report": "conviction_rate", "frequency": "monthly", "group_by": "court"}
    )
    assert r.status_code == 302
    for cancel in ("abc", "²", "1e999"):
        assert client.post("/reports/subscriptions/", {"cancel": cancel}).status_code == 404
    assert Subscription.objects.get(user=manager).active


# ------------------------------------------------------------------ HL7 over HTTP


def test_an_hl7_control_id_with_a_nul_over_http_is_answered_ae_naming_msh_10_and_kept_escaped(
    api, make_sender
):
    from casework.models import Facility
    from referrals.models import InboundMessage
    from tests.referrals.helpers import adt, err, msa

    sender = make_sender(facilities=[Facility.objects.get(code="tygerberg")])
    raw = adt(control="MSG\x000001")
    r = api(sender.account).post("/api/v1/intake/hl7/", data=raw, content_type="application/hl7-v2")
    assert r.status_code == 422
    ack = r.content.decode()
    assert msa(ack)[1] == "AE"
    assert "MSH-10" in err(ack)
    kept = InboundMessage.objects.get()
    assert kept.status == "rejected"
    assert kept.control_id == "MSG\\X00\\0001"
    assert "MSG\\X00\\0001" in kept.raw


def test_a_nul_in_the_visit_number_is_answered_ae_naming_pv1_19_and_nothing_is_processed(api, make_sender):
    from casework.models import Facility
    from referrals.models import Admission, InboundMessage
    from tests.referrals.helpers import adt, err, msa

    sender = make_sender(facilities=[Facility.objects.get(code="tygerberg")])
    r = api(sender.account).post(
        "/api/v1/intake/hl7/", data=adt(visit="V\x00001"), content_type="application/hl7-v2"
    )
    assert msa(r.content.decode())[1] == "AE"
    assert "PV1-19" in err(r.content.decode())
    assert InboundMessage.objects.get().status == "rejected"
    assert Admission.objects.count() == 0


def test_a_csv_cell_with_a_nul_is_listed_as_a_problem_not_a_500(api, make_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from casework.models import Facility
    from referrals.models import Admission

    clerk = make_user(roles.HEALTH_CAPTURE, grants=[Facility.objects.get(code="tygerberg")])
    header = "facility,visit_number,arrival_at,icd10_codes,patient_id,patient_id_type,sex,age_years,suburb\n"
    text = header + "tygerberg,CSV\x001,2025-06-01 10:00,S31.1 X99.4,9001015009086,NI,M,23,tafelsig\n"
    r = api(clerk).post(
        "/api/v1/intake/csv/",
        {"file": SimpleUploadedFile("nul.csv", text.encode(), "text/csv")},
        format="multipart",
    )
    assert r.status_code in (400, 422)
    assert "visit_number" in r.content.decode()
    assert Admission.objects.count() == 0


def test_a_fhir_bundle_with_a_nul_in_a_string_is_refused_not_a_500(api, make_sender):
    from casework.models import Facility
    from referrals.models import Admission
    from tests.referrals.helpers import as_json, bundle

    sender = make_sender(facilities=[Facility.objects.get(code="tygerberg")])
    body = as_json(bundle(visit="F\x000001"))
    r = api(sender.account).post("/api/v1/intake/fhir/", data=body, content_type="application/fhir+json")
    assert r.status_code in (400, 422)
    assert Admission.objects.count() == 0


def test_a_fhir_body_nested_thousands_deep_or_with_a_raw_nul_is_refused_not_a_500(api, make_sender):
    from casework.models import Facility
    from referrals.models import Admission

    sender = make_sender(facilities=[Facility.objects.get(code="tygerberg")])
    for body in (
        '{"resourceType": "Bundle", "x": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"resourceType": "Bun\x00dle"}',
    ):
        r = api(sender.account).post("/api/v1/intake/fhir/", data=body, content_type="application/fhir+json")
        assert r.status_code in (400, 422)
    assert Admission.objects.count() == 0


def test_a_broken_multipart_body_is_a_400_naming_the_body(api, make_user):
    clerk = make_user(roles.HEALTH_CAPTURE)
    r = api(clerk).generic(
        "POST",
        "/api/v1/intake/csv/",
        b"--xyz\r\nContent-Disposition: form-data; name=\r\n\r\nbroken",
        content_type="multipart/form-data; boundary=xyz",
    )
    assert r.status_code == 400
