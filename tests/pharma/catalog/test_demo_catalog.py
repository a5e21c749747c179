"""The demo catalog (issue 6, item 2): deterministic, valid barcodes, legal ЖНВЛП prices,
idempotent, and complete enough for the cabinet to work in every branch."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum import ean

from kabinet.geo.models import City, Region
from kabinet.pharma import demo as pharma_demo
from kabinet.pharma.catalog import demo
from kabinet.pharma.catalog.ceilings import MarkupBands, bands_on, ceiling_kopecks
from kabinet.pharma.catalog.models import (
    Barcode,
    BranchSchedule,
    Category,
    ControlClass,
    Holiday,
    Offer,
    Price,
    PriceGroup,
    Product,
    Promotion,
    ServedCity,
    Warehouse,
    WholesaleMarkup,
)
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Branch, Organisation

SMALL = 300
STRICTEST = MarkupBands(*demo.markup_percents("77"))


@pytest.fixture
def loaded(db):
    pharma_demo._branches()
    return demo.load_catalog(products=SMALL, seed=2026)


def test_the_specs_are_deterministic_in_the_seed():
    first = demo.build_products(products=SMALL, seed=2026, bands=STRICTEST)
    again = demo.build_products(products=SMALL, seed=2026, bands=STRICTEST)
    other = demo.build_products(products=SMALL, seed=7, bands=STRICTEST)
    assert first == again
    assert len(first) == SMALL
    assert [s.code for s in first][:3] == ["P0000001", "P0000002", "P0000003"]
    assert [s.barcodes for s in first] != [s.barcodes for s in other]
    offers = {
        "warehouse_codes": ["wh-moscow", "wh-spb"],
        "head_code": "wh-moscow",
        "seed": 2026,
        "base_date": date(2026, 12, 1),
    }
    assert list(demo.build_offers(specs=first, **offers)) == list(
        demo.build_offers(specs=again, **offers)
    )


def test_a_large_catalog_keeps_every_rule():
    specs = demo.build_products(products=20_000, seed=2026, bands=STRICTEST)
    assert len(specs) == 20_000
    assert len({s.code for s in specs}) == 20_000
    keys = {(s.trade_name, s.form, s.dosage, s.pack, s.manufacturer) for s in specs}
    assert len(keys) == 20_000
    barcodes = [b for s in specs for b in s.barcodes]
    assert len(barcodes) == len(set(barcodes)) > 20_000
    assert all(ean.is_valid(b) and "460" <= b[:3] <= "469" for b in barcodes)
    for s in specs:
        if s.jnvlp:
            ceiling = ceiling_kopecks(
                registered_price_kopecks=s.registered_price_kopecks,
                bands=STRICTEST,
                vat_percent=s.vat_percent,
            )
            assert 0 < s.chain_price_kopecks <= s.base_price_kopecks <= ceiling, s
        assert s.vat_percent in (10, 22)
        assert s.pack_size >= 1 and s.order_multiple in (1, 10)


def test_helpers():
    assert demo.category_path([1, 4]) == "0001.0004."
    assert demo.category_path([12]) == "0012."
    assert demo.ean13_check_digit("460123456789") == ean.calc_check_digit("460123456789") == "3"
    assert demo.ean13_check_digit("469000000001") == ean.calc_check_digit("469000000001")
    assert demo.pack_size("№20") == 20
    assert demo.pack_size("амп. 2 мл №10") == 10
    assert demo.pack_size("фл. 100 мл") == 1
    assert demo.stock_base_date(date(2026, 11, 25)) == date(2026, 12, 1)
    assert demo.stock_base_date(date(2029, 3, 17)) == date(2029, 3, 1)
    assert demo.transit_days(100, own_region=True) == 1
    assert demo.transit_days(3000, own_region=False) == 7


def test_the_loaded_catalog(loaded):
    assert loaded["products"] == SMALL
    assert loaded["prices"] == 2 * SMALL
    assert loaded["warehouses"] == 34
    assert loaded["markups"] == Region.objects.count() == 89
    assert loaded["served_cities"] == City.objects.count()
    assert Product.objects.filter(trade_name="Но-шпа", inn_name="Дротаверин").exists()
    noshpa = Product.objects.filter(trade_name="Но-шпа").first()
    assert noshpa.manufacturer.name == "Санофи" and noshpa.country == "Франция"
    # Every product as build_products made it, search text with barcodes included.
    specs = {
        s.code: s
        for s in demo.build_products(products=SMALL, seed=2026, bands=demo.strictest_bands(["77"]))
    }
    for product in Product.objects.select_related("manufacturer").prefetch_related("barcodes"):
        spec = specs[product.code]
        assert (product.trade_name, product.dosage, product.pack) == (
            spec.trade_name,
            spec.dosage,
            spec.pack,
        )
        assert sorted(b.ean13 for b in product.barcodes.all()) == sorted(spec.barcodes)
        assert product.search_text == search_text_for(
            trade_name=product.trade_name,
            inn_name=product.inn_name,
            manufacturer=product.manufacturer.name,
            barcodes=spec.barcodes,
        )
        if product.cold_chain:
            assert (product.storage_min_c, product.storage_max_c) == (2, 8)
            assert product.delivery_conditions == "В термоконтейнере, +2…+8 °C"
    assert (
        Product.objects.filter(trade_name="Феназепам")
        .exclude(control_class=ControlClass.PSYCHOTROPIC)
        .count()
        == 0
    )
    barcodes = list(Barcode.objects.values_list("ean13", flat=True))
    assert len(barcodes) == len(set(barcodes)) >= SMALL
    assert all(ean.is_valid(b) and b.startswith("46") for b in barcodes)


def test_jnvlp_prices_are_within_the_ceiling_in_every_region(loaded):
    regions = {}
    for markup in WholesaleMarkup.objects.select_related("region"):
        regions.setdefault(markup.region_id, []).append(markup)
    assert len(regions) == 89
    today = date(2026, 11, 25)
    prices = Price.objects.filter(product__jnvlp=True).select_related("product")
    assert prices.count() > 0
    for price in prices:
        for markups in regions.values():
            ceiling = ceiling_kopecks(
                registered_price_kopecks=price.product.registered_price_kopecks,
                bands=bands_on(markups, today),
                vat_percent=price.product.vat_percent,
            )
            assert price.price_kopecks <= ceiling, price


def test_categories_have_correct_paths(loaded):
    categories = list(Category.objects.all())
    assert 40 <= len(categories) <= 60
    by_id = {c.pk: c for c in categories}
    for category in categories:
        chain = []
        node = category
        while node is not None:
            chain.insert(0, node.pk)
            node = by_id.get(node.parent_id)
        assert category.path == demo.category_path(chain)
    assert {c.name for c in categories if c.parent_id is None} == {
        "Лекарственные средства",
        "Медицинские изделия",
        "Витамины и БАД",
        "Гигиена",
        "Мать и дитя",
    }
    assert max(c.depth for c in categories) == 2


def test_every_branch_has_a_main_warehouse_a_schedule_and_its_city(loaded):
    for branch in Branch.objects.all():
        warehouse = Warehouse.objects.get(branch=branch, is_main=True)
        assert warehouse.code == f"wh-{branch.code}"
        schedule = BranchSchedule.objects.get(branch=branch)
        assert schedule.delivery_weekdays and set(schedule.delivery_weekdays) <= set(range(1, 8))
        assert schedule.min_order_kopecks >= 300_000
        assert ServedCity.objects.get(city=branch.city).branch == branch
        assert ServedCity.objects.get(city=branch.city).transit_days == 0
    moscow = Branch.objects.get(code="moscow")
    assert moscow.schedule.delivery_weekdays == [1, 2, 3, 4, 5, 6]
    # Moscow region has no branch of its own: Moscow serves it, a day away.
    served = ServedCity.objects.get(city__region__code="50", city__name_ru="Подольск")
    assert (served.branch, served.transit_days) == (moscow, 1)
    head = Offer.objects.filter(warehouse__code="wh-moscow")
    assert head.values("product").distinct().count() > 0.9 * SMALL
    assert Offer.objects.filter(expires_on__lte=date.today()).count() == 0
    assert Holiday.objects.filter(branch__isnull=True, day=date(2026, 1, 7)).exists()
    assert Promotion.objects.filter(price_groups__code="chains").count() == 1
    noshpa = Promotion.objects.get(title="Но-шпа: 15 ₽ с упаковки")
    assert (
        noshpa.products.count() == Product.objects.filter(trade_name__startswith="Но-шпа").count()
    )
    for promotion in Promotion.objects.all():
        assert promotion.runs_on(date.today())


def test_a_second_call_creates_nothing(loaded):
    assert loaded["created"] > 0
    again = demo.load_catalog(products=SMALL, seed=2026)
    assert again == {**loaded, "created": 0}


def test_the_demo_organisation_gets_the_standard_group_once(loaded):
    org = Organisation.objects.create(name="ООО «Тест»", inn="7701123451")
    demo.load_catalog(price_groups={"7701123451": "standard"})
    org.refresh_from_db()
    assert org.price_group == PriceGroup.objects.get(code="standard")
    chains = PriceGroup.objects.get(code="chains")
    Organisation.objects.filter(pk=org.pk).update(price_group=chains)
    demo.load_catalog(price_groups={"7701123451": "standard"})
    org.refresh_from_db()
    assert org.price_group == chains
