"""The conviction-rate report counts the cohort in tests/reporting/cohort.py exactly, for every grouping."""

import csv
import io
from datetime import date

import pytest

from casework import permissions as roles
from casework import services
from casework.models import Prosecution
from reporting import rollups
from reporting.models import OutcomeRollup, ProsecutionFacts

from .cohort import MARCH, committee_decides_to_re_enrol, conviction_cohort, sast

FIELDS = [
    "convictions",
    "acquittals",
    "verdicts",
    "withdrawn",
    "provisionally_withdrawn",
    "struck_off",
    "diverted",
    "finalised",
]


def counts(conv, acq, wd, pw, so, div):
    return dict(
        zip(FIELDS, [conv, acq, conv + acq, wd, pw, so, div, conv + acq + wd + pw + so + div], strict=True)
    )


# Expected rows per grouping, worked out by hand from the cohort table (not from running the code).
EXPECTED = {
    "court": {
        "court-a": (counts(2, 1, 0, 0, 0, 1), 0.6667, 0.5),  # P1 P2 P3 P7
        "court-b": (counts(1, 0, 1, 1, 0, 0), 1.0, 0.3333),  # P4 P5 P6
    },
    "district": {
        "d1": (counts(2, 1, 0, 0, 0, 1), 0.6667, 0.5),
        "d2": (counts(1, 0, 1, 1, 0, 0), 1.0, 0.3333),
    },
    "station": {
        "s1": (counts(2, 0, 0, 1, 0, 0), 1.0, 0.6667),  # P1 P2 P5
        "s2": (counts(1, 1, 1, 0, 0, 1), 0.5, 0.25),  # P3 P4 P6 P7
    },
    "offence": {
        "murder": (counts(2, 0, 0, 1, 0, 1), 1.0, 0.5),  # P1 P2 P5 P7
        "assault_gbh": (counts(1, 1, 1, 0, 0, 0), 0.5, 0.3333),  # P3 P4 P6
    },
    "mechanism": {
        "firearm": (counts(2, 0, 0, 1, 0, 0), 1.0, 0.6667),  # P1 P2 P5
        "sharp": (counts(1, 1, 1, 0, 0, 0), 0.5, 0.3333),  # P3 P4 P6
        "blunt": (counts(0, 0, 0, 0, 0, 1), None, 0.0),  # P7: no verdict
    },
    "gang_related": {
        True: (counts(2, 1, 0, 1, 0, 0), 0.6667, 0.5),  # P1 P2 P3 P5
        False: (counts(1, 0, 1, 0, 0, 1), 1.0, 0.3333),  # P4 (assertion reversed) P6 P7
    },
    "month": {"2025-03": (counts(3, 1, 1, 1, 0, 1), 0.75, 0.4286)},
}
TOTAL = (counts(3, 1, 1, 1, 0, 1), 0.75, 0.4286)


@pytest.fixture
def cohort(db):
    return conviction_cohort()


@pytest.fixture(params=["live", "kept after a rebuild", "kept after each commit"])
def counted_cohort(request, db, django_capture_on_commit_callbacks):
    """The cohort counted three ways: live (no kept days), from the per-day outcome rollups after a
    rebuild, and from the days its own transitions refreshed after commit (the rest live)."""

    if request.param == "kept after each commit":
        with django_capture_on_commit_callbacks(execute=True):
            cohort = conviction_cohort()
        assert OutcomeRollup.objects.filter(kind="day", day="2025-03-05").exists()
        return cohort
    cohort = conviction_cohort()
    if request.param == "kept after a rebuild":
        rollups.rebuild_outcomes()
        assert OutcomeRollup.objects.filter(kind="court", day="2025-03-25", state="diverted").exists()
    else:
        assert not OutcomeRollup.objects.exists()
    return cohort


@pytest.mark.parametrize("group_by", list(EXPECTED))
def test_every_count_and_both_rates_match_the_cohort_for_each_grouping(
    counted_cohort, api, analyst, group_by
):
    r = api(analyst).get(
        "/api/v1/reports/conviction-rate/", {**MARCH, "group_by": group_by, "unsuppressed": "1"}
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"definitions", "rows", "total"}
    got = {row["group"]: row for row in body["rows"]}
    assert set(got) == set(EXPECTED[group_by])
    for key, (want, rate, outcome_rate) in EXPECTED[group_by].items():
        row = got[key]
        assert {f: row[f] for f in FIELDS} == want, key
        assert row["conviction_rate"] == rate
        assert row["outcome_conviction_rate"] == outcome_rate
        assert set(row) == {"group", *FIELDS, "conviction_rate", "outcome_conviction_rate"}
    want, rate, outcome_rate = TOTAL
    assert {f: body["total"][f] for f in FIELDS} == want
    assert (body["total"]["conviction_rate"], body["total"]["outcome_conviction_rate"]) == (
        rate,
        outcome_rate,
    )


