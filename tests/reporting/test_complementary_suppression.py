"""Complementary suppression: no withheld count can be worked out from what is shown (issue 10, item 3).

The auditor below knows what a careful reader knows: every identity (a total is the sum of its parts),
every shown figure, and of each withheld count what its marker says (``small``: 1-4; ``small_or_zero``:
0-4, under a total that is itself under 5; ``complementary``: at least 5; ``withheld``: any value). It
searches, by brute force with bounds propagation, for a second assignment of the withheld counts that
satisfies everything shown; a withheld count with no second value would be a disclosure. It shares no
code with the suppression it audits.
"""

import csv
import io
import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework import permissions as roles
from casework import services
from casework.models import POLICE_ATTRIBUTABLE_REASONS
from referrals.models import Admission
from reporting import attrition, rollups, selectors
from reporting import suppression as s

from .cohort import enrol, reference, sast

LIMIT = {
    s.SMALL: (1, 4),
    s.SMALL_OR_ZERO: (0, 4),
    s.COMPLEMENTARY: (5, math.inf),
    s.WITHHELD: (0, math.inf),
}


def _equations(table):
    """Each identity as {key: coefficient} with sum(coefficient * value) == 0."""
    out = []
    for total, parts in table.identities:
        eq = {total: -1}
        for p in parts:
            eq[p] = eq.get(p, 0) + 1
        out.append(eq)
    return out


class _OutOfBudget(Exception):
    pass


