"""A court watcher on a phone records a hearing from the brief page (real chromium)."""

import pytest

from casework import permissions as cw
from courtwatch import services
from courtwatch.models import Brief
from tests.browser import ARTIFACTS, chromium_page, sign_in

from .conftest import days_ago

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_postponement_recorded_on_a_phone_moves_the_matter_and_fits_the_screen(
    live_server, enrol, make_user
):
    p = enrol()
    watcher = make_user(cw.COURT_WATCHER, username="phone.watcher", password="pw-phone")
    services.brief_assign(p.brief, actor=None, version=None, officer=watcher)
    brief = Brief.objects.get(prosecution=p)

    with chromium_page(width=390, height=844, mobile=True) as page:
        sign_in(page, live_server.url, "phone.watcher", "pw-phone")
        page.goto(f"{live_server.url}/courtwatch/briefs/{brief.pk}/")
        outcomes = page.locator("#id_outcome option").all_inner_texts()
        assert "Postponed" in outcomes and "Acquitted" not in outcomes and "Sentenced" not in outcomes
        page.fill("#id_date", days_ago(1).isoformat())
        page.select_option("#id_type", "first_appearance")
        page.select_option("#id_outcome", "withdrawn")
        assert page.is_visible("#id_reason") and not page.is_visible("#id_next_date")
        page.select_option("#id_outcome", "postponed")
        # Only what a postponement needs is on the screen.
        assert page.is_visible("#id_next_date") and not page.is_visible("#id_sentence")
        assert not page.is_visible("#id_programme") and not page.is_visible("#id_new_court")
        page.select_option("#id_reason", "docket_not_at_court")
        page.fill("#id_next_date", days_ago(-14).isoformat())
        page.fill("#id_note", "IO absent, docket at station")
        page.click("#record button[type=submit]")
        page.wait_for_selector("text=Hearing recorded:")
        assert "Remanded" in page.locator("dl.facts").inner_text()
        assert "IO absent" in page.locator("table").first.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        page.screenshot(path=str(ARTIFACTS / "brief-page-phone.png"), full_page=True)

    brief.refresh_from_db()
    assert (brief.state, brief.prosecution.state, brief.next_appearance) == (
        "monitoring",
        "remanded",
        days_ago(-14),
    )
