"""Reads of loyalty data, and the one place that decides who may see what."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from kabinet.loyalty.models import (
    Account,
    Card,
    CardState,
    LedgerEntry,
    Purchase,
    PurchaseStatus,
    Store,
)


def account_of(user) -> Account | None:
    """The user's loyalty account, if they are a member."""
    if user is None or not user.is_authenticated:
        return None
    return Account.objects.select_related("level").filter(user=user).first()


def active_card(account: Account) -> Card | None:
    return Card.objects.filter(account=account, state=CardState.ACTIVE).first()


def purchases_of(account: Account) -> QuerySet[Purchase]:
    """The member's receipts, newest first (L-CAB-3)."""
    return Purchase.objects.filter(account=account).select_related("store")


def ledger_of(account: Account) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account=account)


def participating_stores() -> QuerySet[Store]:
    """Stores that earn and redeem: their own flag and their region's (L-EARN-7)."""
    return Store.objects.filter(participates=True, region__loyalty_active=True)


@dataclass(frozen=True, slots=True)
class Difference:
    account_id: int
    balance: int
    ledger_sum: int
    held: int
    holds_sum: int


def reconciliation_differences() -> list[Difference]:
    """Accounts whose cached balance is not their ledger's sum, or whose reservation is not
    the sum of their open holds. Empty when all is well."""
    ledger_sum = (
        LedgerEntry.objects.filter(account_id=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    holds_sum = (
        Purchase.objects.filter(account_id=OuterRef("pk"), status=PurchaseStatus.HELD)
        .order_by()
        .values("account_id")
        .annotate(total=Sum("redeemed"))
        .values("total")
    )
    rows = (
        Account.objects.annotate(
            ledger_sum=Coalesce(Subquery(ledger_sum), Value(0)),
            holds_sum=Coalesce(Subquery(holds_sum), Value(0)),
        )
        .exclude(balance=F("ledger_sum"), held=F("holds_sum"))
        .order_by("pk")
        .values_list("pk", "balance", "ledger_sum", "held", "holds_sum")
    )
    return [Difference(*row) for row in rows]
