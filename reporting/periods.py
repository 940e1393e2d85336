"""Dates of the reports, one helper each: SAST days, ISO weeks, calendar months, runs of days.

Periods are SAST calendar days, both ends inclusive: ``Period(2025-01-01, 2025-03-31)`` covers
2025-01-01 00:00 SAST up to (not including) 2025-04-01 00:00 SAST. The bottom of ``reporting``: it
imports nothing of the app.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

SAST = ZoneInfo("Africa/Johannesburg")


@dataclass(frozen=True)
class Period:
    start_date: date
    end_date: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.start_date, time.min, tzinfo=SAST)

    @property
    def end(self) -> datetime:
        """Exclusive upper bound: midnight SAST after the last day."""
        return datetime.combine(self.end_date + timedelta(days=1), time.min, tzinfo=SAST)

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    def each_day(self) -> list[date]:
        return [self.start_date + timedelta(days=i) for i in range(self.days)]

    def as_query(self) -> dict:
        return {"from": self.start_date.isoformat(), "to": self.end_date.isoformat()}


# ------------------------------------------------------------------ days


def sast_day(moment: datetime) -> date:
    """The SAST calendar day of an instant."""
    return timezone.localtime(moment, SAST).date()


def today() -> date:
    return timezone.localdate(timezone=SAST)


def day_runs(days, longest: int | None = None) -> list[tuple[date, date]]:
    """Sorted days as contiguous (first, last) runs, of at most ``longest`` days when given."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        extends = runs and runs[-1][1] + timedelta(days=1) == day
        if extends and (longest is None or (day - runs[-1][0]).days < longest):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(a, b) for a, b in runs]


def period_runs(days) -> list[Period]:
    """Contiguous runs of days as periods (each run's instants are ``.start`` .. ``.end``)."""
    return [Period(a, b) for a, b in day_runs(days)]


# ------------------------------------------------------------------ ISO weeks


def week_start(day: date) -> date:
    """The Monday of the day's ISO week."""
    return day - timedelta(days=day.weekday())


def iso_week(day: date) -> str:
    """``YYYY-Www`` of the day's ISO week."""
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def whole_weeks(period: Period) -> tuple[date, date]:
    """(first Monday on or after the start, the Monday after the last whole week): the period's whole
    ISO weeks are ``[first, end)``; none when ``first >= end``."""
    first = period.start_date + timedelta(days=-period.start_date.weekday() % 7)
    return first, week_start(period.end_date + timedelta(days=1))


def last_complete_week(day: date) -> Period:
    """The last ISO week (Monday to Sunday) that ended before ``day``."""
    monday = week_start(day)
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


# ------------------------------------------------------------------ calendar months


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_days(month: date) -> int:
    return (next_month(month) - month).days


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    return Period(first, first + timedelta(days=month_days(first) - 1))


def last_complete_month(day: date) -> Period:
    """The last calendar month that ended before ``day``."""
    last = day.replace(day=1) - timedelta(days=1)
    return month_period(last.year, last.month)


def months_within(period: Period) -> list[date]:
    """The first days of the calendar months the period covers wholly, the current month included when
    the period runs to today or later: nothing is finalised or removed in the future, so its days after
    today hold none (and "the year to today" is not a ragged end of the busiest month)."""
    now = today()
    month = period.start_date.replace(day=1)
    if month < period.start_date:
        month = next_month(month)
    months = []
    while month <= period.end_date:
        last = month + timedelta(days=month_days(month) - 1)
        if last > period.end_date and not (period.end_date >= now >= month):
            break
        months.append(month)
        month = next_month(month)
    return months


def time_key(group_by: str, day: date) -> str:
    """The label of the day's month (``YYYY-MM``), ISO week (``YYYY-Www``) or day (``YYYY-MM-DD``)."""
    if group_by == "month":
        return day.strftime("%Y-%m")
    if group_by == "week":
        return iso_week(day)
    return day.isoformat()
