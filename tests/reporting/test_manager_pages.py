"""What a manager reads is true: a withheld figure is drawn and marked, never shown as zero or nothing;
a mostly withheld chart offers the coarser grouping; the conviction rate filters by court and says when
it was counted; no page links where the role gets a 403; the map stands on real points."""

import re
from datetime import date

import pytest
from django.test import Client

from casework import permissions as roles
from casework.models import Suburb
from referrals.models import Admission
from reporting import charts, rollups
from tests.factories import DistrictFactory, FacilityFactory

from .cohort import MARCH, admissions_cohort, conviction_cohort, sast


@pytest.fixture
def manager(make_user):
    return make_user(roles.MANAGER)


def page(user, url):
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# ------------------------------------------------------------------ withheld figures are drawn


def test_a_withheld_bar_is_a_hatched_stub_marked_under_five_with_a_legend_never_an_empty_bar():
    svg = str(charts.bar_chart([("Tygerberg", None), ("Groote Schuur", 40)], name="facility", title="t"))
    stub = re.search(r'<rect [^>]*data-withheld="&lt;5"[^>]*>', svg).group(0)
    assert 'fill="url(#hatch-facility)"' in stub
    assert float(re.search(r'width="([\d.]+)"', stub).group(1)) >= 12  # visible, not a zero-width bar
    assert "Tygerberg: &lt;5" in svg
    assert 'class="legend"' in svg and "Hatched: withheld" in svg


def test_withheld_weeks_and_heat_map_cells_are_hatched_columns_and_cells():
    weeks = str(
        charts.column_chart([("2025-W10", None), ("2025-W11", "x"), ("2025-W12", 0)], name="week", title="t")
    )
    assert weeks.count('class="withheld"') == 2
    assert 'data-withheld="x"' in weeks
    heat = str(charts.heat_map({"1-22": None, "2-03": 9}, name="hw", title="t", weekdays=["Mon"] * 7))
    assert heat.count('class="cell withheld"') == 1
    assert "Mon 22:00: &lt;5" in heat


def test_a_chart_with_nothing_withheld_has_no_legend():
    assert 'class="legend"' not in str(charts.bar_chart([("A", 7)], name="a", title="t"))


def test_the_managers_dashboard_draws_small_facility_counts_as_hatched_under_five_not_zero(manager):
    admissions_cohort()  # March: Facility One 3, Facility Two 1
    html = page(manager, f"/reports/dashboard/?from={MARCH['from']}&to={MARCH['to']}")
    tile = html.split('data-tile="facility"')[1].split("</section>")[0]
    assert tile.count('data-withheld="&lt;5"') == 2
    assert 'class="legend"' in tile
    cells = re.findall(r'<td class="num withheld" data-count>(.*?)</td>', tile)
    assert cells == ["&lt;5", "&lt;5"]


# ------------------------------------------------------------------ the coarser grouping


def _small_facilities_of_one_sub_district():
    district = DistrictFactory(code="metro", name="Metro")
    for i in range(4):
        facility = FacilityFactory(
            code=f"kf-{i}", name=f"Clinic {i}", district=district, sub_district="Klipfontein"
        )
        for j in range(2):
            Admission.objects.create(
                facility=facility,
                visit_number=f"v{i}-{j}",
                arrival_at=sast(2025, 3, 5 + i, 10 + j),
                mechanism="sharp",
                place_type="street",
            )
    rollups.rebuild_all()


def test_when_most_facilities_are_withheld_the_dashboard_offers_the_sub_district_and_says_why(manager):
    _small_facilities_of_one_sub_district()
    q = f"from={MARCH['from']}&to={MARCH['to']}"
    html = page(manager, f"/reports/dashboard/?{q}")
    tile = html.split('data-tile="facility"')[1].split("</section>")[0]
    assert "4 of 4 groups here are withheld as small" in tile
    href = re.search(r'<a href="([^"]*coarser=facility[^"]*)">show by health sub-district</a>', tile).group(1)

    coarser = page(manager, f"/reports/dashboard/{href.replace('&amp;', '&')}")
    tile = coarser.split('data-tile="sub_district"')[1].split("</section>")[0]
    assert "Drawn coarser than by facility" in tile
    assert re.search(
        r'<tr data-key="Klipfontein"><td>Klipfontein</td><td class="num" data-count>8</td>', tile
    )
    assert 'data-tile="facility"' not in coarser  # drawn instead of, never beside, the finer one


def test_no_coarser_grouping_is_offered_when_it_would_be_withheld_too(manager):
    conviction_cohort()  # March: court A (district 1) 3 verdicts, court B (district 2) 1
    html = page(manager, f"/reports/conviction-rate/?from={MARCH['from']}&to={MARCH['to']}&group_by=court")
    assert 'data-coarser="' not in html  # by district the same few verdicts: still withheld
    assert html.count('data-withheld="—"') == 2  # both courts' rates drawn as withheld, not left out


def test_a_day_chart_of_withheld_days_offers_the_iso_week_where_the_8_admissions_show(manager):
    _small_facilities_of_one_sub_district()  # 2 a day, 5 to 8 March: all in ISO week 2025-W10
    html = page(manager, f"/reports/dashboard/?from={MARCH['from']}&to={MARCH['to']}")
    day = html.split('data-tile="day"')[1].split("</section>")[0]
    assert "4 of 4 groups here are withheld as small" in day and 'data-coarser="week"' in day
    week = html.split('data-tile="week"')[1].split("</section>")[0]
    assert 'data-coarser="' not in week  # nothing withheld there
    assert re.search(r'<tr data-key="2025-W10"><td>2025-W10</td><td class="num" data-count>8</td>', week)


# ------------------------------------------------------------------ the conviction rate


