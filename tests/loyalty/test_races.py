"""Real races on PostgreSQL (L-SPEND-2, L-POS-1): threads, each with its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from kabinet.core.errors import DomainError
from kabinet.loyalty.models import Account, LedgerEntry, Purchase
from kabinet.loyalty.services.purchases import commit_purchase
from kabinet.loyalty.services.returns import ReturnLineInput, return_purchase
from tests.loyalty.factories import NOW, fresh_card, give_points, member, receipt, terminal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment in threads; each returns its result or its error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except DomainError as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def reconcile_clean() -> None:
    call_command("loyalty", "reconcile", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.parametrize("attempt", range(3))
def test_two_tills_redeeming_the_same_points_at_once_only_one_succeeds(attempt):
    account, card = member()
    give_points(account, 10_000)
    till_a, _ = terminal()
    till_b, _ = terminal(till_a.store)
    card = fresh_card(card)

    def spend(till, key):
        return lambda: commit_purchase(
            terminal=till,
            card=card,
            receipt=receipt(100_000, number=key),
            redeem=8_000,
            idempotency_key=key,
            now=NOW,
        )

    results = race(spend(till_a, "a"), spend(till_b, "b"))

    failures = [r for r in results if isinstance(r, DomainError)]
    assert len(failures) == 1 and failures[0].code == "insufficient_points"
    account.refresh_from_db()
    assert account.balance == 10_000 - 8_000 + 460
    assert Purchase.objects.count() == 1
    reconcile_clean()


@pytest.mark.parametrize("attempt", range(3))
def test_the_same_key_committed_twice_at_once_makes_one_purchase(attempt):
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()
    card = fresh_card(card)

    def send():
        return commit_purchase(
            terminal=till,
            card=card,
            receipt=receipt(100_000),
            redeem=8_000,
            idempotency_key="same",
            now=NOW,
        )

    first, second = race(send, send)

    assert not isinstance(first, Exception) and not isinstance(second, Exception)
    assert first.to_body() == second.to_body()
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert Purchase.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="redeem").count() == 1
    reconcile_clean()


def test_a_return_racing_a_redemption_never_overspends():
    account, card = member()
    till, _ = terminal()
    card = fresh_card(card)
    bought = commit_purchase(
        terminal=till,
        card=card,
        receipt=receipt(100_000),
        redeem=0,
        idempotency_key="p",
        now=NOW,
    )  # earns 5.00
    purchase = Purchase.objects.get(pk=bought.id)

    results = race(
        lambda: return_purchase(
            terminal=till,
            purchase=purchase,
            lines=[ReturnLineInput(sku="SKU-1", amount_kopecks=100_000)],
            idempotency_key="r",
            now=NOW,
        ),
        lambda: commit_purchase(
            terminal=till,
            card=card,
            receipt=receipt(500, number="R-2"),
            redeem=500,
            idempotency_key="s",
            now=NOW,
        ),
    )

    account.refresh_from_db()
    spent = not isinstance(results[1], DomainError)
    assert account.balance == (-500 if spent else 0)
    assert not isinstance(results[0], DomainError)
    reconcile_clean()


def test_many_concurrent_redemptions_never_take_the_balance_below_zero():
    account, card = member()
    give_points(account, 5_000)
    till, _ = terminal()
    card = fresh_card(card)

    def spend(n):
        return lambda: commit_purchase(
            terminal=till,
            card=card,
            receipt=receipt(1_000, number=f"R-{n}"),
            redeem=1_000,
            idempotency_key=f"k-{n}",
            now=NOW,
        )

    results = race(*(spend(n) for n in range(8)))

    assert sum(not isinstance(r, DomainError) for r in results) == 5
    account.refresh_from_db()
    assert account.balance == 0
    assert Account.objects.get(pk=account.pk).held == 0
    reconcile_clean()
