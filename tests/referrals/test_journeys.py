"""The EC clerk's and the SAPS liaison's daily journeys in the web pages (issue 12), without a browser."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from casework.models import Offence, PoliceCase
from referrals import services
from referrals.intake import store
from referrals.models import Admission, Channel, IdentityRead, InboundMessage, Referral

pytestmark = pytest.mark.django_db

GOOD_ID = "8001015009087"


def local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def capture_data(**changes):
    arrival = timezone.now() - timedelta(hours=1)
    data = {
        "facility": "tygerberg",
        "visit_number": "V-1",
        "mechanism": "sharp",
        "icd10_codes": "S31.1",
        "patient_id": GOOD_ID,
        "patient_id_type": "NI",
        "sex": "female",
        "role": "victim",
        "arrival_at": local(arrival),
    }
    data.update(changes)
    return data


@pytest.fixture
def liaison(make_user, suburb):
    return make_user("saps_liaison", grants=[suburb.station])


# ------------------------------------------------------------------ the clerk


def test_saving_a_visit_that_exists_asks_first_and_shows_what_would_change(client, clerk, run_tasks):
    client.force_login(clerk)
    run_tasks(client.post, "/intake/new/", capture_data())
    assert Admission.objects.get().mechanism == "sharp"

    page = client.post("/intake/new/", capture_data(mechanism="firearm"))
    assert page.status_code == 200
    assert "This visit exists: update it?" in page.content.decode()
    assert ("Mechanism", "Sharp object", "Firearm") in [(str(w), n, a) for w, n, a in page.context["changes"]]
    assert InboundMessage.objects.count() == 1  # nothing sent yet
    assert Admission.objects.get().mechanism == "sharp"

    run_tasks(client.post, "/intake/new/", {**capture_data(mechanism="firearm"), "confirm_update": "yes"})
    assert InboundMessage.objects.count() == 2
    assert Admission.objects.get().mechanism == "firearm"


def test_going_back_from_the_update_question_keeps_what_was_typed(client, clerk, run_tasks):
    client.force_login(clerk)
    run_tasks(client.post, "/intake/new/", capture_data())
    page = client.post("/intake/new/", {**capture_data(mechanism="firearm"), "confirm_update": "no"})
    assert page.context["form"]["mechanism"].value() == "firearm"
    assert InboundMessage.objects.count() == 1


def test_after_saving_the_clerk_sees_the_status_in_words_on_their_submissions(client, clerk, run_tasks):
    client.force_login(clerk)
    response = run_tasks(client.post, "/intake/new/", capture_data())
    assert response.status_code == 302 and response["Location"].startswith("/intake/mine/")
    page = client.get("/intake/mine/").content.decode()
    assert "Visit V-1" in page and "Processed: the admission is recorded" in page


def test_a_refused_form_message_is_fixed_and_resent_by_the_clerk_who_sent_it(
    client, clerk, make_user, facility, run_tasks
):
    """A form message dead-lettered before the form checked the rule: the clerk sees why, fixes it."""
    arrival = timezone.now() - timedelta(hours=3)
    record = {
        "facility_code": "tygerberg", "visit_number": "OLD-1", "arrival_at": arrival.isoformat(),
        "injury_at": (arrival + timedelta(hours=1)).isoformat(), "event": "FORM", "sex": "male",
        "role": "victim", "icd10_codes": ["X99.9"],
        "identifiers": [{"value": GOOD_ID, "type": "NI", "authority": "ZAF"}],
    }  # fmt: skip
    message = store.store(
        channel=Channel.FORM, sender="tygerberg", control_id="", raw=json.dumps(record),
        status=InboundMessage.Status.FAILED, reason="injury_at: The injury time is after the arrival time.",
        facility=facility, message_type="form", actor=clerk, visit_number="OLD-1",
    )  # fmt: skip
    other = make_user("health_capture", grants=[facility])
    client.force_login(other)
    assert client.get(f"/intake/new/?fix={message.pk}").status_code == 404  # not theirs

    client.force_login(clerk)
    mine = client.get("/intake/mine/").content.decode()
    assert "Refused while processing" in mine and "The injury time is after the arrival time." in mine
    page = client.get(f"/intake/new/?fix={message.pk}")
    assert "injury_at" in page.context["form"].errors  # shown at once, before saving
    assert IdentityRead.objects.filter(reader=clerk, message=message).exists()

    data = {
        **page.context["form"].data,
        "injury_at": local(arrival - timedelta(minutes=20)),
        "fix": message.pk,
    }
    data["mechanism"] = ""  # the codes say it
    response = run_tasks(client.post, "/intake/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    message.refresh_from_db()
    assert message.status == "processed"
    assert Admission.objects.get().visit_number == "OLD-1"
    assert InboundMessage.objects.count() == 1  # the same message, resent


def test_a_refused_csv_row_is_fixed_from_the_submissions_page(client, clerk, run_tasks):
    arrival = timezone.localtime(timezone.now() - timedelta(days=1))
    at = arrival.strftime("%Y-%m-%d %H:%M")
    text = (
        "facility,visit_number,arrival_at,icd10_codes,patient_id,patient_id_type,injury_at\n"
        f"tygerberg,C1,{at},S31.1 X99.4,{GOOD_ID},NI,\n"
        f"tygerberg,C2,{at},BANANA X99.4,{GOOD_ID},NI,\n"
    )
    client.force_login(clerk)
    run_tasks(client.post, "/intake/csv/", {"file": SimpleUploadedFile("day.csv", text.encode(), "text/csv")})
    upload = InboundMessage.objects.get(channel="csv")
    mine = client.get("/intake/mine/").content.decode()
    assert "1 of 2 rows kept" in mine and "1 refused: fix them below" in mine
    assert f"?fix={upload.pk}&amp;row=3" in mine

    page = client.get(f"/intake/new/?fix={upload.pk}&row=3")
    assert "icd10_codes" in page.context["form"].errors
    data = {**page.context["form"].data, "icd10_codes": "S31.1 X99.4", "fix": upload.pk, "row": 3}
    response = run_tasks(client.post, "/intake/new/", data)
    assert response.status_code == 302
    assert set(Admission.objects.values_list("visit_number", flat=True)) == {"C1", "C2"}
    upload.refresh_from_db()
    assert upload.report["resent"] == {"3": InboundMessage.objects.get(channel="form").pk}
    assert "Sent again" in client.get("/intake/mine/").content.decode()


def test_refer_sends_the_referral_and_says_so_truthfully(client, clerk, admission):
    client.force_login(clerk)
    response = client.post(f"/intake/admissions/{admission.pk}/refer/", follow=True)
    referral = Referral.objects.get()
    assert referral.state == "sent"
    assert (
        f"Sent to SAPS {referral.station}, waiting for the station to acknowledge"
        in response.content.decode()
    )


# ------------------------------------------------------------------ the SAPS liaison


@pytest.fixture
def sent(admission, clerk):
    return services.referral_refer(admission=admission, actor=clerk)


def open_docket(client, referral, **changes):
    data = {
        "version": referral.version, "cas_serial": "123", "cas_month": "4", "cas_year": "2026",
        "offence": "attempted_murder", "opened_on": timezone.localdate().isoformat(),
    }  # fmt: skip
    data.update(changes)
    return client.post(f"/intake/referrals/{referral.pk}/open-docket/", data)


def test_the_liaison_opens_a_docket_by_cas_number_from_the_referral(client, liaison, sent):
    client.force_login(liaison)
    page = client.get(f"/intake/referrals/{sent.pk}/").content.decode()
    assert "Open docket" in page and "Acknowledge: we have it" in page
    assert "open_case" not in page.replace('id="action-', "")  # no raw code shown
    response = open_docket(client, sent)
    assert response.status_code == 302
    sent.refresh_from_db()
    case = PoliceCase.objects.get()
    assert (sent.state, sent.police_case_id) == ("case_opened", case.pk)
    assert (case.station_id, case.cas_number, case.offence.code) == (
        sent.station_id,
        "123/04/2026",
        "attempted_murder",
    )
    assert list(case.incidents.values_list("pk", flat=True)) == [sent.admission.incident_id]
    page = client.get(f"/intake/referrals/{sent.pk}/").content.decode()
    assert f"Docket CAS 123/04/2026 opened at SAPS {sent.station}" in page


def test_a_cas_number_already_open_at_the_station_is_linked_not_duplicated(client, liaison, sent):
    existing = services.cw_services.police_case_open(
        actor=None, station=sent.station, cas_number="77/03/2026",
        offence=Offence.objects.get(code="murder"), opened_on=timezone.localdate().replace(month=3, day=1),
    )  # fmt: skip
    client.force_login(liaison)
    response = open_docket(client, sent, cas_serial="77", cas_month="3")
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.police_case_id == existing.pk and PoliceCase.objects.count() == 1


def test_a_bad_cas_month_is_a_field_error_and_nothing_changes(client, liaison, sent):
    client.force_login(liaison)
    response = open_docket(client, sent, cas_month="13")
    assert response.status_code == 422
    assert "cas_month" in response.context["docket_form"].errors
    sent.refresh_from_db()
    assert sent.state == "sent" and PoliceCase.objects.count() == 0


def test_another_stations_liaison_does_not_see_the_referral(client, make_user, sent):
    from casework.models import Station

    other = make_user("saps_liaison", grants=[Station.objects.exclude(pk=sent.station_id).first()])
    client.force_login(other)
    assert client.get(f"/intake/referrals/{sent.pk}/").status_code == 404
    assert open_docket(client, sent).status_code == 404


def test_the_liaison_declines_in_words(client, liaison, sent):
    client.force_login(liaison)
    response = client.post(
        f"/intake/referrals/{sent.pk}/transitions/decline/",
        {"version": sent.version, "reason": "The victim does not want to lay a charge."},
        follow=True,
    )
    assert "Declined: The victim does not want to lay a charge." in response.content.decode()
