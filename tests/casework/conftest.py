"""Casework fixtures: a station and a court with the liaisons who work them (object grants)."""

import pytest

from tests.factories import CourtFactory, StationFactory


@pytest.fixture
def station(db):
    return StationFactory(name="Mitchells Plain")


@pytest.fixture
def saps(make_user, station):
    return make_user("saps_liaison", grants=[station])


@pytest.fixture
def court(db):
    return CourtFactory(name="Mitchells Plain Regional Court")


@pytest.fixture
def npa(make_user, court):
    return make_user("npa_liaison", grants=[court])
