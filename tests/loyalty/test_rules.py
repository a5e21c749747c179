"""Accrual, redemption and return arithmetic (L-EARN-1..8, L-SPEND-1, L-SPEND-3).

Pure functions: no database, no Django.
"""

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kabinet.loyalty.rules import (
    Accrual,
    MemberContext,
    MessageCode,
    OfferKind,
    PersonalOffer,
    PremiumGood,
    ProgramSettings,
    Receipt,
    ReceiptLine,
    RedemptionRefused,
    ReturnLine,
    RuleCode,
    RulePart,
    StoreContext,
    allocate_redeemed,
    birthday_in_window,
    calculate_accrual,
    kopecks_to_rub,
    kopecks_to_rub_str,
    max_redeemable,
    return_points,
    rub_to_kopecks,
    store_local_date,
)

MOSCOW = ZoneInfo("Europe/Moscow")
STORE = StoreContext(participates=True, tz="Europe/Moscow", region_code="77")
CLOSED_STORE = StoreContext(participates=False, tz="Europe/Moscow", region_code="39")
PROGRAM = ProgramSettings()
LONG_AGO = date(2020, 1, 1)
VETERAN = MemberContext(activated_on=LONG_AGO)
NOON = datetime(2025, 6, 15, 12, 0, tzinfo=MOSCOW)


def receipt(*amounts: int, when: datetime = NOON, categories: dict[int, str] | None = None):
    categories = categories or {}
    return Receipt(
        lines=tuple(
            ReceiptLine(f"sku{i}", amount, categories.get(i)) for i, amount in enumerate(amounts)
        ),
        purchased_at=when,
    )


def accrue(
    rcpt: Receipt,
    *,
    member: MemberContext = VETERAN,
    store: StoreContext = STORE,
    program: ProgramSettings = PROGRAM,
    premium: tuple[PremiumGood, ...] = (),
    redeem: int = 0,
) -> Accrual:
    return calculate_accrual(
        rcpt,
        store=store,
        member=member,
        program=program,
        premium=premium,
        redeem_hundredths=redeem,
    )


def parts(accrual: Accrual) -> dict[str, int]:
    return {part.rule: part.points_hundredths for part in accrual.breakdown}


def codes(accrual: Accrual) -> list[str]:
    return [message.code for message in accrual.messages]


# --------------------------------------------------------------- examples, exact


def test_base_is_half_a_percent_of_money_paid():
    """L-EARN-1: 1 000.00 RUB earns 5.00 points."""
    accrual = accrue(receipt(100_000))

    assert accrual.total_hundredths == 500
    assert accrual.breakdown == (RulePart(RuleCode.BASE, 500),)
    assert accrual.messages == ()
    assert accrual.local_date == date(2025, 6, 15)


def test_total_is_rounded_down_to_a_hundredth():
    """L-EARN-6: 123.45 RUB × 0.5 % = 0.61725 points → 0.61."""
    assert accrue(receipt(12_345)).total_hundredths == 61


def test_rounding_is_on_the_receipt_total_not_per_line():
    """Three lines of 1.01 RUB earn 0.505 hundredths each; only their sum is floored."""
    accrual = accrue(receipt(101, 101, 101))

    assert accrual.total_hundredths == 1  # floor(1.515), not 3 × floor(0.505) = 0
    assert [line.earned_hundredths for line in accrual.lines] == [1, 0, 0]


def test_level_rate_of_one_percent_doubles_the_base():
    """L-EARN-8: the level's rate replaces the program's base rate."""
    member = MemberContext(activated_on=LONG_AGO, level_rate_bp=100)

    accrual = accrue(receipt(100_000), member=member)

    assert accrual.breakdown == (RulePart(RuleCode.BASE, 1_000),)


def test_first_month_doubles_the_base_part():
    """L-EARN-2, shown as the base plus the first month's extra."""
    member = MemberContext(activated_on=date(2025, 6, 1))

    accrual = accrue(receipt(100_000), member=member)

    assert accrual.total_hundredths == 1_000
    assert parts(accrual) == {RuleCode.BASE: 500, RuleCode.FIRST_MONTH: 500}
    assert codes(accrual) == [MessageCode.FIRST_MONTH]
    assert accrual.messages[0].text == "Первые 30 дней после активации карты: базовые баллы ×2"