def test_open_matters_and_matters_finalised_outside_the_period_are_not_counted(cohort, api, analyst):
    body = api(analyst).get("/api/v1/reports/conviction-rate/", {**MARCH, "unsuppressed": "1"}).json()
    assert body["total"]["finalised"] == 7  # not P8 (warrant issued), P9 (April), P10 (February)
    april = (
        api(analyst)
        .get(
            "/api/v1/reports/conviction-rate/",
            {"from": "2025-04-01", "to": "2025-04-30", "unsuppressed": "1"},
        )
        .json()
    )
    assert april["total"]["convictions"] == 1 and april["total"]["finalised"] == 1


def test_the_definitions_and_the_gang_rule_are_in_the_answer_and_on_the_page(cohort, api, analyst, client):
    body = api(analyst).get("/api/v1/reports/conviction-rate/", {**MARCH, "group_by": "gang_related"}).json()
    assert body["definitions"]["conviction_rate"].startswith("convictions / verdicts")
    assert "most recent standing" in body["definitions"]["gang_related"]
    client.force_login(analyst)
    page = client.get("/reports/conviction-rate/", {**MARCH, "group_by": "gang_related"})
    assert page.status_code == 200
    assert "Rule used" in page.content.decode() and "most recent standing" in page.content.decode()


def test_the_csv_has_the_same_rows_and_a_total_row(cohort, api, analyst):
    r = api(analyst).get(
        "/api/v1/reports/conviction-rate/",
        {**MARCH, "group_by": "court", "format": "csv", "unsuppressed": "1"},
    )
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["group"] for row in rows] == ["court-a", "court-b", "total"]
    assert rows[0]["convictions"] == "2" and rows[0]["conviction_rate"] == "0.6667"
    assert rows[2]["finalised"] == "7" and rows[2]["outcome_conviction_rate"] == "0.4286"


