"""Referral to SAPS: routed to the precinct's station, its transitions, who may take them, and 409."""

import pytest

from casework.models import Station, TransitionLog
from referrals import services
from referrals.intake import receive
from referrals.models import Admission, Referral
from tests.factories import PoliceCaseFactory

from .helpers import adt

pytestmark = pytest.mark.django_db


@pytest.fixture
def liaison(make_user, suburb):
    return make_user("saps_liaison", grants=[suburb.station])


@pytest.fixture
def referral(admission, clerk):
    return services.referral_create(admission=admission, actor=clerk)


def take(api_client, referral, name, **body):
    return api_client.post(f"/api/v1/referrals/{referral.pk}/transitions/{name}/", body, format="json")


def test_a_referral_goes_to_the_station_whose_precinct_holds_the_suburb(api, clerk, admission, suburb):
    response = api(clerk).post("/api/v1/referrals/", {"admission": admission.pk}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["station"] == suburb.station.code
    assert response.json()["state"] == "pending"
    assert TransitionLog.for_object(Referral.objects.get()).get().transition == "refer"


def test_an_admission_without_a_suburb_cannot_be_referred_and_says_why(api, clerk, run_tasks):
    run_tasks(receive.inbound_receive_hl7, raw=adt(control="N", visit="N1", obx={}))
    a = Admission.objects.get(visit_number="N1")
    response = api(clerk).post("/api/v1/referrals/", {"admission": a.pk}, format="json")
    assert response.status_code == 400
    assert "suburb" in response.json()["errors"]
    assert Referral.objects.count() == 0


def test_the_whole_path_to_a_police_case(api, clerk, liaison, referral, suburb):
    assert take(api(clerk), referral, "send", version=1).json()["state"] == "sent"
    assert take(api(liaison), referral, "acknowledge", version=2).json()["state"] == "acknowledged"
    case = PoliceCaseFactory(station=suburb.station, incidents=[])
    body = take(api(liaison), referral, "open_case", version=3, police_case=case.pk).json()
    assert body["state"] == "case_opened" and body["cas_number"] == case.cas_number
    assert list(case.incidents.values_list("id", flat=True)) == [referral.admission.incident_id]
    history = api(liaison).get(f"/api/v1/referrals/{referral.pk}/history/").json()
    assert [h["transition"] for h in history] == ["refer", "send", "acknowledge", "open_case"]


def test_decline_needs_a_reason_and_reopen_brings_it_back(api, clerk, referral):
    missing = take(api(clerk), referral, "decline", version=1)
    assert missing.status_code == 422 and "reason" in missing.json()["errors"]
    declined = take(
        api(clerk), referral, "decline", version=1, reason="Victim does not want to lay a charge."
    )
    assert declined.json()["state"] == "declined"
    assert declined.json()["decline_reason"] == "Victim does not want to lay a charge."
    assert take(api(clerk), referral, "reopen", version=2).json()["state"] == "pending"


def test_a_stale_version_is_409_and_changes_nothing(api, clerk, referral):
    take(api(clerk), referral, "send", version=1)
    stale = take(api(clerk), referral, "decline", version=1, reason="no")
    assert stale.status_code == 409
    referral.refresh_from_db()
    assert referral.state == "sent"


def test_a_transition_not_allowed_from_this_state_is_400_listing_the_allowed(api, liaison, clerk, referral):
    response = take(api(clerk), referral, "reopen", version=1)
    assert response.status_code == 400
    assert set(response.json()["allowed"]) == {"send", "decline"}
    referral.refresh_from_db()
    assert (referral.state, referral.version) == ("pending", 1)


@pytest.mark.parametrize(
    "who, name, allowed",
    [
        ("clerk", "send", True),
        ("liaison", "send", False),
        ("other_liaison", "send", False),
        ("analyst", "send", False),
        ("admin", "send", True),
    ],
)
def test_who_may_send(api, make_user, clerk, liaison, admin_user, referral, who, name, allowed):
    users = {
        "clerk": clerk,
        "liaison": liaison,
        "admin": admin_user,
        "analyst": make_user("vpu_analyst"),
        "other_liaison": make_user(
            "saps_liaison", grants=[Station.objects.exclude(pk=referral.station_id).first()]
        ),
    }
    response = take(api(users[who]), referral, name, version=1)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code in (403, 404)
        referral.refresh_from_db()
        assert referral.state == "pending"


def test_only_the_station_acknowledges(api, clerk, liaison, referral):
    take(api(clerk), referral, "send", version=1)
    assert take(api(clerk), referral, "acknowledge", version=2).status_code == 403
    referral.refresh_from_db()
    assert (referral.state, referral.version) == ("sent", 2)
    assert take(api(liaison), referral, "acknowledge", version=2).status_code == 200


def test_the_docket_must_be_at_the_referrals_station(api, clerk, liaison, referral):
    take(api(clerk), referral, "send", version=1)
    take(api(liaison), referral, "acknowledge", version=2)
    elsewhere = PoliceCaseFactory(incidents=[])
    response = take(api(liaison), referral, "open_case", version=3, police_case=elsewhere.pk)
    assert response.status_code == 422 and "police_case" in response.json()["errors"]
    # A docket elsewhere reads exactly like one that does not exist: ids at other stations stay hidden.
    missing = take(api(liaison), referral, "open_case", version=3, police_case=elsewhere.pk + 1000)
    assert missing.json()["errors"] == response.json()["errors"]
    referral.refresh_from_db()
    assert referral.state == "acknowledged"


def test_a_liaison_sees_the_referrals_of_their_stations_only(api, liaison, make_user, referral):
    assert [r["id"] for r in api(liaison).get("/api/v1/referrals/").json()["results"]] == [referral.pk]
    other = make_user("saps_liaison", grants=[Station.objects.exclude(pk=referral.station_id).first()])
    assert api(other).get("/api/v1/referrals/").json()["results"] == []
    assert api(other).get(f"/api/v1/referrals/{referral.pk}/").status_code == 404


def test_the_transitions_endpoint_lists_what_this_user_may_do(api, clerk, liaison, referral):
    def names(user):
        body = api(user).get(f"/api/v1/referrals/{referral.pk}/transitions/").json()
        return {t["name"] for t in body["transitions"]}

    assert names(clerk) == {"send", "decline"}
    assert names(liaison) == {"decline"}


def test_the_referral_queue_page_shows_the_liaison_their_referrals_and_moves_them(
    client, clerk, liaison, referral
):
    services.referral_send(referral, actor=clerk, version=1)
    client.force_login(liaison)
    page = client.get("/intake/referrals/")
    assert page.status_code == 200 and f"Referral {referral.pk}" in page.content.decode()
    response = client.post(f"/intake/referrals/{referral.pk}/transitions/acknowledge/", {"version": 2})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.state == "acknowledged"
