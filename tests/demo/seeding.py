"""Run ``seed_demo`` once for a whole test module, inside a transaction rolled back at its end.

Seeding takes seconds; the read-only checks of a module share one run. Each test still runs in its
own savepoint (pytest-django's ``db``), so what a test changes is undone before the next one.
"""

from contextlib import contextmanager
from io import StringIO

from django.core.management import call_command
from django.db import transaction


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@contextmanager
def seeded_for_module(django_db_blocker, *args):
    with django_db_blocker.unblock(), transaction.atomic():
        output = seed(*args)
        yield output
        transaction.set_rollback(True)
