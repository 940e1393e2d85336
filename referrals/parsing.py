"""From what a hospital sends (HL7 v2 ADT, FHIR R4 bundle, CSV row, form) to one ``Record``.

Pure functions, no database: each raises ``IntakeError`` naming the field or element that is
wrong. Looking things up (facility, suburb) is the services' job. See docs/intake.md.
"""

import csv
import gc
import io
import json
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from hl7 import util as hl7_util

# ---------------------------------------------------------------- the common shape


class IntakeError(Exception):
    """Bad input. ``where`` names the field (``PV1-19``, ``Encounter.period.start``, ``arrival_at``).

    ``ack`` is the HL7 acknowledgement code it earns: ``AE`` (fix the content and resend) or
    ``AR`` (rejected: unknown sender, unsupported message, unreadable header).
    ``hl7_code`` is the HL7 table 0357 error code for the ERR segment.
    """

    def __init__(self, where: str, problem: str, *, ack: str = "AE", hl7_code: str = "101"):
        self.where, self.problem, self.ack, self.hl7_code = where, problem, ack, hl7_code
        super().__init__(f"{where}: {problem}" if where else problem)


@dataclass
class Record:
    """One admission as a channel described it (codes, not database rows)."""

    facility_code: str
    visit_number: str
    arrival_at: datetime | None = None
    event: str = ""
    injury_at: datetime | None = None
    date_of_birth: date | None = None
    age_years: int | None = None
    sex: str = "unknown"
    role: str = ""
    icd10_codes: list[str] = field(default_factory=list)
    triage: str = ""
    place_type: str = ""
    place_text: str = ""
    suburb_text: str = ""
    latitude: float | None = None
    longitude: float | None = None
    disposition: str = ""
    police_informed: bool | None = None
    gang_suspected: bool | None = None
    name: str = ""
    identifiers: list[dict] = field(default_factory=list)
    contact: str = ""
    row: int | None = None

    @property
    def mechanism(self) -> str:
        return mechanism_of(self.icd10_codes)

    def as_json(self) -> dict:
        out = asdict(self)
        for key in ("arrival_at", "injury_at", "date_of_birth"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


# ---------------------------------------------------------------- ICD-10 (WHO edition)

MECHANISM_BY_CATEGORY = {
    **{f"X{n}": "poisoning" for n in range(85, 91)},
    "X91": "strangulation",
    **{f"X{n}": "firearm" for n in (93, 94, 95)},
    "X97": "burn",
    "X98": "burn",
    "X99": "sharp",
    "Y00": "blunt",
    "Y04": "bodily_force",
    "Y05": "sexual",
}
# WHO 4th character "place of occurrence" for X85–Y09 (not Y06/Y07, whose 4th is the perpetrator).
PLACE_BY_4TH = {"0": "home", "2": "school", "4": "street", "6": "workplace", "7": "workplace"}
PLACE_BY_4TH.update({"1": "other", "3": "other", "5": "other", "8": "other"})


_NOT_CODE = re.compile(r"[^0-9A-Z]")


def normalise_code(code: str) -> str:
    c = (code or "").upper().replace(".", "")
    return c if c.isascii() and c.isalnum() else _NOT_CODE.sub("", c)  # the common case without a regex


def is_assault(code: str) -> bool:
    """X85–Y09 (assault), and T74.2 (sexual abuse). Y35 (legal intervention) is not assault."""
    c = normalise_code(code)
    return "X85" <= c[:3] <= "Y09" or c.startswith("T742")


def mechanism_of(codes: list[str]) -> str:
    """Sexual if any Y05 / T74.2 is present, else from the first X85–Y09 code; '' when none."""
    norm = [normalise_code(c) for c in codes]
    if any(c.startswith("Y05") or c.startswith("T742") for c in norm):
        return "sexual"
    for c in norm:
        if "X85" <= c[:3] <= "Y09":
            return MECHANISM_BY_CATEGORY.get(c[:3], "other")
    return ""


def place_from_codes(codes: list[str]) -> str:
    for c in map(normalise_code, codes):
        if "X85" <= c[:3] <= "Y09" and c[:3] not in ("Y06", "Y07") and len(c) >= 4:
            return PLACE_BY_4TH.get(c[3], "")
    return ""


# ---------------------------------------------------------------- shared value checks

TRIAGE = {"red", "orange", "yellow", "green", "blue"}
PLACE_TYPES = {"home", "street", "tavern", "school", "workplace", "public_transport", "other"}
ROLES = {"victim", "perpetrator", "unknown"}
DISPOSITIONS = {"discharged", "admitted", "transferred", "died", "absconded"}
SEX = {"F": "female", "M": "male", "O": "other", "A": "other", "U": "unknown", "N": "unknown"}
SEX.update({"FEMALE": "female", "MALE": "male", "OTHER": "other", "UNKNOWN": "unknown", "": "unknown"})
YES = {"Y": True, "YES": True, "TRUE": True, "1": True, "N": False, "NO": False, "FALSE": False, "0": False}
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.get_fixed_timezone(120))


