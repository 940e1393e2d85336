"""Issue 12 (field use): the court watcher's search and hearing form, and the re-enrolment loop."""

import datetime

import pytest
from django.utils import timezone

from casework import services as cws
from casework.models import Prosecution, TransitionLog
from courtwatch import services
from courtwatch.models import Brief, Hearing, Notification, WithdrawalReview
from tests.factories import CourtFactory, set_state

from .conftest import days_ago

pytestmark = pytest.mark.django_db


def numbered(brief, case_number: str) -> Brief:
    Prosecution.objects.filter(pk=brief.prosecution_id).update(case_number=case_number)
    return Brief.objects.get(pk=brief.pk)


# ---------------------------------------------------------------- finding a matter


@pytest.mark.parametrize("typed", ["RC295/2026", "rc 295 / 2026", "  Rc 295/2026 ", "295/2026"])
def test_a_watcher_finds_a_court_case_number_in_any_spacing_case_or_prefix_and_lands_on_the_brief(
    client, assigned, officer, typed
):
    brief = numbered(assigned(), "RC 295/2026")
    numbered(assigned(), "RC 1295/2026")  # a longer number with the same ending is not a match
    client.force_login(officer)
    r = client.get("/cases/", {"q": typed})
    assert r.status_code == 302
    assert r["Location"] == f"/courtwatch/briefs/{brief.pk}/#record"


def test_a_district_court_number_without_its_space_is_found(client, assigned, officer):
    brief = numbered(assigned(), "A 1999/2026")
    client.force_login(officer)
    r = client.get("/cases/", {"q": "a1999/2026"})
    assert r["Location"] == f"/courtwatch/briefs/{brief.pk}/#record"


def test_a_cas_number_with_the_word_cas_and_loose_spacing_finds_the_matter(client, assigned, officer):
    brief = assigned()
    case = brief.prosecution.police_case
    typed = f"CAS {case.cas_serial} / {case.cas_month} / {case.cas_year}"
    client.force_login(officer)
    r = client.get("/cases/", {"q": typed})
    assert r["Location"] == f"/courtwatch/briefs/{brief.pk}/#record"


def test_an_npa_liaison_finding_one_matter_stays_on_the_list_with_a_link_to_it(client, assigned, npa):
    numbered(assigned(), "RC 295/2026")
    client.force_login(npa)
    r = client.get("/cases/", {"q": "rc295/2026"})
    assert r.status_code == 200 and "RC 295/2026" in r.content.decode()


# ---------------------------------------------------------------- the hearing form


def test_the_hearing_type_follows_the_matters_stage(client, assigned, officer):
    brief = assigned()
    client.force_login(officer)

    def chosen_type():
        page = client.get(f"/courtwatch/briefs/{brief.pk}/").content.decode()
        select = page[page.index('name="type"') : page.index("</select>", page.index('name="type"'))]
        return select.split("selected")[0].rsplit('value="', 1)[1].split('"')[0]

    assert chosen_type() == "first_appearance"
    services.hearing_record(
        actor=officer,
        prosecution=brief.prosecution,
        held_on=days_ago(3),
        kind="first_appearance",
        outcome="postponed",
        reason="legal_aid",
        next_date=days_ago(-5),
    )
    assert chosen_type() == "remand"
    set_state(brief.prosecution, "trial")
    assert chosen_type() == "trial"
    set_state(brief.prosecution, "convicted")
    assert chosen_type() == "sentencing"


def test_the_form_offers_only_postponement_reasons_for_the_default_outcome_postponed(
    client, assigned, officer
):
    brief = assigned()
    client.force_login(officer)
    page = client.get(f"/courtwatch/briefs/{brief.pk}/").content.decode()
    reasons = page[page.index('name="reason"') : page.index("</select>", page.index('name="reason"'))]
    assert "Legal aid" in reasons and "Witness intimidated" not in reasons
    assert '<option value="postponed" selected>' in page
    assert 'src="/static/courtwatch/hearing-form.js"' in page


