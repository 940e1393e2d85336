"""What every property machine shares: a clean database per example, the check that a refused
action changes nothing, and the counts printed at the end of the run (conftest.py).

pytest-django's ``db`` fixture wraps the whole test (every Hypothesis example) in one transaction,
so each example opens its own savepoint when the machine is made and rolls it back in ``teardown``:
every example starts from the database the test started with, as Hypothesis requires.
"""

import os
import time
from collections import defaultdict

from django.contrib.auth.models import Group
from django.db import transaction
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine

from casework import permissions as cw
from casework.errors import InvalidInput, NotAllowed, PermissionDenied, StaleVersion
from casework.models import TransitionLog
from tests.factories import UserFactory

# Fixed and derandomised: CI runs the same examples every time; bounded so tests/property/ stays
# well under a minute on two cores.
BOUNDED = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # PROPERTY_NO_SHRINK=1 while writing a machine: report the first failure instead of shrinking it.
    phases=[Phase.generate] if os.environ.get("PROPERTY_NO_SHRINK") else list(Phase),
)


def bounded(examples: int, steps: int) -> settings:
    return settings(BOUNDED, max_examples=examples, stateful_step_count=steps)


# machine name -> {"examples": n, "steps": n, "refused": n, "seconds": s}; printed by conftest.py.
RUNS: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

# machine name -> {what succeeded: how often}: shows which paths the examples reached.
TOOK: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

ERRORS = (NotAllowed, PermissionDenied, StaleVersion, InvalidInput)


def log_count(obj) -> int:
    return TransitionLog.for_object(obj).count()


def row(obj) -> dict:
    """Every stored field of ``obj``, fresh from the database."""
    fresh = type(obj).objects.get(pk=obj.pk)
    return model_to_dict(fresh, fields=[f.name for f in type(obj)._meta.concrete_fields])


class CleanMachine(RuleBasedStateMachine):
    """Opens a savepoint per example and rolls it back at the end; counts examples and steps."""

    name = "machine"

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self._started = time.perf_counter()
        RUNS[self.name]["examples"] += 1

    def count_step(self, refused: bool = False, took: str = "") -> None:
        """One step run; ``took`` names what succeeded (e.g. "hearing:convicted"), for the summary."""
        RUNS[self.name]["steps"] += 1
        if refused:
            RUNS[self.name]["refused"] += 1
        if took:
            TOOK[self.name][took] += 1

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)
        RUNS[self.name]["seconds"] += time.perf_counter() - self._started

    def refused(self, expected: type, action, watched: list, counts=lambda: ()) -> None:
        """``action()`` must raise ``expected`` (exactly that domain error) and change none of ``watched``
        (their rows and logs) nor ``counts()`` (e.g. how many hearings and reviews exist)."""
        before = [(row(o), log_count(o)) for o in watched], counts()
        try:
            action()
        except ERRORS as e:
            assert type(e) is expected, f"expected {expected.__name__}, got {type(e).__name__}: {e}"
        else:
            raise AssertionError(f"expected {expected.__name__}, the action succeeded")
        after = [(row(o), log_count(o)) for o in watched], counts()
        assert before == after, "a refused action changed something"
        self.count_step(refused=True)


def make_user(role: str, *grants):
    """A user in ``role`` with working grants on ``grants`` (stations, courts), as tests/conftest.py."""
    user = UserFactory()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    for obj in grants:
        cw.grant(user, obj)
    return user
