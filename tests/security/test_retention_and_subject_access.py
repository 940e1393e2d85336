"""Issue 10, item 10 (POPIA): identity purged on a schedule after the retention period, the
de-identified record and every count unchanged; subject access for admins, audited."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from casework.models import Facility, Incident, Prosecution
from referrals import retention, services
from referrals.crypto import pseudonym
from referrals.intake import receive as receiving
from referrals.models import Admission, IdentityRead, InboundMessage, PatientIdentity
from tests.factories import CourtFactory, PoliceCaseFactory, ProsecutionFactory
from tests.referrals.helpers import adt

pytestmark = pytest.mark.django_db

NOW = timezone.now()
YEAR = timedelta(days=365)


@pytest.fixture
def receive(django_capture_on_commit_callbacks, suburb):
    """``receive(visit, arrival, id_number, name)``: an HL7 admission processed into admission,
    identity and incident, the way a hospital's message is."""

    def make(visit, arrival, id_number, name="Doe^Jo", event="A04", **kw):
        raw = adt(
            control=f"C-{visit}-{event}",
            event=event,
            visit=visit,
            arrival=arrival,
            patient_id=id_number,
            folder=f"F{id_number[:6]}",  # a folder number per patient, like a hospital's
            name=name,
            obx={"SUBURB": suburb.code, "ROLE": "victim"},
            **kw,
        )
        with django_capture_on_commit_callbacks(execute=True):
            receiving.inbound_receive_hl7(raw=raw)
        return Admission.objects.get(visit_number=visit)

    return make


def prosecute(admission, *, state, ended):
    """A docket on the admission's incident and a prosecution that reached ``state`` at ``ended``."""
    station = admission.incident.suburb.station
    case = PoliceCaseFactory(station=station, incidents=[admission.incident])
    p = ProsecutionFactory(police_case=case, court=CourtFactory())
    finalised = ended if state in Prosecution.FINALISED_STATES else None
    Prosecution.objects.filter(pk=p.pk).update(state=state, state_changed_at=ended, finalised_on=finalised)
    return case, p


@pytest.fixture
def world(receive):
    """Seven patients (one admission each unless said), at different times so no two share an incident."""
    w = {}
    w["finalised_6y"] = receive("A1", NOW - 8 * YEAR, "8001015009087", "Finalised^Six")
    prosecute(w["finalised_6y"], state="convicted", ended=NOW - 6 * YEAR)
    w["finalised_4y"] = receive("B1", NOW - 7 * YEAR, "8101015009085", "Finalised^Four")
    prosecute(w["finalised_4y"], state="acquitted", ended=NOW - 4 * YEAR)
    w["no_case_6y"] = receive("C1", NOW - 6 * YEAR - timedelta(days=40), "8201015009083", "Nocase^Six")
    w["no_case_old_but_new_visit"] = receive(
        "D1", NOW - 7 * YEAR + timedelta(days=3), "8301015009081", "Repeat^Victim"
    )
    w["repeat_recent"] = receive("D2", NOW - YEAR, "8301015009081", "Repeat^Victim")
    w["open_case_7y"] = receive("E1", NOW - 7 * YEAR + timedelta(days=9), "8401015009089", "Open^Case")
    PoliceCaseFactory(
        station=w["open_case_7y"].incident.suburb.station, incidents=[w["open_case_7y"].incident]
    )
    w["recent"] = receive("F1", NOW - timedelta(days=2), "8501015009086", "Recent^Visit")
    return w


def identity_left(admission) -> bool:
    return PatientIdentity.objects.filter(admission=admission).exists()


def raw_left(admission) -> bool:
    return InboundMessage.objects.filter(admission=admission).exclude(raw="").exists()


def figures(api, admin_user) -> dict:
    """What reports and the dashboard say, through the API, over the whole period."""
    period = f"from={(NOW - 9 * YEAR).date()}&to={NOW.date()}"
    client = api(admin_user)
    return {
        path: client.get(f"/api/v1/{path}{period}").json()
        for path in (
            "dashboard/incidents/?group_by=month&",
            "dashboard/incidents/?group_by=age_band&",
            "reports/conviction-rate/?",
            "reports/attrition/?",
        )
    }


# ---------------------------------------------------------------- the purge


