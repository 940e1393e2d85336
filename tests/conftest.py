"""Shared fixtures. The real PostgreSQL and Redis are used where a test is about them.

``make test`` exports DATABASE_URL (PostgreSQL) and TEST_REDIS_URL when those servers answer.
Tests marked ``postgres`` / ``redis`` / ``browser`` are skipped, with the reason printed, when their
part is missing, except under CI=true, where a missing part fails the run instead.
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

from .factories import UserFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CHROMIUM = shutil.which("chromium") or ""
IN_CI = os.environ.get("CI", "").lower() == "true"

# Tests sign users in by force; a slow password hash would only cost time.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

MISSING = {
    "postgres": (not ON_POSTGRES, "PostgreSQL is not configured (DATABASE_URL)"),
    "redis": (not REDIS_URL, "Redis did not answer (TEST_REDIS_URL unset)"),
    "browser": (not CHROMIUM, "Debian's chromium is not installed"),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, (missing, why) in MISSING.items():
            if marker in item.keywords and missing:
                if IN_CI:
                    item.add_marker(pytest.mark.xfail(reason=f"CI=true but {why}", strict=True, run=False))
                    item.add_marker(pytest.mark.usefixtures("_fail_in_ci"))
                else:
                    item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture
def _fail_in_ci(request):
    pytest.fail("CI=true: a test needs a part that is missing here")


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
