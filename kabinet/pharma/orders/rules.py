"""Order rules over plain values, no ORM inside (SPEC P-ORD-3, P-ORD-4, P-NEXT-1).

* Status transitions: new → confirmed → assembled → shipped → delivered; an order above the
  organisation's approval threshold starts as awaiting_approval and becomes new once a
  partner administrator approves it. Cancelling is possible only before assembly.
* Quantities are whole packs, a multiple of the product's order multiple, at most
  `MAX_LINE_QUANTITY` a line.
* Series allocation is first-expiring-first-out over the series with free packs.
* VAT is included in the prices; a line's VAT is its amount × rate / (100 + rate), rounded
  half-up to the kopeck, and the order's VAT is the sum of its lines'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

MAX_LINE_QUANTITY = 10_000

NEW = "new"
AWAITING_APPROVAL = "awaiting_approval"
CONFIRMED = "confirmed"
ASSEMBLED = "assembled"
SHIPPED = "shipped"
DELIVERED = "delivered"
CANCELLED = "cancelled"

TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({CONFIRMED, CANCELLED}),
    AWAITING_APPROVAL: frozenset({NEW, CANCELLED}),
    CONFIRMED: frozenset({ASSEMBLED, CANCELLED}),
    ASSEMBLED: frozenset({SHIPPED}),
    SHIPPED: frozenset({DELIVERED}),
    DELIVERED: frozenset(),
    CANCELLED: frozenset(),
}

# Statuses whose stock is held by reservations: everything before shipment, except cancelled.
HOLDING_STOCK = frozenset({NEW, AWAITING_APPROVAL, CONFIRMED, ASSEMBLED})


def can_transition(current: str, target: str) -> bool:
    """Whether an order in `current` may move to `target`."""
    return target in TRANSITIONS.get(current, frozenset())


def can_cancel(current: str) -> bool:
    """Cancelling is possible only before the order is assembled."""
    return can_transition(current, CANCELLED)


# --- quantities -----------------------------------------------------------------------------


def quantity_problem(*, quantity: object, order_multiple: int) -> str | None:
    """The Russian reason a line quantity is not acceptable, or None."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        return _("Количество должно быть целым числом упаковок больше нуля.")
    if quantity > MAX_LINE_QUANTITY:
        return _("Не больше %(max)s уп. в одной строке заказа.") % {
            "max": f"{MAX_LINE_QUANTITY:,}".replace(",", "\u00a0")
        }
    if order_multiple > 1 and quantity % order_multiple:
        return _("Количество должно быть кратно %(n)d уп.") % {"n": order_multiple}
    return None


# --- series allocation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lot:
    """One series' free packs: `key` identifies it to the caller (an offer id)."""

    key: int
    expires_on: date
    free: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """Packs taken per series, soonest expiry first, and what could not be served."""

    taken: tuple[tuple[int, int], ...]
    shortfall: int

    @property
    def allocated(self) -> int:
        return sum(n for _key, n in self.taken)


def allocate_fefo(*, lots: Iterable[Lot], quantity: int) -> Allocation:
    """Take `quantity` packs first-expiring-first-out; on equal expiry, the smaller key first.

    A partial allocation is returned with its shortfall; the caller decides to refuse.
    """
    if quantity < 0:
        raise ValueError("A quantity to allocate cannot be negative.")
    ordered = sorted(
        (lot for lot in lots if lot.free > 0), key=lambda lot: (lot.expires_on, lot.key)
    )
    taken: list[tuple[int, int]] = []
    left = quantity
    for lot in ordered:
        if left == 0:
            break
        n = min(lot.free, left)
        taken.append((lot.key, n))
        left -= n
    return Allocation(taken=tuple(taken), shortfall=left)


# --- money ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineMoney:
    quantity: int
    price_kopecks: int
    list_price_kopecks: int
    vat_percent: int


@dataclass(frozen=True, slots=True)
class Totals:
    """Goods at list prices, the discount off them, the total to pay and the VAT inside it."""

    goods_kopecks: int
    discount_kopecks: int
    total_kopecks: int
    vat_kopecks: int


def vat_included_kopecks(*, amount_kopecks: int, vat_percent: int) -> int:
    """The VAT inside a VAT-inclusive amount, rounded half-up to the kopeck."""
    if vat_percent <= 0:
        return 0
    # amount × rate / (100 + rate), half-up, in integers.
    return (2 * amount_kopecks * vat_percent + (100 + vat_percent)) // (2 * (100 + vat_percent))


def totals(lines: Sequence[LineMoney]) -> Totals:
    """The order's totals; each line's VAT is rounded on its own, as an invoice shows it."""
    goods = sum(line.list_price_kopecks * line.quantity for line in lines)
    total = sum(line.price_kopecks * line.quantity for line in lines)
    vat = sum(
        vat_included_kopecks(
            amount_kopecks=line.price_kopecks * line.quantity, vat_percent=line.vat_percent
        )
        for line in lines
    )
    return Totals(
        goods_kopecks=goods, discount_kopecks=goods - total, total_kopecks=total, vat_kopecks=vat
    )


# --- licences (P-NEXT-1) --------------------------------------------------------------------

PHARMACEUTICAL = "pharmaceutical"
NARCOTIC = "narcotic"
PRECURSOR = "precursor"


def licence_problems(
    *, prescription_only: bool, control_class: str, valid_kinds: frozenset[str]
) -> list[str]:
    """The Russian reasons the organisation may not order a product under its valid licences.

    Prescription and controlled goods need a pharmaceutical licence; narcotic and
    psychotropic ones also a narcotic licence; precursors also a precursor licence.
    """
    problems: list[str] = []
    controlled = control_class in ("narcotic", "psychotropic", "precursor", "pku")
    if (prescription_only or controlled) and PHARMACEUTICAL not in valid_kinds:
        if control_class == "pku":
            why = _("товар подлежит предметно-количественному учёту")
        elif prescription_only:
            why = _("товар отпускается по рецепту")
        else:
            why = _("товар относится к контролируемым")
        problems.append(
            _("Нужна действующая лицензия на фармацевтическую деятельность: %(why)s.")
            % {"why": why}
        )
    if control_class in ("narcotic", "psychotropic") and NARCOTIC not in valid_kinds:
        problems.append(
            _("Нужна действующая лицензия на оборот наркотических средств и психотропных веществ.")
        )
    if control_class == "precursor" and PRECURSOR not in valid_kinds:
        problems.append(_("Нужна действующая лицензия на оборот прекурсоров."))
    return problems
