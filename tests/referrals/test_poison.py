"""Issue 11: a poisoned message fails alone, claims are not failures, the embedded sweep, and the
door refuses what no column can hold."""

import json
import time
from datetime import timedelta

import pytest
from django.core.signals import request_started
from django.test import override_settings
from django.utils import timezone

from referrals import tasks
from referrals.intake import process, store
from referrals.intake import receive as receiving
from referrals.models import Admission, Channel, InboundMessage
from referrals.parsing import CSV_HEADER

from .helpers import adt, bundle
from .test_csv_and_form import csv_text, good, upload

pytestmark = pytest.mark.django_db


def _poisoned(facility, visit: str) -> InboundMessage:
    """A message stored by an older door, with a visit number the door now refuses."""
    message = store.new_message(
        channel=Channel.HL7_HTTP, sender="tygerberg", control_id="POISON", status="received",
        raw=adt(control="POISON", visit=visit), facility=facility,
    )  # fmt: skip
    message.save()
    return message


@pytest.mark.postgres
@pytest.mark.parametrize(
    "visit, reason",
    [
        # Breaks the set-based lookup of known visits, so the whole batch raised.
        ("V\x00BAD", "visit_number: processing raised DataError: PostgreSQL text fields cannot contain NUL"),
        # Over its column: processing reads the stored raw with today's checks, which name the field.
        ("9" * 900_000, "PV1-19: The visit number is longer than 60 characters."),
    ],
)
def test_a_poisoned_message_in_a_batch_fails_alone_and_the_others_are_admitted(facility, visit, reason):
    for i in range(5):
        receiving.inbound_receive_hl7(raw=adt(control=f"GOOD{i}", visit=f"V{i}"))
    poison = _poisoned(facility, visit)
    for i in range(5, 10):
        receiving.inbound_receive_hl7(raw=adt(control=f"GOOD{i}", visit=f"V{i}"))
    first = InboundMessage.objects.order_by("pk").first()

    results = process.inbound_process(first.pk)

    assert len(results) == 11
    assert Admission.objects.count() == 10
    assert InboundMessage.objects.filter(status="processed").count() == 10
    poison.refresh_from_db()
    assert poison.status == "failed"
    assert poison.reason.startswith(reason)
    assert "999" not in poison.reason  # the value sent is never repeated


def test_a_message_released_five_times_is_still_processed(facility):
    receiving.inbound_receive_hl7(raw=adt())
    message = InboundMessage.objects.get()
    for _ in range(5):  # claimed, then the database went away: released, not a failure
        attempt = process.inbound_claim(message.pk)
        process._release([(message.pk, attempt)])
    # A sixth claim whose worker then dies: the sweeper puts it back, it does not give up.
    process.inbound_claim(message.pk)
    InboundMessage.objects.filter(pk=message.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=5)
    )
    process.inbound_release_stuck(older_than_seconds=60)
    assert process.inbound_process(message.pk)[message.pk] == "processed"
    message.refresh_from_db()
    assert message.status == "processed" and message.attempts == 7


def test_a_message_whose_worker_keeps_dying_is_swept_back_and_not_dead_lettered(facility):
    receiving.inbound_receive_hl7(raw=adt())
    message = InboundMessage.objects.get()
    for _ in range(5):  # its worker was killed mid-claim: left in processing past the threshold
        InboundMessage.objects.filter(pk=message.pk).update(
            status="processing",
            attempts=message.attempts + 10,
            status_changed_at=timezone.now() - timedelta(minutes=5),
        )
        process.inbound_release_stuck(older_than_seconds=60)  # the sweep; its kick was lost
        message.refresh_from_db()
        assert message.status == "received"
    assert process.inbound_process(message.pk)[message.pk] == "processed"
    assert Admission.objects.count() == 1


# ---------------------------------------------------------------- the door: bounded columns, headers

HUGE_VISIT = "9" * 900_000


def test_an_hl7_visit_number_longer_than_its_column_is_refused_at_the_door(facility):
    answer = receiving.inbound_receive_hl7(raw=adt(visit=HUGE_VISIT))
    assert answer.code == "AE" and "PV1-19" in answer.text
    assert InboundMessage.objects.get().status == "rejected"
    assert Admission.objects.count() == 0


def test_a_fhir_visit_number_longer_than_its_column_is_refused_at_the_door(api, feed):
    response = api(feed).post(
        "/api/v1/intake/fhir/", data=json.dumps(bundle(visit="F" * 61)), content_type="application/fhir+json"
    )
    assert response.status_code == 422
    assert "Encounter.identifier" in response.content.decode()
    assert Admission.objects.count() == 0


def test_a_csv_visit_number_longer_than_its_column_is_refused_at_the_door(api, clerk):
    response = upload(api(clerk), csv_text([good(1), good(2, visit_number="C" * 61)]))
    assert response.status_code == 201
    assert [(p["row"], p["field"]) for p in response.json()["problems"]] == [(3, "visit_number")]


@pytest.mark.parametrize("column", ["visit_number", "suburb"])
def test_a_nul_in_a_csv_header_cell_is_refused_at_upload_naming_the_header(api, clerk, column):
    # An optional column ("suburb") was dropped unseen before: the file was accepted without it.
    text = csv_text([good(1)]).replace(column, column[:3] + "\x00" + column[3:], 1)
    response = upload(api(clerk), text)
    assert response.status_code == 422  # a file with no good row, like a header missing a column
    cell = 1 + list(CSV_HEADER).index(column)
    assert response.json()["problems"] == [
        {"row": 1, "field": "header", "problem": f"Control characters in header cell {cell}."}
    ]
    assert InboundMessage.objects.get().status == "rejected"
    assert Admission.objects.count() == 0


# ---------------------------------------------------------------- the embedded mode's sweeper


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the thread: its own connection
def test_the_embedded_sweeper_processes_a_message_left_behind(facility):
    receiving.inbound_receive_hl7(raw=adt())  # stored; its kick was lost (nothing ran it)
    InboundMessage.objects.update(
        status="processing", status_changed_at=timezone.now() - timedelta(minutes=5)
    )
    sweeper = tasks.start_embedded_sweeper(interval=0.05)
    try:
        assert tasks.start_embedded_sweeper(interval=0.05) is None  # once per process
        deadline = time.monotonic() + 10
        while InboundMessage.objects.get().status != "processed" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert InboundMessage.objects.get().status == "processed"
    assert Admission.objects.count() == 1


@override_settings(CELERY_TASK_ALWAYS_EAGER=True, TESTING=False)
def test_the_embedded_sweeper_is_wanted_only_without_a_broker_and_outside_the_tests():
    assert tasks.embedded_sweeper_wanted()
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        assert not tasks.embedded_sweeper_wanted()
    with override_settings(TESTING=True):
        assert not tasks.embedded_sweeper_wanted()


def test_the_first_request_served_in_embedded_mode_starts_the_sweeper(client, monkeypatch):
    started = []
    monkeypatch.setattr(tasks, "start_embedded_sweeper", lambda: started.append(True))
    request_started.connect(tasks.start_embedded_sweeper_on_request, dispatch_uid="referrals-embedded-sweep")
    try:
        client.get("/health/")
    finally:
        request_started.disconnect(dispatch_uid="referrals-embedded-sweep")
    assert started
