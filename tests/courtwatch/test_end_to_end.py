"""One prosecution from enrolment to conviction, purely through the hearing and review APIs."""

import pytest
from django.core import mail

from casework import services as cws
from casework.models import Prosecution, TransitionLog
from courtwatch.models import Brief, Notification, WithdrawalReview
from tests.factories import IncidentFactory, PoliceCaseFactory

from .conftest import days_ago

pytestmark = pytest.mark.django_db


def test_a_matter_goes_from_enrolment_through_withdrawal_review_and_re_enrolment_to_conviction(
    api, npa, court, supervisor, officer, members, django_capture_on_commit_callbacks
):
    incident = IncidentFactory(mechanism="firearm", gang_related=True)
    case = PoliceCaseFactory(opened_on=days_ago(200), incidents=[incident])
    court.stations.add(case.station)  # the NPA liaison's court serves the docket's station
    cws.police_case_investigate(case, actor=None, version=None)
    cws.police_case_refer_to_npa(case, actor=None, version=None)

    # Enrolment (NPA) opens a brief automatically.
    r = api(npa).post(
        "/api/v1/prosecutions/",
        {
            "police_case": case.pk,
            "court": court.code,
            "case_number": "RC 77/2026",
            "enrolled_on": days_ago(120).isoformat(),
            "accused": [{"name": "Jo Doe"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.data
    pid = r.data["id"]
    brief = api(supervisor).get(f"/api/v1/briefs/?prosecution={pid}").data["results"][0]
    assert brief["state"] == "unassigned"
    assert brief["next_appearance"] == days_ago(120).isoformat()

    # The supervisor assigns it; the officer now sees it, and is told.
    with django_capture_on_commit_callbacks(execute=True):
        r = api(supervisor).post(
            f"/api/v1/briefs/{brief['id']}/transitions/assign/",
            {"officer": officer.username, "version": brief["version"]},
            format="json",
        )
    assert r.status_code == 200, r.data
    assert r.data["state"] == "assigned" and r.data["officer"] == officer.username
    assert api(officer).get(f"/api/v1/briefs/{brief['id']}/").status_code == 200
    assert Notification.objects.filter(user=officer, kind="brief_assigned").count() == 1
    assert len(mail.outbox) == 1

    watcher = api(officer)

    def hearing(**body):
        r = watcher.post("/api/v1/hearings/", {"prosecution": pid, **body}, format="json")
        assert r.status_code == 201, r.data
        return r.data

    # First appearance and three postponements.
    h = hearing(
        date=days_ago(120).isoformat(),
        type="first_appearance",
        outcome="postponed",
        reason="further_investigation",
        next_date=days_ago(90).isoformat(),
    )
    assert h["transition"] == "remand" and h["to_state"] == "remanded"
    assert Brief.objects.get(pk=brief["id"]).state == "monitoring"
    for when, nxt, reason in [
        (90, 60, "docket_not_at_court"),
        (60, 40, "forensic_report_outstanding"),
        (40, 20, "witness_absent"),
    ]:
        hearing(
            date=days_ago(when).isoformat(),
            type="remand",
            outcome="postponed",
            reason=reason,
            next_date=days_ago(nxt).isoformat(),
        )
    p = Prosecution.objects.get(pk=pid)
    assert p.state == "remanded" and p.next_appearance == days_ago(20)
    assert Brief.objects.get(pk=brief["id"]).next_appearance == days_ago(20)

    # Withdrawn at court: a review is flagged at once, with its priority reasons.
    h = hearing(
        date=days_ago(20).isoformat(), type="remand", outcome="withdrawn", reason="docket_not_at_court"
    )
    assert h["to_state"] == "withdrawn"
    assert Prosecution.objects.get(pk=pid).state == "withdrawn"
    reviews = api(members[0]).get(f"/api/v1/reviews/?prosecution={pid}").data["results"]
    assert len(reviews) == 1
    review = reviews[0]
    assert review["state"] == "flagged"
    assert review["priority_reasons"] == ["firearm", "gang_related"]
    assert review["overdue"] is False
    assert Brief.objects.get(pk=brief["id"]).next_appearance is None

    # The committee meets, schedules and decides to re-enrol.
    committee = api(members[0])
    r = committee.post(
        "/api/v1/meetings/",
        {"date": days_ago(0).isoformat(), "members": [m.username for m in members]},
        format="json",
    )
    assert r.status_code == 201, r.data
    meeting = r.data["id"]
    r = committee.post(
        f"/api/v1/reviews/{review['id']}/transitions/schedule/",
        {"meeting": meeting, "version": review["version"]},
        format="json",
    )
    assert r.status_code == 200, r.data
    assert r.data["state"] == "on_agenda"
    r = committee.post(
        f"/api/v1/reviews/{review['id']}/transitions/decide/",
        {
            "decision": "re_enrol",
            "rationale": "Docket located; police-attributable withdrawal.",
            "members_present": [members[0].username, members[1].username],
            "version": r.data["version"],
        },
        format="json",
    )
    assert r.status_code == 200, r.data
    assert r.data["state"] == "decided" and r.data["decision"] == "re_enrol"
    assert r.data["members_present"] == [members[0].username, members[1].username]

    # The NPA re-enrols, naming the review: the review closes.
    version = Prosecution.objects.get(pk=pid).version
    r = api(npa).post(
        f"/api/v1/prosecutions/{pid}/transitions/re_enrol/",
        {"reason": "committee decision", "review": review["id"], "version": version},
        format="json",
    )
    assert r.status_code == 200, r.data
    assert r.data["state"] == "remanded" and r.data["enrolments"] == 2
    assert WithdrawalReview.objects.get(pk=review["id"]).state == "closed"

    # The next hearing convicts.
    h = hearing(date=days_ago(0).isoformat(), type="trial", outcome="convicted")
    assert h["to_state"] == "convicted"
    p = Prosecution.objects.get(pk=pid)
    assert p.state == "convicted"
    assert list(p.accused.values_list("outcome", flat=True)) == ["convicted"]

    # History: every step, from every entry point, is in the log.
    # (In recording order: the enrol row takes effect when it was recorded, today, while each
    # hearing's change takes effect on the hearing's date.)
    rows = sorted(api(supervisor).get(f"/api/v1/prosecutions/{pid}/history/").data, key=lambda row: row["id"])
    history = [(row["transition"], row["to_state"]) for row in rows]
    assert history == [
        ("enrol", "enrolled"),
        ("remand", "remanded"),
        ("remand", "remanded"),
        ("remand", "remanded"),
        ("remand", "remanded"),
        ("withdraw", "withdrawn"),
        ("re_enrol", "remanded"),
        ("convict", "convicted"),
    ]
    review_history = [
        row["transition"] for row in committee.get(f"/api/v1/reviews/{review['id']}/history/").data
    ]
    assert review_history == ["flag", "schedule", "decide", "close"]
    brief_history = [
        row["transition"] for row in api(officer).get(f"/api/v1/briefs/{brief['id']}/history/").data
    ]
    assert brief_history == ["open", "assign", "start_monitoring"]
    hearings = watcher.get(f"/api/v1/hearings/?prosecution={pid}").data["results"]
    assert len(hearings) == 6
    remand_log = TransitionLog.for_object(p).filter(transition="remand").first()
    assert remand_log.data["hearing"] == hearings[-1]["id"]
