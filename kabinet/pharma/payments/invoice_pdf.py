"""The invoice («Счёт на оплату») as a PDF, with the payee's bank details and a ГОСТ Р 56042-2014
QR code (SPEC P-PAY-1).

Pure: `render_invoice` takes plain frozen dataclasses and returns the PDF's bytes; the order
code builds an `InvoiceData` from an order and stores or streams the result.

Prices include VAT, as on every Russian wholesale invoice. The VAT inside is worked out per
rate, on the total of that rate's lines: total × rate / (100 + rate), rounded half-up to the
kopeck. Rounding each line and summing can differ from that by a kopeck a line; a счёт is not
a tax document, and the per-rate figure is the one that agrees with the total the buyer pays
(the счёт-фактура, which is per line by law, is a separate document).

The layout is the one Russian accountants expect: the bank block (Банк получателя, БИК,
Сч. №, ИНН, КПП, Получатель) with the QR code beside it, the title, Поставщик and Покупатель,
the table of lines (repeated header on every page, so a 200-line order prints), the totals,
the amount in words, the purpose, the due date and the signature lines. The text is Russian
by law, not a translation, so it does not go through gettext. Fonts: DejaVu Sans (Debian's
fonts-dejavu-core), registered once, because the PDF base fonts have no Cyrillic.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from kabinet.pharma.payments import gost_qr
from kabinet.pharma.payments.words import amount_in_words

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
)
FONT = "KabinetDejaVuSans"
FONT_BOLD = "KabinetDejaVuSans-Bold"
NBSP = "\u00a0"
_MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation as the invoice names it."""

    name: str
    inn: str
    kpp: str | None = None
    address: str = ""


@dataclass(frozen=True, slots=True)
class BankAccount:
    """The payee's account: the bank block of the invoice and the QR code."""

    bank_name: str
    bic: str
    corresp_acc: str
    account: str


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """A line: whole packs at a price with VAT included; vat_percent None is «Без НДС»."""

    name: str
    quantity: int
    price_kopecks: int
    vat_percent: int | None
    unit: str = "уп."

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive: {self.quantity}")
        if self.price_kopecks < 0:
            raise ValueError(f"price cannot be negative: {self.price_kopecks}")
        if self.vat_percent is not None and not 0 <= self.vat_percent < 100:
            raise ValueError(f"VAT rate out of range: {self.vat_percent}")

    @property
    def amount_kopecks(self) -> int:
        return self.price_kopecks * self.quantity


@dataclass(frozen=True, slots=True)
class InvoiceData:
    """Everything a счёт on paper says."""

    number: str
    issued_on: date
    due_on: date
    supplier: Party
    bank: BankAccount
    buyer: Party
    lines: tuple[InvoiceLine, ...]
    basis: str = ""
    director: str = ""
    accountant: str = ""
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("an invoice needs at least one line")

    @property
    def total_kopecks(self) -> int:
        return sum(line.amount_kopecks for line in self.lines)


@dataclass(frozen=True, slots=True)
class VatTotal:
    percent: int
    total_kopecks: int
    vat_kopecks: int


def vat_inside(total_kopecks: int, percent: int) -> int:
    """VAT included in a price: total × rate / (100 + rate), rounded half-up to the kopeck."""
    if total_kopecks < 0:
        raise ValueError("total cannot be negative")
    denominator = 100 + percent
    return (2 * total_kopecks * percent + denominator) // (2 * denominator)


def vat_breakdown(lines: Sequence[InvoiceLine]) -> tuple[VatTotal, ...]:
    """VAT per rate, lowest rate first; lines without VAT are left out."""
    totals: dict[int, int] = {}
    for line in lines:
        if line.vat_percent is not None:
            totals[line.vat_percent] = totals.get(line.vat_percent, 0) + line.amount_kopecks
    return tuple(
        VatTotal(percent=rate, total_kopecks=total, vat_kopecks=vat_inside(total, rate))
        for rate, total in sorted(totals.items())
    )


def money(kopecks: int) -> str:
    """123456 → «1 234,56» (no-break space between thousands), as in the invoice's columns."""
    whole, frac = divmod(kopecks, 100)
    return f"{whole:,}".replace(",", NBSP) + f",{frac:02d}"


