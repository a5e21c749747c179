"""Bad input and faults at the till (issue 3): each a precise 4xx in the contract's shape,
and nothing changed — no purchase, no ledger entry, no balance, no idempotency key."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from kabinet.loyalty import cardnumbers
from kabinet.loyalty.services.cards import block_card
from kabinet.loyalty.services.terminals import revoke_terminal
from tests.loyalty.factories import issued_card
from tests.loyalty.pos_client import build_world, error, purchase_body, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def good(world) -> dict[str, Any]:
    return purchase_body(world.anna_card.number, "600.00", "400.00", redeem="10.00")


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the value at "receipt.lines.0.amount" replaced."""
    result = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = result
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return result


_DELETE = object()

# (path, value, the field the error names)
WRONG = [
    ("receipt.total", True, "receipt.total"),
    ("receipt.total", [], "receipt.total"),
    ("receipt.total", "12,50", "receipt.total"),
    ("receipt.total", "1e3", "receipt.total"),
    ("receipt.total", 1000.001, "receipt.total"),
    ("receipt.total", "1000.001", "receipt.total"),
    ("receipt.total", _DELETE, "receipt.total"),
    ("receipt.lines", "SKU-1", "receipt.lines"),
    ("receipt.lines", [], "receipt.lines"),
    ("receipt.lines.0.sku", 4600001, "receipt.lines[0].sku"),
    ("receipt.lines.0.sku", "", "receipt.lines[0].sku"),
    ("receipt.lines.0.quantity", {"value": 1}, "receipt.lines[0].quantity"),
    ("receipt.lines.0.quantity", "-1", "receipt.lines[0].quantity"),
    ("receipt.lines.0.quantity", "0", "receipt.lines[0].quantity"),
    ("receipt.lines.0.quantity", "1000000", "receipt.lines[0].quantity"),
    ("receipt.lines.0.quantity", "0.0001", "receipt.lines[0].quantity"),
    ("receipt.lines.0.amount", "-600.00", "receipt.lines[0].amount"),
    ("receipt.lines.0.price", "-1.00", "receipt.lines[0].price"),
    ("receipt.lines.0.amount", "99999999999.00", "receipt.lines[0].amount"),
    ("receipt.lines.0.amount", "10000000000000", "receipt.lines[0].amount"),
    ("receipt.lines.0.amount", "601.00", "receipt.total"),  # lines no longer add up
    ("receipt.number", "", "receipt.number"),
    ("receipt.number", 17, "receipt.number"),
    ("receipt.datetime", 1_773_000_000, "receipt.datetime"),
    ("receipt.datetime", "вчера", "receipt.datetime"),
    ("receipt.datetime", "2026-03-10T12:00:00", "receipt.datetime"),  # no offset
    ("redeem", "-1.00", "redeem"),
    ("redeem", "0.001", "redeem"),
    ("card", 2770000000000001, "card"),
    ("card", _DELETE, "card"),
    ("mode", "later", "mode"),
]


@pytest.mark.parametrize(("path", "value", "field"), WRONG)
def test_a_malformed_commit_is_422_naming_the_field_and_changes_nothing(world, path, value, field):
    before = snapshot(world.anna)

    response = world.till_a.commit(changed(good(world), path, value))

    assert error(response) == (422, "validation_error", field)
    assert response.json()["error"]["message"]
    assert snapshot(world.anna) == before


@pytest.mark.parametrize(("path", "value", "field"), WRONG[:-1])
def test_a_malformed_calculation_is_422_naming_the_field(world, path, value, field):
    response = world.till_a.calculate(changed(good(world), path, value))

    assert error(response) == (422, "validation_error", field)


@pytest.mark.parametrize(
    ("when", "field"),
    [(timedelta(hours=1), "receipt.datetime"), (-timedelta(days=31), "receipt.datetime")],
)
def test_a_receipt_from_the_far_future_or_past_is_refused(world, when, field):
    body = changed(good(world), "receipt.datetime", (timezone.now() + when).isoformat())
    before = snapshot(world.anna)

    response = world.till_a.commit(body)

    assert error(response) == (422, "validation_error", field)
    assert snapshot(world.anna) == before


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        '{"card": "2770',
        "not json",
        '{"card": NaN}',
        '{"redeem": Infinity}',
        b"\xff\xfe",
    ],
)
def test_a_body_that_is_not_json_is_400(world, raw):
    before = snapshot(world.anna)

    response = world.till_a.commit(raw)

    assert error(response)[:2] == (400, "validation_error")
    assert snapshot(world.anna) == before


@pytest.mark.parametrize("raw", ["", "[]", '"text"', "42", "null"])
def test_a_body_that_is_not_an_object_is_422(world, raw):
    response = world.till_a.commit(raw)

    assert error(response)[:2] == (422, "validation_error")
    assert snapshot(world.anna)[1] == 0


def test_exact_json_numbers_are_accepted_as_money(world):
    body = good(world)
    body["receipt"]["lines"][0]["amount"] = 600.00
    body["receipt"]["lines"][1]["amount"] = 400
    body["receipt"]["total"] = 1000.0
    body["redeem"] = 10

    response = world.till_a.commit(body)

    assert response.status_code == 201
    assert (response.json()["redeemed"], response.json()["earned"]) == ("10.00", "4.95")