def test_a_reason_of_the_wrong_kind_is_refused_in_words_and_every_missing_field_shows_at_once(
    client, assigned, officer
):
    brief = assigned()
    client.force_login(officer)
    url = f"/courtwatch/briefs/{brief.pk}/hearings/"
    r = client.post(url, {"date": days_ago(0).isoformat(), "type": "remand", "outcome": "postponed"})
    page = r.content.decode()
    assert r.status_code == 400
    assert "There are 2 problems to fix" in page
    assert "Reason: Choose the reason from the list." in page
    assert "Next date: A postponement needs the next date." in page
    r = client.post(
        url,
        {"date": days_ago(0).isoformat(), "type": "remand", "outcome": "withdrawn", "reason": "legal_aid"},
    )
    page = r.content.decode()
    assert "That is not a reason for “Withdrawn”. Choose one of: Complainant withdrew" in page
    assert "legal_aid" not in page.split('id="error-summary"')[1].split("</div>")[0]
    assert not Hearing.objects.exists()


def test_the_outcomes_required_fields_are_marked(client, assigned, officer):
    brief = assigned()
    client.force_login(officer)
    page = client.get(f"/courtwatch/briefs/{brief.pk}/").content.decode()
    box = page[page.index('data-field="next_date"') :][:400]
    assert '<span class="required-mark"> *' in box  # a postponement needs its next date
    box = page[page.index('data-field="sentence"') :][:400]
    assert '<span class="required-mark" hidden>' in box


def test_a_convicted_matter_offers_sentencing_with_the_sentence_marked_required(client, assigned, officer):
    brief = assigned()
    set_state(brief.prosecution, "convicted")
    client.force_login(officer)
    page = client.get(f"/courtwatch/briefs/{brief.pk}/").content.decode()
    assert '<option value="sentenced" selected>' in page
    assert '<option value="sentencing" selected>' in page
    box = page[page.index('data-field="sentence"') :][:400]
    assert '<span class="required-mark"> *' in box


def test_a_withdrawal_waits_for_its_confirmation_and_then_is_recorded(client, assigned, officer):
    brief = assigned()
    client.force_login(officer)
    url = f"/courtwatch/briefs/{brief.pk}/hearings/"
    data = {
        "date": days_ago(0).isoformat(),
        "type": "remand",
        "outcome": "withdrawn",
        "reason": "witness_intimidated",
        "version": brief.prosecution.version,
    }
    r = client.post(url, data)
    assert r.status_code == 200
    assert "Confirm and record: Withdrawn" in r.content.decode()
    assert not Hearing.objects.exists() and Prosecution.objects.get().state == "enrolled"
    r = client.post(url, {**data, "confirm": "yes"})
    assert r.status_code == 302 and r["Location"] == f"/courtwatch/roll/?period=today#brief-{brief.pk}"
    assert Prosecution.objects.get().state == "withdrawn"
    assert WithdrawalReview.objects.get().state == "flagged"


def test_reloading_the_hearing_address_shows_the_brief_not_a_405(client, assigned, officer):
    brief = assigned()
    client.force_login(officer)
    r = client.get(f"/courtwatch/briefs/{brief.pk}/hearings/")
    assert r.status_code == 302 and r["Location"] == f"/courtwatch/briefs/{brief.pk}/#record"


def test_after_a_postponement_todays_roll_shows_the_matter_as_done(client, assigned, officer):
    brief = assigned()
    Brief.objects.filter(pk=brief.pk).update(next_appearance=days_ago(0))
    client.force_login(officer)
    r = client.post(
        f"/courtwatch/briefs/{brief.pk}/hearings/",
        {
            "date": days_ago(0).isoformat(),
            "type": "remand",
            "outcome": "postponed",
            "reason": "docket_not_at_court",
            "next_date": days_ago(-21).isoformat(),
        },
        follow=True,
    )
    page = r.content.decode()
    row = page[page.index(f'id="brief-{brief.pk}"') :][:900]
    assert 'class="done"' in row and "Done today" in row and "Docket not at court" in row


# ---------------------------------------------------------------- the prosecution page


