"""What every channel shares: the ``Record`` an admission becomes, ``IntakeError`` naming the field,
the ICD-10 rules (the one assault-code rule) and the value checks.

Pure functions, no database. See docs/intake.md.
"""

import gc
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_noop  # English on the wire; the form translates


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


def has_assault_code(codes: list[str]) -> bool:
    """The one assault-code rule every channel and the capture form apply: any code ``is_assault``."""
    return any(is_assault(c) for c in codes)


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
        raise IntakeError(arrival, gettext_noop("The arrival time is required."))
    if rec.arrival_at > now + timedelta(minutes=10):
        raise IntakeError(arrival, gettext_noop("The arrival time is in the future."), hl7_code="102")
    if rec.arrival_at < EARLIEST:
        raise IntakeError(arrival, gettext_noop("The arrival time is before 1990."), hl7_code="102")
    if rec.injury_at is not None:
        if rec.injury_at > rec.arrival_at + timedelta(minutes=10):
            raise IntakeError(
                injury, gettext_noop("The injury time is after the arrival time."), hl7_code="102"
            )
        if rec.injury_at < rec.arrival_at - timedelta(days=60):
            raise IntakeError(
                injury, gettext_noop("The injury time is more than 60 days before arrival."), hl7_code="102"
            )
    if rec.date_of_birth is not None:
        local_arrival = timezone.localtime(rec.arrival_at).date()
        if rec.date_of_birth > local_arrival:
            raise IntakeError(dob, gettext_noop("The date of birth is after the arrival."), hl7_code="102")
        rec.age_years = age_on(rec.date_of_birth, local_arrival)
        if rec.age_years > 120:
            raise IntakeError(dob, gettext_noop("The date of birth gives an age over 120."), hl7_code="102")
    if rec.age_years is not None and not 0 <= rec.age_years <= 120:
        raise IntakeError("age_years", gettext_noop("The age must be 0 to 120."), hl7_code="102")


# The longest visit number the admission's column holds (Admission.visit_number).
VISIT_NUMBER_MAX = 60


def check_visit_number(rec: Record, where: str) -> None:
    """A visit number longer than its column is refused at the door, naming the field."""
    if len(rec.visit_number) > VISIT_NUMBER_MAX:
        raise IntakeError(
            where, f"The visit number is longer than {VISIT_NUMBER_MAX} characters.", hl7_code="102"
        )


# A control character other than the segment end and tab (NUL above all: PostgreSQL refuses it in text).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def aware(value, where: str = "Encounter.period.start") -> datetime:
    """A date or date-time as an aware date-time (the current time zone when it has none)."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime(value.year, value.month, value.day))
    raise IntakeError(where, "The value is not a date-time.")


def iso_time(where: str, value: str, *, required: bool = False, zone=None) -> datetime | None:
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
        return aware(moment)
    except ValueError as e:
        raise IntakeError(where, "The value is not a date-time like 2025-06-14 23:05.", hl7_code="102") from e