def test_a_json_number_is_read_from_the_text_not_through_a_float(world):
    # 0.1 + 0.2 as floats is 0.30000000000000004; read as decimals it is exactly 0.30.
    raw = json.dumps(good(world))
    raw = raw.replace('"600.00"', "999.9").replace('"400.00"', "0.1")
    raw = raw.replace('"total": "1000.00"', '"total": 1000.00')

    response = world.till_a.calculate(raw)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("card", "status", "code"),
    [
        ("2770000000000002", 422, "invalid_card_number"),  # wrong check digit
        ("277000000000000", 422, "invalid_card_number"),  # 15 digits
        ("KB1:2770000000000002:123456", 422, "invalid_card_number"),
        ("2770000000000004", 404, "card_not_found"),  # valid, but no such card
        ("2770000000000001", 422, "invalid_card_number"),
    ],
)
def test_a_bad_card_number_is_refused_before_anything(world, card, status, code):
    before = snapshot(world.anna)

    commit = world.till_a.commit(purchase_body(card, "1000.00"))
    lookup = world.till_a.card(card)
    calculate = world.till_a.calculate(purchase_body(card, "1000.00"))

    assert error(commit)[:2] == error(lookup)[:2] == error(calculate)[:2] == (status, code)
    assert snapshot(world.anna) == before


def test_a_blocked_card_cannot_buy(world):
    block_card(card=world.anna_card, reason="утеряна")
    before = snapshot(world.anna)

    commit = world.till_a.commit(good(world))
    calculate = world.till_a.calculate(good(world))

    assert error(commit)[:2] == error(calculate)[:2] == (409, "card_blocked")
    assert snapshot(world.anna) == before


def test_an_issued_card_purchase_is_refused_and_the_till_told_to_activate(world):
    """L-CARD-5: nothing is recorded, since an issued card has no member account."""
    card = issued_card()
    before = snapshot(world.anna)

    response = world.till_a.commit(purchase_body(card.number, "1000.00"))

    assert error(response)[:2] == (409, "card_not_active")
    assert "активируйте" in response.json()["error"]["message"]
    assert snapshot(world.anna) == before


def test_a_replayed_qr_payload_is_refused(world):
    payload = cardnumbers.build_qr_payload(
        world.anna_card.number, bytes(world.anna_card.totp_secret), at=timezone.now()
    )
    assert world.till_a.card(payload).status_code == 200
    before = snapshot(world.anna)

    response = world.till_b.commit(purchase_body(payload, "1000.00"))

    assert error(response) == (422, "qr_code_replayed", "card")
    assert snapshot(world.anna) == before


def test_an_expired_qr_payload_is_refused(world):
    payload = cardnumbers.build_qr_payload(
        world.anna_card.number,
        bytes(world.anna_card.totp_secret),
        at=timezone.now() - timedelta(minutes=3),
    )
    before = snapshot(world.anna)

    response = world.till_a.commit(purchase_body(payload, "1000.00"))

    assert error(response) == (422, "qr_code_expired", "card")
    assert snapshot(world.anna) == before


def test_a_revoked_token_is_401_everywhere(world):
    bought = world.till_a.commit(good(world), key="k-1").json()
    revoke_terminal(terminal=world.till_a.terminal)
    before = snapshot(world.anna)

    answers = [
        world.till_a.card(world.anna_card.number),
        world.till_a.calculate(good(world)),
        world.till_a.commit(good(world), key="k-2"),
        world.till_a.confirm(bought["id"]),
        world.till_a.cancel(bought["id"]),
        world.till_a.return_(bought["id"], []),
        world.till_a.batch([]),
        world.till_a.sell(world.anna_card.number, "1.00"),
    ]

    assert [error(a)[:2] for a in answers] == [(401, "unauthorized")] * len(answers)
    assert snapshot(world.anna) == before


@pytest.mark.parametrize("key", [None, "", "x" * 129, "tab\there"])
def test_a_commit_needs_a_sane_idempotency_key(world, key):
    before = snapshot(world.anna)

    response = world.till_a.commit(good(world), key=key)

    assert error(response) == (422, "validation_error", "Idempotency-Key")
    assert snapshot(world.anna) == before


def test_a_batch_over_1000_items_changes_nothing(world):
    item = {**good(world), "redeem": "0.00", "idempotency_key": "k"}
    before = snapshot(world.anna)

    response = world.till_a.batch([item] * 1001)

    assert error(response)[:3] == (422, "validation_error", "items")
    assert snapshot(world.anna) == before


def test_a_batch_with_a_non_object_item_is_refused_whole(world):
    response = world.till_a.batch([good(world) | {"idempotency_key": "k"}, "receipt"])

    assert error(response) == (422, "validation_error", "items[1]")
    assert snapshot(world.anna)[1] == 0


def test_a_purchase_id_that_is_not_a_number_is_not_routed(world):
    response = world.till_a.post("purchases/abc/confirm", {})

    assert response.status_code == 404


def test_an_unexpected_failure_is_500_in_the_contract_shape(world, monkeypatch):
    from kabinet.loyalty import pos_api

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(pos_api, "calculate_purchase", broken)

    response = world.till_a.calculate(good(world))

    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Внутренняя ошибка сервера", "field": None}
    }


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_a_return_line_must_return_some_money(world, amount):
    bought = world.till_a.commit(good(world), key="k-1").json()
    before = snapshot(world.anna)

    response = world.till_a.return_(bought["id"], [{"sku": "SKU-1", "amount": amount}])

    assert error(response) == (422, "validation_error", "lines[0].amount")
    assert snapshot(world.anna) == before


def test_an_offline_receipt_cannot_be_held(world):
    item = {**good(world), "redeem": "0.00", "idempotency_key": "k", "mode": "hold"}

    result = world.till_a.batch([item]).json()["results"][0]

    assert (result["status"], result["body"]["error"]["field"]) == (422, "mode")
    assert snapshot(world.anna)[1] == 0
