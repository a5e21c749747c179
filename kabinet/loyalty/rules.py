"""Pure accrual and redemption arithmetic of the loyalty program (L-EARN, L-SPEND).

Plain values in, plain values out: no Django, no ORM, no clock. The services
gather the inputs under their locks and store what comes out.

Units inside this module:

* money — integer kopecks;
* points — integer hundredths of a point (1 point = 1 RUB, so one hundredth of
  a point is worth one kopeck);
* rates — integer basis points (0.5 % = 50 bp, 100 % = 10 000 bp).

Rounding (L-EARN-6): every rule's value is computed exactly, as a fraction of
a hundredth (integer numerators over one common denominator); only the
receipt's *total* is rounded, down, to a whole hundredth. The per-rule
breakdown and the per-line shares are then apportioned from that total by the
largest-remainder method: each part is its exact value rounded down, and the
hundredths the rounding left over go one each to the parts with the largest
dropped fractions (ties to the earlier part). So every shown
part is its exact value rounded down or up, and the parts always add up to the
total exactly.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

#: Basis points in a whole (100 %).
BP_WHOLE = 10_000


class RuleCode(StrEnum):
    """Stable ids of the accrual rules, as shown in a breakdown."""

    BASE = "base"  # L-EARN-1, at the member's level rate (L-EARN-8)
    FIRST_MONTH = "first_month"  # L-EARN-2: the extra on top of the base part
    PREMIUM = "premium"  # L-EARN-3
    BIRTHDAY = "birthday"  # L-EARN-4
    OFFER = "offer"  # L-EARN-5, one part per offer (RulePart.ref = offer id)


class MessageCode(StrEnum):
    """Stable ids of the messages for the till and the member."""

    STORE_NOT_PARTICIPATING = "store_not_participating"
    REDEEM_OVER_SHARE = "redeem_over_share"
    FIRST_MONTH = "first_month"
    PREMIUM = "premium"
    BIRTHDAY = "birthday"
    OFFER = "offer"


class OfferKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Message:
    """A stable code for programs plus Russian text for people (translated later)."""

    code: str
    text: str
    ref: str | None = None


class RedemptionRefused(ValueError):
    """Points may not pay for this receipt; `code` is a `MessageCode`."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


# --------------------------------------------------------------------------- inputs


def _require_int(name: str, value: object, *, minimum: int = 0) -> None:
    # bool is an int subclass; True kopecks is a bug, not an amount.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    sku: str
    #: The line's amount after store discounts (L-EARN-6), in kopecks.
    amount_kopecks: int
    category: str | None = None

    def __post_init__(self) -> None:
        if not self.sku:
            raise ValueError("sku must not be empty")
        _require_int("amount_kopecks", self.amount_kopecks)


@dataclass(frozen=True, slots=True)
class Receipt:
    lines: tuple[ReceiptLine, ...]
    #: When the till sold it; must be timezone-aware (stored in UTC). The local
    #: date comes from the store's time zone, never from the server's.
    purchased_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if not self.lines:
            raise ValueError("a receipt has at least one line")
        _require_aware(self.purchased_at)

    @property
    def total_kopecks(self) -> int:
        return sum(line.amount_kopecks for line in self.lines)


@dataclass(frozen=True, slots=True)
class StoreContext:
    participates: bool
    #: IANA time zone name, e.g. "Asia/Vladivostok".
    tz: str
    region_code: str


@dataclass(frozen=True, slots=True)
class PersonalOffer:
    """L-EARN-5: an extra percent on goods/categories, or fixed points for a product."""

    offer_id: str
    kind: OfferKind
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    bonus_bp: int = 0
    fixed_points_hundredths: int = 0
    valid_from: date | None = None
    valid_to: date | None = None
    #: Shown to the member ("the member is told", L-EARN-5).
    title: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", OfferKind(self.kind))
        object.__setattr__(self, "skus", frozenset(self.skus))
        object.__setattr__(self, "categories", frozenset(self.categories))
        _require_int("bonus_bp", self.bonus_bp)
        _require_int("fixed_points_hundredths", self.fixed_points_hundredths)
        if not self.skus and not self.categories:
            raise ValueError("an offer names at least one sku or category")
        if self.kind is OfferKind.PERCENT and (self.bonus_bp == 0 or self.fixed_points_hundredths):
            raise ValueError("a percent offer has bonus_bp > 0 and no fixed points")
        if self.kind is OfferKind.FIXED and (self.fixed_points_hundredths == 0 or self.bonus_bp):
            raise ValueError("a fixed offer has fixed_points_hundredths > 0 and no bonus_bp")

    def matches(self, line: ReceiptLine) -> bool:
        return line.sku in self.skus or (
            line.category is not None and line.category in self.categories
        )