def test_identity_is_purged_after_the_period_and_the_de_identified_record_and_counts_stay(
    api, admin_user, world
):
    before_rows = list(Admission.objects.order_by("pk").values())
    before_incidents = Incident.objects.count()
    before = figures(api, admin_user)

    result = retention.purge_identities()

    # Purged: every matter ended 6 years ago; no police case and arrived more than 5 years ago.
    for key in ("finalised_6y", "no_case_6y"):
        assert not identity_left(world[key]), key
        assert not raw_left(world[key]), key
    # Kept: finalised only 4 years ago; a repeat victim seen last year; a docket still open; recent.
    for key in ("finalised_4y", "no_case_old_but_new_visit", "repeat_recent", "open_case_7y", "recent"):
        assert identity_left(world[key]), key
        assert raw_left(world[key]), key
    assert result.patients == {retention.RULE_FINALISED: 1, retention.RULE_NO_CASE: 1}
    assert result.identities == {retention.RULE_FINALISED: 1, retention.RULE_NO_CASE: 1}
    assert result.messages["with_identity_purged"] == 2

    # The de-identified record (pseudonym included) and every figure are unchanged.
    assert list(Admission.objects.order_by("pk").values()) == before_rows
    assert Incident.objects.count() == before_incidents
    assert figures(api, admin_user) == before


def test_the_purge_is_recorded_with_how_many_when_and_by_which_rule_but_not_whose(world):
    retention.purge_identities()
    (row,) = IdentityRead.objects.filter(purpose__startswith="retention purge")
    assert row.reader is None and row.admission is None and row.message is None
    assert row.at >= NOW
    assert "matters_finalised 1 patients/1 identities" in row.purpose
    assert "no_police_case 1/1" in row.purpose
    assert "2 raw messages" in row.purpose
    for a in world.values():
        assert a.pseudonym not in row.purpose and a.visit_number not in row.purpose
    assert "Finalised" not in row.purpose and "8001015009087" not in row.purpose


def test_a_second_run_finds_nothing_due(world):
    retention.purge_identities()
    again = retention.purge_identities()
    assert again.total_identities == 0 and again.total_messages == 0


def test_a_shorter_period_purges_the_matter_finalised_four_years_ago(settings, world):
    settings.IDENTITY_RETENTION_YEARS = 3
    retention.purge_identities()
    assert not identity_left(world["finalised_4y"])
    assert identity_left(world["open_case_7y"]) and identity_left(world["recent"])


def test_a_reopened_referral_keeps_the_identity_of_an_admission_without_a_case(world, admin_user):
    from referrals.models import Referral

    referral = Referral.objects.create(
        admission=world["no_case_6y"], station=world["no_case_6y"].suburb.station
    )
    Referral.objects.filter(pk=referral.pk).update(state_changed_at=NOW - YEAR)
    retention.purge_identities()
    assert identity_left(world["no_case_6y"])


def test_old_dead_letters_lose_their_raw_text_and_recent_ones_keep_it(world):
    old = InboundMessage.objects.create(
        channel="hl7_mllp", sender="tygerberg", control_id="DL-OLD", raw="PID|1||X^^^ZAF^NI||Old^Letter",
        status="rejected", reason="PV1-19: The visit number is required.",
    )  # fmt: skip
    InboundMessage.objects.filter(pk=old.pk).update(received_at=NOW - 6 * YEAR)
    new = InboundMessage.objects.create(
        channel="hl7_mllp", sender="tygerberg", control_id="DL-NEW", raw="PID|1||Y^^^ZAF^NI||New^Letter",
        status="rejected", reason="PV1-19: The visit number is required.",
    )  # fmt: skip
    result = retention.purge_identities()
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.raw == "" and old.status == "rejected" and old.reason  # metadata stays
    assert new.raw.startswith("PID")
    assert result.messages[retention.RULE_UNLINKED] == 1


def test_purge_identities_command_dry_run_changes_nothing_and_the_real_run_purges(world):
    out = StringIO()
    call_command("purge_identities", "--dry-run", stdout=out)
    assert "Would purge the identity of 2 patients" in out.getvalue()
    assert identity_left(world["finalised_6y"]) and raw_left(world["finalised_6y"])
    assert not IdentityRead.objects.filter(purpose__startswith="retention purge").exists()
    out = StringIO()
    call_command("purge_identities", stdout=out)
    assert "Purged the identity of 2 patients" in out.getvalue()
    assert not identity_left(world["finalised_6y"])


