"""The member cabinet in Chromium (L-CAB): sign in, home, receipts, a receipt, the card's
rotating QR code, the chart and the stores near the browser's location. No console errors:
the pages run under the strict CSP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kabinet.geo.models import City
from kabinet.loyalty.models import Card, CardState
from kabinet.loyalty.services.purchases import LineInput, ReceiptInput, commit_purchase
from tests.browser.conftest import screenshot
from tests.browser.test_member_registration import last_message_id, newest_code
from tests.loyalty import factories
from tests.loyalty.members.conftest import PASSWORD, register

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79161234567"


def _buy(till, card, at, amounts, number):
    commit_purchase(
        terminal=till,
        card=card,
        receipt=ReceiptInput(
            number=number,
            purchased_at=at,
            lines=tuple(
                LineInput(
                    sku=f"SKU-{i}",
                    name=name,
                    quantity=Decimal(1),
                    price_kopecks=a,
                    amount_kopecks=a,
                )
                for i, (name, a) in enumerate(amounts)
            ),
            total_kopecks=sum(a for _n, a in amounts),
        ),
        redeem=0,
        idempotency_key=f"key-{number}",
        now=at + timedelta(minutes=1),
    )


def test_member_walks_the_cabinet(page):
    factories.demo_levels()
    moscow = City.objects.select_related("region").get(search_name="москва")
    account = register(PHONE, city=moscow)
    store = factories.StoreFactory(
        name="Магнит у дома",
        address="ул. Тверская, 1",
        city=moscow,
        region=moscow.region,
        lat=Decimal("55.757000"),
        lon=Decimal("37.615000"),
    )
    till, _token = factories.terminal(store)
    card = Card.objects.get(account=account, state=CardState.ACTIVE)
    now = timezone.now()
    _buy(till, card, now - timedelta(days=40), [("Молоко 3,2 %", 8990), ("Хлеб", 4500)], "W-1")
    _buy(till, card, now - timedelta(days=3), [("Кофе в зёрнах", 89900)], "W-2")

    # Вход: телефон и пароль, затем код из SMS (новое устройство)
    page.goto(page.base_url + "/login/")
    page.get_by_label("Номер телефона").fill("9161234567")
    page.get_by_label("Пароль").fill(PASSWORD)
    before = last_message_id()
    page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state()
    page.get_by_label("Код из SMS").fill(newest_code(PHONE, after=before))
    page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state()

    # Главная: баланс, этот месяц, уровень
    assert page.get_by_role("heading", name="Здравствуйте, Анна!").is_visible()
    assert page.locator("[data-balance]").is_visible()
    assert page.get_by_text("До уровня «Серебряный» осталось потратить").is_visible()
    screenshot(page, "member-cabinet-1-home")

    # Чеки и подробности чека
    page.get_by_role("link", name="Чеки", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Чеки").is_visible()
    rows = page.locator("tr[data-receipt]")
    assert rows.count() == 2
    screenshot(page, "member-cabinet-2-receipts")
    rows.first.get_by_role("link", name="Подробнее").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Чек № W-2").is_visible()
    assert page.get_by_text("Как начислены баллы").is_visible()
    assert page.get_by_role("cell", name="Кофе в зёрнах").is_visible()
    screenshot(page, "member-cabinet-3-receipt")

    # График за 12 месяцев
    page.get_by_role("link", name="График", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("svg.chart rect.bar").count() == 12
    screenshot(page, "member-cabinet-4-chart")

    # Карта: QR-код и штрихкод, обновление каждые 30 секунд
    page.get_by_role("link", name="Карта", exact=True).click()
    page.wait_for_load_state()
    qr = page.get_by_role("img", name="QR-код карты для кассы")
    assert qr.is_visible()
    assert page.evaluate("document.querySelector('[data-qr]').naturalWidth") > 100
    assert page.get_by_role("img", name="Штрихкод карты для кассы").is_visible()
    with page.expect_response(lambda r: r.url.endswith("/cabinet/card/code.json")):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    screenshot(page, "member-cabinet-5-card")

    # Магазины рядом: геолокация браузера
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 55.75, "longitude": 37.61})
    page.get_by_role("link", name="Магазины", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Магазины: Москва").is_visible()
    page.get_by_role("button", name="Найти ближайшие магазины").click()
    page.locator("[data-near-rows] tr").first.wait_for()
    assert "0,8 км" in page.locator("[data-near-rows]").inner_text()
    screenshot(page, "member-cabinet-6-stores")

    assert page.console_errors == []
