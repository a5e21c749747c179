"""Privilege levels (L-EARN-8): the level follows last calendar month's spending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.db.models import Sum

from kabinet.loyalty.models import Account, Level, Purchase, PurchaseReturn, PurchaseStatus


def level_for_spend(spend_kopecks: int, levels: Sequence[Level]) -> Level | None:
    """The highest level whose threshold `spend_kopecks` reaches; None if there are no levels.

    A member below every threshold gets the lowest level (a new member starts there).
    """
    ordered = sorted(levels, key=lambda level: level.threshold_kopecks)
    reached = [level for level in ordered if level.threshold_kopecks <= spend_kopecks]
    if reached:
        return reached[-1]
    return ordered[0] if ordered else None


def previous_month(day: date) -> tuple[date, date]:
    """[first day of the month before `day`'s, first day of `day`'s month)."""
    this_month = day.replace(day=1)
    last_month = (
        this_month.replace(year=this_month.year - 1, month=12)
        if this_month.month == 1
        else this_month.replace(month=this_month.month - 1)
    )
    return last_month, this_month


def month_spend(*, account: Account, start: date, end: date) -> int:
    """Kopecks the member spent on committed purchases dated in [start, end), less returns."""
    bought = Purchase.objects.filter(
        account=account,
        status=PurchaseStatus.COMMITTED,
        local_date__gte=start,
        local_date__lt=end,
    )
    spent = bought.aggregate(total=Sum("total_kopecks"))["total"] or 0
    returned = (
        PurchaseReturn.objects.filter(purchase__in=bought).aggregate(total=Sum("amount_kopecks"))[
            "total"
        ]
        or 0
    )
    return spent - returned


@transaction.atomic
def recompute_level(*, account: Account, today: date) -> Level | None:
    """Set the member's level from last calendar month's spending (run at month start)."""
    start, end = previous_month(today)
    level = level_for_spend(
        month_spend(account=account, start=start, end=end), list(Level.objects.all())
    )
    if level is not None and level.pk != account.level_id:
        Account.objects.filter(pk=account.pk).update(level=level)
        account.level = level
    return level
