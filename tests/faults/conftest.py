"""Fixtures of the fault tests: the processes a test owns, on the test database and TEST_REDIS_URL."""

import os

import pytest

from casework.models import Facility
from referrals import services
from tests.referrals.test_live_pipeline import FACILITIES

from .harness import SENDER, Procs

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def procs(transactional_db, tmp_path):
    """The listener and workers of the test (the hospitals' hub registered for five facilities)."""
    flush_broker()
    services.sending_system_register(name=SENDER, facilities=Facility.objects.filter(code__in=FACILITIES))
    owned = Procs(tmp_path)
    yield owned
    owned.stop_all()
    flush_broker()
    print(owned.log("listener")[-3000:])
