"""Groupings nested in coarser ones a reader also opens (facility in health sub-district, suburb in SAPS
station precinct in cluster, court in district): a count withheld alone among its siblings would be the
parent's figure minus the shown siblings, so a sibling is withheld with it. Expected values by hand."""

import csv
import io

import pytest

from casework import permissions as roles
from casework import services
from referrals.models import Admission
from reporting import rollups
from reporting import suppression as s
from tests.factories import CourtFactory, FacilityFactory

from .cohort import enrol, reference, sast

SMALL, SMALL_OR_ZERO, COMPLEMENTARY = s.SMALL, s.SMALL_OR_ZERO, s.COMPLEMENTARY


def bars(kinds: dict) -> dict:
    return {k[1]: kind for k, kind in kinds.items() if k != s.TOTAL}


# ------------------------------------------------------------------ the rule on hand-built charts


def test_a_lone_small_facility_takes_its_next_smallest_sibling_not_a_smaller_bar_elsewhere():
    # Sub-district A: F1 = 3, F2 = 40, F3 = 52 (95); sub-district B: F4 = 30, F5 = 25 (55). On its own the
    # chart would hide F5 (25, the next-smallest bar), and A's 95 - 40 - 52 would give F1's 3 back.
    counts = {"F1": 3, "F2": 40, "F3": 52, "F4": 30, "F5": 25}
    parent = {"F1": "A", "F2": "A", "F3": "A", "F4": "B", "F5": "B"}
    assert bars(s.suppress_nested(counts, [parent])) == {"F1": SMALL, "F2": COMPLEMENTARY}
    # The sub-district chart itself has nothing small: shown whole, as when asked for directly.
    assert s.suppress_nested({"A": 95, "B": 55}, []) == {}


def test_a_parent_with_two_small_children_needs_nothing_more():
    # A: F1 = 3, F2 = 2, F3 = 52 (57): 57 - 52 = 5 = F1 + F2, and 1 + 4, 2 + 3, 3 + 2, 4 + 1 all fit.
    counts = {"F1": 3, "F2": 2, "F3": 52, "F4": 30, "F5": 25}
    parent = {"F1": "A", "F2": "A", "F3": "A", "F4": "B", "F5": "B"}
    assert bars(s.suppress_nested(counts, [parent])) == {"F1": SMALL, "F2": SMALL}


def test_a_lone_small_suburb_is_protected_inside_its_precinct():
    # Cluster C1: station S1 (suburbs X1 = 2, X2 = 20), station S2 (X3 = 30); cluster C2: S3 (X4 = 50).
    counts = {"X1": 2, "X2": 20, "X3": 30, "X4": 50}
    station = {"X1": "S1", "X2": "S1", "X3": "S2", "X4": "S3"}
    cluster = {"S1": "C1", "S2": "C1", "S3": "C2"}
    assert bars(s.suppress_nested(counts, [station, cluster])) == {"X1": SMALL, "X2": COMPLEMENTARY}
    assert s.suppress_nested({"S1": 22, "S2": 30, "S3": 50}, [cluster]) == {}


def test_a_small_precinct_hides_its_suburbs_and_its_sibling_precinct_at_every_level():
    # S1 = X1 1 + X2 2 = 3 (small); S2 = X3 30; S3 = X4 50. Clusters C1 = 33, C2 = 50 shown.
    counts = {"X1": 1, "X2": 2, "X3": 30, "X4": 50}
    station = {"X1": "S1", "X2": "S1", "X3": "S2", "X4": "S3"}
    cluster = {"S1": "C1", "S2": "C1", "S3": "C2"}
    # By precinct: S1 is <5, and C1's 33 - S2 would give it, so S2 (30) is withheld too.
    assert bars(s.suppress_nested({"S1": 3, "S2": 30, "S3": 50}, [cluster])) == {
        "S1": SMALL,
        "S2": COMPLEMENTARY,
    }
    # By suburb: X1 and X2 are under S1's small total (<5 each, zeros could not be told apart), and X3,
    # S2's only suburb, is S2 itself: shown, it would give S2 back and C1 - S2 = S1.
    assert bars(s.suppress_nested(counts, [station, cluster])) == {
        "X1": SMALL_OR_ZERO,
        "X2": SMALL_OR_ZERO,
        "X3": COMPLEMENTARY,
    }


def test_without_a_chain_it_is_the_plain_chart():
    # 3 alone among 10, 10: the first 10 in the chart's order (largest first, then by key) goes with it.
    assert bars(s.suppress_nested({"b": 10, "a": 10, "c": 3}, [])) == {"c": SMALL, "a": COMPLEMENTARY}


# ------------------------------------------------------------------ the dashboard: API, CSV, page

QUARTER = {"from": "2025-01-01", "to": "2025-03-31"}
# Sub-district Khayelitsha: Facility One 3, Facility Three 8, Facility Four 12 (23);
# sub-district Tygerberg: Facility Five 6, Facility Six 7 (13). 36 in all.
PLAN = [
    ("kh", "f-one", 3),
    ("kh", "f-three", 8),
    ("kh", "f-four", 12),
    ("ty", "f-five", 6),
    ("ty", "f-six", 7),
]
SUB_DISTRICTS = {"kh": "Khayelitsha", "ty": "Tygerberg"}


@pytest.fixture
def facilities(db):
    ref = reference()
    n = 0
    for sub, code, count in PLAN:
        facility = FacilityFactory(code=code, name=code, district=ref["d1"], sub_district=SUB_DISTRICTS[sub])
        for i in range(count):
            n += 1
            at = sast(2025, 2, 1 + i, 10)
            Admission.objects.create(
                facility=facility,
                visit_number=f"n{n}",
                arrival_at=at,
                injury_at=at,
                age_band="25-34",
                sex="female",
                mechanism="sharp",
                place_type="home",
                suburb=ref["x"],
            )
    rollups.rebuild_all()


