"""A user with «Оплата» but not «Оформление заказов» (an accountant) opens the organisation's
orders read-only, takes the invoice and pays online (issue 7); nobody else's orders, and no
cancelling or reordering."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kabinet.pharma.models import Authority
from kabinet.pharma.orders.models import CartLine, Order, OrderStatus
from kabinet.pharma.payments.models import Payment
from tests.pharma.conftest import _partner, client_for
from tests.pharma.payments.test_order_payments import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(pharmacy, moscow):
    from tests.pharma.orders.conftest import build_catalog

    return build_catalog(moscow)


@pytest.fixture
def order(pharmacy, catalog) -> Order:
    return place(pharmacy, method="online")


@pytest.fixture
def accountant(pharmacy):
    return _partner(pharmacy.organisation, "zdorovie-buh", [Authority.CATALOG, Authority.PAY])


def test_an_accountant_sees_the_order_and_may_pay_it_but_not_change_it(accountant, order):
    client = client_for(accountant)
    response = client.get(reverse("pharma:order", args=[order.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Заказ {order.number}" in page
    assert "Оплатить онлайн" in page
    assert "Скачать счёт" in page
    assert "Отменить заказ" not in page
    assert "Повторить заказ" not in page

    listing = client.get(reverse("pharma:orders")).content.decode()
    assert f'data-order="{order.number}"' in listing
    assert reverse("pharma:cart") not in listing.split('class="section-head"')[1].split("</div>")[0]

    assert client.get(reverse("pharma:order-invoice", args=[order.pk])).status_code == 200
    response = client.post(reverse("pharma:order-pay", args=[order.pk]))
    payment = Payment.objects.get()
    assert response["Location"] == payment.confirmation_url

    # Changing the order is for those who order.
    assert client.post(reverse("pharma:order-cancel", args=[order.pk])).status_code == 403
    assert client.post(reverse("pharma:order-reorder", args=[order.pk])).status_code == 403
    assert client.get(reverse("pharma:cart")).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert not CartLine.objects.exists()


def test_the_cabinet_sends_an_accountant_to_the_payments_page(accountant):
    page = client_for(accountant).get(reverse("pharma:cabinet")).content.decode()
    assert f'href="{reverse("pharma:payments")}" data-section="pay"' in page
    assert 'data-section="order"' not in page


def test_an_accountant_of_another_organisation_finds_nothing(other_pharmacy, order):
    stranger = _partner(other_pharmacy.organisation, "vita-buh", [Authority.PAY])
    client = client_for(stranger)
    assert client.get(reverse("pharma:order", args=[order.pk])).status_code == 404
    assert client.post(reverse("pharma:order-pay", args=[order.pk])).status_code == 404
    listing = client.get(reverse("pharma:orders")).content.decode()
    assert order.number not in listing
    assert not Payment.objects.exists()


def test_without_order_or_pay_the_orders_stay_closed(pharmacy, order):
    client = client_for(pharmacy.colleague)  # catalog only
    assert client.get(reverse("pharma:orders")).status_code == 403
    assert client.get(reverse("pharma:order", args=[order.pk])).status_code == 403


def test_an_orderer_without_pay_still_changes_but_does_not_pay(pharmacy, order):
    orderer = _partner(pharmacy.organisation, "zdorovie-orders", [Authority.ORDER])
    page = client_for(orderer).get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "Отменить заказ" in page and "Повторить заказ" in page
    assert "Оплатить онлайн" not in page and "Скачать счёт" not in page
