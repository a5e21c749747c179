"""Request and response shapes of the mobile-app API (SPEC §4). Shapes only: no rules here.

Money is a decimal string in roubles ("123.45"), points a decimal string ("1.23"), times
ISO 8601 with an offset, dates YYYY-MM-DD. The app is built against these field names:
fields may be added, never renamed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Schema
from pydantic import Field, StrictBool, StrictStr

from kabinet.core.api import ErrorDetail

MoneyText = str  # "123.45": roubles, or points (1 point = 1 rouble)


# --- errors ---------------------------------------------------------------------------------


class AppErrorDetail(ErrorDetail):
    #: Registration answers every refused field at once: field → message.
    fields: dict[str, str] | None = None


class AppErrorOut(Schema):
    error: AppErrorDetail


# --- auth -----------------------------------------------------------------------------------


class ConsentsIn(Schema):
    personal_data: StrictBool = False
    rules: StrictBool = False


class MarketingIn(Schema):
    email: StrictBool = False
    sms: StrictBool = False
    voice: StrictBool = False
    push: StrictBool = False


class RegisterIn(Schema):
    card: StrictStr | None = Field(
        default=None,
        max_length=64,
        description="16 цифр пластиковой карты или штрихкод; null — выпустить виртуальную",
        examples=["2770123456789012"],
    )
    city_id: int
    first_name: StrictStr = Field(max_length=100, examples=["Анна"])
    birth_date: date
    email: StrictStr = Field(max_length=254, examples=["anna@mail.ru"])
    password: StrictStr = Field(max_length=128)
    phone: StrictStr = Field(max_length=32, examples=["9161234567"])
    consents: ConsentsIn
    marketing: MarketingIn = Field(default_factory=MarketingIn)


class ChallengeOut(Schema):
    challenge_id: str
    #: When a new code may be requested (`POST auth/code/resend`).
    resend_after: datetime


class ChallengeIn(Schema):
    challenge_id: StrictStr = Field(max_length=64)
    code: StrictStr = Field(max_length=16, examples=["1234"])


class ResendIn(Schema):
    challenge_id: StrictStr = Field(max_length=64)


class TokenOut(Schema):
    token: str
    expires_at: datetime


class RegisteredOut(Schema):
    token: str
    expires_at: datetime
    #: The number of the member's active card.
    card: str
    virtual: bool


class LoginIn(Schema):
    phone: StrictStr = Field(max_length=32, examples=["9161234567"])
    password: StrictStr = Field(max_length=128)


class LoginCodeIn(Schema):
    phone: StrictStr = Field(max_length=32, examples=["9161234567"])


class PasswordResetIn(Schema):
    phone: StrictStr = Field(max_length=32, examples=["9161234567"])
    birth_date: date


class PasswordResetConfirmIn(Schema):
    challenge_id: StrictStr = Field(max_length=64)
    code: StrictStr = Field(max_length=16)
    new_password: StrictStr = Field(max_length=128)


# --- profile ----------------------------------------------------------------------------------


class CityOut(Schema):
    id: int
    name: str
    region: str
    region_code: str
    program_active: bool


class MeOut(Schema):
    first_name: str
    birth_date: date | None
    phone: str | None
    email: str
    city: CityOut | None
    level: str | None
    always_confirm_login: bool
    activated_at: datetime


class MePatchIn(Schema):
    first_name: StrictStr | None = Field(default=None, max_length=100)
    email: StrictStr | None = Field(default=None, max_length=254)
    always_confirm_login: StrictBool | None = None


class PhoneChangeIn(Schema):
    phone: StrictStr = Field(max_length=32)


class NextLevelOut(Schema):
    name: str
    spend_needed: MoneyText


class LevelOut(Schema):
    name: str
    #: Per cent of the paid amount earned at this level: "0.50" = 0,5 %.
    rate: str
    next: NextLevelOut | None


class MonthOut(Schema):
    spent: MoneyText
    counted_lines: int
    receipts: int


class BalanceOut(Schema):
    balance: MoneyText
    available: MoneyText
    held: MoneyText
    month: MonthOut
    level: LevelOut | None


class ReceiptOut(Schema):
    id: int
    store: str
    store_code: str
    datetime: datetime
    total: MoneyText
    earned: MoneyText
    redeemed: MoneyText


class ReceiptLineOut(Schema):
    sku: str
    name: str
    quantity: str
    price: MoneyText
    amount: MoneyText
    earned: MoneyText
    redeemed: MoneyText
    returned: MoneyText


class BreakdownOut(Schema):
    rule: str
    title: str
    points: MoneyText
    explanation: str


class ReceiptDetailOut(ReceiptOut):
    lines: list[ReceiptLineOut]
    breakdown: list[BreakdownOut]
    returned: MoneyText
    points_taken_back: MoneyText
    points_given_back: MoneyText


class ChannelsIO(Schema):
    email: StrictBool
    sms: StrictBool
    voice: StrictBool
    push: StrictBool


class CardOut(Schema):
    card: str
    status: str
    virtual: bool
    #: What the QR code shows now; null for a card that is not active.
    qr_payload: str | None
    qr_expires_at: datetime | None
    #: The 22 digits of the on-screen barcode (card + rotating code).
    barcode: str | None


class CardListOut(CardOut):
    id: int
    activated_at: datetime | None
    blocked_at: datetime | None
    block_reason: str
    #: The number of the card that replaced this one, if any.
    replaced_by: str | None


class ReplaceIn(Schema):
    card: StrictStr = Field(
        max_length=64,
        description="16 цифр новой пластиковой карты (или её штрихкод)",
        examples=["2770123456789012"],
    )


class ChartMonthOut(Schema):
    #: "YYYY-MM".
    month: str
    #: Roubles spent (less returns).
    spent: MoneyText
    #: Points earned (net of returns).
    earned: MoneyText
    #: Points spent (net of points given back on returns).
    redeemed: MoneyText


class CloseIn(Schema):
    password: StrictStr = Field(max_length=128)


class BlockIn(Schema):
    reason: StrictStr = Field(default="утеряна", max_length=200)


class PromoOut(Schema):
    sku: str
    name: str
    description: str
    valid_from: date | None
    valid_to: date | None


class PremiumOut(Schema):
    sku: str
    name: str
    valid_from: date | None
    valid_to: date | None


class PersonalOfferOut(Schema):
    id: int
    title: str
    kind: str
    #: Extra per cent for "percent" offers ("2.00" = 2 %), fixed points for "fixed" ones.
    bonus_percent: str | None
    points: MoneyText | None
    valid_from: date
    valid_to: date


class OffersOut(Schema):
    promo: list[PromoOut]
    premium: list[PremiumOut]
    personal: list[PersonalOfferOut]


class StoreOut(Schema):
    id: int
    code: str
    name: str
    address: str
    city: str | None
    region: str
    lat: str | None
    lon: str | None
    #: The store earns and redeems points (its own flag and its region's).
    takes_part: bool
    #: Kilometres from the given point, "1.25"; null when no point was given.
    distance: str | None


class PushTokenIn(Schema):
    platform: Literal["ios", "android"]
    token: StrictStr = Field(min_length=1, max_length=512)
