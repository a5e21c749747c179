"""Saved order lists (P-NEXT-3): names, quantity rules, whose list, saving a cart or an order,
and «В корзину» with some lines unavailable. Refused actions change nothing."""

from __future__ import annotations

import pytest

from kabinet.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from kabinet.pharma.catalog.models import Offer, Price
from kabinet.pharma.models import Authority, DeliveryAddress, LicenceKind, OrganisationStatus
from kabinet.pharma.orders import saved_lists, services
from kabinet.pharma.orders.models import CartLine, SavedList, SavedListLine
from kabinet.pharma.orders.saved_lists import NameTaken
from tests.pharma.conftest import _partner

from .conftest import NOW, add_offer, grant_licence, make_product

pytestmark = pytest.mark.django_db


def cart_of(pharmacy) -> dict[str, int]:
    return dict(
        CartLine.objects.filter(cart__address=pharmacy.address).values_list(
            "product__code", "quantity"
        )
    )


def lines(saved: SavedList) -> dict[str, int]:
    return dict(
        SavedListLine.objects.filter(saved_list=saved).values_list("product__code", "quantity")
    )


def fill_cart(pharmacy, items: dict[str, int]) -> None:
    for code, quantity in items.items():
        services.add_to_cart(
            partner=pharmacy.admin,
            address_id=pharmacy.address.pk,
            product_code=code,
            quantity=quantity,
        )


def new_list(pharmacy, name: str = "Еженедельный заказ", items: dict[str, int] | None = None):
    saved = saved_lists.create_list(partner=pharmacy.admin, name=name)
    for code, quantity in (items or {}).items():
        saved_lists.add_to_list(
            partner=pharmacy.admin, list_id=saved.pk, product_code=code, quantity=quantity
        )
    return saved


def state() -> tuple:
    """Everything a refused list action must leave as it was."""
    return (
        list(SavedList.objects.order_by("pk").values_list("pk", "name", "name_key")),
        list(SavedListLine.objects.order_by("pk").values_list("pk", "product_id", "quantity")),
        list(CartLine.objects.order_by("pk").values_list("pk", "product_id", "quantity")),
    )


# --- names ----------------------------------------------------------------------------------


def test_names_are_unique_in_the_organisation_whatever_the_case(pharmacy, other_pharmacy, catalog):
    weekly = new_list(pharmacy, "  Еженедельный   заказ ")
    assert weekly.name == "Еженедельный заказ"
    assert weekly.organisation == pharmacy.organisation
    assert weekly.created_by == pharmacy.admin.user

    before = state()
    for taken in ("еженедельный ЗАКАЗ", "Еженедельный  заказ"):
        with pytest.raises(NameTaken) as refused:
            saved_lists.create_list(partner=pharmacy.admin, name=taken)
        assert refused.value.message == (
            "Список «Еженедельный заказ» уже есть. Выберите другое название."
        )
        assert refused.value.code == "list_name_taken"
    new_list(pharmacy, "Ёлочные игрушки")
    with pytest.raises(NameTaken):
        saved_lists.create_list(partner=pharmacy.admin, name="елочные игрушки")
    assert SavedList.objects.filter(organisation=pharmacy.organisation).count() == 2
    assert state()[0] == before[0] + [
        (SavedList.objects.get(name="Ёлочные игрушки").pk, "Ёлочные игрушки", "елочные игрушки")
    ]

    # Another organisation may use the same name.
    theirs = saved_lists.create_list(partner=other_pharmacy.admin, name="Еженедельный заказ")
    assert theirs.organisation == other_pharmacy.organisation


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Укажите название списка."),
        ("   \t ", "Укажите название списка."),
        (None, "Укажите название списка."),
        ("я" * 101, "Название списка — не длиннее 100 символов."),
    ],
)
def test_a_bad_name_is_refused(pharmacy, catalog, name, message):
    with pytest.raises(ValidationFailed) as refused:
        saved_lists.create_list(partner=pharmacy.admin, name=name)
    assert refused.value.message == message
    assert not SavedList.objects.exists()


