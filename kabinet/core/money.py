"""Money and points: `Decimal` roubles at the edges, integer kopecks and hundredths inside.

1 point = 1 rouble, so a hundredth of a point and a kopeck share one integer scale.
Nothing here ever touches a float.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

CENT = Decimal("0.01")


class AmountError(ValueError):
    """An amount that is not a finite decimal with at most two places."""


def parse_amount(value: str | int | Decimal) -> int:
    """'123.45' → 12345. Refuses floats, more than two decimals, NaN and infinities."""
    if isinstance(value, float):  # a float has already lost exactness
        raise AmountError("amount must be a decimal string, not a float")
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise AmountError(f"not a decimal amount: {value!r}") from exc
    if not number.is_finite():
        raise AmountError(f"not a finite amount: {value!r}")
    if number != number.quantize(CENT):
        raise AmountError(f"more than two decimal places: {value!r}")
    return int(number * 100)


def format_amount(units: int) -> str:
    """12345 → '123.45'; -5 → '-0.05'. The API's decimal-string form of money and points."""
    return str((Decimal(units) / 100).quantize(CENT))


def to_decimal(units: int) -> Decimal:
    return (Decimal(units) / 100).quantize(CENT, rounding=ROUND_DOWN)


def format_rub(units: int) -> str:
    """Russian display: 12345678 → '123 456,78 ₽' (narrow no-break space between thousands)."""
    sign = "−" if units < 0 else ""
    whole, frac = divmod(abs(units), 100)
    grouped = f"{whole:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{frac:02d}\u00a0₽"
