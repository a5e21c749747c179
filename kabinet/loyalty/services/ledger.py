"""The points ledger and the balance cache on the account.

A member's balance is one hot row. Every change is a single conditional UPDATE with
RETURNING: no SELECT … FOR UPDATE round trip, and the row lock it takes is held only until
the end of the caller's transaction. The ledger entries that explain the change are
inserted in the same transaction, so `balance == SUM(ledger.amount)` always holds after a
commit (`kabinet loyalty reconcile` checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from kabinet.core import audit
from kabinet.core.errors import RuleViolation, ValidationFailed
from kabinet.loyalty.models import Account, LedgerEntry, LedgerKind
from kabinet.loyalty.services import rawsql


class Balance(NamedTuple):
    balance: int
    held: int


def insufficient_points() -> RuleViolation:
    return RuleViolation("Недостаточно баллов для списания", code="insufficient_points")


def move(
    *,
    account_id: int,
    balance_delta: int = 0,
    held_delta: int = 0,
    require_available: int | None = None,
) -> Balance:
    """Apply deltas to the account's cached balance and reservation in one statement.

    With `require_available`, the row changes only if `balance - held` covers it before the
    change (L-SPEND-2: two redemptions cannot spend the same points; a balance at or below
    zero redeems nothing, L-SPEND-3); otherwise `insufficient_points` is raised and nothing
    changes. Call inside the transaction that writes the matching ledger entries.
    """
    table = connection.ops.quote_name(Account._meta.db_table)
    sql = f"UPDATE {table} SET balance = balance + %s, held = held + %s WHERE id = %s"  # noqa: S608
    params: list[Any] = [balance_delta, held_delta, account_id]
    if require_available is not None:
        sql += " AND balance - held >= %s"
        params.append(require_available)
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING balance, held", params)
        row = cursor.fetchone()
    if row is None:
        if require_available is not None:
            raise insufficient_points()
        raise Account.DoesNotExist(f"account {account_id}")
    return Balance(int(row[0]), int(row[1]))


def credit_many(deltas: dict[int, int]) -> dict[int, int]:
    """Add points to many accounts (account id → delta) in two statements; the balances
    after. The rows are first locked in id order — every caller locks them in the same
    order, so two batches crediting the same members cannot deadlock — then changed by one
    UPDATE. Only for credits: nothing here checks what is available."""
    ids = sorted(account_id for account_id, delta in deltas.items() if delta)
    if not ids:
        return {}
    locked = list(
        Account.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(locked) != len(ids):
        raise Account.DoesNotExist(f"accounts {sorted(set(ids) - set(locked))}")
    table = connection.ops.quote_name(Account._meta.db_table)
    cases = " ".join(["WHEN %s THEN %s"] * len(ids))
    marks = ", ".join(["%s"] * len(ids))
    params: list[Any] = [value for account_id in ids for value in (account_id, deltas[account_id])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance + CASE id {cases} END "  # noqa: S608
            f"WHERE id IN ({marks}) RETURNING id, balance",
            [*params, *ids],
        )
        return {int(account_id): int(balance) for account_id, balance in cursor.fetchall()}


def entries(
    *,
    account_id: int,
    moves: Iterable[tuple[str, int]],
    reason: str = "",
    purchase_id: int | None = None,
    at: datetime,
    actor: Any = None,
) -> list[LedgerEntry]:
    """Append ledger entries (kind, amount) in one INSERT; zero amounts are skipped."""
    rows = [
        LedgerEntry(
            account_id=account_id,
            kind=kind,
            amount=amount,
            reason=reason,
            purchase_id=purchase_id,
            created_at=at,
            created_by=actor,
        )
        for kind, amount in moves
        if amount
    ]
    # Plain SQL (`rawsql`): every purchase writes these, and the ORM's INSERT cost several
    # times the database's own work.
    rawsql.insert(rows)
    return rows


@transaction.atomic
def adjust_points(
    *, account: Account, amount: int, reason: str, actor: Any, at: datetime | None = None
) -> LedgerEntry:
    """A support correction of a member's points, with its reason, audited (L-BO-3)."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Укажите причину корректировки", field="reason")
    if amount == 0:
        raise ValidationFailed("Сумма корректировки не может быть нулевой", field="amount")
    at = at or timezone.now()
    after = move(account_id=account.pk, balance_delta=amount)
    (entry,) = entries(
        account_id=account.pk,
        moves=[(LedgerKind.ADJUST, amount)],
        reason=reason,
        at=at,
        actor=actor if actor is not None and actor.pk else None,
    )
    audit.record(
        action="loyalty.points.adjust",
        actor=actor,
        obj=account,
        reason=reason,
        data={"amount": amount, "balance": after.balance},
    )
    account.balance, account.held = after
    return entry
