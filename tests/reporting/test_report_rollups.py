"""The kept rows behind removals, the attrition funnel and 'unknown to police': the same figures as the
live count, fresh after the commit of a transition or a new admission, and after a rebuild."""

from datetime import date

import pytest

from casework import reactions, services
from casework.models import Incident
from referrals.models import Admission
from reporting import attrition, rollups, selectors
from reporting.models import FunnelRollup, RemovalFacts
from reporting.periods import Period

from .cohort import attrition_cohort, conviction_cohort, enrol, sast

MARCH_PERIOD = Period(date(2025, 3, 1), date(2025, 3, 31))
FEB_MAR = Period(date(2025, 2, 1), date(2025, 3, 31))
KW = {"actor": None, "version": None}


def _unknown(group_by, now=None):
    return attrition.unknown_to_police(MARCH_PERIOD, group_by, suppress=False, now=now)


@pytest.mark.parametrize("now", [None, sast(2025, 4, 10)], ids=["today", "a window cut-off inside March"])
def test_the_funnel_rollups_give_the_live_figures_after_a_rebuild(db, now):
    attrition_cohort()
    assert not FunnelRollup.objects.exists()  # nothing kept yet: every day is counted live
    live = (
        attrition.attrition(MARCH_PERIOD, suppress=False),
        [_unknown(g, now) for g in attrition.UNKNOWN_GROUP_BY],
    )
    rollups.rebuild_funnel()
    assert FunnelRollup.objects.filter(kind="day", day=date(2025, 3, 3)).exists()
    kept = (
        attrition.attrition(MARCH_PERIOD, suppress=False),
        [_unknown(g, now) for g in attrition.UNKNOWN_GROUP_BY],
    )
    assert kept == live


def test_the_funnel_is_read_from_the_rollups_and_a_refreshed_day_catches_up(db):
    cohort = attrition_cohort()
    rollups.rebuild_funnel()
    # Written behind reporting's back (no event): the kept day does not see it until it is refreshed.
    Incident.objects.create(occurred_at=sast(2025, 3, 22), mechanism="sharp", suburb=cohort["ref"]["y"])

    def steps():
        return {r["group"]: r["count"] for r in attrition.attrition(MARCH_PERIOD, suppress=False)["rows"]}

    assert steps()["incidents"] == 4
    rollups.refresh_funnel_days([date(2025, 3, 22)])
    assert steps()["incidents"] == 5


def test_refreshing_two_days_recounts_those_days_and_leaves_the_days_between_as_kept(db):
    cohort = attrition_cohort()
    rollups.rebuild_funnel()
    suburb = cohort["ref"]["y"]
    for day in (10, 15, 22):  # written behind reporting's back: no event
        Incident.objects.create(occurred_at=sast(2025, 3, day, 9), mechanism="sharp", suburb=suburb)

    def kept_incidents(day):
        row = FunnelRollup.objects.filter(kind="step", k1="incidents", day=date(2025, 3, day)).first()
        return row.n if row else 0

    before = {day: kept_incidents(day) for day in (10, 15, 22)}
    rollups.refresh_funnel_days([date(2025, 3, 22), date(2025, 3, 10)])
    assert kept_incidents(10) == before[10] + 1
    assert kept_incidents(22) == before[22] + 1
    assert kept_incidents(15) == before[15]  # not asked for: still the kept count
    assert FunnelRollup.objects.filter(kind="day", day=date(2025, 3, 15)).exists()


