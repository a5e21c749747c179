"""Order rules: transitions, quantities, FEFO allocation, totals, licences."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kabinet.pharma.orders import rules
from kabinet.pharma.orders.rules import LineMoney, Lot

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("new", "confirmed", True),
        ("new", "cancelled", True),
        ("new", "assembled", False),
        ("awaiting_approval", "new", True),
        ("awaiting_approval", "cancelled", True),
        ("awaiting_approval", "confirmed", False),
        ("confirmed", "assembled", True),
        ("confirmed", "cancelled", True),
        ("assembled", "shipped", True),
        ("assembled", "cancelled", False),
        ("shipped", "delivered", True),
        ("shipped", "cancelled", False),
        ("delivered", "cancelled", False),
        ("cancelled", "new", False),
        ("unknown", "new", False),
    ],
)
def test_transitions(current, target, allowed):
    assert rules.can_transition(current, target) is allowed


def test_cancel_only_before_assembly():
    cancellable = {s for s in rules.TRANSITIONS if rules.can_cancel(s)}
    assert cancellable == {"new", "awaiting_approval", "confirmed"}


@pytest.mark.parametrize(
    ("quantity", "multiple", "problem"),
    [
        (1, 1, None),
        (10_000, 1, None),
        (20, 10, None),
        (0, 1, "Количество должно быть целым числом упаковок больше нуля."),
        (-3, 1, "Количество должно быть целым числом упаковок больше нуля."),
        (1.5, 1, "Количество должно быть целым числом упаковок больше нуля."),
        ("2", 1, "Количество должно быть целым числом упаковок больше нуля."),
        (True, 1, "Количество должно быть целым числом упаковок больше нуля."),
        (10_001, 1, f"Не больше 10{NBSP}000 уп. в одной строке заказа."),
        (15, 10, "Количество должно быть кратно 10 уп."),
    ],
)
def test_quantity_problem(quantity, multiple, problem):
    assert rules.quantity_problem(quantity=quantity, order_multiple=multiple) == problem


D = date(2026, 11, 24)


def test_fefo_takes_soonest_expiry_first_and_skips_empty_series():
    lots = [
        Lot(key=1, expires_on=D + timedelta(days=400), free=45),
        Lot(key=2, expires_on=D + timedelta(days=100), free=7),
        Lot(key=3, expires_on=D + timedelta(days=50), free=0),
    ]
    assert rules.allocate_fefo(lots=lots, quantity=10) == rules.Allocation(
        taken=((2, 7), (1, 3)), shortfall=0
    )
    assert rules.allocate_fefo(lots=lots, quantity=7) == rules.Allocation(
        taken=((2, 7),), shortfall=0
    )
    assert rules.allocate_fefo(lots=lots, quantity=60) == rules.Allocation(
        taken=((2, 7), (1, 45)), shortfall=8
    )
    assert rules.allocate_fefo(lots=[], quantity=3) == rules.Allocation(taken=(), shortfall=3)


lot_lists = st.lists(
    st.builds(
        Lot,
        key=st.integers(min_value=1, max_value=10_000),
        expires_on=st.dates(min_value=D, max_value=D + timedelta(days=1000)),
        free=st.integers(min_value=-5, max_value=50),
    ),
    max_size=8,
    unique_by=lambda lot: lot.key,
)


@given(lots=lot_lists, quantity=st.integers(min_value=0, max_value=300))
def test_fefo_properties(lots, quantity):
    allocation = rules.allocate_fefo(lots=lots, quantity=quantity)
    by_key = {lot.key: lot for lot in lots}
    available = sum(lot.free for lot in lots if lot.free > 0)
    # Everything asked is either taken or short, and short only when the stock runs out.
    assert allocation.allocated + allocation.shortfall == quantity
    assert allocation.shortfall == max(0, quantity - available)
    assert all(0 < n <= by_key[key].free for key, n in allocation.taken)
    assert len({key for key, _n in allocation.taken}) == len(allocation.taken)
    # FEFO: every series but the last taken is emptied, and nothing later-expiring is used
    # while a sooner series still has packs.
    taken = dict(allocation.taken)
    for key, n in allocation.taken[:-1]:
        assert n == by_key[key].free
    if allocation.taken:
        last = by_key[allocation.taken[-1][0]]
        for lot in lots:
            if lot.free > 0 and lot.key not in taken:
                assert (lot.expires_on, lot.key) > (last.expires_on, last.key)


def test_vat_included_rounds_half_up():
    assert rules.vat_included_kopecks(amount_kopecks=11_000, vat_percent=10) == 1_000
    assert rules.vat_included_kopecks(amount_kopecks=12_000, vat_percent=20) == 2_000
    # 100 × 10 / 110 = 9.0909… → 9; 105 × 10 / 110 = 9.545… → 10.
    assert rules.vat_included_kopecks(amount_kopecks=100, vat_percent=10) == 9
    assert rules.vat_included_kopecks(amount_kopecks=105, vat_percent=10) == 10
    assert rules.vat_included_kopecks(amount_kopecks=500, vat_percent=0) == 0


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    vat=st.sampled_from([0, 10, 20, 22]),
)
def test_vat_included_is_the_nearest_kopeck(amount, vat):
    from fractions import Fraction

    exact = Fraction(amount * vat, 100 + vat)
    got = rules.vat_included_kopecks(amount_kopecks=amount, vat_percent=vat)
    assert abs(Fraction(got) - exact) <= Fraction(1, 2)


def test_totals():
    totals = rules.totals(
        [
            LineMoney(quantity=10, price_kopecks=25_000, list_price_kopecks=25_000, vat_percent=10),
            LineMoney(quantity=3, price_kopecks=18_000, list_price_kopecks=20_000, vat_percent=20),
        ]
    )
    assert totals == rules.Totals(
        goods_kopecks=310_000, discount_kopecks=6_000, total_kopecks=304_000, vat_kopecks=31_727
    )


def test_licence_problems():
    none: frozenset[str] = frozenset()
    pharma = frozenset({"pharmaceutical"})
    assert rules.licence_problems(prescription_only=False, control_class="", valid_kinds=none) == []
    assert rules.licence_problems(prescription_only=True, control_class="", valid_kinds=none) == [
        "Нужна действующая лицензия на фармацевтическую деятельность: товар отпускается по рецепту."
    ]
    assert (
        rules.licence_problems(prescription_only=True, control_class="", valid_kinds=pharma) == []
    )
    assert rules.licence_problems(
        prescription_only=False, control_class="pku", valid_kinds=none
    ) == [
        "Нужна действующая лицензия на фармацевтическую деятельность: товар подлежит "
        "предметно-количественному учёту."
    ]
    assert rules.licence_problems(
        prescription_only=False, control_class="psychotropic", valid_kinds=pharma
    ) == ["Нужна действующая лицензия на оборот наркотических средств и психотропных веществ."]
    assert (
        rules.licence_problems(
            prescription_only=False,
            control_class="narcotic",
            valid_kinds=frozenset({"pharmaceutical", "narcotic"}),
        )
        == []
    )
    assert rules.licence_problems(
        prescription_only=False, control_class="precursor", valid_kinds=frozenset({"narcotic"})
    ) == [
        "Нужна действующая лицензия на фармацевтическую деятельность: товар относится к "
        "контролируемым.",
        "Нужна действующая лицензия на оборот прекурсоров.",
    ]
