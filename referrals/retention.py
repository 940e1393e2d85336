"""POPIA retention: a patient's identity is purged once no matter needs it (docs/security.md,
"Retention and subject access"; docs/popia.md).

What is purged: the encrypted identity row of each admission (name, identifiers, date of birth,
contact), the identity versions an update kept (blanked), and the raw message bodies that carry
them. What stays, unchanged: the admission (the minimum dataset and its pseudonym), the incident,
the referral, dockets and prosecutions — so every count, report and dashboard figure is the same
after a purge as before.

When (``IDENTITY_RETENTION_YEARS``, default 5; a patient is everyone sharing a pseudonym, or one
admission without one, and is purged only when every admission of theirs that still holds an
identity is due):

- ``matters_finalised`` — an admission linked to police cases (through its incident, or the case
  its referral opened) is due when every one of those cases has ended more than the period ago: a
  case with prosecutions ends when every prosecution is finalised (``finalised_on``); a case
  without one when it was closed (undetected, unfounded, withdrawn by the complainant, declined).
  A case still open, or a matter re-enrolled, keeps the identity.
- ``no_police_case`` — an admission no police case is linked to is due the period after its last
  event: its arrival, or its referral's last step (a referral reopened last year keeps it).
- raw messages are emptied when every visit they name has lost its identity; a message naming
  no admission still holding one (a dead letter, an unreadable message) is emptied the period
  after it was received (``unlinked_message``).

Each run writes one row to the append-only audit (``IdentityRead``, reader = who ran it, none for
the schedule): how many, when, by which rule — never whose.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from casework.models import PoliceCase, Prosecution

from . import models as m
from .models import Admission, Channel, IdentityRead, InboundMessage, PatientIdentity
from .parsing.hl7 import normalise_hl7

RULE_FINALISED = "matters_finalised"
RULE_NO_CASE = "no_police_case"
RULE_UNLINKED = "unlinked_message"
AUDIT_PREFIX = "retention purge"
CHUNK = 1000


def retention_years() -> int:
    return int(getattr(settings, "IDENTITY_RETENTION_YEARS", 5))


def cutoff_for(now: datetime | None = None, years: int | None = None) -> datetime:
    """The moment before which a matter must have ended. Calendar years (29 February → 28th)."""
    now = now or timezone.now()
    years = retention_years() if years is None else years
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


# ------------------------------------------------------------------ which admissions are due


def _dockets_over(cutoff: datetime) -> QuerySet[PoliceCase]:
    """Police cases whose every matter ended before ``cutoff``."""
    prosecutions = Prosecution.objects.filter(police_case=OuterRef("pk"))
    # finalised_on is set by every transition; state_changed_at covers rows written before it.
    still_running = prosecutions.annotate(ended=Coalesce("finalised_on", "state_changed_at")).exclude(
        state__in=Prosecution.FINALISED_STATES, ended__lt=cutoff
    )
    return PoliceCase.objects.filter(~Exists(still_running)).filter(
        Exists(prosecutions) | Q(state__in=PoliceCase.CLOSED_STATES, state_changed_at__lt=cutoff)
    )


def _dockets_of_admission():
    return PoliceCase.objects.filter(
        Q(incidents=OuterRef("incident_id")) | Q(referrals__admission=OuterRef("pk"))
    )


def due_admissions(cutoff: datetime) -> QuerySet[Admission]:
    """Admissions holding an identity that no matter needs any more, with ``has_case`` (which rule)."""
    dockets = _dockets_of_admission()
    live = dockets.exclude(pk__in=_dockets_over(cutoff).values("pk"))
    no_case_due = Q(referral__isnull=True) | Q(referral__state_changed_at__lt=cutoff)
    return (
        Admission.objects.filter(Exists(PatientIdentity.objects.filter(admission=OuterRef("pk"))))
        .filter(arrival_at__lt=cutoff)
        .annotate(has_case=Exists(dockets), has_live_case=Exists(live))
        .filter(Q(has_case=True, has_live_case=False) | (Q(has_case=False) & no_case_due))
    )


@dataclass
class PurgeResult:
    cutoff: datetime
    years: int
    dry_run: bool
    patients: dict = field(default_factory=lambda: {RULE_FINALISED: 0, RULE_NO_CASE: 0})
    identities: dict = field(default_factory=lambda: {RULE_FINALISED: 0, RULE_NO_CASE: 0})
    identity_versions: int = 0
    messages: dict = field(default_factory=lambda: {"with_identity_purged": 0, RULE_UNLINKED: 0})

    @property
    def total_identities(self) -> int:
        return sum(self.identities.values())

    @property
    def total_messages(self) -> int:
        return sum(self.messages.values())

    def summary(self) -> str:
        """The audit line: counts by rule and the cutoff, never whose."""
        return (
            f"{AUDIT_PREFIX} ({self.years} y, before {timezone.localtime(self.cutoff):%Y-%m-%d}): "
            f"{RULE_FINALISED} {self.patients[RULE_FINALISED]} patients/{self.identities[RULE_FINALISED]} "
            f"identities; {RULE_NO_CASE} {self.patients[RULE_NO_CASE]}/{self.identities[RULE_NO_CASE]}; "
            f"{self.identity_versions} versions; {self.messages['with_identity_purged']} raw messages, "
            f"{self.messages[RULE_UNLINKED]} {RULE_UNLINKED}"
        )[:200]

    def as_dict(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "years": self.years,
            "dry_run": self.dry_run,
            "patients": self.patients,
            "identities": self.identities,
            "identity_versions": self.identity_versions,
            "messages": self.messages,
        }


def _purgeable(cutoff: datetime) -> tuple[dict[int, str], dict[str, str]]:
    """{admission id: rule} of the admissions to purge, {patient key: rule} of their patients.

    A patient (pseudonym) is purged only when every admission of theirs holding an identity is due.
    """
    due = {
        pk: (pseudonym, has_case)
        for pk, pseudonym, has_case in due_admissions(cutoff).values_list("pk", "pseudonym", "has_case")
    }
    pseudonyms = sorted({p for p, _ in due.values() if p})
    blocked: set[str] = set()
    due_ids = set(due)
    for i in range(0, len(pseudonyms), CHUNK):
        chunk = pseudonyms[i : i + CHUNK]
        holding = Admission.objects.filter(pseudonym__in=chunk, identity__isnull=False).values_list(
            "pk", "pseudonym"
        )
        blocked |= {p for pk, p in holding if pk not in due_ids}
    admissions: dict[int, str] = {}
    patients: dict[str, str] = {}
    for pk, (pseudonym, has_case) in due.items():
        if pseudonym in blocked:
            continue
        key = pseudonym or f"admission:{pk}"
        rule = RULE_FINALISED if has_case else RULE_NO_CASE
        admissions[pk] = rule
        # A patient whose matters ended counts under that rule even if another visit had no case.
        if patients.get(key) != RULE_FINALISED:
            patients[key] = rule
    return admissions, patients


# ------------------------------------------------------------------ raw messages


def visits_named(message: InboundMessage) -> set[tuple[str, str]]:
    """(facility code, visit number) of every visit a raw message names; empty when unreadable."""
    raw = message.raw or ""
    try:
        if message.channel in (Channel.HL7_MLLP, Channel.HL7_HTTP):
            text = normalise_hl7(raw)
            first = text.split("\r", 1)[0]
            sep = first[3] if len(first) > 3 else "|"
            msh = first.split(sep)
            facility = msh[3].split("^")[0].strip() if len(msh) > 3 else ""
            for line in text.split("\r"):
                if line.startswith("PV1"):
                    pv1 = line.split(sep)
                    visit = pv1[19].split("^")[0].strip() if len(pv1) > 19 else ""
                    return {(facility, visit)} if facility and visit else set()
            return set()
        if message.channel == Channel.CSV:
            rows = csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))
            return {
                ((r.get("facility") or "").strip(), (r.get("visit_number") or "").strip())
                for r in rows
                if (r.get("facility") or "").strip() and (r.get("visit_number") or "").strip()
            }
        if message.channel == Channel.FORM:
            data = json.loads(raw)
            return {(data.get("facility_code", ""), data.get("visit_number", ""))}
        if message.channel == Channel.FHIR:
            from .parsing.fhir import parse_fhir

            _control, rec = parse_fhir(raw)
            return {(rec.facility_code, rec.visit_number)}
    except Exception:  # noqa: BLE001 - an unreadable message names no visit: the age rule applies
        return set()
    return set()


def _identity_kept(visits: set[tuple[str, str]], gone: set[int]) -> bool:
    """Does any of these visits still hold an identity (``gone``: purged in this run)?"""
    if not visits:
        return False
    q = Q(pk__in=[])
    for facility, visit in visits:
        q |= Q(facility__code=facility, visit_number=visit)
    holding = Admission.objects.filter(q, identity__isnull=False).values_list("pk", flat=True)
    return any(pk not in gone for pk in holding)


def _messages_to_empty(cutoff: datetime, gone: set[int]) -> tuple[list[int], list[int]]:
    """(messages of the admissions purged, old messages naming no identity still kept)."""
    with_identity, unlinked = [], []
    candidates = InboundMessage.objects.exclude(raw="").exclude(status__in=InboundMessage.UNFINISHED)
    ids = sorted(gone)
    linked_ids: set[int] = set()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        linked_ids |= set(candidates.filter(admission_id__in=chunk).values_list("pk", flat=True))
        last = Admission.objects.filter(pk__in=chunk).values("message_id")
        linked_ids |= set(candidates.filter(pk__in=last).values_list("pk", flat=True))
    old = candidates.filter(received_at__lt=cutoff).exclude(pk__in=linked_ids)
    for message in [*candidates.filter(pk__in=linked_ids), *old.iterator(chunk_size=200)]:
        if _identity_kept(visits_named(message), gone):
            continue  # it also names a visit whose identity is still needed
        if message.pk in linked_ids:
            with_identity.append(message.pk)
        elif message.received_at < cutoff:
            unlinked.append(message.pk)
    return with_identity, unlinked


# ------------------------------------------------------------------ the purge


def purge_identities(*, actor=None, dry_run: bool = False, now: datetime | None = None) -> PurgeResult:
    """Purge every identity (and raw message) no matter needs any more; see the module docstring.

    ``dry_run`` counts without changing anything (and writes no audit row).
    """
    years = retention_years()
    cutoff = cutoff_for(now, years)
    result = PurgeResult(cutoff=cutoff, years=years, dry_run=dry_run)
    with transaction.atomic():
        admissions, patients = _purgeable(cutoff)
        for rule in patients.values():
            result.patients[rule] += 1
        for rule in admissions.values():
            result.identities[rule] += 1
        ids = list(admissions)
        versions = getattr(m, "IdentityVersion", None)
        if versions is not None:
            result.identity_versions = versions.objects.filter(
                admission_id__in=ids, details__isnull=False
            ).count()
        linked, unlinked = _messages_to_empty(cutoff, set(ids))
        if not dry_run:
            _delete_identities(ids, versions)
            InboundMessage.objects.filter(pk__in=linked + unlinked).update(raw="")
        result.messages = {"with_identity_purged": len(linked), RULE_UNLINKED: len(unlinked)}
        if not dry_run:
            IdentityRead.objects.create(reader=actor, purpose=result.summary())
    return result


def _delete_identities(ids: list[int], versions) -> None:
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        if versions is not None:
            # The versions table is append-only; its trigger lets a purge blank the details only.
            versions.objects.filter(admission_id__in=chunk, details__isnull=False).update(details=None)
        PatientIdentity.objects.filter(admission_id__in=chunk).delete()


def purge_history(limit: int = 50) -> QuerySet[IdentityRead]:
    """The audit rows of past purges, newest first."""
    return IdentityRead.objects.filter(purpose__startswith=AUDIT_PREFIX).select_related("reader")[:limit]
