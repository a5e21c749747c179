"""One webhook delivered twice at the same moment credits the order once (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kabinet.notifications.models import Message
from kabinet.pharma.models import DeliveryAddress, Organisation
from kabinet.pharma.orders import selectors as order_selectors
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.models import Order
from kabinet.pharma.payments import services
from kabinet.pharma.payments.credit import CreditLimitExceeded, outstanding_debt_kopecks
from kabinet.pharma.payments.models import Payment, PaymentState
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
