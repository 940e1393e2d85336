import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from casework.models import (
    Accused,
    Court,
    District,
    Facility,
    Incident,
    Offence,
    PoliceCase,
    Prosecution,
    Station,
    Suburb,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-for-tests")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-district-{n}")
    name = factory.Sequence(lambda n: f"Test district {n}")


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    code = factory.Sequence(lambda n: f"test-station-{n}")
    name = factory.Sequence(lambda n: f"Test station {n}")
    cluster = "Test cluster"
    district = factory.SubFactory(DistrictFactory)


class CourtFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Court

    code = factory.Sequence(lambda n: f"test-court-{n}")
    name = factory.Sequence(lambda n: f"Test magistrates' court {n}")
    level = Court.Level.REGIONAL
    district = factory.SubFactory(DistrictFactory)


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    code = factory.Sequence(lambda n: f"test-facility-{n}")
    name = factory.Sequence(lambda n: f"Test hospital {n}")
    district = factory.SubFactory(DistrictFactory)


class SuburbFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suburb

    code = factory.Sequence(lambda n: f"test-suburb-{n}")
    name = factory.Sequence(lambda n: f"Test suburb {n}")
    station = factory.SubFactory(StationFactory)


class OffenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offence
        django_get_or_create = ("code",)

    code = "attempted_murder"
    name = "Attempted murder"


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    occurred_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=30))
    suburb = factory.SubFactory(SuburbFactory)
    mechanism = "sharp"
    place_type = "street"


class PoliceCaseFactory(factory.django.DjangoModelFactory):
    """A docket. States other than ``opened`` should be reached through services in tests that care."""

    class Meta:
        model = PoliceCase
        skip_postgeneration_save = True

    station = factory.SubFactory(StationFactory)
    cas_serial = factory.Sequence(lambda n: n + 1)
    cas_month = 1
    cas_year = 2025
    offence = factory.SubFactory(OffenceFactory)
    opened_on = datetime.date(2025, 1, 15)

    @factory.post_generation
    def incidents(self, create, extracted, **kwargs):
        if create:
            self.incidents.set(
                extracted if extracted is not None else [IncidentFactory(suburb__station=self.station)]
            )


class ProsecutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prosecution
        skip_postgeneration_save = True

    police_case = factory.SubFactory(PoliceCaseFactory)
    court = factory.SubFactory(CourtFactory)
    case_number = factory.Sequence(lambda n: f"RC {n + 1}/2025")
    enrolled_on = datetime.date(2025, 2, 1)

    @factory.post_generation
    def accused(self, create, extracted, **kwargs):
        if create:
            for name in extracted or ["A. Accused"]:
                Accused.objects.create(prosecution=self, name=name)


def set_state(obj, state: str) -> None:
    """Put an object in a state for a test's starting point, bypassing the protected field.

    Only for arranging tests; the code under test always moves states through services.
    """
    type(obj).objects.filter(pk=obj.pk).update(state=state)
    obj.refresh_from_db()
