"""Removals attributable to police, re-enrolment outcomes, the attrition funnel and 'unknown to police'."""

from datetime import date

import pytest
from django.utils import timezone

from casework import services
from referrals.models import Admission
from reporting import attrition, hotspots, rollups
from reporting.models import RemovalFacts, RemovalRollup
from reporting.periods import Period

from .cohort import MARCH, admissions_cohort, attrition_cohort, conviction_cohort, enrol, reference, sast

FEB_MAR = {"from": "2025-02-01", "to": "2025-03-31", "unsuppressed": "1"}


@pytest.mark.parametrize(
    "kept", ["nothing", "after each commit", "rebuilt"], ids=["live rule", "kept facts", "kept months"]
)
def test_removals_by_reason_with_the_police_attributable_share_and_the_splits(
    db, api, analyst, django_capture_on_commit_callbacks, kept
):
    with django_capture_on_commit_callbacks(execute=kept == "after each commit"):
        conviction_cohort()
    if kept == "rebuilt":
        rollups.refresh_prosecution_facts(None)
    assert RemovalRollup.objects.filter(by="month", month=date(2025, 3, 1)).exists() == (kept != "nothing")
    # Feb-Mar removals: P4 withdrawn docket_not_at_court (police), P5 provisionally withdrawn
    # witness_intimidated, P6 struck off investigation_incomplete (police; re-enrolled later, still
    # counts), P10 withdrawn complainant_withdrew (a sexual offence).
    body = api(analyst).get("/api/v1/reports/removals/", FEB_MAR).json()
    rows = {r["group"]: r for r in body["rows"]}
    assert set(rows) == {
        "docket_not_at_court",
        "witness_intimidated",
        "investigation_incomplete",
        "complainant_withdrew",
    }
    assert (
        rows["docket_not_at_court"]["withdrawn"] == 1
        and rows["docket_not_at_court"]["police_attributable"] is True
    )
    assert rows["investigation_incomplete"]["struck_off"] == 1
    assert rows["witness_intimidated"]["provisionally_withdrawn"] == 1
    assert rows["witness_intimidated"]["police_attributable"] is False
    assert rows["docket_not_at_court"]["share"] == 0.25
    assert rows["docket_not_at_court"]["top_stations"] == [{"name": "Station Two", "removals": 1}]
    assert rows["docket_not_at_court"]["top_courts"] == [{"name": "Court B", "removals": 1}]
    assert body["total"]["removals"] == 4
    assert body["total"]["police_attributable"] == 2
    assert body["total"]["police_attributable_share"] == 0.5
    gbv = {r["group"]: (r["removals"], r["police_attributable"]) for r in body["splits"]["gender_based"]}
    assert gbv == {True: (1, 0), False: (3, 2)}
    gang = {r["group"]: (r["removals"], r["police_attributable"]) for r in body["splits"]["gang_related"]}
    assert gang == {True: (1, 0), False: (3, 2)}  # P5 only: P4's gang assertion was reversed
    march = api(analyst).get("/api/v1/reports/removals/", {**MARCH, "unsuppressed": "1"}).json()
    assert march["total"]["removals"] == 2


def test_a_whole_month_of_removals_is_read_from_its_rollup_and_its_ragged_ends_from_the_facts(
    db, api, analyst
):
    conviction_cohort()
    rollups.refresh_prosecution_facts(None)

    def totals(period):
        body = api(analyst).get("/api/v1/reports/removals/", {**period, "unsuppressed": "1"}).json()
        return {r["group"]: r["removals"] for r in body["rows"]}

    ragged = {"from": "2025-02-10", "to": "2025-03-31"}  # P6's strike-off on 02-01 is outside
    assert totals(ragged) == {"docket_not_at_court": 1, "witness_intimidated": 1, "complainant_withdrew": 1}
    # Changed behind reporting's back: March (whole) keeps its rollup until refreshed; February's
    # ragged end is read from the facts at once.
    RemovalFacts.objects.update(reason="other")
    assert totals(ragged) == {"docket_not_at_court": 1, "witness_intimidated": 1, "other": 1}
    rollups.refresh_removal_months([date(2025, 3, 1)])
    assert totals(ragged) == {"other": 3}


