"""Catalog, price and stock imports from CSV/XLSX (SPEC P-CAT-5).

Two phases, so that a bad file never leaves the catalog half-updated:

1. `prepare_import` reads the whole file and checks every row against the database as it
   stands, reporting progress as it goes; it writes nothing. A file it cannot read, with
   unknown or missing columns, or with more than half of its rows rejected is refused
   whole (`ImportRefused`).
2. `apply_import` writes every accepted row with bulk statements; the caller runs it inside
   one transaction, so an error there rolls all of it back.

Rules a user sees on the upload page: an empty cell in an optional column leaves the
product's value as it is (a new product gets the default); a non-empty «Штрихкод» cell is
the product's whole set of barcodes; a stock row sets the quantity and expiry of its series
in its warehouse, and series absent from the file stay as they are.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import ean as stdnum_ean

from kabinet.core.errors import ValidationFailed
from kabinet.core.money import parse_amount
from kabinet.pharma.catalog.models import (
    Barcode,
    Category,
    ImportKind,
    Manufacturer,
    Offer,
    Price,
    PriceList,
    Product,
    Warehouse,
)
from kabinet.pharma.catalog.text import search_text_for

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = (".csv", ".xlsx")
# More rejected rows than this share means a wrong file (another supplier's layout, a shifted
# column), not a few bad lines: nothing is applied.
MAX_REJECTED_SHARE = Decimal("0.5")
# Rows between two progress reports: the page polls twice a second, a write per row is waste.
PROGRESS_EVERY = 250
BATCH_SIZE = 1000
# Below SQLite's limit on bound parameters, so an `__in` lookup never has to be split twice.
_IN_CHUNK = 900

REPORT_HEADER = ("строка", "данные", "причина")


class ImportRefused(ValidationFailed):
    """The whole file is refused: nothing in the catalog changed."""

    default_code = "import_refused"

    def __init__(self, message: str, *, rejected: Sequence[Rejected] = ()):
        super().__init__(message)
        self.rejected = list(rejected)


class _Bad(Exception):
    """One cell's problem; the message is the reason a user reads."""


@dataclass(frozen=True)
class Rejected:
    line: int
    data: str
    reason: str

    def __str__(self) -> str:
        return _("строка %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}


@dataclass
class Row:
    line: int
    cells: dict[str, Any]
    raw: list[str]

    def text(self, name: str) -> str:
        value = self.cells.get(name)
        if value is None:
            return ""
        if isinstance(value, date):
            return f"{value:%d.%m.%Y}"
        return str(value)


@dataclass
class Plan:
    """What phase 1 found: accepted items to write, rejected rows to report."""

    kind: str
    total_rows: int
    items: list[Any]
    rejected: list[Rejected]
    price_list: PriceList | None = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportSummary:
    kind: str
    total_rows: int
    accepted_rows: int
    rejected: list[Rejected]
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def rejected_rows(self) -> int:
        return len(self.rejected)

    def text(self) -> str:
        return _(
            "строк: %(total)s, принято: %(accepted)s (новых: %(created)s, изменено: "
            "%(updated)s, без изменений: %(unchanged)s), отклонено: %(rejected)s"
        ) % {
            "total": self.total_rows,
            "accepted": self.accepted_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected_rows,
        }


ProgressCallback = Callable[[int, int], None]

# --- columns --------------------------------------------------------------------------------

# field → (the Russian heading shown in messages, other accepted spellings)
_CATALOG_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("Код", "код товара", "code"),
    "trade_name": ("Наименование", "торговое наименование", "trade_name", "name"),
    "inn_name": ("МНН", "inn_name", "inn"),
    "form": ("Форма", "лекарственная форма", "form"),
    "dosage": ("Дозировка", "dosage"),
    "pack": ("Упаковка", "pack"),
    "pack_size": ("Кол-во в уп.", "количество в упаковке", "кол-во в уп", "pack_size"),
    "manufacturer": ("Производитель", "manufacturer"),
    "country": ("Страна", "страна производства", "country"),
    "barcodes": ("Штрихкод", "штрихкоды", "barcode", "barcodes", "ean", "ean13"),
    "category": ("Категория", "category"),
    "prescription_only": ("Рецептурный", "по рецепту", "prescription_only", "prescription"),
    "jnvlp": ("ЖНВЛП", "jnvlp"),
    "registered_price": ("Зарег. цена", "зарегистрированная цена", "registered_price"),
    "cold_chain": ("Холодовая цепь", "cold_chain"),
    "storage_min_c": ("Хранение от", "storage_min_c", "storage_min"),
    "storage_max_c": ("Хранение до", "storage_max_c", "storage_max"),
    "vat_percent": ("НДС", "ндс, %", "vat_percent", "vat"),
    "order_multiple": ("Кратность", "кратность заказа", "order_multiple"),
    "delivery_conditions": ("Условия доставки", "delivery_conditions"),
    "description": ("Описание", "description"),
}
_PRICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("Код", "код товара", "code"),
    "price": ("Цена", "цена с ндс", "price"),
}
_STOCK_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("Код", "код товара", "code"),
    "warehouse": ("Склад", "код склада", "warehouse"),
    "series": ("Серия", "series"),
    "expires_on": ("Годен до", "срок годности", "expires_on", "expiry"),
    "quantity": ("Остаток", "количество", "quantity", "qty"),
}
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    ImportKind.CATALOG: _CATALOG_COLUMNS,
    ImportKind.PRICES: _PRICE_COLUMNS,
    ImportKind.STOCK: _STOCK_COLUMNS,
}
REQUIRED: dict[str, tuple[str, ...]] = {
    ImportKind.CATALOG: ("code", "trade_name", "manufacturer", "country", "category"),
    ImportKind.PRICES: ("code", "price"),
    ImportKind.STOCK: ("code", "warehouse", "series", "expires_on", "quantity"),
}


