"""The partner's catalog in Chromium (issue 6): promotions in the cabinet, search with a typo
in the keyboard layout, filters, and a product card with series and the delivery date."""

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_pharma_journey import geography  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_search_filters_and_product_card(geography, page):  # noqa: F811
    from kabinet.pharma import demo

    demo.load()

    page.goto(page.base_url + "/pharma/login/")
    page.get_by_label("Логин").fill(demo.COLLEAGUE_LOGIN)
    page.get_by_label("Пароль").fill(demo.PASSWORD)
    page.get_by_role("button", name="Войти").click()
    # Promotions greet a partner who may see prices.
    page.locator(".promo-banner").first.wait_for()
    screenshot(page, "pharma-cabinet-promotions")

    page.locator('[data-section="catalog"]').click()
    page.locator("table.catalog-table tbody tr").first.wait_for()
    assert page.locator("[data-delivery]").inner_text().startswith("Склад: филиал")
    screenshot(page, "pharma-catalog")

    # «Но-шпа» typed with the Latin layout on.
    page.locator("#id_q").fill("yjigf")
    page.get_by_role("button", name="Найти").click()
    page.get_by_text("Показаны результаты по запросу «ношпа»").wait_for()
    names = page.locator("table.catalog-table tbody tr strong").all_inner_texts()
    assert names and all(name.startswith("Но-шпа") for name in names)
    screenshot(page, "pharma-catalog-search")

    # Only what is free at my warehouse, prescription-free.
    page.get_by_text("Фильтры и сортировка").click()
    page.get_by_label("По рецепту").select_option("0")
    page.get_by_label("В наличии на моём складе").check()
    page.get_by_role("button", name="Найти").click()
    page.wait_for_load_state()
    for cell in page.locator("table.catalog-table tbody tr td:nth-child(4)").all_inner_texts():
        assert int(cell.replace("\u202f", "").strip()) > 0

    page.locator("table.catalog-table tbody tr a").first.click()
    page.locator("[data-product-title]").wait_for()
    assert page.locator("[data-product-title]").inner_text().startswith("Но-шпа")
    assert page.get_by_text("Дротаверин").first.is_visible()
    assert page.locator(".offers-table tbody tr").count() >= 1
    assert "Ближайшая доставка" in page.locator("[data-delivery]").inner_text()
    screenshot(page, "pharma-product-card")
    assert page.console_errors == []
