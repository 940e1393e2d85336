"""``make run`` calls ``seed_demo --if-empty``: on a fresh database it seeds, later it does nothing."""

import pytest

from casework.models import Incident
from demo.users import DEFAULT_PASSWORD

from .seeding import seed

pytestmark = pytest.mark.django_db


def test_the_first_start_on_an_empty_database_seeds_the_demo():
    output = seed("--if-empty", "--admissions", "0", "--incidents", "20")

    assert "20 incidents" in output
    assert Incident.objects.count() >= 20
    assert "Demo data seeded" in output
    assert DEFAULT_PASSWORD in output