def test_first_month_doubles_a_level_rate_too():
    member = MemberContext(activated_on=date(2025, 6, 1), level_rate_bp=150)

    assert parts(accrue(receipt(100_000), member=member)) == {
        RuleCode.BASE: 1_500,
        RuleCode.FIRST_MONTH: 1_500,
    }


@pytest.mark.parametrize(
    ("days_after_activation", "doubled"),
    [(-1, False), (0, True), (1, True), (29, True), (30, False), (365, False)],
)
def test_first_month_is_the_first_thirty_days_counting_the_activation_day(
    days_after_activation, doubled
):
    member = MemberContext(activated_on=NOON.date() - timedelta(days=days_after_activation))

    accrual = accrue(receipt(100_000), member=member)

    assert accrual.total_hundredths == (1_000 if doubled else 500)


def test_first_month_is_judged_by_the_store_local_date():
    """Day 30 ends at midnight in Vladivostok hours before it does in Kaliningrad."""
    member = MemberContext(activated_on=date(2025, 3, 1))  # day 30 is 30 March
    instant = datetime(2025, 3, 30, 20, 0, tzinfo=UTC)
    vladivostok = StoreContext(participates=True, tz="Asia/Vladivostok", region_code="25")
    kaliningrad = StoreContext(participates=True, tz="Europe/Kaliningrad", region_code="39")

    rcpt = receipt(100_000, when=instant)

    assert accrue(rcpt, member=member, store=vladivostok).total_hundredths == 500
    assert accrue(rcpt, member=member, store=kaliningrad).total_hundredths == 1_000


def test_premium_goods_earn_two_percent_more_on_their_lines_only():
    """L-EARN-3."""
    accrual = accrue(receipt(100_000, 20_000), premium=(PremiumGood("sku0"),))

    assert parts(accrual) == {RuleCode.BASE: 600, RuleCode.PREMIUM: 2_000}
    assert codes(accrual) == [MessageCode.PREMIUM]
    assert accrual.messages[0].text == "Премиальные товары: +2 % баллами"
    assert [line.earned_hundredths for line in accrual.lines] == [2_500, 100]


@pytest.mark.parametrize(
    ("good", "counts"),
    [
        (PremiumGood("sku0", valid_from=date(2025, 6, 15), valid_to=date(2025, 6, 15)), True),
        (PremiumGood("sku0", valid_from=date(2025, 6, 16)), False),
        (PremiumGood("sku0", valid_to=date(2025, 6, 14)), False),
        (PremiumGood("sku0", region_code="77"), True),
        (PremiumGood("sku0", region_code="78"), False),
        (PremiumGood("another"), False),
    ],
)
def test_premium_goods_respect_their_dates_and_region(good, counts):
    accrual = accrue(receipt(100_000), premium=(good,))

    assert accrual.total_hundredths == (2_500 if counts else 500)


def test_a_good_listed_twice_as_premium_counts_once():
    premium = (PremiumGood("sku0"), PremiumGood("sku0", region_code="77"))

    assert accrue(receipt(100_000), premium=premium).total_hundredths == 2_500


def test_birthday_earns_five_times_the_base():
    """The seed's "five times more points on your birthday": 0.5 % + 2 % = 2.5 % (L-EARN-4)."""
    member = MemberContext(activated_on=LONG_AGO, birth_date=date(1990, 6, 15))

    accrual = accrue(receipt(100_000), member=member)

    assert accrual.total_hundredths == 5 * accrue(receipt(100_000)).total_hundredths == 2_500
    assert parts(accrual) == {RuleCode.BIRTHDAY: 2_000, RuleCode.BASE: 500}
    assert accrual.messages[0].text == "С днём рождения! +2 % баллами на всю покупку"


@pytest.mark.parametrize(
    ("purchase", "in_window"),
    [
        (date(2024, 12, 28), False),
        (date(2024, 12, 29), True),
        (date(2024, 12, 30), True),
        (date(2024, 12, 31), True),
        (date(2025, 1, 1), True),
        (date(2025, 1, 4), True),
        (date(2025, 1, 5), False),
    ],
)
def test_birthday_window_wraps_the_year_end(purchase, in_window):
    """A 1 January birthday, three days either side inclusive (L-EARN-4)."""
    assert birthday_in_window(date(1990, 1, 1), purchase, 3) is in_window


