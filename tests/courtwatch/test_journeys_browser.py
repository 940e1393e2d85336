"""Issue 12 journeys in real chromium: a court watcher on a phone records a postponement and a
withdrawal in at most three actions each; the committee schedules, decides and sees its review close
when the NPA re-enrols the matter."""

import pytest

from casework import permissions as cw
from casework import services as cws
from casework.models import Prosecution
from courtwatch import services
from courtwatch.models import Brief, Hearing, WithdrawalReview
from tests.browser import ARTIFACTS, chromium_page, sign_in

from .conftest import days_ago

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class Counted:
    """The page, counting what the user does (fills, clicks, selects) once on the brief."""

    def __init__(self, page):
        self.page, self.actions = page, 0

    def fill(self, selector, value):
        self.actions += 1
        self.page.fill(selector, value)

    def select(self, selector, value):
        self.actions += 1
        self.page.select_option(selector, value)

    def click(self, selector):
        self.actions += 1
        with self.page.expect_navigation():
            self.page.click(selector)


def on_todays_roll(enrol, watcher, case_number):
    p = enrol()
    Prosecution.objects.filter(pk=p.pk).update(case_number=case_number, next_appearance=days_ago(0))
    services.brief_assign(p.brief, actor=None, version=None, officer=watcher)
    Brief.objects.filter(prosecution=p).update(next_appearance=days_ago(0))
    return Brief.objects.get(prosecution=p)


def find(page, base, typed):
    """From My briefs, type the number as a watcher would and land on the brief."""
    page.goto(f"{base}/courtwatch/briefs/")
    page.fill("#find-q", typed)
    with page.expect_navigation():
        page.press("#find-q", "Enter")


def test_a_watcher_records_a_postponement_and_a_withdrawal_in_three_actions_each(
    live_server, enrol, make_user
):
    watcher = make_user(cw.COURT_WATCHER, username="field.watcher", password="pw-field")
    postponed = on_todays_roll(enrol, watcher, "RC 295/2026")
    withdrawn = on_todays_roll(enrol, watcher, "A 1999/2026")
    base = live_server.url

    with chromium_page(width=390, height=844, mobile=True) as page:
        sign_in(page, base, "field.watcher", "pw-field")

        # A postponement: reason, next date, record.
        find(page, base, "rc 295 / 2026")
        assert page.url.endswith(f"/courtwatch/briefs/{postponed.pk}/#record")
        assert page.input_value("#id_type") == "first_appearance"  # a new matter's first appearance
        assert page.input_value("#id_outcome") == "postponed"
        reasons = page.locator("#id_reason option").all_inner_texts()
        assert "Docket not at court" in reasons and "Witness intimidated" not in reasons
        assert page.is_visible("label[for=id_next_date] .required-mark")
        page.screenshot(path=str(ARTIFACTS / "watcher-postponement-form-390.png"), full_page=True)
        user = Counted(page)
        user.select("#id_reason", "docket_not_at_court")
        user.fill("#id_next_date", days_ago(-21).isoformat())
        user.click("#record-button")
        assert user.actions <= 3
        row = page.locator(f"#brief-{postponed.pk}")
        assert "Done today" in row.inner_text() and "Docket not at court" in row.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "watcher-roll-done-390.png"), full_page=True)

        # A withdrawal: outcome, reason, confirm.
        find(page, base, "a1999/2026")
        assert page.url.endswith(f"/courtwatch/briefs/{withdrawn.pk}/#record")
        user = Counted(page)
        user.select("#id_outcome", "withdrawn")
        reasons = page.locator("#id_reason option").all_inner_texts()
        assert "Witness intimidated" in reasons and "Legal aid" not in reasons
        assert not page.is_visible("#id_next_date")
        user.select("#id_reason", "witness_intimidated")
        assert page.is_visible("#confirm-box")
        assert page.inner_text("#record-button") == "Confirm and record: Withdrawn"
        page.screenshot(path=str(ARTIFACTS / "watcher-withdrawal-confirm-390.png"), full_page=True)
        user.click("#record-button")
        assert user.actions <= 3
        assert "Done today" in page.locator(f"#brief-{withdrawn.pk}").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

    assert Prosecution.objects.get(pk=postponed.prosecution_id).state == "remanded"
    assert Prosecution.objects.get(pk=withdrawn.prosecution_id).state == "withdrawn"
    assert Hearing.objects.count() == 2
    assert WithdrawalReview.objects.get(prosecution_id=withdrawn.prosecution_id).state == "flagged"


