"""Recording hearings: the outcome drives the prosecution in the same transaction, or nothing is written."""

import pytest

from casework.errors import InvalidInput
from casework.models import Prosecution, TransitionLog
from courtwatch import services
from courtwatch.models import Brief, Hearing, WithdrawalReview
from tests.factories import CourtFactory, set_state

from .conftest import days_ago

pytestmark = pytest.mark.django_db


def counts(p):
    return (
        Hearing.objects.count(),
        TransitionLog.objects.count(),
        WithdrawalReview.objects.count(),
        Prosecution.objects.get(pk=p.pk).state,
        Prosecution.objects.get(pk=p.pk).version,
        Brief.objects.get(prosecution=p).state,
    )


def post_hearing(client, p, **body):
    payload = {"prosecution": p.pk, "date": days_ago(5).isoformat(), "type": "remand", **body}
    return client.post("/api/v1/hearings/", payload, format="json")


def test_a_prosecution_from_a_casetrail_incident_gets_a_brief_and_one_without_none(enrol):
    with_incident = enrol()
    without = enrol(linked=False)
    assert Brief.objects.get(prosecution=with_incident).state == "unassigned"
    assert not Brief.objects.filter(prosecution=without).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"date": days_ago(-2).isoformat(), "outcome": "postponed", "reason": "witness_absent"}, "date"),
        ({"date": days_ago(300).isoformat(), "outcome": "postponed", "reason": "witness_absent"}, "date"),
        (
            {"outcome": "postponed", "reason": "witness_absent", "next_date": days_ago(6).isoformat()},
            "next_date",
        ),
        ({"outcome": "postponed", "reason": "witness_absent"}, "next_date"),
        ({"outcome": "postponed", "reason": "not_a_code", "next_date": days_ago(1).isoformat()}, "reason"),
        ({"outcome": "postponed", "reason": "witness_absent", "court": "no-such-court"}, "court"),
        ({"outcome": "withdrawn"}, "reason"),
        ({"outcome": "withdrawn", "reason": "court_roll_full"}, "reason"),
        ({"outcome": "transferred", "new_court": "no-such-court"}, "new_court"),
        ({"outcome": "transferred"}, "new_court"),
        ({"outcome": "diverted"}, "programme"),
        ({"outcome": "no_such_outcome"}, "outcome"),
        ({"outcome": "postponed", "type": "tea_break"}, "type"),
    ],
)
def test_bad_hearing_input_is_refused_naming_the_field_and_nothing_is_written(
    api, assigned, officer, body, field
):
    brief = assigned()
    p = brief.prosecution
    before = counts(p)
    r = post_hearing(api(officer), p, **body)
    assert r.status_code == 400, r.data
    assert field in r.data["errors"], r.data
    assert counts(p) == before


def test_an_outcome_impossible_from_the_state_answers_400_listing_the_valid_outcomes(api, assigned, officer):
    brief = assigned()
    p = brief.prosecution
    before = counts(p)
    r = post_hearing(api(officer), p, outcome="acquitted")
    assert r.status_code == 400
    assert r.data["state"] == "enrolled"
    assert "acquitted" not in r.data["allowed"]
    assert set(r.data["allowed"]) >= {"postponed", "trial_started", "convicted", "withdrawn", "transferred"}
    assert counts(p) == before


def test_a_court_other_than_the_matters_is_refused(api, assigned, officer):
    brief = assigned()
    other = CourtFactory()
    before = counts(brief.prosecution)
    r = post_hearing(api(officer), brief.prosecution, outcome="convicted", court=other.code)
    assert r.status_code == 400 and "court" in r.data["errors"]
    assert counts(brief.prosecution) == before


def test_a_hearing_earlier_than_one_already_recorded_is_refused(api, assigned, officer):
    brief = assigned()
    p = brief.prosecution
    r = post_hearing(
        api(officer), p, outcome="postponed", reason="witness_absent", next_date=days_ago(1).isoformat()
    )
    assert r.status_code == 201
    before = counts(p)
    r = post_hearing(api(officer), p, date=days_ago(9).isoformat(), outcome="convicted")
    assert r.status_code == 400 and "date" in r.data["errors"]
    assert counts(p) == before


