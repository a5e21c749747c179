"""A small catalog for the pages' tests: a Moscow branch, three products, a promotion."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

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
)
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Branch


def _category(name: str, parent: Category | None = None) -> Category:
    node = Category.objects.create(name=name, parent=parent, path="")
    node.path = (parent.path if parent else "") + f"{node.pk:04d}."
    node.save(update_fields=["path"])
    return node


def _product(code: str, trade_name: str, inn: str, maker: Manufacturer, category: Category, **kw):
    return Product.objects.create(
        code=code,
        trade_name=trade_name,
        inn_name=inn,
        form=kw.pop("form", "таблетки"),
        dosage=kw.pop("dosage", "40 мг"),
        pack=kw.pop("pack", "№20"),
        manufacturer=maker,
        country=maker.country,
        category=category,
        search_text=search_text_for(trade_name=trade_name, inn_name=inn, manufacturer=maker.name),
        **kw,
    )


@pytest.fixture
def catalog(pharmacy, moscow):
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
        branch=branch, delivery_weekdays=[1, 2, 3, 4, 5], cutoff=time(16, 0), assembly_days=0
    )
    ServedCity.objects.create(branch=branch, city=moscow, transit_days=0)
    drugs = _category("Лекарственные средства")
    pain = _category("Анальгетики", drugs)
    sanofi = Manufacturer.objects.create(name="Санофи", country="Франция")
    reckitt = Manufacturer.objects.create(name="Рекитт Бенкизер", country="Великобритания")
    noshpa = _product("P001", "Но-шпа", "Дротаверин", sanofi, pain)
    nurofen = _product("P002", "Нурофен", "Ибупрофен", reckitt, pain, dosage="200 мг")
    hidden = _product("P003", "Снятый с продажи", "Ибупрофен", reckitt, pain, is_active=False)
    base = PriceList.objects.create(code="base", name="Базовый", is_base=True)
    for product, kopecks in ((noshpa, 25_000), (nurofen, 20_000), (hidden, 10_000)):
        Price.objects.create(price_list=base, product=product, price_kopecks=kopecks)
    today = timezone.localdate()
    Offer.objects.create(
        product=noshpa,
        warehouse=warehouse,
        series="A2",
        expires_on=today + timedelta(days=400),
        quantity=50,
        reserved=5,
    )
    Offer.objects.create(
        product=noshpa,
        warehouse=warehouse,
        series="A1",
        expires_on=today + timedelta(days=100),
        quantity=7,
    )
    promo = Promotion.objects.create(
        title="Осенняя акция Нурофен",
        banner_text="−10 % на Нурофен",
        kind=PromotionKind.PERCENT,
        percent=Decimal("10"),
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=30),
    )
    promo.products.add(nurofen)
    return {"branch": branch, "warehouse": warehouse, "noshpa": noshpa, "nurofen": nurofen}
