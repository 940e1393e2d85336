"""Every write of the intake: receive (store raw, then answer), process (raw → admission, identity,
incident), replay dead letters, refer to SAPS and move referrals.

Receiving is synchronous and cheap: it decides the answer (ACK code, HTTP status) from what can
be checked without writing the admission, commits the raw message in its own transaction, and
only then returns the answer. Processing runs in ``tasks.process_inbound`` after commit, may be
repeated, and writes everything for one message in one transaction (a savepoint per message
when several are processed together).
"""

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from casework import reactions
from casework import services as cw_services
from casework.errors import InvalidInput, PermissionDenied
from casework.models import Facility, GangAssertion, Incident, PoliceCase, Suburb
from casework.services import apply_transition

from . import permissions
from .crypto import pseudonym
from .models import (
    CHANNEL_FAMILY,
    Admission,
    Channel,
    IdentityRead,
    InboundMessage,
    PatientIdentity,
    Referral,
    age_band,
)
from .parsing import (
    Header,
    IntakeError,
    Record,
    hl7_ack,
    hl7_header,
    is_assault,
    normalise_hl7,
    parse_fhir,
    parse_hl7,
    read_csv,
    record_from_json,
)

log = logging.getLogger(__name__)
Status = InboundMessage.Status

# Two admissions join one incident when they share suburb and mechanism and their injury
# times (arrival when no injury time was sent) are within this window. docs/intake.md.
INCIDENT_JOIN_WINDOW = timedelta(hours=2)
# How many waiting messages one task takes together (a savepoint each) on PostgreSQL.
PROCESS_BATCH = 200
# A message that keeps failing to finish (its worker dies) goes to the dead letters after this.
MAX_ATTEMPTS = 5


@dataclass
class Answer:
    """What a channel answers the sender, and the stored message it concerns."""

    code: str  # AA / AE / AR (HL7 semantics, used by every channel)
    text: str
    message: InboundMessage | None = None
    body: str = ""  # the ACK (HL7) or JSON (FHIR, CSV)
    error: IntakeError | None = None
    duplicate: bool = False
    extra: dict = field(default_factory=dict)


# ==================================================================== receiving


def _queue(message: InboundMessage) -> None:
    from . import tasks  # tasks import services; the import is here to keep that one-way at load

    tasks.process_inbound.delay_on_commit(message.pk)


def _store(
    *,
    channel: str,
    sender: str,
    control_id: str,
    raw: str,
    status: str,
    reason: str = "",
    ack: str = "",
    facility=None,
    message_type: str = "",
    actor=None,
    report=None,
) -> InboundMessage:
    """Commit the raw message in its own transaction (queues processing after commit).

    Raises IntegrityError when the same (family, sender, control id) is already stored.
    """
    with transaction.atomic():
        message = InboundMessage.objects.create(
            channel=channel,
            sender=sender[:80],
            control_id=control_id,
            raw=raw,
            status=status,
            reason=reason,
            ack=ack,
            facility=facility,
            message_type=message_type[:40],
            received_by=actor if getattr(actor, "is_authenticated", False) else None,
            report=report or {},
        )
        if status == Status.RECEIVED:
            _queue(message)
    return message


def _existing(channel: str, sender: str, control_id: str) -> InboundMessage | None:
    if not control_id:
        return None
    return (
        InboundMessage.objects.filter(family=_family(channel), sender=sender[:80], control_id=control_id)
        .exclude(status__in=[Status.REJECTED, Status.DUPLICATE])
        .first()
    )


def _family(channel: str) -> str:
    return CHANNEL_FAMILY[channel]


def _seen_again(message: InboundMessage) -> None:
    InboundMessage.objects.filter(pk=message.pk).update(duplicates_seen=F("duplicates_seen") + 1)


def _has_assault_code(rec: Record) -> bool:
    return any(is_assault(c) for c in rec.icd10_codes)


def _is_update_of_known_visit(rec: Record, facility: Facility) -> bool:
    return Admission.objects.filter(facility=facility, visit_number=rec.visit_number).exists()


