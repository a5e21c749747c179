"""The «Счёт на оплату» PDF: what a reader sees on it, its QR code, VAT per rate, long orders."""

from datetime import date

import pytest
import zxingcpp

from kabinet.pharma.payments.gost_qr import parse_payload, payment_payload
from kabinet.pharma.payments.invoice_pdf import (
    BankAccount,
    InvoiceData,
    InvoiceLine,
    Party,
    date_in_words,
    invoice_purpose,
    invoice_qr_payload,
    money,
    render_invoice,
    vat_breakdown,
    vat_inside,
)
from tests.pharma.payments.pdfread import images, page_texts

NBSP = "\u00a0"
SUPPLIER = Party(
    name="ООО «Фарм-Дистрибьютор»",
    inn="7704123450",
    kpp="770401001",
    address="115093, г. Москва, ул. Павловская, д. 7",
)
BUYER = Party(
    name="ООО «Аптека Здоровье» & Ко",
    inn="5027123457",
    kpp="502701001",
    address="140000, Московская обл., г. Люберцы, ул. Мира, д. 1",
)
BANK = BankAccount(
    bank_name="ПАО Сбербанк",
    bic="044525225",
    corresp_acc="30101810400000000225",
    account="40702810200000012345",
)
LINES = (
    InvoiceLine(
        name="Парацетамол таб. 500 мг № 20", quantity=10, price_kopecks=45_50, vat_percent=10
    ),
    InvoiceLine(
        name="Ибупрофен таб. п/о 200 мг № 50", quantity=3, price_kopecks=189_90, vat_percent=10
    ),
    InvoiceLine(
        name="Пластырь бактерицидный 1,9×7,2 см № 10",
        quantity=7,
        price_kopecks=61_00,
        vat_percent=22,
    ),
)


def invoice(**changes):
    values = {
        "number": "2026-000123",
        "issued_on": date(2026, 3, 12),
        "due_on": date(2026, 3, 19),
        "supplier": SUPPLIER,
        "bank": BANK,
        "buyer": BUYER,
        "lines": LINES,
        "basis": "Заказ № 4711 от 11.03.2026",
        "director": "Иванов И. И.",
        "accountant": "Петрова А. А.",
    }
    return InvoiceData(**{**values, **changes})


def test_vat_is_worked_out_per_rate_and_rounded_half_up():
    # 10 %: 455,00 + 569,70 = 1 024,70 → 102 470 × 10 / 110 = 9 315,45… → 93,15
    # 22 %: 427,00 → 42 700 × 22 / 122 = 7 700,0 → 77,00
    assert [(v.percent, v.total_kopecks, v.vat_kopecks) for v in vat_breakdown(LINES)] == [
        (10, 1_024_70, 93_15),
        (22, 427_00, 77_00),
    ]
    assert vat_inside(110, 10) == 10
    assert vat_inside(5, 10) == 0  # 0,4545… kopeck
    assert vat_inside(6, 10) == 1  # 0,5454…
    assert vat_inside(11, 10) == 1  # exactly 1
    assert vat_inside(1_00, 22) == 18  # 18,03…
    assert vat_inside(61, 22) == 11  # exactly 11
    assert vat_inside(0, 22) == 0


def test_lines_without_vat_are_left_out_of_the_breakdown():
    lines = (
        *LINES,
        InvoiceLine(name="Доставка", quantity=1, price_kopecks=500_00, vat_percent=None),
    )
    assert [v.percent for v in vat_breakdown(lines)] == [10, 22]
    only_free = (InvoiceLine(name="Книга", quantity=1, price_kopecks=100, vat_percent=None),)
    assert vat_breakdown(only_free) == ()
    assert invoice_purpose(invoice(lines=only_free)) == (
        "Оплата по счёту № 2026-000123 от 12.03.2026, НДС не облагается"
    )


def test_purpose_names_the_invoice_and_the_vat_of_each_rate():
    assert invoice_purpose(invoice()) == (
        f"Оплата по счёту № 2026-000123 от 12.03.2026, в т.ч. НДС 10{NBSP}% — 93,15 руб., "
        f"НДС 22{NBSP}% — 77,00 руб."
    )


def test_formatting_helpers():
    assert money(0) == "0,00"
    assert money(123456789) == f"1{NBSP}234{NBSP}567,89"
    assert date_in_words(date(2026, 3, 1)) == f"1 марта 2026{NBSP}г."
    assert date_in_words(date(2026, 12, 31)) == f"31 декабря 2026{NBSP}г."


def test_the_qr_payload_is_the_gost_text_for_the_total():
    payload = invoice_qr_payload(invoice())
    assert payload == payment_payload(
        name="ООО «Фарм-Дистрибьютор»",
        personal_acc="40702810200000012345",
        bank_name="ПАО Сбербанк",
        bic="044525225",
        corresp_acc="30101810400000000225",
        sum_kopecks=1_451_70,
        purpose=invoice_purpose(invoice()),
        payee_inn="7704123450",
        kpp="770401001",
        payer_inn="5027123457",
    )
    assert parse_payload(payload)["Sum"] == "145170"


