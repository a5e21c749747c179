"""Money that an order holds above what it owes goes back (issue 7): a payment that succeeds
after the order was cancelled, a cancelled order that was paid online, an order paid twice.
The money is recorded, the order shows «Переплата / к возврату», and the refund goes back
through the provider once, never above what the payment brought."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from kabinet.core.errors import Conflict, RuleViolation, ValidationFailed
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.models import Order, OrderStatus
from kabinet.pharma.payments import refunds, tasks
from kabinet.pharma.payments import services as payment_services
from kabinet.pharma.payments.models import Payment, PaymentState, Refund, RefundState
from kabinet.pharma.payments.providers import test_provider
from kabinet.pharma.payments.providers.base import PaymentProviderError, PaymentStatus
from kabinet.pharma.payments.providers.test_provider import TestBankProvider
from tests.pharma.conftest import client_for, emails_to
from tests.pharma.payments.test_order_payments import TOTAL, start, texts, webhook

pytestmark = pytest.mark.django_db

BUYER = "zdorovie-admin@example.ru"


@pytest.fixture
def order(pharmacy, catalog) -> Order:
    from tests.pharma.payments.test_order_payments import place

    return place(pharmacy, method="online")


@pytest.fixture
def catalog(pharmacy, moscow):
    from tests.pharma.orders.conftest import build_catalog

    return build_catalog(moscow)


def pay_at_bank(payment: Payment, client) -> None:
    """The buyer pays on the test bank's page (which delivers the webhook)."""
    response = client.post(
        reverse("pharma:test-bank-pay", args=[payment.provider_payment_id]), {"decision": "pay"}
    )
    assert texts(response) == ["Оплата получена. Спасибо!"]


def success_webhook(client, payment: Payment):
    body, headers = TestBankProvider().signed_event(
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.SUCCEEDED,
        amount_kopecks=payment.amount_kopecks,
    )
    return webhook(client, body, headers)


def assert_reconciled(order: Order) -> None:
    """paid_kopecks is the money held: succeeded payments less succeeded refunds."""
    order.refresh_from_db()
    received = sum(p.amount_kopecks for p in order.payments.filter(status="succeeded"))
    returned = sum(
        r.amount_kopecks for r in Refund.objects.filter(payment__order=order, status="succeeded")
    )
    assert order.paid_kopecks == received - returned
    for payment in order.payments.all():
        in_refunds = sum(
            r.amount_kopecks for r in payment.refunds.exclude(status=RefundState.FAILED)
        )
        assert payment.refunded_kopecks == in_refunds <= payment.amount_kopecks


def refund_mails() -> list:
    return [m for m in emails_to(BUYER) if "возврат" in m.subject]


def settlement_jobs(order: Order) -> int:
    return DBTaskResult.objects.filter(
        task_path="kabinet.pharma.payments.tasks.settle_order_job", args_kwargs__args=[order.pk]
    ).count()


# --- a paid order is cancelled ----------------------------------------------------------------


def test_cancelling_an_order_paid_online_refunds_it_at_once(pharmacy, order):
    client = client_for(pharmacy.admin)
    pay_at_bank(start(pharmacy, order), client)
    order.refresh_from_db()
    assert order.paid_kopecks == TOTAL

    response = client.post(reverse("pharma:order-cancel", args=[order.pk]))
    assert texts(response) == [
        f"Заказ {order.number} отменён.",
        "Оплата 1\u202f540,00\u00a0₽ возвращена.",
    ]
    order.refresh_from_db()
    payment = Payment.objects.get()
    (refund,) = Refund.objects.all()
    assert (order.status, order.paid_kopecks, order.overpaid_kopecks) == ("cancelled", 0, 0)
    assert (payment.status, payment.refunded_kopecks) == (PaymentState.SUCCEEDED, TOTAL)
    assert (refund.payment_id, refund.amount_kopecks, refund.status) == (
        payment.pk,
        TOTAL,
        RefundState.SUCCEEDED,
    )
    assert refund.reason == "Заказ отменён"
    assert refund.provider_refund_id.startswith("tbr_")
    assert refund.completed_at is not None
    (mail,) = refund_mails()
    assert mail.subject == f"Заказ {order.number}: возврат 1\u202f540,00\u00a0₽"
    assert "Причина: Заказ отменён." in mail.body

    page = client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert 'data-refunded="154000"' in page
    assert "data-overpaid" not in page
    assert 'data-refund="succeeded"' in page

    # The job queued with the cancellation finds nothing left to do.
    assert settlement_jobs(order) == 1
    assert tasks.settle_order_job.call(order.pk) == "done"
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.paid_kopecks == 0
    assert len(refund_mails()) == 1
    assert_reconciled(order)


