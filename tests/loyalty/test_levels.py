"""Privilege levels (L-EARN-8)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kabinet.loyalty.models import Purchase
from kabinet.loyalty.services.levels import level_for_spend, previous_month, recompute_level
from kabinet.loyalty.services.purchases import commit_purchase
from kabinet.loyalty.services.returns import ReturnLineInput, return_purchase
from tests.loyalty.factories import demo_levels, fresh_card, member, receipt, terminal

pytestmark = pytest.mark.django_db


def test_level_for_spend_takes_the_highest_threshold_reached():
    basic, silver, gold = demo_levels()
    assert level_for_spend(0, [gold, basic, silver]) == basic
    assert level_for_spend(999_999, [gold, basic, silver]) == basic
    assert level_for_spend(1_000_000, [gold, basic, silver]) == silver
    assert level_for_spend(5_000_000, [gold, basic, silver]) == gold
    assert level_for_spend(5_000_000, []) is None


def test_previous_month_wraps_the_year():
    assert previous_month(date(2026, 1, 1)) == (date(2025, 12, 1), date(2026, 1, 1))
    assert previous_month(date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 3, 1))


def test_level_follows_last_months_spending_less_returns_and_raises_the_rate():
    basic, silver, _ = demo_levels()
    account, card = member()
    assert account.level == basic
    till, _ = terminal()
    february = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
    first = commit_purchase(
        terminal=till,
        card=fresh_card(card),
        receipt=receipt(700_000, 400_000, at=february),
        redeem=0,
        idempotency_key="1",
        now=february,
    )
    return_purchase(
        terminal=till,
        purchase=Purchase.objects.get(pk=first.id),
        lines=[ReturnLineInput(sku="SKU-2", amount_kopecks=100_001)],
        idempotency_key="2",
        now=february,
    )
    # 11 000.00 bought, 1 000.01 returned: 9 999.99 is below silver.
    assert recompute_level(account=account, today=date(2026, 3, 1)) == basic

    commit_purchase(
        terminal=till,
        card=fresh_card(card),
        receipt=receipt(1, number="R-2", at=february),
        redeem=0,
        idempotency_key="3",
        now=february,
    )
    assert recompute_level(account=account, today=date(2026, 3, 1)) == silver
    march = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    result = commit_purchase(
        terminal=till,
        card=fresh_card(card),
        receipt=receipt(100_000, number="R-3", at=march),
        redeem=0,
        idempotency_key="4",
        now=march,
    )
    assert result.earned == 1_000  # 1 % at silver
    assert recompute_level(account=account, today=date(2026, 4, 1)) == basic
