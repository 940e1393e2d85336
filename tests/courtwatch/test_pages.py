"""The court watcher's phone pages, the supervisor's courts page, the committee's queue and exports."""

import csv
import io

import pytest

from casework import services as cws
from courtwatch import services
from courtwatch.models import Brief, Feedback, Hearing, WithdrawalReview
from tests.factories import set_state

from .conftest import days_ago

pytestmark = pytest.mark.django_db


def test_the_brief_page_offers_only_the_outcomes_valid_now(client, assigned, officer):
    brief = assigned()
    set_state(brief.prosecution, "convicted")
    client.force_login(officer)
    page = client.get(f"/courtwatch/briefs/{brief.pk}/").content.decode()
    assert 'value="sentenced"' in page
    assert 'value="postponed"' not in page and 'value="acquitted"' not in page


def test_recording_a_hearing_on_the_phone_page_moves_the_matter(client, assigned, officer):
    brief = assigned()
    client.force_login(officer)
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/hearings/",
        {
            "date": days_ago(2).isoformat(),
            "type": "first_appearance",
            "outcome": "postponed",
            "reason": "legal_aid",
            "next_date": days_ago(-14).isoformat(),
            "version": brief.prosecution.version,
        },
    )
    assert r.status_code == 302
    brief.refresh_from_db()
    assert brief.state == "monitoring" and brief.prosecution.state == "remanded"
    page = client.get(f"/courtwatch/briefs/{brief.pk}/").content.decode()
    assert "Legal aid" in page or "legal_aid" in page


def test_a_bad_hearing_form_answers_with_the_error_on_its_field_and_writes_nothing(client, assigned, officer):
    brief = assigned()
    client.force_login(officer)
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/hearings/",
        {
            "date": days_ago(2).isoformat(),
            "type": "remand",
            "outcome": "postponed",
            "reason": "legal_aid",
            "next_date": days_ago(3).isoformat(),
        },
    )
    assert r.status_code == 400
    assert "The next date must be after the hearing date." in r.content.decode()
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/hearings/",
        {"date": days_ago(2).isoformat(), "type": "remand", "outcome": "acquitted"},
    )
    page = r.content.decode()
    assert r.status_code == 400 and "cannot be recorded as “Acquitted” now. Possible now: Postponed" in page
    assert not Hearing.objects.exists()
    assert Brief.objects.get(pk=brief.pk).state == "assigned"


def test_feedback_and_its_response_are_recorded_from_the_brief_page(client, assigned, officer):
    brief = assigned()
    client.force_login(officer)
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/feedback/",
        {
            "category": "docket_incomplete",
            "recipient": "saps",
            "recipient_detail": "Mitchells Plain DO",
            "text": "J88 missing from the docket",
        },
    )
    assert r.status_code == 302
    f = Feedback.objects.get()
    r = client.post(f"/courtwatch/feedback/{f.pk}/response/", {"response": "J88 obtained"})
    assert r.status_code == 302
    f.refresh_from_db()
    assert f.response == "J88 obtained" and f.responded_at is not None
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/feedback/", {"category": "other", "recipient": "nobody", "text": ""}
    )
    assert r.status_code == 400 and Feedback.objects.count() == 1


def test_the_officers_roll_lists_todays_and_this_weeks_expected_hearings(
    client, assigned, officer, other_officer
):
    today = assigned()
    Brief.objects.filter(pk=today.pk).update(next_appearance=days_ago(0))
    later = assigned()
    Brief.objects.filter(pk=later.pk).update(next_appearance=days_ago(-40))
    client.force_login(officer)
    page = client.get("/courtwatch/roll/?period=today").content.decode()
    assert today.prosecution.case_number in page and later.prosecution.case_number not in page
    assert today.prosecution.court.name in page
    assert "First hearing on this brief" in page
    client.force_login(other_officer)
    assert today.prosecution.case_number not in client.get("/courtwatch/roll/?period=today").content.decode()


