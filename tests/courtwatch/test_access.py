"""Who sees and does what: a watcher only their briefs (404 for the rest, on every page and
endpoint), supervisors all, committee members the review queue and the cases in it."""

import pytest

from casework import services as cws
from casework.models import Prosecution
from courtwatch import services
from courtwatch.models import Brief, Feedback, Hearing, Notification

from .conftest import days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(assigned, other_officer, supervisor):
    """A brief assigned to officer-b, withdrawn, with a hearing, feedback, review and meeting."""
    brief = assigned()
    services.brief_assign(brief, actor=supervisor, version=None, officer=other_officer)
    brief.refresh_from_db()
    services.hearing_record(
        actor=other_officer,
        prosecution=brief.prosecution,
        held_on=days_ago(3),
        kind="remand",
        outcome="withdrawn",
        reason="witness_intimidated",
    )
    feedback = services.feedback_create(
        actor=other_officer,
        brief=brief,
        category="witness_intimidated",
        text="Threats outside court",
        recipient="saps",
    )
    brief.refresh_from_db()
    return brief, feedback


def test_a_watcher_gets_404_for_another_officers_brief_on_every_page(client, officer, theirs):
    brief, feedback = theirs
    client.force_login(officer)
    hearing = Hearing.objects.get(brief=brief)
    for url in [
        f"/courtwatch/briefs/{brief.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        f"/courtwatch/briefs/{brief.pk}/hearings/",
        f"/courtwatch/briefs/{brief.pk}/feedback/",
        f"/courtwatch/briefs/{brief.pk}/transitions/close/",
        f"/courtwatch/briefs/{brief.pk}/transitions/assign/",
        f"/courtwatch/feedback/{feedback.pk}/response/",
    ]:
        assert client.post(url, {"version": brief.version, "response": "x"}).status_code == 404, url
    page = client.get("/courtwatch/briefs/").content.decode()
    assert brief.prosecution.case_number not in page
    roll = client.get("/courtwatch/roll/?period=week").content.decode()
    assert brief.prosecution.case_number not in roll
    for url in ["/courtwatch/supervisor/", "/courtwatch/reviews/", "/courtwatch/meetings/"]:
        assert client.get(url).status_code == 404, url
    assert hearing.pk


def test_a_watcher_gets_404_for_another_officers_brief_on_every_endpoint(api, officer, theirs):
    brief, feedback = theirs
    c = api(officer)
    p = brief.prosecution
    hearing = Hearing.objects.get(brief=brief)
    for url in [
        f"/api/v1/briefs/{brief.pk}/",
        f"/api/v1/briefs/{brief.pk}/transitions/",
        f"/api/v1/briefs/{brief.pk}/history/",
        f"/api/v1/hearings/{hearing.pk}/",
        f"/api/v1/feedback/{feedback.pk}/",
        f"/api/v1/prosecutions/{p.pk}/",
        f"/api/v1/prosecutions/{p.pk}/history/",
    ]:
        assert c.get(url).status_code == 404, url
    for url in [
        f"/api/v1/briefs/{brief.pk}/transitions/close/",
        f"/api/v1/prosecutions/{p.pk}/transitions/re_enrol/",
        f"/api/v1/feedback/{feedback.pk}/response/",
    ]:
        assert (
            c.post(url, {"version": 1, "reason": "x", "response": "x"}, format="json").status_code == 404
        ), url
    assert c.get(f"/api/v1/briefs/?prosecution={p.pk}").data["results"] == []
    assert c.get(f"/api/v1/hearings/?prosecution={p.pk}").data["results"] == []
    assert c.get("/api/v1/feedback/").data["results"] == []
    # Recording a hearing or feedback on a matter one cannot see reads as "does not exist".
    before = (Hearing.objects.count(), Feedback.objects.count(), Prosecution.objects.get(pk=p.pk).version)
    r = c.post(
        "/api/v1/hearings/",
        {"prosecution": p.pk, "date": days_ago(1).isoformat(), "type": "remand", "outcome": "trial_started"},
        format="json",
    )
    assert r.status_code == 400 and "prosecution" in r.data["errors"]
    r = c.post(
        "/api/v1/feedback/",
        {"brief": brief.pk, "category": "other", "recipient": "npa", "text": "x"},
        format="json",
    )
    assert r.status_code == 400 and "brief" in r.data["errors"]
    assert (
        Hearing.objects.count(),
        Feedback.objects.count(),
        Prosecution.objects.get(pk=p.pk).version,
    ) == before


