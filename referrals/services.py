"""Every write of the intake: receive (store raw, then answer), process (raw → admission, identity,
incident), replay dead letters, refer to SAPS and move referrals.

Receiving is synchronous and cheap: it decides the answer (ACK code, HTTP status) from what can
be checked without writing the admission, commits the raw message in its own transaction, and
only then returns the answer. Processing runs in ``tasks.process_inbound`` after commit, may be
repeated, and writes everything for one message in one transaction (a savepoint per message
when several are processed together).
"""

import bisect
import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from casework import reactions
from casework import services as cw_services
from casework.bulk import copy_insert
from casework.errors import InvalidInput, PermissionDenied
from casework.models import Facility, GangAssertion, Incident, PoliceCase, Suburb
from casework.services import apply_transition

from . import permissions
from .crypto import EncryptedJSONField, EncryptedTextField, encrypt, pseudonym
from .forms import NO_SUCH_DOCKET
from .kick import Kicker
from .models import (
    CHANNEL_FAMILY,
    IDENTITY_KEYS,
    Admission,
    Channel,
    IdentityRead,
    IdentityVersion,
    InboundMessage,
    PatientIdentity,
    Referral,
    SendingSystem,
    StagedRow,
    age_band,
)
from .parsing import (
    Header,
    IntakeError,
    Record,
    escape_controls,
    escape_json_controls,
    hl7_ack,
    hl7_header,
    hl7_precheck,
    is_assault,
    normalise_hl7,
    parse_fhir,
    parse_hl7,
    paused_gc,
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
KICKER = Kicker(PROCESS_BATCH)
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
    # The sender may not send for the facility (stored as rejected; HTTP answers 403).
    forbidden: bool = False


# ==================================================================== receiving


def _queue(message: InboundMessage) -> None:
    """Kick processing after commit (batched: see kick.py)."""
    transaction.on_commit(lambda pk=message.pk: KICKER.kick(pk))


def _new_message(
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
    sending_system: "permissions.Sender | None" = None,
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        family=CHANNEL_FAMILY[channel],
        sender=sender[:80],
        control_id=control_id,
        raw=raw,
        status=status,
        reason=reason,
        ack=ack,
        facility=facility,
        message_type=message_type[:40],
        received_by=actor if getattr(actor, "is_authenticated", False) else None,
        sending_system_id=sending_system.id if sending_system is not None else None,
        report=report or {},
    )


def _store(**fields) -> InboundMessage:
    """Commit the raw message in its own transaction (queues processing after commit).

    Raises IntegrityError when the same (family, sender, control id) is already stored.
    """
    message = _new_message(**fields)
    if connection.in_atomic_block:
        with transaction.atomic():
            message.save()
    elif connection.vendor == "postgresql":
        _insert_fast([message])  # autocommit: one INSERT, committed when it returns
    else:
        message.save()
    if message.status == Status.RECEIVED:
        _queue(message)  # after commit (at once in autocommit)
    return message


_INSERT_COLUMNS = (
    "channel", "family", "sender", "facility_id", "control_id", "message_type", "raw", "received_at",
    "received_by_id", "status", "status_changed_at", "reason", "attempts", "duplicates_seen", "ack", "report",
    "sending_system_id",
)  # fmt: skip
# The arbiter of ON CONFLICT: the partial unique index of (family, sender, control id), by its predicate.
_ONCE_PER_CONTROL_ID = (
    "ON CONFLICT (family, sender, control_id) "
    "WHERE NOT (control_id = '') AND NOT (status IN ('rejected', 'duplicate')) DO NOTHING"
)


@functools.cache
def _insert_statement(rows: int, skip_duplicates: bool) -> str:
    fields = [InboundMessage._meta.get_field(c) for c in _INSERT_COLUMNS]
    values = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * rows)
    return (
        f"INSERT INTO {InboundMessage._meta.db_table} ({', '.join(f.column for f in fields)}) "
        f"VALUES {values} {_ONCE_PER_CONTROL_ID if skip_duplicates else ''} "
        "RETURNING id, family, sender, control_id, status"
    )


def inbound_insert_statement(messages: list[InboundMessage], *, skip_duplicates: bool) -> tuple[str, list]:
    """The one INSERT that stores these messages, and its values: the rows the ORM would write,
    without its per-field overhead. ``skip_duplicates``: a row whose control id is already stored
    is not written (see ``inbound_inserted``)."""
    raw_field = InboundMessage._meta.get_field("raw")
    raw_at, report_at = _INSERT_COLUMNS.index("raw"), _INSERT_COLUMNS.index("report")
    values = []
    for message in messages:
        row = [getattr(message, c) for c in _INSERT_COLUMNS]
        row[raw_at] = raw_field.get_prep_value(message.raw)
        row[report_at] = json.dumps(message.report)
        values += row
    return _insert_statement(len(messages), skip_duplicates), values


def inbound_inserted(messages: list[InboundMessage], returned: list[tuple], *, skip_duplicates: bool) -> None:
    """Give each written message its pk from the INSERT's RETURNING rows; a skipped duplicate keeps None.

    Rows come back in the order they were written (as Django's bulk_create relies on); a skipped
    duplicate is absent. Key and status tell which message the next returned row is: a rejected
    copy never conflicts, and of two accepted copies of one id only the first can go in.
    """
    rows = iter(returned)
    written = next(rows, None)
    for message in messages:
        if written is not None and tuple(written[1:]) == (
            message.family, message.sender, message.control_id, message.status
        ):  # fmt: skip
            message.pk = written[0]
            message._state.adding = False
            message._state.db = "default"
            written = next(rows, None)
        elif not skip_duplicates:
            raise IntegrityError("An inserted message was not returned.")


def _insert_fast(messages: list[InboundMessage], *, skip_duplicates: bool = False) -> None:
    """Store these messages with one INSERT on Django's connection (PostgreSQL)."""
    sql, values = inbound_insert_statement(messages, skip_duplicates=skip_duplicates)
    connection.ensure_connection()
    # psycopg's own cursor binds the values on the server (Django's ClientCursor quotes each one in
    # Python) and prepares a statement it sees often.
    with psycopg.Cursor(connection.connection) as cur:
        cur.execute(sql, values)
        returned = cur.fetchall()
    inbound_inserted(messages, returned, skip_duplicates=skip_duplicates)