def test_cancelling_an_unpaid_order_withdraws_its_pending_payment_and_refunds_nothing(
    pharmacy, order
):
    payment = start(pharmacy, order)
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentState.CANCELED
    assert TestBankProvider().fetch_status(payment.provider_payment_id).status == "canceled"
    assert not Refund.objects.exists()
    assert refund_mails() == []
    # The bank page no longer takes the card.
    bank_page = client_for(pharmacy.admin).get(
        reverse("pharma:test-bank-pay", args=[payment.provider_payment_id])
    )
    assert 'data-payment-status="canceled"' in bank_page.content.decode()


def test_an_unpaid_cancelled_order_queues_no_settlement(pharmacy, order):
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    assert settlement_jobs(order) == 0


# --- a payment succeeds after the order was cancelled ----------------------------------------


def test_a_payment_paid_at_the_bank_just_before_the_cancel_is_credited_and_refunded(
    pharmacy, order
):
    payment = start(pharmacy, order)
    # The buyer has paid; the bank's webhook has not arrived yet when the order is cancelled.
    TestBankProvider().decide(provider_payment_id=payment.provider_payment_id, succeeded=True)

    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)

    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_kopecks) == (PaymentState.SUCCEEDED, TOTAL)
    assert Refund.objects.get().status == RefundState.SUCCEEDED
    assert (order.status, order.paid_kopecks) == (OrderStatus.CANCELLED, 0)
    paid_mail = next(m for m in emails_to(BUYER) if "получена оплата" in m.subject)
    assert "Заказ отменён: деньги будут возвращены" in paid_mail.body
    assert len(refund_mails()) == 1


def test_a_webhook_success_for_an_order_cancelled_in_the_back_office_is_refunded(
    pharmacy, order, manager, client
):
    payment = start(pharmacy, order)
    # The back office cancels through change_status: the settlement is a queued job.
    order_services.change_status(order=order, to=OrderStatus.CANCELLED, by=manager)
    assert settlement_jobs(order) == 1
    payment.refresh_from_db()
    assert payment.status == PaymentState.PENDING

    TestBankProvider().decide(provider_payment_id=payment.provider_payment_id, succeeded=True)
    response = success_webhook(client, payment)

    assert (response.status_code, response.json()) == (
        200,
        {"status": "succeeded", "changed": True},
    )
    order.refresh_from_db()
    payment.refresh_from_db()
    (refund,) = Refund.objects.all()
    assert refund.status == RefundState.SUCCEEDED
    assert (refund.amount_kopecks, payment.refunded_kopecks, order.paid_kopecks) == (
        TOTAL,
        TOTAL,
        0,
    )
    # Replayed, the webhook changes nothing and refunds nothing more.
    assert success_webhook(client, payment).json() == {"status": "succeeded", "changed": False}
    assert tasks.settle_order_job.call(order.pk) == "done"
    assert Refund.objects.count() == 1
    assert len(refund_mails()) == 1


def test_a_withdrawn_payment_that_succeeds_at_a_provider_that_cannot_cancel_is_refunded(
    pharmacy, order, client, monkeypatch
):
    payment = start(pharmacy, order)
    # ЮKassa cannot withdraw a pending payment: it is cancelled here only.
    monkeypatch.setattr(TestBankProvider, "supports_cancel", False)
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentState.CANCELED

    # The buyer still pays it at the provider: the money is recorded, then returned.
    TestBankProvider().decide(provider_payment_id=payment.provider_payment_id, succeeded=True)
    response = success_webhook(client, payment)

    assert response.json() == {"status": "succeeded", "changed": True}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_kopecks, order.paid_kopecks) == ("succeeded", TOTAL, 0)
    assert Refund.objects.get().status == RefundState.SUCCEEDED
    # A late «canceled» from the provider cannot undo the recorded success.
    body, headers = TestBankProvider().signed_event(
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.CANCELED,
        amount_kopecks=TOTAL,
    )
    assert webhook(client, body, headers).json() == {"status": "succeeded", "changed": False}