@pytest.mark.parametrize(
    "start, body, transition, to_state",
    [
        (
            "enrolled",
            {"outcome": "postponed", "reason": "legal_aid", "next_date": days_ago(-7).isoformat()},
            "remand",
            "remanded",
        ),
        ("remanded", {"outcome": "trial_started"}, "start_trial", "trial"),
        ("trial", {"outcome": "convicted", "next_date": days_ago(-14).isoformat()}, "convict", "convicted"),
        ("trial", {"outcome": "acquitted"}, "acquit", "acquitted"),
        ("convicted", {"outcome": "sentenced", "sentence": "15 years"}, "sentence", "sentenced"),
        ("remanded", {"outcome": "withdrawn", "reason": "witness_intimidated"}, "withdraw", "withdrawn"),
        (
            "remanded",
            {"outcome": "provisionally_withdrawn", "reason": "docket_not_at_court"},
            "withdraw_provisionally",
            "provisionally_withdrawn",
        ),
        (
            "enrolled",
            {"outcome": "struck_off", "reason": "detention_48h_exceeded"},
            "strike_off",
            "struck_off",
        ),
        ("trial", {"outcome": "warrant_issued"}, "issue_warrant", "warrant_issued"),
        ("remanded", {"outcome": "diverted", "programme": "NICRO youth"}, "divert", "diverted"),
        (
            "warrant_issued",
            {"outcome": "postponed", "reason": "accused_absent", "next_date": days_ago(-3).isoformat()},
            "remand",
            "remanded",
        ),
    ],
)
def test_each_outcome_takes_its_prosecution_transition_logged_at_the_hearing_date(
    api, assigned, officer, start, body, transition, to_state
):
    brief = assigned()
    p = brief.prosecution
    set_state(p, start)
    r = post_hearing(api(officer), p, **body)
    assert r.status_code == 201, r.data
    assert (r.data["transition"], r.data["to_state"]) == (transition, to_state)
    p.refresh_from_db()
    assert p.state == to_state
    log = TransitionLog.for_object(p).get(transition=transition)
    assert log.actor == officer and log.data["hearing"] == r.data["id"]
    assert log.at.date() <= days_ago(5)


def test_a_transfer_moves_the_matter_to_the_new_court(api, assigned, officer):
    brief = assigned()
    high = CourtFactory(level="high")
    r = post_hearing(api(officer), brief.prosecution, outcome="transferred", new_court=high.code)
    assert r.status_code == 201, r.data
    assert Prosecution.objects.get(pk=brief.prosecution.pk).court == high


def test_a_postponed_trial_records_the_hearing_and_keeps_the_matter_on_trial(api, assigned, officer):
    brief = assigned()
    p = brief.prosecution
    set_state(p, "trial")
    r = post_hearing(
        api(officer), p, outcome="postponed", reason="witness_absent", next_date=days_ago(-5).isoformat()
    )
    assert r.status_code == 201, r.data
    assert r.data["transition"] == "" and r.data["to_state"] == "trial"
    assert Brief.objects.get(pk=brief.pk).next_appearance == days_ago(-5)


def test_the_first_hearing_starts_monitoring_and_sets_the_briefs_next_date(api, assigned, officer):
    brief = assigned()
    r = post_hearing(
        api(officer),
        brief.prosecution,
        outcome="postponed",
        reason="legal_aid",
        next_date=days_ago(-10).isoformat(),
    )
    assert r.status_code == 201
    brief.refresh_from_db()
    assert brief.state == "monitoring"
    assert brief.next_appearance == days_ago(-10)
    assert r.data["officer"] == officer.username


def test_a_final_outcome_closes_the_brief(api, assigned, officer):
    brief = assigned()
    set_state(brief.prosecution, "trial")
    assert post_hearing(api(officer), brief.prosecution, outcome="acquitted").status_code == 201
    assert Brief.objects.get(pk=brief.pk).state == "closed"


def test_a_stale_prosecution_version_answers_409_and_writes_nothing(api, assigned, officer):
    brief = assigned()
    p = brief.prosecution
    before = counts(p)
    r = post_hearing(
        api(officer),
        p,
        outcome="postponed",
        reason="legal_aid",
        next_date=days_ago(-3).isoformat(),
        version=p.version - 1 if p.version > 1 else p.version + 5,
    )
    assert r.status_code == 409
    assert counts(p) == before


def test_when_casework_refuses_the_move_the_hearing_already_created_is_rolled_back(api, assigned, officer):
    brief = assigned()
    p = brief.prosecution
    before = counts(p)
    # A transfer to the court the matter is already at passes our checks; casework refuses it.
    r = post_hearing(api(officer), p, outcome="transferred", new_court=p.court.code)
    assert r.status_code == 400 and "court" in r.data["errors"], r.data
    assert counts(p) == before


def test_the_service_refuses_a_sentence_with_no_text(assigned, officer):
    brief = assigned()
    set_state(brief.prosecution, "convicted")
    with pytest.raises(InvalidInput) as e:
        services.hearing_record(
            actor=officer,
            prosecution=brief.prosecution,
            held_on=days_ago(1),
            kind="sentencing",
            outcome="sentenced",
        )
    assert "sentence" in e.value.errors
    assert not Hearing.objects.exists()
