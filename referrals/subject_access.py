"""Subject access (POPIA s23): everything Casetrail holds about one patient, for an admin to hand
over through the information officer (docs/security.md, "Retention and subject access").

The patient is found the way intake links visits: by the keyed pseudonym of a normalised identifier
(an ID number, or a folder number qualified by its facility), widened by the other identifiers the
found visits carry (a visit sent with the ID number and one sent with the folder number only are the
same person once one of them holds both). The request is audited first (who, when, which patient by
pseudonym), and every identity and raw message it reads is audited like any other read.

Other people's data stays out: a CSV file's raw text is cut down to its header and this patient's
rows; accused names and other patients' visits are not part of the answer.
"""

import csv
import io
import json

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.errors import InvalidInput
from casework.models import Facility, PoliceCase, TransitionLog

from . import models as m
from . import permissions, services
from .crypto import normalise_identifier, pseudonym
from .models import Admission, Channel, IdentityRead, InboundMessage, PatientIdentity
from .parsing.hl7 import normalise_hl7

AUDIT_PREFIX = "subject access request"


def _pseudonyms_of_identifiers(identifiers: list[dict], facility_code: str) -> set[str]:
    """The pseudonyms intake would compute from these identifiers (each NI; each folder number)."""
    out = set()
    for ident in identifiers or []:
        value = ident.get("value", "")
        if (ident.get("type") or "").upper() == "NI":
            out.add(pseudonym(value))
        else:
            out.add(pseudonym(value, authority=ident.get("authority") or facility_code))
    return out - {""}


def _check_search(id_number: str, folder_number: str, facility: Facility | None) -> None:
    """Raises InvalidInput naming the field a search lacks."""
    if not id_number and not folder_number:
        raise InvalidInput({"id_number": _("Give an ID number, or a folder number and its facility.")})
    if folder_number and facility is None:
        raise InvalidInput({"facility": _("A folder number is only unique at its facility: choose it.")})
    if id_number and not normalise_identifier(id_number):
        raise InvalidInput({"id_number": _("The ID number has no letters or digits.")})
    if folder_number and not normalise_identifier(folder_number):
        raise InvalidInput({"folder_number": _("The folder number has no letters or digits.")})


def _visits_with_folder_number(facility: Facility, folder_number: str) -> dict[int, Admission]:
    """The facility's visits whose identity carries this folder number.

    A visit sent with the ID number as well carries the ID's pseudonym: look for the folder number
    among the identities of that facility (decrypted here, shown only if they match)."""
    wanted = normalise_identifier(folder_number)
    found = {}
    at_facility = PatientIdentity.objects.filter(admission__facility=facility).select_related("admission")
    for identity in at_facility.iterator(chunk_size=2000):
        if any(normalise_identifier(i.get("value", "")) == wanted for i in identity.identifiers or []):
            found[identity.admission_id] = identity.admission
    return found


def _widen(pseudonyms: set[str], found: dict[int, Admission]) -> None:
    """Add the visits of the identifiers the found visits carry, until nothing new turns up."""
    for _round in range(3):
        for a in Admission.objects.filter(pseudonym__in=pseudonyms - {""}):
            found[a.pk] = a
        more = set()
        for identity in PatientIdentity.objects.filter(admission_id__in=found).select_related(
            "admission__facility"
        ):
            more |= _pseudonyms_of_identifiers(identity.identifiers, identity.admission.facility.code)
        if more <= pseudonyms:
            break
        pseudonyms |= more


def find_patient(*, id_number: str = "", folder_number: str = "", facility: Facility | None = None):
    """(pseudonyms, admissions) of the patient. Raises InvalidInput naming the missing field."""
    id_number, folder_number = (id_number or "").strip(), (folder_number or "").strip()
    _check_search(id_number, folder_number, facility)
    pseudonyms: set[str] = set()
    if id_number:
        pseudonyms.add(pseudonym(id_number))
    found: dict[int, Admission] = {}
    if folder_number:
        pseudonyms.add(pseudonym(folder_number, authority=facility.code))
        found = _visits_with_folder_number(facility, folder_number)
    searched = set(pseudonyms)
    pseudonyms |= {a.pseudonym for a in found.values()}
    _widen(pseudonyms, found)
    admissions = sorted(found.values(), key=lambda a: (a.arrival_at, a.pk))
    # The patient's pseudonyms are those their visits carry (the others computed matched nothing).
    held = sorted({a.pseudonym for a in admissions} - {""})
    return held or sorted(searched), admissions


def _row_pseudonym(row: dict) -> str:
    """The pseudonym intake gives a CSV row's patient (an NI links everywhere, a folder at its facility)."""
    value = (row.get("patient_id") or "").strip()
    if (row.get("patient_id_type") or "MR").strip().upper() == "NI":
        return pseudonym(value)
    return pseudonym(value, authority=(row.get("facility") or "").strip())


