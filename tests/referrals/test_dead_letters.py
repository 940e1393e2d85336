"""Dead letters: listed for admins only, corrected and replayed by page, API and command."""

import pytest
from django.core.management import call_command

from casework.models import Facility, TransitionLog
from referrals.intake import receive
from referrals.models import Admission, IdentityRead, InboundMessage

from .helpers import adt

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected(run_tasks, facility):
    run_tasks(receive.inbound_receive_hl7, raw=adt(visit=""))
    return InboundMessage.objects.get()


def test_the_api_lists_dead_letters_for_admins_only(api, admin_user, clerk, rejected):
    body = api(admin_user).get("/api/v1/dead-letters/").json()
    assert [m["id"] for m in body["results"]] == [rejected.pk]
    assert "PV1-19" in body["results"][0]["reason"]
    assert "raw" not in body["results"][0]
    assert api(clerk).get("/api/v1/dead-letters/").json()["results"] == []
    before = (rejected.status, rejected.attempts)
    assert (
        api(clerk).post(f"/api/v1/dead-letters/{rejected.pk}/replay/", {}, format="json").status_code == 404
    )
    rejected.refresh_from_db()
    assert (rejected.status, rejected.attempts) == before
    assert not Admission.objects.exists()


def test_a_corrected_message_replays_into_an_admission(
    api, admin_user, rejected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin_user).post(
            f"/api/v1/dead-letters/{rejected.pk}/replay/", {"raw": adt(visit="V-FIXED")}, format="json"
        )
    assert response.status_code == 200, response.content
    rejected.refresh_from_db()
    assert rejected.status == "processed"
    assert Admission.objects.get().visit_number == "V-FIXED"


def test_a_replay_is_logged_as_a_write_and_reading_the_stored_raw_as_a_read(
    api, admin_user, rejected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api(admin_user).post(
            f"/api/v1/dead-letters/{rejected.pk}/replay/", {"raw": adt(visit="V-FIXED")}, format="json"
        )
    (log,) = TransitionLog.for_object(rejected)
    assert (log.transition, log.from_state, log.to_state, log.actor) == (
        "replay",
        "rejected",
        "received",
        admin_user,
    )
    assert not IdentityRead.objects.exists()  # a corrected text was sent: the stored raw was not read
    failed = InboundMessage.objects.create(
        channel="hl7_mllp", sender="x", control_id="F1", raw=adt(control="F1")
    )
    InboundMessage.objects.filter(pk=failed.pk).update(status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        api(admin_user).post(f"/api/v1/dead-letters/{failed.pk}/replay/", {}, format="json")
    assert IdentityRead.objects.get().message == failed


def test_a_replay_that_is_still_wrong_is_400_naming_the_field_and_changes_nothing(api, admin_user, rejected):
    response = api(admin_user).post(
        f"/api/v1/dead-letters/{rejected.pk}/replay/", {"raw": adt(dob="20019999")}, format="json"
    )
    assert response.status_code == 400
    assert "PID-7" in response.json()["errors"]["raw"][0]
    rejected.refresh_from_db()
    assert rejected.status == "rejected" and "PV1-19" in rejected.reason
    assert not Admission.objects.exists()


def test_a_replay_of_a_control_id_accepted_since_becomes_a_duplicate(api, admin_user, rejected, run_tasks):
    run_tasks(receive.inbound_receive_hl7, raw=adt())  # the sender resent it, corrected
    response = api(admin_user).post(
        f"/api/v1/dead-letters/{rejected.pk}/replay/", {"raw": adt()}, format="json"
    )
    assert response.json()["status"] == "duplicate"
    assert Admission.objects.count() == 1


def test_the_command_replays_after_the_reference_data_is_fixed(
    run_tasks, django_capture_on_commit_callbacks, facility
):
    run_tasks(receive.inbound_receive_hl7, raw=adt(facility="new-clinic"))
    message = InboundMessage.objects.get()
    assert message.status == "rejected"
    Facility.objects.create(code="new-clinic", name="New clinic", district=facility.district)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_dead_letters", "--id", str(message.pk))
    message.refresh_from_db()
    assert message.status == "processed"
    assert Admission.objects.get().facility.code == "new-clinic"


def test_the_dead_letter_page_is_for_admins_and_replays_an_edited_message(
    client, admin_user, clerk, rejected, django_capture_on_commit_callbacks
):
    client.force_login(clerk)
    assert client.get("/intake/dead-letters/").status_code == 403
    client.force_login(admin_user)
    page = client.get("/intake/dead-letters/")
    assert page.status_code == 200 and "PV1-19" in page.content.decode()
    detail = client.get(f"/intake/dead-letters/{rejected.pk}/")
    assert "Doe^Jo" in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/intake/dead-letters/{rejected.pk}/", {"raw": adt(visit="V9").replace("\r", "\n")}
        )
    assert response.status_code == 302
    assert Admission.objects.get().visit_number == "V9"


def test_the_admissions_pages_render_for_a_clerk(client, clerk, run_tasks, suburb):
    run_tasks(receive.inbound_receive_hl7, raw=adt(obx={"SUBURB": suburb.code}))
    a = Admission.objects.get()
    client.force_login(clerk)
    assert "V0001" in client.get("/intake/admissions/").content.decode()
    detail = client.get(f"/intake/admissions/{a.pk}/")
    assert detail.status_code == 200 and "Jo Doe" not in detail.content.decode()
    shown = client.get(f"/intake/admissions/{a.pk}/?show=identity")
    assert "Jo Doe" in shown.content.decode()
    assert client.post(f"/intake/admissions/{a.pk}/refer/").status_code == 302
    assert a.__class__.objects.get().referral.station == suburb.station
