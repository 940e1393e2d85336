"""The incident dashboard counts admissions by SAST time and by each dimension, from fresh rollups."""

from datetime import date

import pytest
from django.db import transaction

from casework import permissions as roles
from casework import reactions, services
from casework.models import Facility
from referrals.models import Admission
from reporting import dashboard, rollups, tasks
from reporting.models import AdmissionRollup
from reporting.params import DashboardFilters
from reporting.periods import Period

from .cohort import MARCH, admissions_cohort, reference, sast

EXPECTED = {
    "month": {"2025-03": 4},
    "week": {"2025-W10": 3, "2025-W11": 1},  # 03-03..03-09 is ISO week 10
    "day": {"2025-03-03": 2, "2025-03-09": 1, "2025-03-15": 1},
    "hour": {22: 1, 23: 1, 1: 1, 21: 1},
    "weekday": {1: 2, 7: 1, 6: 1},
    "hour_weekday": {"1-22": 1, "1-23": 1, "7-01": 1, "6-21": 1},
    "age_band": {"15-24": 2, "25-34": 1, "0-14": 1},
    "sex": {"male": 2, "female": 2},
    "mechanism": {"sharp": 2, "firearm": 1, "blunt": 1},
    "place_type": {"home": 2, "street": 1, "tavern": 1},
    "facility": {"fac-1": 3, "fac-2": 1},
    "suburb": {"suburb-x": 2, "suburb-y": 2},
}


def nonzero(rows):
    return {r["key"]: r["count"] for r in rows if r["count"]}


