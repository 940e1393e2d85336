"""The joining rule: an admission joins the nearest incident with the same suburb (place of injury)
and mechanism whose time is within 2 hours of its injury time (arrival when none was sent); else
casework makes a new incident. docs/intake.md, "Incidents: the joining rule".

Joining is serialised per (suburb, mechanism) by a PostgreSQL advisory lock, so two workers never
make two incidents of one event. Gang suspicion from the EC becomes casework's gang assertions.
"""

import bisect
import hashlib
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from casework import services as cw_services
from casework.models import GangAssertion, Incident

from ..models import Admission

# Two admissions join one incident when they share suburb and mechanism and their injury
# times (arrival when no injury time was sent) are within this window.
INCIDENT_JOIN_WINDOW = timedelta(hours=2)


def _lock_key(suburb_id: int, mechanism: str) -> int:
    """The advisory lock key of one (suburb, mechanism): 8 bytes of a hash, as a signed bigint."""
    digest = hashlib.sha256(f"incident:{suburb_id}:{mechanism}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_keys(keys) -> None:
    """Take the advisory locks of these (suburb id, mechanism) keys for the transaction, in one order
    (no deadlock between two workers taking overlapping sets). PostgreSQL only."""
    if connection.vendor != "postgresql" or not keys:
        return
    ids = sorted(_lock_key(s, m) for s, m in keys)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k", [ids])


def join_or_create(admission: Admission) -> Incident | None:
    """The documented rule: same suburb, same mechanism, injury time within 2 hours; else a new one."""
    if admission.suburb is None or not admission.mechanism:
        return None  # no place, no incident yet: an A08 naming the suburb links it later
    occurred = admission.injury_at or admission.arrival_at
    lock_keys({(admission.suburb_id, admission.mechanism)})
    candidates = Incident.objects.filter(
        suburb=admission.suburb,
        mechanism=admission.mechanism,
        occurred_at__gte=occurred - INCIDENT_JOIN_WINDOW,
        occurred_at__lte=occurred + INCIDENT_JOIN_WINDOW,
    ).only("id", "occurred_at", "gang_related")
    best = min(candidates, key=lambda i: abs(i.occurred_at - occurred), default=None)
    if best is not None:
        return best
    return cw_services.incident_create(
        actor=None,
        occurred_at=min(occurred, timezone.now()),
        suburb=admission.suburb,
        mechanism=admission.mechanism,
        place_type=admission.place_type,
        fatal=admission.disposition == "died",
    )


class IncidentIndex:
    """The joining rule over many admissions at once (the batch path, the staged CSV path).

    Per (suburb, mechanism), the incidents of the batch's time range sorted by time: those that
    exist (held by id), then the ones the batch makes (held as unsaved ``Incident``s until
    ``create_new``). Under the keys' advisory locks, so two workers do not make two of one.
    Admissions must be joined in time order, as ``join_or_create`` would one by one.
    """

    def __init__(self, keys: set[tuple[int, str]], times: list):
        self.index: dict[tuple, tuple[list, list]] = {}
        self.new: list[Incident] = []
        self.now = timezone.now()
        if not keys:
            return
        lock_keys(keys)
        for pk, suburb_id, mechanism, occurred_at in (
            Incident.objects.filter(
                suburb_id__in={k[0] for k in keys},
                mechanism__in={k[1] for k in keys},
                occurred_at__gte=min(times) - INCIDENT_JOIN_WINDOW,
                occurred_at__lte=max(times) + INCIDENT_JOIN_WINDOW,
            )
            .order_by("occurred_at")
            .values_list("pk", "suburb_id", "mechanism", "occurred_at")
        ):
            times_of, refs = self.index.setdefault((suburb_id, mechanism), ([], []))
            times_of.append(occurred_at)
            refs.append(pk)

    def join(self, key: tuple[int, str], t, *, place_type: str, fatal: bool) -> "int | Incident":
        """The nearest incident within the window (an id, or one this batch makes), else a new one
        there and then (injury times in the future are clamped to now)."""
        times, refs = self.index.setdefault(key, ([], []))
        i = bisect.bisect_left(times, t)
        near = [j for j in (i - 1, i) if 0 <= j < len(times) and abs(times[j] - t) <= INCIDENT_JOIN_WINDOW]
        if near:
            return refs[min(near, key=lambda j: abs(times[j] - t))]
        suburb_id, mechanism = key
        incident = Incident(
            occurred_at=min(t, self.now), suburb_id=suburb_id, mechanism=mechanism, place_type=place_type,
            fatal=fatal,
        )  # fmt: skip
        self.new.append(incident)
        times.insert(i, t)
        refs.insert(i, incident)
        return incident

    def create_new(self) -> None:
        if self.new:
            cw_services.incident_create_many(actor=None, incidents=self.new)


def gang_basis(facility_code: str, visit_number: str) -> str:
    return f"EC admission {facility_code}/{visit_number}: gang-related suspected"


def assert_gang_suspected(incident_ids_with_basis: list[tuple[int, str]]) -> None:
    """The EC's "gang-related suspected", as EC-clinician assertions through casework (which keeps
    its rule: an incident is gang-related while its latest standing assertion says so)."""
    if incident_ids_with_basis:
        cw_services.gang_assert_many(
            incident_ids_with_basis=incident_ids_with_basis, source=GangAssertion.Source.EC_CLINICIAN
        )