def _authorise(actor, facility: Facility, authorise: bool) -> None:
    if authorise and not permissions.may_submit_for(actor, facility):
        raise PermissionDenied(f"You may not submit admissions for {facility.code}.")


def inbound_receive_hl7(
    *, raw: str | bytes, channel: str = Channel.HL7_MLLP, actor=None, authorise: bool = False
) -> Answer:
    """Store an HL7 v2 message, then answer with its ACK (``Answer.body``).

    AA: stored for processing, a duplicate (same answer as the first time), or filtered (no
    assault code; only metadata kept). AE/AR with an ERR naming the field: stored as rejected,
    raw kept. ``authorise`` (HTTP) raises PermissionDenied before anything is stored when the
    actor may not submit for the facility.
    """
    text = normalise_hl7(raw)
    try:
        header = hl7_header(text)
    except IntakeError as e:
        ack = hl7_ack(Header(), e.ack, str(e), error=e)
        msg = _store(
            channel=channel,
            sender="",
            control_id="",
            raw=text,
            status=Status.REJECTED,
            reason=str(e),
            ack=ack,
            actor=actor,
        )
        return Answer(e.ack, str(e), msg, ack, error=e)
    previous = _existing(channel, header.sender, header.control_id)
    if previous is not None:
        _seen_again(previous)
        return Answer(_ack_code(previous.ack), "duplicate", previous, previous.ack, duplicate=True)

    def reject(e: IntakeError, facility=None) -> Answer:
        ack = hl7_ack(header, e.ack, str(e), error=e)
        msg = _store(
            channel=channel,
            sender=header.sender,
            control_id=header.control_id,
            raw=text,
            status=Status.REJECTED,
            reason=str(e),
            ack=ack,
            facility=facility,
            message_type=header.message_type,
            actor=actor,
        )
        return Answer(e.ack, str(e), msg, ack, error=e)

    try:
        header, rec = parse_hl7(text)
    except IntakeError as e:
        return reject(e)
    facility = Facility.objects.filter(code=header.sender).first()
    if facility is None:
        return reject(
            IntakeError("MSH-4", f"Unknown facility code '{header.sender}'.", ack="AR", hl7_code="204")
        )
    _authorise(actor, facility, authorise)
    if not _has_assault_code(rec) and not _is_update_of_known_visit(rec, facility):
        status, reason, raw_kept = Status.FILTERED, "No assault code (X85–Y09): not recorded.", ""
        text_answer = "Accepted: no assault code, not recorded."
    else:
        status, reason, raw_kept, text_answer = Status.RECEIVED, "", text, "Accepted."
    ack = hl7_ack(header, "AA", text_answer)
    try:
        msg = _store(
            channel=channel,
            sender=header.sender,
            control_id=header.control_id,
            raw=raw_kept,
            status=status,
            reason=reason,
            ack=ack,
            facility=facility,
            message_type=header.message_type,
            actor=actor,
        )
    except IntegrityError:  # the same message arrived on another connection a moment ago
        previous = _existing(channel, header.sender, header.control_id)
        _seen_again(previous)
        return Answer(_ack_code(previous.ack), "duplicate", previous, previous.ack, duplicate=True)
    return Answer("AA", text_answer, msg, ack)


def _ack_code(ack: str) -> str:
    for seg in ack.split("\r"):
        if seg.startswith("MSA|"):
            return seg.split("|")[1]
    try:
        return json.loads(ack).get("code", "AA")
    except (ValueError, AttributeError):
        return "AA"


