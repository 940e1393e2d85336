"""Identity: encrypted at rest, shown only to the roles allowed, every read audited; the pseudonym
links repeat victims; who sees which admissions; the casework scope for EC staff."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from casework import permissions as cw
from referrals import services
from referrals.crypto import decrypt, pseudonym
from referrals.intake import receive
from referrals.models import Admission, IdentityRead, InboundMessage, PatientIdentity

from .helpers import adt

pytestmark = pytest.mark.django_db


def test_the_name_is_not_in_the_database_in_plain_text(admission):
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM referrals_patientidentity")
        (row,) = cur.fetchall()
        cur.execute("SELECT raw FROM referrals_inboundmessage")
        (raw,) = cur.fetchone()
    stored = " ".join(str(v) for v in row)
    assert "Thandiwe" not in stored and "Mokoena" not in stored and "0105125800083" not in stored
    assert "Mokoena" not in raw and "0105125800083" not in raw
    assert admission.identity.name == "Thandiwe Mokoena"  # the key opens it


def test_identity_is_one_token_per_patient(admission):
    with connection.cursor() as cur:
        columns = [
            c.name for c in connection.introspection.get_table_description(cur, "referrals_patientidentity")
        ]
        cur.execute("SELECT details FROM referrals_patientidentity")
        (details,) = cur.fetchone()
    # One encryption per patient, not one per field.
    assert sorted(columns) == ["admission_id", "details", "id", "updated_at"]
    assert json.loads(decrypt(details))["name"] == "Thandiwe Mokoena"
    identity = PatientIdentity.objects.get()
    identity.contact = "021 555 0101"  # written again: the other fields kept
    identity.save()
    identity = PatientIdentity.objects.get()
    assert (identity.name, identity.contact) == ("Thandiwe Mokoena", "021 555 0101")


def test_the_admission_row_carries_a_pseudonym_and_no_identity(admission):
    assert admission.pseudonym == pseudonym("0105125800083")
    assert len(admission.pseudonym) == 64
    assert "0105125800083" not in str(Admission.objects.filter(pk=admission.pk).values().get())


def test_the_pseudonym_links_repeat_victims_across_facilities(run_tasks, facility, other_facility):
    run_tasks(receive.inbound_receive_hl7, raw=adt(control="1", visit="A1", patient_id="8001015009087"))
    later = timezone.now() - timedelta(minutes=5)
    run_tasks(
        receive.inbound_receive_hl7,
        raw=adt(
            control="2", visit="B7", facility=other_facility.code, arrival=later, patient_id="800101 5009 087"
        ),
    )
    run_tasks(receive.inbound_receive_hl7, raw=adt(control="3", visit="A2", patient_id="7001015009088"))
    by_visit = dict(Admission.objects.values_list("visit_number", "pseudonym"))
    assert by_visit["A1"] == by_visit["B7"] != by_visit["A2"]


def test_the_clerk_of_the_facility_sees_identity_and_the_read_is_audited(api, clerk, admission):
    response = api(clerk).get(f"/api/v1/admissions/{admission.pk}/?purpose=referral call")
    assert response.status_code == 200
    assert response.json()["identity"]["name"] == "Thandiwe Mokoena"
    read = IdentityRead.objects.get()
    assert (read.reader, read.admission, read.purpose) == (clerk, admission, "referral call")


def test_an_admin_sees_identity_and_every_read_is_audited(api, admin_user, admission):
    api(admin_user).get(f"/api/v1/admissions/{admission.pk}/")
    api(admin_user).get(f"/api/v1/admissions/{admission.pk}/")
    assert IdentityRead.objects.filter(reader=admin_user, admission=admission).count() == 2


def test_an_analyst_sees_every_admission_de_identified(api, make_user, admission):
    analyst = make_user("vpu_analyst")
    response = api(analyst).get(f"/api/v1/admissions/{admission.pk}/")
    assert response.status_code == 200
    assert "identity" not in response.json()
    # Minimised (issue 10, finding 4): no pseudonym, no visit number, no exact age.
    assert "pseudonym" not in response.json() and "visit_number" not in response.json()
    assert response.json()["prior_visits"] == 0
    assert IdentityRead.objects.count() == 0


def test_a_clerk_of_another_facility_gets_404_for_this_admission(api, make_user, other_facility, admission):
    stranger = make_user("health_capture", grants=[other_facility])
    assert api(stranger).get(f"/api/v1/admissions/{admission.pk}/").status_code == 404
    assert api(stranger).get("/api/v1/admissions/").json()["results"] == []


@pytest.mark.parametrize("role", ["saps_liaison", "npa_liaison", "court_watcher", "manager"])
def test_other_roles_see_no_admissions(api, make_user, admission, role):
    assert api(make_user(role)).get("/api/v1/admissions/").json()["results"] == []


def test_the_admissions_list_uses_cursor_pagination(api, admin_user, admission):
    body = api(admin_user).get("/api/v1/admissions/?page_size=1").json()
    assert set(body) == {"next", "previous", "results"}
    assert "count" not in body


def test_the_identity_read_log_is_append_only_in_the_database(admin_user, admission):
    services.identity_read(admission=admission, actor=admin_user, purpose="test")
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        IdentityRead.objects.update(purpose="changed")


def test_a_clerk_sees_incidents_of_their_facilities_admissions_through_casework(
    clerk, make_user, other_facility, admission
):
    assert cw.visible_incidents(clerk).filter(pk=admission.incident_id).exists()
    stranger = make_user("health_capture", grants=[other_facility])
    assert not cw.visible_incidents(stranger).filter(pk=admission.incident_id).exists()


def test_the_raw_message_of_a_dead_letter_is_read_through_the_audit(api, admin_user, run_tasks, facility):
    run_tasks(receive.inbound_receive_hl7, raw=adt(visit=""))
    message = InboundMessage.objects.get()
    body = api(admin_user).get(f"/api/v1/dead-letters/{message.pk}/").json()
    assert "Doe^Jo" in body["raw"]
    assert IdentityRead.objects.get().message == message


def test_outside_debug_the_app_refuses_to_start_without_real_keys(settings):
    from django.core.exceptions import ImproperlyConfigured

    from referrals import crypto

    settings.DEBUG = False
    settings.IDENTITY_ENCRYPTION_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="IDENTITY_ENCRYPTION_KEY"):
        crypto.check_keys()
    from cryptography.fernet import Fernet

    settings.IDENTITY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    settings.PSEUDONYM_KEY = crypto.DEV_PSEUDONYM_KEY
    with pytest.raises(ImproperlyConfigured, match="PSEUDONYM_KEY"):
        crypto.check_keys()
    settings.PSEUDONYM_KEY = "a-real-secret"
    crypto.check_keys()


def test_a_new_identity_key_still_reads_what_the_old_one_wrote(settings):
    from cryptography.fernet import Fernet

    from referrals import crypto

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.IDENTITY_ENCRYPTION_KEY = old
    token = crypto.encrypt("Thandiwe Mokoena")
    settings.IDENTITY_ENCRYPTION_KEY = f"{new},{old}"  # rotation: newest first
    assert crypto.decrypt(token) == "Thandiwe Mokoena"
    assert Fernet(new.encode()).decrypt(crypto.encrypt("x").encode()) == b"x"
