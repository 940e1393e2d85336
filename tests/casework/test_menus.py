"""Each role sees exactly its menus: the main menu, the start-page cards and court watching's sub-menu,
written out by hand from DESIGN.md's table of people (and the menus as they were before they moved
into ``permissions.menu_for``). The pages themselves check access again."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser

from casework import permissions

CASES = ("Cases", "/cases/")
API = ("API", "/api/docs/")
ADMISSIONS = ("Admissions", "/intake/admissions/")
REFERRALS = ("Referrals", "/intake/referrals/")
MY_BRIEFS = ("My briefs", "/courtwatch/briefs/")
TODAYS_ROLL = ("Today&#x27;s roll", "/courtwatch/roll/")
COURT_WATCH = ("Court watch", "/courtwatch/supervisor/")
REVIEW_QUEUE = ("Review queue", "/courtwatch/reviews/")
NOTIFICATIONS = ("Notifications", "/courtwatch/notifications/")
DASHBOARD = ("Dashboard", "/reports/dashboard/")
REPORTS = ("Reports", "/reports/")
ADMIN_ONLY = [
    ("Dead letters", "/intake/dead-letters/"),
    ("Subject access", "/intake/subject-access/"),
    ("Retention", "/intake/retention/"),
    ("Admin", "/admin/"),
]

MAIN_MENU = {
    None: [CASES, API],
    "health_capture": [CASES, ADMISSIONS, REFERRALS, API],
    "vpu_analyst": [CASES, ADMISSIONS, DASHBOARD, REPORTS, API],
    "saps_liaison": [CASES, REFERRALS, API],
    "npa_liaison": [CASES, API],
    "court_watcher": [CASES, MY_BRIEFS, TODAYS_ROLL, NOTIFICATIONS, API],
    "court_watch_supervisor": [CASES, COURT_WATCH, REVIEW_QUEUE, NOTIFICATIONS, DASHBOARD, REPORTS, API],
    "committee_member": [CASES, REVIEW_QUEUE, NOTIFICATIONS, DASHBOARD, REPORTS, API],
    "manager": [CASES, DASHBOARD, REPORTS, API],
    "admin": [CASES, ADMISSIONS, REFERRALS, COURT_WATCH, REVIEW_QUEUE, DASHBOARD, REPORTS, *ADMIN_ONLY, API],
}

HOME_CARDS = {
    None: [],
    "health_capture": ["Emergency centre"],
    "vpu_analyst": ["Reports"],
    "saps_liaison": ["Referrals to SAPS"],
    "npa_liaison": [],
    "court_watcher": ["In court today"],
    "court_watch_supervisor": ["Court watch", "Withdrawal reviews", "Reports"],
    "committee_member": ["Withdrawal reviews", "Reports"],
    "manager": ["Reports"],
    "admin": ["Court watch", "Withdrawal reviews", "Emergency centre", "Reports", "Dead letters"],
}

WATCHER_SUBNAV = [
    ("My briefs", "/courtwatch/briefs/"),
    ("Today", "/courtwatch/roll/?period=today"),
    ("This week", "/courtwatch/roll/?period=week"),
]
MANAGER_SUBNAV = [
    ("Courts", "/courtwatch/supervisor/"),
    ("All briefs", "/courtwatch/briefs/"),
    ("Roll", "/courtwatch/roll/?period=week&amp;all=1"),
]
QUEUE_SUBNAV = [("Review queue", "/courtwatch/reviews/"), ("Meetings", "/courtwatch/meetings/")]
COURTWATCH_SUBNAV = {
    None: [NOTIFICATIONS],
    "health_capture": [NOTIFICATIONS],
    "vpu_analyst": [NOTIFICATIONS],
    "saps_liaison": [NOTIFICATIONS],
    "npa_liaison": [NOTIFICATIONS],
    "court_watcher": [*WATCHER_SUBNAV, NOTIFICATIONS],
    "court_watch_supervisor": [*MANAGER_SUBNAV, *QUEUE_SUBNAV, NOTIFICATIONS],
    "committee_member": [*QUEUE_SUBNAV, NOTIFICATIONS],
    "manager": [NOTIFICATIONS],
    "admin": [*MANAGER_SUBNAV, *QUEUE_SUBNAV, NOTIFICATIONS],
}

LINK = re.compile(r'<a href="([^"]*)">([^<]*)</a>')


def _links(html: str, start: str, end: str) -> list[tuple[str, str]]:
    part = html.split(start, 1)[1].split(end, 1)[0]
    return [(label, href) for href, label in LINK.findall(part)]


@pytest.fixture
def signed_in(client, make_user):
    def sign_in(role):
        client.force_login(make_user(*([role] if role else [])))
        return client

    return sign_in


def test_every_role_of_the_design_has_its_menus_written_out():
    assert set(MAIN_MENU) == set(HOME_CARDS) == set(COURTWATCH_SUBNAV) == {None, *permissions.ROLES}


@pytest.mark.parametrize("role", list(MAIN_MENU))
def test_each_role_sees_exactly_its_main_menu_and_start_page_cards(db, signed_in, role):
    page = signed_in(role).get("/").content.decode()
    assert _links(page, '<nav class="menu"', "</nav>") == MAIN_MENU[role]
    # The last card, the case search, is the start page's own and is there for everyone.
    assert re.findall(r'<div class="card"><h2>([^<]*)</h2>', page) == [*HOME_CARDS[role], "Cases"]


@pytest.mark.parametrize("role", list(COURTWATCH_SUBNAV))
def test_each_role_sees_exactly_its_court_watch_sub_menu(db, signed_in, role):
    page = signed_in(role).get("/courtwatch/notifications/").content.decode()
    assert _links(page, '<p class="actions no-print small">', "</p>") == COURTWATCH_SUBNAV[role]


def test_a_superuser_sees_the_admin_menus(db, client, admin_user):
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert _links(page, '<nav class="menu"', "</nav>") == MAIN_MENU["admin"]


def test_a_card_makes_its_first_link_the_main_button(db, signed_in):
    page = signed_in("court_watcher").get("/").content.decode()
    assert (
        '<p class="actions"><a class="button" href="/courtwatch/roll/">Today&#x27;s roll</a>\n'
        '  <a class="button secondary" href="/courtwatch/briefs/">My briefs</a></p>'
    ) in page


def test_nobody_signed_out_gets_a_menu():
    assert permissions.menu_for(AnonymousUser()) == []