def date_in_words(day: date) -> str:
    """12 March 2026 → «12 марта 2026 г.»."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}{NBSP}г."


def invoice_purpose(invoice: InvoiceData) -> str:
    """«Оплата по счёту № 2026-000123 от 12.03.2026, в т.ч. НДС 10 % — 112,23 руб.»."""
    head = f"Оплата по счёту № {invoice.number} от {invoice.issued_on:%d.%m.%Y}"
    vat = vat_breakdown(invoice.lines)
    if not vat:
        return f"{head}, НДС не облагается"
    parts = [f"НДС {v.percent}{NBSP}% — {money(v.vat_kopecks)} руб." for v in vat]
    return f"{head}, в т.ч. " + ", ".join(parts)


def invoice_qr_payload(invoice: InvoiceData) -> str:
    """The ГОСТ Р 56042-2014 text of the invoice's QR code."""
    return gost_qr.payment_payload(
        name=invoice.supplier.name,
        personal_acc=invoice.bank.account,
        bank_name=invoice.bank.bank_name,
        bic=invoice.bank.bic,
        corresp_acc=invoice.bank.corresp_acc,
        sum_kopecks=invoice.total_kopecks,
        purpose=invoice_purpose(invoice),
        payee_inn=invoice.supplier.inn,
        kpp=invoice.supplier.kpp,
        payer_inn=invoice.buyer.inn,
    )


@cache
def register_fonts() -> tuple[str, str]:
    """Register DejaVu Sans and Bold with reportlab once per process."""
    for directory in FONT_DIRS:
        regular = os.path.join(directory, "DejaVuSans.ttf")
        bold = os.path.join(directory, "DejaVuSans-Bold.ttf")
        if os.path.exists(regular) and os.path.exists(bold):
            pdfmetrics.registerFont(TTFont(FONT, regular))
            pdfmetrics.registerFont(TTFont(FONT_BOLD, bold))
            pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)
            return FONT, FONT_BOLD
    raise RuntimeError("DejaVu Sans not found: install fonts-dejavu-core")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=8.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=9.5),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=14, leading=17),
        "bold": ParagraphStyle("bold", parent=base, fontName=FONT_BOLD),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "right_bold": ParagraphStyle(
            "right_bold", parent=base, fontName=FONT_BOLD, alignment=TA_RIGHT
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _bank_block(invoice: InvoiceData, st: dict[str, ParagraphStyle], qr: bytes) -> Flowable:
    supplier, bank = invoice.supplier, invoice.bank
    grid = Table(
        [
            [
                Paragraph(
                    f"{escape(bank.bank_name)}<br/><font size=7>Банк получателя</font>", st["base"]
                ),
                "",
                "БИК",
                bank.bic,
            ],
            ["", "", "Сч. №", bank.corresp_acc],
            [f"ИНН {supplier.inn}", f"КПП {supplier.kpp or ''}", "Сч. №", bank.account],
            [
                Paragraph(
                    f"{escape(supplier.name)}<br/><font size=7>Получатель</font>", st["base"]
                ),
                "",
                "",
                "",
            ],
        ],
        colWidths=[36 * mm, 36 * mm, 14 * mm, 45 * mm],
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("SPAN", (0, 0), (1, 1)),
                ("SPAN", (0, 3), (1, 3)),
                ("SPAN", (2, 2), (2, 3)),
                ("SPAN", (3, 2), (3, 3)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                # A sole proprietor's 12-digit INN and a 20-digit account must fit one line.
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        ),
    )
    image = Image(io.BytesIO(qr), width=38 * mm, height=38 * mm)
    return Table(
        [[grid, image]],
        colWidths=[136 * mm, 44 * mm],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )


def _party(party: Party) -> str:
    parts = [party.name, f"ИНН {party.inn}"]
    if party.kpp:
        parts.append(f"КПП {party.kpp}")
    if party.address:
        parts.append(party.address)
    return ", ".join(parts)


def _parties(invoice: InvoiceData, st: dict[str, ParagraphStyle]) -> Flowable:
    rows = [
        [_p("Поставщик:", st["base"]), _p(_party(invoice.supplier), st["bold"])],
        [_p("Покупатель:", st["base"]), _p(_party(invoice.buyer), st["bold"])],
    ]
    if invoice.basis:
        rows.append([_p("Основание:", st["base"]), _p(invoice.basis, st["base"])])
    return Table(
        rows,
        colWidths=[28 * mm, 152 * mm],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        ),
    )


def _vat_label(line: InvoiceLine) -> str:
    return "Без НДС" if line.vat_percent is None else f"{line.vat_percent}{NBSP}%"