def test_a_docket_step_refreshes_the_funnel_of_its_incidents_after_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the cohort's own after-commit refreshes
        cohort = attrition_cohort()
    ref = cohort["ref"]
    rollups.rebuild_funnel()  # the cohort also linked admissions without events
    i4 = Incident.objects.get(occurred_at=sast(2025, 3, 20))
    with django_capture_on_commit_callbacks(execute=True):
        case = services.police_case_open(
            actor=None,
            station=ref["s2"],
            cas_number="3/03/2025",
            offence=ref["assault_gbh"],
            opened_on=date(2025, 3, 21),
            incidents=[i4],
        )
        services.police_case_investigate(case, at=sast(2025, 3, 22), **KW)
        services.police_case_close_undetected(case, at=sast(2025, 3, 23), **KW)
    report = attrition.attrition(MARCH_PERIOD, suppress=False)
    steps = {r["group"]: r["count"] for r in report["rows"]}
    assert steps["police_case_opened"] == 3
    assert report["reasons"]["police_case_closures"] == [{"reason": "closed_undetected", "count": 2}]
    rollups.rebuild_funnel()
    assert attrition.attrition(MARCH_PERIOD, suppress=False) == report


def test_opening_a_docket_alone_moves_its_incident_down_the_funnel_after_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        cohort = attrition_cohort()
    ref = cohort["ref"]
    rollups.rebuild_funnel()
    before = {r["group"]: r["count"] for r in attrition.attrition(MARCH_PERIOD, suppress=False)["rows"]}
    with django_capture_on_commit_callbacks(execute=True):
        services.police_case_open(
            actor=None,
            station=ref["s2"],
            cas_number="4/03/2025",
            offence=ref["assault_gbh"],
            opened_on=date(2025, 3, 21),
            incidents=[Incident.objects.get(occurred_at=sast(2025, 3, 20))],
        )
    after = {r["group"]: r["count"] for r in attrition.attrition(MARCH_PERIOD, suppress=False)["rows"]}
    assert after["police_case_opened"] == before["police_case_opened"] + 1


def test_a_recorded_admission_counts_in_the_funnel_and_unknown_to_police_after_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the cohort's own after-commit refreshes
        cohort = attrition_cohort()
    rollups.rebuild_funnel()  # the cohort also linked admissions without events
    with django_capture_on_commit_callbacks(execute=True):
        a = Admission.objects.create(
            facility=cohort["ref"]["f2"],
            visit_number="a7",
            arrival_at=sast(2025, 3, 12, 8),
            mechanism="blunt",
            suburb=cohort["ref"]["y"],
        )
        reactions.emit("admission_recorded", admission=a)
        assert not FunnelRollup.objects.filter(
            kind="step", day=date(2025, 3, 12)
        ).exists()  # not before commit
    steps = {r["group"]: r["count"] for r in attrition.attrition(MARCH_PERIOD, suppress=False)["rows"]}
    assert steps["admissions"] == 5
    total = _unknown("facility")["total"]
    assert (total["eligible_90d"], total["unknown_90d"]) == (5, 3)


def test_kept_removals_follow_a_withdrawal_after_commit_and_a_rebuild(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cohort = conviction_cohort()
    assert RemovalFacts.objects.count() == 4  # P4, P5, P6 (struck off), P10
    before = selectors.removals(FEB_MAR, suppress=False)
    assert before["total"]["removals"] == 4
    with django_capture_on_commit_callbacks(execute=True):
        p11 = enrol(
            cohort.ref, court="a", station="s1", offence="murder", mechanism="sharp", gang=False, name="P11"
        )
        services.prosecution_withdraw(p11, reason="accused_not_traced", at=sast(2025, 3, 28), **KW)
    fact = RemovalFacts.objects.get(prosecution_id=p11.pk)
    assert (fact.transition, fact.reason, fact.gang_related) == ("withdraw", "accused_not_traced", False)
    after = selectors.removals(FEB_MAR, suppress=False)
    assert after["total"]["removals"] == 5
    assert {r["group"] for r in after["rows"]} >= {"accused_not_traced"}
    RemovalFacts.objects.all().delete()
    assert selectors.removals(FEB_MAR, suppress=False) == after  # the live rule agrees
    rollups.refresh_prosecution_facts(None)
    assert RemovalFacts.objects.count() == 5
    assert selectors.removals(FEB_MAR, suppress=False) == after