def inbound_load_facilities() -> None:
    """Fill the per-process facility cache (the listener's offline decisions read only it)."""
    for facility in Facility.objects.all():
        _FACILITY_CACHE[facility.code] = facility


def inbound_decide_hl7_offline(
    raw: bytes, *, sender: "permissions.Sender"
) -> tuple[InboundMessage | None, Answer]:
    """The MLLP listener's event loop: what to store and answer, reading nothing (NeedsDatabase).

    ``sender``: the sending system the connection authenticated as (its facilities held in memory).
    """
    row, answer, _header = _decide_hl7(raw, Channel.HL7_MLLP, None, False, offline=True, sender=sender)
    return row, answer


def inbound_kick(message_ids: list[int]) -> None:
    """Processing of messages stored outside Django's connection (the listener's own), after commit."""
    for pk in message_ids:
        KICKER.kick(pk)


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


_FACILITY_CACHE: dict[str, Facility] = {}


def _facility(code: str) -> Facility | None:
    """Facilities by code, cached per process (reference data; a new code is looked up on a miss)."""
    facility = _FACILITY_CACHE.get(code)
    if facility is None:
        facility = Facility.objects.filter(code=code).first()
        if facility is not None:
            _FACILITY_CACHE[code] = facility
    return facility


def _not_your_facility(where: str, sender: "permissions.Sender", code: str) -> IntakeError:
    return IntakeError(
        where, f"Sending system '{sender.name}' may not send for facility '{code}'.", ack="AR", hl7_code="204"
    )


def _sender_of(actor, sender: "permissions.Sender | None") -> "permissions.Sender | None":
    """The sender a message is checked against: the connection's, else the HTTP account's."""
    return sender if sender is not None else permissions.sender_for_user(actor)


def _authorise(actor, facility: Facility, authorise: bool) -> None:
    if authorise and not permissions.may_submit_for(actor, facility):
        raise PermissionDenied(f"You may not submit admissions for {facility.code}.")


def _duplicate_answer(channel: str, sender: str, control_id: str) -> Answer | None:
    """The answer of the first copy of this message id, when one is stored (and count the repeat)."""
    previous = _existing(channel, sender, control_id)
    if previous is None:
        return None
    _seen_again(previous)
    return Answer(_ack_code(previous.ack), "duplicate", previous, previous.ack, duplicate=True)


class NeedsDatabase(Exception):
    """Deciding this message needs a database read (``offline``): take the synchronous path."""


def _decide_hl7(
    raw: str | bytes,
    channel: str,
    actor,
    authorise: bool,
    *,
    offline: bool = False,
    sender: "permissions.Sender | None" = None,
) -> tuple[InboundMessage | None, Answer, Header]:
    """What to store (None: nothing) and what to answer for one HL7 message; nothing is written here,
    except that a rejected copy of a message id accepted before is answered (and counted) as that
    duplicate. ``offline`` (the listener's event loop): read nothing, raise NeedsDatabase instead —
    the common message (known facility, an assault code, valid) never needs to. ``sender``: the
    registered sending system; MSH-4 must be one of its facilities, else AR (stored as rejected)."""
    text, control = escape_controls(normalise_hl7(raw))  # a NUL is refused below, its raw kept escaped
    try:
        header = hl7_header(text)
    except IntakeError as e:
        ack = hl7_ack(Header(), e.ack, str(e), error=e)
        row = _new_message(
            channel=channel, sender="", control_id="", raw=text, status=Status.REJECTED, reason=str(e),
            ack=ack, actor=actor, sending_system=sender,
        )  # fmt: skip
        return row, Answer(e.ack, str(e), row, ack, error=e), Header()

    def reject(
        e: IntakeError, facility=None, forbidden=False
    ) -> tuple[InboundMessage | None, Answer, Header]:
        if offline:
            raise NeedsDatabase
        # The same message id accepted before gets the same answer, whatever this copy holds; not
        # for a sender outside its facilities, who learns nothing about another's messages.
        again = None if forbidden else _duplicate_answer(channel, header.sender, header.control_id)
        if again is not None:
            return None, again, header
        ack = hl7_ack(header, e.ack, str(e), error=e)
        row = _new_message(
            channel=channel, sender=header.sender, control_id=header.control_id, raw=text,
            status=Status.REJECTED, reason=str(e), ack=ack, facility=facility,
            message_type=header.message_type, actor=actor, sending_system=sender,
        )  # fmt: skip
        return row, Answer(e.ack, str(e), row, ack, error=e, forbidden=forbidden), header

    if control is not None:
        return reject(control)
    try:
        header, probe = hl7_precheck(text)
    except IntakeError as e:
        return reject(e)
    facility = _FACILITY_CACHE.get(header.sender) if offline else _facility(header.sender)
    if facility is None:
        return reject(
            IntakeError("MSH-4", f"Unknown facility code '{header.sender}'.", ack="AR", hl7_code="204")
        )
    if sender is not None and not sender.may_send_for(facility.code):
        return reject(_not_your_facility("MSH-4", sender, facility.code), facility, forbidden=True)
    _authorise(actor, facility, authorise)
    if not _has_assault_code(probe) and offline:
        raise NeedsDatabase  # filtered, or an update of a visit known by its assault code: look it up
    if not _has_assault_code(probe) and not _is_update_of_known_visit(probe, facility):
        status, reason, raw_kept = Status.FILTERED, "No assault code (X85–Y09): not recorded.", ""
        text_answer = "Accepted: no assault code, not recorded."
    else:
        status, reason, raw_kept, text_answer = Status.RECEIVED, "", text, "Accepted."
    ack = hl7_ack(header, "AA", text_answer)
    row = _new_message(
        channel=channel, sender=header.sender, control_id=header.control_id, raw=raw_kept, status=status,
        reason=reason, ack=ack, facility=facility, message_type=header.message_type, actor=actor,
        sending_system=sender,
    )  # fmt: skip
    return row, Answer("AA", text_answer, row, ack), header