@pytest.mark.parametrize(
    ("birthday", "purchase", "in_window"),
    [
        (date(1990, 12, 30), date(2026, 1, 2), True),
        (date(1990, 12, 30), date(2026, 1, 3), False),
        (date(1990, 12, 31), date(2025, 12, 28), True),
        (date(1990, 12, 31), date(2025, 12, 27), False),
    ],
)
def test_birthday_window_wraps_the_year_end_the_other_way(birthday, purchase, in_window):
    assert birthday_in_window(birthday, purchase, 3) is in_window


@pytest.mark.parametrize(
    ("purchase", "in_window"),
    [
        # 2025 is not a leap year: the birthday is kept on 28 February.
        (date(2025, 2, 24), False),
        (date(2025, 2, 25), True),
        (date(2025, 2, 28), True),
        (date(2025, 3, 3), True),
        (date(2025, 3, 4), False),
        # 2024 is: 29 February itself, so the window starts a day later.
        (date(2024, 2, 25), False),
        (date(2024, 2, 26), True),
        (date(2024, 2, 29), True),
        (date(2024, 3, 3), True),
        (date(2024, 3, 4), False),
    ],
)
def test_birthday_on_29_february(purchase, in_window):
    assert birthday_in_window(date(2000, 2, 29), purchase, 3) is in_window


def test_birthday_window_of_zero_days_is_the_day_itself():
    assert birthday_in_window(date(1990, 6, 15), date(2025, 6, 15), 0)
    assert not birthday_in_window(date(1990, 6, 15), date(2025, 6, 16), 0)


def test_birthday_is_judged_by_the_store_local_date():
    """One UTC instant: already 7 March in Vladivostok, still 6 March in Kaliningrad."""
    member = MemberContext(activated_on=LONG_AGO, birth_date=date(1990, 3, 10))
    instant = datetime(2025, 3, 6, 15, 0, tzinfo=UTC)
    vladivostok = StoreContext(participates=True, tz="Asia/Vladivostok", region_code="25")
    kaliningrad = StoreContext(participates=True, tz="Europe/Kaliningrad", region_code="39")

    assert store_local_date(instant, vladivostok.tz) == date(2025, 3, 7)
    assert store_local_date(instant, kaliningrad.tz) == date(2025, 3, 6)
    rcpt = receipt(100_000, when=instant)
    assert accrue(rcpt, member=member, store=vladivostok).total_hundredths == 2_500
    assert accrue(rcpt, member=member, store=kaliningrad).total_hundredths == 500


def test_store_local_date_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        store_local_date(datetime(2025, 3, 6, 15, 0), "Europe/Moscow")


def test_additions_stack_exactly():
    """L-EARN-6: first month + premium + birthday + a personal offer, no rounding."""
    member = MemberContext(
        activated_on=date(2025, 6, 10),
        birth_date=date(1990, 6, 17),
        offers=(
            PersonalOffer(
                "o1", OfferKind.PERCENT, categories={"milk"}, bonus_bp=100, title="Молоко"
            ),
        ),
    )
    rcpt = receipt(100_000, 20_000, categories={1: "milk"})

    accrual = accrue(rcpt, member=member, premium=(PremiumGood("sku0"),))

    assert accrual.breakdown == (
        RulePart(RuleCode.BASE, 600),
        RulePart(RuleCode.FIRST_MONTH, 600),
        RulePart(RuleCode.PREMIUM, 2_000),
        RulePart(RuleCode.BIRTHDAY, 2_400),
        RulePart(RuleCode.OFFER, 200, ref="o1"),
    )
    assert accrual.total_hundredths == 5_800
    assert codes(accrual) == [
        MessageCode.FIRST_MONTH,
        MessageCode.PREMIUM,
        MessageCode.BIRTHDAY,
        MessageCode.OFFER,
    ]
    assert accrual.messages[-1].text == "Персональное предложение «Молоко»"
    assert accrual.messages[-1].ref == "o1"