def _csv_rows_of(raw: str, visits: set[tuple[str, str]], pseudonyms: set[str]) -> str:
    """A CSV file cut down to its header and this patient's lines (their visits, or their identifier),
    verbatim as received: other patients stay out. A row is one line (the template has no multi-line
    cells)."""
    lines = raw.lstrip("\ufeff").splitlines(keepends=True)
    if not lines:
        return ""
    header = [h.strip() for h in next(csv.reader([lines[0]]), [])]
    kept = [lines[0]]
    for line in lines[1:]:
        row = dict(zip(header, next(csv.reader([line]), []), strict=False))
        visit = ((row.get("facility") or "").strip(), (row.get("visit_number") or "").strip())
        if visit in visits or _row_pseudonym(row) in pseudonyms:
            kept.append(line)
    return "".join(kept) if len(kept) > 1 else ""


def _message_pseudonyms(message: InboundMessage) -> set[str]:
    """The patients' pseudonyms a raw message names (for dead letters that made no admission)."""
    raw = message.raw or ""
    try:
        if message.channel in (Channel.HL7_MLLP, Channel.HL7_HTTP):
            text = normalise_hl7(raw)
            sep = text[3] if len(text) > 3 else "|"
            out = set()
            for line in text.split("\r"):
                fields = line.split(sep)
                if fields[0] == "PID" and len(fields) > 3:
                    for rep in fields[3].split("~"):
                        c = [*rep.split("^"), "", "", "", "", ""]
                        ident = {"value": c[0].strip(), "authority": c[3].strip(), "type": c[4].strip()}
                        out |= _pseudonyms_of_identifiers([ident], message.sender)
            return out
        if message.channel == Channel.CSV:
            return {_row_pseudonym(r) for r in csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))} - {""}
        if message.channel == Channel.FORM:
            data = json.loads(raw)
            return _pseudonyms_of_identifiers(data.get("identifiers") or [], data.get("facility_code", ""))
        if message.channel == Channel.FHIR:
            out = set()
            for entry in json.loads(raw).get("entry") or []:
                res = entry.get("resource") or {}
                if res.get("resourceType") == "Patient":
                    for i in res.get("identifier") or []:
                        codes = ((i.get("type") or {}).get("coding") or [{}])[0].get("code", "")
                        ident = {"value": i.get("value", ""), "type": codes, "authority": i.get("system", "")}
                        out |= _pseudonyms_of_identifiers([ident], message.sender)
            return out
    except (ValueError, TypeError, AttributeError, IndexError, csv.Error):
        return set()  # an unreadable message names nobody we can tell
    return set()


def _when(moment):
    return moment.isoformat() if moment else None


def _case(case: PoliceCase) -> dict:
    return {
        "id": case.pk,
        "station": case.station.code,
        "cas_number": case.cas_number,
        "state": case.state,
        "opened_on": _when(case.opened_on),
        "prosecutions": [
            {
                "id": p.pk,
                "court": p.court.code,
                "case_number": p.case_number,
                "state": p.state,
                "enrolled_on": _when(p.enrolled_on),
                "finalised_on": _when(p.finalised_on),
            }
            for p in case.prosecutions.select_related("court").order_by("enrolled_on", "pk")
        ],
    }


def _identity(identity) -> dict | None:
    if identity is None:
        return None  # purged under the retention rule, or never sent
    return {
        "name": identity.name,
        "identifiers": identity.identifiers,
        "date_of_birth": identity.date_of_birth,
        "contact": identity.contact,
    }


def _incident(incident) -> dict | None:
    if not incident:
        return None
    return {
        "id": incident.pk,
        "occurred_at": _when(incident.occurred_at),
        "suburb": incident.suburb.code,
        "mechanism": incident.mechanism,
        "place_type": incident.place_type,
        "fatal": incident.fatal,
        "gang_related": incident.gang_related,
    }


def _referral(referral) -> dict | None:
    if not referral:
        return None
    return {
        "id": referral.pk,
        "station": referral.station.code,
        "state": referral.state,
        "created_at": _when(referral.created_at),
        "decline_reason": referral.decline_reason,
        "history": [
            {"transition": t.transition, "to": t.to_state, "at": _when(t.at)}
            for t in TransitionLog.for_object(referral)
        ],
    }


def _admission_facts(a: Admission) -> dict:
    return {
        "id": a.pk,
        "facility": a.facility.code,
        "visit_number": a.visit_number,
        "arrival_at": _when(a.arrival_at),
        "injury_at": _when(a.injury_at),
        "age_years": a.age_years,
        "age_band": a.age_band,
        "sex": a.sex,
        "role": a.role,
        "mechanism": a.mechanism,
        "icd10_codes": a.icd10_codes,
        "triage": a.triage,
        "place_type": a.place_type,
        "suburb": a.suburb.code if a.suburb else a.suburb_text,
        "latitude": str(a.latitude) if a.latitude is not None else None,
        "longitude": str(a.longitude) if a.longitude is not None else None,
        "disposition": a.disposition,
        "police_informed": a.police_informed,
        "gang_suspected": a.gang_suspected,
        "pseudonym": a.pseudonym,
        "recorded_at": _when(a.created_at),
    }