def inbound_receive_hl7(
    *,
    raw: str | bytes,
    channel: str = Channel.HL7_MLLP,
    actor=None,
    authorise: bool = False,
    sender: "permissions.Sender | None" = None,
) -> Answer:
    """Store an HL7 v2 message, then answer with its ACK (``Answer.body``).

    AA: stored for processing, a duplicate (same answer as the first time), or filtered (no
    assault code; only metadata kept). AE/AR with an ERR naming the field: stored as rejected,
    raw kept. ``sender`` (the MLLP connection's sending system; over HTTP, the actor's): MSH-4
    outside its facilities is AR, stored as rejected (``Answer.forbidden``). ``authorise`` (HTTP)
    raises PermissionDenied before anything is stored when an actor who is not a sending system
    may not submit for the facility.
    """
    return inbound_receive_hl7_batch([raw], channel=channel, actor=actor, authorise=authorise, sender=sender)[
        0
    ]


def inbound_receive_hl7_batch(
    raws: list[str | bytes],
    *,
    channel: str = Channel.HL7_MLLP,
    actor=None,
    authorise: bool = False,
    sender: "permissions.Sender | None" = None,
) -> list[Answer]:
    """Store many HL7 v2 messages with one INSERT, then answer each (in order) as
    ``inbound_receive_hl7`` would: the MLLP listener's group commit. The answers exist only after the
    insert has committed, so an ACK still means "stored"; the batch costs one commit, not one per
    message."""
    answers: list[Answer] = []
    headers: list[Header] = []
    rows: list[InboundMessage] = []
    if authorise:
        sender = _sender_of(actor, sender)
    for raw in raws:
        # A sending system is checked against its facilities (the rejection is stored); anyone else
        # against their grants (refused before anything is stored).
        row, answer, header = _decide_hl7(raw, channel, actor, authorise and sender is None, sender=sender)
        answers.append(answer)
        headers.append(header)
        if row is not None:
            rows.append(row)
    if rows and connection.vendor == "postgresql":
        # One statement, atomic by itself and (outside a transaction) its own commit: one round trip
        # per batch. The unique index is the duplicate check (duplicates are rare).
        _insert_fast(rows, skip_duplicates=True)
    elif rows:
        with transaction.atomic():
            for row in rows:
                try:
                    with transaction.atomic():
                        row.save()
                except IntegrityError:
                    row.pk = None
    busy = IntakeError("MSH-10", "Receiver busy: resend later.", ack="AR", hl7_code="207")
    for i, answer in enumerate(answers):
        row = answer.message
        if row is None or answer.duplicate or row.pk is not None:
            continue
        # Stored before (or a moment ago on another connection, or earlier in this batch).
        again = _duplicate_answer(channel, row.sender, row.control_id)
        if again is None:  # cannot happen unless the row vanished in between: ask for a resend
            ack = hl7_ack(headers[i], "AR", str(busy), error=busy)
            again = Answer("AR", str(busy), None, ack, error=busy)
        answers[i] = again
    for row in rows:
        if row.pk is not None and row.status == Status.RECEIVED:
            _queue(row)  # after commit (at once outside a transaction)
    return answers


# What the MLLP listener answers when it cannot take a message at all (docs/intake.md, "ACK"): AR with
# 207 is the only transient answer (resend later); every other AE/AR is a refusal to fix first.
RESEND_LATER = IntakeError("", "Receiver error: resend later.", ack="AR", hl7_code="207")
TOO_LARGE = IntakeError(
    "", "Message too large: refused, not stored; send it shorter.", ack="AR", hl7_code="102"
)
BROKEN_FRAME = IntakeError(
    "", "The frame had no end block (0x1C 0x0D) before the next start block: resend it.", hl7_code="100"
)


def inbound_refusal_ack(raw: str | bytes, error: IntakeError) -> str:
    """The ACK refusing ``raw`` with ``error``: MSA-2 echoes its MSH-10 when its header can be read
    (from its first 4 KB: a too-large or cut frame is refused without reading the rest)."""
    try:
        header = hl7_header(normalise_hl7(raw[:4096]).replace("\x00", ""))
    except IntakeError:
        header = Header()
    return hl7_ack(header, error.ack, str(error), error=error)


def inbound_refuse_hl7(
    raw: str | bytes,
    error: IntakeError,
    *,
    channel: str = Channel.HL7_MLLP,
    sender: "permissions.Sender | None" = None,
) -> Answer:
    """Store a message refused before it could be decided (the listener: a frame cut short by the next
    start block) as rejected, raw kept like every refusal, and answer ``error`` (MSA-2 echoed)."""
    text = normalise_hl7(raw)
    ack = inbound_refusal_ack(text, error)
    try:
        header = hl7_header(text.replace("\x00", ""))
    except IntakeError:
        header = Header()
    row = _new_message(
        channel=channel, sender=header.sender, control_id=header.control_id, raw=text,
        status=Status.REJECTED, reason=str(error), ack=ack, message_type=header.message_type,
        sending_system=sender,
    )  # fmt: skip
    row.save()
    return Answer(error.ack, str(error), row, ack, error=error)


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