def test_the_month_to_date_of_a_period_running_to_today_is_read_from_its_rollup(
    db, api, analyst, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        cohort = conviction_cohort()
        p = enrol(
            cohort.ref, court="a", station="s1", offence="murder", mechanism="firearm", gang=False, name="N"
        )
        services.prosecution_withdraw(p, actor=None, version=None, reason="docket_not_at_court")
    today = timezone.localdate()
    this_month = {"from": today.replace(day=1).isoformat(), "to": today.isoformat(), "unsuppressed": "1"}

    def reasons():
        body = api(analyst).get("/api/v1/reports/removals/", this_month).json()
        return {r["group"]: r["removals"] for r in body["rows"]}

    assert RemovalRollup.objects.filter(by="month", month=today.replace(day=1)).exists()
    assert reasons() == {"docket_not_at_court": 1}
    RemovalFacts.objects.filter(prosecution_id=p.pk).update(reason="other")  # behind reporting's back
    assert reasons() == {"docket_not_at_court": 1}  # the month's kept rows, not a ragged end


def test_re_enrolment_after_a_committee_review_and_its_outcome(db, api, analyst):
    conviction_cohort()  # P6: struck off 02-01, review decided re_enrol, re-enrolled 02-15, convicted 03-20
    body = api(analyst).get("/api/v1/reports/re-enrolment/", FEB_MAR).json()
    after, other = body["rows"]
    assert after["group"] == "after_review"
    assert (after["matters"], after["open"], after["convictions"], after["verdicts"]) == (1, 0, 1, 1)
    assert after["conviction_rate"] == 1.0
    assert after["current_state"] == {"convicted": 1}
    assert other["matters"] == 0 and other["conviction_rate"] is None
    assert body["total"]["matters"] == 1
    later = api(analyst).get("/api/v1/reports/re-enrolment/", {**MARCH, "unsuppressed": "1"}).json()
    assert later["total"]["matters"] == 0  # re-enrolled in February, not March


def test_the_attrition_funnel_counts_each_step_its_drop_and_the_reasons(db, api, analyst):
    attrition_cohort()
    body = api(analyst).get("/api/v1/reports/attrition/", {**MARCH, "unsuppressed": "1"}).json()
    steps = {r["group"]: (r["count"], r["drop"]) for r in body["rows"]}
    assert steps == {
        "admissions": (4, None),
        "incidents": (4, None),
        "referred": (3, 1),
        "police_case_opened": (2, 1),
        "referred_to_npa": (1, 1),
        "prosecuted": (1, 0),
        "finalised": (1, 0),
        "convicted": (1, 0),
    }
    assert body["reasons"]["police_case_closures"] == [{"reason": "closed_undetected", "count": 1}]
    assert body["reasons"]["referrals_declined"] == [
        {"reason": "victim does not want to lay a charge", "count": 1}
    ]
    assert body["reasons"]["withdrawal_reasons"] == []


def test_unknown_to_police_after_7_30_and_90_days_by_facility(db, api, analyst):
    # a1: docket 2 days after arrival; a2: docket 17 days after; a3: incident, no docket; a4: no incident.
    attrition_cohort()
    body = (
        api(analyst)
        .get("/api/v1/reports/unknown-to-police/", {**MARCH, "group_by": "facility", "unsuppressed": "1"})
        .json()
    )
    rows = {r["group"]: r for r in body["rows"]}
    f1, f2, total = rows["fac-1"], rows["fac-2"], body["total"]
    assert (f1["eligible_7d"], f1["unknown_7d"], f1["unknown_30d"], f1["unknown_90d"]) == (3, 2, 1, 1)
    assert (f2["eligible_7d"], f2["unknown_7d"], f2["unknown_30d"], f2["unknown_90d"]) == (1, 1, 1, 1)
    assert (total["unknown_share_7d"], total["unknown_share_30d"], total["unknown_share_90d"]) == (
        0.75,
        0.5,
        0.5,
    )
    by_mech = (
        api(analyst)
        .get("/api/v1/reports/unknown-to-police/", {**MARCH, "group_by": "mechanism", "unsuppressed": "1"})
        .json()
    )
    assert {r["group"]: r["unknown_30d"] for r in by_mech["rows"]} == {"firearm": 0, "sharp": 1, "blunt": 1}


def test_an_admission_too_recent_for_the_window_is_not_in_its_denominator(db):
    admissions_cohort()
    # Pretend "now" is 2025-03-20: a1-a3 are older than 7 days, a4 (03-15) is not; none is 30 days old.
    report = attrition.unknown_to_police(
        Period(date(2025, 3, 1), date(2025, 3, 31)), "facility", suppress=False, now=sast(2025, 3, 20)
    )
    assert report["total"]["eligible_7d"] == 3 and report["total"]["eligible_30d"] == 0
    assert report["total"]["unknown_share_30d"] is None


def test_hotspots_rank_suburbs_and_raise_a_spike_alert_by_the_documented_rule(db, api, analyst):
    ref = reference()
    # Suburb X: 1 admission a week for 8 baseline weeks, then 9 in the last complete week.
    # Suburb Y: 2 a week throughout. "Today" is Wednesday 2025-06-18; the last complete week starts 06-09.
    n = 0
    for week in range(12):
        monday = date(2025, 3, 24).toordinal() + 7 * week
        for suburb, count in (("x", 9 if week == 11 else 1), ("y", 2)):
            for i in range(count):
                d = date.fromordinal(monday + i % 7)
                n += 1
                Admission.objects.create(
                    facility=ref["f1"],
                    visit_number=f"h{n}",
                    arrival_at=sast(d.year, d.month, d.day, 20),
                    mechanism="sharp",
                    suburb=ref[suburb],
                )
    rollups.rebuild_all()
    report = hotspots.hotspots(weeks=1, suppress=False, today=date(2025, 6, 18))
    assert [r["suburb"] for r in report["rows"]] == ["suburb-x", "suburb-y"]
    x = report["rows"][0]
    assert (x["recent"], x["previous"], x["change"], x["rank_by_change"]) == (9, 1, 8, 1)
    assert len(report["alerts"]) == 1
    alert = report["alerts"][0]
    assert (alert["suburb"], alert["week"], alert["observed"], alert["baseline"]) == (
        "suburb-x",
        "2025-W24",
        9,
        1.0,
    )
    assert alert["upper_limit"] == hotspots.poisson_upper_limit(1.0) == 5  # P(X>=5 | 1) = 0.0037 < 0.01
    r = api(analyst).get("/api/v1/dashboard/hotspots/", {"weeks": "0"})
    assert r.status_code == 400 and "weeks" in r.json()["errors"]
