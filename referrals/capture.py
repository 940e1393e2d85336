"""What the capture pages read: the admission a visit number already has, what saving the form again
would change on it (in words), and a form filled from a refused submission so it can be fixed.

Reads only; the writes are ``intake.receive.inbound_receive_form`` and ``dead_letters``.
"""

import csv
import io
import json
import re
from datetime import datetime

from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from casework.models import Mechanism, PlaceType, Suburb

from . import permissions
from .forms import CaptureForm
from .models import Admission, Disposition, IdentityRead, InboundMessage, Role, Sex, Triage
from .parsing.common import Record
from .parsing.csv import CSV_HEADER

YES_NO = {True: "Y", False: "N", None: ""}


def existing_admission(user, rec: Record) -> Admission | None:
    """The admission of this visit at this facility, when the user may see it."""
    return (
        permissions.visible_admissions(user)
        .filter(facility__code=rec.facility_code, visit_number=rec.visit_number)
        .select_related("suburb")
        .first()
    )


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


def _label(choices, value) -> str:
    return str(choices(value).label) if value else "—"


def _yes_no(value) -> str:
    return {True: _("Yes"), False: _("No")}.get(value, "—")


def changes(admission: Admission, rec: Record) -> list[tuple[str, str, str]]:
    """(what, now, after saving) for each field the form would change; the update keeps what the form
    leaves empty, as every channel's update does (``intake.admissions.fill``)."""
    suburb = Suburb.objects.filter(code=rec.suburb_text).first() if rec.suburb_text else None
    rows = [
        (_("Arrival"), _when(admission.arrival_at), _when(rec.arrival_at)),
        (_("Mechanism"), _label(Mechanism, admission.mechanism), _label(Mechanism, rec.mechanism)),
        (_("ICD-10 codes"), " ".join(admission.icd10_codes) or "—", " ".join(rec.icd10_codes)),
        (_("Sex"), _label(Sex, admission.sex), _label(Sex, rec.sex)),
    ]
    optional = [
        (_("Injury time"), _when(admission.injury_at), rec.injury_at and _when(rec.injury_at)),
        (_("Triage"), _label(Triage, admission.triage), rec.triage and _label(Triage, rec.triage)),
        (_("Place"), _label(PlaceType, admission.place_type),
         rec.place_type and _label(PlaceType, rec.place_type)),
        (_("Role"), _label(Role, admission.role), rec.role and _label(Role, rec.role)),
        (_("Suburb"), str(admission.suburb or "—"), suburb and str(suburb)),
        (_("Disposition"), _label(Disposition, admission.disposition),
         rec.disposition and _label(Disposition, rec.disposition)),
        (_("Age"), str(admission.age_years if admission.age_years is not None else "—"),
         rec.age_years is not None and str(rec.age_years)),
        (_("Police already informed"), _yes_no(admission.police_informed),
         rec.police_informed is not None and _yes_no(rec.police_informed)),
        (_("Gang-related suspected"), _yes_no(admission.gang_suspected),
         rec.gang_suspected is not None and _yes_no(rec.gang_suspected)),
    ]  # fmt: skip
    rows += [(what, now, after) for what, now, after in optional if after]
    return [(what, now, after) for what, now, after in rows if now != after]


def refused_form_data(message: InboundMessage, actor, row: int | None = None) -> dict:
    """What the clerk sent in a refused form message, or one row of a CSV file, as form data. The raw
    text carries identity: the read is audited like any other."""
    IdentityRead.objects.create(reader=actor, message=message, purpose=f"fix own submission (row {row})")
    if row is None:
        data = json.loads(message.raw)
        return {"facility": data.get("facility_code", ""), "visit_number": data.get("visit_number", "")} | (
            _json_fields(data)
        )
    reader = csv.DictReader(io.StringIO(message.raw.lstrip("\ufeff")))
    reader.fieldnames = [h.strip() for h in reader.fieldnames or []]
    for n, values in enumerate(reader, start=2):
        if n == row:
            return _csv_fields(values)
    return {}


