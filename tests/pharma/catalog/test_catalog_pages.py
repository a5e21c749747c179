"""The partner's catalog pages (SPEC P-CAT-1…4, P-NEXT-2, P-ORD-5): what a pharmacy sees.

Two organisations: «Здоровье» in Moscow (served by the Moscow branch) and «Вита» in Kazan
(no branch serves Kazan here). Nothing of one may show on the other's pages.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kabinet.pharma.models import Authority, DeliveryAddress
from tests.pharma.conftest import _partner, client_for

pytestmark = pytest.mark.django_db


def test_catalog_needs_sign_in_and_the_catalog_authority(pharmacy, catalog):
    response = Client().get(reverse("pharma:catalog"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("pharma:login"))
    payer = _partner(pharmacy.organisation, "zdorovie-payer", [Authority.PAY])
    assert client_for(payer).get(reverse("pharma:catalog")).status_code == 403
    assert client_for(payer).get(reverse("pharma:product", args=["P001"])).status_code == 403


def test_catalog_lists_my_prices_stock_and_delivery(pharmacy, catalog):
    page = client_for(pharmacy.colleague).get(reverse("pharma:catalog"))
    assert page.status_code == 200
    html = page.content.decode()
    rows = page.context["rows"]
    assert [r.product.code for r in rows] == ["P001", "P002"]  # by name; inactive hidden
    by_code = {r.product.code: r for r in rows}
    assert by_code["P001"].quote.price_kopecks == 25_000
    assert by_code["P001"].free == 45 + 7
    assert by_code["P002"].quote.price_kopecks == 18_000  # the promotion's 10 %
    assert by_code["P002"].free == 0
    assert "Осенняя акция Нурофен" in html
    assert page.context["delivery"] is not None
    assert "Ближайшая доставка" in html


def test_search_by_name_and_in_the_wrong_keyboard_layout(pharmacy, catalog):
    client = client_for(pharmacy.colleague)
    page = client.get(reverse("pharma:catalog"), {"q": "нурофен"})
    assert [r.product.code for r in page.context["rows"]] == ["P002"]
    page = client.get(reverse("pharma:catalog"), {"q": "yjigf"})
    assert [r.product.code for r in page.context["rows"]] == ["P001"]
    assert "Показаны результаты по запросу" in page.content.decode()


def test_in_stock_filter_uses_my_warehouse(pharmacy, catalog):
    page = client_for(pharmacy.colleague).get(reverse("pharma:catalog"), {"in_stock": "on"})
    assert [r.product.code for r in page.context["rows"]] == ["P001"]


def test_bad_filter_input_is_reported_not_fatal(pharmacy, catalog):
    page = client_for(pharmacy.colleague).get(
        reverse("pharma:catalog"), {"page": "много", "manufacturer": "999999"}
    )
    assert page.status_code == 200
    assert "не распознаны" in page.content.decode()


def test_product_card_shows_series_by_expiry_and_my_price(pharmacy, catalog):
    page = client_for(pharmacy.colleague).get(reverse("pharma:product", args=["P001"]))
    assert page.status_code == 200
    assert [(o.series, o.free) for o in page.context["offers"]] == [("A1", 7), ("A2", 45)]
    assert page.context["quote"].price_kopecks == 25_000
    html = page.content.decode()
    for text in ("Дротаверин", "Санофи", "Франция", "таблетки", "40 мг", "№20", "Анальгетики"):
        assert text in html


def test_product_card_of_an_unknown_or_withdrawn_product_is_404(pharmacy, catalog):
    client = client_for(pharmacy.colleague)
    assert client.get(reverse("pharma:product", args=["NOPE"])).status_code == 404
    assert client.get(reverse("pharma:product", args=["P003"])).status_code == 404


def test_another_organisations_address_is_never_used(pharmacy, other_pharmacy, catalog):
    """?address= of «Вита» falls back to my own address and shows nothing of theirs."""
    page = client_for(pharmacy.colleague).get(
        reverse("pharma:catalog"), {"address": other_pharmacy.address.pk}
    )
    assert page.context["address"] == pharmacy.address
    assert other_pharmacy.address.name not in page.content.decode()


def test_an_unserved_city_shows_prices_but_no_stock(other_pharmacy, catalog):
    page = client_for(other_pharmacy.admin).get(reverse("pharma:catalog"))
    assert page.context["serving"] is None
    assert [r.free for r in page.context["rows"]] == [None, None]
    assert "не обслуживается" in page.content.decode()


def test_choosing_an_address_is_remembered(pharmacy, moscow, catalog):
    second = DeliveryAddress.objects.create(
        organisation=pharmacy.organisation, name="Аптека №2", city=moscow, address="Арбат, 10"
    )
    client = client_for(pharmacy.colleague)
    client.get(reverse("pharma:catalog"), {"address": second.pk})
    assert client.get(reverse("pharma:catalog")).context["address"] == second


def test_promotions_are_not_shown_to_the_public(catalog):
    assert "Осенняя акция" not in Client().get(reverse("pharma:home")).content.decode()


def test_cabinet_home_shows_running_promotions_to_partners_who_see_prices(pharmacy, catalog):
    assert (
        "Осенняя акция Нурофен"
        in client_for(pharmacy.colleague).get(reverse("pharma:cabinet")).content.decode()
    )
    payer = _partner(pharmacy.organisation, "zdorovie-payer", [Authority.PAY])
    assert "Осенняя акция" not in client_for(payer).get(reverse("pharma:cabinet")).content.decode()