def _heading_key(text: str) -> str:
    key = text.replace("\ufeff", "").strip().lower().replace("ё", "е")
    return re.sub(r"\s+", " ", key).rstrip(".").strip()


def heading(kind: str, name: str) -> str:
    """The Russian column heading of a field, as the sample files and messages spell it."""
    return COLUMNS[kind][name][0]


def expected_headings(kind: str) -> list[str]:
    return [spellings[0] for spellings in COLUMNS[kind].values()]


def map_header(kind: str, header: Sequence[str]) -> list[str | None]:
    """The field of every column (None for an empty trailing one), or the whole file refused."""
    lookup = {
        _heading_key(spelling): name
        for name, spellings in COLUMNS[kind].items()
        for spelling in spellings
    }
    fields: list[str | None] = []
    unknown: list[str] = []
    seen: set[str] = set()
    repeated: list[str] = []
    for cell in header:
        text = str(cell or "").strip()
        if not text:
            fields.append(None)
            continue
        name = lookup.get(_heading_key(text))
        if name is None:
            unknown.append(text)
        elif name in seen:
            repeated.append(text)
        else:
            seen.add(name)
        fields.append(name)
    missing = [heading(kind, name) for name in REQUIRED[kind] if name not in seen]
    problems = []
    if unknown:
        problems.append(_("неизвестные столбцы: %s") % _quoted(unknown))
    if repeated:
        problems.append(_("повторяются столбцы: %s") % _quoted(repeated))
    if missing:
        problems.append(_("нет обязательных столбцов: %s") % _quoted(missing))
    if problems:
        raise ImportRefused(
            _("Файл не принят, ничего не изменено: %(problems)s. Ожидаются столбцы: %(expected)s.")
            % {"problems": "; ".join(problems), "expected": ", ".join(expected_headings(kind))}
        )
    return fields


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"«{n}»" for n in names)


# --- reading --------------------------------------------------------------------------------


def check_upload(*, file_name: str, size: int) -> None:
    """Refuse a file the importer would not read, before it is stored."""
    if not file_name.lower().endswith(ALLOWED_EXTENSIONS):
        raise ValidationFailed(
            _("Загрузите файл CSV или XLSX (а не «%s»).") % file_name, field="file"
        )
    if size > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            _("Файл больше %(limit)s МБ (%(size)s МБ): разделите его на части.")
            % {"limit": MAX_UPLOAD_BYTES // (1024 * 1024), "size": f"{size / 1024 / 1024:.1f}"},
            field="file",
        )
    if size == 0:
        raise ValidationFailed(_("Файл пуст."), field="file")


def read_table(*, content: bytes, file_name: str) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The header and the numbered non-empty rows of a CSV or the first sheet of an XLSX."""
    if file_name.lower().endswith(".xlsx"):
        rows = _xlsx_rows(content)
    elif file_name.lower().endswith(".csv"):
        rows = _csv_rows(content)
    else:
        raise ImportRefused(_("Файл не принят: поддерживаются только CSV и XLSX."))
    numbered = iter(rows)
    header: list[str] = []
    for _line, cells in numbered:
        if any(cell_text(c) for c in cells):
            header = [cell_text(c) for c in cells]
            break
    if not header:
        raise ImportRefused(_("Файл не принят: в нём нет строки заголовков."))
    body = [(line, cells) for line, cells in numbered if any(cell_text(c) for c in cells)]
    return header, body


def _decode(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on a Russian Windows saves "CSV" in cp1251.
        return content.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            _("Файл не принят: не удалось прочитать текст (ожидается UTF-8 или Windows-1251).")
        ) from exc


def _csv_rows(content: bytes) -> list[tuple[int, list[Any]]]:
    text = _decode(content)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(number, row) for number, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise ImportRefused(_("Файл не принят: CSV не читается (%s).") % exc) from exc


def _xlsx_rows(content: bytes) -> list[tuple[int, list[Any]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ImportRefused(_("Файл не принят: это не книга Excel XLSX.")) from exc
    try:
        sheet = book.worksheets[0]
        return [
            (number, list(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """A cell as the text a user typed: Excel's numbers without a float's noise."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        # repr is the shortest text that reads back as this float: what the user typed.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return f"{value.date():%d.%m.%Y}"
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    return str(value).strip()


