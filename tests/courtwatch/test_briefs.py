"""The brief's state machine: unassigned → assigned → monitoring → closed, and back by re-enrolment."""

import datetime

import pytest
from django.utils import timezone

from casework import services as cws
from courtwatch import services
from courtwatch.models import Brief
from tests.factories import set_state

pytestmark = pytest.mark.django_db


def take(client, brief, name, **body):
    brief.refresh_from_db()
    return client.post(
        f"/api/v1/briefs/{brief.pk}/transitions/{name}/", {"version": brief.version, **body}, format="json"
    )


def names(client, brief):
    return [t["name"] for t in client.get(f"/api/v1/briefs/{brief.pk}/transitions/").data["transitions"]]


def test_a_supervisor_walks_a_brief_through_every_state(api, enrol, supervisor, officer, other_officer):
    p = enrol()
    brief = p.brief
    c = api(supervisor)
    assert names(c, brief) == ["assign"]
    assert take(c, brief, "start_monitoring").status_code == 400
    assert take(c, brief, "close").status_code == 400
    r = take(c, brief, "assign", officer=officer.username)
    assert r.status_code == 200 and r.data["state"] == "assigned"
    assert names(c, brief) == ["assign", "start_monitoring"]  # close waits for a finalised matter
    assert take(c, brief, "start_monitoring").data["state"] == "monitoring"
    r = take(c, brief, "assign", officer=other_officer.username)  # reassigning a monitored brief
    assert r.status_code == 200 and (r.data["state"], r.data["officer"]) == (
        "assigned",
        other_officer.username,
    )
    r = take(c, brief, "close")
    assert r.status_code == 400 and "close" not in r.data["allowed"]
    cws.prosecution_withdraw(p, actor=None, version=None, reason="other")
    assert take(c, brief, "close").data["state"] == "closed"
    assert names(c, brief) == ["reopen"]
    assert take(c, brief, "assign", officer=officer.username).status_code == 400
    assert take(c, brief, "reopen").data["state"] == "assigned"


def test_assigning_needs_an_active_court_watcher(api, enrol, supervisor, members, make_user):
    brief = enrol().brief
    c = api(supervisor)
    for body in ({}, {"officer": members[0].username}, {"officer": "ghost"}):
        r = take(c, brief, "assign", **body)
        assert r.status_code == 422 and "officer" in r.data["errors"], body
    gone = make_user("court_watcher", is_active=False)
    assert take(c, brief, "assign", officer=gone.username).status_code == 422
    assert Brief.objects.get(pk=brief.pk).state == "unassigned"


def test_the_assigned_watcher_may_start_monitoring_and_close_but_not_assign_or_reopen(
    api, assigned, officer, other_officer
):
    brief = assigned()
    c = api(officer)
    assert names(c, brief) == ["start_monitoring"]
    assert take(c, brief, "assign", officer=other_officer.username).status_code == 403
    brief.refresh_from_db()
    assert (brief.state, brief.officer) == ("assigned", officer)
    assert take(c, brief, "start_monitoring").status_code == 200
    set_state(brief.prosecution, "sentenced")
    assert take(c, brief, "close").status_code == 200
    assert take(c, brief, "reopen").status_code == 403
    brief.refresh_from_db()
    assert brief.state == "closed"


def test_a_stale_brief_version_answers_409_and_changes_nothing(api, assigned, supervisor, other_officer):
    brief = assigned()
    r = api(supervisor).post(
        f"/api/v1/briefs/{brief.pk}/transitions/assign/",
        {"officer": other_officer.username, "version": brief.version - 1},
        format="json",
    )
    assert r.status_code == 409 and r.data["current_version"] == brief.version
    assert Brief.objects.get(pk=brief.pk).officer.username == "officer-a"


def test_the_brief_mirrors_the_prosecutions_next_appearance_from_any_entry_point(enrol, npa):
    p = enrol()
    nxt = timezone.localdate() + datetime.timedelta(days=9)
    cws.prosecution_remand(p, actor=npa, version=p.version, reason="court_roll_full", next_date=nxt)
    assert Brief.objects.get(prosecution=p).next_appearance == nxt


def test_bulk_assign_reports_each_brief_in_the_log(enrol, supervisor, officer, court):
    p = enrol()
    services.brief_bulk_assign(actor=supervisor, court=court, officer=officer)
    log = list(cws.TransitionLog.for_object(p.brief).values_list("transition", "actor__username"))
    assert log == [("open", None), ("assign", "supervisor")]
