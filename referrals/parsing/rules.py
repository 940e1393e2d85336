"""The rules an admission must keep, whichever way it arrives (HL7, FHIR, CSV, the capture form).

One set of rules, called by every channel with the names of its own fields, so that what a feed
would refuse the form shows as a field error before anything is saved (docs/intake.md,
"Validation rules"): the times (``common.check_times``), the ICD-10 codes against the WHO code
list, and South African ID numbers by their checksum. Pure functions, no database.
"""

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from django.utils.translation import gettext_noop  # English on the wire; the form translates

from .common import IntakeError, Record, check_times, iso_time, normalise_code

CODE_LIST = Path(__file__).with_name("icd10_who_2019.txt")
# WHO place of occurrence (4th character) and activity (5th) for W00–Y34, except Y06/Y07 whose 4th
# character is the perpetrator: a convention of the classification, not listed code by code.
ACTIVITY = set("0123489")


@cache
def _code_list() -> dict[str, str]:
    """Each category or subcategory (no dot) → the characters that may follow it."""
    out = {}
    for line in CODE_LIST.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            prefix, _, nexts = line.partition(" ")
            out[prefix] = nexts
    return out


def icd10_problem(code: str) -> str:
    """Why ``code`` is not a WHO ICD-10 code, in words; "" when it is one."""
    c = normalise_code(code)
    codes = _code_list()
    if len(c) < 3 or c[:3] not in codes:
        return f"'{code}' is not a WHO ICD-10 code (a letter and two digits, e.g. X99.0 or S31.1)."
    category, rest = c[:3], c[3:]
    if not rest or (rest[0] in codes[category] and (len(rest) == 1 or _fifth_ok(c))):
        return ""
    place_coded = "W00" <= category <= "Y34" and not codes[category] and rest[0].isdigit()
    if place_coded and (len(rest) == 1 or (len(rest) == 2 and rest[1] in ACTIVITY)):
        return ""
    return f"'{code}' is not a WHO ICD-10 code: {category} has no subdivision {category}.{rest}."


def _fifth_ok(c: str) -> bool:
    """A listed five-character code, or chapter XIX's open (1) / closed (0) fifth character."""
    if len(c) != 5:
        return False
    listed = _code_list().get(c[:4])
    return (listed is not None and c[4] in listed) or (c[0] == "S" and c[4] in "01")


def check_icd10(codes: list[str], where: "str | list[str]") -> None:
    """Every code must be in the WHO ICD-10 code list; ``where`` names the field (or one per code)."""
    for i, code in enumerate(codes):
        problem = icd10_problem(code)
        if problem:
            raise IntakeError(where[i] if isinstance(where, list) else where, problem, hl7_code="103")


def sa_id_problem(value: str) -> str:
    """Why ``value`` is not a South African ID number, in words; "" when it is one.

    13 digits: date of birth YYMMDD, sequence, citizenship, a digit, and a Luhn check digit.
    """
    v = "".join(value.split())
    if len(v) != 13 or not v.isascii() or not v.isdigit():
        return gettext_noop("A South African ID number has 13 digits.")
    try:  # 20YY: every 29 February of a 19YY is one of a 20YY too
        date(2000 + int(v[:2]), int(v[2:4]), int(v[4:6]))
    except ValueError:
        return gettext_noop("The first six digits of a South African ID number are a date of birth (YYMMDD).")
    if not luhn_ok(v):
        return gettext_noop("The ID number's check digit is wrong: a digit is mistyped.")
    return ""


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def sa_id_check_digit(first12: str) -> str:
    """The 13-digit ID number whose first 12 digits are ``first12`` (demo and test data)."""
    return next(first12 + d for d in "0123456789" if luhn_ok(first12 + d))


def check_identifiers(rec: Record, where: str) -> None:
    """Every identifier typed ``NI`` (national ID) must be a valid South African ID number, unless
    its assigning authority names another country (``ZWE``): that country's number is not checked."""
    for ident in rec.identifiers:
        authority = (ident.get("authority") or "").upper()
        foreign = len(authority) == 3 and authority.isalpha() and authority != "ZAF"
        if (ident.get("type") or "").upper() == "NI" and not foreign:
            problem = sa_id_problem(str(ident.get("value") or ""))
            if problem:
                raise IntakeError(where, problem, hl7_code="102")


@dataclass(frozen=True)
class Fields:
    """What a channel calls each checked item (``PV1-44``, ``Encounter.period.start``, ``arrival_at``)."""

    arrival: str = "arrival_at"
    injury: str = "injury_at"
    dob: str = "date_of_birth"
    codes: "str | list[str]" = "icd10_codes"
    identifier: str = "patient_id"


def check_record(rec: Record, fields: Fields = Fields()) -> None:
    """All the rules, in the order a reader fixes them. Raises IntakeError naming the channel's field."""
    check_times(rec, arrival=fields.arrival, injury=fields.injury, dob=fields.dob)
    check_icd10(rec.icd10_codes, fields.codes)
    check_identifiers(rec, fields.identifier)


def record_from_json(data: dict) -> Record:
    """The capture form's payload (Record.as_json) back to a Record, checked by the same rules."""
    rec = Record(**{k: v for k, v in data.items() if k in Record.__dataclass_fields__})
    rec.arrival_at = iso_time("arrival_at", data.get("arrival_at") or "", required=True)
    rec.injury_at = iso_time("injury_at", data.get("injury_at") or "")
    rec.date_of_birth = date.fromisoformat(data["date_of_birth"]) if data.get("date_of_birth") else None
    check_record(rec)
    return rec