def test_a_wrong_form_shows_every_error_in_words_and_survives_a_reload(live_server, enrol, make_user):
    watcher = make_user(cw.COURT_WATCHER, username="hasty.watcher", password="pw-hasty")
    brief = on_todays_roll(enrol, watcher, "RC 300/2026")
    base = live_server.url
    with chromium_page(width=390, height=844, mobile=True) as page:
        sign_in(page, base, "hasty.watcher", "pw-hasty")
        page.goto(f"{base}/courtwatch/briefs/{brief.pk}/#record")
        with page.expect_navigation():
            page.click("#record-button")
        summary = page.inner_text("#error-summary")
        assert "There are 2 problems to fix" in summary
        assert "Reason: Choose the reason from the list." in summary
        assert "Next date: A postponement needs the next date." in summary
        assert page.is_visible("#id_next_date-error")
        page.screenshot(path=str(ARTIFACTS / "watcher-form-errors-390.png"), full_page=True)
        response = page.goto(page.url)  # a reload of the address the form posted to
        assert response.status == 200 and page.is_visible("#hearing-form")


def test_the_committee_schedules_decides_and_sees_the_review_close_when_the_npa_re_enrols(
    live_server, enrol, make_user, court
):
    member = make_user(cw.COMMITTEE_MEMBER, username="chair.member", password="pw-chair")
    make_user(cw.NPA_LIAISON, grants=[court], username="npa.field", password="pw-npa")
    p = enrol(incident={"gang_related": True})
    cws.prosecution_withdraw(p, actor=None, version=None, reason="docket_not_at_court")
    review = WithdrawalReview.objects.get(prosecution=p)
    meeting = services.meeting_create(actor=member, date=days_ago(0), members=[member])
    services.meeting_create(actor=member, date=days_ago(7), members=[member])  # past: not offered
    base = live_server.url

    with chromium_page(width=390, height=844, mobile=True) as page:
        key = sign_in(page, base, "chair.member", "pw-chair")
        page.goto(f"{base}/courtwatch/reviews/")
        with page.expect_navigation():
            page.click(f"a[href='/courtwatch/reviews/{review.pk}/']")
        assert "Docket not at court" in page.inner_text("main")
        page.click("summary:has-text('agenda')")
        offered = page.locator("select[name=meeting] option").all_inner_texts()
        assert len([o for o in offered if o.strip() and o.strip() != "---------"]) == 1
        page.select_option("select[name=meeting]", str(meeting.pk))
        with page.expect_navigation():
            page.click("form[action$='/transitions/schedule/'] button[type=submit]")
        assert "On agenda" in page.inner_text("dl.facts")
        page.click("summary:has-text('decision')")
        page.select_option("select[name=decision]", "re_enrol")
        page.fill("textarea[name=rationale]", "The docket was found at the station.")
        with page.expect_navigation():
            page.click("form[action$='/transitions/decide/'] button[type=submit]")
        assert "Decided" in page.inner_text("dl.facts")
        page.screenshot(path=str(ARTIFACTS / "committee-decided-390.png"), full_page=True)

    with chromium_page(width=1366, height=768) as page:
        sign_in(page, base, "npa.field", "pw-npa")
        page.goto(f"{base}/prosecutions/{p.pk}/")
        page.click("summary:has-text('Re-enrol')")
        chosen = page.locator("select[name='re_enrol-review'] option:checked").inner_text()
        assert "Docket not at court" in chosen and "decided" in chosen.lower()
        page.fill("input[name='re_enrol-reason']", "Committee decision: docket found")
        with page.expect_navigation():
            page.click("form[action$='/transitions/re_enrol/'] button[type=submit]")
        assert "Remanded" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "npa-re-enrolled-1366.png"), full_page=True)

    with chromium_page(width=390, height=844, mobile=True) as page:
        sign_in(page, base, "chair.member", "pw-chair", totp_key=key)
        page.goto(f"{base}/courtwatch/reviews/{review.pk}/")
        facts = page.inner_text("dl.facts")
        assert "Closed" in facts and "the matter was re-enrolled" in facts
        page.goto(f"{base}/courtwatch/notifications/")
        assert f"Re-enrolled: {p.case_number}" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "committee-review-closed-390.png"), full_page=True)

    assert WithdrawalReview.objects.get(pk=review.pk).state == "closed"
    assert Prosecution.objects.get(pk=p.pk).state == "remanded"