def inbound_receive_fhir(
    *, body: str | bytes, actor=None, authorise: bool = True, sender: "permissions.Sender | None" = None
) -> Answer:
    """Store a FHIR R4 Bundle, then answer with an OperationOutcome (``Answer.body``, JSON).

    Errors name the element (``Encounter.period.start``). The bundle's identifier (or id) is
    its control id: the same bundle from the same facility is stored once. A sending system
    (``sender``, else the actor's) sending for a facility not its own: stored as rejected,
    ``Answer.forbidden`` (HTTP 403).
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = escape_json_controls(text)  # a raw NUL kept as \u0000; parse_fhir refuses it, naming the element
    sender = _sender_of(actor, sender) if authorise else sender

    def reject(e: IntakeError, sender_code="", control="", facility=None, forbidden=False) -> Answer:
        kind = "forbidden" if forbidden else "invalid"
        out = json.dumps(operation_outcome("error", kind, e.problem, e.where) | {"code": e.ack})
        msg = _store(
            channel=Channel.FHIR,
            sender=sender_code,
            control_id=control,
            raw=text,
            status=Status.REJECTED,
            reason=str(e),
            ack=out,
            facility=facility,
            actor=actor,
            sending_system=sender,
        )
        return Answer(e.ack, str(e), msg, out, error=e, forbidden=forbidden)

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
            sender_code=rec.facility_code,
        )
    if sender is not None and not sender.may_send_for(facility.code):
        return reject(
            _not_your_facility("Encounter.serviceProvider", sender, facility.code),
            sender_code=rec.facility_code,
            facility=facility,
            forbidden=True,
        )
    _authorise(actor, facility, authorise and sender is None)
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
            sending_system=sender,
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
        # The file and its validated rows commit together: processing finds both or neither.
        with transaction.atomic():
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
                sending_system=permissions.sender_for_user(actor),
            )
            if kept and connection.vendor == "postgresql":
                _stage_rows(msg, kept, facilities)
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
        self.senders: dict[int, permissions.Sender | None] = {}

    def check_sender(self, message: InboundMessage, records: list[Record]) -> None:
        """A message from a sending system writes only for its facilities, as they are now (the
        registry may have changed since it was received, or a dead letter was corrected)."""
        if message.sending_system_id is None:
            return
        if message.sending_system_id not in self.senders:
            system = SendingSystem.objects.filter(pk=message.sending_system_id, active=True).first()
            self.senders[message.sending_system_id] = permissions.sender_of(system) if system else None
        sender = self.senders[message.sending_system_id]
        if sender is None:
            raise IntakeError("sender", "The sending system is not registered as active.", ack="AR")
        for rec in records:
            if not sender.may_send_for(rec.facility_code):
                raise _not_your_facility("facility", sender, rec.facility_code)

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


def _gang_basis(facility_code: str, visit_number: str) -> str:
    return f"EC admission {facility_code}/{visit_number}: gang-related suspected"


def _assert_gang_from_ec(admission: Admission) -> None:
    _assert_gang_on(admission.incident, _gang_basis(admission.facility.code, admission.visit_number))


def _assert_gang_on(incident: Incident, basis: str) -> None:
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


def _fill(
    admission: Admission, rec: Record, message: InboundMessage, lookups: _Lookups, *, created: bool
) -> None:
    """Copy what the record carries onto the admission (an update keeps what the record leaves out)."""
    admission.arrival_at = rec.arrival_at
    admission.event = rec.event[:8]
    admission.message = message
    admission.source_row = rec.row
    if _has_assault_code(rec):
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


def _identity_of(rec: Record) -> dict:
    return {
        "name": rec.name,
        "identifiers": rec.identifiers,
        "date_of_birth": rec.date_of_birth.isoformat() if rec.date_of_birth else "",
        "contact": rec.contact,
    }


def _identity_update(admission: Admission, changes: dict, message: InboundMessage) -> None:
    """An update's identity (the fields it sends; the rest kept). When it changes who the patient is,
    the identity as it was is kept as an ``IdentityVersion`` (by whom, when, which message): an A08
    never silently overwrites it."""
    current = PatientIdentity.objects.select_for_update().filter(admission=admission).first()
    if current is None:
        PatientIdentity.objects.create(admission=admission, **changes)
        return
    before = {k: getattr(current, k) for k in IDENTITY_KEYS}
    after = {**before, **changes}
    if after == before:
        return
    IdentityVersion.objects.create(
        admission=admission,
        details=before,
        replaced_by_message=message,
        replaced_by_sender_id=message.sending_system_id,
        replaced_by_user_id=message.received_by_id,
    )
    for key, value in changes.items():
        setattr(current, key, value)
    current.save()


def _apply_record(rec: Record, message: InboundMessage, lookups: _Lookups) -> Admission | None:
    """Write (or update) one admission, its identity and its incident. None: filtered (no assault code)."""
    facility = lookups.facility(rec.facility_code)
    admission = (
        Admission.objects.select_for_update().filter(facility=facility, visit_number=rec.visit_number).first()
    )
    if admission is None and not _has_assault_code(rec):
        return None
    created = admission is None
    if created:
        admission = Admission(facility=facility, visit_number=rec.visit_number)
    before = (admission.suburb_id, admission.mechanism, admission.injury_at, admission.arrival_at)
    _fill(admission, rec, message, lookups, created=created)
    after = (admission.suburb_id, admission.mechanism, admission.injury_at, admission.arrival_at)
    if admission.incident_id is None or (before != after and not created):
        incident = _join_or_create_incident(admission, rec)
        if incident is not None:
            admission.incident = incident
    admission.save()
    if admission.gang_suspected and admission.incident_id:
        _assert_gang_from_ec(admission)
    identity = _identity_of(rec)
    if created:
        PatientIdentity.objects.create(admission=admission, **identity)
    else:
        _identity_update(admission, {k: v for k, v in identity.items() if v}, message)
    moved = before[3] if not created and before[3] != admission.arrival_at else None
    reactions.emit("admission_recorded", admission=admission, previous_arrival_at=moved)
    return admission


def _lock_incident_keys(keys) -> None:
    """The advisory locks of many (suburb, mechanism) keys at once, in one order (no deadlock)."""
    if connection.vendor != "postgresql" or not keys:
        return
    ids = sorted(
        int.from_bytes(hashlib.sha256(f"incident:{s}:{m}".encode()).digest()[:8], "big", signed=True)
        for s, m in keys
    )
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k", [ids])


class _IncidentIndex:
    """The joining rule over many admissions at once (the batch path, the staged CSV path).

    Per (suburb, mechanism), the incidents of the batch's time range sorted by time: those that
    exist (held by id), then the ones the batch makes (held as unsaved ``Incident``s until
    ``create_new``). Under the keys' advisory locks, so two workers do not make two of one.
    Admissions must be joined in time order, as ``_join_or_create_incident`` would one by one.
    """

    def __init__(self, keys: set[tuple[int, str]], times: list):
        self.index: dict[tuple, tuple[list, list]] = {}
        self.new: list[Incident] = []
        self.now = timezone.now()
        if not keys:
            return
        _lock_incident_keys(keys)
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


def _apply_new(
    pairs: list[tuple[InboundMessage, Record]], lookups: _Lookups
) -> dict[int, tuple[int, Admission]]:
    """The fast path for visits not seen before: the same rules as ``_apply_record``, in bulk.

    Incidents are joined by the same rule (an in-memory index over the window's incidents,
    plus the ones this batch creates), new ones made by casework's ``incident_create_many``;
    admissions and identities inserted in batches. Returns {message id: (admissions, last)}.
    """
    items = []
    for message, rec in pairs:
        a = Admission(facility=lookups.facility(rec.facility_code), visit_number=rec.visit_number)
        _fill(a, rec, message, lookups, created=True)
        items.append((message, rec, a))
    placed = [(a.injury_at or a.arrival_at, a) for _m, _r, a in items if a.suburb_id and a.mechanism]
    index = _IncidentIndex({(a.suburb_id, a.mechanism) for _t, a in placed}, [t for t, _a in placed])
    joined_gang = []
    for t, a in sorted(placed, key=lambda x: x[0]):
        ref = index.join(
            (a.suburb_id, a.mechanism), t, place_type=a.place_type, fatal=a.disposition == "died"
        )
        if a.gang_suspected:
            if isinstance(ref, Incident):
                ref.gang_related = True
            joined_gang.append(a)
        a._incident = ref
    index.create_new()
    for _t, a in placed:
        if isinstance(a._incident, Incident):
            a.incident = a._incident
        else:
            a.incident_id = a._incident
    _insert_many(Admission, [a for _m, _r, a in items])
    _insert_many(PatientIdentity, [PatientIdentity(admission=a, **_identity_of(r)) for _m, r, a in items])
    new_ids = {inc.pk for inc in index.new}
    assertions = []
    for a in joined_gang:
        basis = _gang_basis(a.facility.code, a.visit_number)
        if a.incident_id in new_ids:
            assertions.append(
                GangAssertion(
                    incident_id=a.incident_id,
                    gang_related=True,
                    basis=basis,
                    source=GangAssertion.Source.EC_CLINICIAN,
                )
            )
        else:
            _assert_gang_from_ec(a)
    GangAssertion.objects.bulk_create(assertions)
    out: dict[int, tuple[int, Admission]] = {}
    for message, _r, a in items:
        count, _last = out.get(message.pk, (0, None))
        out[message.pk] = (count + 1, a)
    # One event for the batch: reporting only needs the days whose rollups changed.
    reactions.emit("admission_recorded", arrivals=[a.arrival_at for _m, _r, a in items])
    return out


def _insert_many(model, objs: list) -> None:
    """Insert validated rows: PostgreSQL COPY (encrypted fields encrypted on the way), else bulk_create."""
    if connection.vendor == "postgresql":
        copy_insert(model, objs, prepared=(EncryptedTextField, EncryptedJSONField))
    elif objs:
        model.objects.bulk_create(objs, batch_size=1000)


# ---------------------------------------------------------- CSV files staged at upload (PostgreSQL)

_STAGED_COLUMNS = (
    "message_id", "row", "repeat", "facility_id", "visit_number", "arrival_at", "injury_at", "age_years",
    "age_band", "sex", "role", "mechanism", "icd10_codes", "triage", "place_type", "suburb_text",
    "suburb_id", "latitude", "longitude", "disposition", "police_informed", "gang_suspected", "pseudonym",
    "details",
)  # fmt: skip


def _suburb_index() -> dict[str, int]:
    """Suburb id by lower-cased code and name: what ``_Lookups.suburb`` answers, for a whole file."""
    index: dict[str, int] = {}
    for pk, code, name in Suburb.objects.order_by(*(Suburb._meta.ordering or ["pk"])).values_list(
        "pk", "code", "name"
    ):
        index.setdefault(code.lower(), pk)  # the first suburb in order wins, like .first()
        index.setdefault(name.lower(), pk)
    return index


def _stage_rows(message: InboundMessage, records: list[Record], facilities: dict[str, Facility]) -> None:
    """COPY a file's validated rows into StagedRow, in the upload's transaction.

    Everything the admission needs is computed here, once: mechanism, age band, suburb,
    pseudonym and the identity token (one Fernet encryption per row). psycopg sends the rows
    while Python prepares the next ones, so PostgreSQL works on the other core meanwhile.
    """
    suburbs = _suburb_index()
    seen: set[tuple[int, str]] = set()
    table = connection.ops.quote_name(StagedRow._meta.db_table)
    with (
        paused_gc(),
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY {table} ({', '.join(_STAGED_COLUMNS)}) FROM STDIN") as copy,
    ):
        for rec in records:
            facility_id = facilities[rec.facility_code].pk
            key = (facility_id, rec.visit_number)
            repeat = key in seen
            seen.add(key)
            copy.write_row(
                (
                    message.pk,
                    rec.row,
                    repeat,
                    facility_id,
                    rec.visit_number,
                    rec.arrival_at,
                    rec.injury_at,
                    rec.age_years,
                    age_band(rec.age_years),
                    rec.sex,
                    rec.role,
                    rec.mechanism,
                    json.dumps(rec.icd10_codes),
                    rec.triage,
                    rec.place_type,
                    rec.suburb_text[:120],
                    suburbs.get(rec.suburb_text.lower()) if rec.suburb_text else None,
                    rec.latitude,
                    rec.longitude,
                    rec.disposition,
                    rec.police_informed,
                    rec.gang_suspected,
                    _pseudonym_of(rec),
                    encrypt(json.dumps(_identity_of(rec), sort_keys=True)),
                )
            )


def _has_staged_rows(message: InboundMessage) -> bool:
    return (
        message.channel == Channel.CSV
        and connection.vendor == "postgresql"
        and StagedRow.objects.filter(message=message).exists()
    )


def _join_staged_incidents(cur, message: InboundMessage) -> None:
    """The joining rule over a staged file's new visits; leaves temp table staged_incident(staged, incident).

    The same rule and order as ``_apply_new``: per (suburb, mechanism), in time order, an
    admission joins the nearest incident within the window (one that exists, or one this file
    made earlier), else a new incident is made at its injury time through casework.
    """
    cur.execute(
        f"""SELECT id, suburb_id, mechanism, COALESCE(injury_at, arrival_at), place_type,
                   disposition = 'died', gang_suspected IS TRUE,
                   CASE WHEN gang_suspected THEN facility_id END,
                   CASE WHEN gang_suspected THEN visit_number END
            FROM {StagedRow._meta.db_table}
            WHERE message_id = %s AND NOT repeat AND suburb_id IS NOT NULL AND mechanism <> ''
            ORDER BY suburb_id, mechanism, 4, row""",
        [message.pk],
    )
    rows = cur.fetchall()
    # Dropped at commit; another file in the same transaction finds it and empties it.
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS staged_incident (staged bigint, incident bigint) ON COMMIT DROP"
    )
    cur.execute("TRUNCATE staged_incident")
    if not rows:
        return
    index = _IncidentIndex({(r[1], r[2]) for r in rows}, [r[3] for r in rows])
    chosen = []  # per row: an existing incident id, or the new Incident object
    gang_rows = []
    for _pk, suburb_id, mechanism, t, place_type, died, gang, facility_id, visit in rows:
        ref = index.join((suburb_id, mechanism), t, place_type=place_type, fatal=died)
        chosen.append(ref)
        if gang:
            if not isinstance(ref, int):
                ref.gang_related = True
            gang_rows.append((ref, facility_id, visit))
    index.create_new()
    with cur.cursor.copy("COPY staged_incident (staged, incident) FROM STDIN") as copy:
        for row, ref in zip(rows, chosen, strict=True):
            copy.write_row((row[0], ref if isinstance(ref, int) else ref.pk))
    codes = dict(Facility.objects.filter(pk__in={f for _r, f, _v in gang_rows}).values_list("pk", "code"))
    assertions = []
    for ref, facility_id, visit in gang_rows:
        basis = _gang_basis(codes[facility_id], visit)
        if isinstance(ref, int):  # an incident that existed: asserted through casework, once per admission
            _assert_gang_on(Incident.objects.get(pk=ref), basis)
        else:
            assertions.append(
                GangAssertion(
                    incident=ref, gang_related=True, basis=basis, source=GangAssertion.Source.EC_CLINICIAN
                )
            )
    GangAssertion.objects.bulk_create(assertions)


def _record_of_staged(row: StagedRow, facility_code: str) -> Record:
    """A staged row back to the Record it was made from (for the one-by-one update path)."""
    identity = row.details
    return Record(
        facility_code=facility_code,
        visit_number=row.visit_number,
        arrival_at=row.arrival_at,
        event="CSV",
        injury_at=row.injury_at,
        date_of_birth=date.fromisoformat(identity["date_of_birth"]) if identity["date_of_birth"] else None,
        age_years=row.age_years,
        sex=row.sex,
        role=row.role,
        icd10_codes=row.icd10_codes,
        triage=row.triage,
        place_type=row.place_type,
        suburb_text=row.suburb_text,
        latitude=None if row.latitude is None else float(row.latitude),
        longitude=None if row.longitude is None else float(row.longitude),
        disposition=row.disposition,
        police_informed=row.police_informed,
        gang_suspected=row.gang_suspected,
        name=identity["name"],
        identifiers=identity["identifiers"],
        contact=identity["contact"],
        row=row.row,
    )


def _apply_staged(message: InboundMessage, lookups: _Lookups) -> tuple[int, Admission | None]:
    """Process a CSV file from its rows staged at upload: (admissions written, the last one).

    New visits go in set-based (one INSERT … SELECT for admissions and identities, incidents
    joined by ``_join_staged_incidents``); rows that update a known visit, or repeat a visit of
    an earlier row, go through ``_apply_record`` one by one afterwards, as in every channel.
    """
    staged, admissions = StagedRow._meta.db_table, Admission._meta.db_table
    now = timezone.now()
    args = {"message": message.pk, "now": now}
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {staged} s SET repeat = true FROM {admissions} a
                WHERE s.message_id = %(message)s AND NOT s.repeat
                  AND a.facility_id = s.facility_id AND a.visit_number = s.visit_number""",
            args,
        )
        with paused_gc():  # a million rows and incidents in memory: see paused_gc
            _join_staged_incidents(cur, message)
        cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [admissions])
        args["sequence"] = cur.fetchone()[0]
        # Ids drawn in the read of the staged rows, so admissions and identities are both written
        # from one pass over them (a join back on the visit spilled a million rows to disk). The
        # hash of the incident choices (16 bytes a row) fits in memory with a larger work_mem.
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute(
            f"""WITH src AS MATERIALIZED (
                    SELECT nextval(%(sequence)s::regclass) AS admission_id, s.*, i.incident
                    FROM {staged} s LEFT JOIN staged_incident i ON i.staged = s.id
                    WHERE s.message_id = %(message)s AND NOT s.repeat),
                new AS (
                    INSERT INTO {admissions} (
                        id, facility_id, visit_number, arrival_at, injury_at, age_years, age_band, sex, role,
                        mechanism, icd10_codes, triage, place_type, suburb_text, suburb_id, latitude,
                        longitude, disposition, police_informed, gang_suspected, pseudonym, incident_id,
                        message_id, source_row, event, created_at, updated_at)
                    SELECT admission_id, facility_id, visit_number, arrival_at, injury_at, age_years,
                           age_band, sex, COALESCE(NULLIF(role, ''), 'victim'), mechanism, icd10_codes,
                           triage, place_type, suburb_text, suburb_id, latitude, longitude, disposition,
                           police_informed, gang_suspected, pseudonym, incident, message_id, row,
                           'CSV', %(now)s, %(now)s
                    FROM src)
                INSERT INTO {PatientIdentity._meta.db_table}
                    (admission_id, details, updated_at)
                SELECT admission_id, details, %(now)s FROM src""",
            args,
        )
        count = cur.rowcount
        # One event for the file: one arrival per day is all reporting needs to refresh the days.
        cur.execute(
            f"""SELECT min(arrival_at) FROM {staged} WHERE message_id = %(message)s AND NOT repeat
                GROUP BY (arrival_at AT TIME ZONE %(zone)s)::date""",
            args | {"zone": settings.TIME_ZONE},
        )
        reactions.emit("admission_recorded", arrivals=[t for (t,) in cur.fetchall()])
    last = Admission.objects.filter(message=message).order_by("-source_row").first() if count else None
    updates = StagedRow.objects.filter(message=message, repeat=True).order_by("row")
    codes = dict(Facility.objects.values_list("pk", "code"))
    for row in updates.iterator():
        admission = _apply_record(_record_of_staged(row, codes[row.facility_id]), message, lookups)
        if admission is not None:
            count, last = count + 1, admission
    StagedRow.objects.filter(message=message).delete()
    return count, last


