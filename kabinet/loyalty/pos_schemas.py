"""Request and response shapes of the POS API (SPEC §4). Shapes only: no rules here.

Money is a decimal string in roubles ("123.45"), points a decimal string ("1.23"); a JSON
number is accepted where money or points are expected only if it is exact with at most two
decimals (`kabinet.core.api.Money`). Times are ISO 8601 with an offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictStr,
    ValidationInfo,
    model_validator,
)

from kabinet.core.api import Money, Points, Quantity
from kabinet.loyalty.services.purchases import MAX_LINES, LineInput, ReceiptInput

MAX_BATCH_ITEMS = 1000


def _iso_text(value: Any) -> Any:
    # pydantic would read a bare number as a Unix time; a till must send ISO 8601 text.
    if not isinstance(value, str):
        raise ValueError(
            "время в формате ISO 8601 со смещением, например 2026-03-10T12:00:00+03:00"
        )
    return value


ReceiptTime = Annotated[datetime, BeforeValidator(_iso_text)]
CardText = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=64,
        description="16 цифр номера карты, штрихкод или QR-код виртуальной карты (KB1:…)",
        examples=["2770123456789012"],
    ),
]


class InputSchema(Schema):
    """A request body's schema. The JSON parser always hands it dicts, which need none of
    ninja's wrapping for ORM objects (`DjangoGetter`, around every nested object: ~0.2 ms
    of a purchase's CPU); anything else still gets it, so errors read the same."""

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        if type(values) is dict:
            return handler(values)
        return super()._run_root_validator(values, handler, info)


class LineIn(InputSchema):
    sku: StrictStr = Field(max_length=64, examples=["4600001"])
    name: StrictStr = Field(default="", max_length=200, examples=["Молоко 3,2 %"])
    quantity: Quantity
    price: Money
    #: After store discounts (L-EARN-6).
    amount: Money
    category: StrictStr | None = Field(default=None, max_length=64)


class ReceiptIn(InputSchema):
    model_config = ConfigDict(populate_by_name=True)

    number: StrictStr = Field(max_length=64, examples=["000123"])
    purchased_at: ReceiptTime = Field(alias="datetime", examples=["2026-03-10T12:00:00+03:00"])
    lines: list[LineIn] = Field(max_length=MAX_LINES)
    total: Money

    def to_input(self) -> ReceiptInput:
        return ReceiptInput(
            number=self.number,
            purchased_at=self.purchased_at,
            lines=tuple(
                LineInput(
                    sku=line.sku,
                    name=line.name,
                    quantity=line.quantity,
                    price_kopecks=line.price,
                    amount_kopecks=line.amount,
                    category=line.category,
                )
                for line in self.lines
            ),
            total_kopecks=self.total,
        )


class PurchaseIn(InputSchema):
    """`POST purchases/calculate` (and the base of a commit)."""

    card: CardText
    receipt: ReceiptIn
    redeem: Points = 0


class PurchaseCommitIn(PurchaseIn):
    """`POST purchases`: `mode: "hold"` reserves the redemption until confirm (L-POS-4)."""

    mode: Literal["commit", "hold"] = "commit"


class BatchItemIn(PurchaseIn):
    """One receipt of an offline till; it may earn but never redeem (L-POS-4)."""

    idempotency_key: StrictStr = Field(min_length=1, max_length=128)
    #: An offline till cannot hold: its receipt is already printed.
    mode: Literal["commit"] = "commit"


class BatchIn(InputSchema):
    items: list[dict[str, Any]] = Field(
        max_length=MAX_BATCH_ITEMS,
        description=f"До {MAX_BATCH_ITEMS} чеков; каждый — BatchItemIn. Чек с ошибкой "
        "не мешает остальным: у каждого свой результат.",
    )


class ReturnLineIn(InputSchema):
    sku: StrictStr = Field(max_length=64)
    quantity: Quantity | None = None
    amount: Annotated[Money, Field(gt=0)] = Field(description="Сумма возврата по позиции, рубли")


class ReturnIn(InputSchema):
    lines: list[ReturnLineIn] = Field(
        default_factory=list, max_length=MAX_LINES, description="Пусто — полный возврат"
    )


class SellIn(InputSchema):
    card: CardText
    receipt_total: Money


# ---------------------------------------------------------------------------- answers


class MessageOut(Schema):
    code: str
    text: str
    ref: str | None = None


class RulePartOut(Schema):
    rule: str = Field(examples=["base"])
    points: str = Field(examples=["5.00"])
    ref: str | None = None


class CardOut(Schema):
    card: str
    status: Literal["issued", "active", "blocked"]
    balance: str
    redeemable: str
    first_name: str | None
    messages: list[MessageOut]


class QuoteOut(Schema):
    earn: str
    redeem: str
    balance: str
    redeemable: str
    balance_after: str
    breakdown: list[RulePartOut]
    messages: list[MessageOut]


class PurchaseOut(Schema):
    id: int
    status: Literal["held", "committed", "cancelled", "expired"]
    earned: str
    redeemed: str
    balance: str
    breakdown: list[RulePartOut]
    messages: list[MessageOut]
    hold_expires_at: str | None = Field(
        default=None, description="Только для резерва: до какого времени его нужно подтвердить"
    )


class ReturnOut(Schema):
    id: int
    purchase_id: int
    amount: str
    taken_back: str
    given_back: str
    balance: str


class SellOut(Schema):
    price: str = Field(examples=["25.00"])


class BatchResultOut(Schema):
    idempotency_key: str | None
    status: int = Field(examples=[201])
    body: dict[str, Any] = Field(description="Ответ, как на одиночный POST purchases")


class BatchOut(Schema):
    results: list[BatchResultOut]