def _json_fields(data: dict) -> dict:
    ident = (data.get("identifiers") or [{}])[0]
    out = {k: data.get(k) or "" for k in ("arrival_at", "injury_at", "date_of_birth", "name", "triage")}
    out.update({k: data.get(k) or "" for k in ("place_type", "disposition", "sex", "role")})
    for key in ("arrival_at", "injury_at"):  # stored in UTC with an offset; the form shows local time
        out[key] = _local_input(out[key])
    out.update(
        icd10_codes=" ".join(data.get("icd10_codes") or []),
        suburb=data.get("suburb_text") or "",
        age_years=data.get("age_years") if data.get("age_years") is not None else "",
        patient_id=ident.get("value", ""),
        patient_id_type="NI" if (ident.get("type") or "").upper() == "NI" else "MR",
        police_informed=YES_NO[data.get("police_informed")],
        gang_suspected=YES_NO[data.get("gang_suspected")],
    )
    return out


def _local_input(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if timezone.is_aware(moment) else value


def _csv_fields(values: dict) -> dict:
    v = {k: (values.get(k) or "").strip() for k in CSV_HEADER}
    return {
        "facility": v["facility"],
        "visit_number": v["visit_number"],
        "arrival_at": v["arrival_at"],
        "icd10_codes": v["icd10_codes"],
        "patient_id": v["patient_id"],
        "patient_id_type": "NI" if v["patient_id_type"].upper() == "NI" else "MR",
        "name": v["name"],
        "date_of_birth": v["date_of_birth"],
        "age_years": v["age_years"],
        "sex": {"F": "female", "M": "male", "O": "other"}.get(v["sex"].upper(), "unknown"),
        "injury_at": v["injury_at"],
        "role": v["role"].lower() or "victim",
        "triage": v["triage"].lower(),
        "place_type": v["place_type"].lower(),
        "suburb": v["suburb"],
        "disposition": v["disposition"].lower(),
        "police_informed": v["police_informed"].upper()[:1],
        "gang_suspected": v["gang_suspected"].upper()[:1],
    }


CODE_WORD = re.compile(r"\b[a-z]+_[a-z_]+\b")


def column_help(text: str) -> SafeString:
    """A CSV column's help with the values to type that are codes (``public_transport``) shown as such."""
    # Escaped first: only the <code> tags added here are markup.
    return mark_safe(CODE_WORD.sub(lambda m: f"<code>{m.group()}</code>", conditional_escape(text)))


def field_words(column: str) -> str:
    """A CSV column or form field as the capture form calls it (``patient_id`` → "Folder or ID number")."""
    field = CaptureForm.base_fields.get(column)
    return str(field.label) if field is not None else column.replace("_", " ").capitalize()


def submission_words(message: InboundMessage) -> str:
    """A submission's status as the clerk reads it: never "received" for what was refused."""
    status = InboundMessage.Status
    report = message.report or {}
    if message.channel == "csv" and message.status not in InboundMessage.DEAD and report.get("rows"):
        kept = _("%(accepted)s of %(rows)s rows kept") % report
        refused = len(report.get("skipped_rows") or [])
        if refused:
            kept += ", " + _("%(n)s refused: fix them below") % {"n": refused}
        if message.status in InboundMessage.UNFINISHED:
            return _("Received, waiting to be processed") + f" ({kept})"
        return _("Processed") + f" ({kept})"
    return {
        status.RECEIVED: _("Received, waiting to be processed"),
        status.PROCESSING: _("Received, being processed"),
        status.PROCESSED: _("Processed: the admission is recorded"),
        status.DUPLICATE: _("Already received before: nothing changed"),
        status.FILTERED: _("Not recorded: no assault code (X85–Y09)"),
        status.REJECTED: _("Refused"),
        status.FAILED: _("Refused while processing"),
    }[message.status]