def test_the_purge_runs_daily_from_the_beat_schedule(world, django_capture_on_commit_callbacks):
    from config.celery import app
    from referrals import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["referrals-purge-identities"]
    assert entry["task"] == "referrals.tasks.purge_identities" and entry["task"] in app.tasks
    assert float(entry["schedule"]) == 24 * 3600
    assert tasks.purge_identities.delay().get()["identities"][retention.RULE_FINALISED] == 1
    assert not identity_left(world["finalised_6y"])


def test_the_retention_page_is_for_admins_and_shows_what_is_due(client, make_user, admin_user, world):
    client.force_login(make_user("vpu_analyst"))
    assert client.get("/intake/retention/").status_code == 403
    client.force_login(admin_user)
    page = client.get("/intake/retention/").content.decode()
    assert "5 years" in page
    assert identity_left(world["finalised_6y"])  # the page only counts


# ---------------------------------------------------------------- subject access


def test_an_admin_gets_everything_held_about_one_patient_and_the_request_is_audited(
    api, admin_user, make_user, world
):
    a = world["finalised_6y"]
    clerk = make_user("health_capture", grants=[a.facility])
    services.identity_read(admission=a, actor=clerk, purpose="call the patient")
    response = api(admin_user).post(
        "/api/v1/subject-access/", {"id_number": "800101 5009 087"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["pseudonyms"] == [pseudonym("8001015009087")]
    (adm,) = body["admissions"]
    assert adm["visit_number"] == "A1" and adm["identity"]["name"] == "Six Finalised"
    (case,) = adm["police_cases"]
    assert case["state"] == "opened" and case["cas_number"]
    (p,) = case["prosecutions"]
    assert p["state"] == "convicted" and p["case_number"].startswith("RC ")
    assert adm["incident"]["id"] == a.incident_id
    (msg,) = body["messages"]
    assert "Finalised^Six" in msg["raw"]
    assert [(r["reader"], r["purpose"]) for r in body["identity_reads"]] == [
        (clerk.username, "call the patient")
    ]
    assert "Four" not in json.dumps(body) and "Accused" not in json.dumps(body)  # nobody else's data
    request_row = IdentityRead.objects.get(purpose__startswith="subject access request: patient")
    assert request_row.reader == admin_user and pseudonym("8001015009087") in request_row.purpose
    assert IdentityRead.objects.filter(reader=admin_user, admission=a).exists()
    assert IdentityRead.objects.filter(reader=admin_user, message__admission=a).exists()


def test_a_folder_number_and_facility_find_the_visits_sent_with_the_id_number_too(api, admin_user, world):
    # Repeat^Victim was sent with folder F830101 and the ID number: both visits, found by the folder.
    body = (
        api(admin_user)
        .post(
            "/api/v1/subject-access/", {"folder_number": "f830-101", "facility": "tygerberg"}, format="json"
        )
        .json()
    )
    assert sorted(a["visit_number"] for a in body["admissions"]) == ["D1", "D2"]
    assert body["pseudonyms"] == [pseudonym("8301015009081")]


def test_a_folder_number_at_another_facility_finds_nothing(api, admin_user, world):
    other = Facility.objects.exclude(code="tygerberg").first()
    body = (
        api(admin_user)
        .post("/api/v1/subject-access/", {"folder_number": "F830101", "facility": other.code}, format="json")
        .json()
    )
    assert body["admissions"] == [] and body["messages"] == []
    searched = pseudonym("F830101", authority=other.code)
    assert body["pseudonyms"] == [searched]
    assert IdentityRead.objects.filter(purpose__contains=f"patient {searched}; 0 admissions").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "id_number"), ({"folder_number": "77120"}, "facility"), ({"id_number": "--"}, "id_number")],
)
def test_a_subject_access_request_names_the_missing_field(api, admin_user, payload, field):
    response = api(admin_user).post("/api/v1/subject-access/", payload, format="json")
    assert response.status_code in (400, 422)
    assert field in json.dumps(response.json())
    assert not IdentityRead.objects.exists()  # nothing searched, so no read to audit


@pytest.mark.parametrize(
    "role",
    ["health_capture", "vpu_analyst", "saps_liaison", "npa_liaison", "court_watcher",
     "court_watch_supervisor", "committee_member", "manager"],
)  # fmt: skip
def test_only_admins_may_request_subject_access(api, client, make_user, world, role):
    user = make_user(role)
    assert api(user).post(
        "/api/v1/subject-access/", {"id_number": "8001015009087"}, format="json"
    ).status_code in (
        403,
        404,
    )
    client.force_login(user)
    assert client.post("/intake/subject-access/", {"id_number": "8001015009087"}).status_code in (403, 404)
    assert not IdentityRead.objects.exists()


