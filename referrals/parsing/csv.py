"""A CSV upload, one admission per row, to ``Record``s and a per-row report of problems.

Every row is checked; a bad row names its column and the rest are kept. See docs/intake.md, "CSV".
"""

import csv
import io
import re
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext_lazy

from .common import (
    CONTROL,
    DISPOSITIONS,
    PLACE_TYPES,
    ROLES,
    SEX,
    TRIAGE,
    IntakeError,
    Record,
    check_visit_number,
    choice,
    has_assault_code,
    iso_time,
    paused_gc,
    place_from_codes,
    yes_no,
)
from .rules import check_record

# The descriptions are shown on the upload page in the clerk's language; the codes in them are typed as is.
CSV_COLUMNS = [
    ("facility", True, gettext_lazy("facility code, e.g. tygerberg")),
    ("visit_number", True, gettext_lazy("the hospital's visit / encounter number")),
    ("arrival_at", True, gettext_lazy("ISO date-time, e.g. 2025-06-14 23:05 (SAST when no offset)")),
    (
        "icd10_codes",
        True,
        gettext_lazy("ICD-10 codes separated by spaces or ';', at least one X85–Y09 / T74.2"),
    ),
    ("patient_id", True, gettext_lazy("folder or ID number (becomes the pseudonym; stored encrypted)")),
    ("patient_id_type", False, gettext_lazy("NI (national ID) or MR (folder number); default MR")),
    ("name", False, gettext_lazy("patient name (stored encrypted)")),
    ("date_of_birth", False, gettext_lazy("YYYY-MM-DD")),
    ("age_years", False, gettext_lazy("whole years when the date of birth is unknown")),
    ("sex", False, gettext_lazy("F, M, O or U")),
    ("injury_at", False, gettext_lazy("ISO date-time")),
    ("role", False, gettext_lazy("victim, perpetrator or unknown")),
    ("triage", False, gettext_lazy("red, orange, yellow, green, blue")),
    ("place_type", False, gettext_lazy("home, street, tavern, school, workplace, public_transport, other")),
    ("suburb", False, gettext_lazy("suburb code or name where the injury happened")),
    ("latitude", False, gettext_lazy("decimal degrees")),
    ("longitude", False, gettext_lazy("decimal degrees")),
    ("disposition", False, gettext_lazy("discharged, admitted, transferred, died, absconded")),
    ("police_informed", False, gettext_lazy("Y or N")),
    ("gang_suspected", False, gettext_lazy("Y or N")),
]
CSV_HEADER = [c for c, _, _ in CSV_COLUMNS]
CSV_REQUIRED = {c for c, req, _ in CSV_COLUMNS if req}


def record_from_row(row: dict, n: int, *, zone=None) -> Record:
    """One CSV row (dict by column) to a Record; raises IntakeError naming the column.

    ``zone``: the time zone of times without an offset (default: the current one).
    """
    for col in CSV_REQUIRED:
        if not (row.get(col) or "").strip():
            raise IntakeError(col, "This field is required.")
    rec = Record(facility_code=row["facility"].strip(), visit_number=row["visit_number"].strip(), row=n)
    rec.event = "CSV"
    check_visit_number(rec, "visit_number")
    rec.arrival_at = iso_time("arrival_at", row["arrival_at"], required=True, zone=zone)
    rec.injury_at = iso_time("injury_at", row.get("injury_at", ""), zone=zone)
    rec.icd10_codes = [c.upper() for c in re.split(r"[\s;,]+", row["icd10_codes"].strip()) if c]
    _patient(row, rec)
    rec.role = choice("role", row.get("role", ""), ROLES)
    rec.triage = choice("triage", row.get("triage", ""), TRIAGE)
    rec.place_type = choice("place_type", row.get("place_type", ""), PLACE_TYPES) or place_from_codes(
        rec.icd10_codes
    )
    rec.suburb_text = (row.get("suburb") or "").strip()
    _coordinates(row, rec)
    rec.disposition = choice("disposition", row.get("disposition", ""), DISPOSITIONS)
    rec.police_informed = yes_no("police_informed", row.get("police_informed", ""))
    rec.gang_suspected = yes_no("gang_suspected", row.get("gang_suspected", ""))
    check_record(rec)
    if not has_assault_code(rec.icd10_codes):
        raise IntakeError("icd10_codes", "No assault code (X85–Y09 or T74.2): this visit is not recorded.")
    return rec