def _lines_table(invoice: InvoiceData, st: dict[str, ParagraphStyle]) -> Flowable:
    rows: list[list[object]] = [["№", "Товар", "Кол-во", "Ед.", "Цена", "НДС", "Сумма"]]
    for index, line in enumerate(invoice.lines, start=1):
        rows.append(
            [
                str(index),
                _p(line.name, st["cell"]),
                str(line.quantity),
                line.unit,
                money(line.price_kopecks),
                _vat_label(line),
                money(line.amount_kopecks),
            ]
        )
    return Table(
        rows,
        colWidths=[9 * mm, 83 * mm, 15 * mm, 11 * mm, 22 * mm, 15 * mm, 25 * mm],
        repeatRows=1,
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8),
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BOX", (0, 0), (-1, -1), 1, colors.black),
                ("ALIGN", (0, 0), (-1, 0), "CENTER"),
                ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                ("ALIGN", (4, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                # Narrow padding: a line of 99 999 999,99 ₽ still fits its column.
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )


def _totals(invoice: InvoiceData, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    total = invoice.total_kopecks
    rows = [["Итого:", money(total)]]
    vat = vat_breakdown(invoice.lines)
    for index, item in enumerate(vat):
        label = f"НДС {item.percent}{NBSP}%:"
        rows.append([f"В том числе {label}" if index == 0 else label, money(item.vat_kopecks)])
    if not vat:
        rows.append(["Без налога (НДС):", "—"])
    rows.append(["Всего к оплате:", money(total)])
    table = Table(
        rows,
        colWidths=[150 * mm, 30 * mm],
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT_BOLD, 9),
                ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("RIGHTPADDING", (1, 0), (1, -1), 0),
            ]
        ),
    )
    count = len(invoice.lines)
    return [
        table,
        Spacer(1, 3 * mm),
        _p(f"Всего наименований {count}, на сумму {money(total)} руб.", st["base"]),
        _p(amount_in_words(total), st["bold"]),
    ]


def _signatures(invoice: InvoiceData, st: dict[str, ParagraphStyle]) -> Flowable:
    line = "_" * 22
    return Table(
        [
            [
                _p("Руководитель", st["bold"]),
                _p(f"{line} {invoice.director}".rstrip(), st["base"]),
                _p("Бухгалтер", st["bold"]),
                _p(f"{line} {invoice.accountant}".rstrip(), st["base"]),
            ]
        ],
        colWidths=[30 * mm, 60 * mm, 24 * mm, 66 * mm],
        style=TableStyle(
            [("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]
        ),
    )


def render_invoice(invoice: InvoiceData) -> bytes:
    """The invoice as an A4 PDF (one page or many; the table's header repeats)."""
    register_fonts()
    st = _styles()
    payload = invoice_qr_payload(invoice)
    qr = gost_qr.qr_png(payload)
    buffer = io.BytesIO()
    title = f"Счёт на оплату № {invoice.number} от {date_in_words(invoice.issued_on)}"
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=15 * mm,
        title=title,
        author=invoice.supplier.name,
        invariant=True,
    )
    footer = f"Счёт № {invoice.number} от {invoice.issued_on:%d.%m.%Y}"

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawRightString(
            A4[0] - 15 * mm, 8 * mm, f"{footer} · страница {canvas.getPageNumber()}"
        )
        canvas.restoreState()

    story: list[Flowable] = [
        _bank_block(invoice, st, qr),
        Spacer(1, 6 * mm),
        _p(title, st["title"]),
        HRFlowable(width="100%", thickness=1.5, color=colors.black, spaceBefore=2, spaceAfter=6),
        _parties(invoice, st),
        Spacer(1, 3 * mm),
        _lines_table(invoice, st),
        Spacer(1, 2 * mm),
    ]
    closing: list[Flowable] = [
        *_totals(invoice, st),
        Spacer(1, 3 * mm),
        _p(f"Назначение платежа: {invoice_purpose(invoice)}", st["base"]),
        _p(f"Оплатить не позднее {invoice.due_on:%d.%m.%Y}.", st["bold"]),
        *[_p(note, st["base"]) for note in invoice.notes],
        HRFlowable(width="100%", thickness=1.5, color=colors.black, spaceBefore=6, spaceAfter=10),
        _signatures(invoice, st),
    ]
    story.append(KeepTogether(closing))
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
