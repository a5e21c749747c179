"""The saved order list pages (P-NEXT-3) over the Django test client: who may see them, the
index, saving a cart or an order, editing a list, «В корзину», the product card's form."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kabinet.pharma.catalog.models import Barcode
from kabinet.pharma.orders import saved_lists, services
from kabinet.pharma.orders.list_views import SUGGESTIONS_SESSION_KEY
from kabinet.pharma.orders.models import CartLine, SavedList, SavedListLine
from tests.pharma.conftest import client_for

from .conftest import NOW
from .test_pages import fill, lines_of, texts

pytestmark = pytest.mark.django_db


def listed(saved: SavedList) -> dict[str, int]:
    return dict(
        SavedListLine.objects.filter(saved_list=saved).values_list("product__code", "quantity")
    )


def new_list(pharmacy, name: str = "Еженедельный заказ", items: dict[str, int] | None = None):
    saved = saved_lists.create_list(partner=pharmacy.admin, name=name)
    for code, quantity in (items or {}).items():
        saved_lists.add_to_list(
            partner=pharmacy.admin, list_id=saved.pk, product_code=code, quantity=quantity
        )
    return saved


def every_post(saved: SavedList, pharmacy) -> list[tuple[str, dict]]:
    pk = saved.pk
    return [
        (reverse("pharma:saved-list-rename", args=[pk]), {"name": "Чужое"}),
        (reverse("pharma:saved-list-delete", args=[pk]), {}),
        (reverse("pharma:saved-list-line-add", args=[pk]), {"key": "P002", "quantity": 1}),
        (
            reverse("pharma:saved-list-line-update", args=[pk]),
            {"product": "P001", "quantity": 0},
        ),
        (reverse("pharma:saved-list-line-update", args=[pk]), {"product": "P001"}),
        (reverse("pharma:saved-list-to-cart", args=[pk]), {"address": pharmacy.address.pk}),
        (reverse("pharma:saved-list-to-cart", args=[pk]), {}),
        (
            reverse("pharma:saved-list-add-product"),
            {"saved_list": pk, "product": "P002", "quantity": 1},
        ),
    ]


def state() -> tuple:
    return (
        list(SavedList.objects.order_by("pk").values_list("pk", "name")),
        list(SavedListLine.objects.order_by("pk").values_list("pk", "quantity")),
        list(CartLine.objects.order_by("pk").values_list("pk", "quantity")),
    )


def test_pages_need_sign_in_and_the_order_authority(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 2})
    before = state()
    anonymous = Client()
    for url in (reverse("pharma:saved-lists"), reverse("pharma:saved-list", args=[saved.pk])):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("pharma:login"))

    looker = client_for(pharmacy.colleague)  # catalog only
    assert looker.get(reverse("pharma:saved-lists")).status_code == 403
    assert looker.get(reverse("pharma:saved-list", args=[saved.pk])).status_code == 403
    assert looker.post(reverse("pharma:saved-list-new"), {"name": "Моё"}).status_code == 403
    for url, data in every_post(saved, pharmacy):
        assert looker.post(url, data).status_code == 403, url
    # No «Добавить в список» on the card of someone who may not order.
    card = looker.get(reverse("pharma:product", args=["P001"])).content.decode()
    assert "data-list-add" not in card
    assert reverse("pharma:saved-lists") not in card
    assert state() == before


def test_another_organisations_list_is_a_404(pharmacy, other_pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 2})
    fill(pharmacy, {"P002": 1})
    before = state()
    stranger = client_for(other_pharmacy.admin)
    assert stranger.get(reverse("pharma:saved-list", args=[saved.pk])).status_code == 404
    for url, data in every_post(saved, pharmacy):
        assert stranger.post(url, data).status_code == 404, url
    response = stranger.post(
        reverse("pharma:saved-list-from-cart"), {"address": pharmacy.address.pk, "name": "Их"}
    )
    assert response.status_code == 404
    assert list(stranger.get(reverse("pharma:saved-lists")).context["lists"]) == []
    assert state() == before


def test_forms_need_the_csrf_token(pharmacy, catalog):
    saved = new_list(pharmacy)
    client = Client(enforce_csrf_checks=True)
    client.force_login(pharmacy.admin.user)
    assert client.post(reverse("pharma:saved-list-new"), {"name": "Без токена"}).status_code == 403
    response = client.post(
        reverse("pharma:saved-list-line-add", args=[saved.pk]), {"key": "P001", "quantity": 1}
    )
    assert response.status_code == 403
    assert list(SavedList.objects.values_list("name", flat=True)) == ["Еженедельный заказ"]
    assert not SavedListLine.objects.exists()
    # The pages carry the token in every form.
    html = client.get(reverse("pharma:saved-list", args=[saved.pk])).content.decode()
    assert html.count("<form") == html.count('name="csrfmiddlewaretoken"') + 1  # address: GET


def test_index_and_a_new_list(pharmacy, catalog):
    new_list(pharmacy, "Сезон ОРВИ", items={"P001": 2, "P002": 1})
    client = client_for(pharmacy.admin)
    page = client.get(reverse("pharma:saved-lists"))
    assert [(s.name, s.line_count) for s in page.context["lists"]] == [("Сезон ОРВИ", 2)]
    html = page.content.decode()
    assert "Списки заказов" in html
    assert '<td class="num" data-line-count>2</td>' in html

    response = client.post(reverse("pharma:saved-list-new"), {"name": " Еженедельный  заказ "})
    saved = SavedList.objects.get(name="Еженедельный заказ")
    assert response["Location"] == reverse("pharma:saved-list", args=[saved.pk])
    assert texts(response) == ["Список «Еженедельный заказ» создан."]

    response = client.post(reverse("pharma:saved-list-new"), {"name": "сезон орви"})
    assert response["Location"] == reverse("pharma:saved-lists")
    assert texts(response) == ["Список «Сезон ОРВИ» уже есть. Выберите другое название."]
    response = client.post(reverse("pharma:saved-list-new"), {"name": "  "})
    assert texts(response) == ["Укажите название списка."]
    assert SavedList.objects.count() == 2


def test_the_nav_links_to_the_lists(pharmacy, catalog):
    client = client_for(pharmacy.admin)
    link = f'href="{reverse("pharma:saved-lists")}"'
    for name in ("cabinet", "cart", "orders"):
        assert link in client.get(reverse(f"pharma:{name}")).content.decode(), name


def test_save_the_cart_as_a_list(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P002": 3})
    client = client_for(pharmacy.admin)
    assert "data-save-cart-as-list" in client.get(reverse("pharma:cart")).content.decode()
    response = client.post(
        reverse("pharma:saved-list-from-cart"),
        {"address": pharmacy.address.pk, "name": "Сезон ОРВИ"},
    )
    saved = SavedList.objects.get()
    assert response["Location"] == (
        f"{reverse('pharma:saved-list', args=[saved.pk])}?address={pharmacy.address.pk}"
    )
    assert texts(response) == ["Корзина сохранена как список «Сезон ОРВИ»."]
    assert listed(saved) == {"P001": 10, "P002": 3}
    assert lines_of(pharmacy) == {"P001": 10, "P002": 3}

    response = client.post(
        reverse("pharma:saved-list-from-cart"),
        {"address": pharmacy.address.pk, "name": "Сезон ОРВИ"},
    )
    assert response["Location"] == f"{reverse('pharma:cart')}?address={pharmacy.address.pk}"
    assert texts(response) == ["Список «Сезон ОРВИ» уже есть. Выберите другое название."]
    assert SavedList.objects.count() == 1


def test_save_an_order_as_a_list(pharmacy, catalog):
    fill(pharmacy, {"P001": 10, "P002": 3})
    order = services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="invoice", now=NOW
    )
    client = client_for(pharmacy.admin)
    html = client.get(reverse("pharma:order", args=[order.pk])).content.decode()
    assert "data-save-order-as-list" in html
    assert f'value="Как заказ {order.number}"' in html
    response = client.post(
        reverse("pharma:order-save-list", args=[order.pk]), {"name": f"Как заказ {order.number}"}
    )
    saved = SavedList.objects.get()
    assert response["Location"] == reverse("pharma:saved-list", args=[saved.pk])
    assert texts(response) == [f"Заказ сохранён как список «Как заказ {order.number}»."]
    assert listed(saved) == {"P001": 10, "P002": 3}


def test_the_list_page_prices_the_lines_and_flags_problems(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P002": 3, "P010": 1})
    page = client_for(pharmacy.admin).get(reverse("pharma:saved-list", args=[saved.pk]))
    assert page.status_code == 200
    view = page.context["view"]
    assert [(line.product.code, line.quantity) for line in view.lines] == [
        ("P002", 3),
        ("P010", 1),
    ]
    html = page.content.decode()
    assert "<h2 data-list-name>Еженедельный заказ</h2>" in html
    assert 'data-price="18000"' in html  # Нурофен with its promotion
    assert (
        '<span class="badge badge-err" data-problem>Нужна действующая лицензия на '
        "фармацевтическую деятельность: товар отпускается по рецепту.</span>"
    ) in html
    assert "data-list-to-cart" in html
    assert f'<input type="hidden" name="address" value="{pharmacy.address.pk}">' in html


def test_add_by_code_barcode_or_name(pharmacy, catalog):
    Barcode.objects.create(product=catalog.products["nurofen"], ean13="4600000000015")
    saved = new_list(pharmacy)
    client = client_for(pharmacy.admin)
    url = reverse("pharma:saved-list-line-add", args=[saved.pk])
    back = reverse("pharma:saved-list", args=[saved.pk])

    response = client.post(url, {"key": "p001", "quantity": 4})
    assert response["Location"] == back
    assert texts(response) == ["«Но-шпа» в списке «Еженедельный заказ»: 4 уп."]
    response = client.post(url, {"key": " 4600000000015 ", "quantity": 2})
    assert texts(response) == ["«Нурофен» в списке «Еженедельный заказ»: 2 уп."]
    assert listed(saved) == {"P001": 4, "P002": 2}

    response = client.post(url, {"key": "P020", "quantity": 5})
    assert texts(response) == ["«Бинт» не добавлен: Количество должно быть кратно 10 уп."]
    response = client.post(url, {"key": "P001", "quantity": "много"})
    assert texts(response) == ["Количество должно быть целым числом упаковок больше нуля."]
    response = client.post(url, {"key": "", "quantity": 1})
    assert texts(response) == ["Укажите штрихкод, код или название товара."]
    assert listed(saved) == {"P001": 4, "P002": 2}

    # A name is not a code: the page offers what it may have meant.
    response = client.post(url, {"key": "нурофен", "quantity": 3})
    assert texts(response) == ["Товар «нурофен» не найден."]
    assert client.session[SUGGESTIONS_SESSION_KEY]["items"] == [{"code": "P002", "name": "Нурофен"}]
    page = client.get(back)
    html = page.content.decode()
    assert 'data-suggestion="P002"' in html
    assert "Добавить 3 уп." in html
    assert SUGGESTIONS_SESSION_KEY not in client.session  # shown once
    response = client.post(url, {"key": "P002", "quantity": 3})
    assert listed(saved) == {"P001": 4, "P002": 5}


def test_update_and_remove_lines(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 10, "P020": 10})
    client = client_for(pharmacy.admin)
    url = reverse("pharma:saved-list-line-update", args=[saved.pk])
    response = client.post(url, {"product": "P001", "quantity": 4})
    assert response["Location"] == reverse("pharma:saved-list", args=[saved.pk])
    assert texts(response) == ["«Но-шпа»: 4 уп."]
    response = client.post(url, {"product": "P020", "quantity": 15})
    assert texts(response) == ["«Бинт»: Количество должно быть кратно 10 уп."]
    response = client.post(url, {"product": "P020", "quantity": -1})
    assert texts(response) == ["«Бинт»: Количество должно быть целым числом упаковок больше нуля."]
    response = client.post(url, {"product": "P020"})
    assert texts(response) == ["Укажите количество упаковок."]
    assert listed(saved) == {"P001": 4, "P020": 10}
    response = client.post(url, {"product": "P020", "quantity": 10, "remove": "1"})
    assert texts(response) == ["«Бинт» удалён из списка."]
    assert listed(saved) == {"P001": 4}


def test_rename_and_delete(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 2})
    new_list(pharmacy, "Сезон ОРВИ")
    client = client_for(pharmacy.admin)
    url = reverse("pharma:saved-list-rename", args=[saved.pk])
    response = client.post(url, {"name": "СЕЗОН орви"})
    assert texts(response) == ["Список «Сезон ОРВИ» уже есть. Выберите другое название."]
    response = client.post(url, {"name": "Еженедельный (понедельник)"})
    assert response["Location"] == reverse("pharma:saved-list", args=[saved.pk])
    assert texts(response) == ["Список переименован: «Еженедельный (понедельник)»."]
    response = client.post(reverse("pharma:saved-list-delete", args=[saved.pk]))
    assert response["Location"] == reverse("pharma:saved-lists")
    assert texts(response) == ["Список «Еженедельный (понедельник)» удалён."]
    assert list(SavedList.objects.values_list("name", flat=True)) == ["Сезон ОРВИ"]
    assert client.get(reverse("pharma:saved-list", args=[saved.pk])).status_code == 404


def test_list_to_cart_opens_the_cart_with_a_report(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 60, "P002": 3, "P010": 1})
    client = client_for(pharmacy.admin)
    response = client.post(
        reverse("pharma:saved-list-to-cart", args=[saved.pk]), {"address": pharmacy.address.pk}
    )
    assert response["Location"] == f"{reverse('pharma:cart')}?address={pharmacy.address.pk}"
    assert texts(response) == [
        "В корзину добавлено товаров: 2.",
        "«Но-шпа»: Добавлен, но на складе свободно только 52 уп.: корзина покажет нехватку.",
        "«Рецептурный» не добавлен: Нужна действующая лицензия на фармацевтическую "
        "деятельность: товар отпускается по рецепту.",
    ]
    assert lines_of(pharmacy) == {"P001": 60, "P002": 3}

    only_rx = new_list(pharmacy, "Рецептурное", items={"P010": 1})
    response = client.post(
        reverse("pharma:saved-list-to-cart", args=[only_rx.pk]), {"address": pharmacy.address.pk}
    )
    assert texts(response)[0] == "Ни один товар списка не добавлен в корзину."

    empty = new_list(pharmacy, "Пустой")
    url = reverse("pharma:saved-list-to-cart", args=[empty.pk])
    response = client.post(url, {"address": pharmacy.address.pk})
    assert response["Location"] == (
        f"{reverse('pharma:saved-list', args=[empty.pk])}?address={pharmacy.address.pk}"
    )
    assert texts(response) == ["Список пуст: добавлять в корзину нечего."]
    assert lines_of(pharmacy) == {"P001": 60, "P002": 3}


def test_add_to_a_list_from_the_product_card(pharmacy, catalog):
    client = client_for(pharmacy.admin)
    card_url = reverse("pharma:product", args=["P020"])
    html = client.get(card_url).content.decode()
    assert "data-list-add" not in html
    assert "Создать список заказов" in html

    saved = new_list(pharmacy)
    html = client.get(card_url).content.decode()
    assert "data-list-add" in html
    assert f'<option value="{saved.pk}">Еженедельный заказ</option>' in html
    url = reverse("pharma:saved-list-add-product")
    data = {"saved_list": saved.pk, "product": "P020", "next": card_url}
    response = client.post(url, {**data, "quantity": 20})
    assert response["Location"] == card_url
    assert texts(response) == ["«Бинт» в списке «Еженедельный заказ»: 20 уп."]
    response = client.post(url, {**data, "quantity": 3})
    assert texts(response) == ["«Бинт» не добавлен: Количество должно быть кратно 10 уп."]
    response = client.post(url, {**data, "quantity": 10, "next": "https://evil.example/"})
    assert response["Location"] == reverse("pharma:saved-list", args=[saved.pk])
    assert texts(response) == ["«Бинт» в списке «Еженедельный заказ»: 30 уп."]
    response = client.post(url, {"product": "P020", "quantity": 10, "next": card_url})
    assert texts(response) == ["Выберите список."]
    assert listed(saved) == {"P020": 30}
