"""``manage.py seed_demo``: demo users for every role and a believable, fully logged history."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError
from django.test import RequestFactory
from django.utils import timezone

from casework import permissions
from casework.models import (
    GangAssertion,
    Incident,
    PoliceCase,
    Prosecution,
    TransitionLog,
    parse_cas_number,
)
from demo.users import DEFAULT_PASSWORD
from referrals.models import Admission

from .seeding import seed, seeded_for_module

pytestmark = pytest.mark.django_db
CONTRACT_CHECKER = Path(settings.BASE_DIR).parent / "shared" / "tools" / "check_contract.py"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    # A small bulk history (600 admissions a year) and 60 incidents through the services.
    with seeded_for_module(
        django_db_blocker, "--admissions", "600", "--incidents", "60", "--seed", "7"
    ) as output:
        yield output


def codes(qs):
    return set(qs.values_list("code", flat=True))


def test_a_small_seed_creates_a_user_for_every_role_with_their_grants(seeded):
    User = get_user_model()
    roles = {name for user in User.objects.all() for name in permissions.roles_of(user)}
    saps = User.objects.get(username="saps.mitchellsplain")
    npa = User.objects.get(username="npa.mitchellsplain")
    clerk = User.objects.get(username="ec.clerk")

    assert roles == set(permissions.ROLES)
    assert User.objects.get(username="admin").is_superuser
    assert codes(permissions.stations_of(saps)) == {"mitchells-plain", "lentegeur", "strandfontein"}
    assert codes(permissions.stations_of(User.objects.get(username="saps.nyanga"))) == {
        "nyanga",
        "gugulethu",
        "philippi-east",
        "manenberg",
    }
    assert codes(permissions.courts_of(npa)) == {"mitchells-plain-district", "mitchells-plain-regional"}
    assert codes(permissions.facilities_of(clerk)) == {"mitchells-plain-dh", "khayelitsha-dh", "tygerberg"}
    assert permissions.roles_of(User.objects.get(username="watcher.thandi")) == {"court_watcher"}


def test_demo_users_sign_in_with_the_password_the_command_prints(seeded):
    assert DEFAULT_PASSWORD in seeded
    assert sign_in("committee.chair", DEFAULT_PASSWORD) is not None


def test_a_password_given_on_the_command_line_is_the_one_that_works():
    seed("--admissions", "0", "--incidents", "0", "--password", "Kloof-Nek-Sunrise-77")

    assert sign_in("manager", "Kloof-Nek-Sunrise-77") is not None
    assert sign_in("manager", DEFAULT_PASSWORD) is None


def test_a_weak_password_on_the_command_line_is_refused_before_any_user_changes():
    with pytest.raises(CommandError, match="too short"):
        seed("--admissions", "0", "--incidents", "0", "--password", "short")

    assert sign_in("manager", "short") is None


def sign_in(username, password):
    # django-axes watches every sign-in, so authenticate() needs the request it came with.
    return authenticate(RequestFactory().post("/accounts/login/"), username=username, password=password)


def test_a_small_seed_creates_incidents_dockets_and_prosecutions(seeded):
    # 1,800 admissions in bulk are about 1,670 incidents; 60 more through the services, and the
    # matters on the watchers' roll and the referrals waiting for SAPS.
    assert "60 incidents" in seeded
    assert 1_700 <= Incident.objects.count() <= 1_900
    assert 600 <= PoliceCase.objects.count() <= 1_200
    assert 1_700 <= Admission.objects.count() <= 1_950
    assert 80 <= Prosecution.objects.count() <= 250


def test_every_docket_and_prosecution_is_in_the_state_its_last_logged_transition_left_it(seeded):
    for model in (PoliceCase, Prosecution):
        content_type = ContentType.objects.get_for_model(model)
        for obj in model.objects.all():
            last = TransitionLog.objects.filter(content_type=content_type, object_id=obj.pk).last()
            assert last is not None and last.to_state == obj.state, obj


def test_every_history_runs_forward_and_was_written_by_a_user_in_a_role(seeded):
    for model in (PoliceCase, Prosecution):
        content_type = ContentType.objects.get_for_model(model)
        for obj in model.objects.all():
            rows = list(
                TransitionLog.objects.filter(content_type=content_type, object_id=obj.pk).order_by("id")
            )
            times = [row.at for row in rows]
            assert times == sorted(times), obj
            assert all(row.actor is not None and permissions.roles_of(row.actor) for row in rows)


def test_nothing_seeded_happens_in_the_future(seeded):
    now, today = timezone.now(), timezone.localdate()

    assert not Incident.objects.filter(occurred_at__gt=now).exists()
    assert not GangAssertion.objects.filter(asserted_at__gt=now).exists()
    assert not TransitionLog.objects.filter(at__gt=now).exists()
    assert not PoliceCase.objects.filter(opened_on__gt=today).exists()
    assert not Prosecution.objects.filter(enrolled_on__gt=today).exists()
    assert not Prosecution.objects.filter(finalised_on__gt=now).exists()
    # History reaches back over the years asked for.
    assert Incident.objects.filter(occurred_at__lt=now - timedelta(days=365)).exists()


def test_cas_numbers_are_valid_for_the_month_the_docket_was_opened(seeded):
    for case in PoliceCase.objects.all():
        serial, month, year = parse_cas_number(case.cas_number)
        assert (month, year) == (case.opened_on.month, case.opened_on.year)


def test_a_second_run_with_if_empty_adds_nothing_and_says_so(seeded):
    counts = (Incident.objects.count(), PoliceCase.objects.count(), TransitionLog.objects.count())

    out = seed("--if-empty")

    assert "not seeded" in out
    assert (Incident.objects.count(), PoliceCase.objects.count(), TransitionLog.objects.count()) == counts


def test_a_second_run_without_if_empty_adds_more_without_clashing_numbers(seeded):
    before = Incident.objects.count()

    seed("--admissions", "0", "--incidents", "40", "--seed", "7")

    assert Incident.objects.count() >= before + 40


@pytest.mark.skipif(
    not CONTRACT_CHECKER.exists(), reason="../shared/tools/check_contract.py is not beside the repo"
)
@pytest.mark.ci_may_skip("the design's checker lives beside the repository, not in it")
def test_the_state_machines_still_match_the_design():
    result = subprocess.run(
        [sys.executable, str(CONTRACT_CHECKER)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )

    assert result.returncode == 0, result.stdout + result.stderr
