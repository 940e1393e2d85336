"""Dead letters: messages that failed processing or were refused at the door, listed for admins
(``selectors.dead_letter_list_for_user``), corrected and replayed here. docs/intake.md.

A replay is a write: it is logged in casework's ``TransitionLog`` like every other state change
(who, when, from which status to which). The stored raw text carries identity, so when the replay
re-reads it (no corrected text given) that read is audited in ``IdentityRead`` like any other.
"""

import hashlib
import json

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.errors import InvalidInput, PermissionDenied
from casework.models import TransitionLog

from . import permissions, tasks
from .intake import store
from .intake.admissions import Lookups
from .models import Channel, IdentityRead, InboundMessage, StagedRow
from .parsing.common import IntakeError
from .parsing.csv import read_csv
from .parsing.fhir import parse_fhir
from .parsing.hl7 import normalise_hl7, parse_hl7
from .parsing.rules import record_from_json

Status = InboundMessage.Status
HL7 = (Channel.HL7_MLLP, Channel.HL7_HTTP)


@transaction.atomic
def dead_letter_replay(*, message: InboundMessage, actor, raw: str | None = None) -> InboundMessage:
    """Put a failed or rejected message (optionally with corrected raw text) back into processing.

    The corrected raw is validated like a new arrival: still invalid → InvalidInput naming the
    field, nothing changed. The same control id already accepted since → the message becomes a
    duplicate of that one.
    """
    if actor is not None and not permissions.may_replay(actor):
        raise PermissionDenied("Only administrators replay dead letters.")
    return _replay(message, actor, raw)


@transaction.atomic
def submission_resend(*, message: InboundMessage, actor, raw: str) -> InboundMessage:
    """The clerk who sent a refused form message resends it corrected (the capture form checked it)."""
    if not permissions.may_fix_submission(actor, message):
        raise PermissionDenied("Only the person who sent it fixes and resends a submission.")
    return _replay(message, actor, raw)


@transaction.atomic
def submission_row_resent(*, message: InboundMessage, actor, row: int, resent_as: InboundMessage) -> None:
    """A refused row of the clerk's CSV file was sent again through the form: the file's report says
    so (the row itself stays refused: the file is kept as it was sent)."""
    if not permissions.may_fix_submission(actor, message):
        raise PermissionDenied("Only the person who sent it fixes and resends a submission.")
    message = InboundMessage.objects.select_for_update().get(pk=message.pk)
    resent = {**message.report.get("resent", {}), str(row): resent_as.pk}
    message.report = {**message.report, "resent": resent}
    message.save(update_fields=["report"])


def _replay(message: InboundMessage, actor, raw: str | None) -> InboundMessage:
    message = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.status not in InboundMessage.DEAD:
        raise InvalidInput(
            {"status": f"Only failed or rejected messages are replayed (this one is {message.status})."}
        )
    if raw is None:
        IdentityRead.objects.create(reader=actor, message=message, purpose="dead letter replay: stored raw")
    text = message.raw if raw is None else raw
    try:
        text = _validate(message, text)
    except IntakeError as e:
        raise InvalidInput({"raw": _("Still not acceptable: %(reason)s") % {"reason": e}}) from e
    except ValueError as e:
        why = _("Still not acceptable: the text cannot be read (%(error)s).") % {"error": type(e).__name__}
        raise InvalidInput({"raw": why}) from e
    before = message.status
    other = store.existing(message.channel, message.sender, message.control_id)
    if other is not None and other.pk != message.pk:
        message.status, message.reason = Status.DUPLICATE, f"Duplicate of message {other.pk}."
    else:
        message.status, message.reason = Status.RECEIVED, ""
        tasks.kick([message.pk])
    message.raw = text
    message.status_changed_at = timezone.now()
    message.save()
    TransitionLog.objects.create(
        subject=message, transition="replay", from_state=before, to_state=message.status, actor=actor,
        note="corrected raw text" if raw is not None else "", at=message.status_changed_at,
    )  # fmt: skip
    return message


def _validate(message: InboundMessage, text: str) -> str:
    """Validate ``text`` like a new arrival of its channel and take what it says (sender, control id,
    facility, type) onto ``message``; the text to keep. Raises IntakeError, ValueError."""
    if message.channel in HL7:
        text = normalise_hl7(text)
        header, rec = parse_hl7(text)
        message.sender, message.control_id, message.message_type = (
            header.sender, header.control_id, header.message_type
        )  # fmt: skip
        message.facility = _known_facility("MSH-4", header.sender)
    elif message.channel == Channel.FHIR:
        control, rec = parse_fhir(text)
        message.sender = rec.facility_code
        message.facility = _known_facility("Organization.identifier.value", rec.facility_code, ack="AE")
        message.control_id = control or "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    elif message.channel == Channel.FORM:
        record_from_json(json.loads(text))
    elif message.channel == Channel.CSV:
        _validate_csv(message, text)
    if message.channel in (*HL7, Channel.FHIR):
        Lookups().check_sender(message, [rec])  # a correction cannot move it to another's facility
    return text


def _known_facility(where: str, code: str, *, ack: str = "AR"):
    facility = store.facility(code)
    if facility is None:
        raise IntakeError(where, f"Unknown facility code '{code}'.", ack=ack)
    return facility


def _validate_csv(message: InboundMessage, text: str) -> None:
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
