"""The cabinet's «Оплата» page: what the organisation owes, its deferral debt under the credit
limit, its payments and refunds — and nothing of another organisation's (SPEC P-PAY-1, P-PAY-2)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kabinet.pharma.models import Authority
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.payments.models import Payment, PaymentState, Refund
from tests.pharma.conftest import _partner, client_for
from tests.pharma.payments.test_order_payments import TOTAL, place

URL = "/pharma/cabinet/payments/"


@pytest.fixture
def catalog(pharmacy, moscow):
    from tests.pharma.orders.conftest import build_catalog

    return build_catalog(moscow)


@pytest.fixture
def accountant(pharmacy):
    return _partner(pharmacy.organisation, "zdorovie-buh", [Authority.PAY])


def page_of(partner) -> str:
    response = client_for(partner).get(URL)
    assert response.status_code == 200
    return response.content.decode()


def rows(page: str, table: str) -> list[str]:
    """The text of each body row of the table marked `data-<table>`, tags stripped."""
    body = page.split(f"data-{table}>", 1)[1].split("</table>", 1)[0]
    body = body.split("<tbody>", 1)[1]
    # Only ASCII spaces collapse: amounts keep their narrow and no-break spaces.
    return [
        re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in body.split("</tr>")
        if "<td" in row
    ]


def test_the_page_needs_the_pay_authority(pharmacy, catalog):
    assert reverse("pharma:payments") == URL
    orderer = _partner(pharmacy.organisation, "zdorovie-zakaz", [Authority.ORDER])
    assert client_for(orderer).get(URL).status_code == 403


def test_unpaid_orders_with_what_is_left_and_the_ways_to_pay(pharmacy, catalog, accountant):
    invoice = place(pharmacy, method="invoice")
    page = page_of(accountant)
    (row,) = rows(page, "unpaid-orders")
    assert row.startswith(invoice.number)
    assert "по счёту" in row
    assert row.count("1\u202f540,00\u00a0₽") == 2  # the total and what is left
    assert reverse("pharma:order-invoice", args=[invoice.pk]) in page
    assert reverse("pharma:order-pay", args=[invoice.pk]) in page
    assert "1\u202f540,00\u00a0₽" in page.split("data-unpaid-total", 1)[1].split("</div>")[0]


def test_a_paid_order_moves_to_the_payments(pharmacy, catalog, accountant):
    order = place(pharmacy, method="online")
    client = client_for(accountant)
    client.post(reverse("pharma:order-pay", args=[order.pk]))
    (payment,) = Payment.objects.all()
    client.post(
        reverse("pharma:test-bank-pay", args=[payment.provider_payment_id]), {"decision": "pay"}
    )
    payment.refresh_from_db()
    assert payment.status == PaymentState.SUCCEEDED

    page = page_of(accountant)
    assert rows(page, "unpaid-orders") == ["Все заказы оплачены."]
    (paid,) = rows(page, "payments")
    assert order.number in paid and "онлайн" in paid and "оплачен" in paid
    assert "1\u202f540,00\u00a0₽" in paid


def test_a_cancelled_paid_order_shows_its_refund(pharmacy, catalog, accountant):
    order = place(pharmacy, method="online")
    client = client_for(accountant)
    client.post(reverse("pharma:order-pay", args=[order.pk]))
    (payment,) = Payment.objects.all()
    client.post(
        reverse("pharma:test-bank-pay", args=[payment.provider_payment_id]), {"decision": "pay"}
    )
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    (refund,) = Refund.objects.all()
    assert refund.amount_kopecks == TOTAL

    page = page_of(accountant)
    (returned,) = rows(page, "refunds")
    assert order.number in returned and "1\u202f540,00\u00a0₽" in returned
    assert rows(page, "unpaid-orders") == ["Все заказы оплачены."]


def test_the_deferral_debt_under_the_credit_limit(pharmacy, catalog, accountant):
    page = page_of(accountant)
    assert "Отсрочка платежа не предусмотрена договором" in page
    organisation = pharmacy.organisation
    organisation.credit_limit_kopecks = 500_000
    organisation.save(update_fields=["credit_limit_kopecks"])
    place(pharmacy, method="deferred")

    credit = page_of(accountant).split("data-credit>", 1)[1].split("</div>", 1)[0]
    assert "5\u202f000,00\u00a0₽" in credit  # the limit
    assert re.search(r"data-debt>1\u202f540,00\u00a0₽", credit)
    assert re.search(r"data-available>3\u202f460,00\u00a0₽", credit)


def test_another_organisations_orders_and_payments_are_not_shown(pharmacy, other_pharmacy, catalog):
    order = place(pharmacy, method="invoice")
    stranger = _partner(other_pharmacy.organisation, "vita-buh", [Authority.PAY])
    page = page_of(stranger)
    assert order.number not in page
    assert rows(page, "unpaid-orders") == ["Все заказы оплачены."]
    assert rows(page, "payments") == ["Платежей пока нет."]


def test_without_a_provider_online_payment_is_not_offered(pharmacy, catalog, accountant, settings):
    settings.PHARMA_PAYMENT_PROVIDER = ""
    invoice = place(pharmacy, method="invoice")
    page = page_of(accountant)
    assert reverse("pharma:order-invoice", args=[invoice.pk]) in page
    assert reverse("pharma:order-pay", args=[invoice.pk]) not in page
    order_page = client_for(accountant).get(reverse("pharma:order", args=[invoice.pk]))
    assert "Оплатить онлайн" not in order_page.content.decode()
    response = client_for(accountant).post(reverse("pharma:order-pay", args=[invoice.pk]))
    assert response.status_code == 302
    assert not Payment.objects.exists()


def test_without_a_provider_checkout_offers_no_online_payment(pharmacy, catalog, settings):
    from kabinet.core.errors import ValidationFailed
    from kabinet.pharma.orders.forms import PlaceOrderForm

    settings.PHARMA_PAYMENT_PROVIDER = ""
    offered = [
        value for value, _label in PlaceOrderForm.for_address(1).fields["payment_method"].choices
    ]
    assert offered == ["invoice", "deferred"]
    with pytest.raises(ValidationFailed, match="Онлайн-оплата не подключена"):
        place(pharmacy, method="online")
    settings.PHARMA_PAYMENT_PROVIDER = "test"
    offered = [
        value for value, _label in PlaceOrderForm.for_address(1).fields["payment_method"].choices
    ]
    assert offered == ["online", "invoice", "deferred"]


@pytest.mark.parametrize(("outbox", "provider"), [("true", "test"), ("false", "")])
def test_the_test_bank_is_the_default_only_with_the_outbox(outbox, provider):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "KABINET_OUTBOX": outbox,
        "DJANGO_SETTINGS_MODULE": "kabinet.config.settings",
        "SECRET_KEY": "k3Jd9-Qp2LmZx7Vt0RbNw4YsHc8GfUe1AoIi6PjTl5",
    }
    env.pop("PHARMA_PAYMENT_PROVIDER", None)
    code = "from django.conf import settings; print(repr(settings.PHARMA_PAYMENT_PROVIDER))"
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == repr(provider)
