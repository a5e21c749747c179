"""Quick order (SPEC P-ORD-1): barcodes or product codes with quantities, pasted or uploaded.

`parse_lines` and `parse_table` turn text or a CSV/XLSX file into numbered lines (pure, apart
from the file reader); `quick_order` resolves them to products and puts them into the cart
through `services.add_to_cart`, in one transaction, reporting on every line.

Decisions:

* a line without a quantity means one pack (what a barcode scanner pasting codes gives);
  the same product on several lines is summed and added once;
* a product not free at the serving warehouse is added anyway and flagged: the cart shows
  stock problems and the partner may wait for stock or change the quantity there;
* a refused product (not a multiple of its order multiple, withdrawn) is reported and left
  out; the rest is added. Nothing is added when the address or the authority is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import Conflict, RuleViolation, ValidationFailed
from kabinet.pharma import selectors as partner_selectors
from kabinet.pharma.catalog import imports
from kabinet.pharma.catalog import selectors as catalog_selectors
from kabinet.pharma.catalog.models import Barcode, Product
from kabinet.pharma.catalog.search import SearchFilters, search_products
from kabinet.pharma.catalog.text import normalise
from kabinet.pharma.models import Authority, PartnerUser
from kabinet.pharma.orders import services

MAX_LINES = 500
MAX_KEY_LENGTH = 100
SUGGESTIONS = 3

_SEPARATORS = (";", "\t", ",")
_NUMBER_LIKE = re.compile(r"[-+]?\d+(?:[.,]\d*)?")
_BARCODE = re.compile(r"\d{8,14}")

BARCODE_HEADINGS = frozenset({"штрихкод", "штрих код", "ean", "ean13", "ean 13", "barcode"})
CODE_HEADINGS = frozenset({"код", "код товара", "артикул", "code"})
QUANTITY_HEADINGS = frozenset({"количество", "кол во", "колво", "qty", "quantity"})


@dataclass(frozen=True, slots=True)
class QuickLine:
    """A line that parsed: a barcode, a product code or a name, and whole packs."""

    line: int
    key: str
    quantity: int


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that did not parse, with the Russian reason."""

    line: int
    text: str
    reason: str


# --- parsing --------------------------------------------------------------------------------


def _bad_quantity() -> str:
    return _("Количество должно быть целым числом упаковок больше нуля.")


def _quantity(text: str) -> int | None:
    text = text.strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if value > 0 else None


def _split(line: str) -> tuple[str, str | None, list[str]]:
    """The key, the quantity text (None when absent) and any extra fields of a line."""
    for separator in _SEPARATORS:
        if separator in line:
            fields = [part.strip() for part in line.split(separator)]
            fields = [part for part in fields if part]
            if not fields:
                return "", None, []
            return fields[0], (fields[1] if len(fields) > 1 else None), fields[2:]
    words = line.split()
    if len(words) > 1 and _NUMBER_LIKE.fullmatch(words[-1]):
        return " ".join(words[:-1]), words[-1], []
    return " ".join(words), None, []


def parse_line(number: int, raw: str) -> QuickLine | LineError | None:
    """One line of the textarea; None for a blank one."""
    text = raw.strip()
    if not text:
        return None
    key, quantity_text, extra = _split(text)
    if not key:
        return None
    if extra:
        return LineError(number, text, _("Лишние поля: нужно «штрихкод или код; количество»."))
    if len(key) > MAX_KEY_LENGTH:
        return LineError(number, text[:MAX_KEY_LENGTH], _("Слишком длинный код товара."))
    if quantity_text is None:
        return QuickLine(number, key, 1)
    quantity = _quantity(quantity_text)
    if quantity is None:
        return LineError(number, text, _bad_quantity())
    return QuickLine(number, key, quantity)


def parse_lines(text: str) -> list[QuickLine | LineError]:
    """The textarea's lines, numbered from 1; blank lines are skipped but keep their numbers."""
    parsed = (parse_line(number, raw) for number, raw in enumerate(text.splitlines(), start=1))
    return [item for item in parsed if item is not None]


def _column(header: Sequence[str], names: frozenset[str]) -> int | None:
    for index, heading in enumerate(header):
        if normalise(heading) in names:
            return index
    return None


def parse_table(*, content: bytes, file_name: str) -> list[QuickLine | LineError]:
    """A CSV or XLSX with columns «Штрихкод» and/or «Код» and «Количество», by file row."""
    imports.check_upload(file_name=file_name, size=len(content))
    header, body = imports.read_table(content=content, file_name=file_name)
    barcode_at = _column(header, BARCODE_HEADINGS)
    code_at = _column(header, CODE_HEADINGS)
    quantity_at = _column(header, QUANTITY_HEADINGS)
    if (barcode_at is None and code_at is None) or quantity_at is None:
        raise ValidationFailed(
            _("В файле нужны столбцы «Штрихкод» или «Код» и «Количество»."), field="file"
        )

    def cell(cells: list, index: int | None) -> str:
        if index is None or index >= len(cells):
            return ""
        return imports.cell_text(cells[index])

    parsed: list[QuickLine | LineError] = []
    for number, cells in body:
        key = cell(cells, barcode_at) or cell(cells, code_at)
        quantity_text = cell(cells, quantity_at)
        shown = f"{key}; {quantity_text}"
        if not key:
            parsed.append(LineError(number, shown, _("Не указан ни штрихкод, ни код товара.")))
            continue
        quantity = _quantity(quantity_text)
        if quantity is None:
            parsed.append(LineError(number, shown, _bad_quantity()))
            continue
        parsed.append(QuickLine(number, key[:MAX_KEY_LENGTH], quantity))
    return parsed


