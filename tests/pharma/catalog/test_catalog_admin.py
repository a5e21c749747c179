"""The catalog back office (SPEC P-BO-2): pages open, prices keep to the ЖНВЛП ceiling,
product search text follows every edit, category paths follow moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

import pytest
from django.urls import reverse

from kabinet.geo.models import City, Region
from kabinet.pharma.catalog.models import (
    Barcode,
    BranchSchedule,
    Category,
    Holiday,
    ImportJob,
    Manufacturer,
    Offer,
    Price,
    PriceGroup,
    PriceList,
    Product,
    Promotion,
    PromotionKind,
    ServedCity,
    Warehouse,
    WholesaleMarkup,
)
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Branch
from tests.pharma.test_admin import _org_form

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def _category(name: str, parent: Category | None = None) -> Category:
    node = Category.objects.create(name=name, parent=parent, path="")
    node.path = (parent.path if parent else "") + f"{node.pk:04d}."
    node.save(update_fields=["path"])
    return node


@dataclass
class Backoffice:
    drugs: Category
    cardio: Category
    ozon: Manufacturer
    enalapril: Product
    aspirin: Product
    base: PriceList
    moscow_list: PriceList
    group: PriceGroup
    warehouse: Warehouse
    offer: Offer


@pytest.fixture
def office(client, manager) -> Backoffice:
    client.force_login(manager)
    moscow = Region.objects.get(code="77")
    city = City.objects.get(region=moscow, name_ru="Москва")
    branch = Branch.objects.create(
        code="moscow",
        name="Головной офис",
        region=moscow,
        city=city,
        address="ул. Складская, д. 1",
        phone="+74950000000",
        email="tovar@mpharma.ru",
        is_head_office=True,
    )
    warehouse = Warehouse.objects.create(branch=branch, code="msk-1", name="Склад Москва")
    BranchSchedule.objects.create(
        branch=branch, delivery_weekdays=[1, 3, 5], cutoff=time(14), min_order_kopecks=5000_00
    )
    ServedCity.objects.create(branch=branch, city=city, transit_days=1)
    Holiday.objects.create(day=date(2026, 6, 12), name="День России")
    WholesaleMarkup.objects.create(
        region=moscow,
        effective_from=date(2025, 1, 1),
        upto_100_percent=Decimal("20"),
        upto_500_percent=Decimal("15"),
        over_500_percent=Decimal("10"),
    )
    drugs = _category("Лекарственные средства")
    cardio = _category("Сердечно-сосудистые", drugs)
    ozon = Manufacturer.objects.create(name="Озон", country="Россия")
    enalapril = Product.objects.create(
        code="E-1",
        trade_name="Эналаприл",
        inn_name="Эналаприл",
        manufacturer=ozon,
        country="Россия",
        category=cardio,
        jnvlp=True,
        registered_price_kopecks=100_00,
        search_text="эналаприл эналаприл озон",
    )
    aspirin = Product.objects.create(
        code="A-1",
        trade_name="Аспирин Кардио",
        inn_name="Ацетилсалициловая кислота",
        manufacturer=ozon,
        country="Россия",
        category=cardio,
        search_text="аспирин кардио ацетилсалициловая кислота озон",
    )
    base = PriceList.objects.create(code="base", name="Базовый", is_base=True)
    moscow_list = PriceList.objects.create(code="msk", name="Москва", region=moscow)
    group = PriceGroup.objects.create(code="chains", name="Сети", price_list=moscow_list)
    Price.objects.create(price_list=moscow_list, product=enalapril, price_kopecks=130_00)
    Price.objects.create(price_list=base, product=aspirin, price_kopecks=123_45)
    offer = Offer.objects.create(
        product=aspirin,
        warehouse=warehouse,
        series="A123",
        expires_on=date(2027, 3, 1),
        quantity=50,
        reserved=10,
    )
    promotion = Promotion.objects.create(
        title="Кардиомесяц",
        kind=PromotionKind.FIXED,
        amount_kopecks=5_00,
        starts_on=date(2026, 5, 1),
        ends_on=date(2026, 5, 31),
    )
    promotion.categories.set([cardio])
    ImportJob.objects.create(kind="prices", price_list=base, file_name="prices.csv", content=b"")
    return Backoffice(
        drugs, cardio, ozon, enalapril, aspirin, base, moscow_list, group, warehouse, offer
    )


MODELS = [
    "category",
    "manufacturer",
    "product",
    "warehouse",
    "offer",
    "pricelist",
    "price",
    "pricegroup",
    "wholesalemarkup",
    "promotion",
    "branchschedule",
    "servedcity",
    "holiday",
    "importjob",
]


@pytest.mark.parametrize("name", MODELS)
def test_changelists_and_forms_open(client, office, name):
    changelist = client.get(reverse(f"admin:pharma_{name}_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    obj = changelist.context["cl"].result_list[0]
    assert client.get(reverse(f"admin:pharma_{name}_change", args=[obj.pk])).status_code == 200
    if name != "importjob":
        assert client.get(reverse(f"admin:pharma_{name}_add")).status_code == 200


def test_product_search_by_barcode(client, office):
    Barcode.objects.create(product=office.aspirin, ean13="4601234567893")
    response = client.get(reverse("admin:pharma_product_changelist"), {"q": "4601234567893"})
    assert [p.code for p in response.context["cl"].result_list] == ["A-1"]


def test_import_jobs_are_read_only(client, office):
    job = ImportJob.objects.get()
    url = reverse("admin:pharma_importjob_change", args=[job.pk])
    response = client.post(url, {"file_name": "другое.csv"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.file_name == "prices.csv"


# --- prices ---------------------------------------------------------------------------------


def test_a_price_over_the_ceiling_is_a_form_error_and_changes_nothing(client, office):
    price = Price.objects.get(product=office.enalapril)
    url = reverse("admin:pharma_price_change", args=[price.pk])
    response = client.post(url, {"price_kopecks": "13201"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["price_kopecks"] == [
        f"Цена 132,01{NBSP}₽ выше предельной 132,00{NBSP}₽: зарегистрированная цена "
        f"100,00{NBSP}₽ + надбавка 20{NBSP}% + НДС 10{NBSP}%"
    ]
    refreshed = Price.objects.get(pk=price.pk)
    assert (refreshed.price_kopecks, refreshed.updated_at) == (130_00, price.updated_at)


def test_a_price_at_the_ceiling_is_saved(client, office):
    price = Price.objects.get(product=office.enalapril)
    url = reverse("admin:pharma_price_change", args=[price.pk])
    response = client.post(url, {"price_kopecks": "13200"})
    assert response.status_code == 302
    assert Price.objects.get(pk=price.pk).price_kopecks == 132_00


def test_adding_a_price_goes_through_the_ceiling(client, office):
    url = reverse("admin:pharma_price_add")
    # The base list has no region: the strictest markups, here Moscow's, apply.
    form = {"price_list": office.base.pk, "product": office.enalapril.pk, "price_kopecks": "13500"}
    response = client.post(url, form)
    assert response.status_code == 200
    assert "выше предельной 132,00" in response.context["adminform"].form.errors["price_kopecks"][0]
    assert not Price.objects.filter(price_list=office.base, product=office.enalapril).exists()
    response = client.post(url, {**form, "price_kopecks": "12900"})
    assert response.status_code == 302
    assert Price.objects.get(price_list=office.base, product=office.enalapril).price_kopecks == (
        129_00
    )


def test_a_second_price_for_the_same_product_and_list_is_refused(client, office):
    url = reverse("admin:pharma_price_add")
    form = {"price_list": office.base.pk, "product": office.aspirin.pk, "price_kopecks": "100"}
    response = client.post(url, form)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Price.objects.get(price_list=office.base, product=office.aspirin).price_kopecks == (
        123_45
    )


def test_a_second_base_list_is_refused(client, office):
    response = client.post(
        reverse("admin:pharma_pricelist_add"), {"code": "base2", "name": "Ещё", "is_base": "on"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["is_base"] == [
        "Базовый прайс-лист уже есть: «Базовый»."
    ]
    assert PriceList.objects.count() == 2


# --- products -------------------------------------------------------------------------------


def _product_form(product: Product, **overrides) -> dict:
    data = {
        "code": product.code,
        "trade_name": product.trade_name,
        "inn_name": product.inn_name,
        "form": "",
        "dosage": "",
        "pack": "",
        "pack_size": "1",
        "manufacturer": product.manufacturer_id,
        "country": product.country,
        "category": product.category_id,
        "description": "",
        "is_active": "on",
        "control_class": "",
        "registered_price_kopecks": product.registered_price_kopecks or "",
        "vat_percent": "10",
        "storage_min_c": "",
        "storage_max_c": "",
        "order_multiple": "1",
        "delivery_conditions": "",
        "barcodes-TOTAL_FORMS": "0",
        "barcodes-INITIAL_FORMS": "0",
        "barcodes-MIN_NUM_FORMS": "0",
        "barcodes-MAX_NUM_FORMS": "1000",
    }
    if product.jnvlp:
        data["jnvlp"] = "on"
    data.update(overrides)
    return data


def test_saving_a_product_updates_its_search_text_with_the_new_barcodes(client, office):
    url = reverse("admin:pharma_product_change", args=[office.aspirin.pk])
    response = client.post(
        url,
        _product_form(
            office.aspirin,
            trade_name="Аспирин-Кардио®",
            **{"barcodes-TOTAL_FORMS": "2", "barcodes-0-ean13": "4601234567893",
               "barcodes-1-ean13": "4607001771234"},
        ),
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(pk=office.aspirin.pk)
    assert product.trade_name == "Аспирин-Кардио®"
    assert product.search_text == (
        "аспирин кардио ацетилсалициловая кислота озон 4601234567893 4607001771234"
    )
    assert product.search_text == search_text_for(
        trade_name="Аспирин-Кардио®",
        inn_name="Ацетилсалициловая кислота",
        manufacturer="Озон",
        barcodes=["4601234567893", "4607001771234"],
    )


def test_a_new_product_gets_search_text(client, office):
    response = client.post(
        reverse("admin:pharma_product_add"),
        _product_form(
            Product(code="N-1", trade_name="Но-шпа", inn_name="Дротаверин", country="Венгрия",
                    manufacturer=office.ozon, category=office.cardio),
            **{"barcodes-TOTAL_FORMS": "1", "barcodes-0-ean13": "5901234123457"},
        ),
    )  # fmt: skip
    assert response.status_code == 302
    assert Product.objects.get(code="N-1").search_text == "но шпа дротаверин озон 5901234123457"


def test_renaming_a_manufacturer_updates_its_products_search_text(client, office):
    url = reverse("admin:pharma_manufacturer_change", args=[office.ozon.pk])
    response = client.post(url, {"name": "Озон Фарм", "country": "Россия"})
    assert response.status_code == 302
    assert Product.objects.get(pk=office.enalapril.pk).search_text == (
        "эналаприл эналаприл озон фарм"
    )


def test_a_wrong_barcode_is_refused(client, office):
    url = reverse("admin:pharma_product_change", args=[office.aspirin.pk])
    response = client.post(
        url,
        _product_form(office.aspirin, **{"barcodes-TOTAL_FORMS": "1",
                                         "barcodes-0-ean13": "4601234567890"}),
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors == [
        {"ean13": ["Неверная контрольная цифра штрихкода."]}
    ]
    assert not Barcode.objects.exists()


def test_jnvlp_needs_a_registered_price(client, office):
    url = reverse("admin:pharma_product_change", args=[office.aspirin.pk])
    response = client.post(url, _product_form(office.aspirin, jnvlp="on"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["registered_price_kopecks"] == [
        "У ЖНВЛП должна быть зарегистрированная предельная цена."
    ]
    assert Product.objects.get(pk=office.aspirin.pk).jnvlp is False


# --- categories -----------------------------------------------------------------------------


def test_categories_get_paths_and_move_with_their_subtree(client, office):
    add = reverse("admin:pharma_category_add")
    response = client.post(add, {"name": "Статины", "parent": office.cardio.pk, "position": "0"})
    assert response.status_code == 302
    statins = Category.objects.get(name="Статины")
    assert statins.path == f"{office.drugs.pk:04d}.{office.cardio.pk:04d}.{statins.pk:04d}."
    # Moving «Сердечно-сосудистые» to the top level carries «Статины» along.
    url = reverse("admin:pharma_category_change", args=[office.cardio.pk])
    response = client.post(url, {"name": "Сердечно-сосудистые", "parent": "", "position": "0"})
    assert response.status_code == 302
    assert Category.objects.get(pk=office.cardio.pk).path == f"{office.cardio.pk:04d}."
    assert Category.objects.get(pk=statins.pk).path == (f"{office.cardio.pk:04d}.{statins.pk:04d}.")
    assert Category.objects.get(pk=office.drugs.pk).path == f"{office.drugs.pk:04d}."


def test_a_category_cannot_go_under_its_own_subtree(client, office):
    url = reverse("admin:pharma_category_change", args=[office.drugs.pk])
    response = client.post(
        url, {"name": "Лекарственные средства", "parent": office.cardio.pk, "position": "0"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [
        "Категорию нельзя вложить в саму себя или в её подкатегорию."
    ]
    assert Category.objects.get(pk=office.drugs.pk).parent_id is None


# --- stock and promotions -------------------------------------------------------------------


def _offer_form(office, **overrides) -> dict:
    return {
        "product": office.aspirin.pk,
        "warehouse": office.warehouse.pk,
        "series": "A123",
        "expires_on": "01.03.2027",
        "quantity": "50",
        **overrides,
    }


def test_stock_never_below_reserved_and_reserved_is_not_overwritten(client, office):
    url = reverse("admin:pharma_offer_change", args=[office.offer.pk])
    response = client.post(url, _offer_form(office, quantity="9"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["quantity"] == [
        "Остаток не может быть меньше резерва заказов: 10 уп."
    ]
    # An order reserves more while the manager has the form open.
    Offer.objects.filter(pk=office.offer.pk).update(reserved=20)
    response = client.post(url, _offer_form(office, quantity="60"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    offer = Offer.objects.get(pk=office.offer.pk)
    assert (offer.quantity, offer.reserved) == (60, 20)


def test_promotion_value_must_match_its_kind(client, office):
    response = client.post(
        reverse("admin:pharma_promotion_add"),
        {
            "title": "Скидка",
            "kind": "percent",
            "percent": "",
            "amount_kopecks": "500",
            "starts_on": "01.06.2026",
            "ends_on": "30.06.2026",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["percent"] == [
        "Укажите скидку больше 0 и меньше 100 %."
    ]
    response = client.post(
        reverse("admin:pharma_promotion_add"),
        {
            "title": "Скидка",
            "kind": "percent",
            "percent": "7.5",
            "amount_kopecks": "500",
            "starts_on": "01.06.2026",
            "ends_on": "30.06.2026",
            "is_active": "on",
            "manufacturers": [office.ozon.pk],
            "price_groups": [office.group.pk],
        },
    )
    assert response.status_code == 302
    promotion = Promotion.objects.get(title="Скидка")
    assert (promotion.percent, promotion.amount_kopecks) == (Decimal("7.50"), None)
    assert list(promotion.manufacturers.all()) == [office.ozon]
    assert list(promotion.price_groups.all()) == [office.group]


def test_branch_schedule_weekdays(client, office):
    schedule = BranchSchedule.objects.get()
    url = reverse("admin:pharma_branchschedule_change", args=[schedule.pk])
    response = client.post(
        url,
        {
            "branch": schedule.branch_id,
            "delivery_weekdays": ["5", "2"],
            "cutoff": "15:30",
            "assembly_days": "1",
            "min_order_kopecks": "300000",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    schedule.refresh_from_db()
    assert (schedule.delivery_weekdays, schedule.cutoff) == ([2, 5], time(15, 30))


# --- organisations --------------------------------------------------------------------------


def test_organisation_price_group_and_discount(client, office, pharmacy, other_pharmacy):
    url = reverse("admin:pharma_organisation_change", args=[pharmacy.organisation.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, _org_form(pharmacy, price_group=str(office.group.pk), discount_percent="3.5")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    pharmacy.organisation.refresh_from_db()
    assert pharmacy.organisation.price_group == office.group
    assert pharmacy.organisation.discount_percent == Decimal("3.50")
    other_pharmacy.organisation.refresh_from_db()
    assert other_pharmacy.organisation.price_group is None
    response = client.post(url, _org_form(pharmacy, discount_percent="100"))
    assert response.status_code == 200
    assert "discount_percent" in response.context["adminform"].form.errors
    pharmacy.organisation.refresh_from_db()
    assert pharmacy.organisation.discount_percent == Decimal("3.50")