def test_rename(pharmacy, catalog):
    weekly = new_list(pharmacy, "Еженедельный заказ")
    flu = new_list(pharmacy, "Сезон ОРВИ")

    # Its own name in other letters is fine.
    renamed = saved_lists.rename_list(
        partner=pharmacy.admin, list_id=weekly.pk, name="ЕЖЕНЕДЕЛЬНЫЙ заказ"
    )
    assert renamed.name == "ЕЖЕНЕДЕЛЬНЫЙ заказ"

    before = state()
    with pytest.raises(NameTaken) as refused:
        saved_lists.rename_list(partner=pharmacy.admin, list_id=weekly.pk, name="сезон орви")
    assert refused.value.message == "Список «Сезон ОРВИ» уже есть. Выберите другое название."
    with pytest.raises(ValidationFailed):
        saved_lists.rename_list(partner=pharmacy.admin, list_id=weekly.pk, name=" ")
    assert state() == before

    saved_lists.rename_list(partner=pharmacy.admin, list_id=flu.pk, name="Сезон гриппа")
    assert SavedList.objects.get(pk=flu.pk).name == "Сезон гриппа"


def test_too_many_lists_or_lines(pharmacy, catalog, monkeypatch):
    monkeypatch.setattr(saved_lists, "MAX_LISTS", 1)
    monkeypatch.setattr(saved_lists, "MAX_LINES", 2)
    saved = new_list(pharmacy, items={"P001": 1, "P002": 1})
    before = state()
    with pytest.raises(RuleViolation) as refused:
        saved_lists.create_list(partner=pharmacy.admin, name="Второй")
    assert refused.value.message == (
        "У организации не может быть больше 1 списков. Удалите ненужные."
    )
    with pytest.raises(RuleViolation) as refused:
        saved_lists.add_to_list(
            partner=pharmacy.admin, list_id=saved.pk, product_code="P020", quantity=10
        )
    assert refused.value.message == "В списке не может быть больше 2 товаров."
    # More packs of a listed product is not a new line.
    saved_lists.add_to_list(
        partner=pharmacy.admin, list_id=saved.pk, product_code="P001", quantity=1
    )
    assert state()[0] == before[0]
    assert lines(saved) == {"P001": 2, "P002": 1}


# --- lines ----------------------------------------------------------------------------------


def test_add_set_and_remove_lines(pharmacy, catalog):
    saved = new_list(pharmacy)
    created_at = saved.updated_at
    saved_lists.add_to_list(
        partner=pharmacy.admin, list_id=saved.pk, product_code="P001", quantity=4
    )
    saved_lists.add_to_list(
        partner=pharmacy.admin, list_id=saved.pk, product_code="P001", quantity=6
    )
    saved_lists.add_to_list(
        partner=pharmacy.admin, list_id=saved.pk, product_code="P020", quantity=20
    )
    assert lines(saved) == {"P001": 10, "P020": 20}
    saved.refresh_from_db()
    assert saved.updated_at > created_at

    line = saved_lists.set_list_quantity(
        partner=pharmacy.admin, list_id=saved.pk, product_code="P001", quantity=3
    )
    assert line is not None and line.quantity == 3
    assert (
        saved_lists.set_list_quantity(
            partner=pharmacy.admin, list_id=saved.pk, product_code="P020", quantity=0
        )
        is None
    )
    assert lines(saved) == {"P001": 3}
    saved_lists.remove_from_list(partner=pharmacy.admin, list_id=saved.pk, product_code="P001")
    saved_lists.remove_from_list(partner=pharmacy.admin, list_id=saved.pk, product_code="P001")
    assert lines(saved) == {}
    # Nothing of it touched a cart.
    assert not CartLine.objects.exists()


@pytest.mark.parametrize(
    ("code", "quantity", "error", "message"),
    [
        ("P001", 0, ValidationFailed, "Количество должно быть целым числом упаковок больше нуля."),
        ("P001", -3, ValidationFailed, "Количество должно быть целым числом упаковок больше нуля."),
        (
            "P001",
            True,
            ValidationFailed,
            "Количество должно быть целым числом упаковок больше нуля.",
        ),
        (
            "P001",
            2.5,
            ValidationFailed,
            "Количество должно быть целым числом упаковок больше нуля.",
        ),
        (
            "P001",
            "3",
            ValidationFailed,
            "Количество должно быть целым числом упаковок больше нуля.",
        ),
        ("P001", 10_001, ValidationFailed, "Не больше 10\u00a0000 уп. в одной строке заказа."),
        ("P020", 15, ValidationFailed, "Количество должно быть кратно 10 уп."),
        ("P040", 1, RuleViolation, "Товар снят с продажи."),
        ("NOPE", 1, NotFound, "Товар не найден."),
    ],
)
def test_quantity_rules_are_the_carts(pharmacy, catalog, code, quantity, error, message):
    saved = new_list(pharmacy, items={"P001": 2, "P020": 10})
    before = state()
    with pytest.raises(error) as refused:
        saved_lists.add_to_list(
            partner=pharmacy.admin, list_id=saved.pk, product_code=code, quantity=quantity
        )
    assert refused.value.message == message
    if code != "NOPE" and quantity not in (0, True):
        with pytest.raises(error):
            saved_lists.set_list_quantity(
                partner=pharmacy.admin, list_id=saved.pk, product_code=code, quantity=quantity
            )
    assert state() == before