def operation_outcome(severity: str, code: str, text: str, expression: str = "") -> dict:
    issue = {"severity": severity, "code": code, "diagnostics": text}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def inbound_receive_fhir(*, body: str | bytes, actor=None, authorise: bool = True) -> Answer:
    """Store a FHIR R4 Bundle, then answer with an OperationOutcome (``Answer.body``, JSON).

    Errors name the element (``Encounter.period.start``). The bundle's identifier (or id) is
    its control id: the same bundle from the same facility is stored once.
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body

    def reject(e: IntakeError, sender="", control="", facility=None) -> Answer:
        out = json.dumps(operation_outcome("error", "invalid", e.problem, e.where) | {"code": e.ack})
        msg = _store(
            channel=Channel.FHIR,
            sender=sender,
            control_id=control,
            raw=text,
            status=Status.REJECTED,
            reason=str(e),
            ack=out,
            facility=facility,
            actor=actor,
        )
        return Answer(e.ack, str(e), msg, out, error=e)

    try:
        control, rec = parse_fhir(text)
    except IntakeError as e:
        return reject(e)
    facility = Facility.objects.filter(code=rec.facility_code).first()
    if facility is None:
        return reject(
            IntakeError(
                "Organization.identifier.value", f"Unknown facility code '{rec.facility_code}'.", ack="AR"
            ),
            sender=rec.facility_code,
        )
    _authorise(actor, facility, authorise)
    control = control or "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    previous = _existing(Channel.FHIR, rec.facility_code, control)
    if previous is not None:
        _seen_again(previous)
        return Answer(_ack_code(previous.ack), "duplicate", previous, previous.ack, duplicate=True)
    if not _has_assault_code(rec) and not _is_update_of_known_visit(rec, facility):
        status, raw_kept, reason = Status.FILTERED, "", "No assault code (X85–Y09): not recorded."
        note = "Accepted: no assault code, not recorded."
    else:
        status, raw_kept, reason, note = Status.RECEIVED, text, "", "Accepted for processing."
    out = operation_outcome("information", "informational", note)
    try:
        msg = _store(
            channel=Channel.FHIR,
            sender=rec.facility_code,
            control_id=control,
            raw=raw_kept,
            status=status,
            reason=reason,
            ack="",
            facility=facility,
            message_type="Bundle",
            actor=actor,
        )
    except IntegrityError:
        previous = _existing(Channel.FHIR, rec.facility_code, control)
        _seen_again(previous)
        return Answer(_ack_code(previous.ack), "duplicate", previous, previous.ack, duplicate=True)
    out["id"] = str(msg.pk)
    body_out = json.dumps(out | {"code": "AA"})
    InboundMessage.objects.filter(pk=msg.pk).update(ack=body_out)
    msg.ack = body_out
    return Answer("AA", note, msg, body_out)


def inbound_receive_csv(*, text: str, actor, filename: str = "") -> Answer:
    """Store a CSV batch raw, validate every row, keep the good ones (processed in the task).

    ``Answer.extra["report"]``: {rows, accepted, problems: [{row, field, problem}]}. The same file
    uploaded twice is stored once and answers the first report.
    """
    text = text.lstrip("\ufeff")
    control = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    previous = _existing(Channel.CSV, "", control)
    if previous is not None:
        _seen_again(previous)
        return Answer(
            _ack_code(previous.ack),
            "duplicate",
            previous,
            previous.ack,
            duplicate=True,
            extra={"report": previous.report},
        )
    good, problems = read_csv(text)
    rows = len(good) + len({p["row"] for p in problems if p["row"] > 1})
    facilities = {f.code: f for f in Facility.objects.filter(code__in={r.facility_code for r in good})}
    kept = []
    for rec in good:
        fac = facilities.get(rec.facility_code)
        if fac is None:
            problems.append(
                {
                    "row": rec.row,
                    "field": "facility",
                    "problem": f"Unknown facility code '{rec.facility_code}'.",
                }
            )
        elif not permissions.may_submit_for(actor, fac):
            problems.append(
                {"row": rec.row, "field": "facility", "problem": f"You may not submit for '{fac.code}'."}
            )
        else:
            kept.append(rec)
    problems.sort(key=lambda p: (p["row"], p["field"]))
    report = {
        "filename": filename[:200],
        "rows": rows,
        "accepted": len(kept),
        "problems": problems,
        "skipped_rows": sorted({p["row"] for p in problems}),
    }
    if kept:
        code, status, reason = "AA", Status.RECEIVED, ""
    else:
        code, status, reason = "AE", Status.REJECTED, "No row could be accepted."
    ack = json.dumps({"code": code})
    try:
        msg = _store(
            channel=Channel.CSV,
            sender="",
            control_id=control if kept else "",
            raw=text,
            status=status,
            reason=reason,
            ack=ack,
            message_type="csv",
            actor=actor,
            report=report,
        )
    except IntegrityError:
        previous = _existing(Channel.CSV, "", control)
        return Answer(
            _ack_code(previous.ack),
            "duplicate",
            previous,
            previous.ack,
            duplicate=True,
            extra={"report": previous.report},
        )
    return Answer(code, reason or "Accepted.", msg, ack, extra={"report": report})


def inbound_receive_form(*, record: Record, actor) -> Answer:
    """The capture form: same inbox, same processing as every other channel."""
    facility = Facility.objects.filter(code=record.facility_code).first()
    if facility is None:
        raise InvalidInput({"facility": "Unknown facility."})
    _authorise(actor, facility, True)
    if not _has_assault_code(record):
        raise InvalidInput({"icd10_codes": "At least one assault code (X85–Y09 or T74.2) is required."})
    msg = _store(
        channel=Channel.FORM,
        sender=facility.code,
        control_id="",
        raw=json.dumps(record.as_json()),
        status=Status.RECEIVED,
        ack=json.dumps({"code": "AA"}),
        facility=facility,
        message_type="form",
        actor=actor,
    )
    return Answer("AA", "Accepted.", msg)


# ==================================================================== processing


def _records_of(message: InboundMessage) -> list[Record]:
    """Parse the stored raw message again (the task must not trust anything but the row)."""
    if message.channel in (Channel.HL7_MLLP, Channel.HL7_HTTP):
        return [parse_hl7(message.raw)[1]]
    if message.channel == Channel.FHIR:
        return [parse_fhir(message.raw)[1]]
    if message.channel == Channel.FORM:
        return [record_from_json(json.loads(message.raw))]
    if message.channel == Channel.CSV:
        good, _problems = read_csv(message.raw)
        skip = set(message.report.get("skipped_rows", []))
        return [r for r in good if r.row not in skip]
    raise IntakeError("channel", f"Unknown channel {message.channel}.")


class _Lookups:
    """Reference data cached for one batch."""

    def __init__(self):
        self.facilities: dict[str, Facility | None] = {}
        self.suburbs: dict[str, Suburb | None] = {}

    def facility(self, code: str) -> Facility:
        if code not in self.facilities:
            self.facilities[code] = Facility.objects.filter(code=code).first()
        fac = self.facilities[code]
        if fac is None:
            raise IntakeError("facility", f"Unknown facility code '{code}'.", ack="AR")
        return fac

    def suburb(self, text: str) -> Suburb | None:
        key = (text or "").strip().lower()
        if not key:
            return None
        if key not in self.suburbs:
            self.suburbs[key] = (
                Suburb.objects.select_related("station")
                .filter(Q(code__iexact=key) | Q(name__iexact=key))
                .first()
            )
        return self.suburbs[key]


def _pseudonym_of(rec: Record) -> str:
    ids = rec.identifiers
    national = next((i for i in ids if i.get("type", "").upper() == "NI"), None)
    if national:
        return pseudonym(national["value"])
    if ids:
        return pseudonym(ids[0]["value"], authority=ids[0].get("authority") or rec.facility_code)
    return ""


def _lock_incident_key(suburb: Suburb, mechanism: str) -> None:
    """Serialise joining per (suburb, mechanism) so two workers do not make two incidents of one."""
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(
        hashlib.sha256(f"incident:{suburb.pk}:{mechanism}".encode()).digest()[:8], "big", signed=True
    )
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _join_or_create_incident(admission: Admission, rec: Record) -> Incident | None:
    """The documented rule: same suburb, same mechanism, injury time within 2 hours; else a new one."""
    if admission.suburb is None or not admission.mechanism:
        return None  # no place, no incident yet: an A08 naming the suburb links it later
    occurred = admission.injury_at or admission.arrival_at
    _lock_incident_key(admission.suburb, admission.mechanism)
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


def _apply_record(rec: Record, message: InboundMessage, lookups: _Lookups) -> Admission | None:
    """Write (or update) the admission, its identity and its incident. None: filtered (no assault code)."""
    facility = lookups.facility(rec.facility_code)
    admission = (
        Admission.objects.select_for_update().filter(facility=facility, visit_number=rec.visit_number).first()
    )
    has_codes = _has_assault_code(rec)
    if admission is None and not has_codes:
        return None
    created = admission is None
    if created:
        admission = Admission(facility=facility, visit_number=rec.visit_number)
    before = (admission.suburb_id, admission.mechanism, admission.injury_at, admission.arrival_at)
    admission.arrival_at = rec.arrival_at
    admission.event = rec.event[:8]
    admission.message = message
    admission.source_row = rec.row
    if has_codes:
        admission.icd10_codes = rec.icd10_codes
        admission.mechanism = rec.mechanism
    for name in ("injury_at", "triage", "place_type", "role", "disposition", "latitude", "longitude"):
        value = getattr(rec, name)
        if value not in (None, ""):
            setattr(admission, name, value)
    for name in ("police_informed", "gang_suspected"):
        if getattr(rec, name) is not None:
            setattr(admission, name, getattr(rec, name))
    if rec.sex != "unknown" or created:
        admission.sex = rec.sex
    if rec.age_years is not None:
        admission.age_years = rec.age_years
        admission.age_band = age_band(rec.age_years)
    if rec.suburb_text:
        admission.suburb_text = rec.suburb_text[:120]
        admission.suburb = lookups.suburb(rec.suburb_text)
    admission.role = admission.role or "victim"
    admission.pseudonym = _pseudonym_of(rec) or admission.pseudonym
    after = (admission.suburb_id, admission.mechanism, admission.injury_at, admission.arrival_at)
    if admission.incident_id is None or (before != after and not created):
        incident = _join_or_create_incident(admission, rec)
        if incident is not None:
            admission.incident = incident
    admission.save()
    if admission.gang_suspected and admission.incident_id:
        _assert_gang_from_ec(admission)
    identity = {
        "name": rec.name,
        "identifiers": rec.identifiers,
        "date_of_birth": rec.date_of_birth.isoformat() if rec.date_of_birth else "",
        "contact": rec.contact,
    }
    if created:
        PatientIdentity.objects.create(admission=admission, **identity)
    else:
        PatientIdentity.objects.update_or_create(
            admission=admission, defaults={k: v for k, v in identity.items() if v}
        )
    reactions.emit("admission_recorded", admission=admission)
    return admission


def _assert_gang_from_ec(admission: Admission) -> None:
    incident = admission.incident
    basis = f"EC admission {admission.facility.code}/{admission.visit_number}: gang-related suspected"
    if incident.gang_assertions.filter(source=GangAssertion.Source.EC_CLINICIAN, basis=basis).exists():
        return
    cw_services.incident_assert_gang_relatedness(
        incident=incident,
        actor=None,
        gang_related=True,
        basis=basis,
        source=GangAssertion.Source.EC_CLINICIAN,
    )


def _finish(message: InboundMessage, *, status: str, reason: str = "", admission=None) -> None:
    now = timezone.now()
    updates = {"status": status, "reason": reason, "status_changed_at": now, "processed_at": now}
    if admission is not None:
        updates["admission"] = admission
    if status == Status.FILTERED:
        updates["raw"] = ""  # a visit with no assault code keeps only its metadata
    InboundMessage.objects.filter(pk=message.pk).update(**updates)


def _process_one(message: InboundMessage, lookups: _Lookups) -> str:
    """One claimed message, inside the caller's transaction, in its own savepoint."""
    try:
        with transaction.atomic():
            records = _records_of(message)
            last = None
            applied = 0
            for rec in records:
                a = _apply_record(rec, message, lookups)
                if a is not None:
                    last, applied = a, applied + 1
            if applied == 0:
                _finish(message, status=Status.FILTERED, reason="No assault code (X85–Y09): not recorded.")
                return Status.FILTERED
            report = None
            if message.channel == Channel.CSV:
                report = {**message.report, "stored": applied}
                InboundMessage.objects.filter(pk=message.pk).update(report=report)
            _finish(message, status=Status.PROCESSED, admission=last)
            return Status.PROCESSED
    except OperationalError:
        raise  # the database, not the message: retry the task
    except IntakeError as e:
        reason = str(e)
    except Exception as e:  # a bug or a surprise: dead-letter it with the reason, never lose it
        log.exception("Processing inbound message %s failed", message.pk)
        reason = f"{type(e).__name__}: {e}"
    _finish(message, status=Status.FAILED, reason=reason[:2000])
    return Status.FAILED


