"""Issue 12 in real chromium: the EC clerk captures an admission and fixes a refused one; the SAPS
liaison acknowledges a referral and opens its docket by CAS number. Screenshots in test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.models import PoliceCase
from referrals import services
from referrals.intake import receive
from referrals.models import Admission, InboundMessage, Referral
from tests.browser import ARTIFACTS, chromium_page, sign_in

from .helpers import adt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

GOOD_ID = "8001015009087"


def local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def no_sideways_scroll(page, width):
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > w).slice(0, 5)
              .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))""",
        width,
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide


def test_the_clerk_captures_an_admission_and_fixes_a_refused_one(live_server, make_user, facility):
    make_user("health_capture", grants=[facility], username="ec.clerk", password="pw-clerk")
    arrival = timezone.now() - timedelta(hours=1)
    with chromium_page(width=390, height=844, mobile=True) as page:
        sign_in(page, live_server.url, "ec.clerk", "pw-clerk")
        page.goto(f"{live_server.url}/intake/new/")
        assert page.input_value("#id_facility") == facility.code  # the clerk's one facility
        assert page.input_value("#id_mechanism") == ""  # no default mechanism
        page.fill("#id_visit_number", "V-2001")
        page.fill("#id_arrival_at", local(arrival))
        page.select_option("#id_mechanism", "sharp")
        page.fill("#id_patient_id", GOOD_ID)
        page.select_option("#id_patient_id_type", "NI")
        page.fill("#id_injury_at", local(arrival + timedelta(minutes=40)))  # after arrival: a typo
        page.click("main button[type=submit]")
        error = page.locator("#injury_at-error")
        assert "The injury time is after the arrival time." in error.inner_text()
        assert "Not saved" in page.locator("#form-errors").inner_text()
        page.screenshot(path=str(ARTIFACTS / "clerk-capture-field-error-phone.png"), full_page=True)
        assert InboundMessage.objects.count() == 0

        page.fill("#id_injury_at", local(arrival - timedelta(minutes=40)))
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert "/intake/mine/" in page.url
        card = page.locator("article.submission").first
        assert "Visit V-2001" in card.inner_text()
        assert "Processed: the admission is recorded" in card.inner_text()
        no_sideways_scroll(page, 390)
        page.screenshot(path=str(ARTIFACTS / "clerk-submissions-phone.png"), full_page=True)

        # A CSV file with one bad row: the clerk sees why and fixes that row from the page.
        at = timezone.localtime(arrival).strftime("%Y-%m-%d %H:%M")
        text = (
            "facility,visit_number,arrival_at,icd10_codes,patient_id,patient_id_type\n"
            f"{facility.code},V-2002,{at},S31.1 X99.4,{GOOD_ID},NI\n"
            f"{facility.code},V-2003,{at},S31.1 X99.4,8001015009088,NI\n"
        )
        page.goto(f"{live_server.url}/intake/csv/")
        page.set_input_files(
            "#id_file", files=[{"name": "night.csv", "mimeType": "text/csv", "buffer": text.encode()}]
        )
        with page.expect_navigation():
            page.click("main button[type=submit]")
        with page.expect_navigation():
            page.click("text=Fix and resend them one by one")
        upload = page.locator("article.submission").first
        assert "1 of 2 rows kept" in upload.inner_text()
        assert "check digit is wrong" in upload.inner_text()
        page.screenshot(path=str(ARTIFACTS / "clerk-refused-row-phone.png"), full_page=True)
        with page.expect_navigation():
            upload.locator("text=Fix and resend").click()
        assert "check digit is wrong" in page.locator("#patient_id-error").inner_text()
        assert page.input_value("#id_visit_number") == "V-2003"
        page.fill("#id_patient_id", "8001015009087")
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert "Sent again" in page.locator("article.submission", has_text="night.csv").inner_text()
        page.screenshot(path=str(ARTIFACTS / "clerk-row-resent-phone.png"), full_page=True)

    assert set(Admission.objects.values_list("visit_number", flat=True)) == {"V-2001", "V-2002", "V-2003"}


def test_saps_acknowledges_a_referral_and_opens_a_docket_by_cas_number(
    live_server, make_user, facility, suburb
):
    clerk = make_user("health_capture", grants=[facility])
    make_user("saps_liaison", grants=[suburb.station], username="saps.liaison", password="pw-saps")
    receive.inbound_receive_hl7(raw=adt(control="B1", visit="V-3001", obx={"SUBURB": suburb.code}))
    admission = Admission.objects.get(visit_number="V-3001")
    referral = services.referral_refer(admission=admission, actor=clerk)
    year = timezone.localdate().year

    with chromium_page(width=390, height=844, mobile=True) as phone:  # the pages fit a phone too
        sign_in(phone, live_server.url, "saps.liaison", "pw-saps")
        for path in ("/intake/referrals/", f"/intake/referrals/{referral.pk}/"):
            phone.goto(f"{live_server.url}{path}")
            no_sideways_scroll(phone, 390)
        assert phone.locator("#open-docket").is_visible()
        phone.screenshot(path=str(ARTIFACTS / "saps-referral-phone.png"), full_page=True)

    with chromium_page(width=1366, height=768) as page:
        sign_in(page, live_server.url, "saps.liaison", "pw-saps")
        page.goto(f"{live_server.url}/intake/referrals/")
        card = page.locator(f"#referral-{referral.pk}")
        assert "waiting for the station to acknowledge" in card.inner_text()
        with page.expect_navigation():
            card.locator("text=Open").click()
        with page.expect_navigation():
            page.click("#action-acknowledge")
        assert f"Acknowledged by SAPS {suburb.station}" in page.locator("#referral-state").inner_text()
        page.screenshot(path=str(ARTIFACTS / "saps-referral-acknowledged.png"), full_page=True)

        page.fill("#id_cas_serial", "412")
        page.fill("#id_cas_month", "13")  # a slip: the month is checked before anything is saved
        page.fill("#id_cas_year", str(year))
        page.select_option("#id_offence", "attempted_murder")
        page.click("#open-docket-submit")
        assert "12" in page.locator("#open-docket .field-error").inner_text()
        assert PoliceCase.objects.count() == 0
        page.fill("#id_cas_month", "1")
        with page.expect_navigation():
            page.click("#open-docket-submit")
        state = page.locator("#referral-state").inner_text()
        assert f"Docket CAS 412/01/{year} opened at SAPS {suburb.station}" in state
        page.screenshot(path=str(ARTIFACTS / "saps-docket-opened.png"), full_page=True)

    referral.refresh_from_db()
    case = PoliceCase.objects.get()
    assert (referral.state, referral.police_case_id) == (Referral.State.CASE_OPENED, case.pk)
    assert (case.station_id, case.cas_number) == (suburb.station_id, f"412/01/{year}")
    assert list(case.incidents.values_list("pk", flat=True)) == [admission.incident_id]