def _dashboard(api, user, group_by, **extra):
    return api(user).get("/api/v1/dashboard/incidents/", {**QUARTER, "group_by": group_by, **extra})


def test_a_managers_facility_chart_cannot_be_undone_by_the_sub_district_chart(facilities, make_user, api):
    manager = make_user(roles.MANAGER)
    body = _dashboard(api, manager, "facility").json()
    rows = {r["key"]: r for r in body["rows"]}
    # By hand: Facility One's 3 is <5; Khayelitsha's 23 - 8 - 12 would give it back, so its next-smallest
    # sibling, Facility Three's 8, is withheld with it (not Tygerberg's 6, which protects nothing here).
    assert {k: r["count"] for k, r in rows.items()} == {
        "f-one": None,
        "f-three": None,
        "f-four": 12,
        "f-five": 6,
        "f-six": 7,
    }
    assert rows["f-one"]["suppressed"] == ["count"] and "complementary" not in rows["f-one"]
    assert rows["f-three"]["suppressed"] == ["count"] and rows["f-three"]["complementary"] == ["count"]
    assert all("suppressed" not in rows[k] for k in ("f-four", "f-five", "f-six"))
    assert body["total"] == 36
    coarse = _dashboard(api, manager, "sub_district").json()
    assert {r["key"]: r["count"] for r in coarse["rows"]} == {"Khayelitsha": 23, "Tygerberg": 13}
    # What a reader can do: 23 - 12 = 11 = Facility One + Facility Three, with Facility Three at least 5:
    # Facility One could be 1 to 4 (10 + 1 … 7 + 4).


def test_the_facility_csv_withholds_what_the_api_withholds(facilities, make_user, api):
    text = _dashboard(api, make_user(roles.MANAGER), "facility", format="csv").content.decode()
    counts = {r["key"]: r["count"] for r in csv.DictReader(io.StringIO(text))}
    assert counts == {"f-one": "", "f-three": "", "f-four": "12", "f-five": "6", "f-six": "7", "total": "36"}


def test_an_analyst_asking_for_unsuppressed_figures_gets_every_facility(facilities, make_user, api):
    body = _dashboard(api, make_user(roles.VPU_ANALYST), "facility", unsuppressed="1").json()
    assert {r["key"]: r["count"] for r in body["rows"]} == {
        "f-one": 3,
        "f-three": 8,
        "f-four": 12,
        "f-five": 6,
        "f-six": 7,
    }
    # By default an analyst reads suppressed figures too, nested alike.
    body = _dashboard(api, make_user(roles.VPU_ANALYST), "facility").json()
    assert [r["key"] for r in body["rows"] if r["count"] is None] == ["f-three", "f-one"]


# ------------------------------------------------------------------ conviction rate: courts in districts


def _courts_in_districts():
    """District One: Court A 6 convictions, 2 acquittals; Court C 7 convictions, 8 acquittals.
    District Two: Court B 9 convictions, 6 acquittals. All finalised in March 2025."""
    ref = reference()
    ref["c"] = CourtFactory(code="court-c", name="Court C", district=ref["d1"])
    kw = {"actor": None, "version": None}
    n = 0
    for court, convictions, acquittals in (("a", 6, 2), ("c", 7, 8), ("b", 9, 6)):
        for verdict in ["convict"] * convictions + ["acquit"] * acquittals:
            n += 1
            p = enrol(
                ref,
                court=court,
                station="s1",
                offence="murder",
                mechanism="firearm",
                gang=False,
                name=f"N{n}",
            )
            if verdict == "convict":
                services.prosecution_convict(p, at=sast(2025, 3, 2 + n % 20), **kw)
            else:
                services.prosecution_start_trial(p, at=sast(2025, 2, 1), **kw)
                services.prosecution_acquit(p, at=sast(2025, 3, 2 + n % 20), **kw)


def test_a_small_court_figure_cannot_be_worked_out_from_its_districts(db, make_user, api):
    _courts_in_districts()
    manager = api(make_user(roles.MANAGER))
    q = {"from": "2025-03-01", "to": "2025-03-31"}
    districts = manager.get("/api/v1/reports/conviction-rate/", {**q, "group_by": "district"}).json()
    d = {r["group"]: r for r in districts["rows"]}
    # Nothing small by district: shown whole (District One 13 + 10 = 23 verdicts, District Two 9 + 6 = 15).
    assert (d["d1"]["convictions"], d["d1"]["acquittals"], d["d1"]["verdicts"]) == (13, 10, 23)
    assert (d["d2"]["convictions"], d["d2"]["acquittals"], d["d2"]["verdicts"]) == (9, 6, 15)
    body = manager.get("/api/v1/reports/conviction-rate/", {**q, "group_by": "court"}).json()
    rows = {r["group"]: r for r in body["rows"]}
    assert rows["court-a"]["acquittals"] is None and "acquittals" in rows["court-a"]["suppressed"]
    # Court A's acquittals (2) share District One with Court C only: District One's 10 - Court C's 8
    # would give them, so Court C's acquittals are withheld too, whatever else is.
    assert rows["court-c"]["acquittals"] is None
    assert "acquittals" in rows["court-c"]["complementary"]
    # And in general: within a district no figure of a court is the only one withheld of that field.
    counts = ["convictions", "acquittals", "verdicts", "finalised"]
    for field in counts:
        hidden = [g for g in ("court-a", "court-c") if rows[g][field] is None]
        assert len(hidden) != 1, field
