"""Paying orders (SPEC P-PAY-1, P-PAY-3): the invoice PDF, the test bank, the webhooks."""

from __future__ import annotations

import httpx
import pytest
import zxingcpp
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import IntegrityError, transaction
from django.urls import reverse

from kabinet.core.errors import RuleViolation
from kabinet.pharma.models import Authority
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.forms import PlaceOrderForm
from kabinet.pharma.orders.models import Order, OrderStatus
from kabinet.pharma.payments import gost_qr
from kabinet.pharma.payments import services as payment_services
from kabinet.pharma.payments.gost_qr import parse_payload
from kabinet.pharma.payments.models import Payment, PaymentState, Refund
from kabinet.pharma.payments.providers.base import PaymentStatus
from kabinet.pharma.payments.providers.test_provider import TestBankProvider
from tests.pharma.conftest import _partner, client_for, emails_to
from tests.pharma.orders.conftest import NOW, build_catalog
from tests.pharma.payments.pdfread import images

pytestmark = pytest.mark.django_db

# Но-шпа 4 × 250,00 (VAT 10 %) + Нурофен 3 × 180,00 (200,00 − 10 % promotion, VAT 20 %).
TOTAL = 154_000


@pytest.fixture
def catalog(pharmacy, moscow):
    return build_catalog(moscow)


def place(pharmacy, *, method: str = "invoice") -> Order:
    for code, quantity in {"P001": 4, "P002": 3}.items():
        order_services.add_to_cart(
            partner=pharmacy.admin,
            address_id=pharmacy.address.pk,
            product_code=code,
            quantity=quantity,
        )
    return order_services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method=method, now=NOW
    )


@pytest.fixture
def order(pharmacy, catalog) -> Order:
    placed = place(pharmacy)
    assert placed.total_kopecks == TOTAL
    return placed


def texts(response) -> list[str]:
    found = [str(m) for m in get_messages(response.wsgi_request)]
    response.client.cookies.pop("messages", None)
    return found


