"""Real races over HTTP on PostgreSQL (L-SPEND-2, L-SPEND-3, L-POS-1): threads, each with
its own test client and database connection, released together by a barrier; afterwards
`kabinet loyalty reconcile` must find every balance equal to its ledger."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from kabinet.loyalty.models import LedgerEntry, Purchase, PurchaseReturn
from tests.loyalty.pos_client import Till, build_world, purchase_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment in threads; each returns its HTTP response."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # reported by the assertion below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(isinstance(r, Exception) or r is None for r in results), results
    return results


def reconcile_clean() -> None:
    out = io.StringIO()
    call_command("loyalty", "reconcile", stdout=out)  # raises CommandError on a difference
    assert "agree" in out.getvalue()


@pytest.mark.parametrize("attempt", range(3))
def test_two_tills_redeeming_the_same_points_at_once_only_one_succeeds(attempt):
    world = build_world()  # Anna has 100.00 points
    till_1 = Till(world.till_a.token)
    till_2 = Till(world.till_a2.token)

    def spend(till: Till, number: str) -> Callable[[], Any]:
        body = purchase_body(world.anna_card.number, "1000.00", redeem="80.00", number=number)
        return lambda: till.commit(body, key=number)

    results = race(spend(till_1, "A-1"), spend(till_2, "B-1"))

    assert sorted(r.status_code for r in results) == [201, 409]
    refused = next(r for r in results if r.status_code == 409)
    assert refused.json()["error"]["code"] == "insufficient_points"
    won = next(r for r in results if r.status_code == 201)
    # 100.00 − 80.00 + 0.5 % of the 920.00 paid in money.
    assert won.json()["balance"] == "24.60"
    world.anna.refresh_from_db()
    assert (world.anna.balance, world.anna.held) == (2_460, 0)
    assert Purchase.objects.count() == 1
    reconcile_clean()


@pytest.mark.parametrize("attempt", range(3))
def test_the_same_key_committed_twice_at_once_makes_one_purchase(attempt):
    world = build_world()
    body = purchase_body(world.anna_card.number, "1000.00", redeem="50.00")
    tills = [Till(world.till_a.token) for _ in range(4)]

    results = race(*(lambda t=t: t.commit(body, key="same") for t in tills))

    assert [r.status_code for r in results] == [201] * 4
    assert len({r.content for r in results}) == 1
    assert results[0].json()["balance"] == "54.75"
    assert Purchase.objects.count() == 1
    assert LedgerEntry.objects.filter(purchase__isnull=False).count() == 2
    world.anna.refresh_from_db()
    assert world.anna.balance == 5_475
    reconcile_clean()


@pytest.mark.parametrize("attempt", range(3))
def test_a_return_racing_a_redemption_never_overspends(attempt):
    """Anna has 100.00 and buys for 2000.00 (earns 10.00 → 110.00). Then, at once, till 1
    returns that purchase (takes the 10.00 back) and till 2 redeems 105.00. Either order is
    fine, and only those two outcomes are: the redemption first (the return then takes
    the balance below zero, L-SPEND-3), or the return first (the redemption is refused)."""
    world = build_world()
    bought = world.till_a.commit(
        purchase_body(world.anna_card.number, "2000.00", number="P-1"), key="p-1"
    ).json()
    assert bought["balance"] == "110.00"
    returner = Till(world.till_a.token)
    spender = Till(world.till_a2.token)
    spend_body = purchase_body(world.anna_card.number, "1000.00", redeem="105.00", number="S-1")

    returned, spent = race(
        lambda: returner.return_(bought["id"], [], key="r-1"),
        lambda: spender.commit(spend_body, key="s-1"),
    )

    assert returned.status_code == 201
    assert returned.json()["taken_back"] == "10.00"
    world.anna.refresh_from_db()
    if spent.status_code == 201:
        # 110.00 − 105.00 + 0.5 % of 895.00 (4.47) − 10.00 taken back.
        assert (spent.json()["balance"], returned.json()["balance"]) == ("9.47", "-0.53")
        assert world.anna.balance == -53
    else:
        assert spent.json()["error"]["code"] == "insufficient_points"
        assert returned.json()["balance"] == "100.00"
        assert world.anna.balance == 10_000
    assert world.anna.held == 0
    assert PurchaseReturn.objects.count() == 1
    reconcile_clean()


def test_a_hold_and_a_commit_racing_for_the_same_points(attempt=0):
    world = build_world()
    holder = Till(world.till_a.token)
    spender = Till(world.till_a2.token)
    hold_body = {
        **purchase_body(world.anna_card.number, "1000.00", redeem="70.00", number="H-1"),
        "mode": "hold",
    }
    spend_body = purchase_body(world.anna_card.number, "1000.00", redeem="70.00", number="S-1")

    results = race(
        lambda: holder.commit(hold_body, key="h-1"),
        lambda: spender.commit(spend_body, key="s-1"),
    )

    assert sorted(r.status_code for r in results) == [201, 409]
    world.anna.refresh_from_db()
    assert world.anna.balance - world.anna.held >= 0
    reconcile_clean()


@pytest.mark.parametrize("attempt", range(3))
def test_two_batches_crediting_the_same_members_at_once_neither_deadlocks(attempt):
    """Each chunk locks its members' balances in account order, whatever the items' order."""
    world = build_world()
    cards = [world.anna_card, world.boris_card, world.viktor_card] * 3

    def items(prefix: str, order: list) -> list[dict]:
        return [
            {
                **purchase_body(card.number, "100.00", number=f"{prefix}-{i}"),
                "idempotency_key": f"{prefix}-{i}",
            }
            for i, card in enumerate(order)
        ]

    till_1, till_2 = Till(world.till_a.token), Till(world.till_b.token)
    first, second = race(
        lambda: till_1.batch(items("A", cards)),
        lambda: till_2.batch(items("B", cards[::-1])),
    )

    for response in (first, second):
        assert [r["status"] for r in response.json()["results"]] == [201] * 9
    assert Purchase.objects.count() == 18
    world.anna.refresh_from_db()
    assert world.anna.balance == 10_000 + 6 * 50
    reconcile_clean()
