"""Which branch and warehouse serve an address, what is free there, when it arrives (P-ORD-5).

The Moscow branch serves Moscow (vans Mon/Wed/Fri, cut-off 16:00, a day of assembly); the
Kazan branch serves Kazan but has no schedule yet; nobody serves Novosibirsk. «Здоровье» is in
Moscow, «Вита» in Kazan. 27 November 2026 is a Friday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from kabinet.core.errors import NotFound
from kabinet.geo.models import City
from kabinet.pharma.catalog import selectors
from kabinet.pharma.catalog.delivery import Schedule
from kabinet.pharma.catalog.models import (
    BranchSchedule,
    Category,
    Holiday,
    Manufacturer,
    Offer,
    Product,
    ServedCity,
    Warehouse,
)
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Branch, DeliveryAddress

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
# Friday 18:00 in Moscow: after the cut-off.
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)


def _branch(code: str, city: City) -> Branch:
    return Branch.objects.create(
        code=code,
        name=city.name_ru,
        region=city.region,
        city=city,
        address=f"г. {city.name_ru}, ул. Складская, д. 1",
        phone="+74950000000",
        email=f"{code}@example.ru",
    )


@dataclass
class Network:
    moscow: Branch
    kazan: Branch
    main: Warehouse
    reserve: Warehouse
    kazan_store: Warehouse


@pytest.fixture
def network(moscow, kazan) -> Network:
    msk = _branch("moscow", moscow)
    kzn = _branch("kazan", kazan)
    reserve = Warehouse.objects.create(
        branch=msk, code="msk-2", name="Москва, резервный", is_main=False
    )
    main = Warehouse.objects.create(branch=msk, code="msk-1", name="Москва, основной")
    kazan_store = Warehouse.objects.create(
        branch=kzn, code="kzn-2", name="Казань, временный", is_main=False
    )
    BranchSchedule.objects.create(
        branch=msk,
        delivery_weekdays=[1, 3, 5],
        cutoff=time(16, 0),
        assembly_days=1,
        min_order_kopecks=500_000,
    )
    ServedCity.objects.create(branch=msk, city=moscow, transit_days=0)
    ServedCity.objects.create(branch=kzn, city=kazan, transit_days=1)
    Holiday.objects.create(day=date(2026, 12, 31), name="Новогодние каникулы")
    Holiday.objects.create(day=date(2027, 1, 1), name="Новый год")
    Holiday.objects.create(day=date(2026, 12, 2), branch=msk, name="Инвентаризация")
    Holiday.objects.create(day=date(2026, 12, 3), branch=kzn, name="День филиала")
    # Outside the window that is read: already past, and too far ahead.
    Holiday.objects.create(day=date(2026, 11, 4), name="День народного единства")
    Holiday.objects.create(day=date(2027, 2, 23), name="День защитника Отечества")
    return Network(msk, kzn, main, reserve, kazan_store)


# --- who serves -----------------------------------------------------------------------------


def test_a_served_city_gets_its_branch_main_warehouse_and_schedule(network, moscow):
    serving = selectors.serving_for_city(moscow, now=NOW)
    assert serving == selectors.Serving(
        branch=network.moscow,
        warehouse=network.main,
        transit_days=0,
        schedule=Schedule(
            time_zone="Europe/Moscow",
            delivery_weekdays=frozenset({1, 3, 5}),
            cutoff=time(16, 0),
            assembly_days=1,
            transit_days=0,
            holidays=frozenset({date(2026, 12, 2), date(2026, 12, 31), date(2027, 1, 1)}),
        ),
        min_order_kopecks=500_000,
    )


def test_holidays_of_another_branch_do_not_apply(network, kazan):
    network_schedule = BranchSchedule.objects.create(
        branch=network.kazan, delivery_weekdays=[2, 4], cutoff=time(12, 0)
    )
    serving = selectors.serving_for_city(kazan, now=NOW)
    assert serving is not None and serving.schedule is not None
    assert serving.schedule.holidays == frozenset(
        {date(2026, 12, 3), date(2026, 12, 31), date(2027, 1, 1)}
    )
    assert serving.schedule.transit_days == 1
    assert serving.min_order_kopecks == network_schedule.min_order_kopecks == 0


def test_a_branch_without_a_schedule_still_serves_stock_but_no_dates(network, kazan):
    serving = selectors.serving_for_city(kazan, now=NOW)
    # Only a secondary warehouse: orders still ship from it.
    assert serving == selectors.Serving(
        branch=network.kazan,
        warehouse=network.kazan_store,
        transit_days=1,
        schedule=None,
        min_order_kopecks=0,
    )
    assert selectors.nearest_delivery(serving=serving, now=NOW) is None


def test_a_schedule_without_valid_weekdays_gives_no_dates(network, kazan):
    BranchSchedule.objects.create(branch=network.kazan, delivery_weekdays=[], cutoff=time(12, 0))
    assert selectors.serving_for_city(kazan, now=NOW).schedule is None
    BranchSchedule.objects.filter(branch=network.kazan).update(delivery_weekdays=[0, 9])
    assert selectors.serving_for_city(kazan, now=NOW).schedule is None


def test_an_unserved_city_has_no_serving(network):
    novosibirsk = City.objects.get(region__code="54", name_ru="Новосибирск")
    assert selectors.serving_for_city(novosibirsk, now=NOW) is None


def test_a_branch_without_warehouses_serves_nothing(network):
    vladivostok = City.objects.get(region__code="25", name_ru="Владивосток")
    ServedCity.objects.create(branch=_branch("vvo", vladivostok), city=vladivostok)
    assert selectors.serving_for_city(vladivostok, now=NOW) is None


def test_the_schedule_runs_on_the_branch_clock(network):
    vladivostok = City.objects.get(region__code="25", name_ru="Владивосток")
    branch = _branch("vvo", vladivostok)
    Warehouse.objects.create(branch=branch, code="vvo-1", name="Владивосток")
    BranchSchedule.objects.create(branch=branch, delivery_weekdays=[1, 3, 5], cutoff=time(16, 0))
    ServedCity.objects.create(branch=branch, city=vladivostok)
    serving = selectors.serving_for_city(vladivostok, now=NOW)
    assert serving.schedule.time_zone == "Asia/Vladivostok"
    # 12:30 UTC on Wednesday is 22:30 there: past the cut-off, so Friday's van, which takes
    # orders until Friday's cut-off (no assembly days).
    info = selectors.nearest_delivery(
        serving=serving, now=datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
    )
    assert info.date == date(2026, 11, 27)
    assert info.cutoff_at == datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo("Asia/Vladivostok"))


def test_serving_for_an_address_takes_three_queries(network, pharmacy, django_assert_num_queries):
    address = DeliveryAddress.objects.get(pk=pharmacy.address.pk)
    with django_assert_num_queries(3):
        serving = selectors.serving_for_address(address, now=NOW)
        assert serving.branch.city.timezone == "Europe/Moscow"
    assert serving.warehouse == network.main


# --- addresses: one organisation never reaches another's ------------------------------------


def test_address_of_refuses_another_organisations_address(pharmacy, other_pharmacy):
    assert selectors.address_of(pharmacy.admin, pharmacy.address.pk) == pharmacy.address
    assert selectors.address_of(pharmacy.colleague, pharmacy.address.pk) == pharmacy.address
    with pytest.raises(NotFound):
        selectors.address_of(pharmacy.admin, other_pharmacy.address.pk)
    with pytest.raises(NotFound):
        selectors.address_of(other_pharmacy.admin, pharmacy.address.pk)
    with pytest.raises(NotFound):
        selectors.address_of(pharmacy.admin, 999_999)


def test_default_address_is_the_organisations_first_by_name(pharmacy, other_pharmacy, moscow):
    second = DeliveryAddress.objects.create(
        organisation=pharmacy.organisation, name="Аптека №0", city=moscow, address="ул. Арбат, 2"
    )
    assert selectors.default_address(pharmacy.admin) == second
    assert selectors.default_address(other_pharmacy.admin) == other_pharmacy.address
    DeliveryAddress.objects.filter(organisation=other_pharmacy.organisation).delete()
    assert selectors.default_address(other_pharmacy.admin) is None


# --- delivery for the product card ----------------------------------------------------------


def test_nearest_delivery_end_to_end(network, pharmacy):
    serving = selectors.serving_for_address(selectors.default_address(pharmacy.admin), now=NOW)
    info = selectors.nearest_delivery(serving=serving, now=NOW)
    # Friday evening: assembled Tuesday 1 December; Wednesday's van is off (the branch's
    # holiday), so Friday's. Orders until Thursday's cut-off still make that van (Wednesday
    # is no assembly day, Thursday's order is assembled on Friday morning).
    assert info == selectors.DeliveryInfo(
        date=date(2026, 12, 4),
        cutoff_at=datetime(2026, 12, 3, 16, 0, tzinfo=MSK),
        branch_name="Москва",
        options=(date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 9)),
        as_of=NOW,
    )
    with translation.override("ru"):
        assert info.day_text == "пт, 4 декабря"
        assert info.cutoff_text == "до 16:00, чт, 3 декабря"
        assert info.text == "Закажите до 16:00, чт, 3 декабря — доставим пт, 4 декабря"


def test_cutoff_text_today_and_tomorrow():
    def info(now: datetime) -> selectors.DeliveryInfo:
        return selectors.DeliveryInfo(
            date=date(2026, 11, 27),
            cutoff_at=datetime(2026, 11, 26, 16, 0, tzinfo=MSK),
            branch_name="Москва",
            options=(date(2026, 11, 27),),
            as_of=now,
        )

    with translation.override("ru"):
        assert info(datetime(2026, 11, 26, 1, 0, tzinfo=UTC)).cutoff_text == "сегодня до 16:00"
        # 21:30 UTC on the 25th is already 00:30 on the 26th in Moscow: the branch's today.
        late = info(datetime(2026, 11, 25, 21, 30, tzinfo=UTC))
        assert late.cutoff_text == "сегодня до 16:00"
        assert late.text == "Закажите сегодня до 16:00 — доставим пт, 27 ноября"
        assert info(datetime(2026, 11, 25, 20, 0, tzinfo=UTC)).cutoff_text == "завтра до 16:00"
        assert info(datetime(2026, 11, 24, 10, 0, tzinfo=UTC)).cutoff_text == (
            "до 16:00, чт, 26 ноября"
        )


def test_day_text_in_english():
    with translation.override("en"):
        assert selectors.day_text(date(2026, 11, 27)) == "Fri, 27 November"


# --- stock ----------------------------------------------------------------------------------


@pytest.fixture
def products(db) -> tuple[Product, Product]:
    category = Category.objects.create(name="Анальгетики", path="")
    category.path = f"{category.pk:04d}."
    category.save(update_fields=["path"])
    maker = Manufacturer.objects.create(name="Санофи", country="Франция")

    def product(code: str, name: str) -> Product:
        return Product.objects.create(
            code=code,
            trade_name=name,
            manufacturer=maker,
            country=maker.country,
            category=category,
            search_text=search_text_for(trade_name=name, inn_name="", manufacturer=maker.name),
        )

    return product("P001", "Но-шпа"), product("P002", "Анальгин")


@pytest.fixture
def stock(network, products) -> dict[str, Offer]:
    noshpa, _ = products
    main = network.main

    def offer(series: str, expires_on: date, quantity: int, reserved: int = 0, wh=main):
        return Offer.objects.create(
            product=noshpa,
            warehouse=wh,
            series=series,
            expires_on=expires_on,
            quantity=quantity,
            reserved=reserved,
        )

    return {
        "later": offer("S-LATE", date(2027, 6, 1), 10, 3),
        "sooner": offer("S-SOON", date(2027, 1, 1), 5),
        "expired": offer("S-OLD", date(2026, 11, 26), 7),
        "today": offer("S-TODAY", date(2026, 11, 27), 2),
        "taken": offer("S-TAKEN", date(2026, 12, 15), 4, 4),
        "elsewhere": offer("S-RES", date(2027, 3, 1), 100, wh=network.reserve),
    }


def test_free_stock_sums_series_and_subtracts_reserved(
    network, products, stock, django_assert_num_queries
):
    noshpa, analgin = products
    with django_assert_num_queries(1):
        free = selectors.free_stock(
            warehouse=network.main, product_ids=[noshpa.pk, analgin.pk], today=TODAY
        )
    # 10 − 3 + 5 + 2 + (4 − 4); the expired series and the other warehouse do not count.
    assert free == {noshpa.pk: 14, analgin.pk: 0}
    assert selectors.free_stock(
        warehouse=network.reserve, product_ids=[noshpa.pk], today=TODAY
    ) == {noshpa.pk: 100}


def test_free_stock_of_no_products_asks_nothing(network, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.free_stock(warehouse=network.main, product_ids=[]) == {}


def test_offers_for_lists_orderable_series_soonest_expiry_first(network, products, stock):
    noshpa, analgin = products
    offers = selectors.offers_for(product=noshpa, warehouse=network.main, today=TODAY)
    assert [(o.series, o.free) for o in offers] == [("S-TODAY", 2), ("S-SOON", 5), ("S-LATE", 7)]
    assert selectors.offers_for(product=analgin, warehouse=network.main, today=TODAY) == []
    assert selectors.offers_for(product=noshpa, warehouse=None) == []
