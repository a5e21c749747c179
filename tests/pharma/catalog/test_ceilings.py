"""The ЖНВЛП ceiling (SPEC P-CAT-3): registered price + regional markup by band + VAT.

Pure functions: no database.
"""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kabinet.pharma.catalog.ceilings import (
    DatedMarkup,
    MarkupBands,
    bands_on,
    ceiling_kopecks,
    check_price,
    format_percent,
    strictest,
)

NBSP = "\u00a0"
# Plausible regional decisions: a large city and a region with a half-percent markup.
MOSCOW = MarkupBands(upto_100=Decimal("20"), upto_500=Decimal("15"), over_500=Decimal("10"))
TATARSTAN = MarkupBands(
    upto_100=Decimal("22.00"), upto_500=Decimal("17.00"), over_500=Decimal("12.50")
)

percents = st.decimals(min_value=0, max_value=50, places=2)
bands_strategy = st.builds(MarkupBands, percents, percents, percents)
vats = st.sampled_from([0, 10, 20, 22])
BANDS = [(1, 100_00), (100_01, 500_00), (500_01, 10_000_000_00)]


def ceiling(registered: int, bands: MarkupBands = MOSCOW, vat: int = 10) -> int:
    return ceiling_kopecks(registered_price_kopecks=registered, bands=bands, vat_percent=vat)


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        # 100,00 ₽ is the first band: 100 × 1,20 × 1,10 = 132,00 ₽.
        (100_00, 132_00),
        # 100,01 ₽ is the second: 100,01 × 1,15 × 1,10 = 126,51265 → 126,51 ₽ (down).
        (100_01, 126_51),
        # 500,00 ₽ is still the second: 500 × 1,15 × 1,10 = 632,50 ₽.
        (500_00, 632_50),
        # 500,01 ₽ is the third: 500,01 × 1,10 × 1,10 = 605,0121 → 605,01 ₽.
        (500_01, 605_01),
        # A cheap pack: 37,45 × 1,20 × 1,10 = 49,434 → 49,43 ₽.
        (37_45, 49_43),
        (1, 1),
    ],
)
def test_band_edges_and_rounding_down(registered, expected):
    assert ceiling(registered) == expected


def test_fractional_markup_and_other_vat():
    # 1 234,56 × 1,125 × 1,20 = 1 666,656 → 1 666,65 ₽.
    assert ceiling(1234_56, TATARSTAN, 20) == 1666_65
    # Without VAT: 250,00 × 1,17 = 292,50 ₽.
    assert ceiling(250_00, TATARSTAN, 0) == 292_50


def test_registered_price_must_be_positive():
    with pytest.raises(ValueError):
        ceiling(0)


def test_price_at_the_ceiling_passes_one_kopeck_over_is_refused_with_the_reason():
    assert (
        check_price(
            price_kopecks=132_00, registered_price_kopecks=100_00, bands=MOSCOW, vat_percent=10
        )
        is None
    )
    violation = check_price(
        price_kopecks=132_01, registered_price_kopecks=100_00, bands=MOSCOW, vat_percent=10
    )
    assert violation is not None
    assert violation.ceiling_kopecks == 132_00
    assert violation.price_kopecks == 132_01
    assert violation.markup_percent == Decimal("20")
    assert violation.reason == (
        f"Цена 132,01{NBSP}₽ выше предельной 132,00{NBSP}₽: зарегистрированная цена "
        f"100,00{NBSP}₽ + надбавка 20{NBSP}% + НДС 10{NBSP}%"
    )


def test_reason_shows_a_fractional_markup_and_thousands():
    violation = check_price(
        price_kopecks=1700_00, registered_price_kopecks=1234_56, bands=TATARSTAN, vat_percent=20
    )
    assert violation is not None
    assert violation.reason == (
        f"Цена 1\u202f700,00{NBSP}₽ выше предельной 1\u202f666,65{NBSP}₽: зарегистрированная "
        f"цена 1\u202f234,56{NBSP}₽ + надбавка 12,5{NBSP}% + НДС 20{NBSP}%"
    )


