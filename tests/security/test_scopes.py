"""Issue 10 finding 2: every role reaches exactly the scope DESIGN.md gives it, whatever the entry point.

Each test reproduces one case of the probe (an NPA liaison reading and deciding every docket in the
province, enrolling another station's docket, a supervisor convicting, a SAPS liaison recording an
incident outside its precincts, gang assertions on unseen incidents) and the admin edit of finding 7.
"""

import pytest
from django.test import Client
from django.utils import timezone

from casework import permissions
from casework import services as cws
from casework.errors import InvalidInput, PermissionDenied
from casework.models import GangAssertion, Incident, PoliceCase, Prosecution, TransitionLog
from courtwatch.models import Hearing
from referrals.models import Referral

from .world import build_world, days_ago, sign_in


@pytest.fixture
def w(db):
    return build_world()


def test_an_npa_liaison_sees_only_dockets_referred_from_stations_its_courts_serve(w, api):
    npa = w.users["npa_liaison"]
    listed = {
        row["id"]
        for row in api(npa).get("/api/v1/police-cases/", {"state": "referred_to_npa"}).json()["results"]
    }
    assert listed == {w.a.police_case.pk}
    assert api(npa).get(f"/api/v1/police-cases/{w.b.police_case.pk}/").status_code == 404
    assert api(npa).get(f"/api/v1/police-cases/{w.a.police_case.pk}/").status_code == 200


@pytest.mark.parametrize("name", ["return_for_investigation", "decline_to_prosecute"])
def test_an_npa_liaison_cannot_decide_another_courts_docket(w, api, name):
    npa = w.users["npa_liaison"]
    case = w.b.police_case
    r = api(npa).post(
        f"/api/v1/police-cases/{case.pk}/transitions/{name}/",
        {"version": case.version, "reason": "statements missing"},
        format="json",
    )
    assert r.status_code == 404
    with pytest.raises(PermissionDenied):
        cws.POLICE_CASE_TRANSITIONS[name](case, actor=npa, version=case.version, reason="statements missing")
    assert PoliceCase.objects.get(pk=case.pk).state == "referred_to_npa"
    assert not TransitionLog.for_object(case).filter(transition=name).exists()


def test_an_npa_liaison_still_decides_a_docket_from_a_station_its_court_serves(w, api):
    case = w.a.police_case
    r = api(w.users["npa_liaison"]).post(
        f"/api/v1/police-cases/{case.pk}/transitions/return_for_investigation/",
        {"version": case.version, "reason": "statements missing"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["state"] == "investigating"


def test_an_npa_liaison_cannot_enrol_another_stations_docket_at_its_own_court(w, api):
    npa = w.users["npa_liaison"]
    body = {
        "police_case": w.b.police_case.pk,
        "court": w.a.court.code,
        "case_number": "RC 99/2025",
        "enrolled_on": days_ago(10).isoformat(),
        "accused": [{"name": "J. Accused"}],
    }
    r = api(npa).post("/api/v1/prosecutions/", body, format="json")
    assert r.status_code == 400 and "police_case" in r.json()["errors"]
    with pytest.raises(InvalidInput) as e:
        cws.prosecution_enrol(
            actor=npa,
            police_case=w.b.police_case,
            court=w.a.court,
            case_number="RC 99/2025",
            enrolled_on=days_ago(10),
            accused=[{"name": "J. Accused"}],
        )
    assert "police_case" in e.value.errors
    assert not Prosecution.objects.filter(case_number="RC 99/2025").exists()
    # Its own station's docket at its own court is fine.
    r = api(npa).post("/api/v1/prosecutions/", {**body, "police_case": w.a.police_case.pk}, format="json")
    assert r.status_code == 201, r.content


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("convict", {}),
        ("start_trial", {}),
        ("withdraw", {"reason": "witness_intimidated"}),
        ("strike_off", {"reason": "other"}),
    ],
)
def test_a_court_watch_supervisor_takes_no_case_transition(w, api, name, fields):
    supervisor = w.users["court_watch_supervisor"]
    p = w.a.prosecution
    r = api(supervisor).post(
        f"/api/v1/prosecutions/{p.pk}/transitions/{name}/", {"version": p.version, **fields}, format="json"
    )
    assert r.status_code == 403
    with pytest.raises(PermissionDenied):
        cws.PROSECUTION_TRANSITIONS[name](p, actor=supervisor, version=p.version, **fields)
    assert Prosecution.objects.get(pk=p.pk).state == p.state
    assert api(supervisor).get(f"/api/v1/prosecutions/{p.pk}/transitions/").json()["transitions"] == []


