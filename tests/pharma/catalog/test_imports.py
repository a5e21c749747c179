"""Catalog, price and stock imports (SPEC P-CAT-5): files, row checks, atomicity, the job,
the back-office pages and the CLI."""

from __future__ import annotations

import codecs
import csv
import io
import threading
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_tasks_db.models import DBTaskResult

from kabinet.accounts.models import User
from kabinet.geo.models import City, Region
from kabinet.notifications.testing import run_pending_jobs
from kabinet.pharma.catalog import imports
from kabinet.pharma.catalog.imports import ImportRefused, prepare_import, run_import
from kabinet.pharma.catalog.models import (
    Barcode,
    Category,
    ImportJob,
    ImportStatus,
    Manufacturer,
    Offer,
    Price,
    PriceList,
    Product,
    Warehouse,
    WholesaleMarkup,
)
from kabinet.pharma.catalog.tasks import process_job, submit_import
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Branch
from tests.pharma.conftest import client_for

TODAY = date(2026, 3, 10)
EAN_A = "4601234567893"
EAN_B = "4607000000004"
EAN_C = "4600000000008"


def ean(prefix12: str) -> str:
    from stdnum import ean as stdnum_ean

    return prefix12 + stdnum_ean.calc_check_digit(prefix12)


@pytest.fixture
def cat(db):
    """A small catalog: one ordinary product, one ЖНВЛП (registered 100,00 ₽, VAT 10 %, Moscow
    markup 20 % → ceiling 132,00 ₽), one warehouse, the base price list for Moscow."""
    region = Region.objects.get(code="77")
    city = City.objects.get(region=region, name_ru="Москва")
    branch = Branch.objects.create(
        code="msk",
        name="Филиал Москва",
        region=region,
        city=city,
        address="ул. Свободы, 35",
        phone="+74959676940",
        email="msk@mpharma.ru",
    )
    warehouse = Warehouse.objects.create(branch=branch, code="msk-1", name="Склад Москва")
    base = PriceList.objects.create(code="base", name="Базовый", is_base=True, region=region)
    WholesaleMarkup.objects.create(
        region=region,
        effective_from=date(2025, 1, 1),
        upto_100_percent=Decimal("20"),
        upto_500_percent=Decimal("15"),
        over_500_percent=Decimal("10"),
    )
    maker = Manufacturer.objects.create(name="Фармстандарт", country="Россия")
    root = Category.objects.create(name="Лекарственные средства", path="")
    root.path = f"{root.pk:04d}."
    root.save()
    para = Product.objects.create(
        code="P-1",
        trade_name="Парацетамол",
        inn_name="Парацетамол",
        form="таблетки",
        manufacturer=maker,
        country="Россия",
        category=root,
        description="От жара",
        search_text="парацетамол парацетамол фармстандарт " + EAN_A,
    )
    Barcode.objects.create(product=para, ean13=EAN_A)
    ibu = Product.objects.create(
        code="P-2",
        trade_name="Ибупрофен",
        inn_name="Ибупрофен",
        manufacturer=maker,
        country="Россия",
        category=root,
        jnvlp=True,
        registered_price_kopecks=100_00,
        vat_percent=10,
    )
    Product.objects.create(
        code="P-3", trade_name="Аспирин", manufacturer=maker, country="Россия", category=root
    )
    Price.objects.create(price_list=base, product=para, price_kopecks=50_00)
    return {
        "warehouse": warehouse,
        "base": base,
        "para": para,
        "ibu": ibu,
        "maker": maker,
        "root": root,
        "region": region,
    }


def csv_bytes(rows, *, delimiter=";", encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def prices_of(price_list) -> dict[str, int]:
    return dict(
        Price.objects.filter(price_list=price_list).values_list("product__code", "price_kopecks")
    )


def catalog_state() -> list[tuple]:
    """Everything an import may touch, to prove a refused one changed nothing."""
    return [
        list(Product.objects.order_by("code").values_list()),
        list(Barcode.objects.order_by("ean13").values_list("ean13", "product__code")),
        list(Price.objects.order_by("id").values_list()),
        list(Offer.objects.order_by("id").values_list()),
        list(Manufacturer.objects.order_by("id").values_list()),
        list(Category.objects.order_by("id").values_list()),
    ]


def reasons(summary_or_plan) -> list[str]:
    return [str(r) for r in summary_or_plan.rejected]


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "utf-8-sig"), (";", "utf-8"), (",", "utf-8"), (";", "cp1251"), (",", "cp1251")],
)
def test_price_csv_in_every_encoding_and_delimiter(cat, delimiter, encoding):
    content = csv_bytes(
        [["Код", "Цена"], ["P-1", "123,45"], ["P-2", "99.90"]],
        delimiter=delimiter,
        encoding=encoding,
    )
    summary = run_import(kind="prices", content=content, file_name="prices.csv", day=TODAY)
    assert (summary.total_rows, summary.accepted_rows, summary.rejected_rows) == (2, 2, 0)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 2, 0)
    assert prices_of(cat["base"]) == {"P-1": 123_45, "P-2": 99_90}


