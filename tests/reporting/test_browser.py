"""In Debian's chromium: the dashboard and the conviction-rate page draw their charts, and the numbers on
the page are the API's. Screenshots go to test-artifacts/."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from casework import permissions as roles

from .cohort import MARCH, admissions_cohort, conviction_cohort

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(live_server, make_user):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    analyst = make_user(roles.VPU_ANALYST)
    django_client = Client()
    django_client.force_login(analyst)
    cookie = django_client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        yield context.new_page(), live_server.url
        browser.close()


def _charts_drew(page):
    charts = page.locator("svg.chart")
    assert charts.count() > 0
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, charts.nth(i).get_attribute("data-chart")
    return charts.count()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_dashboard_and_the_conviction_rate_page_draw_and_agree_with_the_api(browser_page):
    cohort = conviction_cohort()
    admissions_cohort(cohort.ref)
    page, url = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    q = f"from={MARCH['from']}&to={MARCH['to']}&unsuppressed=1"

    page.goto(f"{url}/reports/dashboard/?{q}")
    assert _charts_drew(page) == 10
    assert page.locator("svg.chart[data-chart=hour_weekday] rect.cell").count() == 7 * 24
    page.screenshot(path=str(ARTIFACTS / "reporting-dashboard.png"), full_page=True)
    for group_by in ("facility", "mechanism", "age_band", "month"):
        api = page.request.get(f"{url}/api/v1/dashboard/incidents/?{q}&group_by={group_by}").json()
        tile = page.locator(f"section[data-tile={group_by}]")
        assert tile.locator("[data-total]").inner_text() == str(api["total"])
        shown = {
            row.get_attribute("data-key"): row.locator("[data-count]").text_content()
            for row in tile.locator("tbody tr").all()
        }
        assert shown == {r["key"]: str(r["count"]) for r in api["rows"]}, group_by

    page.goto(f"{url}/reports/conviction-rate/?{q}&group_by=court")
    assert _charts_drew(page) == 1
    page.screenshot(path=str(ARTIFACTS / "reporting-conviction-rate.png"), full_page=True)
    api = page.request.get(f"{url}/api/v1/reports/conviction-rate/?{q}&group_by=court").json()
    for row in [*api["rows"], {**api["total"], "group": "total"}]:
        tr = page.locator(f"#conviction-table tr[data-group='{row['group']}']")
        for field in ("convictions", "acquittals", "verdicts", "finalised"):
            assert tr.locator(f"[data-field={field}]").inner_text() == str(row[field]), (row["group"], field)
        rate = tr.locator("[data-field=conviction_rate]").inner_text()
        assert rate == (f"{row['conviction_rate'] * 100:.1f}%" if row["conviction_rate"] is not None else "—")
