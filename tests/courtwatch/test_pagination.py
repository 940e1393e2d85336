"""Long court-watch lists come in pages of 25 on a phone: my briefs, the supervisor's stale and
unassigned briefs, and the court roll; filters survive the page links and a bad page number
never breaks the page."""

import datetime
import re

import pytest
from django.utils import timezone

from casework import permissions as cw
from courtwatch import services
from courtwatch.models import Brief
from tests.browser import ARTIFACTS, chromium_page, sign_in
from tests.factories import CourtFactory

from .conftest import days_ago

pytestmark = pytest.mark.django_db

BRIEF_LINK = re.compile(r'href="/courtwatch/briefs/(\d+)/"')
ROLL_ROW = re.compile(r'id="brief-(\d+)"')


def brief_ids(html: str) -> list[int]:
    return [int(pk) for pk in BRIEF_LINK.findall(html)]


@pytest.fixture
def thirty_briefs(assigned):
    """30 briefs of one watcher; brief i is next in court in i + 1 days, so the order is known."""
    briefs = []
    for i in range(30):
        b = assigned()
        Brief.objects.filter(pk=b.pk).update(next_appearance=days_ago(-(i + 1)))
        briefs.append(b.pk)
    return briefs


def test_my_briefs_shows_25_soonest_first_and_the_rest_on_page_two(client, officer, thirty_briefs):
    client.force_login(officer)
    first = client.get("/courtwatch/briefs/").content.decode()
    assert brief_ids(first) == thirty_briefs[:25]
    assert "Page 1 of 2" in first
    assert 'href="?page=2" rel="next"' in first
    second = client.get("/courtwatch/briefs/?page=2").content.decode()
    assert brief_ids(second) == thirty_briefs[25:]
    assert 'href="?page=1" rel="prev"' in second


def test_a_closed_brief_comes_after_the_open_ones(client, officer, thirty_briefs):
    Brief.objects.filter(pk=thirty_briefs[0]).update(state=Brief.State.CLOSED)
    client.force_login(officer)
    first = client.get("/courtwatch/briefs/").content.decode()
    assert brief_ids(first) == thirty_briefs[1:26]
    assert brief_ids(client.get("/courtwatch/briefs/?page=2").content.decode())[-1] == thirty_briefs[0]


@pytest.mark.parametrize("bad", ["99", "-1", "banana", "", "2.5"])
def test_a_bad_page_number_gives_a_page_not_an_error(client, officer, thirty_briefs, bad):
    client.force_login(officer)
    r = client.get(f"/courtwatch/briefs/?page={bad}")
    assert r.status_code == 200
    shown = brief_ids(r.content.decode())
    assert shown in (thirty_briefs[:25], thirty_briefs[25:])


def test_the_court_filter_survives_the_page_links(client, enrol, assigned, supervisor, court):
    other = CourtFactory(name="Wynberg Magistrates' Court", code="wynberg")
    for _ in range(3):
        enrol(court_=other)
    mine = [assigned().pk for _ in range(27)]
    client.force_login(supervisor)
    first = client.get(f"/courtwatch/briefs/?court={court.code}").content.decode()
    assert "27 briefs" in first
    assert f'href="?court={court.code}&amp;page=2" rel="next"' in first
    second = client.get(f"/courtwatch/briefs/?court={court.code}&page=2").content.decode()
    assert len(brief_ids(second)) == 2
    assert set(brief_ids(first) + brief_ids(second)) == set(mine)
    assert "Wynberg" not in second


