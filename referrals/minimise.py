"""What a de-identified reader sees of an admission (docs/security.md, "Minimisation").

An admission's facts are health information about one person. Those who may read the patient's
identity anyway (admins, the EC staff of the facility: ``permissions.sees_quasi_identifiers``) see
them as recorded; everyone else — analysts, SAPS, NPA, court watchers, committee, managers — sees
only what their work needs and nothing that, joined with a hospital's or a police register,
points back at one person:

- age band, never the age or the date of birth;
- arrival, injury and record times to the hour;
- no visit number (facility + visit number is the hospital's key to the patient's folder);
- no pseudonym: it is the key that links a person's visits, so it is shown only where identity is;
  analysts, whose work includes repeat victimisation, get the number of earlier visits instead;
- coordinates to two decimals (about a kilometre: a hotspot, not a house).

The page, the API and every export use these same helpers.
"""

import re
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from types import SimpleNamespace

# Fields a minimised reader never gets.
WITHHELD = ("visit_number", "age_years", "pseudonym")
# Times shown to the hour.
HOURLY = ("arrival_at", "injury_at", "created_at", "updated_at")
COORDINATE_PLACES = Decimal("0.01")


def to_the_hour(moment: datetime | None) -> datetime | None:
    """South African time is a whole number of hours from UTC, so the hour is the same in both."""
    return moment.replace(minute=0, second=0, microsecond=0) if moment else moment


def coarse(value):
    if value is None:
        return None
    return Decimal(str(value)).quantize(COORDINATE_PLACES, rounding=ROUND_HALF_EVEN)


def shown(admission, *, full: bool, prior_visits: int | None = None) -> SimpleNamespace:
    """The facts of an admission a page may show: as recorded (``full``) or minimised."""
    if full:
        return SimpleNamespace(
            full=True,
            visit_number=admission.visit_number,
            arrival_at=admission.arrival_at,
            injury_at=admission.injury_at,
            age_years=admission.age_years,
            age_band=admission.age_band,
            pseudonym=admission.pseudonym,
            latitude=admission.latitude,
            longitude=admission.longitude,
            prior_visits=prior_visits,
        )
    return SimpleNamespace(
        full=False,
        visit_number="",
        arrival_at=to_the_hour(admission.arrival_at),
        injury_at=to_the_hour(admission.injury_at),
        age_years=None,
        age_band=admission.age_band,
        pseudonym="",
        latitude=coarse(admission.latitude),
        longitude=coarse(admission.longitude),
        prior_visits=prior_visits,
    )


_QUOTED = re.compile(r"'[^']*'")
# Quoted after these words is about the sender, not the patient (a facility code, a sending system's
# name, shown in the Sender column anyway): kept.
_SENDER_WORDS = ("facility code ", "facility ", "system ", "submit for ")


def reason_without_values(text: str) -> str:
    """Rejection reasons name the field and the rule, never the patient's value. Reasons stored before
    that rule quoted the offending value in single quotes ('2001-13-45' is not a date…): shown masked.
    Facility codes and sending-system names (the sender's, not the patient's) stay."""
    text = text or ""

    def mask(match):
        before = text[: match.start()].lower()
        return match.group(0) if before.endswith(_SENDER_WORDS) else "'…'"

    return _QUOTED.sub(mask, text)


def report_without_values(report: dict) -> dict:
    """A CSV upload's per-row report with every problem text masked the same way."""
    if not report or not report.get("problems"):
        return report
    problems = [{**p, "problem": reason_without_values(p.get("problem", ""))} for p in report["problems"]]
    return {**report, "problems": problems}
