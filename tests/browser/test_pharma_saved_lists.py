"""Saved order lists in Chromium (P-NEXT-3): save the cart as a list, open it from the lists,
send it back into the cart with one click."""

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_pharma_journey import geography  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_save_the_cart_as_a_list_and_send_it_to_the_cart(geography, page):  # noqa: F811
    from kabinet.pharma import demo, selectors
    from kabinet.pharma.models import PartnerUser
    from kabinet.pharma.orders import saved_lists, services
    from kabinet.pharma.orders.models import CartLine, SavedList

    demo.load()
    partner = PartnerUser.objects.select_related("organisation").get(
        user__username=demo.ADMIN_LOGIN
    )
    address = selectors.addresses_of(partner).order_by("pk").first()
    # Two of the demo's in-stock products, as a pharmacist would have put them in the cart.
    [weekly] = saved_lists.lists_of(partner)
    products = [line.product for line in saved_lists.lines_of(weekly)[:2]]
    for product in products:
        services.add_to_cart(
            partner=partner,
            address_id=address.pk,
            product_code=product.code,
            quantity=2 * product.order_multiple,
        )

    page.goto(page.base_url + "/pharma/login/")
    page.get_by_label("Логин").fill(demo.ADMIN_LOGIN)
    page.get_by_label("Пароль").fill(demo.PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.locator('[data-section="catalog"]').wait_for()
    page.goto(f"{page.base_url}/pharma/cabinet/cart/?address={address.pk}")
    for product in products:
        page.locator(f'table.cart-table tr[data-product="{product.code}"]').wait_for()

    page.get_by_label("Название списка").fill("Сезон ОРВИ")
    page.get_by_role("button", name="Сохранить корзину как список").click()
    page.get_by_text("Корзина сохранена как список «Сезон ОРВИ».").wait_for()
    assert page.locator("[data-list-name]").inner_text() == "Сезон ОРВИ"
    rows = page.locator("table.saved-list-table tbody tr")
    assert rows.count() == 2
    assert [rows.nth(i).get_attribute("data-product") for i in range(2)] == [
        p.code for p in products
    ]
    assert page.locator("[data-total]").inner_text().endswith("₽")
    screenshot(page, "pharma-saved-list")

    # The lists, from the link next to the cart.
    page.get_by_role("link", name="Все списки").click()
    page.get_by_role("link", name="Сезон ОРВИ").wait_for()
    assert page.get_by_role("link", name="Еженедельный заказ").is_visible()
    screenshot(page, "pharma-saved-lists")

    page.get_by_role("link", name="Сезон ОРВИ").click()
    page.get_by_role("button", name="Добавить весь список в корзину").click()
    page.get_by_text("В корзину добавлено товаров: 2.").wait_for()
    assert "/pharma/cabinet/cart/" in page.url
    # On top of what the cart held: twice the packs now.
    for product in products:
        quantity = page.locator(f'tr[data-product="{product.code}"] input[name=quantity]')
        assert quantity.input_value() == str(4 * product.order_multiple)
    assert dict(
        CartLine.objects.filter(cart__address=address).values_list("product__code", "quantity")
    ) == {p.code: 4 * p.order_multiple for p in products}
    assert SavedList.objects.filter(name="Сезон ОРВИ").exists()
    screenshot(page, "pharma-saved-list-cart")

    # «Добавить в список» on a product card, back to the card.
    product = products[0]
    page.get_by_role("link", name=product.trade_name).first.click()
    page.locator("[data-product-title]").wait_for()
    page.get_by_label("Список заказов").select_option(label="Сезон ОРВИ")
    page.get_by_role("button", name="Добавить в список").click()
    page.get_by_text(
        f"«{product.trade_name}» в списке «Сезон ОРВИ»: {3 * product.order_multiple} уп."
    ).wait_for()
    assert f"/pharma/cabinet/catalog/{product.code}/" in page.url
    screenshot(page, "pharma-product-add-to-list")
    assert page.console_errors == []