@pytest.mark.parametrize(
    "params, name",
    [
        ({"from": "2025-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2025-04-01", "to": "2025-03-01"}, "from"),
        ({"group_by": "colour"}, "group_by"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(db, api, analyst, client, params, name):
    r = api(analyst).get("/api/v1/reports/conviction-rate/", params)
    assert r.status_code == 400
    assert name in r.json()["errors"]
    client.force_login(analyst)
    page = client.get("/reports/conviction-rate/", params)
    assert page.status_code == 400 and name in page.content.decode()


def test_a_figure_opens_the_prosecutions_it_counts_for_a_supervisor(cohort, make_user, client):
    supervisor = make_user(roles.COURT_WATCH_SUPERVISOR)
    client.force_login(supervisor)
    page = client.get("/reports/conviction-rate/", {**MARCH, "group_by": "court"}).content.decode()
    assert "/reports/conviction-rate/prosecutions/?" in page
    r = client.get(
        "/reports/conviction-rate/prosecutions/",
        {**MARCH, "group_by": "court", "group": "court-a", "measure": "convictions"},
    )
    assert r.status_code == 200
    shown = {p.case_number for p in r.context["prosecutions"]}
    assert shown == {"P1", "P2"}
    r = client.get(
        "/reports/conviction-rate/prosecutions/",
        {**MARCH, "group_by": "gang_related", "group": "False", "measure": "finalised"},
    )
    assert {p.case_number for p in r.context["prosecutions"]} == {"P4", "P6", "P7"}
    r = client.get(
        "/reports/conviction-rate/prosecutions/",
        {**MARCH, "group_by": "month", "group": "2025-03", "measure": "verdicts"},
    )
    assert {p.case_number for p in r.context["prosecutions"]} == {"P1", "P2", "P3", "P6"}


def test_a_manager_gets_aggregates_only_and_no_drill_down(cohort, make_user, client):
    manager = make_user(roles.MANAGER)
    client.force_login(manager)
    page = client.get("/reports/conviction-rate/", {**MARCH, "group_by": "court"}).content.decode()
    assert "/reports/conviction-rate/prosecutions/?" not in page
    r = client.get("/reports/conviction-rate/prosecutions/", {**MARCH, "measure": "convictions"})
    assert r.status_code == 403


def test_a_committee_member_drills_down_only_to_prosecutions_they_may_see(cohort, make_user, client):
    member = make_user(roles.COMMITTEE_MEMBER)
    client.force_login(member)
    r = client.get("/reports/conviction-rate/prosecutions/", {**MARCH, "measure": "finalised"})
    assert r.status_code == 200
    visible = set(roles.visible_prosecutions(member).values_list("case_number", flat=True))
    assert {p.case_number for p in r.context["prosecutions"]} == visible & {
        "P1",
        "P2",
        "P3",
        "P4",
        "P5",
        "P6",
        "P7",
    }


def test_kept_prosecution_facts_follow_a_changed_gang_assertion(
    db, django_capture_on_commit_callbacks, api, analyst
):
    with django_capture_on_commit_callbacks(execute=True):
        cohort = conviction_cohort()
    assert ProsecutionFacts.objects.count() == 10
    assert ProsecutionFacts.objects.get(prosecution=cohort.p["P4"]).gang_related is False  # reversed
    assert ProsecutionFacts.objects.get(prosecution=cohort.p["P7"]).mechanism == "blunt"
    assert not ProsecutionFacts.objects.filter(sexual=True).exists()  # no incident is a sexual assault
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assert_gang_relatedness(
            incident=cohort.p["P7"].incident,
            actor=None,
            gang_related=True,
            basis="Committee",
            source="committee",
        )
    assert ProsecutionFacts.objects.get(prosecution=cohort.p["P7"]).gang_related is True
    body = (
        api(analyst)
        .get("/api/v1/reports/conviction-rate/", {**MARCH, "group_by": "gang_related", "unsuppressed": "1"})
        .json()
    )
    got = {row["group"]: {f: row[f] for f in FIELDS} for row in body["rows"]}
    assert got == {True: counts(2, 1, 0, 1, 0, 1), False: counts(1, 0, 1, 0, 0, 0)}  # P7 moved over


def _march(api, analyst, group_by="court"):
    body = (
        api(analyst)
        .get("/api/v1/reports/conviction-rate/", {**MARCH, "group_by": group_by, "unsuppressed": "1"})
        .json()
    )
    return {row["group"]: {f: row[f] for f in FIELDS} for row in body["rows"]}


def test_a_kept_day_is_counted_from_its_rollup_until_that_day_is_refreshed(cohort, api, analyst):
    rollups.rebuild_outcomes()
    # Changed behind reporting's back (no transition, no event): P7, diverted on 03-25, now acquitted.
    Prosecution.objects.filter(pk=cohort.p["P7"].pk).update(state="acquitted")
    assert _march(api, analyst)["court-a"] == counts(2, 1, 0, 0, 0, 1)  # still the kept day
    rollups.refresh_outcome_days([date(2025, 3, 25)])
    assert _march(api, analyst)["court-a"] == counts(2, 2, 0, 0, 0, 0)


def test_a_re_enrolment_takes_the_matter_off_the_day_it_was_counted_on_after_commit(
    db, django_capture_on_commit_callbacks, api, analyst
):
    with django_capture_on_commit_callbacks(execute=True):  # the cohort's own after-commit refreshes
        cohort = conviction_cohort()
    rollups.rebuild_outcomes()
    assert _march(api, analyst)["court-b"] == counts(1, 0, 1, 1, 0, 0)  # P4 withdrawn 03-03
    review = committee_decides_to_re_enrol(cohort.p["P4"], on=date(2025, 4, 5))
    with django_capture_on_commit_callbacks(execute=True):
        services.prosecution_re_enrol(
            cohort.p["P4"],
            actor=None,
            version=None,
            reason="committee",
            review=review.pk,
            at=sast(2025, 4, 10),
        )
    assert _march(api, analyst)["court-b"] == counts(1, 0, 0, 1, 0, 0)
    with django_capture_on_commit_callbacks(execute=True):  # the warrant matter back in court, convicted
        p8 = cohort.p["P8"]
        services.prosecution_remand(
            p8,
            actor=None,
            version=None,
            reason="accused_absent",
            next_date=date(2025, 3, 28),
            at=sast(2025, 3, 26),
        )
        services.prosecution_convict(p8, actor=None, version=None, at=sast(2025, 3, 28))
    assert _march(api, analyst)["court-b"] == counts(2, 0, 0, 1, 0, 0)