def test_price_xlsx_with_number_cells_and_english_headers(cat):
    content = xlsx_bytes([["code", "price"], ["P-1", 123.45], ["P-2", 100], [None, None]])
    summary = run_import(kind="prices", content=content, file_name="prices.XLSX", day=TODAY)
    assert (summary.total_rows, summary.accepted_rows, summary.rejected_rows) == (2, 2, 0)
    assert prices_of(cat["base"]) == {"P-1": 123_45, "P-2": 100_00}


def test_unchanged_price_is_not_rewritten(cat):
    before = Price.objects.get(product=cat["para"]).updated_at
    summary = run_import(
        kind="prices", content=csv_bytes([["Код", "Цена"], ["P-1", "50"]]), file_name="p.csv"
    )
    assert (summary.updated, summary.unchanged) == (0, 1)
    assert Price.objects.get(product=cat["para"]).updated_at == before


def test_price_import_into_another_price_list(cat):
    other = PriceList.objects.create(code="chain", name="Сети")
    run_import(
        kind="prices",
        content=csv_bytes([["Код", "Цена"], ["P-1", "45"]]),
        file_name="p.csv",
        price_list=other,
    )
    assert prices_of(other) == {"P-1": 45_00}
    assert prices_of(cat["base"]) == {"P-1": 50_00}


CATALOG_HEADER = [
    "Код",
    "Наименование",
    "МНН",
    "Форма",
    "Дозировка",
    "Упаковка",
    "Кол-во в уп.",
    "Производитель",
    "Страна",
    "Штрихкод",
    "Категория",
    "Рецептурный",
    "ЖНВЛП",
    "Зарег. цена",
    "Холодовая цепь",
    "Хранение от",
    "Хранение до",
    "НДС",
    "Кратность",
    "Условия доставки",
    "Описание",
]


