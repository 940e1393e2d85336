"""The REST contract of DESIGN.md: creates, transitions (200/400/403/409/422), history, scoping."""

import pytest

from casework.models import Accused, Incident, PoliceCase, Prosecution, TransitionLog
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


def cas_payload(station, **overrides):
    OffenceFactory(code="murder", name="Murder")
    payload = {
        "station": station.code,
        "cas_number": "123/04/2025",
        "offence": "murder",
        "opened_on": "2025-04-20",
        "incidents": [IncidentFactory(suburb__station=station).pk],
    }
    payload.update(overrides)
    return payload


# ------------------------------------------------------------------ incidents


def test_a_liaison_records_an_incident(api, saps, station):
    suburb = SuburbFactory(station=station)
    r = api(saps).post(
        "/api/v1/incidents/",
        {
            "occurred_at": "2025-04-19T22:10:00+02:00",
            "suburb": suburb.code,
            "mechanism": "firearm",
            "gang_related": True,
            "fatal": True,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    incident = Incident.objects.get(pk=r.json()["id"])
    assert (incident.mechanism, incident.fatal, incident.gang_related) == ("firearm", True, True)
    assert incident.gang_assertions.get().source == "saps"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mechanism", "knife"),
        ("suburb", "atlantis"),
        ("occurred_at", "last tuesday"),
        ("fatal", "perhaps"),
        ("occurred_at", "2099-01-01T00:00:00Z"),
    ],
)
def test_an_incident_with_a_bad_field_is_refused_naming_it(api, saps, station, field, value):
    payload = {
        "occurred_at": "2025-04-19T22:10:00+02:00",
        "suburb": SuburbFactory(station=station).code,
        "mechanism": "firearm",
        field: value,
    }
    r = api(saps).post("/api/v1/incidents/", payload, format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert not Incident.objects.exists()


def test_a_manager_cannot_record_incidents(api, make_user, station):
    r = api(make_user("manager")).post(
        "/api/v1/incidents/",
        {
            "occurred_at": "2025-04-19T22:10:00+02:00",
            "suburb": SuburbFactory(station=station).code,
            "mechanism": "sharp",
        },
        format="json",
    )
    assert r.status_code == 403
    assert not Incident.objects.exists()


# ------------------------------------------------------------------ police cases


def test_a_saps_liaison_opens_a_docket_with_a_cas_number(api, saps, station):
    r = api(saps).post("/api/v1/police-cases/", cas_payload(station), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["state"], body["version"], body["cas_number"], body["station"]) == (
        "opened",
        1,
        "123/04/2025",
        station.code,
    )
    assert TransitionLog.for_object(PoliceCase.objects.get()).get().transition == "open"


@pytest.mark.parametrize(
    "cas",
    [
        "123-04-2025",
        "0/04/2025",
        "100000/04/2025",
        "12/13/2025",
        "12/00/2025",
        "12/04/1999",
        "12/04/2999",
        "",
        "abc",
    ],
)
def test_a_malformed_cas_number_is_refused_naming_it(api, saps, station, cas):
    r = api(saps).post("/api/v1/police-cases/", cas_payload(station, cas_number=cas), format="json")
    assert r.status_code == 400
    assert (
        "cas_number" in r.json()["errors" if "errors" in r.json() else "cas_number" and "cas_number"]
        or "cas_number" in r.json()
    )
    assert not PoliceCase.objects.exists()


def test_a_duplicate_cas_number_at_the_same_station_is_refused(api, saps, station):
    assert api(saps).post("/api/v1/police-cases/", cas_payload(station), format="json").status_code == 201
    r = api(saps).post("/api/v1/police-cases/", cas_payload(station, cas_number="123/4/2025"), format="json")
    assert r.status_code == 400
    assert "already exists" in str(r.json()["errors"]["cas_number"])
    assert PoliceCase.objects.count() == 1


def test_the_same_cas_number_may_exist_at_another_station(make_user, api, station):
    other = StationFactory()
    admin = make_user("admin")
    assert api(admin).post("/api/v1/police-cases/", cas_payload(station), format="json").status_code == 201
    assert api(admin).post("/api/v1/police-cases/", cas_payload(other), format="json").status_code == 201


def test_an_unknown_station_or_offence_is_refused(api, saps, station):
    r = api(saps).post("/api/v1/police-cases/", {**cas_payload(station), "station": "nowhere"}, format="json")
    assert r.status_code == 400 and "station" in r.json()["errors"]
    r = api(saps).post("/api/v1/police-cases/", cas_payload(station, offence="jaywalking"), format="json")
    assert r.status_code == 400 and "offence" in r.json()["errors"]
    assert not PoliceCase.objects.exists()


def test_a_liaison_cannot_open_a_docket_at_a_station_not_theirs(api, saps, station):
    r = api(saps).post("/api/v1/police-cases/", cas_payload(StationFactory(), incidents=[]), format="json")
    assert r.status_code == 403
    assert not PoliceCase.objects.exists()


# ------------------------------------------------------------------ prosecutions


def test_an_npa_liaison_enrols_a_prosecution(api, npa, court):
    case = PoliceCaseFactory()
    court.stations.add(case.station)  # the court serves the docket's station
    set_state(case, "referred_to_npa")
    r = api(npa).post(
        "/api/v1/prosecutions/",
        {
            "police_case": case.pk,
            "court": court.code,
            "case_number": "RC 12/2025",
            "enrolled_on": "2025-05-02",
            "accused": [{"name": "J. Accused"}, {"name": "K. Accused"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["state"], body["version"], body["case_number"]) == ("enrolled", 1, "RC 12/2025")
    assert [a["name"] for a in body["accused"]] == ["J. Accused", "K. Accused"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"court": "nowhere"}, "court"),
        ({"accused": []}, "accused"),
        ({"accused": [{"name": ""}]}, "accused"),
        ({"enrolled_on": "02/05/2025"}, "enrolled_on"),
        ({"case_number": ""}, "case_number"),
        ({"police_case": "x"}, "police_case"),
    ],
)
def test_a_prosecution_with_a_bad_field_is_refused_naming_it(api, npa, court, change, field):
    case = PoliceCaseFactory()
    court.stations.add(case.station)
    set_state(case, "referred_to_npa")
    payload = {
        "police_case": case.pk,
        "court": court.code,
        "case_number": "RC 12/2025",
        "enrolled_on": "2025-05-02",
        "accused": [{"name": "J. Accused"}],
    }
    payload.update(change)
    r = api(npa).post("/api/v1/prosecutions/", payload, format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert not Prosecution.objects.exists() and not Accused.objects.exists()


def test_a_duplicate_court_case_number_is_refused(api, npa, court):
    ProsecutionFactory(court=court, case_number="RC 12/2025")
    case = PoliceCaseFactory()
    court.stations.add(case.station)
    set_state(case, "referred_to_npa")
    r = api(npa).post(
        "/api/v1/prosecutions/",
        {
            "police_case": case.pk,
            "court": court.code,
            "case_number": "rc 12/2025",
            "enrolled_on": "2025-05-02",
            "accused": [{"name": "J"}],
        },
        format="json",
    )
    assert r.status_code == 400 and "case_number" in r.json()["errors"]
    assert Prosecution.objects.count() == 1
    assert not Accused.objects.filter(name="J").exists()
    case.refresh_from_db()
    assert case.state == "referred_to_npa"
    assert Prosecution.objects.count() == 1


# ------------------------------------------------------------------ transitions


def remand_body(version=1, **extra):
    return {
        "version": version,
        "reason": "docket_not_at_court",
        "next_date": "2025-03-14",
        "note": "docket not at court",
        **extra,
    }


def test_a_transition_answers_the_updated_object_and_writes_history(api, npa, court):
    p = ProsecutionFactory(court=court)
    r = api(npa).post(f"/api/v1/prosecutions/{p.pk}/transitions/remand/", remand_body(), format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["state"], r.json()["version"], r.json()["next_appearance"]) == (
        "remanded",
        2,
        "2025-03-14",
    )
    history = api(npa).get(f"/api/v1/prosecutions/{p.pk}/history/").json()
    assert [
        (h["transition"], h["from_state"], h["to_state"], h["actor"], h["reason"], h["note"]) for h in history
    ] == [("remand", "enrolled", "remanded", npa.username, "docket_not_at_court", "docket not at court")]


def test_the_available_transitions_are_those_of_the_state_and_the_user(api, npa, court, make_user):
    p = ProsecutionFactory(court=court)
    set_state(p, "trial")
    names = {
        t["name"] for t in api(npa).get(f"/api/v1/prosecutions/{p.pk}/transitions/").json()["transitions"]
    }
    assert names == {"convict", "acquit", "withdraw", "issue_warrant"}
    watcher = make_user("court_watcher")
    assert api(watcher).get(f"/api/v1/prosecutions/{p.pk}/transitions/").status_code == 404


def test_a_transition_not_allowed_from_the_state_is_a_400_listing_the_allowed_ones(api, npa, court):
    p = ProsecutionFactory(court=court)
    r = api(npa).post(f"/api/v1/prosecutions/{p.pk}/transitions/acquit/", {"version": 1}, format="json")
    assert r.status_code == 400
    assert "acquit" not in r.json()["allowed"] and "start_trial" in r.json()["allowed"]
    p.refresh_from_db()
    assert (p.state, p.version) == ("enrolled", 1)


def test_an_unknown_transition_is_a_400_naming_the_allowed_ones(api, npa, court):
    p = ProsecutionFactory(court=court)
    r = api(npa).post(f"/api/v1/prosecutions/{p.pk}/transitions/pardon/", {"version": 1}, format="json")
    assert r.status_code == 400 and "remand" in r.json()["allowed"]
    p.refresh_from_db()
    assert (p.state, p.version) == ("enrolled", 1)
    assert not TransitionLog.objects.exists()


def test_a_stale_version_is_a_409_and_changes_nothing(api, npa, court):
    p = ProsecutionFactory(court=court)
    assert (
        api(npa)
        .post(f"/api/v1/prosecutions/{p.pk}/transitions/remand/", remand_body(), format="json")
        .status_code
        == 200
    )
    r = api(npa).post(
        f"/api/v1/prosecutions/{p.pk}/transitions/withdraw/",
        {"version": 1, "reason": "witness_intimidated"},
        format="json",
    )
    assert r.status_code == 409 and r.json()["current_version"] == 2
    p.refresh_from_db()
    assert (p.state, p.version) == ("remanded", 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 1, "next_date": "2025-03-14"}, "reason"),
        ({"version": 1, "reason": "docket_not_at_court"}, "next_date"),
        ({"version": 1, "reason": "docket_not_at_court", "next_date": "14 March"}, "next_date"),
        ({"version": 1, "reason": "bad_luck", "next_date": "2025-03-14"}, "reason"),
        ({"reason": "docket_not_at_court", "next_date": "2025-03-14"}, "version"),
        ({"version": "one", "reason": "docket_not_at_court", "next_date": "2025-03-14"}, "version"),
    ],
)
def test_a_missing_or_invalid_transition_field_is_a_422_naming_it(api, npa, court, body, field):
    p = ProsecutionFactory(court=court)
    r = api(npa).post(f"/api/v1/prosecutions/{p.pk}/transitions/remand/", body, format="json")
    assert r.status_code == 422
    assert field in r.json()["errors"]
    p.refresh_from_db()
    assert (p.state, p.version) == ("enrolled", 1)
    assert not TransitionLog.objects.exists()


