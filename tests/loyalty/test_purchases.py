"""Commit, calculate, holds and returns through the services (L-EARN, L-SPEND, L-POS)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kabinet.core.errors import Conflict, RuleViolation, ValidationFailed
from kabinet.core.models import IdempotencyRecord
from kabinet.loyalty.models import (
    Account,
    LedgerEntry,
    ProgramSettings,
    Purchase,
    PurchaseReturn,
    PurchaseStatus,
)
from kabinet.loyalty.services.cards import block_card, till_cards
from kabinet.loyalty.services.holds import cancel_hold, confirm_hold, expire_holds
from kabinet.loyalty.services.purchases import calculate_purchase, commit_purchase
from kabinet.loyalty.services.returns import ReturnLineInput, return_purchase
from tests.loyalty.factories import (
    NOW,
    StoreFactory,
    fresh_card,
    give_points,
    issued_card,
    member,
    receipt,
    region,
    terminal,
)

pytestmark = pytest.mark.django_db


def commit(till, card, rcpt, *, redeem=0, key="k-1", hold=False, now=NOW):
    return commit_purchase(
        terminal=till,
        card=card,
        receipt=rcpt,
        redeem=redeem,
        idempotency_key=key,
        hold=hold,
        now=now,
    )


def state(account):
    """Everything a refused action must leave alone."""
    account.refresh_from_db()
    return (
        account.balance,
        account.held,
        LedgerEntry.objects.count(),
        Purchase.objects.count(),
        PurchaseReturn.objects.count(),
        IdempotencyRecord.objects.count(),
    )


def test_commit_earns_the_base_rate_exactly():
    account, card = member()
    till, _ = terminal()

    result = commit(till, card, receipt(100_000))

    assert (result.earned, result.redeemed, result.balance) == (500, 0, 500)
    assert result.status == "committed"
    assert result.breakdown == [{"rule": "base", "points": 500, "ref": None}]
    assert result.to_body()["earned"] == "5.00"
    account.refresh_from_db()
    assert account.balance == 500
    assert list(LedgerEntry.objects.values_list("kind", "amount", "purchase_id")) == [
        ("earn", 500, result.id)
    ]
    purchase = Purchase.objects.get()
    assert (purchase.total_kopecks, purchase.earned, purchase.local_date) == (
        100_000,
        500,
        date(2026, 3, 10),
    )


def test_first_month_doubles_the_base_part():
    """L-EARN-2: activated ten days ago."""
    _, card = member(activated_at=NOW - timedelta(days=10))
    till, _ = terminal()

    result = commit(till, card, receipt(123_45))

    # 0.5 % of 123.45 = 0.61725 and as much again: 1.2345 → 1.23 points.
    assert result.earned == 123
    assert {p["rule"]: p["points"] for p in result.breakdown} == {"base": 62, "first_month": 61}


def test_redemption_pays_and_earns_on_the_money_paid():
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()

    result = commit(till, fresh_card(card), receipt(60_000, 40_000), redeem=10_000)

    # 1000.00 RUB less 100.00 points paid = 900.00 paid → 0.5 % = 4.50 points.
    assert (result.earned, result.redeemed, result.balance) == (450, 10_000, 450)
    purchase = Purchase.objects.get()
    assert [(line["redeemed"], line["earned"]) for line in purchase.lines] == [
        (6_000, 270),
        (4_000, 180),
    ]
    assert sorted(LedgerEntry.objects.values_list("kind", "amount")) == [
        ("adjust", 10_000),
        ("earn", 450),
        ("redeem", -10_000),
    ]


def test_insufficient_points_refused_and_nothing_changes():
    account, card = member()
    give_points(account, 5_000)
    till, _ = terminal()
    before = state(account)

    with pytest.raises(RuleViolation) as refused:
        commit(till, fresh_card(card), receipt(100_000), redeem=5_001)

    assert refused.value.code == "insufficient_points"
    assert state(account) == before


def test_redemption_limited_to_the_share_of_the_receipt():
    """L-SPEND-1 with the share set to 50 %."""
    ProgramSettings.objects.update_or_create(pk=1, defaults={"max_redeem_share_bp": 5_000})
    ProgramSettings.forget_cached()
    account, card = member()
    give_points(account, 100_000)
    till, _ = terminal()
    card = fresh_card(card)
    before = state(account)

    with pytest.raises(RuleViolation) as refused:
        commit(till, card, receipt(10_000), redeem=5_001)
    assert refused.value.code == "redeem_over_share"
    assert state(account) == before

    quote = calculate_purchase(store=till.store, card=card, receipt=receipt(10_000), now=NOW)
    assert quote.redeemable == 5_000
    assert commit(till, card, receipt(10_000), redeem=5_000).redeemed == 5_000


def test_retry_with_the_same_key_replays_the_first_result():
    account, card = member()
    give_points(account, 1_000)
    till, _ = terminal()
    card = fresh_card(card)

    first = commit(till, card, receipt(100_000), redeem=1_000)
    again = commit(till, card, receipt(100_000), redeem=1_000)

    assert again.replayed and not first.replayed
    assert again.to_body() == first.to_body()
    assert Purchase.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == 1_000 - 1_000 + 495


def test_same_key_with_another_body_is_a_conflict():
    account, card = member()
    till, _ = terminal()
    card = fresh_card(card)
    commit(till, card, receipt(100_000))
    before = state(account)

    with pytest.raises(Conflict) as refused:
        commit(till, card, receipt(100_001))

    assert refused.value.code == "idempotency_conflict"
    assert state(account) == before


def test_same_receipt_number_with_another_key_is_a_conflict_not_a_duplicate():
    account, card = member()
    till, _ = terminal()
    card = fresh_card(card)
    commit(till, card, receipt(100_000), key="a")
    before = state(account)

    with pytest.raises(Conflict) as refused:
        commit(till, card, receipt(100_000), key="b")

    assert refused.value.code == "duplicate_receipt"
    assert state(account) == before


def test_keys_are_per_terminal():
    _, card = member()
    till_a, _ = terminal()
    till_b, _ = terminal(till_a.store)
    card = fresh_card(card)

    a = commit(till_a, card, receipt(100_000), key="same")
    b = commit(till_b, card, receipt(100_000), key="same")

    assert a.id != b.id and not b.replayed


def test_store_outside_the_program_records_the_receipt_but_earns_and_redeems_nothing():
    """L-EARN-7: the region does not take part."""
    account, card = member()
    give_points(account, 1_000)
    till, _ = terminal(StoreFactory(region=region("39", active=False, tz="Europe/Kaliningrad")))
    card = fresh_card(card)

    result = commit(till, card, receipt(100_000))

    assert (result.earned, result.redeemed, result.balance) == (0, 0, 1_000)
    assert [m["code"] for m in result.messages] == ["store_not_participating"]
    assert Purchase.objects.get().status == PurchaseStatus.COMMITTED
    with pytest.raises(RuleViolation) as refused:
        commit(till, card, receipt(100_000, number="R-2"), key="k-2", redeem=100)
    assert refused.value.code == "store_not_participating"


def test_issued_and_blocked_cards_are_refused():
    till, _ = terminal()
    card = issued_card()
    with pytest.raises(RuleViolation) as refused:
        commit(till, card, receipt(100_000))
    assert refused.value.code == "card_not_active"
    quote = calculate_purchase(store=till.store, card=card, receipt=receipt(100_000), now=NOW)
    assert quote.earn == 0 and quote.messages[0]["code"] == "card_not_active"  # L-CARD-5

    _, active = member()
    block_card(card=active, reason="утеряна")
    with pytest.raises(RuleViolation) as refused:
        commit(till, active, receipt(100_000))
    assert refused.value.code == "card_blocked"
    assert Purchase.objects.count() == 0


def test_calculate_has_no_side_effects():
    account, card = member(birth_date=date(1990, 3, 12))
    give_points(account, 2_000)
    till, _ = terminal()
    card = fresh_card(card)
    before = state(account)

    quote = calculate_purchase(
        store=till.store, card=card, receipt=receipt(100_000), redeem=2_000, now=NOW
    )

    # Birthday window (L-EARN-4): 0.5 % + 2 % of 980.00 paid = 24.50 points.
    assert (quote.earn, quote.redeem, quote.balance, quote.balance_after) == (
        2_450,
        2_000,
        2_000,
        2_450,
    )
    assert {p["rule"] for p in quote.breakdown} == {"base", "birthday"}
    assert state(account) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_kopecks": 99_999}, "receipt.total"),
        ({"purchased_at": NOW + timedelta(hours=1)}, "receipt.datetime"),
        ({"purchased_at": NOW - timedelta(days=31)}, "receipt.datetime"),
        ({"lines": ()}, "receipt.lines"),
        ({"number": ""}, "receipt.number"),
    ],
)
def test_impossible_receipts_are_refused(change, field):
    import dataclasses

    account, card = member()
    till, _ = terminal()
    before = state(account)

    with pytest.raises(ValidationFailed) as refused:
        commit(till, fresh_card(card), dataclasses.replace(receipt(100_000), **change))

    assert refused.value.field == field
    assert state(account) == before


def test_statements_per_commit():
    """The benchmark's budget: a commit with redemption is seven SQL statements cold (the
    premium goods and the personal offers read), five on a warm server with the card read
    as the till API reads it (the offers' last day beside it). On PostgreSQL the four
    writes are one statement: four cold, two warm."""
    account, card = member()
    give_points(account, 3_000)
    till, _ = terminal()
    card = fresh_card(card)
    ProgramSettings.current()  # cached, as it is on a warm server

    with CaptureQueriesContext(connection) as cold:
        commit(till, card, receipt(100_000), redeem=1_000)
    card = till_cards().get(pk=card.pk)
    with CaptureQueriesContext(connection) as warm:
        commit(till, card, receipt(100_000, number="R-2"), redeem=1_000, key="k-2")

    writes = 1 if connection.vendor == "postgresql" else 4
    statements = [q["sql"] for q in cold if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3 + writes, statements
    statements = [q["sql"] for q in warm if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 + writes, statements


# ------------------------------------------------------------------------ two-phase


def test_hold_reserves_then_confirm_redeems_and_earns():
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()
    card = fresh_card(card)

    held = commit(till, card, receipt(10_000), redeem=4_000, hold=True)

    assert (held.status, held.earned, held.redeemed, held.balance) == ("held", 30, 4_000, 10_000)
    account.refresh_from_db()
    assert (account.balance, account.held, account.available) == (10_000, 4_000, 6_000)
    assert LedgerEntry.objects.filter(purchase_id=held.id).count() == 0
    with pytest.raises(RuleViolation):  # the reserved points are not spendable twice
        commit(till, fresh_card(card), receipt(10_000, number="R-2"), key="k-2", redeem=6_001)

    purchase = Purchase.objects.get(pk=held.id)
    done = confirm_hold(purchase=purchase, now=NOW + timedelta(minutes=1))

    assert (done.status, done.balance) == ("committed", 10_000 - 4_000 + 30)
    account.refresh_from_db()
    assert (account.balance, account.held) == (6_030, 0)
    assert confirm_hold(purchase=purchase, now=NOW).balance == 6_030  # twice: same answer
    assert LedgerEntry.objects.filter(purchase_id=held.id).count() == 2


def test_cancelled_hold_releases_the_reservation():
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()
    held = commit(till, fresh_card(card), receipt(10_000), redeem=4_000, hold=True)
    purchase = Purchase.objects.get(pk=held.id)

    cancel_hold(purchase=purchase)
    cancel_hold(purchase=purchase)

    account.refresh_from_db()
    assert (account.balance, account.held, purchase.status) == (10_000, 0, "cancelled")
    with pytest.raises(Conflict) as refused:
        confirm_hold(purchase=purchase, now=NOW)
    assert refused.value.code == "hold_cancelled"


def test_hold_expires_after_the_configured_time():
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()
    held = commit(till, fresh_card(card), receipt(10_000), redeem=4_000, hold=True)
    purchase = Purchase.objects.get(pk=held.id)
    assert purchase.hold_expires_at == NOW + timedelta(minutes=30)

    assert expire_holds(now=NOW + timedelta(minutes=29)) == 0
    assert expire_holds(now=NOW + timedelta(minutes=30)) == 1

    account.refresh_from_db()
    purchase.refresh_from_db()
    assert (account.balance, account.held, purchase.status) == (10_000, 0, "expired")
    with pytest.raises(Conflict) as refused:
        confirm_hold(purchase=purchase, now=NOW + timedelta(minutes=31))
    assert refused.value.code == "hold_expired"


def test_confirm_after_expiry_is_refused_even_before_the_job_runs():
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()
    held = commit(till, fresh_card(card), receipt(10_000), redeem=4_000, hold=True)

    with pytest.raises(Conflict) as refused:
        confirm_hold(purchase=Purchase.objects.get(pk=held.id), now=NOW + timedelta(hours=1))

    assert refused.value.code == "hold_expired"
    account.refresh_from_db()
    assert (account.balance, account.held) == (10_000, 0)


# -------------------------------------------------------------------------- returns


def _two_line_purchase():
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()
    result = commit(till, fresh_card(card), receipt(60_000, 40_000), redeem=10_000)
    return account, card, till, Purchase.objects.get(pk=result.id)


def test_full_return_inverts_the_purchase():
    account, _, till, purchase = _two_line_purchase()

    result = return_purchase(terminal=till, purchase=purchase, lines=None, idempotency_key="r-1")

    assert (result.amount_kopecks, result.taken_back, result.given_back) == (100_000, 450, 10_000)
    assert result.balance == 10_000
    account.refresh_from_db()
    assert account.balance == 10_000
    with pytest.raises(Conflict) as refused:
        return_purchase(terminal=till, purchase=purchase, lines=None, idempotency_key="r-2")
    assert refused.value.code == "already_returned"


def test_partial_returns_add_up_to_the_full_return():
    account, _, till, purchase = _two_line_purchase()

    half = return_purchase(
        terminal=till,
        purchase=purchase,
        lines=[ReturnLineInput(sku="SKU-2", amount_kopecks=20_000)],
        idempotency_key="r-1",
    )
    # SKU-2 earned 1.80 and was paid with 40.00 points; half of it comes back.
    assert (half.taken_back, half.given_back, half.balance) == (90, 2_000, 450 - 90 + 2_000)

    replay = return_purchase(
        terminal=till,
        purchase=purchase,
        lines=[ReturnLineInput(sku="SKU-2", amount_kopecks=20_000)],
        idempotency_key="r-1",
    )
    assert replay.replayed and replay.id == half.id

    with pytest.raises(ValidationFailed):
        return_purchase(
            terminal=till,
            purchase=purchase,
            lines=[ReturnLineInput(sku="SKU-2", amount_kopecks=20_001)],
            idempotency_key="r-2",
        )

    rest = return_purchase(terminal=till, purchase=purchase, lines=[], idempotency_key="r-3")
    assert (rest.taken_back, rest.given_back) == (450 - 90, 10_000 - 2_000)
    account.refresh_from_db()
    assert account.balance == 10_000
    assert PurchaseReturn.objects.count() == 2


def test_return_may_leave_a_negative_balance_and_then_redemption_is_refused():
    """L-SPEND-3."""
    account, card = member()
    till, _ = terminal()
    card = fresh_card(card)
    first = commit(till, card, receipt(100_000), key="k-1")  # earns 5.00
    commit(till, fresh_card(card), receipt(500, number="R-2"), key="k-2", redeem=500)
    account.refresh_from_db()
    assert account.balance == 0

    result = return_purchase(
        terminal=till,
        purchase=Purchase.objects.get(pk=first.id),
        lines=None,
        idempotency_key="r-1",
    )

    assert (result.taken_back, result.balance) == (500, -500)
    card = fresh_card(card)
    with pytest.raises(RuleViolation) as refused:
        commit(till, card, receipt(10_000, number="R-3"), key="k-3", redeem=1)
    assert refused.value.code == "insufficient_points"
    quote = calculate_purchase(store=till.store, card=card, receipt=receipt(10_000), now=NOW)
    assert (quote.redeemable, quote.balance) == (0, -500)
    # Buying without points still earns, and brings the balance back up.
    assert commit(till, card, receipt(10_000, number="R-4"), key="k-4").balance == -450


def test_held_purchase_cannot_be_returned():
    account, card = member()
    till, _ = terminal()
    held = commit(till, fresh_card(card), receipt(10_000), hold=True)

    with pytest.raises(Conflict) as refused:
        return_purchase(
            terminal=till,
            purchase=Purchase.objects.get(pk=held.id),
            lines=None,
            idempotency_key="r",
        )
    assert refused.value.code == "purchase_not_committed"
    assert Account.objects.get(pk=account.pk).balance == 0


# ------------------------------------------------------------- accrual inputs from the DB


def test_premium_goods_count_only_in_their_region_and_dates():
    """L-EARN-3: +2 % on premium lines; a good listed for another region does not count."""
    from kabinet.loyalty.models import PremiumGood

    _, card = member()
    till, _ = terminal()
    PremiumGood.objects.create(sku="SKU-1", name="Сыр", region=till.store.region)
    PremiumGood.objects.create(sku="SKU-2", name="Кофе", region=region("25", tz="Asia/Vladivostok"))
    PremiumGood.objects.create(sku="SKU-3", name="Чай", valid_to=date(2026, 3, 9))

    result = commit(till, fresh_card(card), receipt(10_000, 10_000, 10_000))

    # base 0.5 % of 300.00 = 1.50; premium 2 % of 100.00 = 2.00.
    assert {p["rule"]: p["points"] for p in result.breakdown} == {"base": 150, "premium": 200}


def test_personal_offers_of_the_member_stack():
    """L-EARN-5: a percent offer on a sku and fixed points for a product, within dates."""
    from kabinet.loyalty.models import PersonalOffer

    account, card = member()
    other, _ = member()
    till, _ = terminal()
    percent = PersonalOffer.objects.create(
        account=account,
        title="Молоко +5 %",
        kind="percent",
        skus=["SKU-1"],
        bonus_bp=500,
        valid_from=date(2026, 3, 1),
        valid_to=date(2026, 3, 31),
    )
    fixed = PersonalOffer.objects.create(
        account=account,
        title="Хлеб",
        kind="fixed",
        skus=["SKU-2"],
        fixed_points=1_000,
        valid_from=date(2026, 3, 10),
        valid_to=date(2026, 3, 10),
    )
    PersonalOffer.objects.create(  # someone else's offer never counts
        account=other,
        title="Чужое",
        kind="percent",
        skus=["SKU-1"],
        bonus_bp=9_000,
        valid_from=date(2026, 3, 1),
        valid_to=date(2026, 3, 31),
    )

    result = commit(till, fresh_card(card), receipt(10_000, 5_000))

    assert [(p["rule"], p["points"], p["ref"]) for p in result.breakdown] == [
        ("base", 75, None),
        ("offer", 500, str(percent.pk)),
        ("offer", 1_000, str(fixed.pk)),
    ]
    assert result.earned == 1_575


@pytest.mark.parametrize(
    ("tz", "birthday_bonus"),
    [("Europe/Kaliningrad", False), ("Asia/Vladivostok", True)],
)
def test_birthday_is_judged_by_the_stores_local_date(tz, birthday_bonus):
    """L-EARN-4: 2026-03-13 14:30 UTC is still the 13th in Kaliningrad, the 14th in
    Vladivostok; a birthday on the 17th starts its window on the 14th."""
    from datetime import UTC, datetime

    _, card = member(birth_date=date(1990, 3, 17))
    till, _ = terminal(StoreFactory(region=region("25"), timezone=tz))
    at = datetime(2026, 3, 13, 14, 30, tzinfo=UTC)

    result = commit(till, fresh_card(card), receipt(10_000, at=at), now=at)

    assert ("birthday" in {p["rule"] for p in result.breakdown}) is birthday_bonus


def test_a_replay_answers_what_the_commit_answered_also_below_zero():
    """The stored answer is the commit's own, whichever way it was written (on PostgreSQL
    one statement fills in the purchase id and the balance)."""
    account, card = member()
    till, _ = terminal()
    first = commit(till, fresh_card(card), receipt(100_000), key="k-1")  # earns 5.00
    commit(till, fresh_card(card), receipt(500, number="R-2"), key="k-2", redeem=500)
    return_purchase(
        terminal=till, purchase=Purchase.objects.get(pk=first.id), lines=None, idempotency_key="r"
    )
    card = fresh_card(card)

    done = commit(till, card, receipt(1_000, number="R-3"), key="k-3")  # earns 0.05
    again = commit(till, card, receipt(1_000, number="R-3"), key="k-3")

    assert (done.earned, done.balance, done.to_body()["balance"]) == (5, -495, "-4.95")
    assert again.replayed and again.to_body() == done.to_body()
    stored = IdempotencyRecord.objects.get(key="k-3")
    assert (stored.response_status, stored.response_body) == (201, done.to_body())
    assert list(LedgerEntry.objects.filter(purchase_id=done.id).values_list("kind", "amount")) == [
        ("earn", 5)
    ]
    account.refresh_from_db()
    assert account.balance == -495