def test_the_bank_page_says_the_money_goes_back_when_the_order_was_cancelled(
    pharmacy, order, manager
):
    payment = start(pharmacy, order)
    order_services.change_status(order=order, to=OrderStatus.CANCELLED, by=manager)
    client = client_for(pharmacy.admin)
    response = client.post(
        reverse("pharma:test-bank-pay", args=[payment.provider_payment_id]), {"decision": "pay"}
    )
    assert texts(response) == [
        "Оплата получена, но заказ отменён: 1\u202f540,00\u00a0₽ возвращается на карту."
    ]
    order.refresh_from_db()
    assert order.paid_kopecks == 0


# --- overpayment --------------------------------------------------------------------------------


def test_an_order_paid_twice_keeps_its_total_and_refunds_the_second_payment(
    pharmacy, order, client, monkeypatch
):
    first = start(pharmacy, order)
    monkeypatch.setattr(TestBankProvider, "supports_cancel", False)
    payment_services.withdraw_payment(payment_id=first.pk)
    second = start(pharmacy, order)
    assert second.pk != first.pk
    bank = TestBankProvider()
    for payment in (second, first):
        bank.decide(provider_payment_id=payment.provider_payment_id, succeeded=True)
    success_webhook(client, second)
    order.refresh_from_db()
    assert (order.paid_kopecks, order.is_paid, order.overpaid_kopecks) == (TOTAL, True, 0)
    assert not Refund.objects.exists()

    success_webhook(client, first)

    order.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    (refund,) = Refund.objects.all()
    # The newest payment applied gives the money back.
    assert (refund.payment_id, refund.amount_kopecks, refund.reason) == (
        first.pk,
        TOTAL,
        "Переплата по заказу",
    )
    assert (first.refunded_kopecks, second.refunded_kopecks) == (TOTAL, 0)
    assert (order.status, order.paid_kopecks, order.is_paid, order.overpaid_kopecks) == (
        OrderStatus.NEW,
        TOTAL,
        True,
        0,
    )
    paid_mail = [m for m in emails_to(BUYER) if "получена оплата" in m.subject][-1]
    assert "Переплата 1\u202f540,00\u00a0₽ будет возвращена." in paid_mail.body
    (mail,) = refund_mails()
    assert "По заказу остаётся оплачено 1\u202f540,00\u00a0₽." in mail.body
    assert_reconciled(order)


def test_an_excess_that_came_otherwise_is_shown_to_be_returned_by_a_person(pharmacy, order):
    client = client_for(pharmacy.admin)
    pay_at_bank(start(pharmacy, order), client)
    # A bank transfer for the same order, recorded as the statement upload will record it.
    Payment.objects.create(
        order=order,
        provider="bank",
        provider_payment_id="40702810900000000001:2026-11-25:17",
        amount_kopecks=50_000,
        status=PaymentState.SUCCEEDED,
    )
    Order.objects.filter(pk=order.pk).update(paid_kopecks=TOTAL + 50_000)
    bank_payment = Payment.objects.get(provider="bank")

    # Only the online payment can be refunded by the service, and only the excess is.
    made = refunds.refund_overpayment(order_id=order.pk)
    (refund,) = made
    assert refund.payment.provider == "test_bank"
    assert refund.amount_kopecks == 50_000
    order.refresh_from_db()
    assert (order.paid_kopecks, order.overpaid_kopecks) == (TOTAL, 0)

    with pytest.raises(RuleViolation) as caught:
        refunds.refund_payment(payment_id=bank_payment.pk, amount_kopecks=100, reason="x")
    assert caught.value.code == "refund_manual"


# --- refund_payment -----------------------------------------------------------------------------


@pytest.fixture
def paid(pharmacy, order) -> Payment:
    pay_at_bank(start(pharmacy, order), client_for(pharmacy.admin))
    payment = Payment.objects.get()
    assert payment.status == PaymentState.SUCCEEDED
    return payment