@pytest.mark.parametrize("group_by", list(EXPECTED))
def test_admissions_are_counted_by_every_dimension_in_sast(db, api, analyst, group_by):
    admissions_cohort()
    r = api(analyst).get("/api/v1/dashboard/incidents/", {**MARCH, "group_by": group_by, "unsuppressed": "1"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"rows", "total"}
    assert all(set(row) <= {"key", "count"} for row in body["rows"])
    assert nonzero(body["rows"]) == EXPECTED[group_by]
    assert body["total"] == 4


@pytest.mark.parametrize(
    "filters, total",
    [
        ({"facility": "fac-1"}, 3),
        ({"district": "d2"}, 1),
        ({"station": "s2"}, 2),
        ({"mechanism": "sharp"}, 2),
        ({"gang_related": "true"}, 1),
        ({"gang_related": "false"}, 3),
        ({"facility": "fac-1", "mechanism": "sharp"}, 2),  # the facility x mechanism rollup, or live
        ({"district": "d1", "mechanism": "blunt"}, 0),
        ({"station": "s1", "gang_related": "false"}, 1),
    ],
)
def test_filters_narrow_every_chart(db, api, analyst, filters, total):
    admissions_cohort()
    for group_by in ("month", "facility", "suburb", "mechanism", "age_band", "hour_weekday"):
        body = (
            api(analyst)
            .get(
                "/api/v1/dashboard/incidents/",
                {**MARCH, "group_by": group_by, "unsuppressed": "1", **filters},
            )
            .json()
        )
        assert body["total"] == total, (group_by, filters)
        assert sum(r["count"] for r in body["rows"]) == total


def test_the_rollups_and_a_live_count_agree_for_every_chart(db):
    admissions_cohort()
    period = Period(*(__import__("datetime").date.fromisoformat(MARCH[k]) for k in ("from", "to")))
    for group_by in dashboard.GROUP_BY:
        kind = dashboard._plan(group_by, DashboardFilters())
        assert kind is not None
        rolled = dashboard._counts_from_rollup(kind, group_by, period, DashboardFilters())
        live = dashboard._counts_live(group_by, period, DashboardFilters())
        if group_by in ("facility", "suburb"):
            live = {str(k): v for k, v in live.items()}
        assert dict(rolled) == dict(live), group_by


@pytest.mark.parametrize(
    "filters",
    [
        DashboardFilters(facility="fac-1", mechanism="sharp"),
        DashboardFilters(district="d2", mechanism="sharp"),
        DashboardFilters(facility="fac-2"),
    ],
)
def test_firearm_at_one_hospital_and_the_like_come_from_the_facility_by_mechanism_rollup(db, filters):
    admissions_cohort()
    rollups.rebuild_all()
    period = Period(date.fromisoformat(MARCH["from"]), date.fromisoformat(MARCH["to"]))
    for group_by in ("month", "day", "facility", "mechanism"):
        answer = dashboard.admissions_by(period, group_by, filters, suppress=False)
        assert answer["source"].startswith("rollup:"), group_by
        live = dashboard._counts_live(group_by, period, filters)
        assert {r["key"]: r["count"] for r in answer["rows"] if r["count"]} == {
            _api_key(group_by, k): v for k, v in live.items() if v
        }, group_by


def _api_key(group_by, key):
    if group_by == "facility":
        return Facility.objects.get(pk=key).code
    return key


def test_a_recorded_admission_refreshes_its_day_after_commit(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    ref = reference()
    refreshes = []
    delay = tasks.refresh_rollups.delay
    monkeypatch.setattr(tasks.refresh_rollups, "delay", lambda days: refreshes.append(days) or delay(days))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for i in range(3):
            a = Admission.objects.create(
                facility=ref["f1"], visit_number=f"v{i}", arrival_at=sast(2025, 5, 2, 9), mechanism="sharp"
            )
            reactions.emit("admission_recorded", admission=a)
        assert not AdmissionRollup.objects.exists()  # nothing before commit
    assert refreshes == [["2025-05-02"]]  # one refresh for the whole transaction
    assert AdmissionRollup.objects.get(kind="facility", day="2025-05-02").n == 3
    assert AdmissionRollup.objects.get(kind="suburb_week", day="2025-04-28").n == 3  # its ISO week, too


def test_a_changed_gang_assertion_refreshes_the_days_of_its_admissions(
    db, django_capture_on_commit_callbacks, api, analyst
):
    cohort = admissions_cohort()
    incident = cohort["a1"].incident if hasattr(cohort["a1"], "incident") else None

    incident = Admission.objects.get(pk=cohort["a1"].pk).incident
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assert_gang_relatedness(
            incident=incident, actor=None, gang_related=False, basis="SAPS: robbery", source="saps"
        )
    body = (
        api(analyst)
        .get(
            "/api/v1/dashboard/incidents/",
            {**MARCH, "group_by": "month", "gang_related": "true", "unsuppressed": "1"},
        )
        .json()
    )
    assert body["total"] == 0


def test_the_dashboard_page_draws_every_chart_and_states_freshness_and_feed_completeness(db, client, analyst):
    admissions_cohort()
    client.force_login(analyst)
    r = client.get("/reports/dashboard/", {**MARCH, "unsuppressed": "1"})
    assert r.status_code == 200
    html = r.content.decode()
    for group_by in EXPECTED:
        if group_by not in ("hour", "weekday"):
            assert f'data-chart="{group_by}"' in html
    assert html.count("as of") >= 10
    feeds = {f["facility"]: f for f in r.context["feeds"]}
    assert feeds["fac-1"]["days_with_data"] == 2 and feeds["fac-1"]["days"] == 31
    assert feeds["fac-2"]["days_with_data"] == 1


def test_an_unknown_group_by_or_filter_is_a_400_naming_it(db, api, analyst):
    r = api(analyst).get("/api/v1/dashboard/incidents/", {"group_by": "colour"})
    assert r.status_code == 400 and "group_by" in r.json()["errors"]
    r = api(analyst).get("/api/v1/dashboard/incidents/", {"facility": "nowhere"})
    assert r.status_code == 400 and "facility" in r.json()["errors"]
    r = api(analyst).get("/api/v1/dashboard/incidents/", {"gang_related": "maybe"})
    assert r.status_code == 400 and "gang_related" in r.json()["errors"]


def test_the_monthly_facility_extract_has_no_identifiers_and_times_to_the_hour(
    db, client, analyst, make_user
):
    admissions_cohort()
    client.force_login(analyst)
    r = client.get("/reports/extract/", {"facility": "fac-1", "month": "2025-03"})
    assert r.status_code == 200
    lines = r.content.decode().splitlines()
    # The place type and mechanism codes each have their words beside them.
    assert lines[0] == "injury_time,arrival_time,place_type,place_type_label,suburb,mechanism,mechanism_label"
    assert lines[1:] == [
        "2025-03-03 22:00,2025-03-03 22:00,street,Street,Suburb X,firearm,Firearm",
        "2025-03-03 23:00,2025-03-03 23:00,tavern,Tavern / shebeen,Suburb X,sharp,Sharp object",
        "2025-03-09 01:00,2025-03-09 01:00,home,Home,Suburb Y,sharp,Sharp object",
    ]
    client.force_login(make_user(roles.MANAGER))
    assert client.get("/reports/extract/", {"facility": "fac-1", "month": "2025-03"}).status_code == 403
