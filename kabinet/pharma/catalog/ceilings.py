"""The ЖНВЛП price ceiling (SPEC P-CAT-3) as pure arithmetic over plain values: no ORM.

Постановление Правительства РФ № 865 and the regions' decisions: a wholesaler may sell a
ЖНВЛП good for no more than the manufacturer's registered maximum price (without VAT) plus the
region's maximum wholesale markup, plus VAT. The markup is a percentage of the registered
price, chosen by the band the registered price falls in: up to 100 ₽ inclusive, over 100 ₽ up
to 500 ₽ inclusive, over 500 ₽.

Money is integer kopecks; percentages are `Decimal`; the arithmetic is exact (`Fraction`), and
only the ceiling itself is rounded — down, to the kopeck. A price is a whole number of kopecks,
so «price ≤ ceiling rounded down» holds exactly when «price ≤ the exact ceiling» does: rounding
never lets a price over the legal maximum through, and never refuses one at it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from django.utils.translation import gettext as _

from kabinet.core.money import format_rub

# The band edges, in kopecks of the registered price without VAT; each edge belongs to the
# lower band (100,00 ₽ is the first band, 100,01 ₽ the second).
BAND_1_MAX_KOPECKS = 100_00
BAND_2_MAX_KOPECKS = 500_00


@dataclass(frozen=True, slots=True)
class MarkupBands:
    """A region's maximum wholesale markups, in percent of the registered price, by band."""

    upto_100: Decimal
    upto_500: Decimal
    over_500: Decimal

    def percent_for(self, registered_price_kopecks: int) -> Decimal:
        """The markup of the band the registered price (without VAT) falls in."""
        if registered_price_kopecks <= BAND_1_MAX_KOPECKS:
            return self.upto_100
        if registered_price_kopecks <= BAND_2_MAX_KOPECKS:
            return self.upto_500
        return self.over_500


class MarkupRecord(Protocol):
    """Markups effective from a date: a `WholesaleMarkup` row or a `DatedMarkup`."""

    @property
    def effective_from(self) -> date: ...
    @property
    def upto_100_percent(self) -> Decimal: ...
    @property
    def upto_500_percent(self) -> Decimal: ...
    @property
    def over_500_percent(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class DatedMarkup:
    """A plain `MarkupRecord`, field for field the same as a `WholesaleMarkup` row."""

    effective_from: date
    upto_100_percent: Decimal
    upto_500_percent: Decimal
    over_500_percent: Decimal


@dataclass(frozen=True, slots=True)
class CeilingViolation:
    """A price above the ceiling, with the Russian reason shown to the user."""

    price_kopecks: int
    ceiling_kopecks: int
    registered_price_kopecks: int
    markup_percent: Decimal
    vat_percent: int
    reason: str


def _exact_ceiling(registered_price_kopecks: int, markup_percent: Decimal, vat_percent: int):
    return (
        Fraction(registered_price_kopecks)
        * (100 + Fraction(markup_percent))
        * (100 + vat_percent)
        / 10_000
    )


def ceiling_kopecks(*, registered_price_kopecks: int, bands: MarkupBands, vat_percent: int) -> int:
    """The maximum selling price with VAT, rounded down to the kopeck (never over the law)."""
    if registered_price_kopecks <= 0:
        raise ValueError("the registered price must be positive")
    markup = bands.percent_for(registered_price_kopecks)
    return math.floor(_exact_ceiling(registered_price_kopecks, markup, vat_percent))


def format_percent(value: Decimal | int) -> str:
    """Decimal('15.00') → '15 %', Decimal('12.50') → '12,5 %' (Russian decimal comma)."""
    text = f"{Decimal(value).quantize(Decimal('0.01')):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')}\u00a0%"


def check_price(
    *, price_kopecks: int, registered_price_kopecks: int, bands: MarkupBands, vat_percent: int
) -> CeilingViolation | None:
    """None when the price is within the ceiling; else the violation with its reason."""
    ceiling = ceiling_kopecks(
        registered_price_kopecks=registered_price_kopecks, bands=bands, vat_percent=vat_percent
    )
    if price_kopecks <= ceiling:
        return None
    markup = bands.percent_for(registered_price_kopecks)
    reason = _(
        "Цена %(price)s выше предельной %(ceiling)s: зарегистрированная цена %(registered)s"
        " + надбавка %(markup)s + НДС %(vat)s"
    ) % {
        "price": format_rub(price_kopecks),
        "ceiling": format_rub(ceiling),
        "registered": format_rub(registered_price_kopecks),
        "markup": format_percent(markup),
        "vat": format_percent(vat_percent),
    }
    return CeilingViolation(
        price_kopecks=price_kopecks,
        ceiling_kopecks=ceiling,
        registered_price_kopecks=registered_price_kopecks,
        markup_percent=markup,
        vat_percent=vat_percent,
        reason=reason,
    )


def bands_on(markups: Sequence[MarkupRecord], day: date) -> MarkupBands | None:
    """The markups in force on the day: the latest effective on or before it; None if none."""
    current: MarkupRecord | None = None
    for record in markups:
        if record.effective_from <= day and (
            current is None or record.effective_from > current.effective_from
        ):
            current = record
    if current is None:
        return None
    return MarkupBands(
        upto_100=Decimal(current.upto_100_percent),
        upto_500=Decimal(current.upto_500_percent),
        over_500=Decimal(current.over_500_percent),
    )


def strictest(bands_list: Iterable[MarkupBands]) -> MarkupBands | None:
    """The smallest markup of each band over all regions; None for no regions.

    For a price list without a region: a price within these bands is legal everywhere.
    """
    bands = list(bands_list)
    if not bands:
        return None
    return MarkupBands(
        upto_100=min(b.upto_100 for b in bands),
        upto_500=min(b.upto_500 for b in bands),
        over_500=min(b.over_500 for b in bands),
    )