def _feasible(equations, fixed, bounds, near, budget):
    """Whether integer values within ``bounds`` (key → [lo, hi]) exist for the unknown keys so that every
    equation holds, ``fixed`` holding the shown values: interval propagation, then splitting an interval
    in two (the half nearer the true value ``near`` first). Raises _OutOfBudget after ``budget[0]``
    branches."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _OutOfBudget
    bounds = dict(bounds)
    changed = True
    while changed:
        changed = False
        for eq in equations:
            const = sum(c * fixed[k] for k, c in eq.items() if k in fixed)
            unknown = [(k, c) for k, c in eq.items() if k not in fixed]
            if not unknown:
                if const != 0:
                    return False
                continue
            lo_sum = const + sum(min(c * bounds[k][0], c * bounds[k][1]) for k, c in unknown)
            hi_sum = const + sum(max(c * bounds[k][0], c * bounds[k][1]) for k, c in unknown)
            for k, c in unknown:
                old = bounds[k]
                rest_lo = lo_sum - min(c * old[0], c * old[1])
                rest_hi = hi_sum - max(c * old[0], c * old[1])
                # c * x = -rest with rest in [rest_lo, rest_hi]; c is 1 or -1
                lo, hi = sorted((-rest_hi * c, -rest_lo * c))
                new_lo, new_hi = max(old[0], lo), min(old[1], hi)
                if new_lo > new_hi:
                    return False
                if (new_lo, new_hi) != old:
                    bounds[k] = (new_lo, new_hi)
                    changed = True
                    lo_sum += min(c * new_lo, c * new_hi) - min(c * old[0], c * old[1])
                    hi_sum += max(c * new_lo, c * new_hi) - max(c * old[0], c * old[1])
    open_keys = [k for k, (lo, hi) in bounds.items() if lo != hi]
    if not open_keys:
        values = {**fixed, **{k: lo for k, (lo, _) in bounds.items()}}
        return all(sum(c * values[k] for k, c in eq.items()) == 0 for eq in equations)
    k = min(open_keys, key=lambda k: bounds[k][1] - bounds[k][0])
    lo, hi = bounds[k]
    mid = lo + (hi - lo) // 2
    halves = [(lo, mid), (mid + 1, hi)]
    if near[k] > mid:
        halves.reverse()
    return any(_feasible(equations, fixed, {**bounds, k: h}, near, budget) for h in halves)


def disclosed(table, kinds) -> list:
    """The withheld counts whose value is determined by what is shown (should be empty)."""
    hidden = {**{k: s.WITHHELD for k in table.virtual}, **kinds}
    fixed = {k: v for k, v in table.values.items() if k not in hidden}
    # A bound on every count (far above any in these tables) keeps the search finite; a bound only
    # makes the audit stricter (fewer second values found), never laxer.
    cap = 2 * max([*table.values.values(), 4])
    bounds = {k: (LIMIT[kind][0], min(LIMIT[kind][1], cap)) for k, kind in hidden.items()}
    equations = _equations(table)
    near = table.values
    for k, kind in hidden.items():
        v = table.values[k]
        assert bounds[k][0] <= v <= bounds[k][1], f"{k!r} = {v} is not what its marker says ({kind})"
    out = []
    for k in kinds:
        v, (lo, hi) = table.values[k], bounds[k]
        sides = [(lo, v - 1)] if v > lo else []
        sides += [(v + 1, hi)] if v < hi else []
        found = False
        for budget in (100, 10_000, 200_000):
            refuted = 0
            for side in sides:
                try:
                    if _feasible(equations, fixed, {**bounds, k: side}, near, [budget]):
                        found = True
                        break
                    refuted += 1
                except _OutOfBudget:
                    pass
            if found or refuted == len(sides):
                break
        if not found:  # a proof that it is determined, or a search too long to trust: both fail
            out.append(k)
    return out


def shown_small(table, kinds) -> list:
    return [k for k, v in table.values.items() if 0 < v < 5 and k not in kinds and k not in table.virtual]


# ------------------------------------------------------------------ random tables

counts = st.one_of(st.integers(0, 4), st.integers(0, 12), st.integers(5, 40))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(counts, min_size=1, max_size=9))
def test_no_bar_of_a_chart_can_be_worked_out_from_its_total_and_the_other_bars(values):
    table = s.series_table(dict(enumerate(values)))
    kinds = table.suppress()
    assert shown_small(table, kinds) == []
    assert disclosed(table, kinds) == []


@SETTINGS
@given(st.integers(2, 4), st.integers(2, 5), st.data())
def test_no_cell_of_a_two_way_table_can_be_worked_out_from_its_margins(n_rows, n_cols, data):
    cells = {(r, c): data.draw(counts) for r in range(n_rows) for c in range(n_cols)}
    table = s.cross_table(cells, list(range(n_rows)), list(range(n_cols)))
    kinds = table.suppress()
    assert shown_small(table, kinds) == []
    assert disclosed(table, kinds) == []


OUTCOMES = ["convictions", "acquittals", "withdrawn", "provisionally_withdrawn", "struck_off", "diverted"]
ROW_IDENTITIES = [
    ("verdicts", ["convictions", "acquittals"]),
    ("finalised", ["verdicts", "withdrawn", "provisionally_withdrawn", "struck_off", "diverted"]),
]


def outcome_rows(base: list[dict]) -> tuple[dict, dict]:
    rows = {}
    for i, b in enumerate(base):
        row = dict(b)
        row["verdicts"] = row["convictions"] + row["acquittals"]
        row["finalised"] = sum(row[f] for f in OUTCOMES)
        rows[f"g{i}"] = row
    total = {f: sum(r[f] for r in rows.values()) for f in [*OUTCOMES, "verdicts", "finalised"]}
    return rows, total


outcome_row = st.fixed_dictionaries({f: st.one_of(st.integers(0, 4), st.integers(0, 9)) for f in OUTCOMES})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(outcome_row, min_size=1, max_size=3))
def test_no_outcome_count_can_be_worked_out_from_the_row_identities_and_the_total_row(base):
    rows, total = outcome_rows(base)
    kinds = s.suppress_grouped(rows, total, row_identities=ROW_IDENTITIES)
    table = s.grouped_table(rows, total, row_identities=ROW_IDENTITIES)
    assert shown_small(table, kinds) == []
    assert disclosed(table, kinds) == []
    # The total row is withheld alike in every grouping of the period: decided from itself alone.
    alone = s.grouped_table({}, total, row_identities=ROW_IDENTITIES)
    assert {k: v for k, v in kinds.items() if k[0] == s.TOTAL} == alone.suppress()


@SETTINGS
@given(st.lists(st.integers(0, 12), min_size=6, max_size=6), st.integers(0, 12), st.integers(0, 40))
def test_no_step_or_drop_of_the_attrition_funnel_can_be_worked_out(drops, convicted, admissions):
    # incidents, referred, ..., convicted: each step is the next plus its drop
    n = convicted + sum(drops)
    counts = Counter({"admissions": admissions, "incidents": n})
    for step, drop in zip(attrition.FUNNEL[2:], drops, strict=True):
        n -= drop
        counts[step] = n
    table = attrition.attrition_table(counts)
    kinds = table.suppress()
    assert shown_small(table, kinds) == []
    assert disclosed(table, kinds) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=3))
def test_no_count_of_unknown_to_police_can_be_worked_out(groups):
    """One window: eligible = unknown + known (not shown), columns summing to the total row."""
    rows = {f"g{i}": {"eligible": u + k, "unknown": u, "known": k} for i, (u, k) in enumerate(groups)}
    total = {f: sum(r[f] for r in rows.values()) for f in ("eligible", "unknown", "known")}
    spec = {"row_identities": [("eligible", ["unknown", "known"])], "unpublished": {"known"}}
    kinds = s.suppress_grouped(rows, total, **spec)
    table = s.grouped_table(rows, total, **spec)
    assert shown_small(table, kinds) == []
    assert disclosed(table, kinds) == []


removal_reason = st.fixed_dictionaries(
    {
        f: st.one_of(st.integers(0, 4), st.integers(0, 9))
        for f in ("withdrawn", "provisionally_withdrawn", "struck_off")
    }
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(removal_reason, min_size=1, max_size=3), st.data())
def test_no_count_of_the_removals_report_can_be_worked_out(reasons, data):
    police = sorted(POLICE_ATTRIBUTABLE_REASONS)[:2]
    names = [police[0], "other_reason", police[1]][: len(reasons)]
    by_reason = {n: {**r, "removals": sum(r.values())} for n, r in zip(names, reasons, strict=False)}
    total = sum(c["removals"] for c in by_reason.values())
    police_total = sum(c["removals"] for n, c in by_reason.items() if n in POLICE_ATTRIBUTABLE_REASONS)
    splits = {}
    for split in ("gender_based", "gang_related"):
        yes_removals = data.draw(st.integers(0, total))
        yes_police = data.draw(
            st.integers(max(0, police_total - (total - yes_removals)), min(police_total, yes_removals))
        )
        splits[split] = {
            True: {"removals": yes_removals, "police_attributable": yes_police},
            False: {"removals": total - yes_removals, "police_attributable": police_total - yes_police},
        }
    alone, tables = selectors.removal_tables(by_reason, total, police_total, splits)
    kinds = selectors._removal_kinds(by_reason, total, police_total, splits)
    for table in (alone, *tables):
        mine = {k: v for k, v in kinds.items() if k in table.values}
        assert shown_small(table, mine) == []
        assert disclosed(table, mine) == []


# ------------------------------------------------------------------ hand-written tables


def _series(values):
    table = s.series_table(dict(enumerate(values)))
    return {k[1] if k != s.TOTAL else "total": kind for k, kind in table.suppress().items()}


def test_one_small_bar_takes_the_next_smallest_bar_with_it():
    # 12 + 3 + 30 + 7 + 8 = 60: the 3 alone would be 60 - 57; the 7 goes too (7 - 1 leaves room).
    assert _series([12, 3, 30, 7, 8]) == {1: s.SMALL, 3: s.COMPLEMENTARY}


def test_two_small_bars_protect_each_other():
    assert _series([20, 2, 3]) == {1: s.SMALL, 2: s.SMALL}


def test_two_bars_of_one_are_not_enough_when_the_rest_is_known():
    # 1 + 1 = 22 - 20: both must be 1. The smallest bar of at least 6 goes too.
    assert _series([20, 1, 1, 9]) == {1: s.SMALL, 2: s.SMALL, 3: s.COMPLEMENTARY}


def test_a_five_cannot_protect_a_one_so_both_are_withheld_as_any_value():
    # 1 + 5 = 6: with "at least 5" known the pair is (1, 5); the 5 is withheld with no bound instead.
    assert _series([1, 5]) == {0: s.SMALL, 1: s.WITHHELD}


def test_a_small_total_withholds_every_bar_zeros_included():
    assert _series([3, 0, 0]) == {
        "total": s.SMALL,
        0: s.SMALL_OR_ZERO,
        1: s.SMALL_OR_ZERO,
        2: s.SMALL_OR_ZERO,
    }


def test_a_chart_with_no_small_bar_is_shown_whole():
    assert _series([0, 5, 17]) == {}


def test_a_conviction_row_hides_its_verdicts_when_acquittals_are_small():
    # Court A: convictions 20, acquittals 2, verdicts 22, finalised 30 (withdrawn 8); court B large.
    rows = {
        "a": {"convictions": 20, "acquittals": 2, "withdrawn": 8, "provisionally_withdrawn": 0},
        "b": {"convictions": 30, "acquittals": 10, "withdrawn": 9, "provisionally_withdrawn": 0},
    }
    for r in rows.values():
        r.update(struck_off=0, diverted=0)
    rows, total = outcome_rows(list(rows.values()))
    kinds = s.suppress_grouped(rows, total, row_identities=ROW_IDENTITIES)
    # g0's acquittals (2) are small; verdicts - convictions would give them back, and the column total
    # (12) minus g1's 10 too: g1's acquittals (the next-smallest in the column) and one of g0's
    # convictions / verdicts go with it, and g1's matching count closes the rectangle.
    assert kinds[("g0", "acquittals")] == s.SMALL
    table = s.grouped_table(rows, total, row_identities=ROW_IDENTITIES)
    assert disclosed(table, kinds) == []
    assert ("g1", "acquittals") in kinds
    assert not any(k[0] == s.TOTAL for k in kinds)  # the totals stay shown


# ------------------------------------------------ finding 3, through the API, the CSV and the page

QUARTER = {"from": "2025-01-01", "to": "2025-03-31"}


def _small_cell_admissions():
    """23 admissions: January 10 (firearm, 15-24), February 10 (sharp, 25-34), March 3 (blunt, 35-44).
    By month, mechanism or age band exactly one cell is 1-4 (the 3); the total (23) is shown."""

    ref = reference()
    plan = [(1, "firearm", "15-24", 10), (2, "sharp", "25-34", 10), (3, "blunt", "35-44", 3)]
    n = 0
    for month, mechanism, band, count in plan:
        for i in range(count):
            n += 1
            at = sast(2025, month, 2 + i, 14)
            Admission.objects.create(
                facility=ref["f1"],
                visit_number=f"v{n}",
                arrival_at=at,
                injury_at=at,
                age_band=band,
                sex="male",
                mechanism=mechanism,
                place_type="street",
                suburb=ref["x"],
            )
    rollups.rebuild_all()


# By hand: the 3 is "<5"; alone, 23 minus the shown bars would give it back, so the next-smallest bar (a
# 10, the first in the chart's order) is withheld too and marked complementary; 23 - 10 = 13 = 10 + 3 is
# then one equation in two unknowns (3 + 10, 4 + 9, 2 + 11, 1 + 12 all fit).
EXPECTED_BARS = {
    "month": {"2025-01": None, "2025-02": 10, "2025-03": None},
    "mechanism": {"firearm": None, "sharp": 10, "blunt": None},
    "age_band": {
        "0-14": 0, "15-24": None, "25-34": 10, "35-44": None, "45-54": 0, "55-64": 0, "65+": 0,
    },
}  # fmt: skip
SMALL_KEY = {"month": "2025-03", "mechanism": "blunt", "age_band": "35-44"}
PARTNER = {"month": "2025-01", "mechanism": "firearm", "age_band": "15-24"}


@pytest.fixture
def small_cell(db):
    _small_cell_admissions()


@pytest.mark.parametrize("group_by", list(EXPECTED_BARS))
def test_a_managers_dashboard_cannot_be_undone_by_subtracting_the_shown_bars_from_the_total(
    small_cell, make_user, api, group_by
):
    body = (
        api(make_user(roles.MANAGER))
        .get("/api/v1/dashboard/incidents/", {**QUARTER, "group_by": group_by})
        .json()
    )
    bars = {r["key"]: r["count"] for r in body["rows"]}
    assert bars == EXPECTED_BARS[group_by]
    assert body["total"] == 23
    shown = sum(v for v in bars.values() if v is not None)
    hidden = [k for k, v in bars.items() if v is None]
    assert len(hidden) == 2 and body["total"] - shown == 13  # not 3: the small bar is not the difference
    rows = {r["key"]: r for r in body["rows"]}
    assert rows[SMALL_KEY[group_by]]["suppressed"] == ["count"]
    assert "complementary" not in rows[SMALL_KEY[group_by]]
    assert rows[PARTNER[group_by]]["complementary"] == ["count"]


@pytest.mark.parametrize("group_by", list(EXPECTED_BARS))
def test_the_dashboard_csv_and_page_withhold_the_same_bars_as_the_api(
    small_cell, make_user, api, client, group_by
):
    import re

    manager = make_user(roles.MANAGER)
    text = (
        api(manager)
        .get("/api/v1/dashboard/incidents/", {**QUARTER, "group_by": group_by, "format": "csv"})
        .content.decode()
    )
    csv_rows = {r["key"]: r for r in csv.DictReader(io.StringIO(text))}
    assert {k: (int(r["count"]) if r["count"] else None) for k, r in csv_rows.items() if k != "total"} == (
        EXPECTED_BARS[group_by]
    )
    assert csv_rows["total"]["count"] == "23"
    client.force_login(manager)
    html = client.get("/reports/dashboard/", QUARTER).content.decode()
    tile = html[html.index(f'data-tile="{group_by}"') :]
    tile = tile[: tile.index("</section>")]
    cells = dict(
        re.findall(r'<tr data-key="([^"]*)"><td>[^<]*</td><td class="num[^"]*" data-count>([^<]*)</td>', tile)
    )
    assert cells[SMALL_KEY[group_by]] == "&lt;5"
    assert cells[PARTNER[group_by]] == "x"
    assert re.search(r"data-total>23<", tile)


def test_an_analyst_asking_for_unsuppressed_figures_still_gets_every_bar(small_cell, make_user, api):
    q = {**QUARTER, "group_by": "mechanism", "unsuppressed": "1"}
    for role in (roles.VPU_ANALYST, roles.ADMIN):
        body = api(make_user(role)).get("/api/v1/dashboard/incidents/", q).json()
        assert {r["key"]: r["count"] for r in body["rows"]} == {"firearm": 10, "sharp": 10, "blunt": 3}
    body = api(make_user(roles.MANAGER)).get("/api/v1/dashboard/incidents/", q).json()
    assert {r["key"]: r["count"] for r in body["rows"]} == EXPECTED_BARS["mechanism"]


def test_the_hour_and_weekday_charts_withhold_what_the_heat_map_withholds(small_cell, make_user, api):
    manager = api(make_user(roles.MANAGER))
    get = lambda g: manager.get("/api/v1/dashboard/incidents/", {**QUARTER, "group_by": g}).json()  # noqa: E731
    # Every admission arrives at 14:00: the hour chart is one bar, 23, the total; the days of the week
    # hold 23 admissions unevenly, and the weekday chart is the heat map's 14:00 column.
    hours, days, cells = get("hour"), get("weekday"), get("hour_weekday")
    assert {r["key"]: r["count"] for r in hours["rows"]}[14] == 23
    heat = {r["key"]: r["count"] for r in cells["rows"]}
    assert {r["key"]: r["count"] for r in days["rows"]} == {d: heat[f"{d}-14"] for d in range(1, 8)}
    hidden = [d for d, r in enumerate(days["rows"], 1) if r["count"] is None]
    assert len(hidden) != 1  # never a single withheld day: 23 minus the others would give it


def _conviction_by_district():
    """District One (court A): 6 convictions, 2 acquittals; District Two (court B): 7 convictions,
    6 acquittals; all in March 2025. Only District One's acquittals (2) are under 5."""

    ref = reference()
    kw = {"actor": None, "version": None}
    n = 0
    for court, convictions, acquittals in (("a", 6, 2), ("b", 7, 6)):
        for verdict in ["convict"] * convictions + ["acquit"] * acquittals:
            n += 1
            p = enrol(
                ref,
                court=court,
                station="s1",
                offence="murder",
                mechanism="firearm",
                gang=False,
                name=f"Q{n}",
            )
            if verdict == "convict":
                services.prosecution_convict(p, at=sast(2025, 3, 2 + n % 20), **kw)
            else:
                services.prosecution_start_trial(p, at=sast(2025, 2, 1), **kw)
                services.prosecution_acquit(p, at=sast(2025, 3, 2 + n % 20), **kw)