def test_refund_payment_is_idempotent_by_its_key(paid, order):
    first = refunds.refund_payment(
        payment_id=paid.pk, amount_kopecks=40_000, reason="Нет товара", idempotency_key="r-1"
    )
    again = refunds.refund_payment(
        payment_id=paid.pk, amount_kopecks=40_000, reason="Нет товара", idempotency_key="r-1"
    )
    assert first.pk == again.pk
    assert first.status == RefundState.SUCCEEDED
    assert Refund.objects.count() == 1
    paid.refresh_from_db()
    order.refresh_from_db()
    assert (paid.refunded_kopecks, order.paid_kopecks) == (40_000, TOTAL - 40_000)
    # Less than the total is held now: the order is payable again for the difference.
    assert (order.is_paid, order.unpaid_kopecks) == (False, 40_000)
    with pytest.raises(Conflict):
        refunds.refund_payment(
            payment_id=paid.pk, amount_kopecks=1, reason="x", idempotency_key="r-1"
        )


def test_refund_payment_never_returns_more_than_the_payment_brought(paid, order):
    refunds.refund_payment(payment_id=paid.pk, amount_kopecks=TOTAL - 100, reason="Частично")
    with pytest.raises(RuleViolation) as caught:
        refunds.refund_payment(payment_id=paid.pk, amount_kopecks=101, reason="Ещё")
    assert caught.value.code == "refund_exceeds_payment"
    assert caught.value.message == "Вернуть можно не больше, чем осталось от платежа: 1,00\u00a0₽."
    refunds.refund_payment(payment_id=paid.pk, amount_kopecks=100, reason="Остаток")
    with pytest.raises(RuleViolation):
        refunds.refund_payment(payment_id=paid.pk, amount_kopecks=1, reason="Ещё")
    paid.refresh_from_db()
    order.refresh_from_db()
    assert (paid.refunded_kopecks, order.paid_kopecks) == (TOTAL, 0)
    assert Refund.objects.count() == 2
    assert_reconciled(order)


@pytest.mark.parametrize("amount", [0, -1, True, "100"])
def test_refund_payment_refuses_bad_amounts(paid, amount):
    with pytest.raises(ValidationFailed):
        refunds.refund_payment(payment_id=paid.pk, amount_kopecks=amount, reason="x")
    assert not Refund.objects.exists()


def test_a_pending_or_cancelled_payment_is_not_refunded(pharmacy, order):
    payment = start(pharmacy, order)
    with pytest.raises(RuleViolation):
        refunds.refund_payment(payment_id=payment.pk, amount_kopecks=100, reason="x")
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.refunded_kopecks == 0


def test_the_database_refuses_a_refunded_amount_above_the_payment(paid):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=paid.pk).update(refunded_kopecks=TOTAL + 1)


# --- the provider fails -------------------------------------------------------------------------


def failing_refund(retryable: bool):
    def refund(self, **kwargs):
        raise PaymentProviderError("Банк недоступен", retryable=retryable)

    return refund