def test_the_supervisors_two_lists_page_separately(client, enrol, assigned, supervisor):
    unassigned = [enrol().brief.pk for _ in range(30)]
    Brief.objects.filter(pk__in=unassigned).update(next_appearance=days_ago(-7))  # not stale
    stale = assigned()
    Brief.objects.filter(pk=stale.pk).update(next_appearance=days_ago(4))
    client.force_login(supervisor)
    first = client.get("/courtwatch/supervisor/").content.decode()
    assert first.count(f'href="/courtwatch/briefs/{stale.pk}/"') == 1
    assert len(set(brief_ids(first)) & set(unassigned)) == 25
    assert 'href="?unassigned_page=2#unassigned" rel="next"' in first
    assert "stale_page=" not in first  # one stale brief: no pages there
    second = client.get("/courtwatch/supervisor/?unassigned_page=2").content.decode()
    assert len(set(brief_ids(second)) & set(unassigned)) == 5
    assert f'href="/courtwatch/briefs/{stale.pk}/"' in second  # the other list stays where it was
    assert client.get("/courtwatch/supervisor/?unassigned_page=x&stale_page=40").status_code == 200


def test_the_roll_pages_by_date_then_court_keeping_the_period_and_all(client, assigned, supervisor):
    athlone = CourtFactory(name="Athlone Magistrates' Court", code="athlone")
    wynberg = CourtFactory(name="Wynberg Magistrates' Court", code="wynberg")
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    tuesday = monday + datetime.timedelta(days=1)

    def on(day, court, n):
        pks = []
        for _ in range(n):
            b = assigned(court_=court)
            Brief.objects.filter(pk=b.pk).update(next_appearance=day)
            pks.append(b.pk)
        return pks

    tue_athlone = on(tuesday, athlone, 15)
    mon_wynberg = on(monday, wynberg, 10)
    mon_athlone = on(monday, athlone, 5)
    client.force_login(supervisor)
    first = client.get("/courtwatch/roll/?period=week&all=1").content.decode()
    assert [int(pk) for pk in ROLL_ROW.findall(first)] == mon_athlone + mon_wynberg + tue_athlone[:10]
    headings = re.findall(r"<h2>([^<]*)</h2>", first)
    assert headings == [
        f"{monday:%a} {monday.day} {monday:%b} · Athlone Magistrates&#x27; Court",
        f"{monday:%a} {monday.day} {monday:%b} · Wynberg Magistrates&#x27; Court",
        f"{tuesday:%a} {tuesday.day} {tuesday:%b} · Athlone Magistrates&#x27; Court",
    ]
    assert 'href="?period=week&amp;all=1&amp;page=2" rel="next"' in first
    second = client.get("/courtwatch/roll/?period=week&all=1&page=2").content.decode()
    assert [int(pk) for pk in ROLL_ROW.findall(second)] == tue_athlone[10:]
    whole = client.get("/courtwatch/roll/?period=week&all=1&print=1").content.decode()
    assert len(ROLL_ROW.findall(whole)) == 30
    assert client.get("/courtwatch/roll/?period=week&all=1&page=zz").status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_a_phone_a_page_of_briefs_fits_the_width_and_next_leads_to_the_rest(live_server, enrol, make_user):
    watcher = make_user(cw.COURT_WATCHER, username="pages.watcher", password="pw-pages")
    for i in range(30):
        p = enrol()
        services.brief_assign(p.brief, actor=None, version=None, officer=watcher)
        Brief.objects.filter(prosecution=p).update(next_appearance=days_ago(-(i + 1)))
    with chromium_page(width=390, height=844, mobile=True) as page:
        sign_in(page, live_server.url, "pages.watcher", "pw-pages")
        page.goto(f"{live_server.url}/courtwatch/briefs/")
        assert page.locator("main tbody tr").count() == 25
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        height = page.evaluate("document.documentElement.scrollHeight")
        print(f"my briefs, 25 a page, at 390 px: {height} px tall")
        page.screenshot(path=str(ARTIFACTS / "courtwatch-briefs-page-1-390.png"), full_page=True)
        assert height < 3500  # was 49,176 px: a page of compact cards, about 4 screens
        page.click("a[rel=next]")
        page.wait_for_url("**/courtwatch/briefs/?page=2")
        assert page.locator("main tbody tr").count() == 5