def test_catalog_csv_creates_and_updates_products(cat):
    new_ean = ean("460700000123")
    content = csv_bytes(
        [
            CATALOG_HEADER,
            [
                "P-30",
                "Инсулин Ринсулин Р",
                "Инсулин растворимый",
                "раствор",
                "100 МЕ/мл",
                "картридж 3 мл",
                "5",
                "Герофарм",
                "Россия",
                f"{new_ean}, {EAN_C}",
                "Лекарственные средства / Гормоны",
                "да",
                "1",
                "1 234,50",
                "да",
                "2",
                "8",
                "10",
                "2",
                "в термоконтейнере",
                "Инсулин короткого действия",
            ],
            # An update: empty optional cells keep what the product has.
            [
                "P-1",
                "Парацетамол-Фарм",
                "",
                "",
                "500 мг",
                "",
                "",
                "Фармстандарт",
                "Россия",
                "",
                "Лекарственные средства",
                "нет",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ]
    )
    summary = run_import(kind="catalog", content=content, file_name="catalog.csv", day=TODAY)
    assert (summary.accepted_rows, summary.created, summary.updated, summary.rejected_rows) == (
        2,
        1,
        1,
        0,
    )
    insulin = Product.objects.select_related("manufacturer", "category__parent").get(code="P-30")
    assert (insulin.trade_name, insulin.inn_name, insulin.form, insulin.dosage, insulin.pack) == (
        "Инсулин Ринсулин Р",
        "Инсулин растворимый",
        "раствор",
        "100 МЕ/мл",
        "картридж 3 мл",
    )
    assert (insulin.pack_size, insulin.order_multiple, insulin.vat_percent) == (5, 2, 10)
    assert (insulin.prescription_only, insulin.jnvlp, insulin.cold_chain) == (True, True, True)
    assert insulin.registered_price_kopecks == 1234_50
    assert (insulin.storage_min_c, insulin.storage_max_c) == (2, 8)
    assert insulin.delivery_conditions == "в термоконтейнере"
    assert insulin.description == "Инсулин короткого действия"
    assert (insulin.manufacturer.name, insulin.manufacturer.country) == ("Герофарм", "Россия")
    assert insulin.category.name == "Гормоны"
    assert insulin.category.parent == cat["root"]
    assert insulin.category.path == f"{cat['root'].pk:04d}.{insulin.category.pk:04d}."
    assert sorted(insulin.barcodes.values_list("ean13", flat=True)) == sorted([new_ean, EAN_C])
    assert insulin.search_text == search_text_for(
        trade_name="Инсулин Ринсулин Р",
        inn_name="Инсулин растворимый",
        manufacturer="Герофарм",
        barcodes=sorted([new_ean, EAN_C]),
    )
    para = Product.objects.get(code="P-1")
    assert (para.trade_name, para.inn_name, para.form, para.dosage) == (
        "Парацетамол-Фарм",
        "Парацетамол",
        "таблетки",
        "500 мг",
    )
    assert para.description == "От жара"
    assert list(para.barcodes.values_list("ean13", flat=True)) == [EAN_A]
    assert para.search_text == "парацетамол фарм парацетамол фармстандарт " + EAN_A
    assert para.updated_at > cat["para"].updated_at
    assert Category.objects.count() == 2
    assert Manufacturer.objects.count() == 2


def test_catalog_xlsx_and_a_barcode_set_replaced(cat):
    replacement = ean("460700000999")
    content = xlsx_bytes(
        [
            ["code", "trade_name", "manufacturer", "country", "category", "barcodes", "vat"],
            [
                "P-1",
                "Парацетамол",
                "Фармстандарт",
                "Россия",
                "Лекарственные средства",
                replacement,
                20,
            ],
        ]
    )
    summary = run_import(kind="catalog", content=content, file_name="c.xlsx", day=TODAY)
    assert (summary.updated, summary.rejected_rows) == (1, 0)
    para = Product.objects.get(code="P-1")
    assert list(para.barcodes.values_list("ean13", flat=True)) == [replacement]
    assert para.vat_percent == 20
    assert para.search_text.endswith(replacement)


def test_unchanged_catalog_row_is_not_rewritten(cat):
    content = csv_bytes(
        [
            ["Код", "Наименование", "Производитель", "Страна", "Категория"],
            ["P-1", "Парацетамол", "Фармстандарт", "Россия", "Лекарственные средства"],
        ]
    )
    Product.objects.filter(code="P-1").update(
        search_text=search_text_for(
            trade_name="Парацетамол",
            inn_name="Парацетамол",
            manufacturer="Фармстандарт",
            barcodes=[EAN_A],
        )
    )
    before = Product.objects.get(code="P-1").updated_at
    summary = run_import(kind="catalog", content=content, file_name="c.csv", day=TODAY)
    assert (summary.updated, summary.unchanged) == (0, 1)
    assert Product.objects.get(code="P-1").updated_at == before


def test_stock_csv_creates_and_updates_series_and_keeps_others(cat):
    wh, para = cat["warehouse"], cat["para"]
    Offer.objects.create(
        product=para, warehouse=wh, series="A1", expires_on=date(2027, 1, 1), quantity=10
    )
    Offer.objects.create(
        product=para, warehouse=wh, series="OLD", expires_on=date(2027, 1, 1), quantity=7
    )
    content = csv_bytes(
        [
            ["Код", "Склад", "Серия", "Годен до", "Остаток"],
            ["P-1", "msk-1", "A1", "31.12.2027", "25"],
            ["P-2", "msk-1", "B7", "2028-06-30", "0"],
        ],
        delimiter=",",
    )
    summary = run_import(kind="stock", content=content, file_name="stock.csv", day=TODAY)
    assert (summary.accepted_rows, summary.created, summary.updated) == (2, 1, 1)
    assert sorted(
        Offer.objects.values_list("product__code", "series", "expires_on", "quantity")
    ) == [
        ("P-1", "A1", date(2027, 12, 31), 25),
        ("P-1", "OLD", date(2027, 1, 1), 7),
        ("P-2", "B7", date(2028, 6, 30), 0),
    ]


def test_stock_xlsx_with_excel_date_cells(cat):
    content = xlsx_bytes(
        [
            ["Код", "Склад", "Серия", "Годен до", "Остаток"],
            ["P-1", "msk-1", "X1", datetime(2027, 5, 31), 12],
        ]
    )
    summary = run_import(kind="stock", content=content, file_name="stock.xlsx", day=TODAY)
    assert summary.rejected_rows == 0
    assert list(Offer.objects.values_list("series", "expires_on", "quantity")) == [
        ("X1", date(2027, 5, 31), 12)
    ]


# --- whole-file refusals -----------------------------------------------------------------------


def test_unknown_and_missing_columns_refuse_the_file(cat):
    before = catalog_state()
    content = csv_bytes([["Код", "Цвет", "Вес"], ["P-1", "белый", "1"]])
    with pytest.raises(ImportRefused) as refused:
        run_import(kind="prices", content=content, file_name="p.csv")
    assert refused.value.message == (
        "Файл не принят, ничего не изменено: неизвестные столбцы: «Цвет», «Вес»; "
        "нет обязательных столбцов: «Цена». Ожидаются столбцы: Код, Цена."
    )
    assert catalog_state() == before


def test_catalog_without_required_columns_names_them(cat):
    content = csv_bytes([["Код", "Наименование"], ["P-9", "Новый"]])
    with pytest.raises(ImportRefused) as refused:
        run_import(kind="catalog", content=content, file_name="c.csv")
    assert "нет обязательных столбцов: «Производитель», «Страна», «Категория»" in (
        refused.value.message
    )


@pytest.mark.parametrize(
    ("content", "file_name", "message"),
    [
        (b"\x00\x01 not a zip", "p.xlsx", "Файл не принят: это не книга Excel XLSX."),
        (b"", "p.csv", "Файл не принят: в нём нет строки заголовков."),
        ("Код;Цена\r\n".encode(), "p.csv", "Файл не принят: в нём нет строк с данными."),
    ],
)
def test_unreadable_files_are_refused(cat, content, file_name, message):
    with pytest.raises(ImportRefused) as refused:
        prepare_import(kind="prices", content=content, file_name=file_name)
    assert refused.value.message == message


def test_more_than_half_rejected_refuses_everything(cat):
    before = catalog_state()
    content = csv_bytes([["Код", "Цена"], ["P-1", "60"], ["NOPE", "1"], ["P-2", "abc"]])
    with pytest.raises(ImportRefused) as refused:
        run_import(kind="prices", content=content, file_name="p.csv")
    assert refused.value.message.startswith(
        "Файл не принят, ничего не изменено: отклонено 2 строк из 3 (больше половины)"
    )
    assert [str(r) for r in refused.value.rejected] == [
        "строка 3: товар с кодом NOPE не найден",
        'строка 4: цена "abc" — не число',
    ]
    assert catalog_state() == before


def test_exactly_half_rejected_still_applies(cat):
    content = csv_bytes([["Код", "Цена"], ["P-1", "60"], ["NOPE", "1"]])
    summary = run_import(kind="prices", content=content, file_name="p.csv")
    assert (summary.accepted_rows, summary.rejected_rows) == (1, 1)


# --- row checks --------------------------------------------------------------------------------


def test_price_rows_rejected_with_line_and_reason_and_good_rows_applied(cat, monkeypatch):
    monkeypatch.setattr(imports, "MAX_REJECTED_SHARE", Decimal(1))
    for code in ("P-4", "P-5"):
        Product.objects.create(
            code=code,
            trade_name=code,
            manufacturer=cat["maker"],
            country="Россия",
            category=cat["root"],
        )
    content = csv_bytes(
        [
            ["Код", "Цена"],
            ["P-1", "70,10"],
            ["P-2", "12,345"],
            ["P-1", "71"],
            ["P-9", "10"],
            ["P-3", "-5"],
            ["P-4", "1 000,50 ₽"],
            ["P-5", ""],
            ["P-2", "120"],
        ]
    )
    before = prices_of(cat["base"])
    plan = prepare_import(kind="prices", content=content, file_name="p.csv", day=TODAY)
    assert reasons(plan) == [
        'строка 3: цена "12,345" — не больше двух знаков после запятой',
        "строка 4: код P-1 уже встречался в строке 2",
        "строка 5: товар с кодом P-9 не найден",
        'строка 6: цена "-5" — должна быть больше нуля',
        "строка 8: не заполнено: Цена",
        # A code met twice is refused the second time even when the first was refused:
        # which of the two the file meant is anyone's guess.
        "строка 9: код P-2 уже встречался в строке 3",
    ]
    assert [item.line for item in plan.items] == [2, 7]
    assert prices_of(cat["base"]) == before  # phase 1 writes nothing
    summary = imports.apply_import(plan)
    assert (summary.accepted_rows, summary.rejected_rows) == (2, 6)
    assert prices_of(cat["base"]) == {"P-1": 70_10, "P-4": 1000_50}


def test_jnvlp_price_over_its_ceiling_is_refused(cat):
    content = csv_bytes([["Код", "Цена"], ["P-2", "132,01"], ["P-1", "10"]])
    summary = run_import(kind="prices", content=content, file_name="p.csv", day=TODAY)
    assert reasons(summary) == [
        "строка 2: цена 132,01\xa0₽ выше предельной 132,00\xa0₽: зарегистрированная цена "
        "100,00\xa0₽ + надбавка 20\xa0% + НДС 10\xa0%"
    ]
    assert prices_of(cat["base"]) == {"P-1": 10_00}
    summary = run_import(
        kind="prices",
        content=csv_bytes([["Код", "Цена"], ["P-2", "132,00"]]),
        file_name="p.csv",
        day=TODAY,
    )
    assert summary.rejected_rows == 0
    assert prices_of(cat["base"])["P-2"] == 132_00


def test_catalog_rows_rejected_with_reasons(cat):
    ibu_ean = ean("460700000555")
    Barcode.objects.create(product=cat["ibu"], ean13=ibu_ean)
    head = ["Код", "Наименование", "Производитель", "Страна", "Категория", "Штрихкод", "ЖНВЛП"]
    row = ["P-10", "Новый", "Фармстандарт", "Россия", "Лекарственные средства"]
    content = csv_bytes(
        [
            head,
            [*row, "4601234567890", ""],
            [*row[:1], "", *row[2:], "", ""],
            ["P-11", *row[1:], ibu_ean, ""],
            ["P-12", *row[1:], "", "да"],
            ["P-13", *row[1:], "12345", "может"],
            ["P-14", *row[1:], ean("460700000777"), ""],
            ["P-15", *row[1:], ean("460700000777"), ""],
            ["P-16", *row[1:], "", ""],
            ["P-17", *row[1:], "", ""],
            ["P-18", *row[1:], "", ""],
            ["P-19", *row[1:], "", ""],
            ["P-20", *row[1:], "", ""],
        ]
    )
    plan = prepare_import(kind="catalog", content=content, file_name="c.csv", day=TODAY)
    assert reasons(plan) == [
        "строка 2: штрихкод 4601234567890 — неверная контрольная цифра",
        "строка 3: не заполнено: Наименование",
        f"строка 4: штрихкод {ibu_ean} уже принадлежит товару P-2",
        "строка 5: у ЖНВЛП должна быть зарегистрированная цена",
        'строка 6: ЖНВЛП "может" — ожидается «да» или «нет»; '
        'штрихкод "12345" — нужно 13 цифр EAN-13',
        f"строка 8: штрихкод {ean('460700000777')} уже встречался в строке 7",
    ]


def test_stock_rows_rejected_with_reasons(cat, monkeypatch):
    monkeypatch.setattr(imports, "MAX_REJECTED_SHARE", Decimal(1))
    Offer.objects.create(
        product=cat["para"],
        warehouse=cat["warehouse"],
        series="R1",
        expires_on=date(2027, 1, 1),
        quantity=10,
        reserved=6,
    )
    head = ["Код", "Склад", "Серия", "Годен до", "Остаток"]
    content = csv_bytes(
        [
            head,
            ["P-1", "msk-1", "R1", "01.01.2027", "5"],
            ["P-1", "msk-1", "N1", "01.01.2027", "-3"],
            ["P-1", "msk-1", "N2", "01.01.2027", "2,5"],
            ["P-1", "msk-1", "N3", "01.03.2026", "1"],
            ["P-1", "spb-9", "N4", "31/12/2027", "1"],
            ["P-1", "msk-1", "N5", "01.01.2027", "1"],
            ["P-1", "msk-1", "N5", "01.01.2027", "2"],
            ["P-1", "msk-1", "R1", "01.01.2027", "6"],
            ["P-1", "msk-1", "N6", "01.01.2027", "1"],
            ["P-1", "msk-1", "N7", "01.01.2027", "1"],
            ["P-1", "msk-1", "N8", "01.01.2027", "1"],
            ["P-1", "msk-1", "N9", "01.01.2027", "1"],
            ["P-2", "msk-1", "N9", "10.03.2026", "1"],
        ]
    )
    summary = run_import(kind="stock", content=content, file_name="s.csv", day=TODAY)
    assert reasons(summary) == [
        "строка 2: в резерве больше, чем новый остаток (в резерве 6, остаток 5)",
        'строка 3: остаток "-3" — не может быть отрицательным',
        'строка 4: остаток "2,5" — нужно целое число',
        "строка 5: срок годности 01.03.2026 уже истёк",
        'строка 6: склад spb-9 не найден; годен до "31/12/2027" — ожидается дата ДД.ММ.ГГГГ',
        "строка 8: товар P-1 серии N5 на складе msk-1 уже встречался в строке 7",
        "строка 9: товар P-1 серии R1 на складе msk-1 уже встречался в строке 2",
    ]
    assert (summary.accepted_rows, summary.created) == (6, 6)
    assert Offer.objects.get(series="R1").quantity == 10
    assert Offer.objects.filter(series="N9").count() == 2


def test_reserve_taken_between_check_and_write_is_rejected_then(cat, monkeypatch):
    offer = Offer.objects.create(
        product=cat["para"],
        warehouse=cat["warehouse"],
        series="R1",
        expires_on=date(2027, 1, 1),
        quantity=10,
        reserved=2,
    )
    content = csv_bytes(
        [
            ["Код", "Склад", "Серия", "Годен до", "Остаток"],
            ["P-1", "msk-1", "R1", "01.01.2027", "4"],
            ["P-2", "msk-1", "Z1", "01.01.2027", "4"],
        ]
    )
    plan = prepare_import(kind="stock", content=content, file_name="s.csv", day=TODAY)
    assert plan.rejected == []
    Offer.objects.filter(pk=offer.pk).update(reserved=5)  # an order placed meanwhile
    summary = imports.apply_import(plan)
    assert reasons(summary) == [
        "строка 2: в резерве больше, чем новый остаток (в резерве 5, остаток 4)"
    ]
    assert (summary.accepted_rows, summary.created) == (1, 1)
    offer.refresh_from_db()
    assert (offer.quantity, offer.reserved) == (10, 5)


# --- the job -----------------------------------------------------------------------------------


def price_job(content: bytes, *, file_name="prices.csv", user=None) -> ImportJob:
    return submit_import(kind="prices", file_name=file_name, content=content, created_by=user)


def test_job_runs_through_the_queue_and_reports(cat):
    job = price_job(csv_bytes([["Код", "Цена"], ["P-1", "61"], ["P-2", "1,001"], ["P-3", "9"]]))
    assert job.status == ImportStatus.QUEUED
    assert job.price_list == cat["base"]
    assert DBTaskResult.objects.filter(args_kwargs__args=[job.pk]).count() == 1
    assert run_pending_jobs() == 1
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.total_rows, job.processed_rows, job.accepted_rows, job.rejected_rows) == (
        3,
        3,
        2,
        1,
    )
    assert job.percent_done == 100
    assert job.report == (
        'строка;данные;причина\r\n3;"P-2; 1,001";"цена ""1,001"" — не больше двух знаков после '
        'запятой"\r\n'
    )
    assert job.started_at is not None and job.finished_at is not None
    assert prices_of(cat["base"]) == {"P-1": 61_00, "P-3": 9_00}