def test_a_court_watch_supervisor_cannot_move_a_case_by_recording_a_hearing(w, api):
    p = w.a.prosecution
    before = Hearing.objects.count()
    r = api(w.users["court_watch_supervisor"]).post(
        "/api/v1/hearings/",
        {"prosecution": p.pk, "date": days_ago(1).isoformat(), "type": "trial", "outcome": "convicted"},
        format="json",
    )
    assert r.status_code == 403
    assert Prosecution.objects.get(pk=p.pk).state == p.state
    assert Hearing.objects.count() == before


def test_a_court_watch_supervisor_still_assigns_briefs(w, api):
    brief = w.b.brief
    r = api(w.users["court_watch_supervisor"]).post(
        f"/api/v1/briefs/{brief.pk}/transitions/assign/",
        {"officer": w.users["court_watcher"].username, "version": brief.version},
        format="json",
    )
    assert r.status_code == 200, r.content


def test_a_saps_liaison_cannot_record_an_incident_outside_its_precincts(w, api):
    saps = w.users["saps_liaison"]
    body = {"occurred_at": "2025-04-19T22:10:00+02:00", "mechanism": "sharp", "suburb": w.b.suburb.code}
    before = Incident.objects.count()
    r = api(saps).post("/api/v1/incidents/", body, format="json")
    assert r.status_code == 403
    assert Incident.objects.count() == before
    r = api(saps).post("/api/v1/incidents/", {**body, "suburb": w.a.suburb.code}, format="json")
    assert r.status_code == 201


def test_an_npa_liaison_records_incidents_only_where_its_courts_serve(w):
    npa = w.users["npa_liaison"]
    assert permissions.may_create_incident(npa, w.a.suburb)
    assert not permissions.may_create_incident(npa, w.b.suburb)
    with pytest.raises(PermissionDenied):
        cws.incident_create(actor=npa, occurred_at=timezone.now(), suburb=w.b.suburb, mechanism="sharp")


def test_the_bulk_incident_path_checks_the_creators_scope_too(w):
    incident = Incident(occurred_at=timezone.now(), suburb=w.b.suburb, mechanism="sharp", place_type="")
    with pytest.raises(PermissionDenied):
        cws.incident_create_many(actor=w.users["saps_liaison"], incidents=[incident])


def test_a_docket_links_only_incidents_its_opener_can_see(w, api):
    saps = w.users["saps_liaison"]
    r = api(saps).post(
        "/api/v1/police-cases/",
        {
            "station": w.a.station.code,
            "cas_number": f"77/01/{days_ago(30).year}",
            "offence": "attempted_murder",
            "opened_on": days_ago(30).isoformat(),
            "incidents": [w.b.incident.pk],
        },
        format="json",
    )
    assert r.status_code == 400 and "incidents" in r.json()["errors"]
    with pytest.raises(InvalidInput):
        cws.police_case_open(
            actor=saps,
            station=w.a.station,
            cas_number=f"77/01/{days_ago(30).year}",
            offence=w.a.police_case.offence,
            opened_on=days_ago(30),
            incidents=[w.b.incident],
        )
    assert not PoliceCase.objects.filter(cas_serial=77).exists()


