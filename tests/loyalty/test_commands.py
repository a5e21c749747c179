"""`kabinet cards issue` and `kabinet loyalty reconcile`."""

from __future__ import annotations

import csv
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import Account, Card, Purchase
from kabinet.loyalty.services.holds import expire_holds
from kabinet.loyalty.services.purchases import commit_purchase
from kabinet.loyalty.services.returns import ReturnLineInput, return_purchase
from tests.loyalty.factories import NOW, fresh_card, give_points, member, receipt, terminal

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_cards_issue_prints_the_numbers_and_writes_the_printer_csv(tmp_path):
    target = tmp_path / "batch.csv"

    printed = run("cards", "issue", "--count", "5", "--batch", "Тест", "--csv", str(target))

    numbers = printed.split()
    assert len(numbers) == 5 and all(cardnumbers.is_valid_card_number(n) for n in numbers)
    assert sorted(numbers) == sorted(Card.objects.values_list("number", flat=True))
    with target.open(encoding="utf-8") as rows:
        table = list(csv.reader(rows))
    assert table[0] == ["number", "batch", "barcode"]
    assert [row for row in table[1:]] == [[n, "Тест", n] for n in numbers]


def test_cards_issue_refuses_a_bad_count():
    with pytest.raises(CommandError):
        run("cards", "issue", "--count", "0")


def _busy_day():
    """Earn, redeem, hold, expire, cancel and return: every kind of balance change."""
    account, card = member()
    give_points(account, 10_000)
    till, _ = terminal()
    first = commit_purchase(
        terminal=till,
        card=fresh_card(card),
        receipt=receipt(60_000, 40_000),
        redeem=5_000,
        idempotency_key="1",
        now=NOW,
    )
    commit_purchase(
        terminal=till,
        card=fresh_card(card),
        receipt=receipt(10_000, number="R-2"),
        redeem=1_000,
        idempotency_key="2",
        hold=True,
        now=NOW,
    )
    commit_purchase(
        terminal=till,
        card=fresh_card(card),
        receipt=receipt(10_000, number="R-3"),
        redeem=1_000,
        idempotency_key="3",
        hold=True,
        now=NOW + timedelta(hours=1),
    )
    expire_holds(now=NOW + timedelta(minutes=45))
    return_purchase(
        terminal=till,
        purchase=Purchase.objects.get(pk=first.id),
        lines=[ReturnLineInput(sku="SKU-1", amount_kopecks=30_000)],
        idempotency_key="r",
        now=NOW,
    )
    return account


def test_reconcile_is_clean_after_every_kind_of_change():
    account = _busy_day()
    account.refresh_from_db()
    assert account.held == 1_000  # the second hold is still open

    assert "agree" in run("loyalty", "reconcile")


def test_reconcile_fails_on_a_corrupted_balance():
    account = _busy_day()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loyalty_account SET balance = balance + 1 WHERE id = %s", [account.pk]
        )

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("loyalty", "reconcile", stdout=out, stderr=StringIO())
    assert f"account {account.pk}:" in out.getvalue()


def test_reconcile_fails_on_a_corrupted_reservation():
    account = _busy_day()
    Account.objects.filter(pk=account.pk).update(held=0)

    with pytest.raises(CommandError):
        run("loyalty", "reconcile")


def test_expire_holds_command():
    _busy_day()
    assert run("loyalty", "expire-holds").startswith("released 1 holds")