def test_failure_while_writing_leaves_the_catalog_as_it_was(cat, monkeypatch):
    before = catalog_state()
    content = csv_bytes(
        [
            ["Код", "Наименование", "Производитель", "Страна", "Категория", "Штрихкод"],
            [
                "P-1",
                "Парацетамол Новый",
                "Новый завод",
                "Индия",
                "Новая / Ветка",
                ean("460700000888"),
            ],
            ["P-7", "Совсем новый", "Фармстандарт", "Россия", "Лекарственные средства", ""],
        ]
    )
    job = submit_import(kind="catalog", file_name="c.csv", content=content)

    def broken(*args, **kwargs):
        raise RuntimeError("диск переполнен")

    # Products, manufacturers and categories are written by then; the barcodes fail.
    monkeypatch.setattr(Barcode.objects, "bulk_create", broken)
    run_pending_jobs()
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.error == "Ошибка при записи в каталог, все изменения отменены: диск переполнен"
    assert job.accepted_rows == 0
    assert catalog_state() == before


def test_refused_file_fails_the_job_with_the_reason(cat):
    job = price_job(csv_bytes([["Код", "Стоимость"], ["P-1", "1"]]))
    run_pending_jobs()
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.error.startswith("Файл не принят, ничего не изменено: неизвестные столбцы")
    assert job.percent_done == 100


