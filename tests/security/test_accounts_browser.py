"""In Debian's chromium: an EC clerk's first sign-in sets up two-factor from the key on the page, and the
next sign-in asks for the code (real pages, real TOTP codes)."""

import pytest
from django_otp.oath import totp

from casework import permissions
from tests.browser import ARTIFACTS, chromium_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_ec_clerk_sets_up_two_factor_in_the_browser_and_is_asked_for_a_code_next_time(
    live_server, make_user
):
    make_user(permissions.HEALTH_CAPTURE, username="ec.clerk", password="Harbour-Lights-Orange-42")

    with chromium_page(width=390, height=844, mobile=True) as page:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "ec.clerk")
        page.fill("#id_password", "Harbour-Lights-Orange-42")
        page.click("button[type=submit]")
        page.wait_for_selector("#totp-secret")
        assert page.inner_text("#totp-uri").startswith("otpauth://totp/Casetrail%3Aec.clerk?secret=")
        page.screenshot(path=str(ARTIFACTS / "two-factor-setup-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    with chromium_page() as page:
        key = sign_in(page, live_server.url, "ec.clerk", "Harbour-Lights-Orange-42")
        assert "/accounts/two-factor/" not in page.url, page.url
        with page.expect_navigation():
            page.click("form.logout button[type=submit]")

        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "ec.clerk")
        page.fill("#id_password", "Harbour-Lights-Orange-42")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Enter your code")
        assert "/accounts/two-factor/verify/" in page.url
        page.fill("#id_code", f"{totp(key, drift=1):06d}")  # the next step's code: each is taken once
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert "/accounts/" not in page.url, page.url