def test_the_prosecution_page_links_a_watcher_to_the_brief_and_their_buttons_record_hearings(
    client, assigned, officer
):
    brief = assigned()
    p = brief.prosecution
    client.force_login(officer)
    page = client.get(f"/prosecutions/{p.pk}/").content.decode()
    assert f'href="/courtwatch/briefs/{brief.pk}/#record"' in page
    assert f'href="/courtwatch/briefs/{brief.pk}/?outcome=withdrawn#record"' in page
    r = client.post(
        f"/prosecutions/{p.pk}/transitions/withdraw/",
        {"withdraw-reason": "witness_intimidated", "version": p.version},
    )
    assert (
        r.status_code == 302 and r["Location"] == f"/courtwatch/briefs/{brief.pk}/?outcome=withdrawn#record"
    )
    assert Prosecution.objects.get(pk=p.pk).state == "enrolled"  # no bare move: the hearing form decides
    page = client.get(r["Location"]).content.decode()
    assert '<option value="withdrawn" selected>' in page


# ---------------------------------------------------------------- the re-enrolment loop


def removed_twice(enrol):
    """A matter with two open reviews (an old leak: re-enrolled once without closing its review)."""
    p = enrol()
    cws.prosecution_withdraw(p, actor=None, version=None, reason="witness_intimidated")
    first = WithdrawalReview.objects.get(prosecution=p)
    second = services.review_flag(prosecution=p, removal="strike_off", reason="detention_48h_exceeded")
    return Prosecution.objects.get(pk=p.pk), first, second


def test_with_several_open_reviews_the_npa_chooses_one_from_a_list_and_all_close(api, client, npa, enrol):
    p, first, second = removed_twice(enrol)
    client.force_login(npa)
    page = client.get(f"/prosecutions/{p.pk}/").content.decode()
    assert 'type="radio" name="re_enrol-review"' in page
    assert "Witness intimidated" in page and "48-hour rule exceeded" in page
    r = api(npa).post(
        f"/api/v1/prosecutions/{p.pk}/transitions/re_enrol/",
        {"reason": "Docket found", "version": p.version},
        format="json",
    )
    assert (
        r.status_code == 422 and "choose the one this re-enrolment answers" in r.data["errors"]["review"][0]
    )
    r = client.post(
        f"/prosecutions/{p.pk}/transitions/re_enrol/",
        {"re_enrol-reason": "Docket found", "re_enrol-review": second.pk, "version": p.version},
    )
    assert r.status_code == 302
    assert [r.state for r in WithdrawalReview.objects.order_by("pk")] == ["closed", "closed"]
    answered = TransitionLog.for_object(second).get(transition="close")
    assert (answered.reason, answered.data["answered"]) == ("re_enrolled", True)


def test_re_enrolment_tells_the_watcher_the_supervisor_and_the_committee(
    npa, assigned, officer, supervisor, members, django_capture_on_commit_callbacks
):
    brief = assigned()
    p = brief.prosecution
    cws.prosecution_withdraw(p, actor=None, version=None, reason="docket_not_at_court")
    p = Prosecution.objects.get(pk=p.pk)
    with django_capture_on_commit_callbacks(execute=True):
        cws.prosecution_re_enrol(p, actor=npa, version=p.version, reason="Docket found")
    told = set(
        Notification.objects.filter(kind="matter_re_enrolled").values_list("user__username", flat=True)
    )
    assert told == {"officer-a", "supervisor", "member-1", "member-2", "member-3"}
    n = Notification.objects.get(user=officer, kind="matter_re_enrolled")
    assert (
        n.subject.startswith(f"Re-enrolled: {p.case_number}") and n.url == f"/courtwatch/briefs/{brief.pk}/"
    )


def test_a_rolled_back_re_enrolment_tells_nobody(npa, enrol, django_capture_on_commit_callbacks):
    p, _first, _second = removed_twice(enrol)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception):  # noqa: B017
        cws.prosecution_re_enrol(p, actor=npa, version=p.version, reason="Docket found")
    assert not Notification.objects.exists()
    assert Prosecution.objects.get(pk=p.pk).state == "withdrawn"


# ---------------------------------------------------------------- the committee


@pytest.fixture
def on_agenda(enrol, members):
    def make(meeting_on):
        p = enrol()
        cws.prosecution_withdraw(p, actor=None, version=None, reason="witness_intimidated")
        meeting = services.meeting_create(actor=members[0], date=meeting_on, members=members)
        review = WithdrawalReview.objects.get(prosecution=p)
        at = timezone.now() - datetime.timedelta(days=30) if meeting_on < timezone.localdate() else None
        review = services.review_schedule(review, actor=None, version=None, meeting=meeting, at=at)
        return review

    return make


