"""Shared fixtures. The real PostgreSQL and Redis are used where a test is about them.

``make test`` exports DATABASE_URL (PostgreSQL) and TEST_REDIS_URL when those servers answer.
Tests marked ``postgres`` / ``redis`` / ``browser`` are skipped, with the reason printed, when their
part is missing, except under CI=true, where such a test fails, and so does any other skip or xfail
not marked ``ci_may_skip`` (tests/ci_gate.py).
"""

import os
import shutil

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from casework import permissions

from . import ci_gate
from .factories import UserFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CHROMIUM = shutil.which("chromium") or ""
IN_CI = os.environ.get("CI", "").lower() == "true"

# Tests sign users in by force; a slow password hash would only cost time.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Skip a test whose part is missing; under CI=true fail it, and fail the run on any skip or xfail left
# (tests/ci_gate.py: the hooks are imported here so pytest finds them in this conftest).
ci_gate.MISSING.update(ci_gate.parts(on_postgres=ON_POSTGRES, redis_url=REDIS_URL))
from .ci_gate import (  # noqa: E402, F401
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
)


@pytest.fixture
def make_user(db):
    """``make_user("saps_liaison", grants=[station])``: a user in that role with those object grants."""

    def make(*roles, grants=(), **kwargs):
        user = UserFactory(**kwargs)
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        for obj in grants:
            permissions.grant(user, obj)
        return user

    return make


@pytest.fixture
def make_sender(db):
    """``make_sender("hectis", facilities=[facility], certificate_subject="hectis")``: a registered
    sending system (its account, in group ``integration``, is ``sender.account``)."""
    from referrals import services as intake

    def make(name="hectis", facilities=(), **kwargs):
        return intake.sending_system_register(name=name, facilities=facilities, **kwargs)

    return make


def verify_second_factor(client, user) -> TOTPDevice:
    """Mark the client's session as verified by the user's TOTP device (one is created, confirmed, if the
    user has none), as entering a right code on the "enter your code" page does."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


class SignedInClient(Client):
    """``force_login`` stands for a whole sign-in: the password and, for a user who needs it
    (``permissions.must_use_two_factor``), the second factor. Tests of signing in itself post to the
    sign-in and two-factor pages instead (tests/security/test_accounts.py)."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        if permissions.must_use_two_factor(user):
            verify_second_factor(self, user)


@pytest.fixture
def client():
    """pytest-django's ``client``, whose ``force_login`` also passes the two-factor step."""
    return SignedInClient()


@pytest.fixture
def api():
    """``api(user)``: an APIClient signed in as that user (or anonymous without one)."""

    def client(user=None):
        c = APIClient()
        if user is not None:
            c.force_authenticate(user)
        return c

    return client


@pytest.fixture
def admin_user(make_user):
    return make_user(permissions.ADMIN, username="admin-user")