def test_conviction_rate_by_district_cannot_be_undone_by_subtraction(db, make_user, api, client):
    _conviction_by_district()
    manager = make_user(roles.MANAGER)
    q = {"from": "2025-03-01", "to": "2025-03-31", "group_by": "district"}
    body = api(manager).get("/api/v1/reports/conviction-rate/", q).json()
    rows = {r["group"]: r for r in body["rows"]}
    d1, d2, total = rows["d1"], rows["d2"], body["total"]
    assert d1["acquittals"] is None
    # verdicts - convictions, and total acquittals - District Two's, each needs a withheld figure:
    assert d1["verdicts"] is None or d1["convictions"] is None
    assert total["acquittals"] is None or d2["acquittals"] is None
    assert d1["conviction_rate"] is None  # a rate over a withheld count would give it back
    # The totals stay shown (every grouping of the period shows them): 13 convictions, 8 acquittals.
    assert (total["convictions"], total["acquittals"], total["verdicts"], total["finalised"]) == (
        13,
        8,
        21,
        21,
    )
    # The published figures leave District One's acquittals open (the brute-force audit).
    counts = ["convictions", "acquittals", "verdicts", "withdrawn", "provisionally_withdrawn", "struck_off"]
    counts += ["diverted", "finalised"]
    table = s.grouped_table(
        {g: {f: _true(g, f) for f in counts} for g in ("d1", "d2")},
        {f: _true("total", f) for f in counts},
        row_identities=ROW_IDENTITIES,
    )
    kinds = {}
    for g, r in (("d1", d1), ("d2", d2), (s.TOTAL, total)):
        for f in r.get("suppressed", []):
            if f in counts:
                kinds[(g, f)] = s.COMPLEMENTARY if f in r.get("complementary", []) else s.SMALL
    assert disclosed(table, kinds) == []
    # The CSV and the page withhold the same figures.
    text = api(manager).get("/api/v1/reports/conviction-rate/", {**q, "format": "csv"}).content.decode()
    csv_rows = {r["group"]: r for r in csv.DictReader(io.StringIO(text))}
    for g, r in (("d1", d1), ("d2", d2), ("total", total)):
        assert {f: csv_rows[g][f] for f in counts} == {f: "" if r[f] is None else str(r[f]) for f in counts}
    client.force_login(manager)
    page = client.get("/reports/conviction-rate/", q)
    page_rows = {r["group"]: r for r in page.context["rows"]}
    assert {f: page_rows["d1"][f] for f in counts} == {f: d1[f] for f in counts}


def _true(group, field):
    """The cohort of ``_conviction_by_district`` by hand."""
    c = {"d1": (6, 2), "d2": (7, 6), "total": (13, 8)}[group]
    return {"convictions": c[0], "acquittals": c[1], "verdicts": sum(c), "finalised": sum(c)}.get(field, 0)
