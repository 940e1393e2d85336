"""Processing stored messages: claim them, parse the stored raw again, write admission, identity and
incident for each, and mark each message's outcome — all claimed messages in one transaction; a
batch that raises is split until the one message that raises fails alone.

Safe to repeat: a message is claimed by a conditional UPDATE (received → processing), a claim
taken over by someone else (the sweeper re-kicked it: ``attempts`` moved on) is left to them, and
a processed message is never processed again. docs/intake.md, "The path of a message".
"""

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Admission, Channel, InboundMessage, StagedRow
from ..parsing.common import IntakeError, Record, has_assault_code
from ..parsing.csv import read_csv
from ..parsing.fhir import parse_fhir
from ..parsing.hl7 import parse_hl7
from ..parsing.rules import record_from_json
from . import csv as staged_csv
from . import store
from .admissions import OLDER_REASON, Lookups, apply_new, apply_record

log = logging.getLogger(__name__)
Status = InboundMessage.Status

# How many waiting messages one task takes together (a savepoint each) on PostgreSQL.
PROCESS_BATCH = 200
# Errors that say the database is away, not that a message is bad: its claim is released, not failed.
DATABASE_AWAY = (OperationalError, InterfaceError)


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


def _fail_reason(e: Exception, message: InboundMessage) -> str:
    if isinstance(e, IntakeError):
        return str(e)[:2000]
    log.exception("Processing inbound message %s failed", message.pk)
    return _raised_reason(message, e)


@dataclass
class _Batch:
    """The claimed messages of one transaction and what became of them."""

    attempts: dict[int, int]
    lookups: Lookups = field(default_factory=Lookups)
    results: dict[int, str] = field(default_factory=dict)
    finished: list[InboundMessage] = field(default_factory=list)
    now: object = field(default_factory=timezone.now)
    parsed: list[tuple[InboundMessage, list[Record]]] = field(default_factory=list)
    staged: set[int] = field(default_factory=set)  # CSV files validated at upload: from their staged rows

    def finish(self, message: InboundMessage, status: str, reason: str = "", admission=None) -> None:
        message.status, message.reason = status, reason
        message.status_changed_at = message.processed_at = self.now
        if admission is not None:
            message.admission = admission
        self.results[message.pk] = status
        if status == Status.FILTERED:
            store.finish(message, status=status, reason=reason)
        else:
            self.finished.append(message)


def _process_claims(claims: list[tuple[int, int]]) -> dict[int, str]:
    """Process claimed messages in one transaction: brand-new visits in bulk, the rest one by one.

    A message that cannot be parsed or applied is failed with its reason (its own savepoint);
    if the bulk step fails for a reason other than the database, every message falls back to
    the one-by-one path, so one bad row never costs the others.
    """
    batch = _Batch(attempts=dict(claims))
    with transaction.atomic():
        for message in _locked(batch.attempts):
            _parse(batch, message)
        fresh, rest = _split_new(batch)
        done: dict[int, tuple[int, Admission]] = {}
        if fresh:
            try:
                with transaction.atomic():
                    done = apply_new(fresh, batch.lookups)
            except OperationalError:
                raise
            except Exception:
                log.exception("Bulk intake step failed; falling back to one message at a time")
                rest = {m.pk: recs for m, recs in batch.parsed}
        for message, _records in batch.parsed:
            _apply_rest(batch, message, rest.get(message.pk, []), done.get(message.pk))
        store.save_finished(batch.finished)
    return batch.results


def _locked(attempts: dict[int, int]) -> list[InboundMessage]:
    """Our claimed rows, locked; a row re-claimed by someone else (attempts moved on) is theirs now."""
    locked = InboundMessage.objects.select_for_update().filter(pk__in=attempts, status=Status.PROCESSING)
    # A CSV file's raw text (it can be large) is read again only when its staged rows are missing.
    rows = sorted(
        [*locked.exclude(channel=Channel.CSV), *locked.filter(channel=Channel.CSV).defer("raw")],
        key=lambda m: m.pk,
    )
    return [m for m in rows if m.attempts == attempts[m.pk]]


def _parse(batch: _Batch, message: InboundMessage) -> None:
    if staged_csv.has_staged_rows(message):
        batch.staged.add(message.pk)
        batch.parsed.append((message, []))
        return
    try:
        records = _records_of(message)
        for rec in records:
            batch.lookups.facility(rec.facility_code)
        batch.lookups.check_sender(message, records)
        batch.parsed.append((message, records))
    except OperationalError:
        raise
    except Exception as e:
        batch.finish(message, Status.FAILED, _fail_reason(e, message))


def _split_new(batch: _Batch) -> tuple[list[tuple[InboundMessage, Record]], dict[int, list[Record]]]:
    """Which records are brand-new visits (bulk) and which update a known one (one by one)."""
    facility = batch.lookups.facility
    keys = {(facility(r.facility_code).pk, r.visit_number) for _m, recs in batch.parsed for r in recs}
    known = _known_visits(keys)
    fresh, seen = [], set()
    rest: dict[int, list[Record]] = {}
    for message, records in batch.parsed:
        for rec in records:
            key = (facility(rec.facility_code).pk, rec.visit_number)
            if key in known or key in seen or not has_assault_code(rec.icd10_codes):
                rest.setdefault(message.pk, []).append(rec)
            else:
                seen.add(key)
                fresh.append((message, rec))
    return fresh, rest


