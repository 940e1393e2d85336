"""HL7 v2 ADT (A01, A04, A08; A03) to a ``Record``, and the ACK every channel answers with.

One splitter (``Message``) cuts a message on the separators its MSH declares (MSH-1 the field
separator, MSH-2 component, repetition, escape, sub-component). One reader walks it: ``parse_hl7``
reads everything (processing, replay), ``hl7_precheck`` is the same reader stopping before the
identity details (the door's checks that decide the ACK). ``hl7.parse`` built a container per
component and was most of the cost of processing; escapes are undone by the hl7 package's own
``unescape``. Raises ``IntakeError`` naming the field.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from hl7 import util as hl7_util

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
    place_from_codes,
    yes_no,
)
from .rules import Fields, check_record

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


def escape_controls(text: str) -> tuple[str, IntakeError | None]:
    """The message with each control character written as HL7's hex escape (``\\X00\\``), so its raw
    can be kept, and the error naming the first field that held one (AE, 0357 code 102), or None."""
    match = CONTROL.search(text)
    if match is None:
        return text, None
    segment = text[: match.start()].rsplit("\r", 1)[-1]
    bar = text[3] if text.startswith("MSH") and len(text) > 3 else "|"  # MSH-1, the field separator
    name, separator, rest = segment.partition(bar)
    name = CONTROL.sub("", name)[:3] or "MSH"
    # MSH-1 is the field separator itself, so MSH's fields count one further than other segments'.
    where = f"{name}-{rest.count(bar) + (2 if name == 'MSH' else 1)}" if separator else name
    escaped = CONTROL.sub(lambda m: f"\\X{ord(m.group()):02X}\\", text)
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


class Message:
    """A message split into segments and fields on the separators its MSH declares.

    ``field(seg, n)`` is field n as text, ``parts(value)`` its components, ``repeats(value)`` its
    repetitions, ``first(seg, n)`` its first component stripped. Raises IntakeError (AR 100) when
    the text does not start with a readable MSH.
    """

    def __init__(self, raw: str):
        first = raw.split("\r", 1)[0]
        if not first.startswith("MSH") or len(first) < 8:
            raise IntakeError(
                "MSH", "The message does not start with an MSH segment.", ack="AR", hl7_code="100"
            )
        bar = first[3]
        encoding = (first[4:].split(bar, 1)[0] + "^~\\&")[:4]
        self.component, self.repetition, self.esc = encoding[0], encoding[1], encoding[2]
        # (segment, field, repetition, component, sub-component): what hl7.util.unescape reads.
        self.separators = ("\r", bar, encoding[1], encoding[0], encoding[3])
        self.by_name: dict[str, list[list[str]]] = {}
        for line in raw.split("\r"):
            if line:
                fields = line.split(bar)
                self.by_name.setdefault(fields[0].strip(), []).append(fields)

    def all(self, name: str) -> list[list[str]]:
        return self.by_name.get(name, [])

    def one(self, name: str, *, required: bool = True) -> list[str] | None:
        if name not in self.by_name:
            if required:
                raise IntakeError(name, f"The {name} segment is required.", hl7_code="100")
            return None
        return self.by_name[name][0]

    @staticmethod
    def field(seg: list[str], n: int) -> str:
        return seg[n] if len(seg) > n else ""

    def parts(self, value: str) -> list[str]:
        return value.split(self.component)

    def repeats(self, value: str) -> list[str]:
        return value.split(self.repetition)

    def first(self, seg: list[str], n: int) -> str:
        return self.field(seg, n).split(self.component, 1)[0].strip()

    def unescape(self, text: str) -> str:
        return hl7_util.unescape(self, text)

    def header(self) -> Header:
        msh = self.by_name["MSH"][0]

        def field(n: int) -> str:  # MSH-1 is the separator itself: MSH-n is msh[n - 1]
            return msh[n - 1] if len(msh) >= n else ""

        mtype = self.parts(field(9))
        return Header(
            sending_app=self.parts(field(3))[0],
            sender=self.parts(field(4))[0].strip(),
            control_id=field(10).strip()[:120],
            message_type=field(9),
            event=(mtype[1] if len(mtype) > 1 else "").strip().upper(),
            version=field(12) or "2.5",
        )


def hl7_header(raw: str) -> Header:
    """Read MSH alone: even a message the reader refuses gets a meaningful ACK."""
    return Message(raw.split("\r", 1)[0]).header()


def _check_header(msg: Message, header: Header) -> None:
    if not header.sender:
        raise IntakeError("MSH-4", "The sending facility is required.", ack="AR")
    if not header.control_id:
        raise IntakeError("MSH-10", "The message control id is required.", ack="AR")
    if msg.parts(header.message_type)[0].upper() != "ADT":
        raise IntakeError("MSH-9", "The message type is not ADT.", ack="AR", hl7_code="200")
    if header.event not in SUPPORTED_EVENTS:
        raise IntakeError("MSH-9", "The event is not A01, A03, A04 or A08.", ack="AR", hl7_code="201")


def parse_hl7(raw: str) -> tuple[Header, Record]:
    """An ADT A01/A04/A08/A03 to a Record. Raises IntakeError naming the HL7 field."""
    return _read(Message(normalise_hl7(raw)), full=True)


def hl7_precheck(msg: "Message | str") -> tuple[Header, Record]:
    """The checks that decide the ACK: ``parse_hl7``'s reader stopping before the identity details.

    Returns the header and a Record with the visit, its times and the diagnosis codes (the
    assault-code filter). ``msg``: the normalised text, or a Message split from it.
    """
    return _read(msg if isinstance(msg, Message) else Message(msg), full=False)


def _read(msg: Message, *, full: bool) -> tuple[Header, Record]:
    header = msg.header()
    _check_header(msg, header)
    pid, pv1 = msg.one("PID"), msg.one("PV1")
    rec = Record(facility_code=header.sender, visit_number=msg.first(pv1, 19), event=header.event)
    _read_visit(msg, pv1, rec)
    _read_patient(msg, pid, rec, full=full)
    acc, places = _read_diagnoses(msg, rec, full=full)
    _read_observations(msg, rec)
    if full:
        if rec.place_text and not rec.place_type:
            low = rec.place_text.lower()
            rec.place_type = next((p for p in PLACE_TYPES if p in low), "")
        if not rec.place_type:
            rec.place_type = place_from_codes(rec.icd10_codes)
    injury = "ACC-1" if acc is not None else "OBX-5 (INJURY_TIME)"
    check_record(rec, Fields(arrival="PV1-44", injury=injury, dob="PID-7", codes=places, identifier="PID-3"))
    return header, rec


def _read_visit(msg: Message, pv1: list[str], rec: Record) -> None:
    """PV1-19 visit number, PV1-2 patient class, PV1-44 arrival, PV1-36 disposition."""
    if not rec.visit_number:
        raise IntakeError("PV1-19", "The visit number is required.")
    check_visit_number(rec, "PV1-19")
    patient_class = msg.field(pv1, 2).strip().upper()
    if patient_class and patient_class != "E":
        raise IntakeError("PV1-2", "The patient class is not E (emergency).", hl7_code="103")
    rec.arrival_at = hl7_timestamp("PV1-44", msg.first(pv1, 44), required=True)
    disposition = msg.field(pv1, 36).strip()
    if disposition:
        rec.disposition = DISPOSITION_0112.get(disposition, "") or choice("PV1-36", disposition, DISPOSITIONS)


def _read_patient(msg: Message, pid: list[str], rec: Record, *, full: bool) -> None:
    """PID-3 identifiers (every repetition), PID-5 name, PID-13 phone, PID-7 birth date, PID-8 sex."""
    for rep in msg.repeats(msg.field(pid, 3)):
        c = msg.parts(rep) + [""] * 5
        if c[0].strip():
            rec.identifiers.append(
                {"value": msg.unescape(c[0].strip()), "authority": c[3].strip(), "type": c[4].strip()}
                if full
                else {"value": c[0], "type": c[4].strip()}  # the door checks a national ID too
            )
    if not rec.identifiers:
        raise IntakeError("PID-3", "A patient identifier is required.")
    if full:
        name = msg.parts(msg.repeats(msg.field(pid, 5))[0])
        rec.name = msg.unescape(" ".join(p for p in [*name[1:3], name[0]] if p).strip())
        rec.contact = msg.unescape(msg.parts(msg.repeats(msg.field(pid, 13))[0])[0])
    rec.date_of_birth = hl7_date("PID-7", msg.first(pid, 7))
    rec.sex = SEX.get(msg.field(pid, 8).strip().upper(), "unknown")


def _read_diagnoses(msg: Message, rec: Record, *, full: bool) -> tuple[list[str] | None, list[str]]:
    """DG1-3 on every DG1, then ACC-2; ACC-1 injury time, ACC-3 place, ACC-10 police.

    Returns ACC and the field of each code (``DG1(2)-3``, ``ACC-2``) for the error naming it."""
    places = []
    for i, dg1 in enumerate(msg.all("DG1"), start=1):
        code = msg.first(dg1, 3)
        if code:
            rec.icd10_codes.append(code.upper())
            places.append(f"DG1({i})-3")
        elif not msg.field(dg1, 4):
            raise IntakeError(f"DG1({i})-3", "The diagnosis code is empty.")
    acc = msg.one("ACC", required=False)
    if acc is not None:
        cause = msg.first(acc, 2)
        if cause:
            rec.icd10_codes.append(cause.upper())
            places.append("ACC-2")
        rec.injury_at = hl7_timestamp("ACC-1", msg.field(acc, 1))
        if full:
            rec.place_text = msg.unescape(msg.parts(msg.field(acc, 3))[0])
        rec.police_informed = yes_no("ACC-10", msg.field(acc, 10))
    return acc, places


def _read_observations(msg: Message, rec: Record) -> None:
    """The OBX items (OBX-3 identifier, OBX-5 value), each checked against its list."""
    for obx in msg.all("OBX"):
        key = msg.first(obx, 3).upper()
        value = msg.unescape(msg.parts(msg.field(obx, 5))[0]).strip()
        where = f"OBX-5 ({key})"
        if key in _OBX_CHOICES:
            setattr(rec, _OBX_CHOICES[key][0], choice(where, value, _OBX_CHOICES[key][1]))
        elif key == "INJURY_TIME" and rec.injury_at is None:
            rec.injury_at = hl7_timestamp(where, value)
        elif key == "SUBURB":
            rec.suburb_text = value
        elif key == "GANG_SUSPECTED":
            rec.gang_suspected = yes_no(where, value)
        elif key == "POLICE_INFORMED" and rec.police_informed is None:
            rec.police_informed = yes_no(where, value)


# OBX items with a list of values: the Record's attribute and the list.
_OBX_CHOICES = {
    "TRIAGE": ("triage", TRIAGE),
    "PLACE_TYPE": ("place_type", PLACE_TYPES),
    "ROLE": ("role", ROLES),
    "DISPOSITION": ("disposition", DISPOSITIONS),
}


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
