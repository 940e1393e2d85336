"""The steps of ``seed_demo``, run in the order of ``steps()``; each is a module here with ``seed(ctx)``.

``volume`` writes years of history in bulk (the same chains, on unsaved objects, with their
transition logs); every later step writes through the apps' services, with a demo user as actor and
a backdated ``at=``, so the cases people open have a transition log as real as production's;
``rollups`` refreshes the reports' kept rows once at the end.
"""

import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from django.core.management.base import OutputWrapper

from . import casework, courtwatch, referrals, rollups, today, volume


@dataclass
class SeedContext:
    """What the steps share: the random source, the size asked for, the demo users, what was made."""

    rng: random.Random
    size: int  # incidents made through the services, over the last ``recent_days``
    years: int
    now: datetime
    users: dict[str, Any]  # role → the first demo user in that role
    accounts: dict[str, Any]  # username → user
    station_liaisons: dict[str, Any]  # station code → the SAPS user who works it
    court_liaisons: dict[str, Any]  # court code → the NPA user who works it
    stdout: TextIO = sys.stdout
    admissions_per_year: int = 0  # the bulk history behind the reports (``volume``)
    recent_days: int = 42
    incidents: list = field(default_factory=list)
    police_cases: list = field(default_factory=list)
    prosecutions: list = field(default_factory=list)
    _shown: tuple = field(default=("", -1), repr=False)

    @property
    def start(self) -> datetime:
        """The earliest moment the demo's history reaches back to."""
        return self.now - timedelta(days=365 * self.years)

    def say(self, text: str) -> None:
        self._write(text + "\n")

    def progress(self, label: str, done: int, total: int, width: int = 30) -> None:
        """A text progress bar on one line, redrawn only when the percentage changes."""
        pct = 100 if total <= 0 else min(100, done * 100 // total)
        if self._shown == (label, pct):
            return
        self._shown = (label, pct)
        filled = width * pct // 100
        end = "\n" if pct == 100 else ""
        self._write(f"\r  {label:<12} [{'#' * filled}{'.' * (width - filled)}] {pct:3d}% {done}/{total}{end}")

    def _write(self, text: str) -> None:
        if isinstance(self.stdout, OutputWrapper):
            self.stdout.write(text, ending="")  # a command's stdout adds a newline otherwise
        else:
            self.stdout.write(text)
        self.stdout.flush()


def steps():
    """(name, module) of every step, in the order they run: later steps build on earlier ones."""
    return [
        ("casework", casework),
        ("referrals", referrals),
        ("today", today),
        # After the service-made cases: their reactions refresh the rollups of a small database.
        ("volume", volume),
        ("courtwatch", courtwatch),
        ("rollups", rollups),
    ]