def _fail_reason(e: Exception) -> str:
    if isinstance(e, IntakeError):
        return str(e)[:2000]
    log.exception("Processing an inbound message failed")
    # The exception's text may quote a value of the message (a database error echoes the row): the
    # dead letter names the kind of failure only; the details are in the server log.
    return f"{type(e).__name__}: processing failed (details in the server log)."


def _process_claims(claims: list[tuple[int, int]]) -> dict[int, str]:
    """Process claimed messages in one transaction: brand-new visits in bulk, the rest one by one.

    A message that cannot be parsed or applied is failed with its reason (its own savepoint);
    if the bulk step fails for a reason other than the database, every message falls back to
    the one-by-one path, so one bad row never costs the others.
    """
    results: dict[int, str] = {}
    lookups = _Lookups()
    attempts = dict(claims)
    finished: list[InboundMessage] = []
    now = timezone.now()

    def finish(message, status, reason="", admission=None):
        message.status, message.reason, message.status_changed_at, message.processed_at = (
            status,
            reason,
            now,
            now,
        )
        if admission is not None:
            message.admission = admission
        results[message.pk] = status
        if status == Status.FILTERED:
            _finish(message, status=status, reason=reason)
        else:
            finished.append(message)

    with transaction.atomic():
        # Lock our claimed rows; a row re-claimed by someone else (attempts moved on) is theirs now.
        locked = InboundMessage.objects.select_for_update().filter(pk__in=attempts, status=Status.PROCESSING)
        # A CSV file's raw text (it can be large) is read again only when its staged rows are missing.
        rows = sorted(
            [*locked.exclude(channel=Channel.CSV), *locked.filter(channel=Channel.CSV).defer("raw")],
            key=lambda m: m.pk,
        )
        rows = [m for m in rows if m.attempts == attempts[m.pk]]
        parsed: list[tuple[InboundMessage, list[Record]]] = []
        staged: set[int] = set()  # CSV files validated at upload: processed from their staged rows
        for message in rows:
            if _has_staged_rows(message):
                staged.add(message.pk)
                parsed.append((message, []))
                continue
            try:
                records = _records_of(message)
                for rec in records:
                    lookups.facility(rec.facility_code)
                lookups.check_sender(message, records)
                parsed.append((message, records))
            except OperationalError:
                raise
            except Exception as e:
                finish(message, Status.FAILED, _fail_reason(e))
        # Which records are brand-new visits (bulk) and which update a known one (one by one).
        keys = {(lookups.facility(r.facility_code).pk, r.visit_number) for _m, recs in parsed for r in recs}
        known = _known_visits(keys)
        fresh, seen = [], set()
        rest: dict[int, list[Record]] = {}
        for message, records in parsed:
            for rec in records:
                key = (lookups.facility(rec.facility_code).pk, rec.visit_number)
                if key in known or key in seen or not _has_assault_code(rec):
                    rest.setdefault(message.pk, []).append(rec)
                else:
                    seen.add(key)
                    fresh.append((message, rec))
        done: dict[int, tuple[int, Admission]] = {}
        if fresh:
            try:
                with transaction.atomic():
                    done = _apply_new(fresh, lookups)
            except OperationalError:
                raise
            except Exception:
                log.exception("Bulk intake step failed; falling back to one message at a time")
                rest = {m.pk: recs for m, recs in parsed}
        for message, _records in parsed:
            count, last = done.get(message.pk, (0, None))
            try:
                # Its own savepoint, when it has anything left to write (a savepoint is a round trip).
                if message.pk in staged or rest.get(message.pk):
                    with transaction.atomic():
                        if message.pk in staged:
                            count, last = _apply_staged(message, lookups)
                        for rec in rest.get(message.pk, []):
                            a = _apply_record(rec, message, lookups)
                            if a is not None:
                                count, last = count + 1, a
            except OperationalError:
                raise
            except Exception as e:
                if message.pk in done:  # its bulk part is written; the message cannot be half-done
                    raise
                if message.pk in staged:  # a replay validates the (maybe corrected) raw file again
                    StagedRow.objects.filter(message=message).delete()
                finish(message, Status.FAILED, _fail_reason(e))
                continue
            if count == 0:
                finish(message, Status.FILTERED, "No assault code (X85–Y09): not recorded.")
                continue
            if message.channel == Channel.CSV:
                message.report = {**message.report, "stored": count}
                InboundMessage.objects.filter(pk=message.pk).update(report=message.report)
            finish(message, Status.PROCESSED, admission=last)
        _save_finished(finished)
    return results


