"""Withdrawal reviews: flagged from every entry point, prioritised, scheduled, decided, closed."""

import datetime

import pytest
from django.utils import timezone

from casework import services as cws
from casework.models import Prosecution, TransitionLog
from courtwatch import services
from courtwatch.models import Brief, WithdrawalReview
from tests.factories import set_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(members):
    return services.meeting_create(actor=members[0], date=timezone.localdate(), members=members)


def withdrawn(enrol, **kwargs):
    p = enrol(**kwargs)
    cws.prosecution_withdraw(p, actor=None, version=None, reason="witness_intimidated")
    return p, WithdrawalReview.objects.get(prosecution=p)


@pytest.mark.parametrize(
    "service, state",
    [
        (cws.prosecution_withdraw, "withdrawn"),
        (cws.prosecution_withdraw_provisionally, "provisionally_withdrawn"),
        (cws.prosecution_strike_off, "struck_off"),
    ],
)
def test_leaving_the_roll_from_any_entry_point_flags_a_review_at_once(enrol, npa, service, state):
    p = enrol()
    service(p, actor=npa, version=p.version, reason="docket_not_at_court")
    review = WithdrawalReview.objects.get(prosecution=p)
    assert (review.state, review.removal, review.removal_reason) == (
        "flagged",
        service.__name__[12:],
        "docket_not_at_court",
    )
    assert Prosecution.objects.get(pk=p.pk).state == state


def test_the_api_transition_flags_a_review_too(api, enrol, npa):
    p = enrol()
    r = api(npa).post(
        f"/api/v1/prosecutions/{p.pk}/transitions/strike_off/",
        {"reason": "detention_48h_exceeded", "version": p.version},
        format="json",
    )
    assert r.status_code == 200, r.data
    assert WithdrawalReview.objects.filter(prosecution=p, state="flagged").count() == 1


def test_priority_reasons_and_the_queue_order_follow_the_committee_rule(api, enrol, members):
    plain, _ = withdrawn(enrol)
    gang, _ = withdrawn(enrol, incident={"gang_related": True})
    firearm, _ = withdrawn(enrol, incident={"mechanism": "firearm"})
    fatal, _ = withdrawn(enrol, incident={"fatal": True, "mechanism": "sharp"})
    enrol(accused=["Xolani  Mbeki"])
    repeat, _ = withdrawn(enrol, accused=["mbeki, xolani"])
    older_plain, older = withdrawn(enrol)
    WithdrawalReview.objects.filter(pk=older.pk).update(
        flagged_at=timezone.now() - datetime.timedelta(days=40)
    )
    rows = api(members[0]).get("/api/v1/reviews/").data["results"]
    order = [r["prosecution"] for r in rows]
    assert order == [fatal.pk, firearm.pk, gang.pk, repeat.pk, older_plain.pk, plain.pk]
    by_p = {r["prosecution"]: r for r in rows}
    assert by_p[fatal.pk]["priority_reasons"] == ["fatal"]
    assert by_p[repeat.pk]["priority_reasons"] == ["repeat_accused"]
    assert by_p[older_plain.pk]["overdue"] is True
    assert by_p[plain.pk]["overdue"] is False


def test_review_transitions_allowed_and_forbidden_from_each_state(api, enrol, members, meeting):
    p, review = withdrawn(enrol)
    c = api(members[0])

    def take(name, **body):
        review.refresh_from_db()
        return c.post(
            f"/api/v1/reviews/{review.pk}/transitions/{name}/",
            {"version": review.version, **body},
            format="json",
        )

    assert [t["name"] for t in c.get(f"/api/v1/reviews/{review.pk}/transitions/").data["transitions"]] == [
        "schedule"
    ]
    r = take("decide", decision="uphold_withdrawal", rationale="x")
    assert r.status_code == 400 and r.data["allowed"] == ["schedule"], r.data
    assert take("close").status_code == 400
    assert take("schedule", meeting=meeting.pk).status_code == 200
    assert take("schedule", meeting=meeting.pk).status_code == 400
    r = take("decide", decision="re_enrol")
    assert r.status_code == 422 and "rationale" in r.data["errors"]
    r = take("decide", decision="re_enrol", rationale="Docket found", members_present=["nobody"])
    assert r.status_code == 422 and "members_present" in r.data["errors"]
    r = take("decide", decision="re_enrol", rationale="Docket found")
    assert r.status_code == 200 and r.data["state"] == "decided"
    assert sorted(r.data["members_present"]) == sorted(m.username for m in members)
    # A re-enrolment decision cannot be closed by hand while the matter is still off the roll.
    assert take("close").status_code == 400
    assert WithdrawalReview.objects.get(pk=review.pk).state == "decided"


