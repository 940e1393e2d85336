"""Structured logs (docs/operations.md, "Logs"): a request's lines carry its id, a task's its task id, and
no line carries who the patient is."""

import io
import json
import logging

import pytest
from celery import shared_task
from rest_framework.test import APIClient

from casework import logs
from referrals import services as intake
from referrals.models import Admission

from ..referrals.helpers import adt

pytestmark = pytest.mark.django_db

PATIENT = {"name": "Mokoena^Thandiwe", "patient_id": "0105125800083", "folder": "77120", "dob": "20010512"}


@pytest.fixture
def log_lines():
    """Every line logged at DEBUG and above while the test runs, as the JSON formatter writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JSONFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def feed(db):
    from casework.models import Facility

    tygerberg = Facility.objects.get(code="tygerberg")
    sender = intake.sending_system_register(name="hectis", facilities=[tygerberg])
    client = APIClient()
    client.force_authenticate(sender.account)
    return client, sender.account


def post_hl7(client, raw, **headers):
    return client.post("/api/v1/intake/hl7/", data=raw, content_type="application/hl7-v2", headers=headers)


def test_every_line_of_a_request_carries_the_id_its_answer_names(feed, log_lines):
    client, account = feed
    response = post_hl7(client, adt(visit="", **PATIENT), **{"X-Request-ID": "lb-7f3a9c01"})  # AE: no visit
    assert response.status_code == 422
    assert response["X-Request-ID"] == "lb-7f3a9c01"
    lines = log_lines()
    assert len(lines) >= 2  # Django's warning about the 422 and the access line
    assert {line["request_id"] for line in lines} == {"lb-7f3a9c01"}
    access = [line for line in lines if line["logger"] == "casetrail.requests"]
    assert len(access) == 1
    assert access[0]["method"] == "POST"
    assert access[0]["path"] == "/api/v1/intake/hl7/"
    assert access[0]["status"] == 422
    assert access[0]["user_id"] == account.pk
    assert access[0]["duration_ms"] >= 0
    assert access[0]["level"] == "INFO"
    assert access[0]["time"].endswith("+00:00")


def test_a_request_without_an_id_or_with_a_malformed_one_gets_a_new_one(feed, log_lines):
    client, _ = feed
    first = post_hl7(client, adt(control="M1", visit="V1"))
    second = post_hl7(client, adt(control="M2", visit="V2"), **{"X-Request-ID": "two words\tand a tab"})
    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)  # our own: a uuid4 in hex
    assert ids[0] != ids[1]
    lines = log_lines()
    assert {line["request_id"] for line in lines if line["logger"] == "casetrail.requests"} == set(ids)


def test_no_line_names_the_patient_whatever_the_answer(feed, log_lines, django_capture_on_commit_callbacks):
    client, _ = feed
    with django_capture_on_commit_callbacks(execute=True):  # processing too: the admission is written
        accepted = post_hl7(client, adt(control="OK1", visit="V9", **PATIENT))
    refused = post_hl7(client, adt(control="AE1", visit="", **PATIENT))
    nul = post_hl7(client, adt(control="NUL1", visit="V8\x00", **PATIENT))
    assert (accepted.status_code, refused.status_code) == (200, 422)
    assert Admission.objects.filter(visit_number="V9").exists()  # processed too, identity and all
    assert nul.status_code >= 400
    text = "\n".join(json.dumps(line) for line in log_lines())
    assert "casetrail.requests" in text
    for value in ("Mokoena", "Thandiwe", "0105125800083", "77120", "20010512"):
        assert value not in text


@shared_task(name="tests.ops.say_hello")
def say_hello():
    logging.getLogger("casetrail.test").info("hello from a task")


def test_a_task_logs_with_its_task_id_and_the_request_id_stays_outside_it(log_lines):
    result = say_hello.apply()
    (line,) = [line for line in log_lines() if line["logger"] == "casetrail.test"]
    assert line["task_id"] == result.id
    assert line["task"] == "tests.ops.say_hello"
    assert "request_id" not in line
    logging.getLogger("casetrail.test").info("after the task")
    assert "task_id" not in log_lines()[-1]


def test_plain_text_in_development_json_otherwise():
    assert logs.logging_config(log_format="text", level="INFO")["handlers"]["console"]["formatter"] == "text"
    assert logs.logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"] == "json"