def _rows(kind: str, header: list[str], body: list[tuple[int, list[Any]]]) -> Iterator[Row]:
    fields = map_header(kind, header)
    for line, cells in body:
        values: dict[str, Any] = {}
        for name, cell in zip(fields, cells, strict=False):
            if name is None:
                continue
            if isinstance(cell, datetime):
                values[name] = cell.date()
            elif isinstance(cell, date):
                values[name] = cell
            else:
                values[name] = cell_text(cell)
        yield Row(line=line, cells=values, raw=[cell_text(c) for c in cells])


# --- cell parsers (each raises _Bad with the reason a user reads) ----------------------------


def _money(text: str, label: str) -> int:
    cleaned = re.sub(r"[\s\u00a0\u202f₽]|руб\.?", "", text)
    if cleaned.count(",") + cleaned.count(".") > 1:
        raise _Bad(_('%(label)s "%(text)s" — не число') % {"label": label, "text": text})
    cleaned = cleaned.replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise _Bad(_('%(label)s "%(text)s" — не число') % {"label": label, "text": text}) from None
    if not number.is_finite():
        raise _Bad(_('%(label)s "%(text)s" — не число') % {"label": label, "text": text})
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise _Bad(
            _('%(label)s "%(text)s" — не больше двух знаков после запятой')
            % {"label": label, "text": text}
        )
    kopecks = parse_amount(cleaned)
    if kopecks <= 0:
        raise _Bad(
            _('%(label)s "%(text)s" — должна быть больше нуля') % {"label": label, "text": text}
        )
    return kopecks


def _whole(text: str, label: str, *, minimum: int, maximum: int) -> int:
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace("+", "")
    if re.fullmatch(r"-?\d+([.,]0+)?", cleaned):
        value = int(re.split(r"[.,]", cleaned)[0])
    elif re.fullmatch(r"-?\d*[.,]\d+", cleaned):
        raise _Bad(_('%(label)s "%(text)s" — нужно целое число') % {"label": label, "text": text})
    else:
        raise _Bad(_('%(label)s "%(text)s" — не число') % {"label": label, "text": text})
    if value < minimum:
        if minimum == 0:
            raise _Bad(
                _('%(label)s "%(text)s" — не может быть отрицательным')
                % {"label": label, "text": text}
            )
        raise _Bad(
            _('%(label)s "%(text)s" — не меньше %(minimum)s')
            % {"label": label, "text": text, "minimum": minimum}
        )
    if value > maximum:
        raise _Bad(
            _('%(label)s "%(text)s" — не больше %(maximum)s')
            % {"label": label, "text": text, "maximum": maximum}
        )
    return value


_YES = {"да", "д", "1", "yes", "y", "true", "+", "истина"}
_NO = {"нет", "н", "0", "no", "n", "false", "-", "ложь"}


def _flag(text: str, label: str) -> bool:
    key = text.strip().lower()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise _Bad(
        _('%(label)s "%(text)s" — ожидается «да» или «нет»') % {"label": label, "text": text}
    )


def _day(value: Any, label: str) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _Bad(
        _('%(label)s "%(text)s" — ожидается дата ДД.ММ.ГГГГ') % {"label": label, "text": text}
    )


def _ean13(text: str) -> str:
    if not re.fullmatch(r"\d{13}", text):
        raise _Bad(_('штрихкод "%s" — нужно 13 цифр EAN-13') % text)
    if not stdnum_ean.is_valid(text):
        raise _Bad(_("штрихкод %s — неверная контрольная цифра") % text)
    return text


def _text(row: Row, name: str, kind: str, max_length: int) -> str:
    value = row.text(name).strip()
    if len(value) > max_length:
        raise _Bad(
            _("%(label)s длиннее %(max)s символов")
            % {"label": heading(kind, name), "max": max_length}
        )
    return value


def _category_path(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split("/") if p.strip())
    if not parts:
        raise _Bad(_("категория не заполнена"))
    if any(len(p) > 150 for p in parts):
        raise _Bad(_("название категории длиннее 150 символов"))
    return parts


# --- phase 1: read and check ----------------------------------------------------------------


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _by(qs: QuerySet[Any], lookup: str, values: Iterable[Any]) -> list[Any]:
    wanted = sorted(set(values))
    found: list[Any] = []
    for chunk in _chunks(wanted):
        found.extend(qs.filter(**{f"{lookup}__in": chunk}))
    return found


