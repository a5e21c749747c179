"""A small catalog for the order tests: a Moscow branch and warehouse, goods of every kind.

Time is fixed: Tuesday 24 November 2026, 12:00 in Moscow, before the 16:00 cut-off, so the
delivery date is Wednesday 25 November (one assembly day, no transit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from kabinet.pharma.catalog.models import (
    BranchSchedule,
    Category,
    Manufacturer,
    Offer,
    Price,
    PriceList,
    Product,
    Promotion,
    PromotionKind,
    ServedCity,
    Warehouse,
    WholesaleMarkup,
)
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Branch, Licence

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)
DELIVERY = date(2026, 11, 25)
MIN_ORDER = 100_000


def make_product(code: str, trade_name: str, maker: Manufacturer, category: Category, **kw):
    return Product.objects.create(
        code=code,
        trade_name=trade_name,
        inn_name=kw.pop("inn_name", ""),
        manufacturer=maker,
        country=maker.country,
        category=category,
        search_text=search_text_for(trade_name=trade_name, inn_name="", manufacturer=maker.name),
        **kw,
    )


@dataclass
class Catalog:
    branch: Branch
    warehouse: Warehouse
    base: PriceList
    products: dict[str, Product]
    offers: dict[str, Offer]

    def offer(self, series: str) -> Offer:
        return Offer.objects.get(pk=self.offers[series].pk)


def add_offer(catalog: Catalog, product: Product, series: str, days: int, quantity: int, **kw):
    offer = Offer.objects.create(
        product=product,
        warehouse=catalog.warehouse,
        series=series,
        expires_on=TODAY + timedelta(days=days),
        quantity=quantity,
        **kw,
    )
    catalog.offers[series] = offer
    return offer


def build_catalog(moscow) -> Catalog:
    branch = Branch.objects.create(
        code="moscow",
        name="Москва",
        region=moscow.region,
        city=moscow,
        address="г. Москва, ул. Свободы, д. 35",
        phone="+74959676940",
        email="moscow@example.ru",
    )
    warehouse = Warehouse.objects.create(branch=branch, code="wh-moscow", name="Склад Москва")
    BranchSchedule.objects.create(
        branch=branch,
        delivery_weekdays=[1, 2, 3, 4, 5],
        cutoff=time(16, 0),
        assembly_days=1,
        min_order_kopecks=MIN_ORDER,
    )
    ServedCity.objects.create(branch=branch, city=moscow, transit_days=0)
    WholesaleMarkup.objects.create(
        region=moscow.region,
        effective_from=date(2025, 1, 1),
        upto_100_percent=Decimal("20"),
        upto_500_percent=Decimal("15"),
        over_500_percent=Decimal("10"),
    )
    category = Category.objects.create(name="Лекарственные средства", path="")
    category.path = f"{category.pk:04d}."
    category.save(update_fields=["path"])
    maker = Manufacturer.objects.create(name="Фармстандарт", country="Россия")
    products = {
        "noshpa": make_product("P001", "Но-шпа", maker, category),
        "nurofen": make_product("P002", "Нурофен", maker, category, vat_percent=20),
        "rx": make_product("P010", "Рецептурный", maker, category, prescription_only=True),
        "narcotic": make_product(
            "P011", "Наркотический", maker, category, control_class="narcotic"
        ),
        "precursor": make_product("P012", "Прекурсор", maker, category, control_class="precursor"),
        "carton": make_product("P020", "Бинт", maker, category, order_multiple=10),
        # Registered at 50 ₽: the Moscow ceiling is 50 × 1.20 × 1.10 = 66 ₽.
        "jnvlp": make_product(
            "P030", "Дорогой ЖНВЛП", maker, category, jnvlp=True, registered_price_kopecks=5_000
        ),
        "hidden": make_product("P040", "Снятый", maker, category, is_active=False),
    }
    base = PriceList.objects.create(code="base", name="Базовый", is_base=True)
    prices = {
        "noshpa": 25_000,
        "nurofen": 20_000,
        "rx": 30_000,
        "narcotic": 50_000,
        "precursor": 40_000,
        "carton": 1_000,
        "jnvlp": 9_000,
        "hidden": 10_000,
    }
    for name, kopecks in prices.items():
        Price.objects.create(price_list=base, product=products[name], price_kopecks=kopecks)
    promo = Promotion.objects.create(
        title="Осенняя акция Нурофен",
        banner_text="−10 % на Нурофен",
        kind=PromotionKind.PERCENT,
        percent=Decimal("10"),
        starts_on=TODAY - timedelta(days=1),
        ends_on=TODAY + timedelta(days=30),
    )
    promo.products.add(products["nurofen"])
    catalog = Catalog(branch, warehouse, base, products, {})
    # Но-шпа: A1 expires first but A0 has already expired; A2 has 5 packs reserved.
    add_offer(catalog, products["noshpa"], "A0", -1, 30)
    add_offer(catalog, products["noshpa"], "A2", 400, 50, reserved=5)
    add_offer(catalog, products["noshpa"], "A1", 100, 7)
    add_offer(catalog, products["nurofen"], "N1", 200, 100)
    add_offer(catalog, products["rx"], "R1", 200, 20)
    add_offer(catalog, products["narcotic"], "K1", 200, 10)
    add_offer(catalog, products["precursor"], "PR1", 200, 10)
    add_offer(catalog, products["carton"], "B1", 200, 100)
    add_offer(catalog, products["jnvlp"], "J1", 200, 100)
    return catalog


@pytest.fixture
def catalog(pharmacy, moscow) -> Catalog:
    return build_catalog(moscow)


def grant_licence(organisation, *kinds: str, expires_on: date | None = None) -> Licence:
    return Licence.objects.create(
        organisation=organisation,
        number=f"Л-{len(kinds)}-{'-'.join(kinds)}",
        kinds=list(kinds),
        expires_on=expires_on,
    )
