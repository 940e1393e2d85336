"""Where intake meets the database below the rules: the inbox row, the one INSERT that stores
messages (also on the MLLP listener's own connections), COPY, the facility lookup.

The narrow interface the MLLP listener (``referrals/mllp.py``) uses on its own asynchronous
connections: ``insert_statement`` (SQL and values of one INSERT for many messages) and
``inserted`` (their ids from its RETURNING rows), plus ``load_facilities`` / ``facility`` (the
per-process facility cache its event loop decides from).
"""

import functools
import json

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from casework.bulk import copy_insert
from casework.models import Facility

from .. import permissions
from ..crypto import EncryptedJSONField, EncryptedTextField
from ..models import CHANNEL_FAMILY, InboundMessage

Status = InboundMessage.Status

# ---------------------------------------------------------------- facilities (reference data)

_FACILITIES: dict[str, Facility] = {}


def facility(code: str, *, read: bool = True) -> Facility | None:
    """The one lookup of a facility by its code: cached per process (reference data), a code not held
    yet is read (``read=False``: the listener's event loop, which reads nothing, answers None)."""
    found = _FACILITIES.get(code)
    if found is None and read:
        found = Facility.objects.filter(code=code).first()
        if found is not None:
            _FACILITIES[code] = found
    return found


def load_facilities() -> None:
    """Fill the per-process facility cache (the listener's offline decisions read only it)."""
    for f in Facility.objects.all():
        _FACILITIES[f.code] = f


# ---------------------------------------------------------------- the inbox row


def new_message(
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
    visit_number: str = "",
) -> InboundMessage:
    return InboundMessage(
        visit_number=visit_number[:60],
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


def store(**fields) -> InboundMessage:
    """Commit the raw message in its own transaction (``new_message``'s fields).

    Raises IntegrityError when the same (family, sender, control id) is already stored.
    """
    message = new_message(**fields)
    if connection.in_atomic_block:
        with transaction.atomic():
            message.save()
    elif connection.vendor == "postgresql":
        insert_fast([message])  # autocommit: one INSERT, committed when it returns
    else:
        message.save()
    return message


def existing(channel: str, sender: str, control_id: str) -> InboundMessage | None:
    """The stored copy of this message id that counts (not a rejected or duplicate one), or None."""
    if not control_id:
        return None
    return (
        InboundMessage.objects.filter(
            family=CHANNEL_FAMILY[channel], sender=sender[:80], control_id=control_id
        )
        .exclude(status__in=[Status.REJECTED, Status.DUPLICATE])
        .first()
    )


def seen_again(message: InboundMessage) -> None:
    InboundMessage.objects.filter(pk=message.pk).update(duplicates_seen=F("duplicates_seen") + 1)


_INSERT_COLUMNS = (
    "channel", "family", "sender", "facility_id", "control_id", "message_type", "raw", "received_at",
    "received_by_id", "status", "status_changed_at", "reason", "attempts", "duplicates_seen", "ack", "report",
    "sending_system_id", "visit_number",
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


def insert_statement(messages: list[InboundMessage], *, skip_duplicates: bool) -> tuple[str, list]:
    """The one INSERT that stores these messages, and its values: the rows the ORM would write,
    without its per-field overhead. ``skip_duplicates``: a row whose control id is already stored
    is not written (see ``inserted``)."""
    raw_field = InboundMessage._meta.get_field("raw")
    raw_at, report_at = _INSERT_COLUMNS.index("raw"), _INSERT_COLUMNS.index("report")
    values = []
    for message in messages:
        row = [getattr(message, c) for c in _INSERT_COLUMNS]
        row[raw_at] = raw_field.get_prep_value(message.raw)
        row[report_at] = json.dumps(message.report)
        values += row
    return _insert_statement(len(messages), skip_duplicates), values


def inserted(messages: list[InboundMessage], returned: list[tuple], *, skip_duplicates: bool) -> None:
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


def insert_fast(messages: list[InboundMessage], *, skip_duplicates: bool = False) -> None:
    """Store these messages with one INSERT on Django's connection (PostgreSQL)."""
    sql, values = insert_statement(messages, skip_duplicates=skip_duplicates)
    connection.ensure_connection()
    # psycopg's own cursor binds the values on the server (Django's ClientCursor quotes each one in
    # Python) and prepares a statement it sees often.
    # Django's error wrapper around the raw cursor: a lost server marks the connection unusable, so
    # the next request opens a new one (unwrapped, the broken connection was kept for CONN_MAX_AGE and
    # every message refused meanwhile), and errors are Django's (IntegrityError, OperationalError).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
        cur.execute(sql, values)
        returned = cur.fetchall()
    inserted(messages, returned, skip_duplicates=skip_duplicates)


def finish(message: InboundMessage, *, status: str, reason: str = "", admission=None) -> None:
    now = timezone.now()
    updates = {"status": status, "reason": reason, "status_changed_at": now, "processed_at": now}
    if admission is not None:
        updates["admission"] = admission
    if status == Status.FILTERED:
        updates["raw"] = ""  # a visit with no assault code keeps only its metadata
    InboundMessage.objects.filter(pk=message.pk).update(**updates)


def save_finished(finished: list[InboundMessage]) -> None:
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


def insert_many(model, objs: list) -> None:
    """Insert validated rows: PostgreSQL COPY (encrypted fields encrypted on the way), else bulk_create."""
    if connection.vendor == "postgresql":
        copy_insert(model, objs, prepared=(EncryptedTextField, EncryptedJSONField))
    elif objs:
        model.objects.bulk_create(objs, batch_size=1000)
