"""The orders back office (SPEC P-BO-2): lists, search, status changes through the service."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from kabinet.pharma.catalog.models import Offer
from kabinet.pharma.orders import services
from kabinet.pharma.orders.models import Order, OrderStatus, OrderStatusChange

from ..conftest import emails_to
from .conftest import NOW

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:pharma_order_changelist"


def place(pharmacy, items: dict[str, int]) -> Order:
    for code, quantity in items.items():
        services.add_to_cart(
            partner=pharmacy.admin,
            address_id=pharmacy.address.pk,
            product_code=code,
            quantity=quantity,
        )
    return services.place_order(
        partner=pharmacy.admin,
        address_id=pharmacy.address.pk,
        payment_method="invoice",
        now=NOW,
    )


@pytest.fixture
def order(pharmacy, catalog) -> Order:
    return place(pharmacy, {"P001": 10, "P002": 3})


@pytest.fixture
def staff(client, manager):
    client.force_login(manager)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_changelist_renders_with_formatted_total(staff, order):
    response = staff.get(reverse(CHANGELIST))
    assert response.status_code == 200
    html = response.content.decode()
    assert order.number in html
    assert "ООО «Здоровье»" in html
    assert "3\u202f040,00\u00a0₽" in html
    assert "по счёту" in html
    assert staff.get(reverse("admin:pharma_reservation_changelist")).status_code == 200
    page = staff.get(reverse("admin:pharma_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert "Осенняя акция Нурофен" in page.content.decode()


def test_search_by_number_name_and_inn(staff, order, other_pharmacy):
    url = reverse(CHANGELIST)
    for query in (order.number, "Здоровье", "7707083893"):
        assert list(staff.get(url, {"q": query}).context["cl"].result_list) == [order]
    assert list(staff.get(url, {"q": "Вита"}).context["cl"].result_list) == []
    filtered = staff.get(url, {"status__exact": "new", "payment_method__exact": "invoice"})
    assert list(filtered.context["cl"].result_list) == [order]


def test_legal_status_change_through_the_action(staff, order, manager):
    response = staff.post(
        reverse(CHANGELIST), {"action": "confirm", "_selected_action": [order.pk]}
    )
    assert response.status_code == 302
    assert messages_of(response) == ["Заказов переведено в статус «подтверждён»: 1."]
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert list(order.history.values_list("from_status", "to_status", "by")) == [
        ("", "new", order.placed_by_id),
        ("new", "confirmed", manager.pk),
    ]
    assert [m.subject for m in emails_to("zdorovie-admin@example.ru")] == [
        f"Заказ {order.number} принят",
        f"Заказ {order.number}: подтверждён",
    ]


def test_illegal_status_change_is_an_error_and_changes_nothing(staff, order, catalog):
    offers = list(Offer.objects.order_by("pk").values_list("quantity", "reserved"))
    response = staff.post(reverse(CHANGELIST), {"action": "ship", "_selected_action": [order.pk]})
    assert response.status_code == 302
    assert messages_of(response) == [
        f"{order.number}: Заказ в статусе «новый» нельзя перевести в статус «отгружен»."
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert OrderStatusChange.objects.filter(order=order).count() == 1
    assert list(Offer.objects.order_by("pk").values_list("quantity", "reserved")) == offers
    assert len(emails_to("zdorovie-admin@example.ru")) == 1


def change_form(order: Order, **fields) -> dict:
    return {
        "lines-TOTAL_FORMS": str(order.lines.count()),
        "lines-INITIAL_FORMS": str(order.lines.count()),
        "history-TOTAL_FORMS": str(order.history.count()),
        "history-INITIAL_FORMS": str(order.history.count()),
        **fields,
    }


def test_change_form_moves_status_and_keeps_totals_read_only(staff, order, manager):
    url = reverse("admin:pharma_order_change", args=[order.pk])
    choices = [
        value
        for value, _label in staff.get(url).context["adminform"].form.fields["new_status"].choices
    ]
    assert choices == ["", "confirmed", "cancelled"]
    response = staff.post(
        url,
        change_form(
            order,
            new_status="cancelled",
            comment="Клиент передумал",
            total_kopecks="1",
            goods_kopecks="1",
            status="delivered",
            **{"lines-0-id": str(order.lines.order_by("id")[0].pk), "lines-0-quantity": "999"},
        ),
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.goods_kopecks, order.total_kopecks) == (
        "cancelled",
        310_000,
        304_000,
    )
    assert list(order.history.values_list("to_status", "by", "comment"))[-1] == (
        "cancelled",
        manager.pk,
        "Клиент передумал",
    )
    assert list(order.lines.order_by("id").values_list("quantity", "price_kopecks")) == [
        (10, 25_000),
        (3, 18_000),
    ]
    # Cancelling released the reservations.
    assert sum(Offer.objects.values_list("reserved", flat=True)) == 5


def test_change_form_refuses_an_illegal_status(staff, order):
    url = reverse("admin:pharma_order_change", args=[order.pk])
    response = staff.post(url, change_form(order, new_status="delivered"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["new_status"]
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert order.history.count() == 1


def test_orders_cannot_be_added_or_deleted(staff, order):
    assert staff.get(reverse("admin:pharma_order_add")).status_code == 403
    assert staff.get(reverse("admin:pharma_order_delete", args=[order.pk])).status_code == 403
