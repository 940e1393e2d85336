"""Receiving: from a channel (HL7 v2 over MLLP or HTTP, single or a batch; FHIR; CSV; the capture
form) to a stored inbox row and the answer the sender gets.

Receiving is synchronous and cheap: it decides the answer (ACK code, HTTP status) from what can be
checked without writing the admission, commits the raw message in its own transaction, and only
then answers; processing follows after commit (``tasks.process_inbound``). docs/intake.md.

The MLLP listener's interface (``referrals/mllp.py``): ``decide_hl7_offline`` (decide in the event
loop, reading nothing, else ``NeedsDatabase``), ``inbound_receive_hl7_batch`` (the synchronous path),
``inbound_refuse_hl7`` / ``refusal_ack`` (answers for what cannot be taken); with
``store.insert_statement`` / ``store.inserted``, and ``tasks.kick`` to process what it stored.
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction

from casework.errors import InvalidInput, PermissionDenied
from casework.models import Facility

from .. import permissions, tasks
from ..models import Admission, Channel, InboundMessage
from ..parsing.common import IntakeError, Record, has_assault_code
from ..parsing.csv import read_csv
from ..parsing.fhir import escape_json_controls, parse_fhir
from ..parsing.hl7 import Header, Message, escape_controls, hl7_ack, hl7_header, hl7_precheck, normalise_hl7
from . import csv as staged_csv
from . import store
from .admissions import ADMITTING_EVENTS, UPDATE_EVENTS, not_your_facility, waiting_admission

Status = InboundMessage.Status
FILTERED_REASON = "No assault code (X85–Y09): not recorded."

# What the MLLP listener answers when it cannot take a message at all (docs/intake.md, "ACK"): AR with
# 207 is the only transient answer (resend later); every other AE/AR is a refusal to fix first.
RESEND_LATER = IntakeError("", "Receiver error: resend later.", ack="AR", hl7_code="207")
TOO_LARGE = IntakeError(
    "", "Message too large: refused, not stored; send it shorter.", ack="AR", hl7_code="102"
)
BROKEN_FRAME = IntakeError(
    "", "The frame had no end block (0x1C 0x0D) before the next start block: resend it.", hl7_code="100"
)


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


class NeedsDatabase(Exception):
    """Deciding this message needs a database read (``offline``): take the synchronous path."""


def _store(**fields) -> InboundMessage:
    """``store.store``, then processing of a message waiting for it is queued after commit."""
    message = store.store(**fields)
    if message.status == Status.RECEIVED:
        tasks.kick([message.pk])
    return message


def _ack_code(ack: str) -> str:
    for seg in ack.split("\r"):
        if seg.startswith("MSA|"):
            return seg.split("|")[1]
    try:
        return json.loads(ack).get("code", "AA")
    except (ValueError, AttributeError):
        return "AA"


def _duplicate_answer(
    channel: str, sender: str, control_id: str, *, with_report: bool = False
) -> Answer | None:
    """The answer of the first copy of this message id, when one is stored (and count the repeat)."""
    previous = store.existing(channel, sender, control_id)
    if previous is None:
        return None
    store.seen_again(previous)
    extra = {"report": previous.report} if with_report else {}
    return Answer(_ack_code(previous.ack), "duplicate", previous, previous.ack, duplicate=True, extra=extra)


def _is_update_of_known_visit(rec: Record, facility: Facility) -> bool:
    """A visit with an admission, or (an A03/A08) whose A01/A04 is stored and not yet processed: the
    update is kept and applied after it (docs/intake.md, "Updates of a visit")."""
    if Admission.objects.filter(facility=facility, visit_number=rec.visit_number).exists():
        return True
    return rec.event in UPDATE_EVENTS and waiting_admission(facility, rec.visit_number) is not None


def _sender_of(actor, sender: "permissions.Sender | None") -> "permissions.Sender | None":
    """The sender a message is checked against: the connection's, else the HTTP account's."""
    return sender if sender is not None else permissions.sender_for_user(actor)


def _authorise(actor, facility: Facility, authorise: bool) -> None:
    if authorise and not permissions.may_submit_for(actor, facility):
        raise PermissionDenied(f"You may not submit admissions for {facility.code}.")


# ==================================================================== HL7 v2

Decision = tuple["InboundMessage | None", Answer, Header]


@dataclass
class _Arrival:
    """One HL7 message being decided: where it came from, its text and what its MSH says."""

    channel: str
    actor: object
    sender: "permissions.Sender | None"
    offline: bool
    text: str
    header: Header = field(default_factory=Header)
    # (facility id, visit) of the admitting messages accepted earlier in the same batch: not stored
    # yet when a later update of the visit is decided, so the database alone would not know them.
    batch_visits: set = field(default_factory=set)

    def fields(
        self, *, status: str, reason: str = "", ack: str = "", facility=None, raw=None, visit: str = ""
    ) -> dict:
        """The inbox fields of this message (``store.new_message``'s keywords)."""
        h = self.header
        return dict(
            channel=self.channel, sender=h.sender, control_id=h.control_id,
            raw=self.text if raw is None else raw, status=status, reason=reason, ack=ack, facility=facility,
            message_type=h.message_type, actor=self.actor, sending_system=self.sender, visit_number=visit,
        )  # fmt: skip

    def row(self, **fields) -> InboundMessage:
        return store.new_message(**self.fields(**fields))

    def reject(self, e: IntakeError, facility=None, forbidden=False) -> Decision:
        """Stored as rejected, raw kept; the same message id accepted before gets that answer
        instead, whatever this copy holds (not for a sender outside its facilities, who learns
        nothing about another's messages)."""
        if self.offline:
            raise NeedsDatabase
        again = (
            None if forbidden else _duplicate_answer(self.channel, self.header.sender, self.header.control_id)
        )
        if again is not None:
            return None, again, self.header
        ack = hl7_ack(self.header, e.ack, str(e), error=e)
        row = self.row(status=Status.REJECTED, reason=str(e), ack=ack, facility=facility)
        return row, Answer(e.ack, str(e), row, ack, error=e, forbidden=forbidden), self.header

    def accept(self, probe: Record, facility: Facility) -> Decision:
        """AA: stored for processing, or filtered (no assault code and not an update of a known visit)."""
        assault = has_assault_code(probe.icd10_codes)
        if not assault and self.offline:
            raise NeedsDatabase  # filtered, or an update of a visit known by its assault code: look it up
        visit = (facility.pk, probe.visit_number)
        admitted_in_batch = probe.event in UPDATE_EVENTS and visit in self.batch_visits
        if not assault and not admitted_in_batch and not _is_update_of_known_visit(probe, facility):
            status, reason, raw_kept = Status.FILTERED, FILTERED_REASON, ""
            text_answer = "Accepted: no assault code, not recorded."
        else:
            status, reason, raw_kept, text_answer = Status.RECEIVED, "", self.text, "Accepted."
            if probe.event in ADMITTING_EVENTS:
                self.batch_visits.add(visit)
        ack = hl7_ack(self.header, "AA", text_answer)
        kept_visit = probe.visit_number if status == Status.RECEIVED else ""
        row = self.row(
            status=status, reason=reason, ack=ack, facility=facility, raw=raw_kept, visit=kept_visit
        )
        return row, Answer("AA", text_answer, row, ack), self.header


def _decide_hl7(
    raw: str | bytes,
    channel: str,
    actor,
    authorise: bool,
    *,
    offline: bool = False,
    sender: "permissions.Sender | None" = None,
    batch_visits: set | None = None,
) -> Decision:
    """What to store (None: nothing) and what to answer for one HL7 message; nothing is written here,
    except that a rejected copy of a message id accepted before is answered (and counted) as that
    duplicate. ``offline`` (the listener's event loop): read nothing, raise NeedsDatabase instead —
    the common message (known facility, an assault code, valid) never needs to. ``sender``: the
    registered sending system; MSH-4 must be one of its facilities, else AR (stored as rejected)."""
    text, control = escape_controls(normalise_hl7(raw))  # a NUL is refused below, its raw kept escaped
    arrival = _Arrival(
        channel, actor, sender, offline, text, batch_visits=set() if batch_visits is None else batch_visits
    )
    try:
        msg = Message(text)
        arrival.header = msg.header()
    except IntakeError as e:
        ack = hl7_ack(Header(), e.ack, str(e), error=e)
        row = arrival.row(status=Status.REJECTED, reason=str(e), ack=ack)
        return row, Answer(e.ack, str(e), row, ack, error=e), Header()
    if control is not None:
        return arrival.reject(control)
    try:
        _header, probe = hl7_precheck(msg)
    except IntakeError as e:
        return arrival.reject(e)
    code = arrival.header.sender
    facility = store.facility(code, read=not offline)
    if facility is None:
        return arrival.reject(
            IntakeError("MSH-4", f"Unknown facility code '{code}'.", ack="AR", hl7_code="204")
        )
    if sender is not None and not sender.may_send_for(facility.code):
        return arrival.reject(not_your_facility("MSH-4", sender, facility.code), facility, forbidden=True)
    _authorise(actor, facility, authorise)
    return arrival.accept(probe, facility)


def decide_hl7_offline(raw: bytes, *, sender: "permissions.Sender") -> tuple[InboundMessage | None, Answer]:
    """The MLLP listener's event loop: what to store and answer, reading nothing (NeedsDatabase).

    ``sender``: the sending system the connection authenticated as (its facilities held in memory).
    """
    row, answer, _header = _decide_hl7(raw, Channel.HL7_MLLP, None, False, offline=True, sender=sender)
    return row, answer


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
    answers = inbound_receive_hl7_batch(
        [raw], channel=channel, actor=actor, authorise=authorise, sender=sender
    )
    return answers[0]


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
    if authorise:
        sender = _sender_of(actor, sender)
    # A sending system is checked against its facilities (the rejection is stored); anyone else
    # against their grants (refused before anything is stored).
    visits: set = set()  # an A01 and its discharge in one batch: the discharge is kept for it
    decided = [
        _decide_hl7(raw, channel, actor, authorise and sender is None, sender=sender, batch_visits=visits)
        for raw in raws
    ]
    rows = [row for row, _answer, _header in decided if row is not None]
    _store_batch(rows)
    answers = [_answer_of(channel, answer, header) for _row, answer, header in decided]
    tasks.kick([row.pk for row in rows if row.pk is not None and row.status == Status.RECEIVED])
    return answers


def _store_batch(rows: list[InboundMessage]) -> None:
    """One statement on PostgreSQL, atomic by itself and (outside a transaction) its own commit: one
    round trip per batch; the unique index is the duplicate check (a duplicate keeps pk None)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        store.insert_fast(rows, skip_duplicates=True)
        return
    with transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:
                row.pk = None


def _answer_of(channel: str, answer: Answer, header: Header) -> Answer:
    """The answer of a decided message once the batch is stored: a copy that was not written is a
    duplicate (stored before, a moment ago on another connection, or earlier in this batch)."""
    row = answer.message
    if row is None or answer.duplicate or row.pk is not None:
        return answer
    again = _duplicate_answer(channel, row.sender, row.control_id)
    if again is None:  # cannot happen unless the row vanished in between: ask for a resend
        busy = IntakeError("MSH-10", "Receiver busy: resend later.", ack="AR", hl7_code="207")
        ack = hl7_ack(header, "AR", str(busy), error=busy)
        again = Answer("AR", str(busy), None, ack, error=busy)
    return again


def _readable_header(text: str) -> Header:
    try:
        return hl7_header(text)
    except IntakeError:
        return Header()


def refusal_ack(raw: str | bytes, error: IntakeError) -> str:
    """The ACK refusing ``raw`` with ``error``: MSA-2 echoes its MSH-10 when its header can be read
    (from its first 4 KB: a too-large or cut frame is refused without reading the rest)."""
    header = _readable_header(normalise_hl7(raw[:4096]).replace("\x00", ""))
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
    ack = refusal_ack(text, error)
    header = _readable_header(text.replace("\x00", ""))
    row = store.new_message(
        channel=channel, sender=header.sender, control_id=header.control_id, raw=text,
        status=Status.REJECTED, reason=str(error), ack=ack, message_type=header.message_type,
        sending_system=sender,
    )  # fmt: skip
    row.save()
    return Answer(error.ack, str(error), row, ack, error=error)


# ==================================================================== FHIR R4


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
    arrival = _Arrival(Channel.FHIR, actor, sender, False, text)
    try:
        control, rec = parse_fhir(text)
    except IntakeError as e:
        return _reject_fhir(arrival, e)
    arrival.header = Header(sender=rec.facility_code)
    facility = store.facility(rec.facility_code)
    if facility is None:
        where = "Organization.identifier.value"
        return _reject_fhir(
            arrival, IntakeError(where, f"Unknown facility code '{rec.facility_code}'.", ack="AR")
        )
    if sender is not None and not sender.may_send_for(facility.code):
        error = not_your_facility("Encounter.serviceProvider", sender, facility.code)
        return _reject_fhir(arrival, error, facility=facility, forbidden=True)
    _authorise(actor, facility, authorise and sender is None)
    control = control or "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    arrival.header = Header(sender=rec.facility_code, control_id=control, message_type="Bundle")
    return _duplicate_answer(Channel.FHIR, rec.facility_code, control) or _accept_fhir(arrival, rec, facility)


def _reject_fhir(arrival: _Arrival, e: IntakeError, *, facility=None, forbidden=False) -> Answer:
    kind = "forbidden" if forbidden else "invalid"
    out = json.dumps(operation_outcome("error", kind, e.problem, e.where) | {"code": e.ack})
    msg = _store(**arrival.fields(status=Status.REJECTED, reason=str(e), ack=out, facility=facility))
    return Answer(e.ack, str(e), msg, out, error=e, forbidden=forbidden)


def _accept_fhir(arrival: _Arrival, rec: Record, facility: Facility) -> Answer:
    if not has_assault_code(rec.icd10_codes) and not _is_update_of_known_visit(rec, facility):
        status, raw_kept, reason = Status.FILTERED, "", FILTERED_REASON
        note = "Accepted: no assault code, not recorded."
    else:
        status, raw_kept, reason, note = Status.RECEIVED, arrival.text, "", "Accepted for processing."
    out = operation_outcome("information", "informational", note)
    try:
        msg = _store(**arrival.fields(status=status, reason=reason, facility=facility, raw=raw_kept))
    except IntegrityError:
        return _duplicate_answer(Channel.FHIR, rec.facility_code, arrival.header.control_id)
    out["id"] = str(msg.pk)
    body_out = json.dumps(out | {"code": "AA"})
    InboundMessage.objects.filter(pk=msg.pk).update(ack=body_out)
    msg.ack = body_out
    return Answer("AA", note, msg, body_out)


# ==================================================================== CSV and the form


def inbound_receive_csv(*, text: str, actor, filename: str = "") -> Answer:
    """Store a CSV batch raw, validate every row, keep the good ones (processed in the task).

    ``Answer.extra["report"]``: {rows, accepted, problems: [{row, field, problem}]}. The same file
    uploaded twice is stored once and answers the first report.
    """
    text = text.lstrip("\ufeff")
    control = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    previous = _duplicate_answer(Channel.CSV, "", control, with_report=True)
    if previous is not None:
        return previous
    kept, report, facilities = _csv_report(text, actor, filename)
    if kept:
        code, status, reason = "AA", Status.RECEIVED, ""
    else:
        code, status, reason = "AE", Status.REJECTED, "No row could be accepted."
    ack = json.dumps({"code": code})
    try:
        # The file and its validated rows commit together: processing finds both or neither.
        with transaction.atomic():
            msg = _store(
                channel=Channel.CSV, sender="", control_id=control if kept else "", raw=text, status=status,
                reason=reason, ack=ack, message_type="csv", actor=actor, report=report,
                sending_system=permissions.sender_for_user(actor),
            )  # fmt: skip
            if kept and connection.vendor == "postgresql":
                staged_csv.stage_rows(msg, kept, facilities)
    except IntegrityError:
        return _duplicate_answer(Channel.CSV, "", control, with_report=True)
    return Answer(code, reason or "Accepted.", msg, ack, extra={"report": report})


def _csv_report(text: str, actor, filename: str) -> tuple[list[Record], dict, dict[str, Facility]]:
    """The rows kept (valid, a known facility the uploader may submit for), the report, the facilities."""
    good, problems = read_csv(text)
    rows = len(good) + len({p["row"] for p in problems if p["row"] > 1})
    facilities = {code: store.facility(code) for code in {r.facility_code for r in good}}
    kept = []
    for rec in good:
        fac = facilities.get(rec.facility_code)
        if fac is None:
            problem = f"Unknown facility code '{rec.facility_code}'."
        elif not permissions.may_submit_for(actor, fac):
            problem = f"You may not submit for '{fac.code}'."
        else:
            kept.append(rec)
            continue
        problems.append({"row": rec.row, "field": "facility", "problem": problem})
    problems.sort(key=lambda p: (p["row"], p["field"]))
    report = {
        "filename": filename[:200],
        "rows": rows,
        "accepted": len(kept),
        "problems": problems,
        "skipped_rows": sorted({p["row"] for p in problems}),
    }
    return kept, report, facilities


def inbound_receive_form(*, record: Record, actor) -> Answer:
    """The capture form: same inbox, same processing as every other channel."""
    facility = store.facility(record.facility_code)
    if facility is None:
        raise InvalidInput({"facility": "Unknown facility."})
    _authorise(actor, facility, True)
    if not has_assault_code(record.icd10_codes):
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
        visit_number=record.visit_number,
    )
    return Answer("AA", "Accepted.", msg)
