"""Payment races on PostgreSQL: one webhook twice at once credits once, many «Оплатить»
clicks at once open one pending payment, two settlements at once refund once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kabinet.notifications.models import Message
from kabinet.pharma.models import DeliveryAddress, Organisation
from kabinet.pharma.orders import selectors as order_selectors
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.models import Order
from kabinet.pharma.payments import refunds, services
from kabinet.pharma.payments.credit import CreditLimitExceeded, outstanding_debt_kopecks
from kabinet.pharma.payments.models import Payment, PaymentState, Refund
from kabinet.pharma.payments.providers import get_provider
from kabinet.pharma.payments.providers.base import PaymentStatus
from kabinet.pharma.payments.providers.test_provider import TestBankProvider
from tests.pharma.orders.conftest import NOW, build_catalog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def test_the_same_webhook_twice_at_once_is_applied_once(pharmacy, moscow, monkeypatch):
    build_catalog(moscow)
    order_services.add_to_cart(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P001", quantity=4
    )
    order = order_services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="online", now=NOW
    )
    payment = services.start_online_payment(partner=pharmacy.admin, order_id=order.pk)
    body, headers = TestBankProvider().signed_event(
        provider_payment_id=payment.provider_payment_id,
        status=PaymentStatus.SUCCEEDED,
        amount_kopecks=payment.amount_kopecks,
    )

    # Both deliveries pass the signature check before either takes the payment's lock.
    gate = threading.Barrier(2)

    class GatedProvider:
        def __init__(self, real):
            self.real = real

        def parse_webhook(self, **kwargs):
            event = self.real.parse_webhook(**kwargs)
            gate.wait(timeout=10)
            return event

    monkeypatch.setattr(services, "get_provider", lambda name: GatedProvider(get_provider(name)))
    outcomes: list[object] = []

    def deliver():
        try:
            applied = services.handle_webhook(
                provider="test_bank", body=body, headers=headers, remote_addr=None
            )
            outcomes.append(applied.changed)
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes, key=str) == [False, True]
    order.refresh_from_db()
    assert order.paid_kopecks == 100_000 == order.total_kopecks
    assert Payment.objects.get().status == PaymentState.SUCCEEDED
    assert Message.objects.filter(template="pharma_order_paid").count() == 1


def test_two_deferred_orders_at_once_cannot_both_use_the_last_of_the_limit(
    pharmacy, moscow, monkeypatch
):
    build_catalog(moscow)
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=150_000)
    second_address = DeliveryAddress.objects.create(
        organisation=pharmacy.organisation, name="Аптека №2", city=moscow, address="ул. Арбат, 2"
    )
    addresses = [pharmacy.address.pk, second_address.pk]
    for address_id in addresses:
        order_services.add_to_cart(
            partner=pharmacy.admin, address_id=address_id, product_code="P001", quantity=4
        )

    # Both transactions have priced their carts before either checks the limit.
    real_price_lines = order_selectors.price_lines
    gate = threading.Barrier(2)

    def slow_price_lines(*args, **kwargs):
        view = real_price_lines(*args, **kwargs)
        gate.wait(timeout=10)
        return view

    monkeypatch.setattr(order_selectors, "price_lines", slow_price_lines)
    outcomes: list[str] = []

    def order(address_id):
        try:
            order_services.place_order(
                partner=pharmacy.admin, address_id=address_id, payment_method="deferred", now=NOW
            )
            outcomes.append("placed")
        except CreditLimitExceeded:
            outcomes.append("refused")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=order, args=(a,)) for a in addresses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["placed", "refused"]
    assert Order.objects.count() == 1
    assert outstanding_debt_kopecks(organisation_id=pharmacy.organisation.pk) == 100_000


def _online_order(pharmacy, moscow) -> Order:
    build_catalog(moscow)
    order_services.add_to_cart(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P001", quantity=4
    )
    return order_services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="online", now=NOW
    )


def _run(n: int, target) -> list[object]:
    outcomes: list[object] = []

    def run():
        try:
            outcomes.append(target())
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("keys", ["derived", "random"])
def test_many_pay_clicks_at_once_open_one_pending_payment(pharmacy, moscow, monkeypatch, keys):
    order = _online_order(pharmacy, moscow)
    n = 6
    if keys == "random":
        # Even if each click got its own provider payment, the partial unique index lets one
        # be recorded and sends every click to it; the others are withdrawn at the bank.
        import uuid

        monkeypatch.setattr(services, "_payment_key", lambda *args: uuid.uuid4().hex)

    # Every click has looked for a pending payment and asked the bank before any records one.
    gate = threading.Barrier(n)
    real_create = TestBankProvider.create_payment
    at_bank: set[str] = set()

    def gated_create(self, **kwargs):
        created = real_create(self, **kwargs)
        at_bank.add(created.provider_payment_id)
        gate.wait(timeout=20)
        return created

    monkeypatch.setattr(TestBankProvider, "create_payment", gated_create)

    outcomes = _run(
        n,
        lambda: services.start_online_payment(partner=pharmacy.admin, order_id=order.pk).pk,
    )

    (pending,) = Payment.objects.filter(order=order, status=PaymentState.PENDING)
    assert outcomes == [pending.pk] * n
    assert Payment.objects.filter(order=order).count() == 1
    bank = TestBankProvider()
    orphans = at_bank - {pending.provider_payment_id}
    # Derived keys: every click got the same bank payment. Random ones: the rest are withdrawn.
    assert len(orphans) == (0 if keys == "derived" else n - 1)
    assert {bank.fetch_status(pid).status for pid in orphans} <= {"canceled"}
    assert bank.fetch_status(pending.provider_payment_id).status == "pending"


def test_two_settlements_at_once_refund_a_cancelled_order_once(pharmacy, moscow, monkeypatch):
    order = _online_order(pharmacy, moscow)
    payment = services.start_online_payment(partner=pharmacy.admin, order_id=order.pk)
    body, headers = TestBankProvider().decide(
        provider_payment_id=payment.provider_payment_id, succeeded=True
    )
    services.handle_webhook(provider="test_bank", body=body, headers=headers, remote_addr=None)
    order_services.change_status(order=Order.objects.get(pk=order.pk), to="cancelled", by=None)

    # Both runs are at the bank with the refund before either records the answer.
    gate = threading.Barrier(2)
    real_refund = TestBankProvider.refund

    def gated_refund(self, **kwargs):
        gate.wait(timeout=20)
        return real_refund(self, **kwargs)

    monkeypatch.setattr(TestBankProvider, "refund", gated_refund)

    outcomes = _run(2, lambda: [r.status for r in refunds.refund_overpayment(order_id=order.pk)])

    assert outcomes == [["succeeded"], ["succeeded"]]
    (refund,) = Refund.objects.all()
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (refund.amount_kopecks, payment.refunded_kopecks, order.paid_kopecks) == (
        100_000,
        100_000,
        0,
    )
    assert Message.objects.filter(template="pharma_order_refunded").count() == 1