def test_the_pdf_shows_the_invoice_as_an_accountant_expects():
    pdf = render_invoice(invoice())
    assert pdf.startswith(b"%PDF-")
    (page,) = page_texts(pdf)
    lines = page.splitlines()
    # The bank block, in the classic grid.
    for text in [
        "ПАО Сбербанк Банк получателя",
        "БИК",
        "044525225",
        "30101810400000000225",
        "ИНН 7704123450",
        "КПП 770401001",
        "40702810200000012345",
        "ООО «Фарм-Дистрибьютор» Получатель",
    ]:
        assert text in lines
    assert lines.count("Сч. №") == 2
    assert "Счёт на оплату № 2026-000123 от 12 марта 2026 г." in lines
    assert (
        "ООО «Фарм-Дистрибьютор», ИНН 7704123450, КПП 770401001, "
        "115093, г. Москва, ул. Павловская, д. 7"
    ) in lines
    # The buyer's «&» is text, not markup.
    assert any(line.startswith("ООО «Аптека Здоровье» & Ко, ИНН 5027123457") for line in lines)
    assert "Основание:" in lines
    header = ["№", "Товар", "Кол-во", "Ед.", "Цена", "НДС", "Сумма"]
    start = lines.index("№")
    assert lines[start : start + 7] == header
    assert lines[start + 7 : start + 14] == [
        "1",
        "Парацетамол таб. 500 мг № 20",
        "10",
        "уп.",
        "45,50",
        "10 %",
        "455,00",
    ]
    for label, value in [
        ("Итого:", "1 451,70"),
        ("В том числе НДС 10 %:", "93,15"),
        ("НДС 22 %:", "77,00"),
        ("Всего к оплате:", "1 451,70"),
    ]:
        assert lines[lines.index(label) + 1] == value
    assert "Всего наименований 3, на сумму 1 451,70 руб." in lines
    assert "Одна тысяча четыреста пятьдесят один рубль 70 копеек" in lines
    assert "Оплатить не позднее 19.03.2026." in lines
    assert any(
        line.startswith("Назначение платежа: Оплата по счёту № 2026-000123") for line in lines
    )
    assert "Руководитель" in lines and "Бухгалтер" in lines
    assert any(line.endswith("Иванов И. И.") for line in lines)
    assert any(line.endswith("Петрова А. А.") for line in lines)


def test_the_qr_code_in_the_pdf_decodes_to_the_payment():
    data = invoice()
    (image,) = images(render_invoice(data))
    (result,) = zxingcpp.read_barcodes(image)
    assert result.bytes.decode("utf-8") == invoice_qr_payload(data)


def test_the_pdf_is_reproducible():
    assert render_invoice(invoice()) == render_invoice(invoice())


def test_an_order_of_200_lines_runs_over_pages_with_the_header_on_each():
    lines = tuple(
        InvoiceLine(
            name=f"Товар {i:03d} с довольно длинным названием, которое не уместится в строку",
            quantity=i,
            price_kopecks=100_00 + i,
            vat_percent=22 if i % 5 == 0 else 10,
        )
        for i in range(1, 201)
    )
    pdf = render_invoice(invoice(lines=lines))
    pages = page_texts(pdf)
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        rows = page.splitlines()
        assert rows[0] == f"Счёт № 2026-000123 от 12.03.2026 · страница {number}"
        assert "Товар" in rows and "Сумма" in rows
    # Every line once, in order: the number cell comes right before the name cell.
    rows = "\n".join(pages).splitlines()
    numbers = [int(rows[i - 1]) for i, row in enumerate(rows) if row.startswith("Товар ")]
    assert numbers == list(range(1, 201))
    assert all(f"Товар {i:03d} с довольно длинным" in "\n".join(pages) for i in range(1, 201))
    assert "Всего к оплате:" in pages[-1].splitlines()
    assert all("Всего к оплате:" not in page.splitlines() for page in pages[:-1])
    total = sum(line.amount_kopecks for line in lines)
    in_words = f"Всего наименований 200, на сумму {money(total).replace(NBSP, ' ')} руб."
    assert in_words in pages[-1].splitlines()
    assert len(images(pdf)) == 1


@pytest.mark.parametrize(
    "line",
    [
        {"quantity": 0, "price_kopecks": 100, "vat_percent": 10},
        {"quantity": 1, "price_kopecks": -1, "vat_percent": 10},
        {"quantity": 1, "price_kopecks": 100, "vat_percent": 100},
    ],
)
def test_impossible_lines_are_refused(line):
    with pytest.raises(ValueError):
        InvoiceLine(name="x", **line)


def test_an_invoice_needs_lines():
    with pytest.raises(ValueError):
        invoice(lines=())