@dataclass(frozen=True, slots=True)
class MemberContext:
    #: The store-local date the card was activated (L-EARN-2 counts from it).
    activated_on: date
    birth_date: date | None = None
    #: The member's privilege level rate; it replaces the program base rate
    #: (L-EARN-8). None means "use ProgramSettings.base_rate_bp".
    level_rate_bp: int | None = None
    offers: tuple[PersonalOffer, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "offers", tuple(self.offers))
        if self.level_rate_bp is not None:
            _require_int("level_rate_bp", self.level_rate_bp)


@dataclass(frozen=True, slots=True)
class ProgramSettings:
    """Back-office settings (L-BO-1); the defaults are the seed's numbers."""

    base_rate_bp: int = 50
    first_month_multiplier: int = 2
    first_month_days: int = 30
    birthday_bonus_bp: int = 200
    birthday_window_days: int = 3
    premium_bonus_bp: int = 200
    max_redeem_share_bp: int = BP_WHOLE

    def __post_init__(self) -> None:
        _require_int("base_rate_bp", self.base_rate_bp)
        _require_int("first_month_multiplier", self.first_month_multiplier, minimum=1)
        _require_int("first_month_days", self.first_month_days)
        _require_int("birthday_bonus_bp", self.birthday_bonus_bp)
        _require_int("birthday_window_days", self.birthday_window_days)
        _require_int("premium_bonus_bp", self.premium_bonus_bp)
        _require_int("max_redeem_share_bp", self.max_redeem_share_bp)
        if self.max_redeem_share_bp > BP_WHOLE:
            raise ValueError("max_redeem_share_bp cannot exceed 100 %")


@dataclass(frozen=True, slots=True)
class PremiumGood:
    """L-EARN-3: a premium good, valid between dates, everywhere or in one region."""

    sku: str
    valid_from: date | None = None
    valid_to: date | None = None
    region_code: str | None = None


# -------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class RulePart:
    rule: str
    points_hundredths: int
    #: Which offer, for RuleCode.OFFER parts.
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class LineAccrual:
    sku: str
    amount_kopecks: int
    #: This line's share of the points that paid for the receipt.
    redeemed_hundredths: int
    #: This line's share of the receipt's earned total (what a return takes back).
    earned_hundredths: int

    @property
    def paid_kopecks(self) -> int:
        return self.amount_kopecks - self.redeemed_hundredths


@dataclass(frozen=True, slots=True)
class Accrual:
    total_hundredths: int
    #: Sums to total_hundredths exactly; only rules with a non-zero exact value.
    breakdown: tuple[RulePart, ...]
    messages: tuple[Message, ...]
    #: In receipt order; earned and redeemed shares each sum to the receipt's.
    lines: tuple[LineAccrual, ...]
    redeemed_hundredths: int
    #: The store-local date every date rule was judged by.
    local_date: date


# ------------------------------------------------------------------- small helpers


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")


def store_local_date(utc_dt: datetime, tz: str) -> date:
    """The calendar date at the store when `utc_dt` happened (any aware datetime)."""
    _require_aware(utc_dt)
    return utc_dt.astimezone(ZoneInfo(tz)).date()


def _birthday_in_year(birth_date: date, year: int) -> date:
    # L-EARN-4: a 29 February birthday is kept on 28 February in other years.
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birth_date.replace(year=year)


