"""Helpers for the POS API tests: a till talking HTTP, receipts as tills send them, personas.

The API runs on the real clock (tills send real times), so receipts are dated a few minutes
before `timezone.now()`, and the personas' birthdays are half a year away from today so
that no birthday bonus (L-EARN-4) sneaks into the exact values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from kabinet.core.models import IdempotencyRecord
from kabinet.loyalty.models import Account, Card, LedgerEntry, Purchase, PurchaseReturn, Store
from tests.loyalty.factories import StoreFactory, give_points, member, terminal

BASE = "/api/pos/v1/"


def far_from_birthday() -> date:
    """A birth date whose birthday window is months away from today."""
    today = timezone.localdate()
    away = today + timedelta(days=182)
    return date(1990, away.month, min(away.day, 28))


def receipt_body(
    *amounts: str,
    number: str = "R-1",
    at: datetime | None = None,
    skus: tuple[str, ...] | None = None,
    total: str | None = None,
) -> dict[str, Any]:
    """A receipt as a till sends it: one line per amount ("1000.00"), decimal strings."""
    amounts = amounts or ("1000.00",)
    names = skus or tuple(f"SKU-{i + 1}" for i in range(len(amounts)))
    when = at or timezone.now() - timedelta(minutes=5)
    from decimal import Decimal

    return {
        "number": number,
        "datetime": when.isoformat(),
        "lines": [
            {"sku": sku, "name": f"Товар {sku}", "quantity": "1", "price": a, "amount": a}
            for sku, a in zip(names, amounts, strict=True)
        ],
        "total": total if total is not None else str(sum(Decimal(a) for a in amounts)),
    }


def purchase_body(card: str, *amounts: str, redeem: str = "0.00", **receipt: Any) -> dict:
    return {"card": card, "receipt": receipt_body(*amounts, **receipt), "redeem": redeem}


class Till:
    """One till: its own HTTP client and bearer token."""

    def __init__(self, token: str, terminal_obj: Any = None) -> None:
        self.token = token
        self.terminal = terminal_obj
        # Tills send no CSRF token: the API must not ask for one.
        self.client = Client(enforce_csrf_checks=True)

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return headers

    def get(self, path: str) -> Any:
        return self.client.get(BASE + path, **self._headers(None))

    def post(self, path: str, body: Any, *, key: str | None = None) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(
            BASE + path, data, content_type="application/json", **self._headers(key)
        )

    def card(self, raw: str) -> Any:
        from urllib.parse import quote

        return self.get("cards/" + quote(raw, safe=""))

    def calculate(self, body: Any) -> Any:
        return self.post("purchases/calculate", body)

    def commit(self, body: Any, *, key: str | None = "key-1") -> Any:
        return self.post("purchases", body, key=key)

    def confirm(self, purchase_id: int) -> Any:
        return self.post(f"purchases/{purchase_id}/confirm", {})

    def cancel(self, purchase_id: int) -> Any:
        return self.post(f"purchases/{purchase_id}/cancel", {})

    def return_(self, purchase_id: int, lines: list[dict], *, key: str | None = "ret-1") -> Any:
        return self.post(f"purchases/{purchase_id}/returns", {"lines": lines}, key=key)

    def batch(self, items: list[dict]) -> Any:
        return self.post("purchases/batch", {"items": items})

    def sell(self, card: str, receipt_total: str) -> Any:
        return self.post("cards/sell", {"card": card, "receipt_total": receipt_total})


def error(response: Any) -> tuple[int, str, str | None]:
    body = response.json()["error"]
    return response.status_code, body["code"], body.get("field")


def snapshot(*accounts: Account) -> tuple:
    """Everything a refused request must leave alone."""
    balances = []
    for account in accounts:
        account.refresh_from_db()
        balances.append((account.balance, account.held))
    return (
        tuple(balances),
        Purchase.objects.count(),
        LedgerEntry.objects.count(),
        PurchaseReturn.objects.count(),
        IdempotencyRecord.objects.count(),
        tuple(Card.objects.order_by("pk").values_list("state", "sold_at", "last_qr_step")),
    )


@dataclass
class World:
    """The personas: Anna and Boris share a household, Viktor is a stranger; till A and
    till A2 are in store A, till B in another store."""

    anna: Account
    anna_card: Card
    boris: Account
    boris_card: Card
    viktor: Account
    viktor_card: Card
    store_a: Store
    store_b: Store
    till_a: Till
    till_a2: Till
    till_b: Till


def build_world() -> World:
    birthday = far_from_birthday()
    anna, anna_card = member(first_name="Анна", birth_date=birthday)
    boris, boris_card = member(first_name="Борис", birth_date=birthday)
    viktor, viktor_card = member(first_name="Виктор", birth_date=birthday)
    give_points(anna, 10_000)
    give_points(boris, 3_000)
    store_a = StoreFactory()
    store_b = StoreFactory()
    terminal_a, token_a = terminal(store_a)
    terminal_a2, token_a2 = terminal(store_a)
    terminal_b, token_b = terminal(store_b)
    return World(
        anna=anna,
        anna_card=anna_card,
        boris=boris,
        boris_card=boris_card,
        viktor=viktor,
        viktor_card=viktor_card,
        store_a=store_a,
        store_b=store_b,
        till_a=Till(token_a, terminal_a),
        till_a2=Till(token_a2, terminal_a2),
        till_b=Till(token_b, terminal_b),
    )
