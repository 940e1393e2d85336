"""Playwright driving Debian's chromium (never a downloaded browser), for the browser checks."""

import contextlib
import os
from base64 import b32decode
from pathlib import Path

from django_otp.oath import totp
from playwright.sync_api import sync_playwright

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium_page(*, width=1280, height=900, mobile=False):
    # Playwright runs an event loop in this thread; Django's live server must allow sync ORM calls here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile
            )
            yield context.new_page()
        finally:
            browser.close()


def sign_in(page, base_url, username, password, *, totp_key: bytes | None = None) -> bytes | None:
    """Sign in through the real pages. A user who must use two-factor is taken through set-up (the key is
    read from the page) or "enter your code" (``totp_key``, the device's binary key); the key is returned
    so a later sign-in can pass it back."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/accounts/two-factor/setup/" in page.url:
        totp_key = b32decode(page.inner_text("#totp-secret").replace(" ", ""))
    elif "/accounts/two-factor/verify/" not in page.url:
        return totp_key
    page.fill("#id_code", f"{totp(totp_key):06d}")
    with page.expect_navigation():
        page.click("main button[type=submit]")  # not the top bar's "Sign out"
    return totp_key
