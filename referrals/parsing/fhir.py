"""A FHIR R4 Bundle (validated with ``fhir.resources.R4B``) to a ``Record``.

Patient, Encounter (class EMER, serviceProvider → the Organization whose identifier is the
facility code), Condition codes of the ICD-10 system, Observations of ``urn:casetrail``. Raises
``IntakeError`` naming the element (``Encounter.period.start``). See docs/intake.md.
"""

import json
from datetime import date, datetime

from .common import (
    CONTROL,
    DISPOSITIONS,
    PLACE_TYPES,
    ROLES,
    TRIAGE,
    IntakeError,
    Record,
    aware,
    check_visit_number,
    choice,
    place_from_codes,
    yes_no,
)
from .rules import Fields, check_record

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
CASETRAIL_SYSTEM = "urn:casetrail"


def _pydantic_path(raw: dict, loc: tuple) -> str:
    """('entry', 0, 'resource', 'period', 'start') → 'Encounter.period.start' (entry 0)."""
    parts = list(loc)
    if len(parts) >= 3 and parts[0] == "entry" and isinstance(parts[1], int) and parts[2] == "resource":
        try:
            rtype = raw["entry"][parts[1]]["resource"]["resourceType"]
        except (KeyError, IndexError, TypeError):
            rtype = f"Bundle.entry[{parts[1]}].resource"
        rest = parts[3:]
        out = rtype
    else:
        rest, out = parts, "Bundle"
    for p in rest:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def escape_json_controls(text: str) -> str:
    """A FHIR body with each raw control character written as its JSON escape, so it can be stored; the
    parsed value still holds it and ``parse_fhir`` refuses it, naming the element."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _control_path(value, path: str, depth: int = 0) -> str:
    """The first element (``Bundle.entry[0].resource.id``) whose text holds a control character, or ""."""
    if depth > 64:
        return path
    if isinstance(value, str):
        return path if CONTROL.search(value) else ""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        name = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        if isinstance(key, str) and CONTROL.search(key):
            return path
        found = _control_path(item, name, depth + 1)
        if found:
            return found
    return ""


def parse_fhir(body: str | bytes) -> tuple[str, Record]:
    """A Bundle to (bundle id for de-duplication, Record). Raises IntakeError naming the element."""
    bundle = _bundle(body)
    by_type, by_ref = _resources(bundle)
    patient, enc = _only(by_type, "Patient"), _only(by_type, "Encounter")
    rec = _encounter(enc, by_ref)
    _patient(patient, rec)
    places = []  # the element of each code, for the error naming it
    for i, cond in enumerate(by_type.get("Condition", [])):
        for coding in (cond.code.coding if cond.code else None) or []:
            if coding.system == ICD10_SYSTEM and coding.code:
                rec.icd10_codes.append(coding.code.upper())
                places.append(f"Condition[{i}].code.coding.code")
            elif coding.system == ICD10_SYSTEM:
                raise IntakeError(f"Condition[{i}].code.coding.code", "The ICD-10 code is empty.")
    for obs in by_type.get("Observation", []):
        _observation(obs, rec)
    if not rec.place_type:
        rec.place_type = place_from_codes(rec.icd10_codes)
    fields = Fields(
        arrival="Encounter.period.start",
        injury="Observation(INJURY_TIME)",
        dob="Patient.birthDate",
        codes=places,
        identifier="Patient.identifier",
    )
    check_record(rec, fields)
    control = (bundle.identifier.value if bundle.identifier and bundle.identifier.value else "") or (
        bundle.id or ""
    )
    return str(control)[:120], rec


def _bundle(body: str | bytes):
    """The body as a validated Bundle; an error names the element and the rule, never the value."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        raw = json.loads(body)
    except RecursionError:
        raise IntakeError("Bundle", "The JSON is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise IntakeError("Bundle", f"The body is not JSON (line {getattr(e, 'lineno', '?')}).") from e
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        raise IntakeError("Bundle.resourceType", "A FHIR Bundle is required.")
    where = _control_path(raw, "Bundle")
    if where:
        raise IntakeError(where, "Control characters (such as NUL) are not allowed.")
    try:
        return Bundle.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        # pydantic's message may quote the value: name the element and the rule broken only.
        raise IntakeError(
            _pydantic_path(raw, first["loc"]), f"The value is not valid ({first['type']})."
        ) from e
    except (ValueError, TypeError, KeyError) as e:
        raise IntakeError("Bundle", f"The bundle is not valid FHIR R4 ({type(e).__name__}).") from e


def _resources(bundle) -> tuple[dict[str, list], dict[str, object]]:
    """The bundle's resources by type, and by the references that name them."""
    by_type: dict[str, list] = {}
    by_ref: dict[str, object] = {}
    for entry in bundle.entry or []:
        res = entry.resource
        if res is None:
            continue
        by_type.setdefault(res.get_resource_type(), []).append(res)
        if entry.fullUrl:
            by_ref[entry.fullUrl] = res
        if getattr(res, "id", None):
            by_ref[f"{res.get_resource_type()}/{res.id}"] = res
    return by_type, by_ref


def _only(by_type: dict[str, list], rtype: str):
    found = by_type.get(rtype, [])
    if not found:
        raise IntakeError(rtype, f"The bundle has no {rtype}.")
    return found[0]


def _encounter(enc, by_ref: dict[str, object]) -> Record:
    """Class EMER, the facility (serviceProvider → Organization.identifier), visit number, arrival."""
    if not enc.class_fhir or enc.class_fhir.code != "EMER":
        raise IntakeError("Encounter.class", "The encounter class must be EMER (emergency).", hl7_code="103")
    if not (enc.serviceProvider and enc.serviceProvider.reference):
        raise IntakeError(
            "Encounter.serviceProvider", "The facility (an Organization reference) is required."
        )
    org = by_ref.get(enc.serviceProvider.reference)
    if org is None:
        raise IntakeError("Encounter.serviceProvider", "The reference is not an Organization in the bundle.")
    if org.get_resource_type() != "Organization" or not org.identifier or not org.identifier[0].value:
        raise IntakeError("Organization.identifier.value", "The facility code is required.", ack="AR")
    visit = next((i.value for i in enc.identifier or [] if i.value), "") or (enc.id or "")
    if not visit:
        raise IntakeError(
            "Encounter.identifier", "The visit number (Encounter.identifier.value) is required."
        )
    if not enc.period or not enc.period.start:
        raise IntakeError("Encounter.period.start", "The arrival time is required.")
    rec = Record(facility_code=org.identifier[0].value.strip(), visit_number=str(visit).strip(), event="FHIR")
    check_visit_number(rec, "Encounter.identifier")
    rec.arrival_at = aware(enc.period.start)
    return rec


def _patient(patient, rec: Record) -> None:
    for ident in patient.identifier or []:
        if ident.value:
            rec.identifiers.append(
                {"value": ident.value, "authority": ident.system or "", "type": _code_of(ident.type) or ""}
            )
    if not rec.identifiers:
        raise IntakeError("Patient.identifier", "A patient identifier is required.")
    if patient.name:
        n = patient.name[0]
        rec.name = n.text or " ".join([*(n.given or []), n.family or ""]).strip()
    if patient.telecom:
        rec.contact = patient.telecom[0].value or ""
    if patient.birthDate:
        rec.date_of_birth = patient.birthDate if isinstance(patient.birthDate, date) else None
    rec.sex = {"female": "female", "male": "male", "other": "other"}.get(patient.gender or "", "unknown")


# Observations with a list of values: the Record's attribute and the list.
_CHOICES = {
    "TRIAGE": ("triage", TRIAGE),
    "PLACE_TYPE": ("place_type", PLACE_TYPES),
    "ROLE": ("role", ROLES),
    "DISPOSITION": ("disposition", DISPOSITIONS),
}


def _observation(obs, rec: Record) -> None:
    """One ``urn:casetrail`` Observation (the OBX items of HL7) onto the record; others are ignored."""
    coding = next((c for c in (obs.code.coding or []) if c.system == CASETRAIL_SYSTEM), None)
    if coding is None:
        return
    key = (coding.code or "").upper()
    value = obs.valueString or _code_of(obs.valueCodeableConcept) or ""
    if obs.valueBoolean is not None:
        value = "Y" if obs.valueBoolean else "N"
    if obs.valueDateTime is not None:
        value = obs.valueDateTime
    where = f"Observation({key}).value"
    if key in _CHOICES:
        setattr(rec, _CHOICES[key][0], choice(where, value, _CHOICES[key][1]))
    elif key == "INJURY_TIME":
        rec.injury_at = _fhir_time(where, value)
    elif key == "SUBURB":
        rec.suburb_text = str(value).strip()
    elif key in ("GANG_SUSPECTED", "POLICE_INFORMED"):
        setattr(rec, key.lower(), yes_no(where, value))


def _code_of(concept) -> str:
    if concept is None:
        return ""
    if concept.coding:
        return concept.coding[0].code or ""
    return concept.text or ""


def _fhir_time(where: str, value) -> datetime | None:
    if isinstance(value, datetime):
        return aware(value)
    try:
        return aware(datetime.fromisoformat(str(value)))
    except ValueError as e:
        raise IntakeError(where, "The value is not an ISO date-time.") from e