def test_the_total_must_keep_to_the_rules_too(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 10_000})
    before = state()
    with pytest.raises(ValidationFailed) as refused:
        saved_lists.add_to_list(
            partner=pharmacy.admin, list_id=saved.pk, product_code="P001", quantity=1
        )
    assert refused.value.message == "Не больше 10\u00a0000 уп. в одной строке заказа."
    assert state() == before


# --- whose lists ----------------------------------------------------------------------------


def test_lists_are_the_organisations_and_shared_by_its_buyers(pharmacy, other_pharmacy, catalog):
    buyer = _partner(pharmacy.organisation, "zdorovie-buyer", [Authority.CATALOG, Authority.ORDER])
    saved = new_list(pharmacy, items={"P001": 2})
    mine = saved_lists.lists_of(buyer)
    assert [(s.name, s.line_count) for s in mine] == [("Еженедельный заказ", 1)]
    saved_lists.add_to_list(partner=buyer, list_id=saved.pk, product_code="P002", quantity=1)
    assert lines(saved) == {"P001": 2, "P002": 1}
    assert list(saved_lists.lists_of(other_pharmacy.admin)) == []


def test_another_organisations_list_is_not_found(pharmacy, other_pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 2})
    stranger = other_pharmacy.admin
    before = state()
    calls = [
        lambda: saved_lists.list_of(stranger, saved.pk),
        lambda: saved_lists.rename_list(partner=stranger, list_id=saved.pk, name="Моё"),
        lambda: saved_lists.delete_list(partner=stranger, list_id=saved.pk),
        lambda: saved_lists.add_to_list(
            partner=stranger, list_id=saved.pk, product_code="P002", quantity=1
        ),
        lambda: saved_lists.set_list_quantity(
            partner=stranger, list_id=saved.pk, product_code="P001", quantity=0
        ),
        lambda: saved_lists.remove_from_list(
            partner=stranger, list_id=saved.pk, product_code="P001"
        ),
        lambda: saved_lists.list_to_cart(
            partner=stranger, list_id=saved.pk, address_id=other_pharmacy.address.pk
        ),
        # My list into their address, their cart into my list: neither exists for the other.
        lambda: saved_lists.list_to_cart(
            partner=pharmacy.admin, list_id=saved.pk, address_id=other_pharmacy.address.pk
        ),
        lambda: saved_lists.create_list_from_cart(
            partner=stranger, address_id=pharmacy.address.pk, name="Чужая корзина"
        ),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert state() == before


def test_another_organisations_order_is_not_saved(pharmacy, other_pharmacy, catalog):
    fill_cart(pharmacy, {"P001": 10})
    order = services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="invoice", now=NOW
    )
    with pytest.raises(NotFound):
        saved_lists.create_list_from_order(
            partner=other_pharmacy.admin, order_id=order.pk, name="Чужой заказ"
        )
    assert not SavedList.objects.exists()


