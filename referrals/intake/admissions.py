"""Writing admissions and identities from Records: one by one (an update of a known visit, every
path's fallback) or in bulk (``apply_new``: visits not seen before), the same rules either way.

An update keeps what the record leaves out; an identity it changes is kept as an
``IdentityVersion``. Incidents come from ``incidents`` (the joining rule), through casework.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from casework import reactions
from casework.models import Facility, Incident, Suburb

from .. import permissions
from ..crypto import pseudonym
from ..models import (
    IDENTITY_KEYS,
    Admission,
    Channel,
    IdentityVersion,
    InboundMessage,
    PatientIdentity,
    SendingSystem,
    age_band,
)
from ..parsing.common import IntakeError, Record, has_assault_code
from ..parsing.hl7 import Message, hl7_precheck, hl7_timestamp, normalise_hl7, parse_hl7
from . import incidents, store

OLDER_REASON = "Older than the admission's last update: changed nothing."
# The events that open a visit: an update (A03, A08) stored while one of these waits is kept for it.
ADMITTING_EVENTS = ("A01", "A04")
UPDATE_EVENTS = ("A03", "A08")
WAITING_STATUSES = (*InboundMessage.UNFINISHED, InboundMessage.Status.FAILED)
HL7_CHANNELS = (Channel.HL7_MLLP, Channel.HL7_HTTP)


def not_your_facility(where: str, sender: "permissions.Sender", code: str) -> IntakeError:
    return IntakeError(
        where, f"Sending system '{sender.name}' may not send for facility '{code}'.", ack="AR", hl7_code="204"
    )


class Lookups:
    """Reference data cached for one batch."""

    def __init__(self):
        self.suburbs: dict[str, Suburb | None] = {}
        self.senders: dict[int, permissions.Sender | None] = {}
        # Messages that were older than the admission they update (changed nothing).
        self.older: set[int] = set()

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
                raise not_your_facility("facility", sender, rec.facility_code)

    @staticmethod
    def facility(code: str) -> Facility:
        fac = store.facility(code)
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


def message_time(message: InboundMessage) -> datetime:
    """When the sender wrote it: MSH-7, else EVN-2 (HL7), else when we received it (every channel)."""
    if message.channel in HL7_CHANNELS and message.raw:
        try:
            msg = Message(normalise_hl7(message.raw))
            msh, evn = msg.one("MSH"), msg.one("EVN", required=False) or []
            # MSH-1 is the separator itself: MSH-7 is msh[6].
            found = hl7_timestamp("MSH-7", msg.first(msh, 6)) or hl7_timestamp("EVN-2", msg.first(evn, 2))
        except IntakeError:
            found = None
        if found is not None:
            return found
    return message.received_at


def waiting_admission(facility: Facility, visit: str, *, exclude: int | None = None, lock=False):
    """A stored A01/A04 (HL7) of this visit not yet processed, or a dead letter, or None: an update of
    it is kept for it (a dead letter's update waits for its replay instead of being filtered).

    Found by the visit number kept at receipt; a message stored before that column existed has none,
    and only those are read and parsed (normally none).
    """
    waiting = InboundMessage.objects.filter(
        facility=facility, channel__in=HL7_CHANNELS, status__in=WAITING_STATUSES
    ).filter(Q(message_type__contains="A01") | Q(message_type__contains="A04"))
    if exclude is not None:
        waiting = waiting.exclude(pk=exclude)
    found = waiting.filter(visit_number=visit).order_by("pk")
    pk = found.values_list("pk", flat=True).first()
    if pk is None:
        pk = _legacy_waiting(waiting.filter(visit_number=""), visit)
    if pk is None:
        return None
    row = InboundMessage.objects.filter(pk=pk)
    return (row.select_for_update() if lock else row).first()


def _legacy_waiting(candidates, visit: str) -> int | None:
    for pk, raw in candidates.order_by("pk").values_list("pk", "raw").iterator():
        try:
            header, rec = hl7_precheck(normalise_hl7(raw))
        except IntakeError:
            continue
        if header.event in ADMITTING_EVENTS and rec.visit_number == visit:
            return pk
    return None


def pseudonym_of(rec: Record) -> str:
    ids = rec.identifiers
    national = next((i for i in ids if i.get("type", "").upper() == "NI"), None)
    if national:
        return pseudonym(national["value"])
    if ids:
        return pseudonym(ids[0]["value"], authority=ids[0].get("authority") or rec.facility_code)
    return ""


def fill(
    admission: Admission, rec: Record, message: InboundMessage, lookups: Lookups, *, created: bool
) -> None:
    """Copy what the record carries onto the admission (an update keeps what the record leaves out)."""
    admission.arrival_at = rec.arrival_at
    admission.event = rec.event[:8]
    admission.message = message
    admission.source_row = rec.row
    if has_assault_code(rec.icd10_codes):
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
    admission.pseudonym = pseudonym_of(rec) or admission.pseudonym


def identity_of(rec: Record) -> dict:
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


def apply_record(rec: Record, message: InboundMessage, lookups: Lookups) -> Admission | None:
    """Write (or update) one admission, its identity and its incident. None: filtered (no assault code)."""
    facility = lookups.facility(rec.facility_code)
    admission = (
        Admission.objects.select_for_update().filter(facility=facility, visit_number=rec.visit_number).first()
    )
    if admission is None and not has_assault_code(rec.icd10_codes):
        admission = _admit_waiting_first(rec, message, lookups, facility)
        if admission is None:
            return None
    created = admission is None
    if created:
        admission = Admission(facility=facility, visit_number=rec.visit_number)
    sent_at = message_time(message)
    if not created and admission.message_time and sent_at < admission.message_time:
        lookups.older.add(message.pk)  # a newer message was applied already: this one changes nothing
        return admission
    admission.message_time = sent_at
    before = (admission.suburb_id, admission.mechanism, admission.injury_at, admission.arrival_at)
    fill(admission, rec, message, lookups, created=created)
    after = (admission.suburb_id, admission.mechanism, admission.injury_at, admission.arrival_at)
    if admission.incident_id is None or (before != after and not created):
        incident = incidents.join_or_create(admission)
        if incident is not None:
            admission.incident = incident
    admission.save()
    if admission.gang_suspected and admission.incident_id:
        incidents.assert_gang_suspected(
            [(admission.incident_id, incidents.gang_basis(facility.code, admission.visit_number))]
        )
    identity = identity_of(rec)
    if created:
        PatientIdentity.objects.create(admission=admission, **identity)
    else:
        _identity_update(admission, {k: v for k, v in identity.items() if v}, message)
    moved = before[3] if not created and before[3] != admission.arrival_at else None
    reactions.emit("admission_recorded", admission=admission, previous_arrival_at=moved)
    return admission


def _admit_waiting_first(
    rec: Record, message: InboundMessage, lookups: Lookups, facility: Facility
) -> Admission | None:
    """An update without an assault code of a visit whose A01/A04 is stored, not yet processed:
    process that message first (its own savepoint), then the update applies to its admission.
    Raises IntakeError (a dead letter to replay) when another worker holds it unfinished."""
    if message.channel not in HL7_CHANNELS:
        return None
    # The lock waits for a worker processing it right now; then it is finished and found below.
    waiting = waiting_admission(facility, rec.visit_number, exclude=message.pk, lock=True)
    if waiting is not None and waiting.status == InboundMessage.Status.RECEIVED:
        try:
            with transaction.atomic():
                records = [parse_hl7(waiting.raw)[1]]
                lookups.check_sender(waiting, records)
                admitted = apply_record(records[0], waiting, lookups)
                store.finish(waiting, status=InboundMessage.Status.PROCESSED, admission=admitted)
        except IntakeError as e:
            store.finish(waiting, status=InboundMessage.Status.FAILED, reason=str(e)[:2000])
            waiting.status = InboundMessage.Status.FAILED
    elif waiting is not None and waiting.status == InboundMessage.Status.PROCESSING:
        raise IntakeError(
            "PV1-19", "The admission message of this visit is still being processed: replay this."
        )
    admission = (
        Admission.objects.select_for_update().filter(facility=facility, visit_number=rec.visit_number).first()
    )
    if admission is None and waiting is not None and waiting.status == InboundMessage.Status.FAILED:
        raise IntakeError(
            "PV1-19",
            f"The admission message of this visit is a dead letter (#{waiting.pk}): replay it, then this.",
        )
    return admission


def apply_new(
    pairs: list[tuple[InboundMessage, Record]], lookups: Lookups
) -> dict[int, tuple[int, Admission]]:
    """The fast path for visits not seen before: the same rules as ``apply_record``, in bulk.

    Incidents are joined by the same rule (``incidents.IncidentIndex``), new ones made by
    casework's ``incident_create_many``; admissions and identities inserted in batches; gang
    suspicion asserted through casework's ``gang_assert_many``. Returns {message id: (admissions,
    last)}.
    """
    items = []
    for message, rec in pairs:
        a = Admission(facility=lookups.facility(rec.facility_code), visit_number=rec.visit_number)
        fill(a, rec, message, lookups, created=True)
        a.message_time = message_time(message)
        items.append((message, rec, a))
    _join_incidents([a for _m, _r, a in items])
    store.insert_many(Admission, [a for _m, _r, a in items])
    store.insert_many(PatientIdentity, [PatientIdentity(admission=a, **identity_of(r)) for _m, r, a in items])
    incidents.assert_gang_suspected(
        [
            (a.incident_id, incidents.gang_basis(a.facility.code, a.visit_number))
            for _m, _r, a in items
            if a.gang_suspected and a.incident_id
        ]
    )
    out: dict[int, tuple[int, Admission]] = {}
    for message, _r, a in items:
        count, _last = out.get(message.pk, (0, None))
        out[message.pk] = (count + 1, a)
    # One event for the batch: reporting only needs the days whose rollups changed.
    reactions.emit("admission_recorded", arrivals=[a.arrival_at for _m, _r, a in items])
    return out


def _join_incidents(admissions: list[Admission]) -> None:
    """Join each placed admission to its incident, in time order (new incidents made at the end)."""
    placed = [(a.injury_at or a.arrival_at, a) for a in admissions if a.suburb_id and a.mechanism]
    index = incidents.IncidentIndex({(a.suburb_id, a.mechanism) for _t, a in placed}, [t for t, _a in placed])
    chosen = []
    for t, a in sorted(placed, key=lambda x: x[0]):
        ref = index.join(
            (a.suburb_id, a.mechanism), t, place_type=a.place_type, fatal=a.disposition == "died"
        )
        chosen.append((a, ref))
    index.create_new()
    for a, ref in chosen:
        if isinstance(ref, Incident):
            a.incident = ref
        else:
            a.incident_id = ref