def choice(where: str, value: str, allowed: set[str], *, lower: bool = True) -> str:
    v = (value or "").strip()
    v = v.lower() if lower else v
    if v and v not in allowed:
        raise IntakeError(where, f"The value is not one of {', '.join(sorted(allowed))}.", hl7_code="103")
    return v


def yes_no(where: str, value: str) -> bool | None:
    v = (value or "").strip().upper()
    if not v:
        return None
    if v not in YES:
        raise IntakeError(where, "The value is not Y or N.", hl7_code="103")
    return YES[v]


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def check_times(rec: Record, *, arrival: str, injury: str, dob: str) -> None:
    """Impossible or implausible dates name their field."""
    now = timezone.now()
    if rec.arrival_at is None:
        raise IntakeError(arrival, "The arrival time is required.")
    if rec.arrival_at > now + timedelta(minutes=10):
        raise IntakeError(arrival, "The arrival time is in the future.", hl7_code="102")
    if rec.arrival_at < EARLIEST:
        raise IntakeError(arrival, "The arrival time is before 1990.", hl7_code="102")
    if rec.injury_at is not None:
        if rec.injury_at > rec.arrival_at + timedelta(minutes=10):
            raise IntakeError(injury, "The injury time is after the arrival time.", hl7_code="102")
        if rec.injury_at < rec.arrival_at - timedelta(days=60):
            raise IntakeError(injury, "The injury time is more than 60 days before arrival.", hl7_code="102")
    if rec.date_of_birth is not None:
        local_arrival = timezone.localtime(rec.arrival_at).date()
        if rec.date_of_birth > local_arrival:
            raise IntakeError(dob, "The date of birth is after the arrival.", hl7_code="102")
        rec.age_years = age_on(rec.date_of_birth, local_arrival)
        if rec.age_years > 120:
            raise IntakeError(dob, "The date of birth gives an age over 120.", hl7_code="102")
    if rec.age_years is not None and not 0 <= rec.age_years <= 120:
        raise IntakeError("age_years", "The age must be 0 to 120.", hl7_code="102")


# ---------------------------------------------------------------- HL7 v2

SUPPORTED_EVENTS = {"A01", "A03", "A04", "A08"}
HL7_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")
# PV1-36 discharge disposition (HL7 table 0112) to ours.
DISPOSITION_0112 = {"01": "discharged", "02": "transferred", "03": "transferred", "04": "transferred"}
DISPOSITION_0112.update({"07": "absconded", "20": "died", "09": "admitted"})


def hl7_timestamp(where: str, value: str, *, required: bool = False) -> datetime | None:
    """``YYYY[MM[DD[HH[MM[SS]]]]][+ZZZZ]``; without an offset it is South African time."""
    v = (value or "").strip()
    if not v:
        if required:
            raise IntakeError(where, "This field is required.")
        return None
    m = HL7_TS.match(v)
    if not m or m.group(3) is None:
        raise IntakeError(where, "The value is not an HL7 timestamp (YYYYMMDDHHMM[SS]).", hl7_code="102")
    y, mo, d, h, mi, s, tz = m.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError as e:
        raise IntakeError(where, "The value is not a real date/time.", hl7_code="102") from e
    if tz:
        sign = 1 if tz[0] == "+" else -1
        return naive.replace(tzinfo=timezone.get_fixed_timezone(sign * (int(tz[1:3]) * 60 + int(tz[3:]))))
    return timezone.make_aware(naive)