def test_the_supervisor_page_shows_unassigned_and_stale_briefs_per_court_and_bulk_assigns(
    client, enrol, assigned, supervisor, officer, court
):
    unassigned = enrol()
    stale = assigned()
    Brief.objects.filter(pk=stale.pk).update(next_appearance=days_ago(4))
    client.force_login(supervisor)
    page = client.get("/courtwatch/supervisor/").content.decode()
    assert court.name in page
    assert unassigned.case_number in page and stale.prosecution.case_number in page
    r = client.post("/courtwatch/supervisor/assign/", {"court": court.code, "officer": officer.username})
    assert r.status_code == 302
    assert Brief.objects.get(prosecution=unassigned).officer == officer
    r = client.post("/courtwatch/supervisor/assign/", {"court": "nowhere", "officer": officer.username})
    assert r.status_code == 302  # with the error as a message
    assert Brief.objects.filter(state="unassigned").count() == 0


def test_supervisors_assign_from_the_brief_page_and_a_stale_version_is_a_form_error(
    client, enrol, supervisor, officer
):
    p = enrol()
    brief = p.brief
    client.force_login(supervisor)
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/transitions/assign/", {"officer": officer.username, "version": 99}
    )
    assert r.status_code == 400 and "changed by someone else" in r.content.decode()
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/transitions/assign/",
        {"officer": officer.username, "version": brief.version},
    )
    assert r.status_code == 302
    assert Brief.objects.get(pk=brief.pk).officer == officer


@pytest.fixture
def agenda(enrol, members):
    meeting = services.meeting_create(actor=members[0], date=days_ago(0), members=members)
    reviews = []
    for incident in ({"gang_related": True}, {"fatal": True}):
        p = enrol(incident=incident)
        cws.prosecution_withdraw(p, actor=None, version=None, reason="witness_intimidated")
        review = WithdrawalReview.objects.get(prosecution=p)
        reviews.append(services.review_schedule(review, actor=members[0], version=None, meeting=meeting))
    services.review_decide(
        reviews[0],
        actor=members[0],
        version=None,
        decision="uphold_withdrawal",
        rationale="Complainant relocated",
    )
    return meeting, reviews


def test_the_agenda_exports_as_csv_in_priority_order_with_decisions(client, agenda, members):
    meeting, reviews = agenda
    client.force_login(members[1])
    r = client.get(f"/courtwatch/meetings/{meeting.pk}/agenda.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [int(row["review"]) for row in rows] == [reviews[1].pk, reviews[0].pk]
    assert rows[1]["decision"] == "uphold_withdrawal" and rows[1]["rationale"] == "Complainant relocated"
    assert rows[1]["decision_label"] == "Uphold withdrawal"  # the words beside the code
    assert rows[0]["priority_reasons"] == "fatal"
    page = client.get(f"/courtwatch/meetings/{meeting.pk}/").content.decode()
    assert "Complainant relocated" in page and "data-print" in page


def test_the_committee_decides_from_the_review_page(client, agenda, members):
    _, reviews = agenda
    review = WithdrawalReview.objects.get(pk=reviews[1].pk)
    client.force_login(members[0])
    assert client.get("/courtwatch/reviews/").status_code == 200
    r = client.post(
        f"/courtwatch/reviews/{review.pk}/transitions/decide/",
        {"decision": "re_enrol", "version": review.version},
    )
    assert r.status_code == 400 and WithdrawalReview.objects.get(pk=review.pk).state == "on_agenda"
    r = client.post(
        f"/courtwatch/reviews/{review.pk}/transitions/decide/",
        {"decision": "re_enrol", "rationale": "Witness protection arranged", "version": review.version},
    )
    assert r.status_code == 302
    assert WithdrawalReview.objects.get(pk=review.pk).state == "decided"


def test_meetings_and_exports_are_hidden_from_court_watchers(client, agenda, officer):
    meeting, _ = agenda
    client.force_login(officer)
    for url in [
        f"/courtwatch/meetings/{meeting.pk}/",
        f"/courtwatch/meetings/{meeting.pk}/agenda.csv",
        "/courtwatch/meetings/",
    ]:
        assert client.get(url).status_code == 404, url