@pytest.mark.parametrize("role", ["saps_liaison", "npa_liaison", "health_capture", "committee_member"])
def test_gang_relatedness_is_asserted_only_on_an_incident_the_user_can_see(w, role):
    user = w.users[role]
    if role == "committee_member":
        # The committee sees the incidents of the matters in its review queue: both scopes.
        assert permissions.may_assert_gang_relatedness(user, w.b.incident)
        return
    assert permissions.may_assert_gang_relatedness(user, w.a.incident)
    assert not permissions.may_assert_gang_relatedness(user, w.b.incident)
    with pytest.raises(PermissionDenied):
        cws.incident_assert_gang_relatedness(
            incident=w.b.incident, actor=user, gang_related=True, basis="known gang members"
        )
    assert not GangAssertion.objects.filter(incident=w.b.incident).exists()


def test_roles_without_gang_assertions_cannot_assert_even_on_what_they_see(w):
    assert not permissions.may_assert_gang_relatedness(w.users["vpu_analyst"], w.a.incident)
    assert not permissions.may_assert_gang_relatedness(w.users["court_watch_supervisor"], w.a.incident)


# ------------------------------------------------------------------ finding 7: the admin


def test_the_admin_refuses_to_move_a_referral_to_another_station_and_back_date_it(w):
    referral = w.a.referral
    client = sign_in(Client(), w.users["admin"])
    url = f"/admin/referrals/referral/{referral.pk}/change/"
    assert client.get(url).status_code == 200  # readable
    r = client.post(
        url,
        {
            "admission": referral.admission_id,
            "station": w.b.station.pk,
            "created_at_0": "2020-01-01",
            "created_at_1": "00:00:00",
            "decline_reason": "",
        },
    )
    assert r.status_code == 403
    after = Referral.objects.get(pk=referral.pk)
    assert (after.station_id, after.created_at, after.version) == (
        referral.station_id,
        referral.created_at,
        referral.version,
    )
    assert not TransitionLog.for_object(referral).exclude(transition="refer").exists()


@pytest.mark.parametrize(
    "path",
    [
        "referrals/admission",
        "referrals/referral",
        "referrals/inboundmessage",
        "casework/policecase",
        "casework/prosecution",
        "casework/incident",
        "casework/transitionlog",
        "courtwatch/brief",
        "courtwatch/hearing",
        "courtwatch/withdrawalreview",
        "courtwatch/committeemeeting",
    ],
)
def test_the_admin_adds_and_deletes_no_record_that_changes_through_services(w, path):
    client = sign_in(Client(), w.users["admin"])
    assert client.get(f"/admin/{path}/").status_code == 200
    assert client.get(f"/admin/{path}/add/").status_code == 403


def test_reference_data_stays_editable_in_the_admin_and_courts_list_the_stations_they_serve(w):
    client = sign_in(Client(), w.users["admin"])
    page = client.get(f"/admin/casework/court/{w.a.court.pk}/change/")
    assert page.status_code == 200 and 'name="stations"' in page.content.decode()
    assert client.get("/admin/casework/suburb/add/").status_code == 200


def test_a_saps_liaison_moves_its_dockets_but_leaves_the_prosecutors_decisions_to_the_npa(w, api):
    saps = w.users["saps_liaison"]
    case = w.a.police_case
    for name in ("return_for_investigation", "decline_to_prosecute"):
        r = api(saps).post(
            f"/api/v1/police-cases/{case.pk}/transitions/{name}/",
            {"version": case.version, "reason": "no"},
            format="json",
        )
        assert r.status_code == 403
    assert PoliceCase.objects.get(pk=case.pk).state == "referred_to_npa"
    opened = w.a.enrolled_case
    r = api(saps).post(
        f"/api/v1/police-cases/{opened.pk}/transitions/investigate/",
        {"version": opened.version},
        format="json",
    )
    assert r.status_code == 200