def _apply_rest(batch: _Batch, message: InboundMessage, rest: list[Record], done) -> None:
    """What is left of one message after the bulk step, in its own savepoint; then its outcome."""
    count, last = done or (0, None)
    try:
        # Its own savepoint, when it has anything left to write (a savepoint is a round trip).
        if message.pk in batch.staged or rest:
            with transaction.atomic():
                if message.pk in batch.staged:
                    count, last = staged_csv.apply_staged(message, batch.lookups)
                for rec in rest:
                    a = apply_record(rec, message, batch.lookups)
                    if a is not None:
                        count, last = count + 1, a
    except OperationalError:
        raise
    except Exception as e:
        if done is not None:  # its bulk part is written; the message cannot be half-done
            raise
        if message.pk in batch.staged:  # a replay validates the (maybe corrected) raw file again
            StagedRow.objects.filter(message=message).delete()
        batch.finish(message, Status.FAILED, _fail_reason(e, message))
        return
    if count == 0:
        batch.finish(message, Status.FILTERED, "No assault code (X85–Y09): not recorded.")
        return
    if message.channel == Channel.CSV:
        message.report = {**message.report, "stored": count}
        InboundMessage.objects.filter(pk=message.pk).update(report=message.report)
    older = message.pk in batch.lookups.older and count == 1  # changed nothing (docs/intake.md)
    batch.finish(message, Status.PROCESSED, OLDER_REASON if older else "", admission=last)


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
    over (the sweeper re-kicked it) is skipped by the older claimant. A message whose processing
    raises fails alone (``_isolating``). OperationalError puts the claimed messages back to
    ``received`` (when the database allows) and propagates for a retry.
    """
    attempt = inbound_claim(message_id)
    # Whatever id it names, a task is a kick: it also takes other waiting messages.
    claims = ([(message_id, attempt)] if attempt else []) + _claim_more(batch - 1 if attempt else batch)
    if not claims:
        return {}
    try:
        return _isolating(claims)
    except DATABASE_AWAY:
        _release(claims)  # only those still ours and unfinished
        raise


def _isolating(claims: list[tuple[int, int]]) -> dict[int, str]:
    """Process the claims together; if that raises, each half again, down to the one message that
    raises alone: it becomes a dead letter with its reason, and the healthy ones commit."""
    try:
        return _process_claims(claims)
    except DATABASE_AWAY:
        raise
    except Exception as e:
        if len(claims) == 1:
            return _dead_letter(claims[0], e)
        log.warning(
            "Processing %s messages together raised %s; splitting the batch", len(claims), type(e).__name__
        )
        half = len(claims) // 2
        return {**_isolating(claims[:half]), **_isolating(claims[half:])}


def _dead_letter(claim: tuple[int, int], error: Exception) -> dict[int, str]:
    """The one message whose processing raised: failed with what went wrong, if it is still ours."""
    pk, attempt = claim
    log.error("Processing inbound message %s raised", pk, exc_info=error)
    reason = _raised_reason(InboundMessage.objects.filter(pk=pk).first(), error)
    done = InboundMessage.objects.filter(pk=pk, status=Status.PROCESSING, attempts=attempt).update(
        status=Status.FAILED, reason=reason, status_changed_at=timezone.now(), processed_at=timezone.now()
    )
    return {pk: Status.FAILED} if done else {}


# A quoted value or a key=(value) detail in a database error: the reason never repeats what was sent.
_QUOTED = re.compile(r'"[^"]*"|\([^)]*\)=\([^)]*\)')


def _raised_reason(message: InboundMessage | None, error: Exception) -> str:
    """The exception in words (its first line, values left out) and the field when one is to blame."""
    words = _QUOTED.sub("…", (str(error).strip().splitlines() or [""])[0])[:300]
    where = _field_to_blame(message) if message is not None else ""
    prefix = f"{where}: " if where else ""
    return f"{prefix}processing raised {type(error).__name__}: {words or 'no message'}"


def _field_to_blame(message: InboundMessage) -> str:
    """The record field holding what a database column cannot take (a NUL, too long), if any."""
    try:
        records = _records_of(message)
    except Exception:  # the raw cannot even be read: no field to name
        return ""
    bounded = {"visit_number": Admission._meta.get_field("visit_number").max_length}
    for rec in records:
        for name, value in vars(rec).items():
            if isinstance(value, str) and ("\x00" in value or len(value) > bounded.get(name, len(value))):
                return name
    return ""


def _release(claims: list[tuple[int, int]]) -> None:
    """Claims back to ``received`` without counting: ``attempts`` counts claims, not failures."""
    try:
        for pk, attempt in claims:
            InboundMessage.objects.filter(pk=pk, status=Status.PROCESSING, attempts=attempt).update(
                status=Status.RECEIVED, status_changed_at=timezone.now()
            )
    except DATABASE_AWAY:
        log.warning("Could not release claimed messages; the sweeper will re-kick them.")


def inbound_release_stuck(*, older_than_seconds: int = 60) -> tuple[dict, list[int]]:
    """Find messages stuck in received/processing for longer than ``older_than_seconds``: (counts,
    the ids to kick again — ``tasks.sweep_inbound`` kicks them).

    ``processing`` rows whose worker died go back to ``received``, however often: a lost worker or
    a database away is no fault of the message, which fails only for an error its processing raised.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    now = timezone.now()
    stuck = InboundMessage.objects.filter(status_changed_at__lt=cutoff)
    released = stuck.filter(status=Status.PROCESSING).update(status=Status.RECEIVED, status_changed_at=now)
    waiting = list(
        InboundMessage.objects.filter(status=Status.RECEIVED)
        .filter(Q(status_changed_at__lt=cutoff) | Q(status_changed_at=now))
        .order_by("id")
        .values_list("pk", flat=True)[:10000]
    )
    return {"released": released, "kicked": len(waiting)}, waiting