def test_a_decision_before_the_meeting_date_is_a_form_error_naming_the_decision(
    api, client, members, on_agenda
):
    review = on_agenda(days_ago(-2))
    client.force_login(members[0])
    r = client.post(
        f"/courtwatch/reviews/{review.pk}/transitions/decide/",
        {"decision": "uphold_withdrawal", "rationale": "r", "version": review.version},
    )
    assert r.status_code == 400
    assert "record its decision on or after that day" in r.content.decode()
    r = api(members[0]).post(
        f"/api/v1/reviews/{review.pk}/transitions/decide/",
        {"decision": "uphold_withdrawal", "rationale": "r", "version": review.version},
        format="json",
    )
    assert r.status_code == 422 and "decision" in r.data["errors"]
    assert WithdrawalReview.objects.get(pk=review.pk).state == "on_agenda"
    today = on_agenda(days_ago(0))
    r = api(members[0]).post(
        f"/api/v1/reviews/{today.pk}/transitions/decide/",
        {"decision": "uphold_withdrawal", "rationale": "r", "version": today.version},
        format="json",
    )
    assert r.status_code == 200 and r.data["state"] == "closed"


def test_the_agenda_offers_only_meetings_still_to_come(api, client, members, enrol):
    p = enrol()
    cws.prosecution_withdraw(p, actor=None, version=None, reason="witness_intimidated")
    review = WithdrawalReview.objects.get(prosecution=p)
    past = services.meeting_create(actor=members[0], date=days_ago(3), members=members)
    coming = services.meeting_create(actor=members[0], date=days_ago(-4), members=members)
    client.force_login(members[0])
    page = client.get(f"/courtwatch/reviews/{review.pk}/").content.decode()
    assert f'<option value="{coming.pk}">' in page and f'<option value="{past.pk}">' not in page
    r = api(members[0]).post(
        f"/api/v1/reviews/{review.pk}/transitions/schedule/",
        {"meeting": past.pk, "version": review.version},
        format="json",
    )
    assert r.status_code == 422 and "still to come" in str(r.data["errors"]["meeting"])


def test_the_queue_filters_by_state_court_and_age_and_pages(client, members, enrol):
    far = CourtFactory(name="Wynberg Regional Court")
    for i in range(30):
        p = enrol(court_=far if i == 0 else None)
        cws.prosecution_withdraw(p, actor=None, version=None, reason="witness_intimidated")
    old = WithdrawalReview.objects.order_by("pk").last()
    WithdrawalReview.objects.filter(pk=old.pk).update(flagged_at=timezone.now() - datetime.timedelta(days=45))
    client.force_login(members[0])
    page = client.get("/courtwatch/reviews/").content.decode()
    assert "30 reviews" in page and "Page 1 of 2" in page
    page = client.get("/courtwatch/reviews/", {"age": "overdue"}).content.decode()
    assert "1 review" in page and "Overdue: not decided within 30 days" in page
    page = client.get("/courtwatch/reviews/", {"court": far.code}).content.decode()
    assert "1 review" in page and "Wynberg Regional Court" in page
    page = client.get("/courtwatch/reviews/", {"state": "on_agenda"}).content.decode()
    assert "0 reviews" in page
    page = client.get("/courtwatch/reviews/", {"age": "new"}).content.decode()
    assert "29 reviews" in page and "Decide by" in page


def test_the_review_page_shows_the_notes_feedback_reasons_in_words_and_links(
    client, assigned, officer, members
):
    brief = assigned()
    p = brief.prosecution
    services.feedback_create(
        actor=officer,
        brief=brief,
        category="witness_intimidated",
        recipient="npa",
        text="Threats outside court",
    )
    services.hearing_record(
        actor=officer,
        prosecution=p,
        held_on=days_ago(1),
        kind="remand",
        outcome="withdrawn",
        reason="witness_intimidated",
        note="Complainant did not come; family threatened",
    )
    review = WithdrawalReview.objects.get(prosecution=p)
    client.force_login(members[0])
    page = client.get(f"/courtwatch/reviews/{review.pk}/").content.decode()
    assert "Complainant did not come; family threatened" in page
    assert "Threats outside court" in page
    assert "Witness intimidated" in page and "witness_intimidated" not in page
    assert f'href="/prosecutions/{p.pk}/"' in page