def prepare_import(
    *,
    kind: str,
    content: bytes,
    file_name: str,
    price_list: PriceList | None = None,
    day: date | None = None,
    on_progress: ProgressCallback | None = None,
) -> Plan:
    """Phase 1: read the file and check every row; writes nothing, refuses a bad file whole."""
    if kind not in ImportKind.values:
        raise ImportRefused(_("Неизвестный вид импорта: %s") % kind)
    header, body = read_table(content=content, file_name=file_name)
    rows = list(_rows(kind, header, body))
    if not rows:
        raise ImportRefused(_("Файл не принят: в нём нет строк с данными."))
    day = day or timezone.localdate()
    if kind == ImportKind.PRICES:
        price_list = price_list or PriceList.objects.filter(is_base=True).first()
        if price_list is None:
            raise ImportRefused(_("Не выбран прайс-лист, и базового прайс-листа нет."))
    checkers: dict[str, type[_Checker]] = {
        ImportKind.CATALOG: _CatalogChecker,
        ImportKind.PRICES: _PriceChecker,
        ImportKind.STOCK: _StockChecker,
    }
    checker = checkers[kind](rows=rows, day=day, price_list=price_list)

    total = len(rows)
    if on_progress:
        on_progress(0, total)
    items: list[Any] = []
    rejected: list[Rejected] = []
    for done, row in enumerate(rows, start=1):
        try:
            items.append(checker.check(row))
        except _Bad as bad:
            rejected.append(Rejected(row.line, "; ".join(row.raw), str(bad)))
        if on_progress and (done % PROGRESS_EVERY == 0 or done == total):
            on_progress(done, total)
    if Decimal(len(rejected)) > MAX_REJECTED_SHARE * total:
        raise ImportRefused(
            _(
                "Файл не принят, ничего не изменено: отклонено %(rejected)s строк из %(total)s "
                "(больше половины) — проверьте, тот ли это файл. Причины — в отчёте."
            )
            % {"rejected": len(rejected), "total": total},
            rejected=rejected,
        )
    return Plan(
        kind=kind,
        total_rows=total,
        items=items,
        rejected=rejected,
        price_list=price_list,
        context=checker.context(),
    )


class _Checker:
    """Checks rows of one kind against what the database holds, loaded once up front."""

    kind: str

    def __init__(self, *, rows: list[Row], day: date, price_list: PriceList | None):
        self.day = day
        self.price_list = price_list
        self.first_line: dict[Any, int] = {}

    def check(self, row: Row) -> Any:
        raise NotImplementedError

    def context(self) -> dict[str, Any]:
        return {}

    def required(self, row: Row, *names: str) -> None:
        empty = [heading(self.kind, n) for n in names if not row.text(n).strip()]
        if empty:
            raise _Bad(_("не заполнено: %s") % ", ".join(empty))

    def once(self, key: Any, row: Row, what: str) -> None:
        first = self.first_line.setdefault(key, row.line)
        if first != row.line:
            raise _Bad(
                _("%(what)s уже встречался в строке %(line)s") % {"what": what, "line": first}
            )

    def product_codes(self, rows: list[Row]) -> list[str]:
        return [row.text("code").strip() for row in rows if row.text("code").strip()]


@dataclass
class _PriceItem:
    product_id: int
    price_kopecks: int
    line: int
    changed: bool


class _PriceChecker(_Checker):
    kind = ImportKind.PRICES

    def __init__(self, *, rows: list[Row], day: date, price_list: PriceList | None):
        super().__init__(rows=rows, day=day, price_list=price_list)
        assert price_list is not None
        codes = self.product_codes(rows)
        fields = ("id", "code", "jnvlp", "registered_price_kopecks", "vat_percent")
        self.products: dict[str, Product] = {
            p.code: p for p in _by(Product.objects.only(*fields), "code", codes)
        }
        self.current: dict[int, int] = dict(
            _by(
                Price.objects.filter(price_list=price_list).values_list(
                    "product_id", "price_kopecks"
                ),
                "product_id",
                [p.pk for p in self.products.values()],
            )
        )
        self.ceiling = ceiling_checker(price_list=price_list, day=day)

    def check(self, row: Row) -> _PriceItem:
        self.required(row, "code", "price")
        code = row.text("code").strip()
        self.once(code, row, _("код %s") % code)
        product = self.products.get(code)
        problems = []
        if product is None:
            problems.append(_("товар с кодом %s не найден") % code)
        kopecks = None
        try:
            kopecks = _money(row.text("price"), _("цена"))
        except _Bad as bad:
            problems.append(str(bad))
        if product is not None and kopecks is not None and product.jnvlp:
            reason = self.ceiling(product, kopecks)
            if reason:
                problems.append(reason[:1].lower() + reason[1:])
        if problems:
            raise _Bad("; ".join(problems))
        assert product is not None and kopecks is not None
        return _PriceItem(
            product_id=product.pk,
            price_kopecks=kopecks,
            line=row.line,
            changed=self.current.get(product.pk) != kopecks,
        )