def test_only_the_order_authority_may_see_or_change_lists(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 2})
    looker = pharmacy.colleague  # catalog only
    before = state()
    calls = [
        lambda: saved_lists.lists_of(looker),
        lambda: saved_lists.list_of(looker, saved.pk),
        lambda: saved_lists.create_list(partner=looker, name="Моё"),
        lambda: saved_lists.rename_list(partner=looker, list_id=saved.pk, name="Моё"),
        lambda: saved_lists.delete_list(partner=looker, list_id=saved.pk),
        lambda: saved_lists.add_to_list(
            partner=looker, list_id=saved.pk, product_code="P002", quantity=1
        ),
        lambda: saved_lists.list_to_cart(
            partner=looker, list_id=saved.pk, address_id=pharmacy.address.pk
        ),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    # A blocked organisation loses the authority to order, and with it its lists.
    pharmacy.organisation.status = OrganisationStatus.BLOCKED
    pharmacy.organisation.save()
    pharmacy.admin.organisation.refresh_from_db()
    with pytest.raises(PermissionDenied):
        saved_lists.list_to_cart(
            partner=pharmacy.admin, list_id=saved.pk, address_id=pharmacy.address.pk
        )
    assert state() == before


# --- saving a cart or an order --------------------------------------------------------------


def test_save_the_cart_as_a_list(pharmacy, catalog):
    fill_cart(pharmacy, {"P002": 3, "P001": 10, "P020": 20})
    saved = saved_lists.create_list_from_cart(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, name="Сезон ОРВИ"
    )
    assert saved.name == "Сезон ОРВИ"
    assert lines(saved) == {"P002": 3, "P001": 10, "P020": 20}
    assert [line.product.code for line in saved_lists.lines_of(saved)] == ["P002", "P001", "P020"]
    # The cart stays as it was.
    assert cart_of(pharmacy) == {"P002": 3, "P001": 10, "P020": 20}

    before = state()
    with pytest.raises(NameTaken):
        saved_lists.create_list_from_cart(
            partner=pharmacy.admin, address_id=pharmacy.address.pk, name="сезон орви"
        )
    assert state() == before


def test_an_empty_cart_is_not_saved(pharmacy, catalog):
    with pytest.raises(RuleViolation) as refused:
        saved_lists.create_list_from_cart(
            partner=pharmacy.admin, address_id=pharmacy.address.pk, name="Пусто"
        )
    assert refused.value.message == "Корзина пуста: сохранять нечего."
    assert not SavedList.objects.exists()


def test_save_an_order_as_a_list(pharmacy, catalog):
    fill_cart(pharmacy, {"P001": 10, "P002": 3})
    order = services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method="invoice", now=NOW
    )
    saved = saved_lists.create_list_from_order(
        partner=pharmacy.admin, order_id=order.pk, name=f"Как заказ {order.number}"
    )
    assert saved.name == f"Как заказ {order.number}"
    assert lines(saved) == {"P001": 10, "P002": 3}


# --- «В корзину» ----------------------------------------------------------------------------


def test_list_to_cart_adds_what_it_can_and_reports_the_rest(pharmacy, catalog):
    maker = catalog.products["noshpa"].manufacturer
    category = catalog.products["noshpa"].category
    sold_out = make_product("P050", "Распроданный", maker, category)
    Price.objects.create(price_list=catalog.base, product=sold_out, price_kopecks=10_000)
    add_offer(catalog, sold_out, "S1", 100, 5, reserved=5)
    unpriced = make_product("P060", "Без цены", maker, category)
    add_offer(catalog, unpriced, "U1", 100, 5)
    saved = new_list(
        pharmacy,
        items={"P001": 60, "P002": 3, "P010": 1, "P030": 1, "P050": 1, "P060": 1, "P020": 10},
    )
    # 52 packs of Но-шпа are free; Рецептурный needs a licence; Дорогой ЖНВЛП is priced over
    # its ceiling; Снятый was withdrawn after it was listed.
    hidden = catalog.products["hidden"]
    SavedListLine.objects.create(saved_list=saved, product=hidden, quantity=1)
    # The carton's multiple changed since it was listed.
    catalog.products["carton"].order_multiple = 4
    catalog.products["carton"].save()
    fill_cart(pharmacy, {"P002": 2})
    listed = lines(saved)

    fill = saved_lists.list_to_cart(
        partner=pharmacy.admin, list_id=saved.pk, address_id=pharmacy.address.pk, now=NOW
    )

    assert [p.code for p in fill.added] == ["P001", "P002"]
    assert fill.in_cart == {"P001": 60, "P002": 5}
    assert cart_of(pharmacy) == {"P002": 5, "P001": 60}
    assert fill.warnings == {
        "P001": "Добавлен, но на складе свободно только 52 уп.: корзина покажет нехватку."
    }
    ceiling = saved_lists.priced_lines(
        partner=pharmacy.admin, saved_list=saved, address_id=pharmacy.address.pk, now=NOW
    ).lines[3]
    assert ceiling.product.code == "P030" and ceiling.quote.violation
    assert fill.skipped == {
        "P010": "Нужна действующая лицензия на фармацевтическую деятельность: "
        "товар отпускается по рецепту.",
        "P030": ceiling.quote.violation,
        "P050": "Нет в наличии на складе.",
        "P060": "Нет цены для вашей организации.",
        "P020": "Количество должно быть кратно 4 уп.",
        "P040": "Товар снят с продажи.",
    }
    # The list itself is not changed by it.
    assert lines(saved) == listed

    # With the licence, the prescription product goes in too; again on top of the cart.
    grant_licence(pharmacy.organisation, LicenceKind.PHARMACEUTICAL)
    fill = saved_lists.list_to_cart(
        partner=pharmacy.admin, list_id=saved.pk, address_id=pharmacy.address.pk, now=NOW
    )
    assert [p.code for p in fill.added] == ["P001", "P002", "P010"]
    assert cart_of(pharmacy) == {"P002": 8, "P001": 120, "P010": 1}