def _admission(a: Admission, *, actor, why: str) -> dict:
    """One admission with its identity (and earlier ones), incident, referral and dockets; each
    identity read audited."""
    identity = services.identity_read(admission=a, actor=actor, purpose=why)
    versions = []
    versions_model = getattr(m, "IdentityVersion", None)
    if versions_model is not None and versions_model.objects.filter(admission=a).exists():
        versions = services.identity_versions_read(admission=a, actor=actor, purpose=why)
    linked = Q(referrals__admission=a)
    if a.incident_id is not None:
        linked |= Q(incidents=a.incident_id)
    cases = PoliceCase.objects.filter(linked).select_related("station").distinct().order_by("opened_on", "pk")
    return _admission_facts(a) | {
        "identity": _identity(identity),
        "identity_versions": [
            {
                "replaced_at": _when(v.replaced_at),
                "replaced_by_message": v.replaced_by_message_id,
                "details": v.details,  # None once purged
            }
            for v in versions
        ],
        "incident": _incident(a.incident),
        "referral": _referral(getattr(a, "referral", None)),
        "police_cases": [_case(c) for c in cases],
    }


def _messages_of(admissions: list[Admission], wanted: set[str]) -> list[InboundMessage]:
    """The raw messages of the patient's visits, and the dead letters that name them."""
    ids = [a.pk for a in admissions]
    last_messages = [a.message_id for a in admissions if a.message_id is not None]
    messages = list(InboundMessage.objects.filter(Q(admission_id__in=ids) | Q(pk__in=last_messages)))
    # Dead letters made no admission but may carry the patient's identity: matched here by the
    # pseudonyms of the identifiers they name (read to compare; only a match is shown and audited).
    known = {msg.pk for msg in messages}
    dead = InboundMessage.objects.filter(status__in=InboundMessage.DEAD).exclude(raw="").exclude(pk__in=known)
    messages += [msg for msg in dead.iterator(chunk_size=200) if _message_pseudonyms(msg) & wanted]
    return sorted(messages, key=lambda x: (x.received_at, x.pk))


def _message(msg: InboundMessage, *, actor, why: str, visits: set, wanted: set[str]) -> dict:
    """One raw message (read audited); a CSV file cut to the patient's own lines."""
    raw = services.raw_message_read(message=msg, actor=actor, purpose=why) if msg.raw else ""
    if msg.channel == Channel.CSV and raw:
        raw = _csv_rows_of(raw, visits, wanted)
    return {
        "id": msg.pk,
        "channel": msg.channel,
        "received_at": _when(msg.received_at),
        "status": msg.status,
        "raw": raw or None,  # None: emptied (filtered, or purged under the retention rule)
    }


def _reads_before(now, admission_ids: list[int], message_ids: list[int]) -> list[dict]:
    """Who read the patient's identity or messages before this request (it is recorded with them)."""
    reads = (
        IdentityRead.objects.filter(Q(admission_id__in=admission_ids) | Q(message_id__in=message_ids))
        .filter(at__lt=now)
        .select_related("reader")
        .order_by("at", "pk")
    )
    return [
        {
            "at": _when(r.at),
            "reader": r.reader.get_username() if r.reader else None,
            "admission": r.admission_id,
            "message": r.message_id,
            "purpose": r.purpose,
        }
        for r in reads
    ]


@transaction.atomic
def subject_access_report(
    *,
    actor,
    id_number: str = "",
    folder_number: str = "",
    facility: Facility | None = None,
    purpose: str = "",
) -> dict:
    """Everything held about one patient, as a JSON-ready dict. Admins only (PermissionDenied);
    InvalidInput names a missing field. The request is audited before anything is read."""
    if not permissions.may_request_subject_access(actor):
        raise PermissionDenied("Only administrators answer subject access requests.")
    pseudonyms, admissions = find_patient(id_number=id_number, folder_number=folder_number, facility=facility)
    now = timezone.now()
    IdentityRead.objects.create(
        reader=actor,
        purpose=f"{AUDIT_PREFIX}: patient {','.join(pseudonyms)}; {len(admissions)} admissions"[:200],
    )
    why = f"{AUDIT_PREFIX}{': ' + purpose if purpose else ''}"
    ids = [a.pk for a in admissions]
    visits = {(a.facility.code, a.visit_number) for a in admissions}
    out_admissions = [
        _admission(a, actor=actor, why=why)
        for a in Admission.objects.filter(pk__in=ids)
        .select_related(
            "facility", "suburb", "incident__suburb", "referral__station", "referral__police_case__station"
        )
        .order_by("arrival_at", "pk")
    ]
    wanted = set(pseudonyms)
    out_messages = [
        _message(msg, actor=actor, why=why, visits=visits, wanted=wanted)
        for msg in _messages_of(admissions, wanted)
    ]
    return {
        "generated_at": _when(now),
        "generated_by": actor.get_username(),
        "searched_by": {
            "id_number": (id_number or "").strip(),
            "folder_number": (folder_number or "").strip(),
            "facility": facility.code if facility else "",
        },
        "pseudonyms": pseudonyms,
        "admissions": out_admissions,
        "messages": out_messages,
        "identity_reads": _reads_before(now, ids, [msg["id"] for msg in out_messages]),
    }
