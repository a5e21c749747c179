"""The cart: authority, whose address, quantities, and the priced view (P-ORD-1, P-ORD-2)."""

from __future__ import annotations

import pytest

from kabinet.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from kabinet.pharma.catalog.models import ServedCity
from kabinet.pharma.models import Authority, LicenceKind, OrganisationStatus
from kabinet.pharma.orders import selectors, services
from kabinet.pharma.orders.models import Cart, CartLine

from .conftest import DELIVERY, MIN_ORDER, NOW, grant_licence

pytestmark = pytest.mark.django_db


def _lines(pharmacy) -> dict[str, int]:
    return {
        line.product.code: line.quantity
        for line in CartLine.objects.filter(cart__address=pharmacy.address).select_related(
            "product"
        )
    }


def _add(pharmacy, code: str, quantity: int, partner=None):
    return services.add_to_cart(
        partner=partner or pharmacy.admin,
        address_id=pharmacy.address.pk,
        product_code=code,
        quantity=quantity,
    )


def test_add_set_and_remove(pharmacy, catalog):
    _add(pharmacy, "P001", 4)
    _add(pharmacy, "P001", 6)
    _add(pharmacy, "P020", 20)
    assert _lines(pharmacy) == {"P001": 10, "P020": 20}
    assert Cart.objects.count() == 1

    services.set_cart_quantity(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P001", quantity=3
    )
    assert _lines(pharmacy) == {"P001": 3, "P020": 20}
    services.set_cart_quantity(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P020", quantity=0
    )
    assert _lines(pharmacy) == {"P001": 3}
    services.remove_from_cart(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P001"
    )
    services.remove_from_cart(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P001"
    )
    assert _lines(pharmacy) == {}


def test_quantity_rules(pharmacy, catalog):
    with pytest.raises(ValidationFailed) as caught:
        _add(pharmacy, "P020", 15)
    assert caught.value.message == "Количество должно быть кратно 10 уп."
    assert caught.value.field == "quantity"
    with pytest.raises(ValidationFailed, match="больше нуля"):
        _add(pharmacy, "P001", 0)
    _add(pharmacy, "P001", 9_999)
    # The sum is checked too: 9 999 + 2 is over the line limit.
    with pytest.raises(ValidationFailed, match="Не больше 10"):
        _add(pharmacy, "P001", 2)
    assert _lines(pharmacy) == {"P001": 9_999}


def test_unknown_and_withdrawn_products(pharmacy, catalog):
    with pytest.raises(NotFound):
        _add(pharmacy, "NOPE", 1)
    with pytest.raises(RuleViolation) as caught:
        _add(pharmacy, "P040", 1)
    assert caught.value.code == "product_inactive"
    assert _lines(pharmacy) == {}


def test_another_organisations_address_is_not_found(pharmacy, other_pharmacy, catalog):
    with pytest.raises(NotFound):
        services.add_to_cart(
            partner=pharmacy.admin,
            address_id=other_pharmacy.address.pk,
            product_code="P001",
            quantity=1,
        )
    with pytest.raises(NotFound):
        selectors.price_cart(partner=pharmacy.admin, address_id=other_pharmacy.address.pk, now=NOW)
    with pytest.raises(NotFound):
        services.remove_from_cart(
            partner=other_pharmacy.admin, address_id=pharmacy.address.pk, product_code="P001"
        )
    assert Cart.objects.count() == 0


def test_order_authority_is_required(pharmacy, catalog):
    with pytest.raises(PermissionDenied):
        _add(pharmacy, "P001", 1, partner=pharmacy.colleague)
    with pytest.raises(PermissionDenied):
        selectors.price_cart(partner=pharmacy.colleague, address_id=pharmacy.address.pk, now=NOW)
    # A blocked organisation keeps its authorities on paper but may not trade.
    pharmacy.organisation.status = OrganisationStatus.BLOCKED
    pharmacy.organisation.save()
    pharmacy.admin.refresh_from_db()
    assert Authority.ORDER in pharmacy.admin.authorities
    with pytest.raises(PermissionDenied):
        _add(pharmacy, "P001", 1)
    assert Cart.objects.count() == 0


def test_priced_cart(pharmacy, catalog):
    _add(pharmacy, "P001", 10)
    _add(pharmacy, "P002", 3)
    view = selectors.price_cart(partner=pharmacy.admin, address_id=pharmacy.address.pk, now=NOW)
    assert [(line.product.code, line.quantity, line.free) for line in view.lines] == [
        ("P001", 10, 52),
        ("P002", 3, 100),
    ]
    noshpa, nurofen = view.lines
    assert (noshpa.quote.price_kopecks, noshpa.amount_kopecks) == (25_000, 250_000)
    assert (nurofen.quote.price_kopecks, nurofen.amount_kopecks) == (18_000, 54_000)
    assert nurofen.quote.promotion.title == "Осенняя акция Нурофен"
    assert (
        view.totals.goods_kopecks,
        view.totals.discount_kopecks,
        view.totals.total_kopecks,
        view.totals.vat_kopecks,
    ) == (310_000, 6_000, 304_000, 31_727)
    assert view.min_order_kopecks == MIN_ORDER
    assert view.min_order_reached
    assert view.delivery.date == DELIVERY
    assert view.problems == []
    assert all(line.all_problems == [] for line in view.lines)
    assert view.can_place


def test_priced_cart_problems(pharmacy, catalog):
    _add(pharmacy, "P010", 1)  # prescription: no licence yet
    _add(pharmacy, "P030", 1)  # ЖНВЛП over its ceiling
    _add(pharmacy, "P012", 11)  # precursor, more than the 10 in stock
    view = selectors.price_cart(partner=pharmacy.admin, address_id=pharmacy.address.pk, now=NOW)
    rx, jnvlp, precursor = view.lines
    assert rx.licence_problems == [
        "Нужна действующая лицензия на фармацевтическую деятельность: товар отпускается по рецепту."
    ]
    assert rx.problems == []
    assert len(jnvlp.problems) == 1
    assert jnvlp.quote.violation == jnvlp.problems[0]
    assert jnvlp.quote.ceiling_kopecks == 6_600
    assert precursor.problems == ["Недостаточно на складе: свободно 10 уп."]
    assert precursor.licence_problems == [
        "Нужна действующая лицензия на фармацевтическую деятельность: товар относится к "
        "контролируемым.",
        "Нужна действующая лицензия на оборот прекурсоров.",
    ]
    assert not view.can_place

    grant_licence(pharmacy.organisation, LicenceKind.PHARMACEUTICAL, LicenceKind.PRECURSOR)
    view = selectors.price_cart(partner=pharmacy.admin, address_id=pharmacy.address.pk, now=NOW)
    assert [line.licence_problems for line in view.lines] == [[], [], []]


def test_below_minimum_and_unserved_address(pharmacy, catalog, kazan):
    _add(pharmacy, "P020", 10)
    view = selectors.price_cart(partner=pharmacy.admin, address_id=pharmacy.address.pk, now=NOW)
    assert view.totals.total_kopecks == 10_000
    assert not view.min_order_reached
    assert view.problems == [
        "Минимальная сумма заказа для филиала «Москва» — 1\u202f000,00\u00a0₽."
    ]

    pharmacy.address.city = kazan
    pharmacy.address.save()
    assert not ServedCity.objects.filter(city=kazan).exists()
    view = selectors.price_cart(partner=pharmacy.admin, address_id=pharmacy.address.pk, now=NOW)
    assert view.problems == ["Адрес доставки не обслуживается ни одним филиалом."]
    assert view.delivery is None
    assert not view.can_place
