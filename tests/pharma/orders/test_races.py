"""Two pharmacies order the last units at the same moment: exactly one gets them (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.db.models import F

from kabinet.pharma.catalog.models import Offer, Price
from kabinet.pharma.models import DeliveryAddress
from kabinet.pharma.orders import services
from kabinet.pharma.orders.models import Order, Reservation
from kabinet.pharma.orders.services import OutOfStock

from .conftest import NOW, add_offer, build_catalog, make_product

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def test_last_units_are_sold_once(pharmacy, other_pharmacy, moscow, monkeypatch):
    catalog = build_catalog(moscow)
    maker = catalog.products["noshpa"].manufacturer
    category = catalog.products["noshpa"].category
    # Two products, two series each; the carts list them in opposite orders, so without
    # locking in primary-key order the two transactions could deadlock.
    first = make_product("L001", "Последний-1", maker, category)
    second = make_product("L002", "Последний-2", maker, category)
    for product in (first, second):
        Price.objects.create(price_list=catalog.base, product=product, price_kopecks=30_000)
        add_offer(catalog, product, f"{product.code}-a", 100, 2)
        add_offer(catalog, product, f"{product.code}-b", 200, 3)
    other_address = DeliveryAddress.objects.create(
        organisation=other_pharmacy.organisation, name="Вита в Москве", city=moscow, address="-"
    )
    carts = [
        (pharmacy.admin, pharmacy.address.pk, ["L001", "L002"]),
        (other_pharmacy.admin, other_address.pk, ["L002", "L001"]),
    ]
    for partner, address_id, codes in carts:
        for code in codes:
            services.add_to_cart(
                partner=partner, address_id=address_id, product_code=code, quantity=5
            )

    # Hold each transaction a moment after pricing, before the lock: both see the stock free.
    real_allocate = services._allocate
    gate = threading.Barrier(2)

    def slow_allocate(*args, **kwargs):
        gate.wait(timeout=10)
        return real_allocate(*args, **kwargs)

    monkeypatch.setattr(services, "_allocate", slow_allocate)
    outcomes: list[str] = []

    def order(partner, address_id):
        try:
            services.place_order(
                partner=partner, address_id=address_id, payment_method="invoice", now=NOW
            )
            outcomes.append("placed")
        except OutOfStock:
            outcomes.append("short")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=order, args=(p, a)) for p, a, _codes in carts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["placed", "short"]
    assert Order.objects.count() == 1
    offers = Offer.objects.filter(product__code__in=["L001", "L002"]).order_by("series")
    assert [(o.series, o.quantity, o.reserved) for o in offers] == [
        ("L001-a", 2, 2),
        ("L001-b", 3, 3),
        ("L002-a", 2, 2),
        ("L002-b", 3, 3),
    ]
    assert sum(Reservation.objects.values_list("quantity", flat=True)) == 10
    assert not Offer.objects.filter(reserved__gt=F("quantity")).exists()
