"""``manage.py seed_demo``: demo users for every role and a few years of realistic synthetic cases.

Everything is written through the apps' services with demo users as actors (see demo/steps/).
``--if-empty`` does nothing when an incident exists, so ``make run`` is fast the second time.
"""

import random
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from casework.models import Incident, Suburb
from demo.steps import SeedContext, steps
from demo.users import DEFAULT_PASSWORD, DEMO_USERS, ensure_users, first_holder

DEFAULT_ADMISSIONS = 30000  # a year, across the facilities: the bulk history (demo/steps/volume.py)
DEFAULT_INCIDENTS = 40  # through the services, over the last RECENT_DAYS
RECENT_DAYS = 42


class Command(BaseCommand):
    help = (
        "Create demo users for every role and several years of synthetic incidents, dockets and prosecutions."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admissions",
            type=int,
            default=DEFAULT_ADMISSIONS,
            help="EC admissions a year in the bulk history (default %(default)s; 0 for none)",
        )
        parser.add_argument(
            "--incidents",
            type=int,
            default=DEFAULT_INCIDENTS,
            help=f"incidents through the services over the last {RECENT_DAYS} days (default %(default)s)",
        )
        parser.add_argument("--years", type=int, default=3, help="years of history (default %(default)s)")
        parser.add_argument(
            "--password", default="", help=f"password of every demo user (default {DEFAULT_PASSWORD})"
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default %(default)s)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any incident exists")

    def handle(self, *args, admissions, incidents, years, password, seed, if_empty, **options):
        if incidents < 0 or admissions < 0 or years < 1:
            raise CommandError("--admissions and --incidents must be 0 or more and --years at least 1.")
        existing = Incident.objects.count() if if_empty else 0
        if existing:
            self.stdout.write(
                f"Demo data not seeded: the database already has {existing} incidents (--if-empty)."
            )
            return
        if not Suburb.objects.exists():
            raise CommandError("No reference data: run `manage.py migrate` first.")
        started = time.monotonic()
        try:
            accounts = ensure_users(password or DEFAULT_PASSWORD)
        except ValidationError as e:
            raise CommandError(f"--password is refused: {' '.join(e.messages)}") from e
        users = {}
        for spec in DEMO_USERS:
            users.setdefault(spec["role"], accounts[spec["username"]])
        ctx = SeedContext(
            rng=random.Random(seed),
            size=incidents,
            years=years,
            now=timezone.now(),
            users=users,
            accounts=accounts,
            station_liaisons={code: accounts[u] for code, u in first_holder("stations").items()},
            court_liaisons={code: accounts[u] for code, u in first_holder("courts").items()},
            stdout=self.stdout,
            admissions_per_year=admissions,
            recent_days=RECENT_DAYS,
        )
        self.stdout.write(
            f"Seeding {admissions} admissions a year over {years} years in bulk and {incidents} incidents "
            f"of the last {RECENT_DAYS} days through the services (seed {seed})"
        )
        for name, module in steps():
            step_started = time.monotonic()
            module.seed(ctx)
            self.stdout.write(f"  step {name}: {time.monotonic() - step_started:.1f} s")
        self._report(ctx, password, time.monotonic() - started)

    def _report(self, ctx, password, seconds):
        self.stdout.write(self.style.SUCCESS(f"Demo data seeded in {seconds:.1f} s."))
        shown = "the one given with --password" if password else DEFAULT_PASSWORD
        self.stdout.write(f"Demo users (password: {shown}); see docs/demo.md:")
        for spec in DEMO_USERS:
            self.stdout.write(f"  {spec['username']:<28} {spec['role']}")
