"""Returns (L-SPEND-3): full or by lines, idempotent, possibly leaving a negative balance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from kabinet.core import idempotency
from kabinet.core.errors import Conflict, ValidationFailed
from kabinet.core.money import format_amount, parse_amount
from kabinet.loyalty import rules
from kabinet.loyalty.models import LedgerKind, Purchase, PurchaseReturn, PurchaseStatus, Terminal
from kabinet.loyalty.services import ledger
from kabinet.loyalty.services.purchases import check_key, terminal_scope


@dataclass(frozen=True, slots=True)
class ReturnLineInput:
    sku: str
    amount_kopecks: int
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReturnResult:
    id: int
    purchase_id: int
    amount_kopecks: int
    taken_back: int
    given_back: int
    balance: int
    replayed: bool = False

    def to_body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "purchase_id": self.purchase_id,
            "amount": format_amount(self.amount_kopecks),
            "taken_back": format_amount(self.taken_back),
            "given_back": format_amount(self.given_back),
            "balance": format_amount(self.balance),
        }

    @classmethod
    def from_body(cls, body: dict[str, Any], *, replayed: bool) -> ReturnResult:
        return cls(
            id=body["id"],
            purchase_id=body["purchase_id"],
            amount_kopecks=parse_amount(body["amount"]),
            taken_back=parse_amount(body["taken_back"]),
            given_back=parse_amount(body["given_back"]),
            balance=parse_amount(body["balance"]),
            replayed=replayed,
        )


def return_purchase(
    *,
    terminal: Terminal,
    purchase: Purchase,
    lines: Sequence[ReturnLineInput] | None,
    idempotency_key: str,
    now: datetime | None = None,
) -> ReturnResult:
    """Return all of a purchase (`lines` None or empty) or some lines (L-SPEND-3); idempotent.

    Takes back the points the returned money earned and gives back the points it was paid
    with; the balance may go below zero, which then stops redemption.
    """
    now = now or timezone.now()
    check_key(idempotency_key)
    lines = tuple(lines or ())
    scope = terminal_scope(terminal)
    digest = idempotency.request_hash(
        {
            "op": "return",
            "purchase": purchase.pk,
            "lines": [[line.sku, line.amount_kopecks, str(line.quantity)] for line in lines],
        }
    )
    try:
        with transaction.atomic():
            stored = idempotency.replay(scope=scope, key=idempotency_key, request_hash=digest)
            if stored is not None:
                return ReturnResult.from_body(stored.body, replayed=True)
            result = _return(purchase=purchase, lines=lines, now=now)
            idempotency.remember(
                scope=scope,
                key=idempotency_key,
                request_hash=digest,
                status=201,
                body=result.to_body(),
            )
            return result
    except IntegrityError:
        stored = idempotency.replay(scope=scope, key=idempotency_key, request_hash=digest)
        if stored is None:
            raise
        return ReturnResult.from_body(stored.body, replayed=True)


def _return(
    *, purchase: Purchase, lines: tuple[ReturnLineInput, ...], now: datetime
) -> ReturnResult:
    # The purchase row is the lock: returns of one purchase run one at a time, so two of
    # them can never return the same money.
    locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if locked.status != PurchaseStatus.COMMITTED:
        raise Conflict("Вернуть можно только проведённую покупку", code="purchase_not_committed")
    bought = locked.lines
    left = [line["amount"] - line["returned"] for line in bought]
    returning = [0] * len(bought)
    if not lines:
        returning = list(left)
    for asked in lines:
        if asked.amount_kopecks <= 0:
            raise ValidationFailed("Сумма возврата строки должна быть положительной")
        rest = asked.amount_kopecks
        for i, line in enumerate(bought):
            if line["sku"] == asked.sku and rest:
                take = min(rest, left[i] - returning[i])
                returning[i] += take
                rest -= take
        if rest:
            raise ValidationFailed(
                f"Возврат по позиции {asked.sku} больше купленного", field="lines"
            )
    amount = sum(returning)
    if amount == 0:
        raise Conflict("Покупка уже возвращена полностью", code="already_returned")
    points = rules.return_points(
        rules.ReturnLine(
            amount_kopecks=line["amount"],
            earned_hundredths=line["earned"],
            redeemed_hundredths=line["redeemed"],
            returning_kopecks=returning[i],
            previously_returned_kopecks=line["returned"],
        )
        for i, line in enumerate(bought)
    )
    Purchase.objects.filter(pk=locked.pk).update(
        lines=[
            {**line, "returned": line["returned"] + returning[i]} for i, line in enumerate(bought)
        ]
    )
    record = PurchaseReturn.objects.create(
        purchase_id=locked.pk,
        account_id=locked.account_id,
        lines=[
            {"sku": line["sku"], "amount": returning[i]}
            for i, line in enumerate(bought)
            if returning[i]
        ],
        amount_kopecks=amount,
        taken_back=points.taken_back_hundredths,
        given_back=points.given_back_hundredths,
        created_at=now,
    )
    after = ledger.move(
        account_id=locked.account_id,
        balance_delta=points.given_back_hundredths - points.taken_back_hundredths,
    )
    ledger.entries(
        account_id=locked.account_id,
        moves=[
            (LedgerKind.RETURN_EARN, -points.taken_back_hundredths),
            (LedgerKind.RETURN_REDEEM, points.given_back_hundredths),
        ],
        reason=f"Возврат по чеку {locked.receipt_number}",
        purchase_id=locked.pk,
        at=now,
    )
    return ReturnResult(
        id=record.pk,
        purchase_id=locked.pk,
        amount_kopecks=amount,
        taken_back=points.taken_back_hundredths,
        given_back=points.given_back_hundredths,
        balance=after.balance,
    )
