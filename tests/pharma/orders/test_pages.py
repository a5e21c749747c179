"""The cart and order pages (SPEC P-ORD-1, P-ORD-2, P-ORD-4): what a pharmacy sees and does.

The pages run at the real clock, so delivery dates are compared with what the selectors say
for the moment of the request rather than with a fixed day.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from kabinet.pharma.catalog.selectors import day_text
from kabinet.pharma.models import Authority, DeliveryAddress, Organisation
from kabinet.pharma.orders import services
from kabinet.pharma.orders.models import CartLine, Order, OrderStatus
from tests.pharma.conftest import _partner, client_for

pytestmark = pytest.mark.django_db

CATALOG = "/pharma/cabinet/catalog/?q=%D0%BD%D0%BE"


def lines_of(pharmacy) -> dict[str, int]:
    return dict(
        CartLine.objects.filter(cart__address=pharmacy.address).values_list(
            "product__code", "quantity"
        )
    )


def texts(response) -> list[str]:
    """The messages this response left for the next page (then forgotten, as if shown)."""
    found = [str(m) for m in get_messages(response.wsgi_request)]
    response.client.cookies.pop("messages", None)
    return found


def add(client: Client, pharmacy, code: str, quantity: object, **extra):
    return client.post(
        reverse("pharma:cart-add"),
        {"product": code, "quantity": quantity, "address": pharmacy.address.pk, **extra},
    )


def fill(pharmacy, items: dict[str, int]) -> None:
    for code, quantity in items.items():
        services.add_to_cart(
            partner=pharmacy.admin,
            address_id=pharmacy.address.pk,
            product_code=code,
            quantity=quantity,
        )


def place_form(client: Client) -> dict[str, object]:
    form = client.get(reverse("pharma:cart")).context["form"]
    return {
        "address": form.initial["address"],
        "idempotency_key": form.initial["idempotency_key"],
        "payment_method": "invoice",
    }


def test_pages_need_sign_in_and_the_order_authority(pharmacy, catalog):
    anonymous = Client()
    for name in ("cart", "orders"):
        response = anonymous.get(reverse(f"pharma:{name}"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("pharma:login"))
    response = anonymous.post(reverse("pharma:cart-add"), {"product": "P001", "quantity": 1})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("pharma:login"))

    looker = client_for(pharmacy.colleague)  # catalog only
    assert looker.get(reverse("pharma:cart")).status_code == 403
    assert looker.get(reverse("pharma:orders")).status_code == 403
    assert add(looker, pharmacy, "P001", 1).status_code == 403
    assert not CartLine.objects.exists()
    # No «В корзину» for someone who may not order.
    html = looker.get(reverse("pharma:catalog")).content.decode()
    assert "data-cart-add" not in html
    assert reverse("pharma:cart") not in html


def test_add_from_the_catalog_goes_back_and_the_line_exists(pharmacy, catalog):
    client = client_for(pharmacy.admin)
    page = client.get(reverse("pharma:catalog"))
    assert page.content.decode().count("data-cart-add") == len(page.context["rows"]) == 7
    response = add(client, pharmacy, "P001", 10, next=CATALOG)
    assert response.status_code == 302
    assert response["Location"] == CATALOG
    assert lines_of(pharmacy) == {"P001": 10}
    assert texts(response) == ["«Но-шпа» в корзине: 10 уп."]
    # Adding again adds on top; the catalog header counts the lines.
    add(client, pharmacy, "P001", 5, next=CATALOG)
    assert lines_of(pharmacy) == {"P001": 15}
    page = client.get(reverse("pharma:catalog"))
    assert page.context["cart_count"] == 1
    assert "Корзина (1)" in page.content.decode()


def test_an_outside_next_is_ignored(pharmacy, catalog):
    response = add(client_for(pharmacy.admin), pharmacy, "P001", 1, next="https://evil.example/")
    assert response["Location"] == f"{reverse('pharma:cart')}?address={pharmacy.address.pk}"


def test_a_bad_quantity_says_why_and_changes_nothing(pharmacy, catalog):
    client = client_for(pharmacy.admin)
    response = add(client, pharmacy, "P020", 7, next=CATALOG)  # Бинт: by tens
    assert response["Location"] == CATALOG
    assert texts(response) == ["«Бинт» не добавлен: Количество должно быть кратно 10 уп."]
    response = add(client, pharmacy, "P001", "много", next=CATALOG)
    assert texts(response) == ["Количество должно быть целым числом упаковок больше нуля."]
    response = add(client, pharmacy, "P001", 0, next=CATALOG)
    assert texts(response) == [
        "«Но-шпа» не добавлен: Количество должно быть целым числом упаковок больше нуля."
    ]
    assert not CartLine.objects.exists()


def test_another_organisations_address_is_not_found(pharmacy, other_pharmacy, catalog):
    response = add(client_for(other_pharmacy.admin), pharmacy, "P001", 1)
    assert response.status_code == 404
    assert not CartLine.objects.exists()


def test_the_cart_shows_lines_totals_minimum_and_delivery(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P002": 3})
    page = client_for(pharmacy.admin).get(reverse("pharma:cart"))
    assert page.status_code == 200
    cart = page.context["cart"]
    assert [(line.product.code, line.quantity) for line in cart.lines] == [
        ("P001", 10),
        ("P002", 3),
    ]
    totals = cart.totals
    assert (
        totals.goods_kopecks,
        totals.discount_kopecks,
        totals.total_kopecks,
        totals.vat_kopecks,
    ) == (310_000, 6_000, 304_000, 31_727)
    assert cart.min_order_reached
    assert cart.can_place
    html = page.content.decode()
    assert "<strong data-total>3\u202f040,00\u00a0₽</strong>" in html
    assert "<dd data-discount>−60,00\u00a0₽</dd>" in html
    assert "<dd data-vat>317,27\u00a0₽</dd>" in html
    assert '1\u202f000,00\u00a0₽ <span class="badge badge-ok">набрана</span>' in html
    assert f"<strong>{day_text(cart.delivery.date)}</strong>" in html
    assert "Оформить заказ" in html
    assert "disabled" not in html


def test_line_problems_show_and_block_placing(pharmacy, catalog):
    fill(pharmacy, {"P010": 1})  # prescription-only, no licence; and below the minimum
    page = client_for(pharmacy.admin).get(reverse("pharma:cart"))
    cart = page.context["cart"]
    assert not cart.can_place
    html = page.content.decode()
    for problem in cart.lines[0].all_problems:
        assert f'<span class="badge badge-err" data-problem>{problem}</span>' in html
    assert "Минимальная сумма заказа для филиала «Москва» — 1\u202f000,00\u00a0₽." in html
    assert "не набрана" in html
    assert "disabled" in html


def test_update_and_remove_a_line(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P020": 10})
    client = client_for(pharmacy.admin)
    url = reverse("pharma:cart-update")
    address = pharmacy.address.pk
    response = client.post(url, {"address": address, "product": "P001", "quantity": 4})
    assert response["Location"] == f"{reverse('pharma:cart')}?address={address}"
    assert texts(response) == ["«Но-шпа»: 4 уп."]
    assert lines_of(pharmacy) == {"P001": 4, "P020": 10}
    response = client.post(url, {"address": address, "product": "P020", "quantity": 15})
    assert texts(response) == ["«Бинт»: Количество должно быть кратно 10 уп."]
    assert lines_of(pharmacy) == {"P001": 4, "P020": 10}
    response = client.post(
        url, {"address": address, "product": "P020", "quantity": 4, "remove": "1"}
    )
    assert texts(response) == ["«Бинт» удалён из корзины."]
    assert lines_of(pharmacy) == {"P001": 4}
    client.post(url, {"address": address, "product": "P001", "quantity": 0})
    assert lines_of(pharmacy) == {}


def test_placing_twice_with_one_form_makes_one_order(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P002": 3})
    client = client_for(pharmacy.admin)
    cart = client.get(reverse("pharma:cart")).context["cart"]
    data = place_form(client)
    first = client.post(reverse("pharma:cart-place"), data)
    order = Order.objects.get()
    assert first["Location"] == reverse("pharma:order", args=[order.pk])
    assert texts(first) == [f"Заказ {order.number} оформлен."]
    assert (order.status, order.payment_method, order.total_kopecks) == ("new", "invoice", 304_000)
    assert order.delivery_date == cart.delivery.date
    assert not CartLine.objects.exists()

    again = client.post(reverse("pharma:cart-place"), data)
    assert again["Location"] == reverse("pharma:order", args=[order.pk])
    assert texts(again) == [f"Заказ {order.number} уже оформлен."]
    assert Order.objects.count() == 1

    page = client.get(reverse("pharma:order", args=[order.pk]))
    html = page.content.decode()
    assert f"Заказ {order.number}" in html
    assert '<span class="badge" data-status="new">новый</span>' in html
    assert f"<dd data-order-delivery>{day_text(order.delivery_date)}</dd>" in html
    assert "<strong data-total>3\u202f040,00\u00a0₽</strong>" in html
    assert [c.to_status for c in page.context["history"]] == ["new"]
    assert "Отменить заказ" in html
    assert "Согласовать" not in html

    listing = client.get(reverse("pharma:orders")).content.decode()
    assert f'<tr data-order="{order.number}">' in listing
    assert "3\u202f040,00\u00a0₽" in listing


def test_refusals_name_the_products_and_change_nothing(pharmacy, catalog):
    fill(pharmacy, {"P001": 60, "P011": 1})  # 52 free; a narcotic without a licence
    client = client_for(pharmacy.admin)
    response = client.post(reverse("pharma:cart-place"), place_form(client))
    assert response["Location"] == f"{reverse('pharma:cart')}?address={pharmacy.address.pk}"
    messages = texts(response)
    assert messages[0] == "Нет нужной лицензии — заказ не оформлен."
    assert messages[1].startswith("«Наркотический»: ")
    assert len(messages) == 2
    assert not Order.objects.exists()
    assert lines_of(pharmacy) == {"P001": 60, "P011": 1}

    services.remove_from_cart(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P011"
    )
    response = client.post(reverse("pharma:cart-place"), place_form(client))
    assert texts(response) == [
        "Недостаточно товара на складе — заказ не оформлен.",
        "«Но-шпа»: не хватает 8 уп.",
    ]
    assert not Order.objects.exists()

    # A payment method the page does not offer is refused by the form.
    data = {**place_form(client), "payment_method": "cash"}
    response = client.post(reverse("pharma:cart-place"), data)
    assert len(texts(response)) == 1
    assert not Order.objects.exists()


def test_another_organisations_order_is_not_found(pharmacy, other_pharmacy, catalog, moscow):
    fill(pharmacy, {"P001": 10})
    order = services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="invoice"
    )
    stranger = client_for(other_pharmacy.admin)
    assert stranger.get(reverse("pharma:order", args=[order.pk])).status_code == 404
    for action in ("order-cancel", "order-approve", "order-reorder"):
        assert stranger.post(reverse(f"pharma:{action}", args=[order.pk])).status_code == 404
    assert order.number not in stranger.get(reverse("pharma:orders")).content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert not CartLine.objects.exists()


def test_cancel_then_too_late_to_cancel_again(pharmacy, catalog):
    fill(pharmacy, {"P001": 10})
    # Deferral needs a credit limit (payments.credit).
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=10**7)
    order = services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="deferred"
    )
    client = client_for(pharmacy.admin)
    url = reverse("pharma:order-cancel", args=[order.pk])
    response = client.post(url)
    assert response["Location"] == reverse("pharma:order", args=[order.pk])
    assert texts(response) == [f"Заказ {order.number} отменён."]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert catalog.offer("A1").reserved == 0

    page = client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "Отменить заказ" not in page
    assert "отсрочка платежа" in page
    response = client.post(url)
    assert texts(response) == [
        "Заказ в статусе «отменён» отменить нельзя: отмена возможна только до сборки."
    ]
    assert client.get(url).status_code == 405


def test_approval_flow_on_the_pages(pharmacy, catalog):
    pharmacy.organisation.approval_threshold_kopecks = 200_000
    pharmacy.organisation.save()
    buyer = _partner(pharmacy.organisation, "zdorovie-buyer", [Authority.CATALOG, Authority.ORDER])
    buyer_client = client_for(buyer)
    add(buyer_client, pharmacy, "P001", 10)
    response = buyer_client.post(reverse("pharma:cart-place"), place_form(buyer_client))
    order = Order.objects.get()
    assert order.status == OrderStatus.AWAITING_APPROVAL
    assert texts(response) == [
        f"Заказ {order.number} оформлен и ждёт согласования администратором вашей организации."
    ]
    page = buyer_client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "ждёт согласования" in page
    assert "Согласовать" not in page
    approve = reverse("pharma:order-approve", args=[order.pk])
    assert buyer_client.post(approve).status_code == 403

    admin = client_for(pharmacy.admin)
    assert "Согласовать" in admin.get(reverse("pharma:order", args=[order.pk])).content.decode()
    response = admin.post(approve)
    assert texts(response) == [f"Заказ {order.number} согласован."]
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    response = admin.post(approve)
    assert texts(response) == ["Заказ не ждёт согласования."]


def test_reorder_fills_the_cart_of_the_orders_address(pharmacy, catalog, moscow):
    second = DeliveryAddress.objects.create(
        organisation=pharmacy.organisation, name="Аптека №2", city=moscow, address="ул. Арбат, 2"
    )
    fill(pharmacy, {"P001": 10, "P002": 3})
    order = services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="invoice"
    )
    client = client_for(pharmacy.admin)
    client.get(reverse("pharma:cart"), {"address": second.pk})  # the session now points elsewhere
    response = client.post(reverse("pharma:order-reorder", args=[order.pk]))
    assert response["Location"] == f"{reverse('pharma:cart')}?address={pharmacy.address.pk}"
    assert texts(response) == ["В корзину добавлено товаров: 2."]
    assert lines_of(pharmacy) == {"P001": 10, "P002": 3}
    page = client.get(response["Location"])
    assert page.context["address"] == pharmacy.address
    assert len(page.context["cart"].lines) == 2