def _patient(row: dict, rec: Record) -> None:
    """patient_id (and its type), name, date of birth or age, sex."""
    id_type = (row.get("patient_id_type") or "MR").strip().upper()
    if id_type not in ("NI", "MR"):
        raise IntakeError("patient_id_type", "The value is not NI or MR.")
    authority = "ZAF" if id_type == "NI" else rec.facility_code
    rec.identifiers = [{"value": row["patient_id"].strip(), "type": id_type, "authority": authority}]
    rec.name = (row.get("name") or "").strip()
    dob = (row.get("date_of_birth") or "").strip()
    if dob:
        try:
            rec.date_of_birth = date.fromisoformat(dob)
        except ValueError as e:
            raise IntakeError(
                "date_of_birth", "The value is not a date like 2001-05-12.", hl7_code="102"
            ) from e
    age = (row.get("age_years") or "").strip()
    if age:
        if not age.isdigit():
            raise IntakeError("age_years", "The value is not a whole number.")
        rec.age_years = int(age)
    sex = (row.get("sex") or "").strip().upper()
    if sex not in SEX:
        raise IntakeError("sex", "The value is not F, M, O or U.")
    rec.sex = SEX[sex]


def _coordinates(row: dict, rec: Record) -> None:
    for col in ("latitude", "longitude"):
        v = (row.get(col) or "").strip()
        if v:
            try:
                setattr(rec, col, float(v))
            except ValueError as e:
                raise IntakeError(col, "The value is not a number.") from e
    if rec.latitude is not None and not -90 <= rec.latitude <= 90:
        raise IntakeError("latitude", "The latitude must be -90 to 90.")
    if rec.longitude is not None and not -180 <= rec.longitude <= 180:
        raise IntakeError("longitude", "The longitude must be -180 to 180.")


def read_csv(text: str) -> tuple[list[Record], list[dict]]:
    """All rows: (good records, problems [{row, field, problem}]). Row 1 is the header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as e:  # the header line itself cannot be read (a bare CR, a cell over the limit)
        return [], [{"row": 1, "field": "csv", "problem": f"The file cannot be read here: {e}."}]
    cell = next((i for i, h in enumerate(header, start=1) if CONTROL.search(h)), None)
    if cell is not None:  # a NUL in a column name would otherwise drop that column unseen
        return [], [{"row": 1, "field": "header", "problem": f"Control characters in header cell {cell}."}]
    missing = sorted(CSV_REQUIRED - set(header))
    if missing:
        return [], [
            {"row": 1, "field": m, "problem": "This column is missing from the header."} for m in missing
        ]
    reader.fieldnames = header
    good, problems = [], []
    zone = timezone.get_current_timezone()  # looked up once per file, not twice per row
    controls = CONTROL.search(text) is not None  # one scan of the file; rows are checked only then
    try:
        with paused_gc():
            for n, row in enumerate(reader, start=2):
                if None in row:
                    problems.append(
                        {"row": n, "field": "", "problem": "The row has more cells than the header."}
                    )
                    continue
                bad = controls and next((k for k, v in row.items() if v and CONTROL.search(v)), None)
                if bad:
                    problems.append(
                        {"row": n, "field": bad, "problem": "Control characters are not allowed."}
                    )
                    continue
                try:
                    good.append(record_from_row(row, n, zone=zone))
                except IntakeError as e:
                    problems.append({"row": n, "field": e.where, "problem": e.problem})
    except csv.Error as e:
        # A cell over the csv module's limit (131,072 characters) or broken quoting: the rows from here on
        # cannot be told apart, so the whole file is refused (kept raw, as every rejected message is).
        return [], [
            {"row": reader.line_num, "field": "csv", "problem": f"The file cannot be read here: {e}."}
        ]
    return good, problems
