"""The shipped Western Cape reference data: loaded by migration, listed by the API, consistent."""

import re

import pytest
from django.apps import apps as django_apps

from casework import reference_data
from casework.models import Court, Facility, Offence, Station, Suburb

pytestmark = pytest.mark.django_db

DESIGN_OFFENCES = {
    "murder",
    "attempted_murder",
    "assault_gbh",
    "common_assault",
    "sexual_offence",
    "robbery_aggravated",
    "other",
}
METRO_SUB_DISTRICTS = {
    "Khayelitsha",
    "Klipfontein",
    "Mitchells Plain",
    "Tygerberg",
    "Northern",
    "Eastern",
    "Southern",
    "Western",
}
LISTS = {
    "facilities": reference_data.FACILITIES,
    "stations": reference_data.STATIONS,
    "courts": reference_data.COURTS,
    "suburbs": reference_data.SUBURBS,
    "offences": reference_data.OFFENCES,
}


@pytest.fixture
def reader(make_user):
    return make_user("court_watcher")


@pytest.mark.parametrize("resource", sorted(LISTS))
def test_a_signed_in_user_gets_every_shipped_item_with_its_code_and_name(api, reader, resource):
    response = api(reader).get(f"/api/v1/{resource}/")

    assert response.status_code == 200
    items = response.json()
    assert {item["code"] for item in items} == {row["code"] for row in LISTS[resource]}
    assert all(item["name"].strip() for item in items)


@pytest.mark.parametrize("resource", sorted(LISTS))
def test_an_anonymous_visitor_gets_no_reference_data(api, resource):
    response = api().get(f"/api/v1/{resource}/")

    assert response.status_code in (401, 403)


def test_every_suburb_lies_in_a_station_precinct_the_api_lists(api, reader):
    stations = {s["code"] for s in api(reader).get("/api/v1/stations/").json()}
    suburbs = api(reader).get("/api/v1/suburbs/").json()

    assert len(suburbs) >= 100
    assert {s["station"] for s in suburbs} <= stations


def test_the_offence_codes_are_exactly_those_of_the_design(api, reader):
    codes = {o["code"] for o in api(reader).get("/api/v1/offences/").json()}

    assert codes == DESIGN_OFFENCES


def test_the_metro_and_the_large_country_hospitals_are_there_with_sender_codes_and_sub_districts():
    metro = Facility.objects.filter(district__code=reference_data.METRO)

    assert {"groote-schuur", "tygerberg", "mitchells-plain-dh", "khayelitsha-dh"} <= set(
        metro.values_list("code", flat=True)
    )
    assert set(metro.values_list("sub_district", flat=True)) <= METRO_SUB_DISTRICTS
    assert Facility.objects.filter(code__in=["paarl", "worcester", "george"]).count() == 3
    # MSH-4 is a short field: a sender code is a lowercase slug.
    assert all(
        re.fullmatch(r"[a-z0-9-]{2,40}", code) for code in Facility.objects.values_list("code", flat=True)
    )


def test_stations_carry_their_cluster_and_the_gang_affected_precincts_are_in_it():
    mitchells_plain = Station.objects.get(code="mitchells-plain")
    nyanga = Station.objects.get(code="nyanga")

    assert mitchells_plain.cluster == "Mitchells Plain"
    assert nyanga.cluster == "Nyanga"
    assert Suburb.objects.get(code="tafelsig").station == mitchells_plain
    assert Suburb.objects.get(code="hanover-park").station.cluster == "Nyanga"
    assert Suburb.objects.get(code="bishop-lavis").station.code == "bishop-lavis"


def test_a_district_and_a_regional_court_at_the_same_place_are_two_courts():
    at_mitchells_plain = Court.objects.filter(name__startswith="Mitchells Plain")

    assert sorted(at_mitchells_plain.values_list("level", flat=True)) == ["district", "regional"]
    assert Court.objects.get(code="wc-high-court").level == "high"


def test_loading_the_reference_data_again_changes_and_duplicates_nothing():
    before = {model: model.objects.count() for model in (Facility, Station, Court, Suburb, Offence)}
    Suburb.objects.filter(code="tafelsig").update(name="Renamed by mistake")

    reference_data.load(django_apps)

    assert {model: model.objects.count() for model in before} == before
    assert Suburb.objects.get(code="tafelsig").name == "Tafelsig"


def test_every_station_has_a_district_and_a_regional_court_nearby():
    courts = {c["code"]: c["level"] for c in reference_data.COURTS}

    for station in reference_data.STATIONS:
        district, regional = reference_data.STATION_COURTS[station["code"]]
        assert (courts[district], courts[regional]) == ("district", "regional")