def test_a_claimed_job_is_not_run_again(cat):
    job = submit_import(
        kind="prices",
        file_name="p.csv",
        content=csv_bytes([["Код", "Цена"], ["P-1", "1"]]),
        enqueue=False,
    )
    assert process_job(job_id=job.pk) == "done"
    assert process_job(job_id=job.pk) == "skipped"
    running = submit_import(
        kind="prices",
        file_name="p.csv",
        content=csv_bytes([["Код", "Цена"], ["P-1", "2"]]),
        enqueue=False,
    )
    ImportJob.objects.filter(pk=running.pk).update(status=ImportStatus.RUNNING)
    assert process_job(job_id=running.pk) == "skipped"
    assert prices_of(cat["base"])["P-1"] == 1_00


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_race_for_one_job(cat):
    job = submit_import(
        kind="prices",
        file_name="p.csv",
        content=csv_bytes([["Код", "Цена"], ["P-1", "3"]]),
        enqueue=False,
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        try:
            barrier.wait()
            outcomes.append(process_job(job_id=job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["done", "skipped"]
    assert prices_of(cat["base"])["P-1"] == 3_00


@pytest.mark.parametrize(
    ("file_name", "size", "message"),
    [
        ("prices.xls", 10, "Загрузите файл CSV или XLSX (а не «prices.xls»)."),
        (
            "prices.csv",
            20 * 1024 * 1024 + 1,
            "Файл больше 20 МБ (20.0 МБ): разделите его на части.",
        ),
        ("prices.csv", 0, "Файл пуст."),
    ],
)
def test_upload_checks(file_name, size, message):
    with pytest.raises(imports.ValidationFailed) as refused:
        imports.check_upload(file_name=file_name, size=size)
    assert refused.value.message == message


# --- pages -------------------------------------------------------------------------------------


@pytest.fixture
def importer(db) -> User:
    user = User.objects.create_user(username="importer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_importjob"))
    return user


def staff_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_upload_page_queues_the_job_and_shows_progress(cat, importer):
    client = staff_client(importer)
    assert client.get("/pharma/backoffice/imports/new/").status_code == 200
    upload = SimpleUploadedFile(
        "prices.csv", csv_bytes([["Код", "Цена"], ["P-1", "55"], ["P-2", "9,999"], ["P-3", "1"]])
    )
    response = client.post(
        "/pharma/backoffice/imports/new/", {"kind": "prices", "price_list": "", "file": upload}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/pharma/backoffice/imports/{job.pk}/"
    assert (job.created_by, job.price_list, job.status) == (importer, cat["base"], "queued")

    progress = client.get(f"/pharma/backoffice/imports/{job.pk}/progress/").json()
    assert progress == {
        "status": "queued",
        "status_display": "в очереди",
        "stage": "в очереди",
        "finished": False,
        "percent": 0,
        "total_rows": 0,
        "processed_rows": 0,
        "accepted_rows": 0,
        "rejected_rows": 0,
        "error": "",
        "report_url": None,
    }
    page = client.get(f"/pharma/backoffice/imports/{job.pk}/").content.decode()
    assert f'data-import-progress="/pharma/backoffice/imports/{job.pk}/progress/"' in page
    assert 'data-finished="0"' in page
    assert "pharma/import-progress.js" in page

    run_pending_jobs()
    progress = client.get(f"/pharma/backoffice/imports/{job.pk}/progress/").json()
    assert (progress["status"], progress["percent"], progress["finished"]) == ("done", 100, True)
    assert (progress["accepted_rows"], progress["rejected_rows"]) == (2, 1)
    assert progress["report_url"] == f"/pharma/backoffice/imports/{job.pk}/report/"
    page = client.get(f"/pharma/backoffice/imports/{job.pk}/").content.decode()
    assert "Скачать отчёт об отклонённых строках" in page
    listing = client.get("/pharma/backoffice/imports/").content.decode()
    assert "prices.csv" in listing and "importer" in listing

    report = client.get(progress["report_url"])
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert report["Content-Disposition"] == f'attachment; filename="import-{job.pk}-rejected.csv"'
    assert report.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["строка", "данные", "причина"],
        ["3", "P-2; 9,999", 'цена "9,999" — не больше двух знаков после запятой'],
    ]


def test_upload_form_refuses_other_extensions(cat, importer):
    client = staff_client(importer)
    response = client.post(
        "/pharma/backoffice/imports/new/",
        {"kind": "prices", "file": SimpleUploadedFile("prices.xls", b"whatever")},
    )
    assert response.status_code == 200
    assert "Загрузите файл CSV или XLSX (а не «prices.xls»)." in response.content.decode()
    assert not ImportJob.objects.exists()


IMPORT_URLS = [
    "/pharma/backoffice/imports/",
    "/pharma/backoffice/imports/new/",
    "/pharma/backoffice/imports/{pk}/",
    "/pharma/backoffice/imports/{pk}/progress/",
    "/pharma/backoffice/imports/{pk}/report/",
]


def test_only_staff_with_the_import_permission_see_imports(cat, pharmacy, manager, importer):
    job = price_job(csv_bytes([["Код", "Цена"], ["P-1", "1,001"], ["P-2", "5"]]))
    run_pending_jobs()
    urls = [u.format(pk=job.pk) for u in IMPORT_URLS]
    for url in urls:
        anonymous = Client().get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/admin/login/")
        partner = client_for(pharmacy.admin).get(url)
        assert partner.status_code == 302
        assert partner["Location"].startswith("/admin/login/")
        plain_staff = User.objects.get_or_create(username="staff", is_staff=True)[0]
        assert staff_client(plain_staff).get(url).status_code == 403
        assert staff_client(importer).get(url).status_code == 200
        assert staff_client(manager).get(url).status_code == 200  # a superuser


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_imports_and_writes_the_report(cat, tmp_path):
    source = tmp_path / "prices.csv"
    source.write_bytes(csv_bytes([["Код", "Цена"], ["P-1", "77,70"], ["P-9", "1"], ["P-2", "3"]]))
    report = tmp_path / "rejected.csv"
    out = io.StringIO()
    call_command("pharma", "import", "prices", str(source), "--report", str(report), stdout=out)
    job = ImportJob.objects.get()
    assert out.getvalue().splitlines() == [
        "проверено 0 из 3 строк (0%)",
        "проверено 3 из 3 строк (100%)",
        f"отчёт об отклонённых строках: {report}",
        f"импорт {job.pk}: завершён; строк 3, принято 2, отклонено 1",
        "  строка 3: товар с кодом P-9 не найден",
    ]
    assert report.read_bytes() == codecs.BOM_UTF8 + (
        'строка;данные;причина\r\n3;"P-9; 1";товар с кодом P-9 не найден\r\n'.encode()
    )
    assert prices_of(cat["base"]) == {"P-1": 77_70, "P-2": 3_00}


def test_cli_price_list_option_and_refusals(cat, tmp_path):
    PriceList.objects.create(code="chain", name="Сети")
    source = tmp_path / "prices.xlsx"
    source.write_bytes(xlsx_bytes([["Код", "Цена"], ["P-1", 12]]))
    call_command(
        "pharma", "import", "prices", str(source), "--price-list", "chain", stdout=io.StringIO()
    )
    assert prices_of(PriceList.objects.get(code="chain")) == {"P-1": 12_00}

    with pytest.raises(CommandError, match="нет прайс-листа с кодом 'nope'"):
        call_command("pharma", "import", "prices", str(source), "--price-list", "nope")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["Код", "Вес"], ["P-1", "1"]]))
    with pytest.raises(CommandError) as refused:
        call_command("pharma", "import", "prices", str(bad), stdout=io.StringIO())
    assert "отклонён; строк 0, принято 0, отклонено 0" in str(refused.value)
    assert "неизвестные столбцы: «Вес»" in str(refused.value)
    with pytest.raises(CommandError, match="Загрузите файл CSV или XLSX"):
        (tmp_path / "x.txt").write_text("x")
        call_command("pharma", "import", "prices", str(tmp_path / "x.txt"))


