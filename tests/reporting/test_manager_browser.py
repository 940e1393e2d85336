"""A manager, in Debian's chromium, reads the conviction rate for one court with its "as of", filters the
dashboard and prints it: the printout states the filters and draws the charts, withheld bars hatched.
Screenshots and the printed PDF go to test-artifacts/."""

import pytest

from casework import permissions as roles
from casework.models import Suburb
from referrals.models import Admission
from reporting import rollups
from tests.browser import ARTIFACTS, chromium_page, sign_in
from tests.factories import FacilityFactory

from .cohort import MARCH, admissions_cohort, conviction_cohort, sast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _drawn(page) -> int:
    charts = page.locator("svg.chart")
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 50 and box["height"] > 20, charts.nth(i).get_attribute("data-chart")
    return charts.count()


def test_a_manager_reads_one_courts_conviction_rate_then_filters_and_prints_the_dashboard(
    live_server, make_user
):
    cohort = conviction_cohort()
    admissions_cohort(cohort.ref)
    make_user(roles.MANAGER, username="prov.manager", password="pw-manager")
    period = f"from={MARCH['from']}&to={MARCH['to']}"

    with chromium_page(width=1366, height=768) as page:
        sign_in(page, live_server.url, "prov.manager", "pw-manager")

        page.goto(f"{live_server.url}/reports/")
        assert page.locator("main a[href='/reports/extract/']").count() == 0  # not the analysts' extract
        page.click("main .report-index >> text=Conviction rate")
        page.fill("#f-from", MARCH["from"])
        page.fill("#f-to", MARCH["to"])
        page.select_option("#f-court", label="Court A")
        with page.expect_navigation():
            page.click("form.filters button[type=submit]")
        assert "court=court-a" in page.url
        assert page.locator(".as-of").inner_text().startswith("As of ")
        assert "Court A" in page.locator(".stated-filters").inner_text()
        # Court A's 3 verdicts are too few for a manager: the rate is withheld and drawn as such
        assert page.locator("#conviction-table tfoot [data-field=verdicts]").inner_text() == "<5"
        assert page.locator("svg.chart[data-chart=conviction-rate] rect.withheld").count() >= 1
        assert _drawn(page) == 1
        page.screenshot(path=str(ARTIFACTS / "manager-conviction-rate-court.png"), full_page=True)

        page.goto(f"{live_server.url}/reports/dashboard/?{period}")
        page.select_option("#f-facility", label="Facility One")
        page.select_option("#f-mechanism", value="sharp")
        with page.expect_navigation():
            page.click("form.filters button[type=submit]")
        stated = page.locator(".stated-filters").inner_text()
        assert "Facility One" in stated and "Sharp" in stated and MARCH["from"] in stated
        page.screenshot(path=str(ARTIFACTS / "manager-dashboard-filtered.png"), full_page=True)

        page.emulate_media(media="print")
        assert page.locator("form.filters").is_hidden()
        assert page.locator(".stated-filters").is_visible()
        assert _drawn(page) == page.locator("section.tile").count() == 10
        # Facility One's two sharp admissions in March: "<5", hatched, not an empty chart
        assert page.locator("section[data-tile=facility] rect.withheld").count() == 1
        assert page.locator("section[data-tile=facility] .legend").is_visible()
        page.screenshot(path=str(ARTIFACTS / "manager-dashboard-print.png"), full_page=True)
        page.pdf(path=str(ARTIFACTS / "manager-dashboard-print.pdf"), print_background=True)


def test_a_manager_sees_precincts_on_the_map_beside_their_table(live_server, make_user):
    facility = FacilityFactory(code="map-fac")
    for code, n in (("tafelsig", 7), ("harare", 6), ("nyanga", 2), ("manenberg", 9), ("gugulethu", 12)):
        suburb = Suburb.objects.get(code=code)
        for i in range(n):
            Admission.objects.create(
                facility=facility,
                visit_number=f"{code}-{i}",
                suburb=suburb,
                mechanism="firearm",
                arrival_at=sast(2025, 3, 3 + i, 22),
            )
    rollups.rebuild_all()
    make_user(roles.MANAGER, username="map.manager", password="pw-manager")
    with chromium_page(width=1366, height=900) as page:
        sign_in(page, live_server.url, "map.manager", "pw-manager")
        page.goto(f"{live_server.url}/reports/map/?from={MARCH['from']}&to={MARCH['to']}")
        assert page.locator("svg.map g.place").count() == 5
        assert page.locator("svg.map g.place.withheld").count() >= 1  # Nyanga's 2, hatched
        assert page.locator("#map-table tbody tr").count() == 5
        assert "Points, not boundaries." in page.locator(".map-legend").inner_text()
        map_box, table_box = page.locator("svg.map").bounding_box(), page.locator("#map-table").bounding_box()
        assert table_box["x"] > map_box["x"] + map_box["width"] - 5  # the table beside the map
        page.screenshot(path=str(ARTIFACTS / "manager-map.png"), full_page=True)
