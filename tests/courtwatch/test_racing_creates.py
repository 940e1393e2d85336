"""Creates that race on the same parent (issue 11, finding 4): one wins, the others hear 409 (or 400
naming the field), and exactly one record, one move and one log row are left."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from casework import permissions as cw
from casework.models import Prosecution, TransitionLog
from courtwatch.models import Hearing
from tests.factories import CourtFactory, PoliceCaseFactory, set_state

from .conftest import days_ago

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def post_at_once(user, url: str, payloads: list[dict]) -> list:
    """Send every payload from its own thread and connection, released together; the responses."""
    barrier = threading.Barrier(len(payloads))
    responses = []

    def send(payload):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            responses.append(client.post(url, payload, format="json"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return responses


def postponement(p, **extra) -> dict:
    return {
        "prosecution": p.pk,
        "date": days_ago(1).isoformat(),
        "type": "remand",
        "outcome": "postponed",
        "reason": "witness_absent",
        "next_date": days_ago(-7).isoformat(),
        **extra,
    }


def test_ten_identical_hearings_sent_at_once_without_a_version_record_one_and_refuse_nine_with_409(
    assigned, officer
):
    p = assigned().prosecution

    responses = post_at_once(officer, "/api/v1/hearings/", [postponement(p)] * 10)

    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    refused = [r.json() for r in responses if r.status_code == 409]
    assert all("already recorded" in body["detail"] for body in refused)
    assert Hearing.objects.filter(prosecution=p).count() == 1
    moved = Prosecution.objects.get(pk=p.pk)
    assert (moved.state, moved.version) == ("remanded", p.version + 1)
    assert TransitionLog.for_object(p).filter(transition="remand").count() == 1


def test_ten_hearings_on_the_same_version_record_one_and_the_losers_hear_409_not_400(assigned, officer):
    p = assigned().prosecution
    # Ten different final outcomes: after the winner's the others are not allowed from the new state,
    # but the caller's news is "someone else changed it", so the version is checked first.
    withdrawal = postponement(
        p, type="trial", outcome="withdrawn", reason="complainant_withdrew", version=p.version
    )
    del withdrawal["next_date"]

    responses = post_at_once(officer, "/api/v1/hearings/", [withdrawal] * 10)

    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    assert all(r.json()["current_version"] == p.version + 1 for r in responses if r.status_code == 409)
    assert Hearing.objects.filter(prosecution=p).count() == 1
    assert Prosecution.objects.get(pk=p.pk).version == p.version + 1
    assert TransitionLog.for_object(p).filter(transition="withdraw").count() == 1


def test_a_hearing_sent_again_without_a_version_is_refused_with_409_and_another_date_is_recorded(
    assigned, officer
):
    p = assigned().prosecution
    client = APIClient()
    client.force_authenticate(officer)

    first = client.post("/api/v1/hearings/", postponement(p), format="json")
    again = client.post("/api/v1/hearings/", postponement(p), format="json")
    later = client.post("/api/v1/hearings/", postponement(p, date=days_ago(0).isoformat()), format="json")

    assert (first.status_code, again.status_code, later.status_code) == (201, 409, 201)
    assert Hearing.objects.filter(prosecution=p).count() == 2


def test_the_same_case_number_enrolled_ten_times_at_once_gives_one_matter_and_nine_refusals_naming_it(
    make_user,
):
    court = CourtFactory()
    npa = make_user(cw.NPA_LIAISON, grants=[court])
    cases = [PoliceCaseFactory() for _ in range(10)]
    for case in cases:
        court.stations.add(case.station)
        set_state(case, "referred_to_npa")
    payloads = [
        {
            "police_case": case.pk,
            "court": court.code,
            "case_number": "RC 77/2026",
            "enrolled_on": days_ago(30).isoformat(),
            "accused": [{"name": "J. Accused"}],
        }
        for case in cases
    ]

    responses = post_at_once(npa, "/api/v1/prosecutions/", payloads)

    assert sorted(r.status_code for r in responses) == [201] + [400] * 9
    assert all("case_number" in r.json()["errors"] for r in responses if r.status_code == 400)
    assert Prosecution.objects.filter(court=court).count() == 1
