"""``seed_demo`` with its defaults: a province's volume and shape, and something waiting for every role.

One default run (about 30,000 admissions a year for three years) shared by the module; thresholds
written by hand from what the demo is meant to show (docs/demo.md), not computed by the seeder.
"""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from casework import permissions
from casework.models import Incident, PoliceCase, Prosecution
from casework.reference_data import GANG_AFFECTED_SUBURBS
from courtwatch.models import Brief, CommitteeMeeting, WithdrawalReview
from referrals.models import Admission, Referral
from reporting import selectors
from reporting.dashboard import admissions_by
from reporting.params import DashboardFilters
from reporting.periods import Period

from .seeding import seeded_for_module

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def default_seed(django_db_setup, django_db_blocker):
    with seeded_for_module(django_db_blocker) as output:
        yield output


def per_day(qs, days: int) -> float:
    return qs.count() / days


def test_three_years_hold_about_ninety_thousand_admissions():
    assert 85_000 <= Admission.objects.count() <= 95_000
    assert Admission.objects.filter(arrival_at__lt=timezone.now() - timedelta(days=2 * 365 + 300)).exists()


def test_december_is_busier_than_the_year_around_it():
    today = timezone.localdate()
    year = today.year - 1  # the last complete December
    whole_year = Admission.objects.filter(
        arrival_at__date__gte=date(year, 1, 1), arrival_at__date__lte=date(year, 12, 31)
    )
    december = whole_year.filter(arrival_at__month=12)

    assert per_day(december, 31) > 1.15 * per_day(whole_year, 365)


def test_month_end_paydays_are_busier_than_mid_month():
    month_end = Admission.objects.filter(arrival_at__day__in=[26, 27, 28])  # in every month
    mid_month = Admission.objects.filter(arrival_at__day__gte=8, arrival_at__day__lte=18)

    assert month_end.count() / 3 > 1.1 * mid_month.count() / 11


def test_weekends_see_twice_the_admissions_of_a_weekday():
    weekend = Admission.objects.filter(arrival_at__week_day__in=[1, 7]).count()  # Sunday, Saturday
    monday_to_thursday = Admission.objects.filter(arrival_at__week_day__in=[2, 3, 4, 5]).count()

    assert weekend / 2 > 1.8 * monday_to_thursday / 4


def test_nights_see_far_more_arrivals_than_mornings():
    nights = Admission.objects.filter(arrival_at__hour__in=[20, 21, 22, 23, 0, 1]).count()
    mornings = Admission.objects.filter(arrival_at__hour__in=[6, 7, 8, 9, 10, 11]).count()

    assert nights > 2.5 * mornings


def test_knives_and_guns_dominate_and_guns_concentrate_on_the_cape_flats():
    total = Admission.objects.count()
    sharp_or_gun = Admission.objects.filter(mechanism__in=["sharp", "firearm"]).count()
    gang_areas = Admission.objects.filter(suburb__code__in=GANG_AFFECTED_SUBURBS)
    elsewhere = Admission.objects.exclude(suburb__code__in=GANG_AFFECTED_SUBURBS)

    def gun_share(qs):
        return qs.filter(mechanism="firearm").count() / qs.count()

    assert sharp_or_gun / total > 0.55
    assert gun_share(gang_areas) > 2 * gun_share(elsewhere)


def test_most_cases_never_reach_court_and_few_end_in_a_conviction():
    incidents = Incident.objects.count()
    dockets = PoliceCase.objects.count()
    matters = Prosecution.objects.count()
    finalised = Prosecution.objects.filter(state__in=Prosecution.FINALISED_STATES).count()
    convicted = Prosecution.objects.filter(state__in=Prosecution.CONVICTION_STATES).count()

    assert 0.3 < dockets / incidents < 0.7
    assert matters < 0.25 * dockets
    assert matters > 3000
    assert convicted < 0.4 * finalised


def _shown(rows, field) -> list:
    return [r for r in rows if r.get(field) is not None]


def test_managers_see_figures_not_small_cells_by_court_station_and_mechanism():
    today = timezone.localdate()
    year = Period(today - timedelta(days=364), today)  # the reports' default period
    by_court = selectors.conviction_rate(year, "court", suppress=True)["rows"]
    by_station = selectors.conviction_rate(year, "station", suppress=True)["rows"]
    by_mechanism = admissions_by(year, "mechanism", DashboardFilters(), suppress=True)["rows"]
    by_facility = admissions_by(year, "facility", DashboardFilters(), suppress=True)["rows"]

    assert len(by_court) >= 15 and len(_shown(by_court, "finalised")) >= 0.8 * len(by_court)
    assert len(by_station) >= 40 and len(_shown(by_station, "finalised")) >= 0.7 * len(by_station)
    assert all(r["count"] is not None and r["count"] >= 5 for r in by_mechanism if r["key"] != "poisoning")
    assert len(_shown(by_facility, "count")) >= 20


def test_each_watcher_has_matters_on_todays_roll_and_later_this_week():
    today = timezone.localdate()
    for username in ("watcher.thandi", "watcher.pieter"):
        briefs = Brief.objects.filter(officer__username=username)
        on_roll_today = briefs.filter(prosecution__next_appearance=today)
        this_week = briefs.filter(prosecution__next_appearance__range=(today, today + timedelta(days=6)))

        assert on_roll_today.count() >= 5, username
        assert this_week.count() > on_roll_today.count(), username


def test_every_saps_liaison_has_referrals_waiting_to_be_acknowledged():
    for user in get_user_model().objects.filter(groups__name="saps_liaison"):
        waiting = Referral.objects.filter(
            state=Referral.State.SENT, station__in=permissions.stations_of(user)
        )

        assert waiting.count() >= 2, user.username


def test_the_committee_has_flagged_reviews_and_a_meeting_ahead_with_an_agenda():
    today = timezone.localdate()
    upcoming = CommitteeMeeting.objects.filter(date__gt=today)

    assert WithdrawalReview.objects.filter(state=WithdrawalReview.State.FLAGGED).count() >= 10
    assert upcoming.exists()
    assert WithdrawalReview.objects.filter(meeting__in=upcoming, state="on_agenda").count() >= 3
    assert WithdrawalReview.objects.filter(state=WithdrawalReview.State.DECIDED).count() > 1000
