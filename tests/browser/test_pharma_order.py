"""The partner orders in Chromium (issue 7): from a catalog row into the cart, the delivery date
and the total, «Оформить заказ», the order page and the list, cancelling."""

import re

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_pharma_journey import geography  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _packs_for_minimum(page, row) -> int:
    """Enough packs of the row's product to reach the branch's minimum order."""
    from kabinet.pharma import demo, selectors
    from kabinet.pharma.catalog.selectors import serving_for_address
    from kabinet.pharma.models import PartnerUser

    partner = PartnerUser.objects.get(user__username=demo.ADMIN_LOGIN)
    address = selectors.addresses_of(partner).first()
    minimum = serving_for_address(address).min_order_kopecks
    price = int(row.locator("[data-price]").get_attribute("data-price"))
    step = int(row.locator("input[name=quantity]").get_attribute("step"))
    packs = -(-minimum // price)
    return -(-packs // step) * step


def test_add_to_cart_place_see_and_cancel_an_order(geography, page):  # noqa: F811
    from kabinet.pharma import demo
    from kabinet.pharma.orders.models import Order

    demo.load()

    page.goto(page.base_url + "/pharma/login/")
    page.get_by_label("Логин").fill(demo.ADMIN_LOGIN)
    page.get_by_label("Пароль").fill(demo.PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.locator('[data-section="catalog"]').click()
    page.locator("table.catalog-table tbody tr").first.wait_for()

    page.locator("#id_q").fill("но-шпа")
    page.get_by_role("button", name="Найти").click()
    page.wait_for_load_state()
    rows = page.locator("table.catalog-table tbody tr")
    # The first «Но-шпа» that has a price and enough free packs for a whole order.
    chosen = None
    for i in range(rows.count()):
        row = rows.nth(i)
        free = row.locator("td:nth-child(4)").inner_text().replace("\u202f", "").strip()
        if row.locator("[data-price]").count() and free.isdigit():
            packs = _packs_for_minimum(page, row)
            if packs <= int(free):
                chosen = (row, packs)
                break
    assert chosen is not None
    row, packs = chosen
    code = row.get_attribute("data-product")
    name = row.locator("strong").first.inner_text()
    row.locator("input[name=quantity]").fill(str(packs))
    row.get_by_role("button", name="В корзину").click()
    page.get_by_text(f"«{name}» в корзине: {packs} уп.").wait_for()
    # Back on the same search, with the cart counted in the header.
    assert "q=" in page.url
    assert page.locator("[data-cart-link]").inner_text() == "Корзина (1)"

    page.locator("[data-cart-link]").click()
    page.locator(f'table.cart-table tr[data-product="{code}"]').wait_for()
    assert re.match(
        r"^[а-я]{2}, \d{1,2} [а-я]+$", page.locator("[data-cart-delivery] strong").inner_text()
    )
    total = page.locator("[data-total]").inner_text()
    assert total.endswith("₽")
    assert page.locator("[data-min-order] .badge-ok").inner_text() == "набрана"
    screenshot(page, "pharma-cart")

    page.get_by_label("Счёт на оплату").check()
    page.get_by_role("button", name="Оформить заказ").click()
    page.locator("[data-order-number]").wait_for()
    order = Order.objects.latest("pk")  # the demo has placed orders of its own
    assert page.locator("[data-order-number]").inner_text() == f"Заказ {order.number}"
    assert page.locator("[data-status]").inner_text() == "новый"
    assert page.locator("[data-total]").inner_text() == total
    assert page.get_by_text(f"Заказ {order.number} оформлен.").is_visible()
    screenshot(page, "pharma-order")

    page.get_by_role("link", name="← К заказам").click()
    page.locator(f'tr[data-order="{order.number}"]').wait_for()
    assert page.locator(f'tr[data-order="{order.number}"] [data-status]').inner_text() == "новый"

    page.get_by_role("link", name=order.number).click()
    page.get_by_role("button", name="Отменить заказ").click()
    page.get_by_text(f"Заказ {order.number} отменён.").wait_for()
    assert page.locator("[data-status]").inner_text() == "отменён"
    assert page.get_by_role("button", name="Отменить заказ").count() == 0
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert page.console_errors == []