@dataclass
class _StockItem:
    product_id: int
    warehouse_id: int
    series: str
    expires_on: date
    quantity: int
    line: int
    raw: str
    offer_id: int | None
    changed: bool


def reserve_reason(*, reserved: int, quantity: int) -> str:
    return _("в резерве больше, чем новый остаток (в резерве %(reserved)s, остаток %(qty)s)") % {
        "reserved": reserved,
        "qty": quantity,
    }


class _StockChecker(_Checker):
    kind = ImportKind.STOCK

    def __init__(self, *, rows: list[Row], day: date, price_list: PriceList | None):
        super().__init__(rows=rows, day=day, price_list=price_list)
        codes = self.product_codes(rows)
        self.products: dict[str, int] = dict(
            _by(Product.objects.values_list("code", "id"), "code", codes)
        )
        self.warehouses: dict[str, int] = dict(Warehouse.objects.values_list("code", "id"))
        # (product, warehouse, series) → (offer id, quantity, reserved, expires_on)
        self.offers: dict[tuple[int, int, str], tuple[int, int, int, date]] = {
            (o[1], o[2], o[3]): (o[0], o[4], o[5], o[6])
            for o in _by(
                Offer.objects.values_list(
                    "id",
                    "product_id",
                    "warehouse_id",
                    "series",
                    "quantity",
                    "reserved",
                    "expires_on",
                ),
                "product_id",
                self.products.values(),
            )
        }

    def check(self, row: Row) -> _StockItem:
        self.required(row, "code", "warehouse", "series", "expires_on", "quantity")
        code = row.text("code").strip()
        warehouse_code = row.text("warehouse").strip()
        series = row.text("series").strip()
        self.once(
            (code, warehouse_code, series),
            row,
            _("товар %(code)s серии %(series)s на складе %(warehouse)s")
            % {"code": code, "series": series, "warehouse": warehouse_code},
        )
        problems = []
        product_id = self.products.get(code)
        if product_id is None:
            problems.append(_("товар с кодом %s не найден") % code)
        warehouse_id = self.warehouses.get(warehouse_code)
        if warehouse_id is None:
            problems.append(_("склад %s не найден") % warehouse_code)
        if len(series) > 40:
            problems.append(_("серия длиннее 40 символов"))
        expires_on = quantity = None
        try:
            expires_on = _day(row.cells["expires_on"], _("годен до"))
            if expires_on < self.day:
                problems.append(_("срок годности %s уже истёк") % f"{expires_on:%d.%m.%Y}")
        except _Bad as bad:
            problems.append(str(bad))
        try:
            quantity = _whole(row.text("quantity"), _("остаток"), minimum=0, maximum=10_000_000)
        except _Bad as bad:
            problems.append(str(bad))
        offer = None
        if product_id is not None and warehouse_id is not None:
            offer = self.offers.get((product_id, warehouse_id, series))
        if offer is not None and quantity is not None and offer[2] > quantity:
            problems.append(reserve_reason(reserved=offer[2], quantity=quantity))
        if problems:
            raise _Bad("; ".join(problems))
        assert product_id and warehouse_id and expires_on and quantity is not None
        return _StockItem(
            product_id=product_id,
            warehouse_id=warehouse_id,
            series=series,
            expires_on=expires_on,
            quantity=quantity,
            line=row.line,
            raw="; ".join(row.raw),
            offer_id=offer[0] if offer else None,
            changed=offer is None or (offer[1], offer[3]) != (quantity, expires_on),
        )


# Editable product fields a catalog import may set, and their defaults for a new product.
_PRODUCT_DEFAULTS: dict[str, Any] = {
    "inn_name": "",
    "form": "",
    "dosage": "",
    "pack": "",
    "pack_size": 1,
    "description": "",
    "prescription_only": False,
    "jnvlp": False,
    "registered_price_kopecks": None,
    "cold_chain": False,
    "storage_min_c": None,
    "storage_max_c": None,
    "vat_percent": 10,
    "order_multiple": 1,
    "delivery_conditions": "",
}
_TEXT_LIMITS = {
    "trade_name": 200,
    "inn_name": 200,
    "form": 120,
    "dosage": 80,
    "pack": 80,
    "manufacturer": 200,
    "country": 80,
    "delivery_conditions": 255,
    "description": 10_000,
}
PRODUCT_FIELDS = (
    "trade_name",
    "manufacturer_id",
    "country",
    "category_id",
    *_PRODUCT_DEFAULTS,
    "is_active",
    "search_text",
    "updated_at",
)


