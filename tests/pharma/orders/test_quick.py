"""Quick order (SPEC P-ORD-1): the parser, the service and the page."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from kabinet.core.errors import NotFound, PermissionDenied
from kabinet.pharma.catalog.models import Barcode
from kabinet.pharma.orders import quick, services
from kabinet.pharma.orders.models import CartLine
from kabinet.pharma.orders.quick import LineError, QuickLine, parse_lines
from tests.pharma.conftest import client_for

from .test_pages import texts

NOSHPA_EAN = "4600000000015"
NUROFEN_EAN = "4600000000022"
BAD_QUANTITY = "Количество должно быть целым числом упаковок больше нуля."


def lines_of(pharmacy) -> dict[str, int]:
    return dict(
        CartLine.objects.filter(cart__address=pharmacy.address).values_list(
            "product__code", "quantity"
        )
    )


@pytest.fixture
def barcodes(catalog):
    Barcode.objects.create(product=catalog.products["noshpa"], ean13=NOSHPA_EAN)
    Barcode.objects.create(product=catalog.products["nurofen"], ean13=NUROFEN_EAN)


def order(pharmacy, text: str, partner=None, address_id=None) -> quick.QuickResult:
    return quick.quick_order(
        partner=partner or pharmacy.admin,
        address_id=address_id or pharmacy.address.pk,
        lines=parse_lines(text),
    )


# --- parser ---------------------------------------------------------------------------------


def test_parser_separators():
    text = "4600000000015;10\nP001\t3\nP002,4\nP020 20\nP030   5\n Но-шпа 40 мг ; 2 \n"
    assert parse_lines(text) == [
        QuickLine(1, "4600000000015", 10),
        QuickLine(2, "P001", 3),
        QuickLine(3, "P002", 4),
        QuickLine(4, "P020", 20),
        QuickLine(5, "P030", 5),
        QuickLine(6, "Но-шпа 40 мг", 2),
    ]


def test_parser_blank_lines_keep_numbers_and_missing_quantity_is_one_pack():
    assert parse_lines("\n  \nP001\n\t\n;;\nНурофен\n") == [
        QuickLine(3, "P001", 1),
        QuickLine(6, "Нурофен", 1),
    ]
    assert parse_lines("") == []


def test_parser_bad_quantities_and_extra_fields():
    assert parse_lines("P001;0\nP001;-2\nP001 1.5\nP001;abc\nP001;2;x\nP002;7") == [
        LineError(1, "P001;0", BAD_QUANTITY),
        LineError(2, "P001;-2", BAD_QUANTITY),
        LineError(3, "P001 1.5", BAD_QUANTITY),
        LineError(4, "P001;abc", BAD_QUANTITY),
        LineError(5, "P001;2;x", "Лишние поля: нужно «штрихкод или код; количество»."),
        QuickLine(6, "P002", 7),
    ]


def test_parser_words_without_a_number_are_a_name():
    assert parse_lines("Но шпа форте") == [QuickLine(1, "Но шпа форте", 1)]


# --- service --------------------------------------------------------------------------------


def test_barcode_and_code_resolution_with_duplicates_summed(pharmacy, catalog, barcodes):
    result = order(pharmacy, f"{NOSHPA_EAN};2\np002;4\nP001 3\n{NUROFEN_EAN}")
    assert [(a.code, a.quantity, a.in_cart, a.lines, a.warning) for a in result.added] == [
        ("P001", 5, 5, [1, 3], ""),
        ("P002", 5, 5, [2, 4], ""),
    ]
    assert result.problems == []
    assert lines_of(pharmacy) == {"P001": 5, "P002": 5}


def test_adds_on_top_of_the_cart(pharmacy, catalog):
    services.add_to_cart(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, product_code="P001", quantity=2
    )
    result = order(pharmacy, "P001;3")
    assert [(a.quantity, a.in_cart) for a in result.added] == [(3, 5)]
    assert lines_of(pharmacy) == {"P001": 5}


def test_not_found_with_suggestions(pharmacy, catalog):
    result = order(pharmacy, "P001;1\nНуро;2\nP00X;1\n4600000000999;1")
    assert [a.code for a in result.added] == ["P001"]
    assert [(p.lines, p.text, p.reason) for p in result.problems] == [
        ([2], "Нуро", "Товар не найден."),
        ([3], "P00X", "Товар не найден."),
        ([4], "4600000000999", "Товар не найден."),
    ]
    by_line = {p.lines[0]: [(s.code, s.name) for s in p.suggestions] for p in result.problems}
    assert by_line == {
        2: [("P002", "Нурофен")],
        3: [("P001", "Но-шпа"), ("P002", "Нурофен")],
        4: [],
    }
    assert lines_of(pharmacy) == {"P001": 1}


def test_multiples_refused_and_withdrawn_product_reported(pharmacy, catalog):
    result = order(pharmacy, "P020;5\nP040;1\nP002;1\nP020;20")
    assert [(a.code, a.quantity) for a in result.added] == [("P002", 1)]
    assert [(p.lines, p.text, p.reason) for p in result.problems] == [
        ([1, 4], "P020 «Бинт»; 25", "Количество должно быть кратно 10 уп."),
        ([2], "P040 «Снятый»; 1", "Товар снят с продажи."),
    ]
    assert lines_of(pharmacy) == {"P002": 1}


def test_short_stock_is_added_and_flagged(pharmacy, catalog):
    # Нурофен: 100 free; Но-шпа: 45 + 7 free (the expired series does not count).
    result = order(pharmacy, "P002;150\nP001;52")
    assert [(a.code, a.in_cart, a.warning) for a in result.added] == [
        (
            "P002",
            150,
            "Добавлен, но на складе свободно только 100 уп.: корзина покажет нехватку.",
        ),
        ("P001", 52, ""),
    ]
    assert lines_of(pharmacy) == {"P002": 150, "P001": 52}


def test_parse_errors_are_reported_with_the_rest_added(pharmacy, catalog):
    result = order(pharmacy, "P001;x\nP002;2")
    assert [a.code for a in result.added] == ["P002"]
    assert [(p.lines, p.text, p.reason) for p in result.problems] == [([1], "P001;x", BAD_QUANTITY)]


def test_another_organisations_address_adds_nothing(pharmacy, other_pharmacy, catalog):
    with pytest.raises(NotFound):
        order(pharmacy, "P001;1", address_id=other_pharmacy.address.pk)
    with pytest.raises(PermissionDenied):
        order(pharmacy, "P001;1", partner=pharmacy.colleague)
    assert not CartLine.objects.exists()


def test_too_many_lines_adds_nothing(pharmacy, catalog):
    text = "\n".join(["P001;1"] * (quick.MAX_LINES + 1))
    with pytest.raises(quick.ValidationFailed):
        order(pharmacy, text)
    assert not CartLine.objects.exists()


# --- files ----------------------------------------------------------------------------------


def test_csv_table_in_cp1251(catalog):
    content = "Код;Количество\nP001;2\n\nP002;0\n;3\n".encode("cp1251")
    assert quick.parse_table(content=content, file_name="заказ.csv") == [
        QuickLine(2, "P001", 2),
        LineError(4, "P002; 0", BAD_QUANTITY),
        LineError(5, "; 3", "Не указан ни штрихкод, ни код товара."),
    ]


def test_table_without_the_columns_is_refused(catalog):
    with pytest.raises(quick.ValidationFailed) as refused:
        quick.parse_table(content=b"name,qty\nx,1\n", file_name="a.csv")
    assert refused.value.message == "В файле нужны столбцы «Штрихкод» или «Код» и «Количество»."


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the page -------------------------------------------------------------------------------


def test_page_needs_the_order_authority(pharmacy, catalog):
    url = reverse("pharma:cart-quick")
    assert url == "/pharma/cabinet/cart/quick/"
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("pharma:login"))
    looker = client_for(pharmacy.colleague)
    assert looker.get(url).status_code == 403
    assert looker.post(url, {"address": pharmacy.address.pk, "lines": "P001;1"}).status_code == 403
    assert not CartLine.objects.exists()


def test_cart_links_to_the_quick_order(pharmacy, catalog):
    page = client_for(pharmacy.admin).get(reverse("pharma:cart")).content.decode()
    assert 'href="/pharma/cabinet/cart/quick/"' in page


def test_paste_flow(pharmacy, catalog, barcodes):
    client = client_for(pharmacy.admin)
    url = reverse("pharma:cart-quick")
    form = client.get(url).context["form"]
    assert form.initial == {"address": pharmacy.address.pk}
    response = client.post(
        url, {"address": pharmacy.address.pk, "lines": f"{NUROFEN_EAN};3\nНуро;1\n"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url}?address={pharmacy.address.pk}"
    assert texts(response) == [
        "В корзину добавлено товаров: 1.",
        "Не добавлено строк: 1 — см. ниже.",
    ]
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.context["result"]["added"][0]["code"] == "P002"
    assert 'data-added="P002"' in html
    assert 'data-problem-line="2"' in html
    assert 'href="/pharma/cabinet/catalog/P002/" data-suggestion="P002"' in html
    assert lines_of(pharmacy) == {"P002": 3}
    # The report is shown once; a reload adds nothing again.
    assert client.get(url).context["result"] is None
    assert lines_of(pharmacy) == {"P002": 3}


def test_empty_post_and_foreign_address(pharmacy, other_pharmacy, catalog):
    client = client_for(pharmacy.admin)
    url = reverse("pharma:cart-quick")
    response = client.post(url, {"address": pharmacy.address.pk, "lines": "  "})
    assert response.status_code == 302
    assert texts(response) == ["Вставьте строки или выберите файл."]
    response = client.post(url, {"address": other_pharmacy.address.pk, "lines": "P001;1"})
    assert response.status_code == 404
    assert not CartLine.objects.exists()


def test_csv_upload(pharmacy, catalog, barcodes):
    client = client_for(pharmacy.admin)
    upload = SimpleUploadedFile(
        "order.csv", f"Штрихкод,Количество\n{NOSHPA_EAN},4\nP020,5\n".encode()
    )
    response = client.post(
        reverse("pharma:cart-quick"), {"address": pharmacy.address.pk, "file": upload}
    )
    assert response.status_code == 302
    result = client.get(response["Location"]).context["result"]
    assert [(a["code"], a["quantity"], a["lines"]) for a in result["added"]] == [("P001", 4, [2])]
    assert [(p["lines"], p["reason"]) for p in result["problems"]] == [
        ([3], "Количество должно быть кратно 10 уп.")
    ]
    assert lines_of(pharmacy) == {"P001": 4}


def test_xlsx_upload(pharmacy, catalog, barcodes):
    content = xlsx(
        [
            ["Штрихкод", "Код", "Количество"],
            [NUROFEN_EAN, None, 3],
            [None, "P001", 2.0],
            [None, "P999", 1],
        ]
    )
    client = client_for(pharmacy.admin)
    upload = SimpleUploadedFile("order.xlsx", content)
    response = client.post(
        reverse("pharma:cart-quick"), {"address": pharmacy.address.pk, "file": upload}
    )
    assert response.status_code == 302
    result = client.get(response["Location"]).context["result"]
    assert [(a["code"], a["quantity"], a["lines"]) for a in result["added"]] == [
        ("P002", 3, [2]),
        ("P001", 2, [3]),
    ]
    assert [(p["lines"], p["text"], p["reason"]) for p in result["problems"]] == [
        ([4], "P999", "Товар не найден.")
    ]
    assert lines_of(pharmacy) == {"P002": 3, "P001": 2}


def test_unreadable_upload_adds_nothing(pharmacy, catalog):
    client = client_for(pharmacy.admin)
    upload = SimpleUploadedFile("order.xlsx", b"not a workbook")
    response = client.post(
        reverse("pharma:cart-quick"), {"address": pharmacy.address.pk, "file": upload}
    )
    assert response.status_code == 302
    assert texts(response) == ["Файл не принят: это не книга Excel XLSX."]
    assert not CartLine.objects.exists()
