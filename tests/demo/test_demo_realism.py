"""The demo's synthetic history looks like the Western Cape's: where, how, when, and how cases end."""

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.models import GangAssertion, Incident, PoliceCase, Prosecution
from casework.reference_data import GANG_AFFECTED_SUBURBS

from .seeding import seeded_for_module

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def a_small_province(django_db_setup, django_db_blocker):
    with seeded_for_module(
        django_db_blocker, "--admissions", "1500", "--incidents", "20", "--seed", "3"
    ) as output:
        yield output


def test_prosecutions_end_in_several_finalised_states_including_convictions_and_withdrawals():
    finalised = set(
        Prosecution.objects.filter(state__in=Prosecution.FINALISED_STATES).values_list("state", flat=True)
    )

    assert len(finalised) >= 3
    assert Prosecution.objects.filter(state__in=Prosecution.CONVICTION_STATES).exists()
    assert Prosecution.objects.filter(state__in=Prosecution.REMOVED_STATES).exists()
    assert PoliceCase.objects.filter(state=PoliceCase.State.CLOSED_UNDETECTED).exists()


def test_gang_relatedness_is_asserted_by_the_ec_and_revisited_by_saps_with_a_basis():
    sources = set(GangAssertion.objects.values_list("source", flat=True))
    # Where SAPS disagreed last, the incident is no longer counted as gang-related.
    overruled = Incident.objects.filter(gang_assertions__source="saps", gang_assertions__gang_related=False)

    assert sources == {GangAssertion.Source.EC_CLINICIAN, GangAssertion.Source.SAPS}
    assert not GangAssertion.objects.filter(basis="").exists()
    assert overruled.exists()
    assert not overruled.filter(gang_related=True).exists()


def test_open_matters_wait_for_a_court_date_that_is_still_to_come():
    waiting = Prosecution.objects.filter(state__in=["enrolled", "remanded", "trial", "convicted"])

    assert waiting.exists()
    assert not waiting.filter(next_appearance__lt=timezone.localdate() - timedelta(days=1)).exists()


def test_firearm_injuries_concentrate_in_gang_affected_suburbs():
    def firearm_share(qs):
        return qs.filter(mechanism="firearm").count() / qs.count()

    in_gang_areas = Incident.objects.filter(suburb__code__in=GANG_AFFECTED_SUBURBS)
    elsewhere = Incident.objects.exclude(suburb__code__in=GANG_AFFECTED_SUBURBS)

    assert firearm_share(in_gang_areas) > 1.5 * firearm_share(elsewhere)


def test_weekend_days_see_more_violence_than_weekdays():
    weekend = Incident.objects.filter(occurred_at__week_day__in=[1, 7]).count()  # Sunday, Saturday
    weekdays = Incident.objects.count() - weekend

    assert weekend / 2 > weekdays / 5


def test_history_reaches_back_over_the_years_asked_for():
    now = timezone.now()

    assert Incident.objects.filter(occurred_at__lt=now - timedelta(days=2 * 365)).exists()
    assert not Incident.objects.filter(occurred_at__lt=now - timedelta(days=3 * 365 + 1)).exists()