def test_format_percent():
    assert format_percent(Decimal("15.00")) == f"15{NBSP}%"
    assert format_percent(Decimal("12.50")) == f"12,5{NBSP}%"
    assert format_percent(Decimal("7.25")) == f"7,25{NBSP}%"
    assert format_percent(10) == f"10{NBSP}%"
    assert format_percent(Decimal("0")) == f"0{NBSP}%"


@given(
    band=st.sampled_from(BANDS),
    data=st.data(),
    bands=bands_strategy,
    vat=vats,
)
def test_ceiling_is_monotone_within_a_band(band, data, bands, vat):
    low, high = band
    a = data.draw(st.integers(min_value=low, max_value=high))
    b = data.draw(st.integers(min_value=a, max_value=high))
    assert ceiling(a, bands, vat) <= ceiling(b, bands, vat)


@given(registered=st.integers(min_value=1, max_value=10_000_000_00), bands=bands_strategy, vat=vats)
def test_ceiling_is_never_below_registered_price_with_vat(registered, bands, vat):
    # The markup is never negative, so at worst the ceiling is the registered price plus VAT.
    assert ceiling(registered, bands, vat) >= registered * (100 + vat) // 100


@given(registered=st.integers(min_value=1, max_value=10_000_000_00), bands=bands_strategy, vat=vats)
def test_the_ceiling_passes_and_one_kopeck_over_does_not(registered, bands, vat):
    top = ceiling(registered, bands, vat)
    args = {"registered_price_kopecks": registered, "bands": bands, "vat_percent": vat}
    assert check_price(price_kopecks=top, **args) is None
    over = check_price(price_kopecks=top + 1, **args)
    assert over is not None
    assert over.ceiling_kopecks == top
    # Rounding down never lets a price over the exact legal maximum through.
    exact_times_10000 = registered * (10_000 + int(over.markup_percent * 100)) * (100 + vat)
    assert top * 1_000_000 <= exact_times_10000 < (top + 1) * 1_000_000


MARKUPS = [
    DatedMarkup(date(2025, 1, 1), Decimal("20"), Decimal("15"), Decimal("10")),
    DatedMarkup(date(2026, 3, 1), Decimal("18"), Decimal("14"), Decimal("9.5")),
    DatedMarkup(date(2024, 1, 1), Decimal("25"), Decimal("20"), Decimal("15")),
]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2023, 12, 31), None),
        (date(2024, 1, 1), MarkupBands(Decimal("25"), Decimal("20"), Decimal("15"))),
        (date(2026, 2, 28), MarkupBands(Decimal("20"), Decimal("15"), Decimal("10"))),
        (date(2026, 3, 1), MarkupBands(Decimal("18"), Decimal("14"), Decimal("9.5"))),
        (date(2026, 3, 2), MarkupBands(Decimal("18"), Decimal("14"), Decimal("9.5"))),
    ],
)
def test_bands_on_picks_the_latest_effective_on_or_before_the_day(day, expected):
    assert bands_on(MARKUPS, day) == expected


def test_bands_on_nothing():
    assert bands_on([], date(2026, 1, 1)) is None


def test_strictest_takes_the_smallest_of_each_band():
    assert strictest([MOSCOW, TATARSTAN]) == MarkupBands(
        upto_100=Decimal("20"), upto_500=Decimal("15"), over_500=Decimal("10")
    )
    mixed = MarkupBands(Decimal("30"), Decimal("12"), Decimal("11"))
    assert strictest([TATARSTAN, mixed]) == MarkupBands(
        upto_100=Decimal("22"), upto_500=Decimal("12"), over_500=Decimal("11")
    )
    assert strictest([]) is None


@given(
    registered=st.integers(min_value=1, max_value=10_000_000_00), a=bands_strategy, b=bands_strategy
)
def test_a_price_within_the_strictest_is_within_every_region(registered, a, b):
    top = ceiling(registered, strictest([a, b]), 10)
    assert top <= ceiling(registered, a, 10)
    assert top <= ceiling(registered, b, 10)
