"""The distributor's manager in Chromium (issue 7): a bank statement uploaded and matched to the
demo's invoices, the unmatched payment placed by hand, then the payments and «Дебиторка»."""

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_pharma_journey import geography  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_a_statement_assign_the_rest_and_see_the_payments(geography, page, tmp_path):  # noqa: F811
    from django.utils import timezone

    from kabinet.pharma import demo
    from kabinet.pharma.orders.models import Order
    from kabinet.pharma.payments.statement_file import demo_statement

    demo.load()
    first, second, deferred = Order.objects.order_by("pk")
    statement = tmp_path / "kl_to_1c.txt"
    statement.write_bytes(demo_statement(today=timezone.localdate())[0])

    page.goto(page.base_url + "/admin/login/")
    page.fill("#id_username", demo.MANAGER_LOGIN)
    page.fill("#id_password", demo.PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_load_state()
    page.goto(page.base_url + "/pharma/backoffice/")
    page.get_by_role("link", name="Банковские выписки").click()

    page.get_by_label("Файл выписки 1С (1CClientBankExchange)").set_input_files(str(statement))
    page.get_by_role("button", name="Загрузить и разнести").click()
    page.get_by_text("Выписка загружена: разнесено 3, не разнесено 1").wait_for()
    outcomes = page.locator("tr[data-outcome]")
    assert [outcomes.nth(i).get_attribute("data-outcome") for i in range(outcomes.count())] == [
        "paid",
        "partial",
        "overpaid",
        "unmatched",
        "outgoing",
    ]
    assert page.locator("[data-overpaid-amount]").inner_text() == "Переплата 100,00\u00a0₽"

    unmatched = page.locator('tr[data-outcome="unmatched"]')
    unmatched.get_by_label("Номер заказа").fill(second.number.replace("З-", ""))
    unmatched.get_by_role("button", name="Разнести на заказ").click()
    page.get_by_text(f"Разнесён вручную на заказ № {second.number}.").first.wait_for()
    assert page.locator('tr[data-outcome="unmatched"]').count() == 0
    screenshot(page, "pharma-bank-statement")

    page.get_by_role("link", name="Платежи").click()
    assert page.locator("tr[data-payment]").count() == 4
    page.get_by_label("Заказ, ИНН или организация").fill(second.number)
    page.get_by_role("button", name="Показать").click()
    assert page.locator("tr[data-payment]").count() == 2
    screenshot(page, "pharma-backoffice-payments")

    page.get_by_role("link", name="Дебиторка").click()
    org_row = page.locator("tr[data-organisation]").first
    deferred.refresh_from_db()
    assert deferred.is_paid
    assert org_row.get_attribute("data-organisation") == str(deferred.organisation_id)
    assert org_row.locator("[data-debt]").get_attribute("data-debt") == "0"
    screenshot(page, "pharma-receivables")

    page.get_by_role("link", name="Остатки").click()
    page.get_by_label("Только с резервом").check()
    page.get_by_role("button", name="Показать").click()
    assert page.locator("tr[data-offer]").count() > 0
    screenshot(page, "pharma-stock")
    first.refresh_from_db()
    assert first.is_paid
    assert page.console_errors == []