def test_anonymous_subject_access_is_refused(api, client):
    assert api().post(
        "/api/v1/subject-access/", {"id_number": "8001015009087"}, format="json"
    ).status_code in (
        401,
        403,
    )
    assert client.post("/intake/subject-access/", {"id_number": "8001015009087"}).status_code == 302
    assert not IdentityRead.objects.exists()


def test_the_subject_access_page_is_printable_and_downloads_json(client, admin_user, world):
    client.force_login(admin_user)
    assert client.get("/intake/subject-access/").status_code == 200
    page = client.post("/intake/subject-access/", {"id_number": "8301015009081"}).content.decode()
    assert "Victim Repeat" in page and "D1" in page and "D2" in page
    download = client.post("/intake/subject-access/", {"id_number": "8301015009081", "format": "json"})
    assert download["Content-Type"].startswith("application/json")
    assert "attachment" in download["Content-Disposition"]
    assert {a["visit_number"] for a in json.loads(download.content)["admissions"]} == {"D1", "D2"}
    assert IdentityRead.objects.filter(purpose__startswith="subject access request: patient").count() == 2


def test_after_the_purge_subject_access_shows_the_record_without_identity(api, admin_user, world):
    retention.purge_identities()
    body = (
        api(admin_user).post("/api/v1/subject-access/", {"id_number": "8001015009087"}, format="json").json()
    )
    (adm,) = body["admissions"]
    assert adm["identity"] is None and adm["visit_number"] == "A1"
    assert all(m["raw"] is None for m in body["messages"])


def test_a_csv_file_is_cut_down_to_the_patients_own_rows(api, admin_user, django_capture_on_commit_callbacks):
    arrival = timezone.localtime(NOW - timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    head = "facility,visit_number,arrival_at,icd10_codes,patient_id,patient_id_type,name\n"
    rows = [
        f"tygerberg,CSV1,{arrival},S31.1 X99.0,9001015009086,NI,Asked Forme\n",
        f"tygerberg,CSV2,{arrival},S31.1 X99.0,9101015009084,NI,Someone Else\n",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        receiving.inbound_receive_csv(text=head + "".join(rows), actor=admin_user)
    body = (
        api(admin_user).post("/api/v1/subject-access/", {"id_number": "9001015009086"}, format="json").json()
    )
    assert [a["visit_number"] for a in body["admissions"]] == ["CSV1"]
    raws = [m["raw"] for m in body["messages"] if m["channel"] == "csv"]
    assert raws and all("Asked Forme" in r and "Someone Else" not in r for r in raws)


def test_the_identities_an_update_replaced_are_blanked_by_the_purge_too(receive, world):
    from referrals.models import IdentityVersion

    a = world["finalised_6y"]
    receive("A1", a.arrival_at, "8001015009087", "Renamed^Six", event="A08")
    (version,) = IdentityVersion.objects.filter(admission=a)
    assert version.details["name"] == "Six Finalised"
    result = retention.purge_identities()
    version.refresh_from_db()
    assert version.details is None and not identity_left(a)
    assert result.identity_versions == 1
    assert not InboundMessage.objects.filter(admission=a).exclude(raw="").exists()


def test_subject_access_includes_dead_letters_that_name_the_patient_and_no_one_elses(api, admin_user, world):
    receiving.inbound_receive_hl7(
        raw=adt(control="DL1", dob="20011345", patient_id="8001015009087", name="Mine^Dead")
    )
    receiving.inbound_receive_hl7(
        raw=adt(control="DL2", dob="20011345", patient_id="7001015009088", name="Other^Dead")
    )
    body = (
        api(admin_user).post("/api/v1/subject-access/", {"id_number": "8001015009087"}, format="json").json()
    )
    raws = [m["raw"] for m in body["messages"]]
    assert any("Mine^Dead" in r for r in raws)
    assert not any("Other^Dead" in r for r in raws)
    mine = InboundMessage.objects.get(control_id="DL1")
    assert IdentityRead.objects.filter(message=mine, reader=admin_user).exists()
    assert not IdentityRead.objects.filter(message__control_id="DL2").exists()
