"""The start page says what is waiting for each role, each count a link to where it waits (issue 12)."""

import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from courtwatch import services as cwt
from courtwatch.models import Brief
from referrals.models import InboundMessage
from tests.factories import set_state
from tests.security.world import build_world, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = build_world()
    # Scope A: the watcher's matter is on today's roll, a referral waits for SAPS, the review is on
    # the committee's next agenda, and the clerk's own submission was rejected.
    Brief.objects.filter(pk=w.a.brief.pk).update(next_appearance=timezone.localdate())
    set_state(w.a.referral, "sent")
    cwt.review_schedule(w.a.review, actor=None, version=None, meeting=w.a.meeting)
    InboundMessage.objects.create(
        channel="form",
        sender=w.a.facility.code,
        control_id="FORM-1",
        raw="{}",
        status="rejected",
        reason="Date of birth after arrival",
        received_by=w.users["health_capture"],
    )
    return w


def waiting_lines(world, role) -> list[tuple[str, str]]:
    """(text, link) of each line under "Waiting for you" on this role's start page."""
    html = sign_in(Client(), world.users[role]).get("/").content.decode()
    block = html.split('<ul class="waiting">', 1)[1].split("</ul>", 1)[0] if "waiting" in html else ""
    return [
        (unescape(text).strip(), href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', block)
    ]


def test_a_court_watcher_sees_the_matters_on_todays_roll(world):
    assert ("1 matter on today's roll", "/courtwatch/roll/?period=today") in waiting_lines(
        world, "court_watcher"
    )


def test_a_saps_liaison_sees_the_referrals_to_acknowledge(world):
    assert waiting_lines(world, "saps_liaison") == [
        ("1 referral to acknowledge", "/intake/referrals/?state=sent")
    ]


def test_the_committee_sees_the_reviews_on_its_next_meetings_agenda(world):
    day = world.a.meeting.date
    lines = waiting_lines(world, "committee_member")
    assert lines[0] == (
        f"1 review on the agenda of {day:%A} {day.day} {day:%B}",
        f"/courtwatch/meetings/{world.a.meeting.pk}/",
    )


def test_a_clerk_sees_their_rejected_submission_and_an_admin_the_dead_letters(world):
    assert waiting_lines(world, "health_capture")[0] == (
        "1 of your submissions was rejected",
        "/intake/mine/",
    )
    # The world's two dead letters (scopes A and B) and the clerk's rejected form: every one an admin's.
    assert ("3 open dead letters", "/intake/dead-letters/") in waiting_lines(world, "admin")


def test_a_role_with_nothing_to_count_sees_no_waiting_list(world):
    assert waiting_lines(world, "manager") == []
