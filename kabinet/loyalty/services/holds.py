"""Two-phase purchases (L-POS-4): confirm, cancel, expire a held purchase.

A held purchase reserves its redemption in `Account.held` and has no ledger entry yet;
confirming writes `redeem` and `earn`, cancelling or expiring releases the reservation.
Each step is a conditional UPDATE of the purchase's status, so a step runs at most once
however many tills or jobs attempt it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kabinet.core.errors import Conflict
from kabinet.loyalty.models import Account, LedgerKind, Purchase, PurchaseStatus
from kabinet.loyalty.services import ledger
from kabinet.loyalty.services.purchases import PurchaseResult


def _current_balance(account_id: int) -> int:
    return Account.objects.values_list("balance", flat=True).get(pk=account_id)


def _result_of(purchase: Purchase, *, balance: int) -> PurchaseResult:
    return PurchaseResult(
        id=purchase.pk,
        status=purchase.status,
        earned=purchase.earned,
        redeemed=purchase.redeemed,
        balance=balance,
        breakdown=purchase.breakdown,
        messages=purchase.messages,
    )


@transaction.atomic
def _close_hold(purchase: Purchase, *, status: str) -> bool:
    """Release a held purchase's reservation as cancelled or expired; False if not held."""
    closed = Purchase.objects.filter(pk=purchase.pk, status=PurchaseStatus.HELD).update(
        status=status
    )
    if closed and purchase.redeemed:
        ledger.move(account_id=purchase.account_id, held_delta=-purchase.redeemed)
    return bool(closed)


def confirm_hold(*, purchase: Purchase, now: datetime | None = None) -> PurchaseResult:
    """Turn a held purchase into a committed one: redeem the reserved points, earn (L-POS-4).

    Confirming twice returns the same result; a hold past its expiry is released and
    refused with `hold_expired`.
    """
    now = now or timezone.now()
    if purchase.hold_expires_at is not None and now >= purchase.hold_expires_at:
        _close_hold(purchase, status=PurchaseStatus.EXPIRED)
    with transaction.atomic():
        confirmed = Purchase.objects.filter(pk=purchase.pk, status=PurchaseStatus.HELD).update(
            status=PurchaseStatus.COMMITTED
        )
        if not confirmed:
            purchase.refresh_from_db()
            if purchase.status == PurchaseStatus.COMMITTED:
                return _result_of(purchase, balance=_current_balance(purchase.account_id))
            if purchase.status == PurchaseStatus.EXPIRED:
                raise Conflict("Резерв баллов истёк", code="hold_expired")
            raise Conflict("Резерв баллов отменён", code="hold_cancelled")
        after = ledger.move(
            account_id=purchase.account_id,
            balance_delta=purchase.earned - purchase.redeemed,
            held_delta=-purchase.redeemed,
        )
        ledger.entries(
            account_id=purchase.account_id,
            moves=[(LedgerKind.REDEEM, -purchase.redeemed), (LedgerKind.EARN, purchase.earned)],
            reason=f"Чек {purchase.receipt_number}",
            purchase_id=purchase.pk,
            at=now,
        )
        purchase.status = PurchaseStatus.COMMITTED
        return _result_of(purchase, balance=after.balance)


def cancel_hold(*, purchase: Purchase) -> Purchase:
    """Release a held purchase's reservation (L-POS-4); cancelling twice is harmless."""
    if not _close_hold(purchase, status=PurchaseStatus.CANCELLED):
        purchase.refresh_from_db()
        if purchase.status == PurchaseStatus.COMMITTED:
            raise Conflict("Покупка уже проведена: оформите возврат", code="purchase_committed")
        return purchase
    purchase.status = PurchaseStatus.CANCELLED
    return purchase


def expire_holds(*, now: datetime | None = None) -> int:
    """Release every hold past its expiry (a periodic job); how many were released."""
    now = now or timezone.now()
    due = Purchase.objects.filter(status=PurchaseStatus.HELD, hold_expires_at__lte=now).only(
        "pk", "account_id", "redeemed"
    )
    return sum(_close_hold(purchase, status=PurchaseStatus.EXPIRED) for purchase in due)