@dataclass
class _CatalogItem:
    code: str
    values: dict[str, Any]
    manufacturer: str
    category: tuple[str, ...]
    barcodes: list[str] | None
    existing: Product | None
    line: int


class _CatalogChecker(_Checker):
    kind = ImportKind.CATALOG

    def __init__(self, *, rows: list[Row], day: date, price_list: PriceList | None):
        super().__init__(rows=rows, day=day, price_list=price_list)
        codes = self.product_codes(rows)
        self.existing: dict[str, Product] = {
            p.code: p
            for p in _by(Product.objects.select_related("manufacturer", "category"), "code", codes)
        }
        listed: set[str] = set()
        for row in rows:
            listed.update(re.split(r"[\s,;]+", row.text("barcodes").strip()))
        listed.discard("")
        self.barcode_owner: dict[str, tuple[int, str]] = {
            ean: (pid, code)
            for ean, pid, code in _by(
                Barcode.objects.values_list("ean13", "product_id", "product__code"),
                "ean13",
                listed,
            )
        }
        self.barcodes_of: dict[int, list[str]] = {}
        for pid, ean in _by(
            Barcode.objects.values_list("product_id", "ean13"),
            "product_id",
            [p.pk for p in self.existing.values()],
        ):
            self.barcodes_of.setdefault(pid, []).append(ean)
        self.barcode_line: dict[str, int] = {}

    def context(self) -> dict[str, Any]:
        return {"barcodes_of": self.barcodes_of}

    def check(self, row: Row) -> _CatalogItem:
        self.required(row, "code", "trade_name", "manufacturer", "country", "category")
        code = row.text("code").strip()
        if len(code) > 20:
            raise _Bad(_("код длиннее 20 символов"))
        self.once(code, row, _("код %s") % code)
        existing = self.existing.get(code)
        values = (
            {name: getattr(existing, name) for name in _PRODUCT_DEFAULTS}
            if existing
            else dict(_PRODUCT_DEFAULTS)
        )
        problems: list[str] = []

        def cell(name: str, parse: Callable[[str], Any], target: str | None = None) -> None:
            text = row.text(name).strip()
            if not text:
                return
            try:
                values[target or name] = parse(text)
            except _Bad as bad:
                problems.append(str(bad))

        for name, limit in _TEXT_LIMITS.items():
            try:
                value = _text(row, name, self.kind, limit)
            except _Bad as bad:
                problems.append(str(bad))
                continue
            if value or name in ("trade_name", "manufacturer", "country"):
                values[name] = value
        category: tuple[str, ...] = ()
        try:
            category = _category_path(row.text("category"))
        except _Bad as bad:
            problems.append(str(bad))
        cell(
            "pack_size",
            lambda t: _whole(t, heading(self.kind, "pack_size"), minimum=1, maximum=100_000),
        )
        cell(
            "order_multiple",
            lambda t: _whole(t, heading(self.kind, "order_multiple"), minimum=1, maximum=100_000),
        )
        for flag in ("prescription_only", "jnvlp", "cold_chain"):
            cell(flag, partial(_flag, label=heading(self.kind, flag)))
        cell(
            "registered_price",
            lambda t: _money(t, heading(self.kind, "registered_price")),
            "registered_price_kopecks",
        )
        for bound in ("storage_min_c", "storage_max_c"):
            cell(bound, partial(_whole, label=heading(self.kind, bound), minimum=-100, maximum=100))
        cell("vat_percent", self._vat)
        barcodes = self._barcodes(row, code, existing, problems)
        if values["jnvlp"] and not values["registered_price_kopecks"]:
            problems.append(_("у ЖНВЛП должна быть зарегистрированная цена"))
        low, high = values["storage_min_c"], values["storage_max_c"]
        if low is not None and high is not None and low >= high:
            problems.append(_("«Хранение от» должно быть ниже «Хранение до»"))
        if values["cold_chain"] and (low is None or high is None):
            problems.append(_("для холодовой цепи нужны «Хранение от» и «Хранение до»"))
        if problems:
            raise _Bad("; ".join(problems))
        manufacturer = values.pop("manufacturer")
        return _CatalogItem(
            code=code,
            values=values,
            manufacturer=manufacturer,
            category=category,
            barcodes=barcodes,
            existing=existing,
            line=row.line,
        )

    def _vat(self, text: str) -> int:
        value = _whole(
            text.replace("%", ""), heading(self.kind, "vat_percent"), minimum=0, maximum=100
        )
        if value not in (0, 10, 20, 22):
            raise _Bad(_('НДС "%s" — допустимо 0, 10, 20 или 22') % text)
        return value

    def _barcodes(
        self, row: Row, code: str, existing: Product | None, problems: list[str]
    ) -> list[str] | None:
        text = row.text("barcodes").strip()
        if not text:
            return None
        found: list[str] = []
        for token in re.split(r"[\s,;]+", text):
            if not token:
                continue
            try:
                ean = _ean13(token)
            except _Bad as bad:
                problems.append(str(bad))
                continue
            owner = self.barcode_owner.get(ean)
            if owner is not None and (existing is None or owner[0] != existing.pk):
                problems.append(
                    _("штрихкод %(ean)s уже принадлежит товару %(code)s")
                    % {"ean": ean, "code": owner[1]}
                )
                continue
            first = self.barcode_line.setdefault(ean, row.line)
            if first != row.line:
                problems.append(
                    _("штрихкод %(ean)s уже встречался в строке %(line)s")
                    % {"ean": ean, "line": first}
                )
                continue
            if ean not in found:
                found.append(ean)
        return found


