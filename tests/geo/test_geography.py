"""The shipped geography: every federal subject with its time zone, cities, the city picker."""

import zoneinfo

import pytest
from django import forms

from kabinet.geo.forms import CityField
from kabinet.geo.loader import read_json, sync_geography
from kabinet.geo.models import City, Region

pytestmark = pytest.mark.django_db


def test_every_federal_subject_is_loaded_with_a_real_time_zone():
    assert Region.objects.count() == 89
    zones = zoneinfo.available_timezones()
    for region in Region.objects.all():
        assert region.timezone in zones, region.code
        assert len(region.code) == 2 and region.code.isdigit()


@pytest.mark.parametrize(
    ("city", "region_code", "zone"),
    [
        ("Москва", "77", "Europe/Moscow"),
        ("Новосибирск", "54", "Asia/Novosibirsk"),
        ("Владивосток", "25", "Asia/Vladivostok"),
        ("Калининград", "39", "Europe/Kaliningrad"),
        ("Екатеринбург", "66", "Asia/Yekaterinburg"),
    ],
)
def test_big_cities_have_the_right_region_and_time_zone(city, region_code, zone):
    found = City.objects.select_related("region").get(name_ru=city)
    assert found.region.code == region_code
    assert found.timezone == zone
    assert found.region.timezone == zone


def test_every_region_has_a_city_and_every_city_a_cyrillic_name():
    assert Region.objects.filter(cities__isnull=True).count() == 0
    assert City.objects.count() == len(read_json("cities.json"))
    assert not City.objects.exclude(name_ru__regex=r"^[А-ЯЁ]").exists()


def test_sync_is_idempotent_and_keeps_the_back_office_program_flag():
    moscow_region = Region.objects.get(code="77")
    moscow_region.loyalty_active = False
    moscow_region.save()
    before = (Region.objects.count(), City.objects.count())

    sync_geography(Region, City)

    assert (Region.objects.count(), City.objects.count()) == before
    moscow_region.refresh_from_db()
    assert moscow_region.loyalty_active is False


def test_program_is_off_in_some_remote_regions_for_the_demo():
    off = set(Region.objects.filter(loyalty_active=False).values_list("code", flat=True))
    assert off == {"17", "41", "49", "83", "87", "89"}


def test_city_search_by_first_letters_biggest_first(client):
    response = client.get("/geo/cities.json", {"q": "ново"})
    assert response.status_code == 200
    names = [c["name"] for c in response.json()]
    assert names[0] == "Новосибирск"
    first = response.json()[0]
    assert set(first) == {"id", "name", "region", "program_active"}
    assert first["region"] == "Новосибирская область"


def test_city_search_matches_a_later_word_of_the_name(client):
    names = [c["name"] for c in client.get("/geo/cities.json", {"q": "новгор"}).json()]
    assert names[:2] == ["Нижний Новгород", "Великий Новгород"]


def test_city_search_folds_yo_and_case(client):
    names = [c["name"] for c in client.get("/geo/cities.json", {"q": "ОРЕЛ"}).json()]
    assert "Орёл" in names


def test_city_search_with_empty_query_returns_nothing(client):
    assert client.get("/geo/cities.json", {"q": "  "}).json() == []


def test_moscow_districts_are_not_offered_as_cities(client):
    names = [c["name"] for c in client.get("/geo/cities.json", {"q": "марьино"}).json()]
    assert names == []


class CityForm(forms.Form):
    city = CityField()


def test_city_field_accepts_a_picked_id():
    moscow = City.objects.get(name_ru="Москва")
    form = CityForm(data={"city_0": "Москва", "city_1": str(moscow.pk)})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["city"] == moscow


def test_city_field_accepts_an_unambiguous_typed_name_without_javascript():
    form = CityForm(data={"city_0": "  новосибирск ", "city_1": ""})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["city"].name_ru == "Новосибирск"


def test_city_field_names_the_problem_in_russian():
    form = CityForm(data={"city_0": "Атлантида", "city_1": ""})
    assert not form.is_valid()
    assert form.errors["city"] == ["Выберите город из списка."]
    empty = CityForm(data={"city_0": "", "city_1": ""})
    assert empty.errors["city"] == ["Укажите город."]
    forged = CityForm(data={"city_0": "", "city_1": "999999999"})
    assert forged.errors["city"] == ["Выберите город из списка."]
