"""Fixtures shared by the security tests: the shipped reference data a hospital message names."""

import pytest

from casework.models import Facility, Suburb


@pytest.fixture
def facility():
    return Facility.objects.get(code="tygerberg")


@pytest.fixture
def suburb():
    return Suburb.objects.select_related("station").order_by("code").first()