def test_the_conviction_rate_filters_by_court_and_states_the_court_and_when_it_was_counted(analyst):
    cohort = conviction_cohort()
    html = page(
        analyst,
        f"/reports/conviction-rate/?from={MARCH['from']}&to={MARCH['to']}&group_by=offence"
        "&court=court-a&unsuppressed=1",
    )
    # Court A in March: P1 convicted, P2 sentenced, P3 acquitted, P7 diverted (P9 April, P10 February)
    total = html.split('<tr data-group="total">')[1].split("</tr>")[0]
    figures = dict(re.findall(r'data-field="(\w+)">([^<]*)<', total))
    assert (figures["convictions"], figures["acquittals"], figures["diverted"], figures["finalised"]) == (
        "2",
        "1",
        "1",
        "4",
    )
    assert figures["withdrawn"] == "0"  # court B's withdrawal (P4) is not counted
    assert "<dt>Court</dt><dd>Court A</dd>" in html
    assert re.search(r"As of <strong>\d{4}-\d\d-\d\d \d\d:\d\d</strong>", html)
    assert cohort.ref["a"].name in html


def test_an_unknown_court_is_a_bad_request_naming_the_field(analyst):
    client = Client()
    client.force_login(analyst)
    response = client.get("/reports/conviction-rate/?court=atlantis")
    assert response.status_code == 400
    assert "court" in response.content.decode()


# ------------------------------------------------------------------ links


def _links(html: str) -> set[str]:
    return {h.replace("&amp;", "&") for h in re.findall(r'href="(/(?:reports|api)/[^"#]*)"', html)}


def test_no_report_page_links_a_manager_to_a_page_the_manager_cannot_open(manager):
    admissions_cohort()
    client = Client()
    client.force_login(manager)
    index = client.get("/reports/").content.decode()
    assert "/reports/extract/" not in index  # the row-level extract is analysts' only
    assert client.get("/reports/extract/").status_code == 403
    seen, queue = set(), ["/reports/", "/reports/dashboard/", "/reports/map/", "/reports/hotspots/"]
    while queue:
        url = queue.pop()
        if url in seen or len(seen) > 60:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code not in (403, 404, 500), (url, response.status_code)
        if response["Content-Type"].startswith("text/html"):
            queue += [u for u in _links(response.content.decode()) if u not in seen]
    assert {"/reports/conviction-rate/", "/reports/attrition/", "/reports/map/"} <= seen


def test_an_analyst_is_offered_the_extract(analyst):
    assert 'href="/reports/extract/"' in page(analyst, "/reports/")


# ------------------------------------------------------------------ places: precincts and the map


def _admissions_in(suburb_code: str, n: int, day: date):
    suburb = Suburb.objects.get(code=suburb_code)
    facility = FacilityFactory(code=f"fac-{suburb_code}")
    for i in range(n):
        Admission.objects.create(
            facility=facility,
            visit_number=f"{suburb_code}-{i}",
            suburb=suburb,
            mechanism="firearm",
            arrival_at=sast(day.year, day.month, day.day, 1 + i % 20),
        )


def test_a_manager_reads_hotspots_by_station_precinct_with_one_rank_column(manager, analyst):
    from reporting import periods

    today = periods.today()
    _admissions_in("tafelsig", 6, date.fromordinal(today.toordinal() - 8))
    _admissions_in("beacon-valley", 3, date.fromordinal(today.toordinal() - 8))
    _admissions_in("nyanga", 2, date.fromordinal(today.toordinal() - 8))
    rollups.rebuild_all()
    html = page(manager, "/reports/hotspots/")
    head = html.split('<table id="hotspots-table">')[1].split("</thead>")[0]
    assert head.count("Rank") == 1
    rows = re.findall(r'<tr data-suburb="([\w-]+)"><td data-rank>([^<]*)</td><td>([^<]*)</td>', html)
    # Tafelsig and Beacon Valley are both in the Mitchells Plain precinct: 9, shown and ranked first;
    # Nyanga's 2 is withheld, so it has no rank
    assert rows[0] == ("mitchells-plain", "1", "Mitchells Plain")
    assert ("nyanga", "—", "Nyanga") in rows
    assert "Tafelsig" not in html
    assert "Tafelsig" in page(analyst, "/reports/hotspots/")  # analysts read suburbs


def test_the_map_draws_precincts_at_real_points_and_names_their_source(manager):
    from reporting import periods

    today = periods.today()
    _admissions_in("tafelsig", 7, date.fromordinal(today.toordinal() - 3))
    _admissions_in("harare", 6, date.fromordinal(today.toordinal() - 3))
    _admissions_in("nyanga", 2, date.fromordinal(today.toordinal() - 3))
    rollups.rebuild_all()
    html = page(manager, "/reports/map/")
    assert '<svg class="chart map"' in html
    assert 'data-place="mitchells-plain"' in html
    assert re.search(r'<g class="place withheld[^"]*" data-place="nyanga">', html)
    assert "Points, not boundaries." in html
    assert "City of Cape Town official planning-suburb point" in html
    assert "placed by hand" in html
    # 7 + 6 + 2 = 15 is public: Nyanga's 2 is "<5" and Harare's 6 is withheld ("x") with it, so
    # that the 2 cannot be worked out; neither is ranked
    table = html.split('<table id="map-table">')[1]
    assert re.search(
        r'<tr data-place="mitchells-plain"><td>1</td><td>Mitchells Plain</td><td class="num">7</td>', table
    )
    assert "tile" not in re.sub(r'class="[^"]*"', "", html.split("<figure")[1].split("</figure>")[0]).lower()
    assert (
        "http" not in html.split('<svg class="chart map"')[1].split("</svg>")[0]
    )  # nothing fetched: no tiles