def _save_finished(finished: list[InboundMessage]) -> None:
    """Write the outcome of many messages in one statement (PostgreSQL), else bulk_update."""
    if not finished:
        return
    if connection.vendor != "postgresql":
        fields = ["status", "reason", "status_changed_at", "processed_at", "admission"]
        InboundMessage.objects.bulk_update(finished, fields, batch_size=500)
        return
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {InboundMessage._meta.db_table} AS m
                SET status = v.status, reason = v.reason, admission_id = v.admission,
                    status_changed_at = %s, processed_at = %s
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[])
                     AS v(id, status, reason, admission)
                WHERE m.id = v.id""",
            [
                finished[0].status_changed_at,
                finished[0].processed_at,
                [m.pk for m in finished],
                [m.status for m in finished],
                [m.reason for m in finished],
                [m.admission_id for m in finished],
            ],
        )


def _known_visits(keys: set[tuple[int, str]]) -> set[tuple[int, str]]:
    by_facility: dict[int, list[str]] = {}
    for fac, visit in keys:
        by_facility.setdefault(fac, []).append(visit)
    known = set()
    for fac, visits in by_facility.items():
        for i in range(0, len(visits), 5000):
            known |= set(
                Admission.objects.filter(facility_id=fac, visit_number__in=visits[i : i + 5000]).values_list(
                    "facility_id", "visit_number"
                )
            )
    return known


def _claim_more(limit: int) -> list[tuple[int, int]]:
    """Claim up to ``limit`` other waiting single messages.

    PostgreSQL skips rows another worker holds (SKIP LOCKED); SQLite has one writer at a time,
    so a plain UPDATE … RETURNING is already exclusive there.
    """
    if limit <= 0:
        return []
    table = InboundMessage._meta.db_table
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {table} SET status = 'processing', attempts = attempts + 1, status_changed_at = %s
                WHERE id IN (SELECT id FROM {table} WHERE status = 'received' AND channel <> 'csv'
                             ORDER BY id LIMIT %s {skip_locked})
                RETURNING id, attempts""",
            [timezone.now(), limit],
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
    """Claim the message (and, on PostgreSQL, other waiting ones up to ``batch``) and process them.

    Idempotent: a message not in ``received`` is left alone; a message whose claim was taken
    over (the sweeper re-kicked it) is skipped by the older claimant. OperationalError puts the
    claimed messages back to ``received`` (when the database allows) and propagates for a retry.
    """
    attempt = inbound_claim(message_id)
    # Whatever id it names, a task is a kick: it also takes other waiting messages.
    claims = ([(message_id, attempt)] if attempt else []) + _claim_more(batch - 1 if attempt else batch)
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

    # A task takes a batch of waiting messages on PostgreSQL: one kick per batch is enough.
    step = PROCESS_BATCH if connection.vendor == "postgresql" else 1
    for pk in waiting[::step]:
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
            StagedRow.objects.filter(message=message).delete()  # the raw is the truth: validate it again
            good, problems = read_csv(text)
            if not good:
                raise IntakeError(problems[0]["field"] if problems else "csv", "No row could be accepted.")
            message.report = {
                **message.report,
                "skipped_rows": sorted({p["row"] for p in problems}),
                "problems": problems,
                "accepted": len(good),
            }
        if message.channel in (Channel.HL7_MLLP, Channel.HL7_HTTP, Channel.FHIR):
            _Lookups().check_sender(message, [rec])  # a correction cannot move it to another's facility
    except IntakeError as e:
        raise InvalidInput({"raw": f"Still not acceptable: {e}"}) from e
    except ValueError as e:
        why = f"Still not acceptable: the text cannot be read ({type(e).__name__})."
        raise InvalidInput({"raw": why}) from e
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