def birthday_in_window(birth_date: date, local_date: date, days: int) -> bool:
    """Whether `local_date` is within `days` days of a birthday, both ends inclusive.

    The neighbouring years' birthdays are checked too, so the window wraps the
    year end (a 1 January birthday covers 29–31 December with days=3).
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    years_each_side = days // 365 + 1
    for year in range(local_date.year - years_each_side, local_date.year + years_each_side + 1):
        if not MINYEAR <= year <= MAXYEAR:
            continue
        if abs((_birthday_in_year(birth_date, year) - local_date).days) <= days:
            return True
    return False


def _valid_on(valid_from: date | None, valid_to: date | None, day: date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


def _percent_text(rate_bp: int) -> str:
    """50 -> "0,5", 125 -> "1,25", 200 -> "2" (Russian decimal comma)."""
    whole, hundredths = divmod(rate_bp, 100)
    return f"{whole},{hundredths:02d}".rstrip("0") if hundredths else str(whole)


def _days_text(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        word = "день"
    elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        word = "дня"
    else:
        word = "дней"
    return f"{n} {word}"


def _apportion(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Split integer `total` into integers close to the weights `numerators[i] /
    denominator` (largest remainder; ties to the earlier weight).

    `total` must lie between the sum of the floors and the sum of the ceilings
    of the weights, which holds whenever it is the floor of their sum.
    """
    shares = [n // denominator for n in numerators]
    short = total - sum(shares)
    with_fraction = [i for i, n in enumerate(numerators) if n % denominator]
    if not 0 <= short <= len(with_fraction):
        raise ValueError("total is not an apportionment of the weights")
    # Over one denominator, comparing the numerators' remainders compares the fractions.
    with_fraction.sort(key=lambda i: (-(numerators[i] % denominator), i))
    for i in with_fraction[:short]:
        shares[i] += 1
    return shares


def allocate_redeemed(redeem_hundredths: int, amounts_kopecks: Sequence[int]) -> tuple[int, ...]:
    """Each line's share of the redeemed points, pro rata by amount (L-EARN-6).

    Largest remainder, so the shares add up to `redeem_hundredths` exactly and
    no share exceeds its line's amount.
    """
    _require_int("redeem_hundredths", redeem_hundredths)
    total = sum(amounts_kopecks)
    if redeem_hundredths > total:
        raise ValueError("cannot redeem more than the receipt's total")
    if redeem_hundredths == 0:
        return tuple(0 for _ in amounts_kopecks)
    weights = [redeem_hundredths * amount for amount in amounts_kopecks]
    return tuple(_apportion(redeem_hundredths, weights, total))


def max_redeemable(
    receipt_total_kopecks: int,
    balance_hundredths: int,
    program: ProgramSettings,
    *,
    store_participates: bool = True,
) -> int:
    """How many points may pay for this receipt (L-SPEND-1); never negative.

    A negative balance (left by a return, L-SPEND-3) allows nothing; a store
    outside the program allows nothing (L-EARN-7).
    """
    _require_int("receipt_total_kopecks", receipt_total_kopecks)
    if not store_participates:
        return 0
    return max(0, min(balance_hundredths, _share_cap(receipt_total_kopecks, program)))


def _share_cap(receipt_total_kopecks: int, program: ProgramSettings) -> int:
    return receipt_total_kopecks * program.max_redeem_share_bp // BP_WHOLE


# ------------------------------------------------------------------------ accrual


@dataclass(slots=True)
class _Part:
    rule: str
    #: Each line's exact value: numerators over the receipt's one common denominator.
    per_line: list[int]
    #: Why the member got more than the base rate; None for the base part.
    message: Message | None
    ref: str | None = None

    @property
    def exact(self) -> int:
        return sum(self.per_line)


def _not_participating_message() -> Message:
    return Message(
        MessageCode.STORE_NOT_PARTICIPATING,
        "Магазин не участвует в программе: баллы не начисляются и не списываются",
    )


def calculate_accrual(
    receipt: Receipt,
    *,
    store: StoreContext,
    member: MemberContext,
    program: ProgramSettings,
    premium: Iterable[PremiumGood] = (),
    redeem_hundredths: int = 0,
) -> Accrual:
    """Points a receipt earns, with a breakdown by rule and by line (L-EARN-1..8).

    `redeem_hundredths` is what the member pays with points on this receipt;
    it must fit the program's share of the receipt (L-SPEND-1). Whether the
    member's balance covers it is the service's check, under its lock
    (L-SPEND-2). Raises `RedemptionRefused` if points may not pay here.
    """
    _require_int("redeem_hundredths", redeem_hundredths)
    local_date = store_local_date(receipt.purchased_at, store.tz)
    amounts = [line.amount_kopecks for line in receipt.lines]

    if not store.participates:
        # L-EARN-7: the receipt is still recorded, but earns and redeems nothing.
        if redeem_hundredths:
            raise RedemptionRefused(
                MessageCode.STORE_NOT_PARTICIPATING,
                "Списание баллов в этом магазине недоступно: магазин не участвует в программе",
            )
        return Accrual(
            total_hundredths=0,
            breakdown=(),
            messages=(_not_participating_message(),),
            lines=tuple(LineAccrual(line.sku, line.amount_kopecks, 0, 0) for line in receipt.lines),
            redeemed_hundredths=0,
            local_date=local_date,
        )

    cap = _share_cap(receipt.total_kopecks, program)
    if redeem_hundredths > cap:
        raise RedemptionRefused(
            MessageCode.REDEEM_OVER_SHARE,
            f"Баллами можно оплатить не больше {kopecks_to_rub_str(cap)} ₽ этого чека",
        )

    # Money paid per line, exactly pro rata. The integer allocation below is
    # what gets recorded per line; earning from the exact shares keeps the
    # result monotonic in every amount and free of a second rounding.
    #
    # Exact values are integer numerators over ONE denominator for the whole
    # receipt — BP_WHOLE × (the total, when points pay: a line's paid share is
    # amount × (total − redeemed) / total) × the lcm of the fixed offers' bought
    # amounts — so the arithmetic is on integers (exact, and several times
    # faster than `Fraction`s, which the till's every purchase used to pay for).
    total_kopecks = receipt.total_kopecks
    paid_scale = total_kopecks if redeem_hundredths else 1
    paid = [
        amount * (total_kopecks - redeem_hundredths) if redeem_hundredths else amount
        for amount in amounts
    ]
    fixed_scale = 1
    for offer in member.offers:
        if offer.kind is OfferKind.FIXED and _valid_on(
            offer.valid_from, offer.valid_to, local_date
        ):
            bought = sum(
                a for a, line in zip(amounts, receipt.lines, strict=True) if offer.matches(line)
            )
            if bought:
                fixed_scale = math.lcm(fixed_scale, bought)
    denominator = BP_WHOLE * paid_scale * fixed_scale

    parts: list[_Part] = []

    def percent(rate_bp: int, selected: Sequence[bool]) -> list[int]:
        # kopecks × bp / 10 000 = hundredths of a point, since 1 point = 1 RUB.
        return [
            p * rate_bp * fixed_scale if sel else 0 for p, sel in zip(paid, selected, strict=True)
        ]

    every_line = [True] * len(amounts)
    base_rate = program.base_rate_bp if member.level_rate_bp is None else member.level_rate_bp
    base = percent(base_rate, every_line)
    parts.append(_Part(RuleCode.BASE, base, message=None))

    days_since_activation = (local_date - member.activated_on).days
    if 0 <= days_since_activation < program.first_month_days:
        # L-EARN-2: day 1 is the activation day itself, by the store's calendar.
        parts.append(
            _Part(
                RuleCode.FIRST_MONTH,
                [b * (program.first_month_multiplier - 1) for b in base],
                Message(
                    MessageCode.FIRST_MONTH,
                    f"Первые {_days_text(program.first_month_days)} после активации карты: "
                    f"базовые баллы ×{program.first_month_multiplier}",
                ),
            )
        )

    premium_skus = {
        good.sku
        for good in premium
        if _valid_on(good.valid_from, good.valid_to, local_date)
        and (good.region_code is None or good.region_code == store.region_code)
    }
    parts.append(
        _Part(
            RuleCode.PREMIUM,
            percent(program.premium_bonus_bp, [line.sku in premium_skus for line in receipt.lines]),
            Message(
                MessageCode.PREMIUM,
                f"Премиальные товары: +{_percent_text(program.premium_bonus_bp)} % баллами",
            ),
        )
    )

    if member.birth_date is not None and birthday_in_window(
        member.birth_date, local_date, program.birthday_window_days
    ):
        parts.append(
            _Part(
                RuleCode.BIRTHDAY,
                percent(program.birthday_bonus_bp, every_line),
                Message(
                    MessageCode.BIRTHDAY,
                    f"С днём рождения! +{_percent_text(program.birthday_bonus_bp)} % "
                    "баллами на всю покупку",
                ),
            )
        )

    for offer in member.offers:
        if not _valid_on(offer.valid_from, offer.valid_to, local_date):
            continue
        matching = [offer.matches(line) for line in receipt.lines]
        if offer.kind is OfferKind.PERCENT:
            per_line = percent(offer.bonus_bp, matching)
        else:
            # Fixed points once per receipt for buying the product (even with
            # points), spread over the matching lines by amount so that a
            # return of some of them takes back their share.
            bought = sum(a for a, m in zip(amounts, matching, strict=True) if m)
            per_line = [
                offer.fixed_points_hundredths * a * (denominator // bought) if m and bought else 0
                for a, m in zip(amounts, matching, strict=True)
            ]
        title = f" «{offer.title}»" if offer.title else ""
        parts.append(
            _Part(
                RuleCode.OFFER,
                per_line,
                Message(MessageCode.OFFER, f"Персональное предложение{title}", ref=offer.offer_id),
                ref=offer.offer_id,
            )
        )

    parts = [part for part in parts if part.exact > 0]
    exact_total = sum(part.exact for part in parts)
    total = exact_total // denominator  # L-EARN-6: the receipt's total, rounded down

    by_rule = _apportion(total, [part.exact for part in parts], denominator)
    line_exact = [sum(part.per_line[i] for part in parts) for i in range(len(amounts))]
    by_line = _apportion(total, line_exact, denominator)
    redeemed_by_line = allocate_redeemed(redeem_hundredths, amounts)

    return Accrual(
        total_hundredths=total,
        breakdown=tuple(
            RulePart(part.rule, points, part.ref)
            for part, points in zip(parts, by_rule, strict=True)
        ),
        messages=tuple(part.message for part in parts if part.message is not None),
        lines=tuple(
            LineAccrual(line.sku, line.amount_kopecks, redeemed, earned)
            for line, redeemed, earned in zip(receipt.lines, redeemed_by_line, by_line, strict=True)
        ),
        redeemed_hundredths=redeem_hundredths,
        local_date=local_date,
    )


# ------------------------------------------------------------------------- returns


@dataclass(frozen=True, slots=True)
class ReturnLine:
    """One line of the original purchase as seen by a return (L-SPEND-3).

    `earned_hundredths` and `redeemed_hundredths` are the line's shares from
    the purchase's `Accrual.lines`; `previously_returned_kopecks` is what
    earlier returns of this line already took, so that several partial returns
    add up to no more than one full return.
    """

    amount_kopecks: int
    earned_hundredths: int
    redeemed_hundredths: int
    returning_kopecks: int
    previously_returned_kopecks: int = 0

    def __post_init__(self) -> None:
        _require_int("amount_kopecks", self.amount_kopecks)
        _require_int("earned_hundredths", self.earned_hundredths)
        _require_int("redeemed_hundredths", self.redeemed_hundredths)
        _require_int("returning_kopecks", self.returning_kopecks)
        _require_int("previously_returned_kopecks", self.previously_returned_kopecks)
        if self.redeemed_hundredths > self.amount_kopecks:
            raise ValueError("a line cannot have been paid with more points than its amount")
        if self.previously_returned_kopecks + self.returning_kopecks > self.amount_kopecks:
            raise ValueError("cannot return more of a line than was bought")


class ReturnPoints(NamedTuple):
    #: Earned points the return takes back from the member.
    taken_back_hundredths: int
    #: Redeemed points the return gives back to the member.
    given_back_hundredths: int


def _cumulative_share(whole: int, amount: int, before: int, after: int) -> int:
    # The share of everything returned so far minus the share of what was
    # returned before: any sequence of partial returns telescopes to the share
    # of their sum, so it never exceeds `whole` and a full return hits it exactly.
    if amount == 0:
        return 0
    return whole * after // amount - whole * before // amount


def return_points(lines: Iterable[ReturnLine]) -> ReturnPoints:
    """Points moved by a (partial) return, pro rata by the amount returned (L-SPEND-3).

    Both directions round down per line, cumulatively; the final return of a
    line settles the remainder, so a full return inverts the purchase exactly.
    """
    taken = given = 0
    for line in lines:
        before = line.previously_returned_kopecks
        after = before + line.returning_kopecks
        taken += _cumulative_share(line.earned_hundredths, line.amount_kopecks, before, after)
        given += _cumulative_share(line.redeemed_hundredths, line.amount_kopecks, before, after)
    return ReturnPoints(taken, given)


# ---------------------------------------------------------------- edges: Decimal


def kopecks_to_rub_str(kopecks: int) -> str:
    """12345 -> "123.45"; also points from hundredths (same scale)."""
    sign = "-" if kopecks < 0 else ""
    rub, kop = divmod(abs(kopecks), 100)
    return f"{sign}{rub}.{kop:02d}"


def kopecks_to_rub(kopecks: int) -> Decimal:
    """12345 -> Decimal("123.45"); also points from hundredths (same scale)."""
    return Decimal(kopecks).scaleb(-2)


def rub_to_kopecks(rub: Decimal | str | int) -> int:
    """Decimal("123.45") -> 12345; refuses fractions of a kopeck and floats."""
    if isinstance(rub, float):
        raise TypeError("money is never a float")
    try:
        value = Decimal(rub)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {rub!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {rub!r}")
    kopecks = value.scaleb(2)
    if kopecks != kopecks.to_integral_value():
        raise ValueError(f"{rub!r} has a fraction of a kopeck")
    return int(kopecks)