# --- ЖНВЛП ceilings ---------------------------------------------------------------------------


def ceiling_checker(*, price_list: PriceList, day: date) -> Callable[[Product, int], str | None]:
    """A check of one ЖНВЛП price against its ceiling: the reason it is refused, or None."""
    from kabinet.pharma.catalog.pricing import check_price_for_list, load_markups

    # Every region's markups, read once for the whole file rather than per row.
    markups = load_markups(day)

    def check(product: Product, price_kopecks: int) -> str | None:
        return check_price_for_list(
            price_list=price_list,
            product=product,
            price_kopecks=price_kopecks,
            day=day,
            bands_cache=markups,
        )

    return check


# --- phase 2: write -------------------------------------------------------------------------


def apply_import(plan: Plan) -> ImportSummary:
    """Phase 2: write every accepted row; call it inside one transaction (see run_import)."""
    summary = ImportSummary(
        kind=plan.kind,
        total_rows=plan.total_rows,
        accepted_rows=len(plan.items),
        rejected=list(plan.rejected),
    )
    now = timezone.now()
    if plan.kind == ImportKind.PRICES:
        _apply_prices(plan, summary, now)
    elif plan.kind == ImportKind.STOCK:
        _apply_stock(plan, summary, now)
    else:
        _apply_catalog(plan, summary, now)
    summary.rejected.sort(key=lambda r: r.line)
    return summary