def test_the_sample_files_import_cleanly(cat):
    from pathlib import Path

    samples = Path(imports.__file__).with_name("samples")
    Warehouse.objects.create(
        branch=cat["warehouse"].branch, code="wh-moscow", name="Москва-2", is_main=False
    )
    for kind, name in (
        ("catalog", "catalog.csv"),
        ("prices", "prices.xlsx"),
        ("stock", "stock.csv"),
    ):
        summary = run_import(
            kind=kind, content=(samples / name).read_bytes(), file_name=name, day=TODAY
        )
        assert (summary.total_rows, summary.accepted_rows, reasons(summary)) == (5, 5, [])
    assert prices_of(cat["base"])["100004"] == 1420_00
    assert Offer.objects.get(product__code="100004").quantity == 45
    assert Product.objects.get(code="100005").order_multiple == 10


def test_manufacturers_are_matched_regardless_of_case(cat):
    content = csv_bytes(
        [
            ["Код", "Наименование", "Производитель", "Страна", "Категория"],
            ["P-1", "Парацетамол", "ФАРМСТАНДАРТ", "Россия", "Лекарственные средства"],
            ["N-1", "Новинка", "Герофарм", "Россия", "Лекарственные средства"],
            ["N-2", "Новинка 2", "ГЕРОФАРМ", "Россия", "Лекарственные средства"],
        ]
    )
    run_import(kind="catalog", content=content, file_name="c.csv", day=TODAY)
    assert sorted(Manufacturer.objects.values_list("name", flat=True)) == [
        "Герофарм",
        "Фармстандарт",
    ]
    assert set(
        Product.objects.filter(code__in=["N-1", "N-2"]).values_list("manufacturer__name", flat=True)
    ) == {"Герофарм"}
    assert Product.objects.get(code="P-1").manufacturer == cat["maker"]