def test_personal_percent_offer_by_sku_or_category():
    """L-EARN-5."""
    offer = PersonalOffer("o1", OfferKind.PERCENT, skus={"sku0"}, categories={"tea"}, bonus_bp=300)
    member = MemberContext(activated_on=LONG_AGO, offers=(offer,))
    rcpt = receipt(10_000, 20_000, 40_000, categories={1: "tea", 2: "bread"})

    accrual = accrue(rcpt, member=member)

    assert parts(accrual) == {RuleCode.BASE: 350, RuleCode.OFFER: 900}


def test_personal_fixed_offer_is_paid_once_and_spread_over_the_product_lines():
    """Fixed 50.00 points for coffee, bought on two lines; the lines share it by amount."""
    offer = PersonalOffer(
        "o2", OfferKind.FIXED, skus={"sku0", "sku1"}, fixed_points_hundredths=5_000
    )
    member = MemberContext(activated_on=LONG_AGO, offers=(offer,))

    accrual = accrue(receipt(30_000, 10_000, 5_000), member=member)

    assert parts(accrual) == {RuleCode.BASE: 225, RuleCode.OFFER: 5_000}
    assert [line.earned_hundredths for line in accrual.lines] == [3_900, 1_300, 25]


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "applies"),
    [
        (date(2025, 6, 15), date(2025, 6, 15), True),
        (None, None, True),
        (date(2025, 6, 16), None, False),
        (None, date(2025, 6, 14), False),
    ],
)
def test_personal_offer_applies_only_within_its_dates(valid_from, valid_to, applies):
    offer = PersonalOffer(
        "o3",
        OfferKind.FIXED,
        skus={"sku0"},
        fixed_points_hundredths=1_000,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    member = MemberContext(activated_on=LONG_AGO, offers=(offer,))

    assert accrue(receipt(100_000), member=member).total_hundredths == (1_500 if applies else 500)


def test_redeemed_points_are_not_money_paid():
    """L-EARN-6: 1 000 RUB paid with 200 points earns on 800 RUB."""
    accrual = accrue(receipt(100_000), redeem=20_000)

    assert accrual.total_hundredths == 400
    assert accrual.redeemed_hundredths == 20_000
    assert accrual.lines[0].redeemed_hundredths == 20_000
    assert accrual.lines[0].paid_kopecks == 80_000


def test_redeemed_points_reduce_each_line_pro_rata():
    """A premium line paid half with points earns its premium on the other half only."""
    accrual = accrue(receipt(60_000, 40_000), premium=(PremiumGood("sku0"),), redeem=50_000)

    assert parts(accrual) == {RuleCode.BASE: 250, RuleCode.PREMIUM: 600}
    assert [line.redeemed_hundredths for line in accrual.lines] == [30_000, 20_000]


@pytest.mark.parametrize(
    ("redeem", "amounts", "shares"),
    [
        (100, [100, 100, 100], (34, 33, 33)),
        (10, [1, 2, 7], (1, 2, 7)),
        (5, [3, 3, 4], (2, 1, 2)),
        (0, [5, 0, 7], (0, 0, 0)),
        (7, [0, 7, 0], (0, 7, 0)),
    ],
)
def test_redeemed_points_are_allocated_by_largest_remainder(redeem, amounts, shares):
    assert allocate_redeemed(redeem, amounts) == shares


def test_cannot_allocate_more_than_the_receipt():
    with pytest.raises(ValueError, match="more than the receipt"):
        allocate_redeemed(11, [5, 5])


def test_non_participating_store_earns_nothing_but_records_the_receipt():
    """L-EARN-7."""
    member = MemberContext(activated_on=NOON.date(), birth_date=date(1990, 6, 15))

    accrual = accrue(receipt(100_000, 5_000), member=member, store=CLOSED_STORE)

    assert accrual.total_hundredths == 0
    assert accrual.breakdown == ()
    assert codes(accrual) == [MessageCode.STORE_NOT_PARTICIPATING]
    assert accrual.messages[0].text.startswith("Магазин не участвует в программе")
    assert [(line.amount_kopecks, line.earned_hundredths) for line in accrual.lines] == [
        (100_000, 0),
        (5_000, 0),
    ]


def test_non_participating_store_refuses_redemption():
    """L-EARN-7."""
    with pytest.raises(RedemptionRefused) as refused:
        accrue(receipt(100_000), store=CLOSED_STORE, redeem=1)

    assert refused.value.code == MessageCode.STORE_NOT_PARTICIPATING


def test_redemption_over_the_programs_share_is_refused():
    """L-SPEND-1: with a 50 % share, 1 000 RUB takes at most 500 points."""
    program = ProgramSettings(max_redeem_share_bp=5_000)

    assert accrue(receipt(100_000), program=program, redeem=50_000).total_hundredths == 250
    with pytest.raises(RedemptionRefused) as refused:
        accrue(receipt(100_000), program=program, redeem=50_001)

    assert refused.value.code == MessageCode.REDEEM_OVER_SHARE
    assert refused.value.text == "Баллами можно оплатить не больше 500.00 ₽ этого чека"


def test_redemption_is_never_negative():
    with pytest.raises(ValueError, match=">= 0"):
        accrue(receipt(100_000), redeem=-1)


@pytest.mark.parametrize(
    ("total", "balance", "share_bp", "participates", "expected"),
    [
        (100_000, 30_000, 10_000, True, 30_000),  # the balance limits
        (100_000, 300_000, 10_000, True, 100_000),  # the receipt limits
        (100_000, 300_000, 5_000, True, 50_000),  # the share limits
        (333, 300_000, 5_000, True, 166),  # the share is floored to a kopeck
        (100_000, -500, 10_000, True, 0),  # a negative balance allows nothing (L-SPEND-3)
        (100_000, 0, 10_000, True, 0),
        (100_000, 30_000, 10_000, False, 0),  # L-EARN-7
    ],
)
def test_max_redeemable(total, balance, share_bp, participates, expected):
    program = ProgramSettings(max_redeem_share_bp=share_bp)

    assert max_redeemable(total, balance, program, store_participates=participates) == expected


def test_program_share_cannot_exceed_the_whole_receipt():
    with pytest.raises(ValueError, match="100 %"):
        ProgramSettings(max_redeem_share_bp=10_001)


def test_full_return_gives_back_exactly_what_the_purchase_moved():
    """L-SPEND-3."""
    accrual = accrue(receipt(100_000, 20_000), premium=(PremiumGood("sku0"),), redeem=30_000)

    moved = return_points(
        ReturnLine(
            line.amount_kopecks,
            line.earned_hundredths,
            line.redeemed_hundredths,
            returning_kopecks=line.amount_kopecks,
        )
        for line in accrual.lines
    )

    assert moved == (accrual.total_hundredths, 30_000)
    assert moved.taken_back_hundredths == 450 + 1_500  # 0.5 % of 900 RUB + 2 % of 750 RUB
    assert moved.given_back_hundredths == 30_000


def test_partial_returns_in_thirds_add_up_to_the_whole():
    """Each third rounds down; the last return settles the remainder."""
    line = {"amount_kopecks": 100_000, "earned_hundredths": 2_500, "redeemed_hundredths": 20_000}

    first = return_points([ReturnLine(**line, returning_kopecks=33_333)])
    second = return_points(
        [ReturnLine(**line, returning_kopecks=33_333, previously_returned_kopecks=33_333)]
    )
    third = return_points(
        [ReturnLine(**line, returning_kopecks=33_334, previously_returned_kopecks=66_666)]
    )

    assert (first, second, third) == ((833, 6_666), (833, 6_667), (834, 6_667))


def test_cannot_return_more_than_was_bought():
    with pytest.raises(ValueError, match="more of a line than was bought"):
        ReturnLine(100, 1, 0, returning_kopecks=60, previously_returned_kopecks=41)


@pytest.mark.parametrize(
    ("kopecks", "text", "decimal"),
    [
        (12_345, "123.45", Decimal("123.45")),
        (-50, "-0.50", Decimal("-0.50")),
        (0, "0.00", Decimal("0.00")),
    ],
)
def test_money_at_the_edges(kopecks, text, decimal):
    assert kopecks_to_rub_str(kopecks) == text
    assert kopecks_to_rub(kopecks) == decimal
    assert rub_to_kopecks(decimal) == kopecks
    assert rub_to_kopecks(text) == kopecks


@pytest.mark.parametrize("bad", ["1.005", "abc", "NaN", "Infinity"])
def test_money_refuses_fractions_of_a_kopeck_and_nonsense(bad):
    with pytest.raises(ValueError):
        rub_to_kopecks(bad)


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        rub_to_kopecks(1.5)  # type: ignore[arg-type]


# -------------------------------------------------------------------- properties


@dataclass(frozen=True)
class Scenario:
    amounts: tuple[int, ...]
    premium: tuple[bool, ...]
    redeem: int
    level_rate_bp: int | None
    first_month: bool
    birthday: bool

    def receipt(self, amounts: tuple[int, ...] | None = None) -> Receipt:
        return receipt(*(self.amounts if amounts is None else amounts))

    def member(self) -> MemberContext:
        return MemberContext(
            activated_on=NOON.date() if self.first_month else LONG_AGO,
            birth_date=date(1990, 6, 17) if self.birthday else date(1990, 1, 1),
            level_rate_bp=self.level_rate_bp,
        )

    def premium_goods(self) -> tuple[PremiumGood, ...]:
        return tuple(PremiumGood(f"sku{i}") for i, flag in enumerate(self.premium) if flag)

    def accrue(self, amounts: tuple[int, ...] | None = None) -> Accrual:
        return accrue(
            self.receipt(amounts),
            member=self.member(),
            premium=self.premium_goods(),
            redeem=self.redeem,
        )

    def exact_parts(self) -> dict[str, Fraction]:
        """An independent statement of L-EARN-1..6 with the default program."""
        total = sum(self.amounts)
        paid = [
            Fraction(a) - (Fraction(self.redeem * a, total) if self.redeem else 0)
            for a in self.amounts
        ]
        rate = 50 if self.level_rate_bp is None else self.level_rate_bp
        base = sum(paid, Fraction(0)) * rate / 10_000
        exact = {
            RuleCode.BASE: base,
            RuleCode.FIRST_MONTH: base if self.first_month else Fraction(0),
            RuleCode.PREMIUM: sum(
                (p for p, flag in zip(paid, self.premium, strict=True) if flag), Fraction(0)
            )
            * 200
            / 10_000,
            RuleCode.BIRTHDAY: sum(paid, Fraction(0)) * 200 / 10_000 if self.birthday else 0,
        }
        return {rule: Fraction(value) for rule, value in exact.items() if value > 0}


AMOUNTS = st.integers(min_value=0, max_value=5_000_000)


@st.composite
def scenarios(draw, amount=AMOUNTS) -> Scenario:
    amounts = tuple(draw(st.lists(amount, min_size=1, max_size=6)))
    flags = tuple(draw(st.lists(st.booleans(), min_size=len(amounts), max_size=len(amounts))))
    return Scenario(
        amounts=amounts,
        premium=flags,
        redeem=draw(st.integers(min_value=0, max_value=sum(amounts))),
        level_rate_bp=draw(st.none() | st.integers(min_value=0, max_value=300)),
        first_month=draw(st.booleans()),
        birthday=draw(st.booleans()),
    )


@given(scenarios())
def test_total_is_the_floor_of_the_exact_sum_and_every_breakdown_adds_up(scenario):
    accrual = scenario.accrue()
    exact = scenario.exact_parts()

    assert accrual.total_hundredths >= 0
    assert accrual.total_hundredths == math.floor(sum(exact.values(), Fraction(0)))
    assert sum(part.points_hundredths for part in accrual.breakdown) == accrual.total_hundredths
    assert sum(line.earned_hundredths for line in accrual.lines) == accrual.total_hundredths
    assert {part.rule for part in accrual.breakdown} == set(exact)
    for part in accrual.breakdown:
        # Each shown part is its exact value rounded down or up.
        assert math.floor(exact[part.rule]) <= part.points_hundredths <= math.ceil(exact[part.rule])
    for line in accrual.lines:
        assert line.earned_hundredths >= 0


@given(scenarios())
def test_redeemed_shares_add_up_exactly_and_fit_their_lines(scenario):
    accrual = scenario.accrue()

    assert sum(line.redeemed_hundredths for line in accrual.lines) == scenario.redeem
    for line in accrual.lines:
        assert 0 <= line.redeemed_hundredths <= line.amount_kopecks


@given(scenarios(), st.data())
def test_more_money_never_earns_fewer_points(scenario, data):
    index = data.draw(st.integers(min_value=0, max_value=len(scenario.amounts) - 1))
    extra = data.draw(st.integers(min_value=0, max_value=1_000_000))
    bigger = list(scenario.amounts)
    bigger[index] += extra

    assert scenario.accrue(tuple(bigger)).total_hundredths >= scenario.accrue().total_hundredths


@given(scenarios(amount=st.integers(min_value=0, max_value=25_000).map(lambda n: n * 200)))
def test_additions_stack_as_the_sum_of_each_alone(scenario):
    """Amounts in steps of 2 RUB and no points paid: every part is whole, nothing rounds."""
    scenario = Scenario(**{**scenario.__dict__, "redeem": 0, "level_rate_bp": None})
    plain = Scenario(
        **{
            **scenario.__dict__,
            "premium": (False,) * len(scenario.amounts),
            "first_month": False,
            "birthday": False,
        }
    )

    def alone(**rule):
        return Scenario(**{**plain.__dict__, **rule}).accrue().total_hundredths

    base = plain.accrue().total_hundredths
    together = scenario.accrue().total_hundredths

    assert together == base + sum(
        alone(**{name: value}) - base
        for name, value in [
            ("premium", scenario.premium),
            ("first_month", scenario.first_month),
            ("birthday", scenario.birthday),
        ]
    )


@given(scenarios(), st.data())
def test_partial_returns_never_move_more_than_the_purchase(scenario, data):
    """L-SPEND-3: any sequence of partial returns, then the rest, equals one full return."""
    accrual = scenario.accrue()
    returned = [0] * len(accrual.lines)
    taken = given = 0

    for final in [False] * data.draw(st.integers(min_value=0, max_value=3)) + [True]:
        batch = []
        for i, line in enumerate(accrual.lines):
            left = line.amount_kopecks - returned[i]
            now = left if final else data.draw(st.integers(min_value=0, max_value=left))
            batch.append(
                ReturnLine(
                    line.amount_kopecks,
                    line.earned_hundredths,
                    line.redeemed_hundredths,
                    returning_kopecks=now,
                    previously_returned_kopecks=returned[i],
                )
            )
            returned[i] += now
        moved = return_points(batch)
        assert moved.taken_back_hundredths >= 0
        assert moved.given_back_hundredths >= 0
        taken += moved.taken_back_hundredths
        given += moved.given_back_hundredths
        assert taken <= accrual.total_hundredths
        assert given <= accrual.redeemed_hundredths

    assert (taken, given) == (accrual.total_hundredths, accrual.redeemed_hundredths)


@given(
    st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=20),
    st.data(),
)
def test_allocation_of_redeemed_points_is_exact_and_fair(amounts, data):
    redeem = data.draw(st.integers(min_value=0, max_value=sum(amounts)))

    shares = allocate_redeemed(redeem, amounts)

    assert sum(shares) == redeem
    total = sum(amounts)
    for share, amount in zip(shares, amounts, strict=True):
        assert 0 <= share <= amount
        if total:
            assert abs(Fraction(share) - Fraction(redeem * amount, total)) < 1


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.dates(min_value=date(1901, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(min_value=0, max_value=10),
)
def test_birthday_window_matches_a_day_by_day_walk(birth_date, local_date, days):
    """Walk the window around the purchase date and look for the birthday's day of year."""

    def is_birthday(day: date) -> bool:
        if (birth_date.month, birth_date.day) == (2, 29) and not calendar.isleap(day.year):
            return (day.month, day.day) == (2, 28)
        return (day.month, day.day) == (birth_date.month, birth_date.day)

    walk = any(is_birthday(local_date + timedelta(days=d)) for d in range(-days, days + 1))

    assert birthday_in_window(birth_date, local_date, days) is walk
