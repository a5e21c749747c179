"""Placing an order: exact totals, FEFO reservations, history, e-mail; refusals change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kabinet.core.errors import NotFound, PermissionDenied, RuleViolation
from kabinet.notifications.models import Message
from kabinet.pharma.catalog.models import Offer
from kabinet.pharma.catalog.pricing import CeilingExceeded
from kabinet.pharma.models import LicenceKind
from kabinet.pharma.orders import services
from kabinet.pharma.orders.models import (
    CartLine,
    Order,
    OrderStatus,
    OrderStatusChange,
    Reservation,
    ReservationState,
)
from kabinet.pharma.orders.services import BelowMinimumOrder, LicenceRequired, OutOfStock

from ..conftest import emails_to
from .conftest import DELIVERY, NOW, TODAY, grant_licence

pytestmark = pytest.mark.django_db


def fill(pharmacy, items: dict[str, int], partner=None) -> None:
    for code, quantity in items.items():
        services.add_to_cart(
            partner=partner or pharmacy.admin,
            address_id=pharmacy.address.pk,
            product_code=code,
            quantity=quantity,
        )


def place(pharmacy, partner=None, **kw) -> Order:
    return services.place_order(
        partner=partner or pharmacy.admin,
        address_id=pharmacy.address.pk,
        payment_method=kw.pop("payment_method", "invoice"),
        now=kw.pop("now", NOW),
        **kw,
    )


def snapshot() -> tuple:
    """Everything a refused order must leave as it was."""
    return (
        list(Offer.objects.order_by("pk").values_list("pk", "quantity", "reserved")),
        list(CartLine.objects.order_by("pk").values_list("pk", "product_id", "quantity")),
        Order.objects.count(),
        Reservation.objects.count(),
        OrderStatusChange.objects.count(),
        Message.objects.count(),
    )


def reserved(catalog) -> dict[str, tuple[int, int]]:
    return {
        series: (offer.quantity, offer.reserved)
        for series, offer in ((s, catalog.offer(s)) for s in ("A0", "A1", "A2", "N1"))
    }


def test_happy_path(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P002": 3})
    order = place(pharmacy)

    order.refresh_from_db()
    assert order.number == f"З-2026-{order.pk:06d}"
    assert order.status == OrderStatus.NEW
    assert order.payment_method == "invoice"
    assert (
        order.goods_kopecks,
        order.discount_kopecks,
        order.total_kopecks,
        order.vat_kopecks,
    ) == (310_000, 6_000, 304_000, 31_727)
    assert order.delivery_date == DELIVERY
    assert order.warehouse == catalog.warehouse
    assert order.placed_by == pharmacy.admin.user
    assert order.created_at == NOW
    assert [
        (
            line.product.code,
            line.quantity,
            line.price_kopecks,
            line.list_price_kopecks,
            line.vat_percent,
            line.promotion_title,
        )
        for line in order.lines.order_by("id")
    ] == [
        ("P001", 10, 25_000, 25_000, 10, ""),
        ("P002", 3, 18_000, 20_000, 20, "Осенняя акция Нурофен"),
    ]
    # FEFO: the 7 packs of A1 (sooner expiry) first, then 3 of A2; the expired A0 is untouched.
    assert sorted(
        Reservation.objects.filter(line__order=order).values_list(
            "line__product__code", "offer__series", "quantity", "state"
        )
    ) == [("P001", "A1", 7, "held"), ("P001", "A2", 3, "held"), ("P002", "N1", 3, "held")]
    assert reserved(catalog) == {"A0": (30, 0), "A1": (7, 7), "A2": (50, 8), "N1": (100, 3)}
    assert list(order.history.values_list("from_status", "to_status", "by", "at")) == [
        ("", "new", pharmacy.admin.user.pk, NOW)
    ]
    assert CartLine.objects.count() == 0
    [mail] = emails_to("zdorovie-admin@example.ru")
    assert mail.subject == f"Заказ {order.number} принят"
    assert "Итого: 3\u202f040,00\u00a0₽, в т. ч. НДС 317,27\u00a0₽." in mail.body
    assert "Ожидаемая дата доставки: ср, 25 ноября." in mail.body
    assert "Нурофен — 3 уп., 540,00\u00a0₽" in mail.body


def test_idempotency_key_returns_the_same_order(pharmacy, catalog):
    fill(pharmacy, {"P001": 5})
    first = place(pharmacy, idempotency_key="k-1")
    again = place(pharmacy, idempotency_key="k-1")
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert catalog.offer("A1").reserved == 5
    # Without a key an empty cart is refused.
    with pytest.raises(RuleViolation) as caught:
        place(pharmacy)
    assert caught.value.code == "cart_empty"


def test_short_stock_reserves_nothing(pharmacy, catalog):
    fill(pharmacy, {"P002": 3, "P001": 53})
    before = snapshot()
    with pytest.raises(OutOfStock) as caught:
        place(pharmacy)
    assert caught.value.short == {"P001": 1}
    assert caught.value.message == "Недостаточно товара на складе: «Но-шпа» — не хватает 1 уп.."
    assert snapshot() == before


def test_missing_licence_is_refused_per_product(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P010": 1, "P011": 1})
    before = snapshot()
    with pytest.raises(LicenceRequired) as caught:
        place(pharmacy)
    assert caught.value.reasons == {
        "P010": [
            "Нужна действующая лицензия на фармацевтическую деятельность: товар отпускается по "
            "рецепту."
        ],
        "P011": [
            "Нужна действующая лицензия на фармацевтическую деятельность: товар относится к "
            "контролируемым.",
            "Нужна действующая лицензия на оборот наркотических средств и психотропных веществ.",
        ],
    }
    assert snapshot() == before

    # An expired narcotic licence does not count.
    grant_licence(pharmacy.organisation, LicenceKind.PHARMACEUTICAL)
    grant_licence(pharmacy.organisation, LicenceKind.NARCOTIC, expires_on=TODAY - timedelta(days=1))
    with pytest.raises(LicenceRequired) as caught:
        place(pharmacy)
    assert list(caught.value.reasons) == ["P011"]
    assert snapshot() == before

    grant_licence(pharmacy.organisation, LicenceKind.NARCOTIC, expires_on=TODAY)
    order = place(pharmacy)
    assert order.lines.count() == 3
    assert catalog.offer("K1").reserved == 1


def test_price_over_ceiling_is_refused(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P030": 1})
    before = snapshot()
    with pytest.raises(CeilingExceeded) as caught:
        place(pharmacy)
    assert caught.value.message.startswith("«Дорогой ЖНВЛП»: ")
    assert snapshot() == before


def test_below_minimum_is_refused(pharmacy, catalog):
    fill(pharmacy, {"P020": 10})
    before = snapshot()
    with pytest.raises(BelowMinimumOrder) as caught:
        place(pharmacy)
    assert caught.value.message == (
        "Минимальная сумма заказа для филиала «Москва» — 1\u202f000,00\u00a0₽, "
        "в корзине — 100,00\u00a0₽."
    )
    assert snapshot() == before


def test_no_order_authority_and_foreign_address(pharmacy, other_pharmacy, catalog):
    fill(pharmacy, {"P001": 10})
    before = snapshot()
    with pytest.raises(PermissionDenied):
        place(pharmacy, partner=pharmacy.colleague)
    with pytest.raises(NotFound):
        services.place_order(
            partner=other_pharmacy.admin,
            address_id=pharmacy.address.pk,
            payment_method="invoice",
            now=NOW,
        )
    assert snapshot() == before


def test_unknown_payment_method(pharmacy, catalog):
    fill(pharmacy, {"P001": 10})
    before = snapshot()
    with pytest.raises(Exception, match="способ оплаты"):
        place(pharmacy, payment_method="barter")
    assert snapshot() == before


def test_cancel_releases_the_reservations(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P002": 3})
    order = place(pharmacy)
    cancelled = services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    assert cancelled.status == OrderStatus.CANCELLED
    assert reserved(catalog) == {"A0": (30, 0), "A1": (7, 0), "A2": (50, 5), "N1": (100, 0)}
    assert set(Reservation.objects.values_list("state", flat=True)) == {ReservationState.RELEASED}
    assert list(order.history.values_list("from_status", "to_status")) == [
        ("", "new"),
        ("new", "cancelled"),
    ]
    mails = emails_to("zdorovie-admin@example.ru")
    assert [m.subject for m in mails] == [
        f"Заказ {order.number} принят",
        f"Заказ {order.number}: отменён",
    ]
    assert "Отменён партнёром." in mails[1].body
    assert "доставки" not in mails[1].body
    # Twice is refused and releases nothing again.
    with pytest.raises(RuleViolation) as caught:
        services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    assert caught.value.code == "too_late_to_cancel"
    assert reserved(catalog)["A2"] == (50, 5)


def test_status_walk_to_delivered_consumes_stock(pharmacy, catalog, manager):
    fill(pharmacy, {"P001": 10, "P002": 3})
    order = place(pharmacy)
    for status in ("confirmed", "assembled"):
        services.change_status(order=order, to=status, by=manager)
    with pytest.raises(RuleViolation) as caught:
        services.cancel_order(partner=pharmacy.admin, order_id=order.pk)
    assert caught.value.message == (
        "Заказ в статусе «собран» отменить нельзя: отмена возможна только до сборки."
    )
    assert reserved(catalog) == {"A0": (30, 0), "A1": (7, 7), "A2": (50, 8), "N1": (100, 3)}
    services.change_status(order=order, to="shipped", by=manager, comment="Машина №3")
    assert reserved(catalog) == {"A0": (30, 0), "A1": (0, 0), "A2": (47, 5), "N1": (97, 0)}
    services.change_status(order=order, to="delivered", by=manager)
    assert reserved(catalog) == {"A0": (30, 0), "A1": (0, 0), "A2": (47, 5), "N1": (97, 0)}
    assert set(Reservation.objects.values_list("state", flat=True)) == {ReservationState.SHIPPED}
    order.refresh_from_db()
    assert order.status == "delivered"
    assert list(order.history.values_list("from_status", "to_status", "comment")) == [
        ("", "new", ""),
        ("new", "confirmed", ""),
        ("confirmed", "assembled", ""),
        ("assembled", "shipped", "Машина №3"),
        ("shipped", "delivered", ""),
    ]
    assert [m.subject for m in emails_to("zdorovie-admin@example.ru")] == [
        f"Заказ {order.number} принят",
        f"Заказ {order.number}: подтверждён",
        f"Заказ {order.number}: собран",
        f"Заказ {order.number}: отгружен",
        f"Заказ {order.number}: доставлен",
    ]
    from kabinet.core.errors import Conflict

    with pytest.raises(Conflict):
        services.change_status(order=order, to="shipped", by=manager)


def test_approval_flow(pharmacy, catalog):
    pharmacy.organisation.approval_threshold_kopecks = 200_000
    pharmacy.organisation.save()
    buyer = pharmacy.colleague
    buyer.authorities = ["catalog", "order"]
    buyer.save()
    buyer.refresh_from_db()

    # Under the threshold: no approval needed.
    fill(pharmacy, {"P001": 8}, partner=buyer)
    small = place(pharmacy, partner=buyer)
    assert small.status == OrderStatus.NEW

    fill(pharmacy, {"P001": 10, "P002": 3}, partner=buyer)
    order = place(pharmacy, partner=buyer)
    assert order.status == OrderStatus.AWAITING_APPROVAL
    assert catalog.offer("A2").reserved == 5 + 1 + 10
    [_, mail] = emails_to("zdorovie-staff@example.ru")
    assert mail.subject == f"Заказ {order.number} ждёт согласования"

    with pytest.raises(PermissionDenied):
        services.approve_order(partner=buyer, order_id=order.pk)
    approved = services.approve_order(partner=pharmacy.admin, order_id=order.pk)
    assert approved.status == OrderStatus.NEW
    assert list(order.history.values_list("from_status", "to_status", "by")) == [
        ("", "awaiting_approval", buyer.user.pk),
        ("awaiting_approval", "new", pharmacy.admin.user.pk),
    ]
    from kabinet.core.errors import Conflict

    with pytest.raises(Conflict):
        services.approve_order(partner=pharmacy.admin, order_id=order.pk)

    # The administrator's own large order needs nobody's approval.
    fill(pharmacy, {"P001": 10, "P002": 3})
    assert place(pharmacy).status == OrderStatus.NEW


def test_another_organisations_order_is_not_found(pharmacy, other_pharmacy, catalog):
    fill(pharmacy, {"P001": 10})
    order = place(pharmacy)
    for call in (services.cancel_order, services.approve_order, services.reorder):
        with pytest.raises(NotFound):
            call(partner=other_pharmacy.admin, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert not CartLine.objects.exists()


def test_reorder_puts_the_products_back(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P002": 3})
    order = place(pharmacy)
    fill(pharmacy, {"P002": 1})
    result = services.reorder(partner=pharmacy.admin, order_id=order.pk)
    assert [p.code for p in result.added] == ["P001", "P002"]
    assert result.skipped == {}
    assert dict(
        CartLine.objects.filter(cart__address=pharmacy.address).values_list(
            "product__code", "quantity"
        )
    ) == {"P001": 10, "P002": 4}

    # A product withdrawn since is left out, with the reason.
    CartLine.objects.all().delete()
    catalog.products["noshpa"].is_active = False
    catalog.products["noshpa"].save()
    result = services.reorder(partner=pharmacy.admin, order_id=order.pk)
    assert result.skipped == {"P001": "Товар снят с продажи."}
    assert dict(CartLine.objects.values_list("product__code", "quantity")) == {"P002": 3}