def hl7_date(where: str, value: str) -> date | None:
    ts = hl7_timestamp(where, value)
    return ts.date() if ts else None


def normalise_hl7(raw: str | bytes) -> str:
    """Strip MLLP framing and accept LF / CRLF segment ends (segments end with CR)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    raw = raw.strip("\x0b\x1c\r\n \t")
    return raw.replace("\r\n", "\r").replace("\n", "\r")


# A control character other than the segment end and tab (NUL above all: PostgreSQL refuses it in text).
_HL7_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_controls(text: str) -> tuple[str, IntakeError | None]:
    """The message with each control character written as HL7's hex escape (``\\X00\\``), so its raw
    can be kept, and the error naming the first field that held one (AE, 0357 code 102), or None."""
    match = _HL7_CONTROL.search(text)
    if match is None:
        return text, None
    segment = text[: match.start()].rsplit("\r", 1)[-1]
    name, separator, rest = segment.partition("|")
    name = _HL7_CONTROL.sub("", name)[:3] or "MSH"
    # MSH-1 is the field separator itself, so MSH's fields count one further than other segments'.
    where = f"{name}-{rest.count('|') + (2 if name == 'MSH' else 1)}" if separator else name
    escaped = _HL7_CONTROL.sub(lambda m: f"\\X{ord(m.group()):02X}\\", text)
    return escaped, IntakeError(where, "Control characters (such as NUL) are not allowed.", hl7_code="102")


@dataclass
class Header:
    """What the ACK needs from MSH, read without trusting the rest of the message."""

    sending_app: str = ""
    sender: str = ""
    control_id: str = ""
    message_type: str = ""
    event: str = ""
    version: str = "2.5"


def hl7_header(raw: str) -> Header:
    """Read MSH by hand: even a message the parser refuses gets a meaningful ACK."""
    first = raw.split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        raise IntakeError("MSH", "The message does not start with an MSH segment.", ack="AR", hl7_code="100")
    sep = first[3]
    fields = first.split(sep)
    # fields[0] = MSH, fields[1] = encoding characters: MSH-n is fields[n-1].
    comp = fields[1][0] if fields[1] else "^"

    def msh(n: int) -> str:
        return fields[n - 1] if len(fields) >= n else ""

    mtype = msh(9).split(comp)
    return Header(
        sending_app=msh(3).split(comp)[0],
        sender=msh(4).split(comp)[0].strip(),
        control_id=msh(10).strip()[:120],
        message_type=msh(9),
        event=(mtype[1] if len(mtype) > 1 else "").strip().upper(),
        version=msh(12) or "2.5",
    )


class _Segments:
    """A message split into segments and fields, enough for ``parse_hl7``.

    ``hl7.parse`` builds a container per field, component and repetition: most of the time of
    processing a message went there. Only a few fields are read, so splitting the text on the
    separators MSH declares is enough; escapes are undone by the hl7 package's own ``unescape``.
    """

    def __init__(self, raw: str):
        first = raw.split("\r", 1)[0]
        encoding = (first[4:].split(first[3], 1)[0] + "^~\\&")[:4]
        # The attributes hl7.util.unescape reads: (segment, field, repetition, component, sub) and esc.
        self.separators = ("\r", first[3], encoding[1], encoding[0], encoding[3])
        self.esc = encoding[2]
        self.by_name: dict[str, list[list[str]]] = {}
        for line in raw.split("\r"):
            if line:
                fields = line.split(first[3])
                self.by_name.setdefault(fields[0].strip(), []).append(fields)

    def segment(self, name: str) -> list[str]:
        return self.segments(name)[0]

    def segments(self, name: str) -> list[list[str]]:
        if name not in self.by_name:
            raise KeyError(name)
        return self.by_name[name]

    def unescape(self, text: str) -> str:
        return hl7_util.unescape(self, text)


def _f(seg, n: int) -> str:
    """Field n of a segment as text ('' when absent)."""
    return str(seg[n]) if len(seg) > n else ""


def _comps(value: str) -> list[str]:
    return value.split("^")


def parse_hl7(raw: str) -> tuple[Header, Record]:
    """An ADT A01/A04/A08/A03 to a Record. Raises IntakeError naming the HL7 field."""
    raw = normalise_hl7(raw)
    header = hl7_header(raw)
    if not header.sender:
        raise IntakeError("MSH-4", "The sending facility is required.", ack="AR")
    if not header.control_id:
        raise IntakeError("MSH-10", "The message control id is required.", ack="AR")
    mtype = header.message_type.split("^")[0].upper()
    if mtype != "ADT":
        raise IntakeError("MSH-9", "The message type is not ADT.", ack="AR", hl7_code="200")
    if header.event not in SUPPORTED_EVENTS:
        raise IntakeError("MSH-9", "The event is not A01, A03, A04 or A08.", ack="AR", hl7_code="201")
    msg = _Segments(raw)

    def one(name: str, required: bool = True):
        try:
            return msg.segment(name)
        except KeyError:
            if required:
                raise IntakeError(name, f"The {name} segment is required.", hl7_code="100") from None
            return None

    pid, pv1 = one("PID"), one("PV1")
    unescape = msg.unescape
    rec = Record(facility_code=header.sender, visit_number="", event=header.event)
    rec.visit_number = _comps(_f(pv1, 19))[0].strip()
    if not rec.visit_number:
        raise IntakeError("PV1-19", "The visit number is required.")
    patient_class = _f(pv1, 2).strip().upper()
    if patient_class and patient_class != "E":
        raise IntakeError("PV1-2", "The patient class is not E (emergency).", hl7_code="103")
    rec.arrival_at = hl7_timestamp("PV1-44", _comps(_f(pv1, 44))[0], required=True)
    # Identity: PID-3 repeats (folder number MR, national ID NI, …), PID-5 name, PID-13 phone.
    for rep in _f(pid, 3).split("~"):
        c = _comps(rep) + [""] * 5
        if c[0].strip():
            rec.identifiers.append(
                {"value": unescape(c[0].strip()), "authority": c[3].strip(), "type": c[4].strip()}
            )
    if not rec.identifiers:
        raise IntakeError("PID-3", "A patient identifier is required.")
    name = _comps(_f(pid, 5).split("~")[0])
    rec.name = unescape(" ".join(p for p in [*name[1:3], name[0]] if p).strip())
    rec.contact = unescape(_comps(_f(pid, 13).split("~")[0])[0])
    rec.date_of_birth = hl7_date("PID-7", _comps(_f(pid, 7))[0])
    rec.sex = SEX.get(_f(pid, 8).strip().upper(), "unknown")
    disp = _f(pv1, 36).strip()
    if disp:
        rec.disposition = DISPOSITION_0112.get(disp, "") or choice("PV1-36", disp, DISPOSITIONS)
    # Diagnoses: DG1-3 on every DG1, then ACC-2.
    try:
        dg1s = msg.segments("DG1")
    except KeyError:
        dg1s = []
    for i, dg1 in enumerate(dg1s, start=1):
        code = _comps(_f(dg1, 3))[0].strip()
        if code:
            rec.icd10_codes.append(code.upper())
        elif not _f(dg1, 4):
            raise IntakeError(f"DG1({i})-3", "The diagnosis code is empty.")
    acc = one("ACC", required=False)
    if acc is not None:
        cause = _comps(_f(acc, 2))[0].strip()
        if cause:
            rec.icd10_codes.append(cause.upper())
        rec.injury_at = hl7_timestamp("ACC-1", _f(acc, 1))
        rec.place_text = unescape(_comps(_f(acc, 3))[0])
        rec.police_informed = yes_no("ACC-10", _f(acc, 10))
    try:
        obxs = msg.segments("OBX")
    except KeyError:
        obxs = []
    for obx in obxs:
        key = _comps(_f(obx, 3))[0].strip().upper()
        value = unescape(_comps(_f(obx, 5))[0]).strip()
        where = f"OBX-5 ({key})"
        if key == "TRIAGE":
            rec.triage = choice(where, value, TRIAGE)
        elif key == "INJURY_TIME" and rec.injury_at is None:
            rec.injury_at = hl7_timestamp(where, value)
        elif key == "PLACE_TYPE":
            rec.place_type = choice(where, value, PLACE_TYPES)
        elif key == "SUBURB":
            rec.suburb_text = value
        elif key == "ROLE":
            rec.role = choice(where, value, ROLES)
        elif key == "GANG_SUSPECTED":
            rec.gang_suspected = yes_no(where, value)
        elif key == "POLICE_INFORMED" and rec.police_informed is None:
            rec.police_informed = yes_no(where, value)
        elif key == "DISPOSITION":
            rec.disposition = choice(where, value, DISPOSITIONS)
    if rec.place_text and not rec.place_type:
        low = rec.place_text.lower()
        rec.place_type = next((p for p in PLACE_TYPES if p in low), "")
    if not rec.place_type:
        rec.place_type = place_from_codes(rec.icd10_codes)
    check_times(
        rec, arrival="PV1-44", injury="ACC-1" if acc is not None else "OBX-5 (INJURY_TIME)", dob="PID-7"
    )
    return header, rec


def hl7_precheck(raw: str) -> tuple[Header, Record]:
    """The cheap checks that decide the ACK before anything is processed (no full parse).

    Splits segments and fields only (``hl7.parse`` runs later, in the task): header, message
    type, patient identifier, patient class, visit number, arrival time, date of birth, the
    coded OBX values. Returns the header and a partial Record (visit number, times, the
    diagnosis codes of DG1-3 and ACC-2 for the assault-code filter). Raises IntakeError
    naming the field.
    """
    header = hl7_header(raw)
    if not header.sender:
        raise IntakeError("MSH-4", "The sending facility is required.", ack="AR")
    if not header.control_id:
        raise IntakeError("MSH-10", "The message control id is required.", ack="AR")
    if header.message_type.split("^")[0].upper() != "ADT":
        raise IntakeError("MSH-9", "The message type is not ADT.", ack="AR", hl7_code="200")
    if header.event not in SUPPORTED_EVENTS:
        raise IntakeError("MSH-9", "The event is not A01, A03, A04 or A08.", ack="AR", hl7_code="201")
    segs: dict[str, list[list[str]]] = {}
    for line in raw.split("\r")[1:]:
        if line:
            fields = line.split("|")
            segs.setdefault(fields[0].strip(), []).append(fields)

    def first(name: str) -> list[str]:
        if name not in segs:
            raise IntakeError(name, f"The {name} segment is required.", hl7_code="100")
        return segs[name][0]

    def f(seg: list[str], n: int) -> str:
        return seg[n].split("^")[0].strip() if len(seg) > n else ""

    pid, pv1 = first("PID"), first("PV1")
    if not f(pv1, 19):
        raise IntakeError("PV1-19", "The visit number is required.")
    patient_class = f(pv1, 2).upper()
    if patient_class and patient_class != "E":
        raise IntakeError("PV1-2", "The patient class is not E (emergency).", hl7_code="103")
    if not any(rep.split("^")[0].strip() for rep in (pid[3] if len(pid) > 3 else "").split("~")):
        raise IntakeError("PID-3", "A patient identifier is required.")
    probe = Record(facility_code=header.sender, visit_number=f(pv1, 19))
    probe.arrival_at = hl7_timestamp("PV1-44", f(pv1, 44), required=True)
    probe.date_of_birth = hl7_date("PID-7", f(pid, 7))
    codes = [f(dg1, 3).upper() for dg1 in segs.get("DG1", []) if f(dg1, 3)]
    for acc in segs.get("ACC", []):
        if f(acc, 2):
            codes.append(f(acc, 2).upper())
        probe.injury_at = hl7_timestamp("ACC-1", f(acc, 1))
        yes_no("ACC-10", f(acc, 10))
    for obx in segs.get("OBX", []):
        key, value = f(obx, 3).upper(), f(obx, 5)
        where = f"OBX-5 ({key})"
        if key == "TRIAGE":
            choice(where, value, TRIAGE)
        elif key == "PLACE_TYPE":
            choice(where, value, PLACE_TYPES)
        elif key == "ROLE":
            choice(where, value, ROLES)
        elif key in ("GANG_SUSPECTED", "POLICE_INFORMED"):
            yes_no(where, value)
        elif key == "DISPOSITION":
            choice(where, value, DISPOSITIONS)
        elif key == "INJURY_TIME" and probe.injury_at is None:
            probe.injury_at = hl7_timestamp(where, value)
    injury_where = "ACC-1" if "ACC" in segs else "OBX-5 (INJURY_TIME)"
    check_times(probe, arrival="PV1-44", injury=injury_where, dob="PID-7")
    probe.icd10_codes = codes
    return header, probe


def hl7_escape(text: str) -> str:
    return (
        (text or "")
        .replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("~", "\\R\\")
        .replace("&", "\\T\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def hl7_ack(header: Header, code: str, text: str = "", *, error: IntakeError | None = None) -> str:
    """MSH + MSA (+ ERR naming the field on AE/AR). Segments end with CR."""
    now = timezone.localtime().strftime("%Y%m%d%H%M%S")
    event = header.event or ""
    segments = [
        f"MSH|^~\\&|CASETRAIL|WCG|{hl7_escape(header.sending_app)}|{hl7_escape(header.sender)}|{now}||"
        f"ACK^{event}^ACK|ACK{hl7_escape(header.control_id)[:17]}|P|{hl7_escape(header.version)[:8]}",
        f"MSA|{code}|{hl7_escape(header.control_id)}|{hl7_escape(text)[:200]}",
    ]
    if error is not None:
        loc = ERR_LOCATION.match(error.where)
        location = f"{loc.group(1)}^{loc.group(2) or 1}^{loc.group(3)}" if loc else ""
        name = ERROR_NAMES.get(error.hl7_code, "Error")
        segments.append(
            f"ERR||{location}|{error.hl7_code}^{name}^HL70357|E||||{hl7_escape(str(error))[:200]}"
        )
    return "\r".join(segments) + "\r"


ERR_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\((\d+)\))?-(\d+)")
ERROR_NAMES = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "204": "Unknown key identifier",
    "207": "Application internal error",
}


# ---------------------------------------------------------------- FHIR R4 (fhir.resources.R4B)

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
    return _HL7_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _control_path(value, path: str, depth: int = 0) -> str:
    """The first element (``Bundle.entry[0].resource.id``) whose text holds a control character, or ""."""
    if depth > 64:
        return path
    if isinstance(value, str):
        return path if _HL7_CONTROL.search(value) else ""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        name = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        if isinstance(key, str) and _HL7_CONTROL.search(key):
            return path
        found = _control_path(item, name, depth + 1)
        if found:
            return found
    return ""


def parse_fhir(body: str | bytes) -> tuple[str, Record]:
    """A Bundle to (bundle id for de-duplication, Record). Raises IntakeError naming the element."""
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
        bundle = Bundle.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        # pydantic's message may quote the value: name the element and the rule broken only.
        where = _pydantic_path(raw, first["loc"])
        raise IntakeError(where, f"The value is not valid ({first['type']}).") from e
    except (ValueError, TypeError, KeyError) as e:
        raise IntakeError("Bundle", f"The bundle is not valid FHIR R4 ({type(e).__name__}).") from e
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

    def only(rtype: str, required: bool = True):
        found = by_type.get(rtype, [])
        if not found:
            if required:
                raise IntakeError(rtype, f"The bundle has no {rtype}.")
            return None
        return found[0]

    patient, enc = only("Patient"), only("Encounter")
    if not enc.class_fhir or enc.class_fhir.code != "EMER":
        raise IntakeError("Encounter.class", "The encounter class must be EMER (emergency).", hl7_code="103")
    org = None
    if enc.serviceProvider and enc.serviceProvider.reference:
        org = by_ref.get(enc.serviceProvider.reference)
        if org is None:
            raise IntakeError(
                "Encounter.serviceProvider",
                "The reference is not an Organization in the bundle.",
            )
    else:
        raise IntakeError(
            "Encounter.serviceProvider", "The facility (an Organization reference) is required."
        )
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
    rec.arrival_at = _aware(enc.period.start)
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
    for i, cond in enumerate(by_type.get("Condition", [])):
        for coding in (cond.code.coding if cond.code else None) or []:
            if coding.system == ICD10_SYSTEM and coding.code:
                rec.icd10_codes.append(coding.code.upper())
            elif coding.system == ICD10_SYSTEM:
                raise IntakeError(f"Condition[{i}].code.coding.code", "The ICD-10 code is empty.")
    for obs in by_type.get("Observation", []):
        coding = next((c for c in (obs.code.coding or []) if c.system == CASETRAIL_SYSTEM), None)
        if coding is None:
            continue
        key = (coding.code or "").upper()
        value = obs.valueString or _code_of(obs.valueCodeableConcept) or ""
        if obs.valueBoolean is not None:
            value = "Y" if obs.valueBoolean else "N"
        if obs.valueDateTime is not None:
            value = obs.valueDateTime
        where = f"Observation({key}).value"
        if key == "TRIAGE":
            rec.triage = choice(where, value, TRIAGE)
        elif key == "INJURY_TIME":
            rec.injury_at = _fhir_time(where, value)
        elif key == "PLACE_TYPE":
            rec.place_type = choice(where, value, PLACE_TYPES)
        elif key == "SUBURB":
            rec.suburb_text = str(value).strip()
        elif key == "ROLE":
            rec.role = choice(where, value, ROLES)
        elif key == "GANG_SUSPECTED":
            rec.gang_suspected = yes_no(where, value)
        elif key == "POLICE_INFORMED":
            rec.police_informed = yes_no(where, value)
        elif key == "DISPOSITION":
            rec.disposition = choice(where, value, DISPOSITIONS)
    if not rec.place_type:
        rec.place_type = place_from_codes(rec.icd10_codes)
    check_times(
        rec, arrival="Encounter.period.start", injury="Observation(INJURY_TIME)", dob="Patient.birthDate"
    )
    control = (bundle.identifier.value if bundle.identifier and bundle.identifier.value else "") or (
        bundle.id or ""
    )
    return str(control)[:120], rec


def _code_of(concept) -> str:
    if concept is None:
        return ""
    if concept.coding:
        return concept.coding[0].code or ""
    return concept.text or ""


def _aware(value) -> datetime:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime(value.year, value.month, value.day))
    raise IntakeError("Encounter.period.start", "The value is not a date-time.")


def _fhir_time(where: str, value) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    try:
        return _aware(datetime.fromisoformat(str(value)))
    except ValueError as e:
        raise IntakeError(where, "The value is not an ISO date-time.") from e


# ---------------------------------------------------------------- CSV

CSV_COLUMNS = [
    ("facility", True, "facility code, e.g. tygerberg"),
    ("visit_number", True, "the hospital's visit / encounter number"),
    ("arrival_at", True, "ISO date-time, e.g. 2025-06-14 23:05 (SAST when no offset)"),
    ("icd10_codes", True, "ICD-10 codes separated by spaces or ';', at least one X85–Y09 / T74.2"),
    ("patient_id", True, "folder or ID number (becomes the pseudonym; stored encrypted)"),
    ("patient_id_type", False, "NI (national ID) or MR (folder number); default MR"),
    ("name", False, "patient name (stored encrypted)"),
    ("date_of_birth", False, "YYYY-MM-DD"),
    ("age_years", False, "whole years when the date of birth is unknown"),
    ("sex", False, "F, M, O or U"),
    ("injury_at", False, "ISO date-time"),
    ("role", False, "victim, perpetrator or unknown"),
    ("triage", False, "red, orange, yellow, green, blue"),
    ("place_type", False, "home, street, tavern, school, workplace, public_transport, other"),
    ("suburb", False, "suburb code or name where the injury happened"),
    ("latitude", False, "decimal degrees"),
    ("longitude", False, "decimal degrees"),
    ("disposition", False, "discharged, admitted, transferred, died, absconded"),
    ("police_informed", False, "Y or N"),
    ("gang_suspected", False, "Y or N"),
]
CSV_HEADER = [c for c, _, _ in CSV_COLUMNS]
CSV_REQUIRED = {c for c, req, _ in CSV_COLUMNS if req}


def _iso_time(where: str, value: str, *, required: bool = False, zone=None) -> datetime | None:
    """``zone``: the time zone of times sent without an offset (default: the current one)."""
    v = (value or "").strip()
    if not v:
        if required:
            raise IntakeError(where, "This field is required.")
        return None
    try:
        moment = datetime.fromisoformat(v)
        if zone is not None and moment.tzinfo is None:
            return moment.replace(tzinfo=zone)
        return _aware(moment)
    except ValueError as e:
        raise IntakeError(where, "The value is not a date-time like 2025-06-14 23:05.", hl7_code="102") from e


def record_from_row(row: dict, n: int, *, zone=None) -> Record:
    """One CSV row (dict by column) to a Record; raises IntakeError naming the column.

    ``zone``: the time zone of times without an offset (default: the current one).
    """
    for col in CSV_REQUIRED:
        if not (row.get(col) or "").strip():
            raise IntakeError(col, "This field is required.")
    rec = Record(facility_code=row["facility"].strip(), visit_number=row["visit_number"].strip(), row=n)
    rec.event = "CSV"
    rec.arrival_at = _iso_time("arrival_at", row["arrival_at"], required=True, zone=zone)
    rec.injury_at = _iso_time("injury_at", row.get("injury_at", ""), zone=zone)
    rec.icd10_codes = [c.upper() for c in re.split(r"[\s;,]+", row["icd10_codes"].strip()) if c]
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
    rec.role = choice("role", row.get("role", ""), ROLES)
    rec.triage = choice("triage", row.get("triage", ""), TRIAGE)
    rec.place_type = choice("place_type", row.get("place_type", ""), PLACE_TYPES) or place_from_codes(
        rec.icd10_codes
    )
    rec.suburb_text = (row.get("suburb") or "").strip()
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
    rec.disposition = choice("disposition", row.get("disposition", ""), DISPOSITIONS)
    rec.police_informed = yes_no("police_informed", row.get("police_informed", ""))
    rec.gang_suspected = yes_no("gang_suspected", row.get("gang_suspected", ""))
    check_times(rec, arrival="arrival_at", injury="injury_at", dob="date_of_birth")
    if not any(is_assault(c) for c in rec.icd10_codes):
        raise IntakeError("icd10_codes", "No assault code (X85–Y09 or T74.2): this visit is not recorded.")
    return rec


def read_csv(text: str) -> tuple[list[Record], list[dict]]:
    """All rows: (good records, problems [{row, field, problem}]). Row 1 is the header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = sorted(CSV_REQUIRED - set(header))
    if missing:
        return [], [
            {"row": 1, "field": m, "problem": "This column is missing from the header."} for m in missing
        ]
    reader.fieldnames = header
    good, problems = [], []
    zone = timezone.get_current_timezone()  # looked up once per file, not twice per row
    controls = _HL7_CONTROL.search(text) is not None  # one scan of the file; rows are checked only then
    try:
        with paused_gc():
            for n, row in enumerate(reader, start=2):
                if None in row:
                    problems.append(
                        {"row": n, "field": "", "problem": "The row has more cells than the header."}
                    )
                    continue
                bad = controls and next((k for k, v in row.items() if v and _HL7_CONTROL.search(v)), None)
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


@contextmanager
def paused_gc():
    """Records hold no reference cycles, but a million of them made the cycle collector rescan the
    growing heap again and again: half the time of reading a large file. Paused, then restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- form (stored as JSON)


def record_from_json(data: dict) -> Record:
    """The capture form's payload (Record.as_json) back to a Record."""
    rec = Record(**{k: v for k, v in data.items() if k in Record.__dataclass_fields__})
    rec.arrival_at = _iso_time("arrival_at", data.get("arrival_at") or "", required=True)
    rec.injury_at = _iso_time("injury_at", data.get("injury_at") or "")
    rec.date_of_birth = date.fromisoformat(data["date_of_birth"]) if data.get("date_of_birth") else None
    check_times(rec, arrival="arrival_at", injury="injury_at", dob="date_of_birth")
    return rec