def run_import(
    *,
    kind: str,
    content: bytes,
    file_name: str,
    price_list: PriceList | None = None,
    day: date | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Both phases, the writes in one transaction: all accepted rows or nothing."""
    plan = prepare_import(
        kind=kind,
        content=content,
        file_name=file_name,
        price_list=price_list,
        day=day,
        on_progress=on_progress,
    )
    with transaction.atomic():
        return apply_import(plan)


def _bulk_upsert(model: type[Model], objs: list[Any], **kwargs: Any) -> None:
    """One INSERT … ON CONFLICT DO UPDATE per batch (PostgreSQL and SQLite alike)."""
    for chunk in _chunks(objs, BATCH_SIZE):
        model._default_manager.bulk_create(list(chunk), update_conflicts=True, **kwargs)


def _apply_prices(plan: Plan, summary: ImportSummary, now: datetime) -> None:
    assert plan.price_list is not None
    changed = [item for item in plan.items if item.changed]
    _bulk_upsert(
        Price,
        [
            Price(
                price_list=plan.price_list,
                product_id=item.product_id,
                price_kopecks=item.price_kopecks,
                updated_at=now,
            )
            for item in changed
        ],
        unique_fields=["price_list", "product"],
        update_fields=["price_kopecks", "updated_at"],
    )
    if changed:
        PriceList.objects.filter(pk=plan.price_list.pk).update(updated_at=now)
    summary.updated = len(changed)
    summary.unchanged = len(plan.items) - len(changed)


def _apply_stock(plan: Plan, summary: ImportSummary, now: datetime) -> None:
    items: list[_StockItem] = plan.items
    existing_ids = [item.offer_id for item in items if item.offer_id]
    # Orders reserve stock meanwhile: lock the series we overwrite (in primary-key order, as
    # every stock writer does) and check the reserve again under the lock.
    reserved: dict[int, int] = {}
    for chunk in _chunks(sorted(existing_ids)):
        reserved.update(
            Offer.objects.select_for_update()
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", "reserved")
        )
    accepted: list[_StockItem] = []
    for item in items:
        held = reserved.get(item.offer_id or 0, 0)
        if held > item.quantity:
            summary.rejected.append(
                Rejected(
                    item.line,
                    item.raw,
                    reserve_reason(reserved=held, quantity=item.quantity),
                )
            )
        else:
            accepted.append(item)
    changed = [item for item in accepted if item.changed]
    _bulk_upsert(
        Offer,
        [
            Offer(
                product_id=item.product_id,
                warehouse_id=item.warehouse_id,
                series=item.series,
                expires_on=item.expires_on,
                quantity=item.quantity,
                updated_at=now,
            )
            for item in changed
        ],
        unique_fields=["product", "warehouse", "series"],
        update_fields=["expires_on", "quantity", "updated_at"],
    )
    summary.accepted_rows = len(accepted)
    summary.created = sum(1 for item in changed if item.offer_id is None)
    summary.updated = len(changed) - summary.created
    summary.unchanged = len(accepted) - len(changed)


def _apply_catalog(plan: Plan, summary: ImportSummary, now: datetime) -> None:
    items: list[_CatalogItem] = plan.items
    manufacturers = _manufacturers(items)
    categories = _categories({item.category for item in items})
    barcodes_of: dict[int, list[str]] = plan.context.get("barcodes_of", {})
    products: list[Product] = []
    barcode_changes: dict[str, list[str]] = {}
    for item in items:
        manufacturer_id, manufacturer_name = manufacturers[item.manufacturer]
        current = barcodes_of.get(item.existing.pk, []) if item.existing else []
        barcodes = item.barcodes if item.barcodes is not None else current
        values = dict(item.values)
        values.update(
            manufacturer_id=manufacturer_id,
            category_id=categories[item.category],
            is_active=item.existing.is_active if item.existing else True,
            search_text=search_text_for(
                trade_name=values["trade_name"],
                inn_name=values["inn_name"],
                manufacturer=manufacturer_name,
                barcodes=sorted(barcodes),
            ),
        )
        barcodes_changed = item.barcodes is not None and sorted(item.barcodes) != sorted(current)
        if (
            item.existing is not None
            and not barcodes_changed
            and all(
                getattr(item.existing, name) == values[name]
                for name in PRODUCT_FIELDS
                if name != "updated_at"
            )
        ):
            summary.unchanged += 1
            continue
        if item.existing is None:
            summary.created += 1
        else:
            summary.updated += 1
        if barcodes_changed or (item.existing is None and item.barcodes):
            barcode_changes[item.code] = item.barcodes or []
        values["updated_at"] = now
        products.append(Product(code=item.code, **values))
    # An upsert on the unique code keeps an existing product's id (and so its prices, stock
    # and orders) while rewriting its fields.
    _bulk_upsert(
        Product,
        products,
        unique_fields=["code"],
        update_fields=[name for name in PRODUCT_FIELDS],
    )
    if barcode_changes:
        ids = dict(_by(Product.objects.values_list("code", "id"), "code", barcode_changes))
        for chunk in _chunks([ids[code] for code in barcode_changes]):
            Barcode.objects.filter(product_id__in=chunk).delete()
        Barcode.objects.bulk_create(
            [
                Barcode(product_id=ids[code], ean13=ean)
                for code, eans in barcode_changes.items()
                for ean in eans
            ],
            batch_size=BATCH_SIZE,
        )


def _manufacturers(items: list[_CatalogItem]) -> dict[str, tuple[int, str]]:
    """Name as written → (id, name as stored), creating the missing ones."""
    countries = {item.manufacturer: item.values["country"] for item in items}
    known = {m.name.lower(): (m.pk, m.name) for m in Manufacturer.objects.all().only("id", "name")}
    missing: dict[str, str] = {}
    for name, country in countries.items():
        # One manufacturer for «ГЕРОФАРМ» and «Герофарм»: the first spelling met.
        if name.lower() not in known:
            known.setdefault(name.lower(), (0, name))
            missing[name] = country
    if missing:
        Manufacturer.objects.bulk_create(
            [Manufacturer(name=name, country=country) for name, country in missing.items()],
            batch_size=BATCH_SIZE,
        )
        known.update(
            (m.name.lower(), (m.pk, m.name))
            for m in _by(Manufacturer.objects.only("id", "name"), "name", missing)
        )
    return {name: known[name.lower()] for name in countries}


def _categories(paths: set[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """Path of names → category id, creating missing nodes with their materialised path."""
    nodes: dict[tuple[int | None, str], Category] = {
        (c.parent_id, c.name): c for c in Category.objects.all()
    }
    resolved: dict[tuple[str, ...], int] = {}
    for path in sorted(paths):
        parent: Category | None = None
        for name in path:
            node = nodes.get((parent.pk if parent else None, name))
            if node is None:
                node = Category.objects.create(name=name, parent=parent, path="")
                node.path = f"{parent.path if parent else ''}{node.pk:04d}."
                node.save(update_fields=["path"])
                nodes[(node.parent_id, name)] = node
            parent = node
        assert parent is not None
        resolved[path] = parent.pk
    return resolved


# --- the report -----------------------------------------------------------------------------


def report_csv(rejected: Iterable[Rejected]) -> str:
    """Rejected rows as `;`-separated CSV (what Excel in Russian expects)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    for item in sorted(rejected, key=lambda r: r.line):
        writer.writerow([item.line, item.data, item.reason])
    return out.getvalue()