def test_a_cart_total_over_the_line_maximum_is_left_out(pharmacy, catalog):
    Offer.objects.filter(product__code="P002").update(quantity=20_000)
    saved = new_list(pharmacy, items={"P002": 10, "P001": 1})
    fill_cart(pharmacy, {"P002": 9_995})
    fill = saved_lists.list_to_cart(
        partner=pharmacy.admin, list_id=saved.pk, address_id=pharmacy.address.pk, now=NOW
    )
    assert fill.skipped == {"P002": "Не больше 10\u00a0000 уп. в одной строке заказа."}
    assert cart_of(pharmacy) == {"P002": 9_995, "P001": 1}


def test_an_empty_list_or_an_unserved_address_adds_nothing(pharmacy, catalog, kazan):
    empty = new_list(pharmacy, "Пустой")
    with pytest.raises(RuleViolation) as refused:
        saved_lists.list_to_cart(
            partner=pharmacy.admin, list_id=empty.pk, address_id=pharmacy.address.pk
        )
    assert refused.value.message == "Список пуст: добавлять в корзину нечего."

    far = DeliveryAddress.objects.create(
        organisation=pharmacy.organisation, name="Казань", city=kazan, address="ул. Баумана, 9"
    )
    saved = new_list(pharmacy, items={"P001": 2})
    with pytest.raises(RuleViolation) as refused:
        saved_lists.list_to_cart(partner=pharmacy.admin, list_id=saved.pk, address_id=far.pk)
    assert refused.value.message == (
        "Адрес доставки не обслуживается ни одним филиалом: товары не добавлены."
    )
    assert not CartLine.objects.exists()


def test_the_list_is_priced_for_an_address(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P002": 3, "P001": 2})
    view = saved_lists.priced_lines(
        partner=pharmacy.admin, saved_list=saved, address_id=pharmacy.address.pk, now=NOW
    )
    assert [(line.product.code, line.quantity, line.free) for line in view.lines] == [
        ("P002", 3, 100),
        ("P001", 2, 52),
    ]
    # Нурофен at 200 ₽ less the 10 % promotion; Но-шпа at 250 ₽.
    assert [line.quote.price_kopecks for line in view.lines] == [18_000, 25_000]
    assert view.totals.total_kopecks == 3 * 18_000 + 2 * 25_000


def test_delete(pharmacy, catalog):
    saved = new_list(pharmacy, items={"P001": 2})
    fill_cart(pharmacy, {"P001": 1})
    assert saved_lists.delete_list(partner=pharmacy.admin, list_id=saved.pk) == (
        "Еженедельный заказ"
    )
    assert not SavedList.objects.exists()
    assert not SavedListLine.objects.exists()
    assert cart_of(pharmacy) == {"P001": 1}
    with pytest.raises(NotFound):
        saved_lists.delete_list(partner=pharmacy.admin, list_id=saved.pk)


def test_the_demo_pharmacy_has_a_weekly_list_that_goes_into_the_cart(db):
    from kabinet.pharma import demo
    from kabinet.pharma.models import PartnerUser

    demo.load()
    demo.load()  # idempotent: still one list
    partner = PartnerUser.objects.get(user__username=demo.COLLEAGUE_LOGIN)
    [weekly] = saved_lists.lists_of(partner)
    assert (weekly.name, weekly.line_count) == ("Еженедельный заказ", 4)
    address = partner.organisation.addresses.order_by("pk").first()
    fill = saved_lists.list_to_cart(partner=partner, list_id=weekly.pk, address_id=address.pk)
    assert (len(fill.added), fill.skipped, fill.warnings) == (4, {}, {})
