"""Parse report parameters (period, grouping, filters) from a query string; bad input names the parameter.

Periods are SAST calendar days, both ends inclusive (``reporting.periods``): ``from=2025-01-01&to=2025-03-31``
covers 2025-01-01 00:00 SAST up to (not including) 2025-04-01 00:00 SAST.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.translation import gettext as _

from casework.inputs import bounded_date
from casework.models import District, Facility, Mechanism, Station

from . import periods
from .periods import Period

DEFAULT_DAYS = 365
# Reports cover 1900-01-01 to today (SAST): nothing earlier is recorded, nothing later has happened, and
# the bounds keep every period's arithmetic (an exclusive end a day later) inside Python's dates.
FIRST_DATE = date(1900, 1, 1)


class ReportInputError(Exception):
    """Bad report input: ``errors`` maps the parameter to what is wrong (HTTP 400)."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _date(params, name: str) -> date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    today = periods.today()
    parsed = bounded_date(value, FIRST_DATE, today)
    if parsed is None:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ReportInputError(
                {name: _("'%(value)s' is not a date: use YYYY-MM-DD.") % {"value": value}}
            ) from None
        raise ReportInputError(
            {name: _("A date from %(first)s to today (%(today)s).") % {"first": FIRST_DATE, "today": today}}
        )
    return parsed


def parse_period(params, *, default_days: int = DEFAULT_DAYS) -> Period:
    today = periods.today()
    end = _date(params, "to") or today
    start = _date(params, "from") or end - timedelta(days=default_days - 1)
    if start > end:
        raise ReportInputError({"from": _("'from' must be on or before 'to'.")})
    if (end - start).days > 366 * 20:
        raise ReportInputError({"from": _("A period is at most 20 years.")})
    return Period(start, end)


def parse_choice(params, name: str, choices, *, default: str | None = None) -> str | None:
    value = (params.get(name) or "").strip()
    if not value:
        return default
    if value not in choices:
        raise ReportInputError({name: f"'{value}' is not one of: {', '.join(choices)}."})
    return value


def parse_bool(params, name: str) -> bool | None:
    value = (params.get(name) or "").strip().lower()
    if value == "":
        return None
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ReportInputError({name: f"'{value}' is not true or false."})


def wants_unsuppressed(params) -> bool:
    return (params.get("unsuppressed") or "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class DashboardFilters:
    facility: str = ""
    district: str = ""
    station: str = ""
    mechanism: str = ""
    gang_related: bool | None = None
    extra: dict = field(default_factory=dict)

    def active(self) -> set[str]:
        names = {n for n in ("facility", "district", "station", "mechanism") if getattr(self, n)}
        if self.gang_related is not None:
            names.add("gang_related")
        return names

    def as_query(self) -> dict:
        q = {
            n: getattr(self, n) for n in ("facility", "district", "station", "mechanism") if getattr(self, n)
        }
        if self.gang_related is not None:
            q["gang_related"] = "true" if self.gang_related else "false"
        return q


def parse_code(params, name: str, model) -> str:
    """A reference code (court, station…) or ""; one not on record answers 400 naming the field."""
    value = (params.get(name) or "").strip()
    if value and not model.objects.filter(code=value).exists():
        raise ReportInputError({name: f"'{value}' is not a known {name} code."})
    return value


def parse_dashboard_filters(params) -> DashboardFilters:
    def code(name, model):
        value = (params.get(name) or "").strip()
        if value and not model.objects.filter(code=value).exists():
            raise ReportInputError({name: f"'{value}' is not a known {name} code."})
        return value

    return DashboardFilters(
        facility=code("facility", Facility),
        district=code("district", District),
        station=code("station", Station),
        mechanism=parse_choice(params, "mechanism", Mechanism.values, default="") or "",
        gang_related=parse_bool(params, "gang_related"),
    )