@pytest.mark.parametrize("decision", ["uphold_withdrawal", "further_investigation"])
def test_upholding_or_further_investigation_closes_the_review_at_once(enrol, members, meeting, decision):
    _, review = withdrawn(enrol)
    review = services.review_schedule(review, actor=members[0], version=review.version, meeting=meeting)
    review = services.review_decide(
        review, actor=members[1], version=review.version, decision=decision, rationale="Evidence insufficient"
    )
    assert review.state == "closed" and review.decision == decision


def test_only_committee_members_move_reviews(api, enrol, officer, supervisor, npa, meeting):
    _, review = withdrawn(enrol)
    for user in (supervisor, npa):
        r = api(user).post(
            f"/api/v1/reviews/{review.pk}/transitions/schedule/",
            {"meeting": meeting.pk, "version": review.version},
            format="json",
        )
        assert r.status_code == 403, user
    assert WithdrawalReview.objects.get(pk=review.pk).state == "flagged"


def test_a_stale_review_version_answers_409(api, enrol, members, meeting):
    _, review = withdrawn(enrol)
    r = api(members[0]).post(
        f"/api/v1/reviews/{review.pk}/transitions/schedule/",
        {"meeting": meeting.pk, "version": review.version + 1},
        format="json",
    )
    assert r.status_code == 409
    assert WithdrawalReview.objects.get(pk=review.pk).state == "flagged"


@pytest.fixture
def decided(enrol, members, meeting):
    def make(decision="re_enrol"):
        p, review = withdrawn(enrol)
        review = services.review_schedule(review, actor=members[0], version=None, meeting=meeting)
        services.review_decide(review, actor=members[0], version=None, decision=decision, rationale="r")
        return Prosecution.objects.get(pk=p.pk), WithdrawalReview.objects.get(pk=review.pk)

    return make


def test_re_enrolment_naming_a_review_of_another_matter_rolls_back_entirely(api, npa, decided):
    p, _ = decided()
    _, other_review = decided()
    r = api(npa).post(
        f"/api/v1/prosecutions/{p.pk}/transitions/re_enrol/",
        {"reason": "committee", "review": other_review.pk, "version": p.version},
        format="json",
    )
    assert r.status_code == 422 and "review" in r.data["errors"], r.data
    p2 = Prosecution.objects.get(pk=p.pk)
    assert (p2.state, p2.version, p2.enrolments) == ("withdrawn", p.version, 1)
    assert WithdrawalReview.objects.get(pk=other_review.pk).state == "decided"


def test_re_enrolment_closes_an_undecided_review_as_re_enrolled(api, npa, enrol):
    p, review = withdrawn(enrol)
    r = api(npa).post(
        f"/api/v1/prosecutions/{p.pk}/transitions/re_enrol/",
        {"reason": "Docket found", "version": p.version},
        format="json",
    )
    assert r.status_code == 200, r.data
    closed = WithdrawalReview.objects.get(pk=review.pk)
    assert closed.state == "closed"
    assert TransitionLog.for_object(closed).get(transition="close").reason == "re_enrolled"


def test_re_enrolment_with_the_deciding_review_closes_it_and_reopens_the_closed_brief(
    npa, decided, supervisor, officer
):
    p, review = decided()
    brief = Brief.objects.get(prosecution=p)
    services.brief_assign(brief, actor=supervisor, version=None, officer=officer)
    services.brief_close(brief, actor=officer, version=None)
    assert Brief.objects.get(pk=brief.pk).state == "closed"
    cws.prosecution_re_enrol(p, actor=npa, version=p.version, reason="committee", review=review.pk)
    assert WithdrawalReview.objects.get(pk=review.pk).state == "closed"
    assert Brief.objects.get(pk=brief.pk).state == "assigned"
    assert Prosecution.objects.get(pk=p.pk).state == "remanded"


def test_a_meeting_needs_committee_members_and_is_called_only_by_them(api, members, officer, supervisor):
    r = api(members[0]).post(
        "/api/v1/meetings/", {"date": "2026-01-10", "members": ["officer-a"]}, format="json"
    )
    assert r.status_code in (400,)
    r = api(members[0]).post("/api/v1/meetings/", {"date": "2026-01-10", "members": ["ghost"]}, format="json")
    assert r.status_code == 400 and "members" in r.data["errors"]
    r = api(supervisor).post(
        "/api/v1/meetings/", {"date": "2026-01-10", "members": [members[0].username]}, format="json"
    )
    assert r.status_code == 403
    r = api(members[0]).post(
        "/api/v1/meetings/", {"date": "not a date", "members": [members[0].username]}, format="json"
    )
    assert r.status_code == 400 and "date" in r.data["errors"]
    from courtwatch.models import CommitteeMeeting

    assert CommitteeMeeting.objects.count() == 0


def test_set_state_is_only_for_arranging(enrol):
    p = enrol()
    set_state(p, "trial")
    assert Prosecution.objects.get(pk=p.pk).state == "trial"
