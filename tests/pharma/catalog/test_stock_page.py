"""The back office's stock page (SPEC P-BO-2, P-NEXT-2): series by warehouse with their free
stock and expiry, filtered, paginated, for staff allowed to view offers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kabinet.accounts.models import User
from kabinet.pharma.catalog import backoffice
from kabinet.pharma.catalog.models import Offer, Warehouse
from kabinet.pharma.catalog.selectors import StockFilter, stock
from tests.pharma.conftest import PASSWORD, client_for
from tests.pharma.orders.conftest import TODAY, add_offer, build_catalog

pytestmark = pytest.mark.django_db

URL = reverse("pharma:stock")


@pytest.fixture
def catalog(pharmacy, moscow):
    catalog = build_catalog(moscow)
    # A second warehouse of the branch with one series of Нурофен, reserved in part.
    spare = Warehouse.objects.create(
        branch=catalog.branch, code="wh-moscow-2", name="Склад Москва-2", is_main=False
    )
    Offer.objects.create(
        product=catalog.products["nurofen"],
        warehouse=spare,
        series="N9",
        expires_on=TODAY + timedelta(days=20),
        quantity=12,
        reserved=4,
    )
    return catalog


@pytest.fixture
def storekeeper(db) -> User:
    user = User.objects.create_user(username="sklad", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_offer"))
    return user


def series(criteria: StockFilter) -> list[str]:
    return [offer.series for offer in stock(criteria, today=TODAY)]


def test_every_series_by_product_then_warehouse_then_expiry(catalog):
    assert series(StockFilter()) == ["A0", "A1", "A2", "N1", "N9", "R1", "K1", "PR1", "B1", "J1"]


def test_filters(catalog):
    spare = Warehouse.objects.get(code="wh-moscow-2")
    assert series(StockFilter(warehouse_id=spare.pk)) == ["N9"]
    # By name in any case and spelling, by code, by barcode-free word; nothing for a stranger.
    assert series(StockFilter(query="НО-ШПА")) == ["A0", "A1", "A2"]
    assert series(StockFilter(query="p002")) == ["N1", "N9"]
    assert series(StockFilter(query="нурофен", warehouse_id=spare.pk)) == ["N9"]
    assert series(StockFilter(query="аспирин")) == []
    assert series(StockFilter(query="---")) == []
    # Expiring within N days, soonest first; the expired series counts as expiring.
    assert series(StockFilter(expiring_within_days=100)) == ["A0", "N9", "A1"]
    assert series(StockFilter(expiring_within_days=0)) == ["A0"]
    assert series(StockFilter(reserved_only=True)) == ["A2", "N9"]
    assert series(StockFilter(reserved_only=True, expiring_within_days=30)) == ["N9"]


def days_word(n: int) -> str:
    """день / дня / дней, as Russian counts them."""
    if n % 10 == 1 and n % 100 != 11:
        return "день"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "дня"
    return "дней"


def test_the_page_shows_quantity_reserved_free_and_expiry(catalog, storekeeper):
    client = Client()
    client.force_login(storekeeper)
    response = client.get(URL, {"q": "нурофен"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-total="2"' in html
    offer = Offer.objects.get(series="N9")
    row = re.search(rf'<tr data-offer="{offer.pk}">(.*?)</tr>', html, re.S).group(1)
    cells = [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    # The page counts days from the real today; the fixture's dates are fixed.
    days = (offer.expires_on - timezone.localdate()).days
    badge = "истёк" if days < 0 else "" if days > 90 else f"{days} {days_word(days)}"
    assert cells[0] == "Склад Москва-2"
    assert cells[1].startswith("Нурофен")
    assert cells[2:] == ["N9", f"{offer.expires_on:%d.%m.%Y} {badge}".strip(), "12", "4", "8"]


def test_bad_filters_are_reported_and_ignored(catalog, storekeeper):
    client = Client()
    client.force_login(storekeeper)
    response = client.get(URL, {"expiring": "-5", "warehouse": "99999"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Некоторые условия не распознаны и не применены." in html
    assert 'data-total="10"' in html


def test_pages_of_a_hundred(catalog, storekeeper, monkeypatch):
    monkeypatch.setattr(backoffice, "STOCK_PAGE_SIZE", 4)
    client = Client()
    client.force_login(storekeeper)
    first = client.get(URL, {"reserved": "on", "q": ""})
    assert 'data-total="2"' in first.content.decode()
    page3 = client.get(URL, {"page": "3"})
    html = page3.content.decode()
    assert html.count("<tr data-offer=") == 2  # 10 series, 4 a page
    assert "Страница 3 из 3" in html
    assert 'href="?page=2"' in html


def test_the_page_costs_a_fixed_number_of_queries(
    catalog, storekeeper, django_assert_max_num_queries
):
    for i in range(30):
        add_offer(catalog, catalog.products["carton"], f"X{i}", 300 + i, 5)
    client = Client()
    client.force_login(storekeeper)
    with django_assert_max_num_queries(8):
        assert client.get(URL).status_code == 200


def test_only_staff_allowed_to_view_offers_see_stock(catalog, pharmacy, storekeeper):
    assert client_for(pharmacy.admin).get(URL).status_code == 302
    assert Client().get(URL).status_code == 302
    clerk = User.objects.create_user(username="clerk", password=PASSWORD, is_staff=True)
    other = Client()
    other.force_login(clerk)
    assert other.get(URL).status_code == 403
    allowed = Client()
    allowed.force_login(storekeeper)
    assert allowed.get(URL).status_code == 200
