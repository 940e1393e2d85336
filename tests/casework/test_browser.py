"""A court officer on a phone records a postponement from the case page (real chromium)."""

import pytest

from tests.browser import ARTIFACTS, chromium_page, sign_in
from tests.factories import ProsecutionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_postponement_recorded_on_a_phone_shows_on_the_timeline(live_server, make_user):
    p = ProsecutionFactory(case_number="RC 412/2025")
    make_user("npa_liaison", grants=[p.court], username="phone.user", password="pw-phone")

    with chromium_page(width=390, height=844, mobile=True) as page:
        sign_in(page, live_server.url, "phone.user", "pw-phone")
        page.goto(f"{live_server.url}/prosecutions/{p.pk}/")
        summaries = page.locator("details.transition summary").all_inner_texts()
        assert "Remand" in summaries and "Acquit" not in summaries
        page.click("details.transition:has-text('Remand') summary")
        page.select_option("#id_remand-reason", "docket_not_at_court")
        page.fill("#id_remand-next_date", "2025-03-14")
        page.fill("#id_remand-note", "docket not at court")
        page.click("details.transition:has-text('Remand') button[type=submit]")
        page.wait_for_selector("text=Recorded: Remand.")
        assert "Remanded" in page.locator("h1").inner_text()
        assert "docket not at court" in page.locator(".timeline").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        page.screenshot(path=str(ARTIFACTS / "case-page-phone.png"), full_page=True)

    p.refresh_from_db()
    assert (p.state, str(p.next_appearance)) == ("remanded", "2025-03-14")