def _claim_more(limit: int) -> list[tuple[int, int]]:
    """Claim up to ``limit`` other waiting single messages (PostgreSQL: SKIP LOCKED)."""
    if limit <= 0 or connection.vendor != "postgresql":
        return []
    table = InboundMessage._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {table} SET status = 'processing', attempts = attempts + 1, status_changed_at = now()
                WHERE id IN (SELECT id FROM {table} WHERE status = 'received' AND channel <> 'csv'
                             ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
                RETURNING id, attempts""",
            [limit],
        )
        return list(cur.fetchall())


def inbound_claim(message_id: int) -> int | None:
    """received → processing by a conditional UPDATE; the claimed attempt number, or None."""
    with transaction.atomic():
        claimed = InboundMessage.objects.filter(pk=message_id, status=Status.RECEIVED).update(
            status=Status.PROCESSING, attempts=F("attempts") + 1, status_changed_at=timezone.now()
        )
        if not claimed:
            return None
        return InboundMessage.objects.values_list("attempts", flat=True).get(pk=message_id)


def inbound_process(message_id: int, *, batch: int = PROCESS_BATCH) -> dict[int, str]:
    """Claim the message (and, on PostgreSQL, up to ``batch`` - 1 other waiting ones) and process them.

    Idempotent: a message not in ``received`` is left alone; a message whose claim was taken
    over (the sweeper re-kicked it) is skipped by the older claimant. OperationalError puts the
    claimed messages back to ``received`` (when the database allows) and propagates for a retry.
    """
    attempt = inbound_claim(message_id)
    claims = ([(message_id, attempt)] if attempt else []) + _claim_more(batch - 1 if attempt else 0)
    if not claims:
        return {}
    try:
        return _process_claims(claims)
    except OperationalError:
        _release(claims)
        raise


def _release(claims: list[tuple[int, int]]) -> None:
    try:
        for pk, attempt in claims:
            InboundMessage.objects.filter(pk=pk, status=Status.PROCESSING, attempts=attempt).update(
                status=Status.RECEIVED, status_changed_at=timezone.now()
            )
    except OperationalError:
        log.warning("Could not release claimed messages; the sweeper will re-kick them.")


def _process_claims(claims: list[tuple[int, int]]) -> dict[int, str]:
    results: dict[int, str] = {}
    lookups = _Lookups()
    attempts = dict(claims)
    with transaction.atomic():
        # Lock our claimed rows; a row re-claimed by someone else (attempts moved on) is theirs now.
        rows = list(
            InboundMessage.objects.select_for_update()
            .filter(pk__in=attempts.keys(), status=Status.PROCESSING)
            .order_by("id")
        )
        for message in rows:
            if message.attempts != attempts[message.pk]:
                continue
            results[message.pk] = _process_one(message, lookups)
    return results


def inbound_sweep(*, older_than_seconds: int = 60) -> dict:
    """Re-kick messages stuck in received/processing for longer than ``older_than_seconds``.

    ``processing`` rows whose worker died go back to ``received``; rows that used up
    MAX_ATTEMPTS go to the dead letters instead of looping forever.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    now = timezone.now()
    stuck = InboundMessage.objects.filter(status_changed_at__lt=cutoff)
    gave_up = stuck.filter(status=Status.PROCESSING, attempts__gte=MAX_ATTEMPTS).update(
        status=Status.FAILED,
        reason=f"Gave up after {MAX_ATTEMPTS} attempts: processing never finished.",
        status_changed_at=now,
    )
    released = stuck.filter(status=Status.PROCESSING).update(status=Status.RECEIVED, status_changed_at=now)
    waiting = list(
        InboundMessage.objects.filter(status=Status.RECEIVED)
        .filter(Q(status_changed_at__lt=cutoff) | Q(status_changed_at=now))
        .order_by("id")
        .values_list("pk", flat=True)[:10000]
    )
    from . import tasks

    for pk in waiting:
        tasks.process_inbound.delay(pk)
    return {"released": released, "kicked": len(waiting), "gave_up": gave_up}


# ==================================================================== dead letters


@transaction.atomic
def dead_letter_replay(*, message: InboundMessage, actor, raw: str | None = None) -> InboundMessage:
    """Put a failed or rejected message (optionally with corrected raw text) back into processing.

    The corrected raw is validated like a new arrival: still invalid → InvalidInput naming the
    field, nothing changed. The same control id already accepted since → the message becomes a
    duplicate of that one.
    """
    if actor is not None and not permissions.may_replay(actor):
        raise PermissionDenied("Only administrators replay dead letters.")
    message = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.status not in InboundMessage.DEAD:
        raise InvalidInput(
            {"status": f"Only failed or rejected messages are replayed (this one is {message.status})."}
        )
    text = message.raw if raw is None else raw
    sender, control, facility, mtype = (
        message.sender,
        message.control_id,
        message.facility,
        message.message_type,
    )
    try:
        if message.channel in (Channel.HL7_MLLP, Channel.HL7_HTTP):
            text = normalise_hl7(text)
            header, rec = parse_hl7(text)
            sender, control, mtype = header.sender, header.control_id, header.message_type
            facility = Facility.objects.filter(code=header.sender).first()
            if facility is None:
                raise IntakeError("MSH-4", f"Unknown facility code '{header.sender}'.", ack="AR")
        elif message.channel == Channel.FHIR:
            control, rec = parse_fhir(text)
            sender = rec.facility_code
            facility = Facility.objects.filter(code=rec.facility_code).first()
            if facility is None:
                raise IntakeError(
                    "Organization.identifier.value", f"Unknown facility code '{rec.facility_code}'."
                )
            control = control or "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        elif message.channel == Channel.FORM:
            record_from_json(json.loads(text))
        elif message.channel == Channel.CSV:
            good, problems = read_csv(text)
            if not good:
                raise IntakeError(problems[0]["field"] if problems else "csv", "No row could be accepted.")
            message.report = {
                **message.report,
                "skipped_rows": sorted({p["row"] for p in problems}),
                "problems": problems,
                "accepted": len(good),
            }
    except IntakeError as e:
        raise InvalidInput({"raw": f"Still not acceptable: {e}"}) from e
    except ValueError as e:
        raise InvalidInput({"raw": f"Still not acceptable: {e}"}) from e
    other = _existing(message.channel, sender, control)
    if other is not None and other.pk != message.pk:
        message.status, message.reason = Status.DUPLICATE, f"Duplicate of message {other.pk}."
    else:
        message.status, message.reason = Status.RECEIVED, ""
        _queue(message)
    message.raw, message.sender, message.control_id = text, sender, control
    message.facility, message.message_type = facility, mtype
    message.status_changed_at = timezone.now()
    message.save()
    IdentityRead.objects.create(reader=actor, message=message, purpose="dead letter replayed")
    return message


# ==================================================================== identity


def identity_read(*, admission: Admission, actor, purpose: str) -> PatientIdentity | None:
    """The one way to see who a patient is: checks the reader and writes the audit row first."""
    if not permissions.may_read_identity(actor, admission):
        raise PermissionDenied("You may not see who this patient is.")
    IdentityRead.objects.create(reader=actor, admission=admission, purpose=(purpose or "unspecified")[:200])
    return PatientIdentity.objects.filter(admission=admission).first()


def raw_message_read(*, message: InboundMessage, actor, purpose: str) -> str:
    """Raw messages carry identity: an admin's read of one is audited like identity."""
    if not permissions.may_replay(actor):
        raise PermissionDenied("Only administrators read raw messages.")
    IdentityRead.objects.create(reader=actor, message=message, purpose=(purpose or "unspecified")[:200])
    return message.raw


# ==================================================================== referrals


@transaction.atomic
def referral_create(*, admission: Admission, actor) -> Referral:
    """Refer an admission to the station whose precinct holds the place of injury."""
    if actor is not None and not permissions.may_refer(actor, admission):
        raise PermissionDenied("You may not refer this admission.")
    admission = Admission.objects.select_for_update().select_related("suburb__station").get(pk=admission.pk)
    if admission.suburb is None:
        raise InvalidInput(
            {"suburb": "Set the suburb where the injury happened first: it decides the station."}
        )
    if Referral.objects.filter(admission=admission).exists():
        raise InvalidInput({"admission": "This admission has already been referred."})
    referral = Referral.objects.create(
        admission=admission, station=admission.suburb.station, created_by=actor
    )
    from casework.models import TransitionLog

    TransitionLog.objects.create(
        subject=referral,
        transition="refer",
        from_state="",
        to_state=referral.state,
        actor=actor,
        note=f"to {referral.station.code}",
    )
    return referral


def _step(name: str):
    def service(referral: Referral, *, actor, version: int | None, reason: str = "", note: str = "", at=None):
        reason = (reason or "").strip()
        kwargs = {}
        if name == "decline":
            if not reason:
                raise InvalidInput({"reason": "This field is required: why is there no charge?"})
            kwargs["why"] = reason
            if len(reason) > 60:  # the log's reason column is short; the whole text goes in the note
                note = f"{reason}\n{note}".strip()
        with transaction.atomic():
            return apply_transition(
                referral,
                name,
                actor=actor,
                version=version,
                may=permissions.may_transition,
                reason=reason[:60],
                note=note,
                at=at,
                **kwargs,
            )

    service.__name__ = f"referral_{name}"
    service.__doc__ = f"Take '{name}' on a referral. Raises PermissionDenied, StaleVersion, NotAllowed."
    return service


referral_send = _step("send")
referral_acknowledge = _step("acknowledge")
referral_decline = _step("decline")
referral_reopen = _step("reopen")


def referral_open_case(
    referral: Referral, *, actor, version: int | None, police_case: PoliceCase, note: str = "", at=None
) -> Referral:
    """The station opened a docket: link it, and link the admission's incident to the docket."""
    if police_case is None:
        raise InvalidInput({"police_case": "This field is required."})
    if police_case.station_id != referral.station_id:
        raise InvalidInput({"police_case": "The docket must be at the referral's station."})
    with transaction.atomic():
        referral = apply_transition(
            referral,
            "open_case",
            actor=actor,
            version=version,
            may=permissions.may_transition,
            reason="",
            note=note,
            at=at,
            data={"police_case": police_case.pk, "cas_number": police_case.cas_number},
            police_case=police_case,
        )
        if referral.admission.incident_id:
            police_case.incidents.add(referral.admission.incident_id)
        return referral


REFERRAL_TRANSITIONS = {
    "send": referral_send,
    "acknowledge": referral_acknowledge,
    "open_case": referral_open_case,
    "decline": referral_decline,
    "reopen": referral_reopen,
}
