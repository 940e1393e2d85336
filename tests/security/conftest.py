"""Fixtures shared by the security tests: the shipped reference data a hospital message names, and
the EC clerk who works there."""

import pytest

from casework.models import Facility, Suburb


@pytest.fixture
def facility():
    return Facility.objects.get(code="tygerberg")


@pytest.fixture
def suburb():
    return Suburb.objects.select_related("station").order_by("code").first()


@pytest.fixture
def clerk(make_user, facility):
    """An EC clerk who captures at ``facility``."""
    return make_user("health_capture", grants=[facility])
