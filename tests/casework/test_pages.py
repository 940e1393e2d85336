"""The case pages a person uses: search, timeline, only the transitions they may take, form errors."""

import pytest
from django.urls import reverse

from casework import services
from casework.models import TransitionLog
from tests.factories import PoliceCaseFactory, ProsecutionFactory, set_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def npa_client(client, make_user):
    def sign_in(prosecution):
        user = make_user("npa_liaison", grants=[prosecution.court])
        client.force_login(user)
        return user

    return sign_in


def test_pages_need_a_signed_in_user(client):
    p = ProsecutionFactory()
    for url in [reverse("case-list"), reverse("prosecution-detail", args=[p.pk]), reverse("home")]:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse("login"))


def test_the_case_page_shows_the_timeline_and_only_the_transitions_that_make_sense(client, npa_client):
    p = ProsecutionFactory()
    user = npa_client(p)
    services.prosecution_start_trial(p, actor=user, version=1, note="trial set down")
    page = client.get(reverse("prosecution-detail", args=[p.pk])).content.decode()
    assert "trial set down" in page
    for shown in [
        "transitions/convict/",
        "transitions/acquit/",
        "transitions/withdraw/",
        "transitions/issue_warrant/",
    ]:
        assert shown in page
    for hidden in [
        "transitions/remand/",
        "transitions/sentence/",
        "transitions/re_enrol/",
        "transitions/divert/",
    ]:
        assert hidden not in page


def test_recording_a_postponement_from_the_phone_form_moves_the_case(client, npa_client):
    p = ProsecutionFactory()
    npa_client(p)
    r = client.post(
        reverse("prosecution-transition", args=[p.pk, "remand"]),
        {
            "version": 1,
            "remand-reason": "docket_not_at_court",
            "remand-next_date": "2025-03-14",
            "remand-note": "docket not at court",
        },
    )
    assert r.status_code == 302
    p.refresh_from_db()
    assert (p.state, str(p.next_appearance), p.version) == ("remanded", "2025-03-14", 2)
    page = client.get(reverse("prosecution-detail", args=[p.pk])).content.decode()
    assert "Recorded: Remand." in page and "docket not at court" in page


def test_a_form_without_its_required_field_shows_the_error_and_changes_nothing(client, npa_client):
    p = ProsecutionFactory()
    npa_client(p)
    r = client.post(
        reverse("prosecution-transition", args=[p.pk, "remand"]),
        {"version": 1, "remand-reason": "docket_not_at_court"},
    )
    assert r.status_code == 400
    assert "This field is required" in r.content.decode()
    p.refresh_from_db()
    assert (p.state, p.version) == ("enrolled", 1)
    assert not TransitionLog.objects.exists()


def test_a_stale_page_says_someone_else_changed_the_case(client, npa_client):
    p = ProsecutionFactory()
    user = npa_client(p)
    services.prosecution_issue_warrant(p, actor=user, version=1)
    r = client.post(
        reverse("prosecution-transition", args=[p.pk, "remand"]),
        {"version": 1, "remand-reason": "accused_absent", "remand-next_date": "2025-04-01"},
        follow=True,
    )
    assert "Someone else changed this case" in r.content.decode()
    p.refresh_from_db()
    assert (p.state, p.version) == ("warrant_issued", 2)


def test_a_case_at_another_court_is_not_found(client, npa_client):
    mine, theirs = ProsecutionFactory(), ProsecutionFactory()
    npa_client(mine)
    assert client.get(reverse("prosecution-detail", args=[theirs.pk])).status_code == 404
    r = client.post(reverse("prosecution-transition", args=[theirs.pk, "issue_warrant"]), {"version": 1})
    assert r.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "enrolled"


def test_the_case_list_finds_a_docket_by_cas_number_and_a_prosecution_by_court_number(client, admin_user):
    client.force_login(admin_user)
    case = PoliceCaseFactory(cas_serial=4512, cas_month=11, cas_year=2024)
    PoliceCaseFactory(cas_serial=4513, cas_month=11, cas_year=2024)
    page = client.get(reverse("case-list"), {"kind": "dockets", "q": "4512/11/2024"}).content.decode()
    assert reverse("police-case-detail", args=[case.pk]) in page and "4513/11/2024" not in page
    p = ProsecutionFactory(case_number="SH 88/2025")
    ProsecutionFactory(case_number="RC 1/2025")
    page = client.get(reverse("case-list"), {"q": "SH 88"}).content.decode()
    assert reverse("prosecution-detail", args=[p.pk]) in page and "RC 1/2025" not in page


def test_the_case_list_filters_by_state(client, admin_user):
    client.force_login(admin_user)
    withdrawn, open_ = ProsecutionFactory(), ProsecutionFactory()
    set_state(withdrawn, "withdrawn")
    page = client.get(reverse("case-list"), {"state": "withdrawn"}).content.decode()
    assert withdrawn.case_number in page and open_.case_number not in page


def test_a_saps_liaison_moves_their_docket_from_its_page(client, make_user):
    case = PoliceCaseFactory()
    client.force_login(make_user("saps_liaison", grants=[case.station]))
    page = client.get(reverse("police-case-detail", args=[case.pk])).content.decode()
    assert "transitions/investigate/" in page and "transitions/reopen/" not in page
    client.post(reverse("police-case-transition", args=[case.pk, "investigate"]), {"version": 1})
    case.refresh_from_db()
    assert case.state == "investigating"


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("court_watcher", "/courtwatch/roll/", "/reports/conviction-rate/"),
        ("manager", "/reports/conviction-rate/", "/courtwatch/roll/"),
        ("health_capture", "/intake/new/", "/intake/dead-letters/"),
    ],
)
def test_the_start_page_points_each_role_at_its_own_screens(client, make_user, role, shown, hidden):
    client.force_login(make_user(role))
    page = client.get(reverse("home")).content.decode()
    assert shown in page and hidden not in page
