"""Fixtures shared by the reporting tests; the cohorts they count are built in ``cohort.py``."""

import pytest

from casework import permissions as roles


@pytest.fixture
def analyst(make_user):
    """A VPU analyst: reads every report, and may ask for unsuppressed figures."""
    return make_user(roles.VPU_ANALYST)