# ==================================================================== sending systems


@transaction.atomic
def sending_system_register(
    *,
    name: str,
    facilities,
    account=None,
    certificate_sha256: str = "",
    certificate_subject: str = "",
    active: bool = True,
    note: str = "",
) -> SendingSystem:
    """Register a sending system: its account (made when none is given: no password, group
    ``integration``; it authenticates over HTTP with an API token), its certificate and facilities."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils.text import slugify

    if account is None:
        account = get_user_model().objects.create_user(username=f"sender-{slugify(name)}"[:150])
        account.set_unusable_password()
        account.save()
    account.groups.add(Group.objects.get_or_create(name=permissions.INTEGRATION)[0])
    system = SendingSystem(
        name=name,
        account=account,
        certificate_sha256=certificate_sha256,
        certificate_subject=certificate_subject,
        active=active,
        note=note,
    )
    system.full_clean()
    system.save()
    sending_system_set_facilities(system=system, facilities=facilities)
    return system


@transaction.atomic
def sending_system_update(
    *,
    system: SendingSystem,
    facilities=None,
    certificate_sha256: str | None = None,
    certificate_subject: str | None = None,
    active: bool | None = None,
) -> SendingSystem:
    """Change what is given (None: kept). The MLLP listener sees it at its next refresh."""
    if certificate_sha256 is not None:
        system.certificate_sha256 = certificate_sha256
    if certificate_subject is not None:
        system.certificate_subject = certificate_subject
    if active is not None:
        system.active = active
    system.full_clean()
    system.save()
    if facilities is not None:
        sending_system_set_facilities(system=system, facilities=facilities)
    return system


@transaction.atomic
def sending_system_set_facilities(*, system: SendingSystem, facilities) -> None:
    """The facilities this system may send for: its account's facility grants (one source of truth)."""
    wanted = {f.pk: f for f in facilities}
    held = {f.pk: f for f in permissions.sender_facilities(system)}
    for pk, facility in wanted.items():
        if pk not in held:
            permissions.grant_facility(system.account, facility)
    for pk, facility in held.items():
        if pk not in wanted:
            permissions.revoke_facility(system.account, facility)