def test_a_watcher_sees_and_moves_only_their_own_prosecution(api, assigned, officer, enrol):
    mine = assigned()
    not_mine = enrol()
    c = api(officer)
    ids = {row["id"] for row in c.get("/api/v1/prosecutions/").data["results"]}
    assert ids == {mine.prosecution.pk}
    assert c.get(f"/api/v1/prosecutions/{not_mine.pk}/").status_code == 404
    r = c.get(f"/api/v1/prosecutions/{mine.prosecution.pk}/transitions/")
    names = {t["name"] for t in r.data["transitions"]}
    assert "remand" in names and "re_enrol" not in names


def test_reassignment_moves_the_watch_grant_to_the_new_officer(
    api, assigned, officer, other_officer, supervisor
):
    brief = assigned()
    assert api(officer).get(f"/api/v1/briefs/{brief.pk}/").status_code == 200
    r = api(supervisor).post(
        f"/api/v1/briefs/{brief.pk}/transitions/assign/",
        {"officer": other_officer.username, "version": brief.version},
        format="json",
    )
    assert r.status_code == 200, r.data
    assert r.data["officer"] == other_officer.username
    assert api(officer).get(f"/api/v1/briefs/{brief.pk}/").status_code == 404
    assert api(other_officer).get(f"/api/v1/briefs/{brief.pk}/").status_code == 200
    assert Notification.objects.filter(user=other_officer, kind="brief_assigned").exists()


def test_supervisors_see_every_brief_and_bulk_assign_a_courts_unassigned_ones(
    api, enrol, supervisor, officer, court
):
    a, b = enrol(), enrol()
    finalised = enrol()
    cws.prosecution_withdraw(finalised, actor=None, version=None, reason="other")
    c = api(supervisor)
    assert c.get("/api/v1/briefs/").data["count"] == 3
    r = c.post(
        "/api/v1/briefs/bulk-assign/", {"court": court.code, "officer": officer.username}, format="json"
    )
    assert r.status_code == 200, r.data
    assert {row["prosecution"] for row in r.data} == {a.pk, b.pk}
    assert set(Brief.objects.filter(officer=officer).values_list("prosecution", flat=True)) == {a.pk, b.pk}
    assert Brief.objects.get(prosecution=finalised).state == "unassigned"


def test_bulk_assignment_to_someone_who_is_not_a_court_watcher_changes_nothing(
    api, enrol, supervisor, members, court
):
    enrol()
    r = api(supervisor).post(
        "/api/v1/briefs/bulk-assign/", {"court": court.code, "officer": members[0].username}, format="json"
    )
    assert r.status_code == 400 and "officer" in r.data["errors"]
    assert not Brief.objects.exclude(state="unassigned").exists()


def test_a_watcher_may_not_assign_or_bulk_assign(api, assigned, officer, other_officer, court):
    brief = assigned()
    r = api(officer).post(
        f"/api/v1/briefs/{brief.pk}/transitions/assign/",
        {"officer": other_officer.username, "version": brief.version},
        format="json",
    )
    assert r.status_code == 403
    r = api(officer).post(
        "/api/v1/briefs/bulk-assign/", {"court": court.code, "officer": officer.username}, format="json"
    )
    assert r.status_code == 403
    assert Brief.objects.get(pk=brief.pk).officer == officer


def test_committee_members_see_the_queue_and_the_reviewed_cases_but_no_briefs(
    api, client, theirs, enrol, members
):
    brief, _ = theirs
    unreviewed = enrol()
    c = api(members[0])
    reviews = c.get("/api/v1/reviews/").data["results"]
    assert [r["prosecution"] for r in reviews] == [brief.prosecution.pk]
    assert c.get(f"/api/v1/prosecutions/{brief.prosecution.pk}/").status_code == 200
    assert c.get(f"/api/v1/prosecutions/{unreviewed.pk}/").status_code == 404
    assert c.get("/api/v1/briefs/").data["results"] == []
    assert c.get(f"/api/v1/briefs/{brief.pk}/").status_code == 404
    assert c.get("/api/v1/hearings/").data["results"] == []
    client.force_login(members[0])
    assert client.get("/courtwatch/reviews/").status_code == 200
    assert client.get(f"/courtwatch/reviews/{reviews[0]['id']}/").status_code == 200
    assert client.get(f"/courtwatch/briefs/{brief.pk}/").status_code == 404


def test_people_outside_court_watching_see_no_briefs_reviews_or_meetings(api, theirs, make_user):
    analyst = make_user("vpu_analyst")
    c = api(analyst)
    for url in ["/api/v1/briefs/", "/api/v1/reviews/", "/api/v1/meetings/", "/api/v1/hearings/"]:
        assert c.get(url).data["results"] == [], url
    assert api().get("/api/v1/briefs/").status_code in (401, 403)
