"""Court-watch fixtures: matters enrolled through casework's service, so the brief comes from the
real ``prosecution_enrolled`` reaction, and people in every role that court watching serves."""

import datetime
import itertools

import pytest
from django.utils import timezone

from casework import permissions as cw
from casework import services as cws
from courtwatch import services
from courtwatch.models import Brief
from tests.factories import CourtFactory, IncidentFactory, PoliceCaseFactory

_numbers = itertools.count(1)


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def court(db):
    return CourtFactory(name="Mitchells Plain Regional Court")


@pytest.fixture
def npa(make_user, court):
    return make_user(cw.NPA_LIAISON, grants=[court], username="npa-liaison")


@pytest.fixture
def supervisor(make_user):
    return make_user(cw.COURT_WATCH_SUPERVISOR, username="supervisor")


@pytest.fixture
def officer(make_user):
    return make_user(cw.COURT_WATCHER, username="officer-a")


@pytest.fixture
def other_officer(make_user):
    return make_user(cw.COURT_WATCHER, username="officer-b")


@pytest.fixture
def members(make_user):
    return [make_user(cw.COMMITTEE_MEMBER, username=f"member-{i}") for i in (1, 2, 3)]


@pytest.fixture
def enrol(npa, court):
    """``enrol(days_ago=120, incident=dict(...), accused=[...])``: a matter enrolled through the service."""

    def make(*, ago: int = 120, court_=None, incident: dict | None = None, accused=None, linked=True):
        n = next(_numbers)
        accused = accused or [f"Accused Number{n}"]
        case = PoliceCaseFactory(
            opened_on=days_ago(ago + 10),
            incidents=[IncidentFactory(**(incident or {}))] if linked else [],
        )
        return cws.prosecution_enrol(
            actor=None,
            police_case=case,
            court=court_ or court,
            case_number=f"RC {n}/2026",
            enrolled_on=days_ago(ago),
            accused=[{"name": n} for n in accused],
        )

    return make


@pytest.fixture
def assigned(enrol, officer):
    """A matter enrolled 120 days ago whose brief is assigned to ``officer``."""

    def make(**kwargs):
        p = enrol(**kwargs)
        services.brief_assign(p.brief, actor=None, version=None, officer=officer)
        return Brief.objects.get(prosecution=p)

    return make
