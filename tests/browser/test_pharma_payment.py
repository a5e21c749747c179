"""Paying an order in Chromium (issue 7, SPEC P-PAY-1): a partner orders with online payment,
pays on the test bank's page, comes back to the order paid; an order by invoice gives its
«Счёт на оплату» PDF, whose bank-transfer QR code reads back as the order's payment; the paid
order, cancelled, is refunded."""

import pytest
import zxingcpp

from tests.browser.conftest import screenshot
from tests.browser.test_pharma_journey import geography  # noqa: F401 (a fixture)
from tests.browser.test_pharma_order import _packs_for_minimum
from tests.pharma.payments.pdfread import images

pytestmark = pytest.mark.django_db(transaction=True)


def _login(page) -> None:
    from kabinet.pharma import demo

    page.goto(page.base_url + "/pharma/login/")
    page.get_by_label("Логин").fill(demo.ADMIN_LOGIN)
    page.get_by_label("Пароль").fill(demo.PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.locator('[data-section="catalog"]').wait_for()


def _order(page, method: str):
    """Put enough «Но-шпа» in the cart for the minimum order and place it with the method."""
    from kabinet.pharma.orders.models import Order

    page.goto(page.base_url + "/pharma/cabinet/catalog/?q=но-шпа")
    rows = page.locator("table.catalog-table tbody tr")
    rows.first.wait_for()
    for i in range(rows.count()):
        row = rows.nth(i)
        free = row.locator("td:nth-child(4)").inner_text().replace("\u202f", "").strip()
        if row.locator("[data-price]").count() and free.isdigit():
            packs = _packs_for_minimum(page, row)
            if packs <= int(free):
                break
    else:
        pytest.fail("no «Но-шпа» with enough stock for an order")
    row.locator("input[name=quantity]").fill(str(packs))
    row.get_by_role("button", name="В корзину").click()
    page.get_by_text(" в корзине: ").wait_for()
    page.locator("[data-cart-link]").click()
    page.get_by_label(method).check()
    page.get_by_role("button", name="Оформить заказ").click()
    page.locator("[data-order-number]").wait_for()
    return Order.objects.order_by("-id").first()


def test_pay_online_at_the_test_bank_and_take_an_invoice(geography, page):  # noqa: F811
    from kabinet.pharma import demo
    from kabinet.pharma.payments.gost_qr import parse_payload
    from kabinet.pharma.payments.models import Payment

    demo.load()
    _login(page)

    order = _order(page, "Онлайн-оплата картой")
    assert order.payment_method == "online"
    total = page.locator("[data-total]").inner_text()
    assert page.locator("[data-paid]").get_attribute("data-paid") == "0"

    page.get_by_role("button", name="Оплатить онлайн").click()
    page.locator("[data-test-bank]").wait_for()
    assert page.locator("[data-amount]").inner_text() == total
    assert page.get_by_text(f"Оплата заказа {order.number}").is_visible()
    screenshot(page, "pharma-pay-bank")

    page.get_by_role("button", name="Оплатить", exact=True).click()
    page.get_by_text("Оплата получена. Спасибо!").wait_for()
    assert page.locator("[data-order-number]").inner_text() == f"Заказ {order.number}"
    assert page.locator("[data-paid]").inner_text() == f"{total} оплачен"
    assert page.locator("[data-paid-badge]").inner_text() == "оплачен"
    assert page.get_by_role("button", name="Оплатить онлайн").count() == 0
    screenshot(page, "pharma-order-paid")
    order.refresh_from_db()
    assert order.paid_kopecks == order.total_kopecks
    (payment,) = Payment.objects.filter(order=order)
    assert payment.status == "succeeded"

    # An order by invoice: the PDF from the order page, with the transfer's QR code.
    invoice_order = _order(page, "Счёт на оплату")
    assert invoice_order.payment_method == "invoice"
    with page.expect_download() as caught:
        page.get_by_role("link", name="Скачать счёт").click()
    download = caught.value
    assert download.suggested_filename == f"schet-{invoice_order.number}.pdf"
    pdf = download.path().read_bytes()
    assert pdf.startswith(b"%PDF-")
    (image,) = images(pdf)
    (code,) = zxingcpp.read_barcodes(image)
    fields = parse_payload(code.bytes.decode("utf-8"))
    assert fields["Sum"] == str(invoice_order.total_kopecks)
    assert invoice_order.number in fields["Purpose"]
    assert fields["PayerINN"] == demo.ORG["inn"]

    # Cancelled after all: the online payment goes back to the card at once.
    page.goto(page.base_url + f"/pharma/cabinet/orders/{order.pk}/")
    page.get_by_role("button", name="Отменить заказ").click()
    page.get_by_text(f"Оплата {total} возвращена.").wait_for()
    assert page.locator("[data-refunded]").inner_text() == total
    assert page.locator('[data-refund="succeeded"]').count() == 1
    assert page.locator("[data-overpaid]").count() == 0
    screenshot(page, "pharma-order-refunded")
    order.refresh_from_db()
    assert (order.status, order.paid_kopecks) == ("cancelled", 0)

    # «Оплата»: the invoice still to pay, the payment and its refund.
    page.goto(page.base_url + "/pharma/cabinet/")
    page.locator('[data-section="pay"]').click()
    unpaid = page.locator("[data-unpaid-orders] tbody tr")
    assert invoice_order.number in unpaid.filter(has_text=invoice_order.number).inner_text()
    assert page.locator("[data-payments] tbody tr").filter(has_text=order.number).count() == 1
    assert page.locator("[data-refunds] tbody tr").filter(has_text=order.number).count() == 1
    screenshot(page, "pharma-cabinet-payments")
    assert page.console_errors == []