# ==================================================================== identity


def identity_read(*, admission: Admission, actor, purpose: str) -> PatientIdentity | None:
    """The one way to see who a patient is: checks the reader and writes the audit row first."""
    if not permissions.may_read_identity(actor, admission):
        raise PermissionDenied("You may not see who this patient is.")
    IdentityRead.objects.create(reader=actor, admission=admission, purpose=(purpose or "unspecified")[:200])
    return PatientIdentity.objects.filter(admission=admission).first()


def identity_versions_read(*, admission: Admission, actor, purpose: str) -> list[IdentityVersion]:
    """The identities an admission had before updates changed them (who replaced each, when, with
    which message); audited like a read of the identity."""
    if not permissions.may_read_identity(actor, admission):
        raise PermissionDenied("You may not see who this patient is.")
    IdentityRead.objects.create(
        reader=actor, admission=admission, purpose=f"identity versions: {purpose or 'unspecified'}"[:200]
    )
    return list(IdentityVersion.objects.filter(admission=admission).order_by("-replaced_at", "-id"))


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
    admission = (
        Admission.objects.select_for_update(of=("self",))
        .select_related("suburb__station")
        .get(pk=admission.pk)
    )
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
        raise InvalidInput({"police_case": str(NO_SUCH_DOCKET)})
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
