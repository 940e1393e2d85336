"""Implausible values are refused at the door, naming the field, with nothing written (issue 11, finding 3):
the bounds of ``casework.plausible`` on the API's creates and transitions, the pages' forms and CSV intake."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from casework import permissions as cw
from casework.models import Accused, Incident, PoliceCase, Prosecution, TransitionLog
from courtwatch.models import CommitteeMeeting, Hearing
from referrals.models import InboundMessage, StagedRow
from referrals.parsing import CSV_HEADER
from tests.factories import (
    CourtFactory,
    IncidentFactory,
    OffenceFactory,
    PoliceCaseFactory,
    ProsecutionFactory,
    StationFactory,
    SuburbFactory,
    set_state,
)

pytestmark = pytest.mark.django_db

MEGABYTE = "x" * 1_000_000


def in_years(years: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=365 * years + 1)).isoformat()


def log_rows():
    return TransitionLog.objects.count()


@pytest.fixture
def station():
    return StationFactory()


@pytest.fixture
def saps(make_user, station):
    return make_user(cw.SAPS_LIAISON, grants=[station])


@pytest.fixture
def court():
    return CourtFactory()


@pytest.fixture
def npa(make_user, court):
    return make_user(cw.NPA_LIAISON, grants=[court])


@pytest.fixture
def members(make_user):
    return [make_user(cw.COMMITTEE_MEMBER, username=f"member-{i}") for i in (1, 2)]


# ------------------------------------------------------------------ incidents and dockets


def incident_body(station, **change):
    return {
        "occurred_at": "2025-04-19T22:10:00+02:00",
        "suburb": SuburbFactory(station=station).code,
        "mechanism": "firearm",
        **change,
    }


@pytest.mark.parametrize(
    "change, field",
    [
        ({"occurred_at": "0001-01-01T00:00:00+02:00"}, "occurred_at"),
        ({"occurred_at": "0001-06-01T12:00:00Z"}, "occurred_at"),
        ({"occurred_at": "1899-12-31T23:00:00+02:00"}, "occurred_at"),
        ({"occurred_at": "9999-12-31T23:00:00+02:00"}, "occurred_at"),
        ({"gang_related": True, "gang_basis": MEGABYTE}, "gang_basis"),
    ],
)
def test_an_implausible_incident_is_refused_naming_the_field(api, saps, station, change, field):
    r = api(saps).post("/api/v1/incidents/", incident_body(station, **change), format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"]
    assert not Incident.objects.exists()


def test_an_incident_of_last_night_is_still_accepted(api, saps, station):
    yesterday = (timezone.now() - datetime.timedelta(hours=20)).isoformat()
    r = api(saps).post("/api/v1/incidents/", incident_body(station, occurred_at=yesterday), format="json")
    assert r.status_code == 201, r.content


def docket_body(station, **change):
    OffenceFactory(code="murder")
    return {
        "station": station.code,
        "cas_number": "123/04/2025",
        "offence": "murder",
        "opened_on": "2025-04-20",
        "incidents": [IncidentFactory(suburb__station=station).pk],
        **change,
    }


@pytest.mark.parametrize("opened_on", ["0001-01-01", in_years(1)])
def test_a_docket_opened_in_year_1_or_in_the_future_is_refused(api, saps, station, opened_on):
    r = api(saps).post("/api/v1/police-cases/", docket_body(station, opened_on=opened_on), format="json")
    assert r.status_code == 400 and "opened_on" in r.json()["errors"]
    assert not PoliceCase.objects.exists()


def test_a_docket_with_more_than_100_incidents_is_refused_before_any_is_looked_up(
    api, saps, station, django_assert_max_num_queries
):
    incident = IncidentFactory(suburb__station=station)
    body = docket_body(station, incidents=[incident.pk] * 5_000)
    with django_assert_max_num_queries(20):
        r = api(saps).post("/api/v1/police-cases/", body, format="json")
    assert r.status_code == 400 and "incidents" in r.json()["errors"]
    assert not PoliceCase.objects.exists()


# ------------------------------------------------------------------ prosecutions


def prosecution_body(court, **change):
    case = PoliceCaseFactory()
    court.stations.add(case.station)
    set_state(case, "referred_to_npa")
    return {
        "police_case": case.pk,
        "court": court.code,
        "case_number": "RC 12/2025",
        "enrolled_on": "2025-05-02",
        "accused": [{"name": "J. Accused"}],
        **change,
    }


@pytest.mark.parametrize(
    "change, field",
    [
        ({"accused": [{"name": f"Accused {n}"} for n in range(5_000)]}, "accused"),
        ({"accused": [{"name": MEGABYTE}]}, "accused"),
        ({"enrolled_on": "0001-01-01"}, "enrolled_on"),
        ({"enrolled_on": "9999-12-31"}, "enrolled_on"),
        ({"case_number": MEGABYTE}, "case_number"),
    ],
)
def test_an_implausible_prosecution_is_refused_naming_the_field(api, npa, court, change, field):
    r = api(npa).post("/api/v1/prosecutions/", prosecution_body(court, **change), format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"]
    assert (Prosecution.objects.count(), Accused.objects.count()) == (0, 0)


def test_a_prosecution_of_fifty_accused_is_still_accepted(api, npa, court):
    accused = [{"name": f"Accused {n}"} for n in range(50)]
    r = api(npa).post("/api/v1/prosecutions/", prosecution_body(court, accused=accused), format="json")
    assert r.status_code == 201, r.content
    assert Accused.objects.count() == 50


# ------------------------------------------------------------------ transitions (the append-only log)


def remand(api, user, p, **change):
    body = {"version": 1, "reason": "docket_not_at_court", "next_date": in_years(0), "note": "", **change}
    return api(user).post(f"/api/v1/prosecutions/{p.pk}/transitions/remand/", body, format="json")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"note": MEGABYTE}, "note"),
        ({"next_date": "9999-12-31"}, "next_date"),
        ({"next_date": "0001-01-01"}, "next_date"),
        ({"next_date": in_years(3)}, "next_date"),
    ],
)
def test_an_implausible_transition_field_answers_422_and_nothing_reaches_the_log(
    api, npa, court, change, field
):
    p = ProsecutionFactory(court=court)
    before = log_rows()
    r = remand(api, npa, p, **change)
    assert r.status_code == 422, r.content
    assert field in r.json()["errors"]
    assert log_rows() == before
    assert Prosecution.objects.get(pk=p.pk).version == 1


def test_a_four_thousand_character_note_and_a_date_next_year_are_still_logged(api, npa, court):
    p = ProsecutionFactory(court=court)
    r = remand(api, npa, p, note="n" * 4_000, next_date=in_years(1))
    assert r.status_code == 200, r.content
    assert TransitionLog.objects.filter(note="n" * 4_000).count() == 1


def test_a_megabyte_note_on_the_case_page_is_a_form_error(client, npa, court):
    p = ProsecutionFactory(court=court)
    client.force_login(npa)
    before = log_rows()
    r = client.post(
        f"/prosecutions/{p.pk}/transitions/remand/",
        {
            "version": 1,
            "remand-reason": "docket_not_at_court",
            "remand-next_date": in_years(0),
            "remand-note": MEGABYTE,
        },
    )
    assert r.status_code in (200, 400, 422)
    assert "at most 4000 characters" in r.content.decode().replace(",", "")
    assert log_rows() == before


# ------------------------------------------------------------------ meetings and hearings


@pytest.mark.parametrize(
    "change, field",
    [
        ({"date": "0001-01-01"}, "date"),
        ({"date": "9999-12-31"}, "date"),
        ({"members": [f"member-{n}" for n in range(5_000)]}, "members"),
    ],
)
def test_an_implausible_meeting_is_refused_naming_the_field(api, members, change, field):
    body = {"date": in_years(0), "members": [m.username for m in members], **change}
    r = api(members[0]).post("/api/v1/meetings/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"]
    assert not CommitteeMeeting.objects.exists()


def test_a_meeting_next_month_is_still_called(api, members):
    body = {"date": in_years(0), "members": [m.username for m in members]}
    assert api(members[0]).post("/api/v1/meetings/", body, format="json").status_code == 201


def test_a_meeting_in_the_year_9999_on_the_page_is_a_form_error(client, members):
    client.force_login(members[0])
    r = client.post("/courtwatch/meetings/", {"date": "9999-12-31", "members": [members[0].username]})
    assert "more than 2 years ahead" in r.content.decode()
    assert not CommitteeMeeting.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"outcome": "postponed", "reason": MEGABYTE, "next_date": in_years(0)}, "reason"),
        ({"outcome": "postponed", "reason": "witness_absent", "next_date": "9999-12-31"}, "next_date"),
        ({"outcome": "diverted", "programme": MEGABYTE}, "programme"),
        (
            {"outcome": "postponed", "reason": "witness_absent", "next_date": in_years(0), "note": MEGABYTE},
            "note",
        ),
    ],
)
def test_an_implausible_hearing_is_refused_naming_the_field(api, make_user, court, change, field):
    watcher = make_user(cw.ADMIN)
    p = ProsecutionFactory(court=court)
    before = (Hearing.objects.count(), log_rows())
    body = {"prosecution": p.pk, "date": timezone.localdate().isoformat(), "type": "remand", **change}
    r = api(watcher).post("/api/v1/hearings/", body, format="json")
    assert r.status_code in (400, 422), r.content
    assert field in r.json()["errors"]
    assert (Hearing.objects.count(), log_rows()) == before


# ------------------------------------------------------------------ CSV intake


def test_a_csv_cell_over_131072_characters_is_refused_not_a_server_error(api, make_user):
    from casework.models import Facility

    clerk = make_user("health_capture", grants=[Facility.objects.get(code="tygerberg")])
    row = dict.fromkeys(CSV_HEADER, "")
    row.update(facility="tygerberg", visit_number="V" * 200_000, icd10_codes="X99.4")
    text = ",".join(CSV_HEADER) + "\n" + ",".join(row[c] for c in CSV_HEADER) + "\n"
    r = api(clerk).post(
        "/api/v1/intake/csv/",
        {"file": SimpleUploadedFile("big.csv", text.encode(), "text/csv")},
        format="multipart",
    )
    assert r.status_code < 500, r.content
    assert "csv" in str(r.json())
    assert not StagedRow.objects.exists()
    assert InboundMessage.objects.get().status == "rejected"


# ------------------------------------------------------------------ the capture form


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "1899-05-05T10:00", "9999-12-31T23:59"])
def test_the_capture_form_refuses_an_arrival_or_injury_outside_1900_to_now(moment):
    from casework.models import Facility
    from referrals.forms import CaptureForm

    form = CaptureForm(
        {
            "facility": "tygerberg",
            "visit_number": "V1",
            "arrival_at": moment,
            "injury_at": moment,
            "date_of_birth": "0001-01-01",
            "mechanism": "firearm",
            "patient_id": "1",
            "patient_id_type": "MR",
            "sex": "M",
            "role": "victim",
        },
        facilities=Facility.objects.all(),
    )
    assert not form.is_valid()
    assert {"arrival_at", "injury_at", "date_of_birth"} <= set(form.errors)


@pytest.mark.parametrize("hours", [-12, 2, 14])
@pytest.mark.parametrize("year", [1, 9999])
def test_a_time_in_year_1_or_9999_in_any_offset_is_refused_not_an_overflow(year, hours):
    from django.core.exceptions import ValidationError

    from casework import plausible

    zone = datetime.timezone(datetime.timedelta(hours=hours))
    moment = datetime.datetime(year, 1 if year == 1 else 12, 1 if year == 1 else 31, tzinfo=zone)
    for check in (plausible.past_fact, plausible.future_facing):
        with pytest.raises(ValidationError):
            check(moment)
