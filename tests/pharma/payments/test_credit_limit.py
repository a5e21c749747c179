"""Deferred payment within the organisation's credit limit (SPEC P-PAY-2)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kabinet.pharma.models import Organisation
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.models import CartLine, Order
from kabinet.pharma.payments.credit import CreditLimitExceeded, outstanding_debt_kopecks
from tests.pharma.conftest import client_for
from tests.pharma.orders.conftest import NOW, build_catalog

pytestmark = pytest.mark.django_db

TOTAL = 154_000  # Но-шпа 4 × 250,00 + Нурофен 3 × 180,00


def rub(text: str) -> str:
    """format_rub's spelling: a narrow space between thousands, a no-break space before ₽."""
    return text.replace(" ", "\u202f") + "\u00a0₽"


@pytest.fixture
def catalog(pharmacy, moscow):
    return build_catalog(moscow)


def set_limit(pharmacy, kopecks: int) -> None:
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=kopecks)


def fill(pharmacy) -> None:
    for code, quantity in {"P001": 4, "P002": 3}.items():
        order_services.add_to_cart(
            partner=pharmacy.admin,
            address_id=pharmacy.address.pk,
            product_code=code,
            quantity=quantity,
        )


def place(pharmacy, method: str = "deferred", *, refill: bool = True) -> Order:
    if refill:
        fill(pharmacy)
    return order_services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method=method, now=NOW
    )


def test_without_a_limit_deferral_is_refused(pharmacy, catalog):
    with pytest.raises(CreditLimitExceeded) as refused:
        place(pharmacy)
    assert refused.value.message == (
        f"Заказ на {rub('1 540,00')} не помещается в кредитный лимит: лимит {rub('0,00')}, "
        f"долг по отсрочке {rub('0,00')}, доступно {rub('0,00')}. Выберите другой способ оплаты."
    )
    assert not Order.objects.exists()
    assert CartLine.objects.count() == 2
    # Other methods do not use the limit.
    assert place(pharmacy, method="invoice", refill=False).total_kopecks == TOTAL


def test_debt_and_total_must_fit_under_the_limit(pharmacy, catalog):
    set_limit(pharmacy, 200_000)
    first = place(pharmacy)
    assert outstanding_debt_kopecks(organisation_id=pharmacy.organisation.pk) == TOTAL

    with pytest.raises(CreditLimitExceeded) as refused:
        place(pharmacy)
    assert refused.value.message == (
        f"Заказ на {rub('1 540,00')} не помещается в кредитный лимит: лимит {rub('2 000,00')}, "
        f"долг по отсрочке {rub('1 540,00')}, доступно {rub('460,00')}. "
        "Выберите другой способ оплаты."
    )
    assert Order.objects.count() == 1

    # Paying part of the first order frees that much of the limit.
    Order.objects.filter(pk=first.pk).update(paid_kopecks=108_000)
    assert outstanding_debt_kopecks(organisation_id=pharmacy.organisation.pk) == 46_000
    second = place(pharmacy, refill=False)
    assert second.total_kopecks == TOTAL
    assert outstanding_debt_kopecks(organisation_id=pharmacy.organisation.pk) == 200_000


def test_a_limit_equal_to_debt_plus_total_is_enough(pharmacy, catalog):
    set_limit(pharmacy, TOTAL)
    assert place(pharmacy).payment_method == "deferred"


def test_cancelled_and_other_orders_are_not_debt(pharmacy, other_pharmacy, catalog):
    set_limit(pharmacy, TOTAL)
    first = place(pharmacy)
    order_services.cancel_order(partner=pharmacy.admin, order_id=first.pk)
    place(pharmacy, method="invoice")
    assert outstanding_debt_kopecks(organisation_id=pharmacy.organisation.pk) == 0
    assert place(pharmacy).total_kopecks == TOTAL
    assert outstanding_debt_kopecks(organisation_id=other_pharmacy.organisation.pk) == 0


def test_the_cart_shows_what_is_left_of_the_limit(pharmacy, catalog):
    set_limit(pharmacy, 200_000)
    place(pharmacy)
    fill(pharmacy)
    page = client_for(pharmacy.admin).get(reverse("pharma:cart")).content.decode()
    assert 'data-credit-available="46000"' in page
    assert f"Отсрочка платежа: доступно {rub('460,00')} из лимита {rub('2 000,00')}." in page