def test_a_refund_the_provider_did_not_answer_stays_pending_and_is_resent(
    pharmacy, paid, order, monkeypatch
):
    real_refund = TestBankProvider.refund
    monkeypatch.setattr(TestBankProvider, "refund", failing_refund(retryable=True))
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    (refund,) = Refund.objects.all()
    order.refresh_from_db()
    assert (refund.status, refund.error) == (RefundState.PENDING, "Банк недоступен")
    assert order.paid_kopecks == TOTAL
    page = client_for(pharmacy.admin).get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert 'data-overpaid="154000"' in page
    assert "возврат в обработке" in page
    assert tasks.settle_order_job.call(order.pk) == "retry"
    assert Refund.objects.count() == 1

    keys: list[str] = []

    def recording_refund(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        return real_refund(self, **kwargs)

    monkeypatch.setattr(TestBankProvider, "refund", recording_refund)
    assert tasks.settle_order_job.call(order.pk, 2) == "done"
    refund.refresh_from_db()
    order.refresh_from_db()
    assert keys == [refund.idempotency_key]
    assert (refund.status, refund.error, order.paid_kopecks) == (RefundState.SUCCEEDED, "", 0)
    assert Refund.objects.count() == 1


def test_a_refund_the_provider_answered_pending_is_read_again_not_resent(
    pharmacy, paid, order, monkeypatch
):
    """ЮKassa may answer a refund «pending»; a repeated key would only repeat that answer, so
    the settlement job asks for the refund's state until it is final."""
    from kabinet.pharma.payments.providers.base import RefundResult

    sent: list[str] = []
    states = iter([PaymentStatus.PENDING, PaymentStatus.SUCCEEDED])

    def pending_refund(self, **kwargs):
        sent.append(kwargs["idempotency_key"])
        return RefundResult("rf-1", PaymentStatus.PENDING, kwargs["amount_kopecks"])

    def refund_status(self, provider_refund_id):
        assert provider_refund_id == "rf-1"
        return RefundResult("rf-1", next(states), TOTAL)

    monkeypatch.setattr(TestBankProvider, "refund", pending_refund)
    monkeypatch.setattr(TestBankProvider, "refund_status", refund_status)
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    (refund,) = Refund.objects.all()
    assert (refund.status, refund.provider_refund_id) == (RefundState.PENDING, "rf-1")

    assert tasks.settle_order_job.call(order.pk) == "retry"  # still pending at the provider
    assert tasks.settle_order_job.call(order.pk, 2) == "done"
    refund.refresh_from_db()
    order.refresh_from_db()
    assert sent == [refund.idempotency_key]  # sent once, then only read
    assert (refund.status, order.paid_kopecks) == (RefundState.SUCCEEDED, 0)


def test_a_refund_the_provider_refused_frees_the_amount_for_a_person(
    pharmacy, paid, order, monkeypatch
):
    monkeypatch.setattr(TestBankProvider, "refund", failing_refund(retryable=False))
    order_services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    (refund,) = Refund.objects.all()
    paid.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == RefundState.FAILED
    assert (paid.refunded_kopecks, order.paid_kopecks, order.overpaid_kopecks) == (0, TOTAL, TOTAL)
    assert refund_mails() == []
    page = client_for(pharmacy.admin).get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert 'data-overpaid="154000"' in page
    assert "вернёт менеджер" in page
    assert 'data-refund="failed"' in page
    assert_reconciled(order)


def test_the_test_bank_refunds_only_what_was_paid():
    bank = TestBankProvider(secret="s")
    created = bank.create_payment(
        payment_id="p", amount_kopecks=1_000, description="d", return_url="/", idempotency_key="k1"
    )
    pid = created.provider_payment_id
    with pytest.raises(PaymentProviderError):
        bank.refund(
            provider_payment_id=pid, amount_kopecks=100, description="d", idempotency_key="a"
        )
    bank.decide(provider_payment_id=pid, succeeded=True)
    first = bank.refund(
        provider_payment_id=pid, amount_kopecks=600, description="d", idempotency_key="a"
    )
    assert (first.status, first.amount_kopecks) == (PaymentStatus.SUCCEEDED, 600)
    assert first.provider_refund_id.startswith("tbr_")
    # The same key is the same refund, not a second one.
    assert (
        bank.refund(
            provider_payment_id=pid, amount_kopecks=600, description="d", idempotency_key="a"
        )
        == first
    )
    with pytest.raises(PaymentProviderError):
        bank.refund(
            provider_payment_id=pid, amount_kopecks=401, description="d", idempotency_key="b"
        )
    assert (
        bank.refund(
            provider_payment_id=pid, amount_kopecks=400, description="d", idempotency_key="c"
        ).status
        == PaymentStatus.SUCCEEDED
    )
    assert test_provider.TestBankProvider.supports_cancel is True


def test_the_test_bank_withdraws_only_an_unpaid_payment():
    bank = TestBankProvider(secret="s")
    unpaid = bank.create_payment(
        payment_id="p", amount_kopecks=1_000, description="d", return_url="/", idempotency_key="u"
    ).provider_payment_id
    paid_id = bank.create_payment(
        payment_id="p", amount_kopecks=1_000, description="d", return_url="/", idempotency_key="v"
    ).provider_payment_id
    bank.decide(provider_payment_id=paid_id, succeeded=True)
    assert bank.cancel_payment(unpaid).status == PaymentStatus.CANCELED
    assert bank.cancel_payment(paid_id).status == PaymentStatus.SUCCEEDED
    # A withdrawn payment cannot be paid on the bank's page any more.
    body, _ = bank.decide(provider_payment_id=unpaid, succeeded=True)
    assert b'"status":"canceled"' in body
    with pytest.raises(PaymentProviderError):
        bank.cancel_payment("tb_unknown")