def test_a_transfer_to_an_unknown_court_is_a_422(api, npa, court):
    p = ProsecutionFactory(court=court)
    r = api(npa).post(
        f"/api/v1/prosecutions/{p.pk}/transitions/transfer/",
        {"version": 1, "court": "atlantis"},
        format="json",
    )
    assert r.status_code == 422 and "court" in r.json()["errors"]
    p.refresh_from_db()
    assert (p.state, p.version, p.court) == ("enrolled", 1, court)
    assert not TransitionLog.objects.exists()


def test_a_user_who_sees_a_case_but_may_not_move_it_gets_a_403(api, make_user, court):
    p = ProsecutionFactory(court=court)
    saps = make_user("saps_liaison", grants=[p.police_case.station])  # sees the docket's prosecutions
    assert api(saps).get(f"/api/v1/prosecutions/{p.pk}/").status_code == 200
    r = api(saps).post(f"/api/v1/prosecutions/{p.pk}/transitions/remand/", remand_body(), format="json")
    assert r.status_code == 403
    p.refresh_from_db()
    assert (p.state, p.version) == ("enrolled", 1)


def test_an_npa_liaison_may_return_a_docket_but_not_close_it(api, npa, court):
    case = PoliceCaseFactory()
    court.stations.add(case.station)
    set_state(case, "referred_to_npa")
    # Closing is SAPS's decision: refused for who asks (403), before the state is even looked at.
    r = api(npa).post(
        f"/api/v1/police-cases/{case.pk}/transitions/close_undetected/", {"version": 1}, format="json"
    )
    assert r.status_code == 403
    case.refresh_from_db()
    assert (case.state, case.version) == ("referred_to_npa", 1)
    assert not TransitionLog.objects.exists()
    r = api(npa).post(
        f"/api/v1/police-cases/{case.pk}/transitions/return_for_investigation/",
        {"version": 1, "reason": "statements missing"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["state"] == "investigating"


def test_docket_transitions_work_over_the_api(api, saps, station):
    case = PoliceCaseFactory(station=station)
    r = api(saps).post(
        f"/api/v1/police-cases/{case.pk}/transitions/investigate/", {"version": 1}, format="json"
    )
    assert r.status_code == 200 and r.json()["state"] == "investigating"
    r = api(saps).post(
        f"/api/v1/police-cases/{case.pk}/transitions/complainant_withdraws/", {"version": 2}, format="json"
    )
    assert r.status_code == 422 and "reason" in r.json()["errors"]
    case.refresh_from_db()
    assert (case.state, case.version) == ("investigating", 2)
    assert list(TransitionLog.objects.values_list("transition", flat=True)) == ["investigate"]


# ------------------------------------------------------------------ scoping


def test_nothing_is_reachable_anonymously(api):
    for url in [
        "/api/v1/incidents/",
        "/api/v1/police-cases/",
        "/api/v1/prosecutions/",
        "/api/v1/stations/",
        "/api/schema/",
    ]:
        assert api().get(url).status_code in (401, 403), url


def test_a_saps_liaison_sees_only_dockets_of_their_stations(api, saps, station):
    mine = PoliceCaseFactory(station=station)
    theirs = PoliceCaseFactory()
    ids = [c["id"] for c in api(saps).get("/api/v1/police-cases/").json()["results"]]
    assert ids == [mine.pk]
    assert api(saps).get(f"/api/v1/police-cases/{theirs.pk}/").status_code == 404
    r = api(saps).post(
        f"/api/v1/police-cases/{theirs.pk}/transitions/investigate/", {"version": 1}, format="json"
    )
    assert r.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.state, theirs.version) == ("opened", 1)
    assert not TransitionLog.objects.exists()


def test_an_npa_liaison_sees_only_prosecutions_at_their_courts(api, npa, court):
    mine = ProsecutionFactory(court=court)
    theirs = ProsecutionFactory()
    ids = [p["id"] for p in api(npa).get("/api/v1/prosecutions/").json()["results"]]
    assert ids == [mine.pk]
    assert api(npa).get(f"/api/v1/prosecutions/{theirs.pk}/").status_code == 404
    assert api(npa).get(f"/api/v1/prosecutions/{theirs.pk}/history/").status_code == 404


def test_a_manager_sees_no_individual_cases(api, make_user):
    ProsecutionFactory()
    manager = make_user("manager")
    assert api(manager).get("/api/v1/prosecutions/").json()["results"] == []
    assert api(manager).get("/api/v1/police-cases/").json()["results"] == []


def test_prosecutions_filter_by_their_police_case(api, admin_user):
    p = ProsecutionFactory()
    ProsecutionFactory()
    r = api(admin_user).get(f"/api/v1/prosecutions/?police_case={p.police_case_id}")
    assert [x["id"] for x in r.json()["results"]] == [p.pk]
    assert api(admin_user).get("/api/v1/prosecutions/?police_case=abc").status_code == 400


def test_a_docket_can_be_found_by_its_cas_number(api, admin_user):
    case = PoliceCaseFactory(cas_serial=77, cas_month=3, cas_year=2024)
    PoliceCaseFactory(cas_serial=78, cas_month=3, cas_year=2024)
    r = api(admin_user).get("/api/v1/police-cases/?search=77/03/2024")
    assert [x["id"] for x in r.json()["results"]] == [case.pk]


def test_reference_data_is_listed_by_code(api, admin_user):
    court = CourtFactory()
    r = api(admin_user).get("/api/v1/courts/")
    assert {"code": court.code, "name": court.name}.items() <= next(
        c for c in r.json() if c["code"] == court.code
    ).items()


def test_the_openapi_schema_and_offline_docs_are_served(api, admin_user, client):
    assert api(admin_user).get("/api/schema/").status_code == 200
    client.force_login(admin_user)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"cdn" not in page.content.lower()