def webhook(client, body: bytes, headers: dict[str, str], provider: str = "test_bank"):
    return client.post(
        reverse("pharma:payment-webhook", args=[provider]),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


def start(pharmacy, order: Order) -> Payment:
    return payment_services.start_online_payment(partner=pharmacy.admin, order_id=order.pk)


# --- invoice --------------------------------------------------------------------------------


def test_the_demo_supplier_account_agrees_with_its_bic():
    supplier = settings.PHARMA_SUPPLIER
    assert gost_qr.bank_account_key_ok(bic=supplier["bic"], account=supplier["account"])
    assert gost_qr.corresp_account_ok(bic=supplier["bic"], account=supplier["corresp_acc"])


def test_invoice_pdf_downloads_with_a_qr_code_of_the_order(pharmacy, order):
    response = client_for(pharmacy.admin).get(reverse("pharma:order-invoice", args=[order.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    digits = order.number.removeprefix("З-")
    assert digits == f"2026-{order.pk:06d}"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"schet-Z-{digits}.pdf\"; filename*=utf-8''schet-%D0%97-{digits}.pdf"
    )
    (image,) = images(response.content)
    (result,) = zxingcpp.read_barcodes(image)
    fields = parse_payload(result.bytes.decode("utf-8"))
    assert fields["Sum"] == str(TOTAL)
    assert fields["PayeeINN"] == "7704123450"
    assert fields["PersonalAcc"] == "40702810800000054321"
    assert fields["PayerINN"] == pharmacy.organisation.inn
    assert order.number in fields["Purpose"]
    assert fields["Purpose"].startswith(f"Оплата по счёту № {order.number} от 24.11.2026")


def test_invoice_data_names_the_buyer_lines_and_due_date(pharmacy, order):
    data = payment_services.invoice_for(order)

    assert data.number == order.number
    assert (data.issued_on.isoformat(), data.due_on.isoformat()) == ("2026-11-24", "2026-12-01")
    assert (data.buyer.name, data.buyer.inn, data.buyer.kpp) == (
        "ООО «Здоровье»",
        "7707083893",
        "773601001",
    )
    assert data.buyer.address == "Москва, ул. Тверская, д. 1"
    assert [
        (line.name, line.quantity, line.price_kopecks, line.vat_percent) for line in data.lines
    ] == [
        ("Но-шпа", 4, 25_000, 10),
        ("Нурофен", 3, 18_000, 20),
    ]
    assert data.total_kopecks == TOTAL
    assert data.supplier.name == "ООО «М-Фарма»"


def test_invoice_of_another_organisation_is_not_found(order, other_pharmacy):
    stranger = client_for(other_pharmacy.admin)
    assert stranger.get(reverse("pharma:order-invoice", args=[order.pk])).status_code == 404


def test_invoice_and_payment_need_the_pay_authority(pharmacy, order):
    orderer = _partner(pharmacy.organisation, "zdorovie-orders", [Authority.ORDER])
    client = client_for(orderer)
    assert client.get(reverse("pharma:order-invoice", args=[order.pk])).status_code == 403
    assert client.post(reverse("pharma:order-pay", args=[order.pk])).status_code == 403
    page = client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "Оплатить онлайн" not in page
    assert "Скачать счёт" not in page
    assert not Payment.objects.exists()


# --- online payment through the test bank ---------------------------------------------------


def test_the_cart_offers_online_payment():
    form = PlaceOrderForm({"address": 1, "payment_method": "online", "idempotency_key": "k" * 32})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["payment_method"] == "online"


def test_paying_online_through_the_test_bank(pharmacy, catalog):
    order = place(pharmacy, method="online")
    client = client_for(pharmacy.admin)
    page = client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "Оплатить онлайн" in page

    response = client.post(reverse("pharma:order-pay", args=[order.pk]))
    (payment,) = Payment.objects.all()
    assert (payment.order_id, payment.provider, payment.amount_kopecks, payment.status) == (
        order.pk,
        "test_bank",
        TOTAL,
        PaymentState.PENDING,
    )
    bank_url = reverse("pharma:test-bank-pay", args=[payment.provider_payment_id])
    assert response.status_code == 302
    assert response["Location"] == bank_url

    bank_page = client.get(bank_url).content.decode()
    assert "1\u202f540,00\u00a0₽" in bank_page
    assert "Оплатить" in bank_page and "Отказаться" in bank_page

    response = client.post(bank_url, {"decision": "pay"})
    assert response["Location"] == reverse("pharma:order", args=[order.pk])
    assert texts(response) == ["Оплата получена. Спасибо!"]
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentState.SUCCEEDED
    assert payment.applied_at is not None
    assert order.paid_kopecks == TOTAL
    assert order.is_paid
    (mail,) = [m for m in emails_to("zdorovie-admin@example.ru") if "оплата" in m.subject]
    assert mail.subject == f"Заказ {order.number}: получена оплата"
    assert "Заказ оплачен полностью: 1\u202f540,00\u00a0₽." in mail.body

    # The bank page sent again (a reload, a double click) applies nothing more.
    client.post(bank_url, {"decision": "pay"})
    order.refresh_from_db()
    assert order.paid_kopecks == TOTAL
    page = client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "Оплатить онлайн" not in page
    response = client.post(reverse("pharma:order-pay", args=[order.pk]))
    assert texts(response) == ["Заказ уже оплачен."]
    assert Payment.objects.count() == 1


def test_refusing_at_the_bank_leaves_the_order_unpaid_and_payable(pharmacy, order):
    client = client_for(pharmacy.admin)
    client.post(reverse("pharma:order-pay", args=[order.pk]))
    (payment,) = Payment.objects.all()
    response = client.post(
        reverse("pharma:test-bank-pay", args=[payment.provider_payment_id]), {"decision": "no"}
    )
    assert texts(response) == ["Оплата отменена."]
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentState.CANCELED
    assert order.paid_kopecks == 0

    client.post(reverse("pharma:order-pay", args=[order.pk]))
    assert Payment.objects.filter(status=PaymentState.PENDING).count() == 1
    assert Payment.objects.count() == 2


def test_pressing_pay_twice_reuses_the_pending_payment(pharmacy, order):
    first = start(pharmacy, order)
    second = start(pharmacy, order)
    assert first.pk == second.pk
    assert Payment.objects.count() == 1


def test_another_organisations_order_cannot_be_paid(order, other_pharmacy):
    stranger = client_for(other_pharmacy.admin)
    assert stranger.post(reverse("pharma:order-pay", args=[order.pk])).status_code == 404
    assert not Payment.objects.exists()


def test_a_cancelled_order_is_not_paid(pharmacy, order):
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    client = client_for(pharmacy.admin)
    response = client.post(reverse("pharma:order-pay", args=[order.pk]))
    assert texts(response) == ["Заказ отменён: оплачивать нечего."]
    assert not Payment.objects.exists()
    page = client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "Оплатить онлайн" not in page


def test_the_test_bank_page_exists_only_with_the_test_provider(pharmacy, order, settings):
    payment = start(pharmacy, order)
    url = reverse("pharma:test-bank-pay", args=[payment.provider_payment_id])
    settings.PHARMA_PAYMENT_PROVIDER = "yookassa"
    client = client_for(pharmacy.admin)
    assert client.get(url).status_code == 404
    assert client.post(url, {"decision": "pay"}).status_code == 404
    assert client.get(reverse("pharma:test-bank-pay", args=["tb_unknown"])).status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentState.PENDING


# --- webhooks -------------------------------------------------------------------------------


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(pharmacy, order, client):
    payment = start(pharmacy, order)
    body, headers = TestBankProvider().signed_event(
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.SUCCEEDED,
        amount_kopecks=TOTAL,
    )
    forged = {**headers, "X-Test-Bank-Signature": "0" * 64}
    response = webhook(client, body, forged)
    assert response.status_code == 400
    assert response.json() == {"error": "bad_signature"}
    response = webhook(client, body, {})
    assert response.status_code == 400
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentState.PENDING
    assert order.paid_kopecks == 0


def test_a_replayed_webhook_is_applied_once(pharmacy, order, client):
    payment = start(pharmacy, order)
    body, headers = TestBankProvider().signed_event(
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.SUCCEEDED,
        amount_kopecks=TOTAL,
    )
    first = webhook(client, body, headers)
    second = webhook(client, body, headers)
    assert (first.status_code, first.json()) == (200, {"status": "succeeded", "changed": True})
    assert (second.status_code, second.json()) == (200, {"status": "succeeded", "changed": False})
    order.refresh_from_db()
    assert order.paid_kopecks == TOTAL
    paid_mails = [m for m in emails_to("zdorovie-admin@example.ru") if "оплата" in m.subject]
    assert len(paid_mails) == 1

    # A cancellation arriving after the success cannot undo it either.
    body, headers = TestBankProvider().signed_event(
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.CANCELED,
        amount_kopecks=TOTAL,
    )
    assert webhook(client, body, headers).json() == {"status": "succeeded", "changed": False}
    payment.refresh_from_db()
    assert payment.status == PaymentState.SUCCEEDED


def test_a_webhook_with_another_amount_is_refused(pharmacy, order, client):
    payment = start(pharmacy, order)
    body, headers = TestBankProvider().signed_event(
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.SUCCEEDED,
        amount_kopecks=TOTAL - 1,
    )
    response = webhook(client, body, headers)
    assert (response.status_code, response.json()) == (400, {"error": "payment_amount_mismatch"})
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentState.PENDING
    assert order.paid_kopecks == 0


def test_webhooks_of_unknown_payments_and_providers(pharmacy, order, client):
    body, headers = TestBankProvider().signed_event(
        provider_payment_id="tb_nobody", status=PaymentStatus.SUCCEEDED, amount_kopecks=TOTAL
    )
    assert webhook(client, body, headers).status_code == 404
    assert webhook(client, body, headers, provider="paypal").status_code == 404
    assert client.get(reverse("pharma:payment-webhook", args=["test_bank"])).status_code == 405


def test_a_pending_event_changes_nothing(pharmacy, order):
    payment = start(pharmacy, order)
    from kabinet.pharma.payments.providers.base import WebhookEvent

    applied = payment_services.apply_payment_event(
        provider="test_bank",
        event=WebhookEvent(
            provider_payment_id=payment.provider_payment_id,
            status=PaymentStatus.PENDING,
            amount_kopecks=TOTAL,
            raw_event_id="e1",
        ),
    )
    assert applied.changed is False
    order.refresh_from_db()
    assert order.paid_kopecks == 0
    assert order.status == OrderStatus.NEW


def test_a_pending_payment_of_another_amount_is_withdrawn_before_a_new_one(pharmacy, order):
    stale = start(pharmacy, order)
    # Part of the order came by bank transfer meanwhile (the statement upload credits it so).
    Order.objects.filter(pk=order.pk).update(paid_kopecks=54_000)

    fresh = start(pharmacy, order)

    stale.refresh_from_db()
    assert stale.status == PaymentState.CANCELED
    bank = TestBankProvider()
    assert bank.fetch_status(stale.provider_payment_id).status == PaymentStatus.CANCELED
    assert (fresh.status, fresh.amount_kopecks) == (PaymentState.PENDING, 100_000)
    assert fresh.provider_payment_id != stale.provider_payment_id
    assert Payment.objects.filter(status=PaymentState.PENDING).get() == fresh


def test_a_stale_payment_the_buyer_paid_meanwhile_is_credited_not_withdrawn(pharmacy, order):
    stale = start(pharmacy, order)
    TestBankProvider().decide(provider_payment_id=stale.provider_payment_id, succeeded=True)
    Order.objects.filter(pk=order.pk).update(paid_kopecks=54_000)

    with pytest.raises(RuleViolation) as caught:
        start(pharmacy, order)

    assert caught.value.message == "Заказ уже оплачен."
    stale.refresh_from_db()
    order.refresh_from_db()
    assert stale.status == PaymentState.SUCCEEDED
    # 540,00 by transfer and 1 540,00 by card: the card payment's excess went back.
    assert order.paid_kopecks == TOTAL
    assert Refund.objects.get().amount_kopecks == 54_000
    assert Payment.objects.filter(status=PaymentState.PENDING).count() == 0


def test_the_database_keeps_one_pending_payment_per_order_and_provider(pharmacy, order):
    start(pharmacy, order)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            order=order, provider="test_bank", provider_payment_id="tb_other", amount_kopecks=1
        )
    # Another provider, or a finished payment, is not constrained.
    Payment.objects.create(
        order=order, provider="yookassa", provider_payment_id="yk-1", amount_kopecks=1
    )


# --- ЮKassa's webhook behind a reverse proxy -----------------------------------------------


@pytest.fixture
def ykassa_payment(pharmacy, order, monkeypatch):
    from tests.pharma.payments.test_providers import PAYMENT_ID, yookassa, yookassa_payment

    provider, _fake = yookassa(
        httpx.Response(200, json=yookassa_payment(value="1540.00")),
        *(httpx.Response(200, json=yookassa_payment("succeeded", "1540.00")) for _ in range(3)),
    )
    payment = payment_services.start_online_payment(
        partner=pharmacy.admin, order_id=order.pk, provider=provider
    )
    assert payment.provider_payment_id == PAYMENT_ID
    monkeypatch.setattr(payment_services, "get_provider", lambda name: provider)
    return payment


def ykassa_webhook(client, **meta):
    from tests.pharma.payments.test_providers import notification

    return client.post(
        reverse("pharma:payment-webhook", args=["yookassa"]),
        data=notification(),
        content_type="application/json",
        **meta,
    )


def test_ykassa_webhook_through_a_trusted_proxy_uses_the_forwarded_address(
    ykassa_payment, order, client, settings
):
    settings.KABINET_TRUSTED_PROXIES = ["10.0.0.0/8"]
    # Straight from an unknown address, a forwarded header is ignored.
    response = ykassa_webhook(client, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="185.71.76.5")
    assert (response.status_code, response.json()) == (400, {"error": "untrusted_source"})
    # Through our proxy, a hop the sender forged on the left is not read.
    response = ykassa_webhook(
        client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="185.71.76.5, 203.0.113.9"
    )
    assert (response.status_code, response.json()) == (400, {"error": "untrusted_source"})
    order.refresh_from_db()
    assert order.paid_kopecks == 0

    response = ykassa_webhook(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="185.71.76.5")

    assert (response.status_code, response.json()) == (
        200,
        {"status": "succeeded", "changed": True},
    )
    order.refresh_from_db()
    assert order.paid_kopecks == TOTAL


def test_ykassa_webhook_without_trusted_proxies_reads_the_peer(ykassa_payment, client, settings):
    settings.KABINET_TRUSTED_PROXIES = []
    response = ykassa_webhook(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="185.71.76.5")
    assert response.json() == {"error": "untrusted_source"}
    response = ykassa_webhook(client, REMOTE_ADDR="185.71.76.5")
    assert response.json() == {"status": "succeeded", "changed": True}


def test_a_stale_payment_the_bank_forgot_is_withdrawn_here(pharmacy, order):
    from django.core.cache import cache

    stale = start(pharmacy, order)
    cache.clear()  # the demo's test bank keeps its payments in the local-memory cache
    Order.objects.filter(pk=order.pk).update(paid_kopecks=54_000)
    fresh = start(pharmacy, order)
    stale.refresh_from_db()
    assert (stale.status, fresh.amount_kopecks) == (PaymentState.CANCELED, 100_000)