# --- ordering -------------------------------------------------------------------------------


@dataclass(slots=True)
class Suggestion:
    code: str
    name: str


@dataclass(slots=True)
class Added:
    """A product put into the cart: packs added from the lines, packs in the cart now."""

    code: str
    name: str
    quantity: int
    in_cart: int
    lines: list[int]
    # Set when the serving warehouse has fewer free packs than the cart holds.
    warning: str = ""


@dataclass(slots=True)
class Problem:
    lines: list[int]
    text: str
    reason: str
    suggestions: list[Suggestion] = field(default_factory=list)


@dataclass(slots=True)
class QuickResult:
    added: list[Added] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _resolve(keys: set[str]) -> dict[str, Product]:
    """Products by barcode first, then by product code in any letter case; two queries."""
    found: dict[str, Product] = {}
    barcodes = {key for key in keys if _BARCODE.fullmatch(key)}
    for barcode in Barcode.objects.filter(ean13__in=barcodes).select_related("product"):
        found[barcode.ean13] = barcode.product
    rest = keys - set(found)
    if rest:
        candidates = rest | {key.upper() for key in rest}
        by_code = {p.code.upper(): p for p in Product.objects.filter(code__in=candidates)}
        for key in rest:
            if key.upper() in by_code:
                found[key] = by_code[key.upper()]
    return found


def product_by_key(key: str) -> Product | None:
    """The product a barcode or a product code (in any letter case) names, or None."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    return _resolve({key}).get(key)


def suggestions_for(text: str) -> list[Suggestion]:
    """Up to three active products the text may have meant: a name, a barcode, a code."""
    page = search_products(
        query=text, filters=SearchFilters(), limit=SUGGESTIONS, fields=("code", "trade_name")
    )
    found = [Suggestion(item["code"], item["trade_name"]) for item in page.items]
    stem = text.strip()[:-1]
    if len(found) < SUGGESTIONS and len(stem) >= 2 and " " not in stem:
        # A mistyped last character of a product code: codes are not in the search text.
        seen = {s.code for s in found}
        for code, name in (
            Product.objects.filter(is_active=True, code__istartswith=stem)
            .exclude(code__in=seen)
            .order_by("code")
            .values_list("code", "trade_name")[: SUGGESTIONS - len(found)]
        ):
            found.append(Suggestion(code, name))
    return found


@transaction.atomic
def quick_order(
    *, partner: PartnerUser, address_id: int, lines: Sequence[QuickLine | LineError]
) -> QuickResult:
    """Resolve the lines and add them to the address's cart, in one transaction."""
    partner_selectors.require_authority(partner, Authority.ORDER)
    address = partner_selectors.address_of(partner, address_id)
    if len(lines) > MAX_LINES:
        raise ValidationFailed(
            _("Не больше %(max)d строк за один раз.") % {"max": MAX_LINES}, field="lines"
        )
    result = QuickResult()
    good = [line for line in lines if isinstance(line, QuickLine)]
    for line in lines:
        if isinstance(line, LineError):
            result.problems.append(Problem([line.line], line.text, line.reason))

    products = _resolve({line.key for line in good})
    # Product id → (product, packs, line numbers), in the order the lines came.
    wanted: dict[int, tuple[Product, int, list[int]]] = {}
    unknown: dict[str, list[QuickLine]] = {}
    for line in good:
        product = products.get(line.key)
        if product is None:
            unknown.setdefault(line.key, []).append(line)
            continue
        _p, packs, numbers = wanted.get(product.pk, (product, 0, []))
        wanted[product.pk] = (product, packs + line.quantity, [*numbers, line.line])

    for key, missed in unknown.items():
        result.problems.append(
            Problem(
                [line.line for line in missed],
                key,
                _("Товар не найден."),
                suggestions_for(key),
            )
        )

    for product, packs, numbers in wanted.values():
        try:
            cart_line = services.add_to_cart(
                partner=partner,
                address_id=address.pk,
                product_code=product.code,
                quantity=packs,
            )
        except (ValidationFailed, RuleViolation, Conflict) as error:
            # add_to_cart's own savepoint undid whatever it wrote for this product.
            result.problems.append(
                Problem(numbers, f"{product.code} «{product.trade_name}»; {packs}", error.message)
            )
            continue
        result.added.append(
            Added(product.code, product.trade_name, packs, cart_line.quantity, numbers)
        )
    _flag_stock(result, address=address)
    result.problems.sort(key=lambda problem: problem.lines[0])
    return result


def _flag_stock(result: QuickResult, *, address) -> None:
    if not result.added:
        return
    serving = catalog_selectors.serving_for_address(address)
    if serving is None:
        return
    codes = [added.code for added in result.added]
    ids = dict(Product.objects.filter(code__in=codes).values_list("code", "pk"))
    free = catalog_selectors.free_stock(
        warehouse=serving.warehouse, product_ids=list(ids.values()), today=timezone.localdate()
    )
    for added in result.added:
        available = free.get(ids[added.code], 0)
        if added.in_cart > available:
            added.warning = _(
                "Добавлен, но на складе свободно только %(free)d уп.: корзина покажет нехватку."
            ) % {"free": available}
