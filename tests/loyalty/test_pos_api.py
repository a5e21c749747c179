"""The POS API end to end over HTTP (SPEC §4, L-POS): happy paths, idempotency, holds,
returns, batch, card sale, store isolation and the statements a commit costs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kabinet.core import periodic
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import (
    Card,
    LedgerEntry,
    ProgramSettings,
    Purchase,
    PurchaseReturn,
    PurchaseStatus,
)
from kabinet.loyalty.services.cards import block_card
from kabinet.loyalty.tasks import expire_holds_task
from tests.loyalty.factories import StoreFactory, issued_card, region, terminal
from tests.loyalty.pos_client import (
    Till,
    build_world,
    error,
    purchase_body,
    receipt_body,
    snapshot,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def qr(card: Card, *, ago: timedelta = timedelta(0)) -> str:
    return cardnumbers.build_qr_payload(
        card.number, bytes(card.totp_secret), at=timezone.now() - ago
    )


# ------------------------------------------------------------------------------ cards


def test_card_lookup_shows_the_members_own_balance_and_name(world):
    anna = world.till_a.card(world.anna_card.number)
    boris = world.till_a.card(world.boris_card.number)

    assert anna.status_code == 200
    assert anna.json() == {
        "card": world.anna_card.number,
        "status": "active",
        "balance": "100.00",
        "redeemable": "100.00",
        "first_name": "Анна",
        "messages": [],
    }
    assert boris.json()["first_name"] == "Борис"
    assert boris.json()["balance"] == "30.00"


def test_card_lookup_by_a_url_encoded_qr_payload_once_per_till(world):
    payload = qr(world.anna_card)

    first = world.till_a.card(payload)
    again_same_till = world.till_a.card(payload)
    other_till = world.till_a2.card(payload)

    assert first.status_code == 200 and first.json()["card"] == world.anna_card.number
    assert again_same_till.status_code == 200
    assert error(other_till) == (422, "qr_code_replayed", "card")


def test_an_old_qr_screenshot_is_refused(world):
    response = world.till_a.card(qr(world.anna_card, ago=timedelta(minutes=5)))

    assert error(response) == (422, "qr_code_expired", "card")


def test_lookup_of_an_issued_card_says_activate_it_first(world):
    card = issued_card()

    response = world.till_a.card(card.number)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["balance"], body["first_name"]) == ("issued", "0.00", None)
    assert [m["code"] for m in body["messages"]] == ["card_not_active"]


def test_lookup_of_a_blocked_card_shows_no_balance_or_name(world):
    block_card(card=world.viktor_card, reason="утеряна")

    body = world.till_a.card(world.viktor_card.number).json()

    assert (body["status"], body["balance"], body["first_name"]) == ("blocked", "0.00", None)
    assert [m["code"] for m in body["messages"]] == ["card_blocked"]


def test_lookup_in_a_store_outside_the_program_allows_no_redemption(world):
    outside = StoreFactory(region=region("39", active=False, tz="Europe/Kaliningrad"))
    _, token = terminal(outside)

    body = Till(token).card(world.anna_card.number).json()

    assert (body["balance"], body["redeemable"]) == ("100.00", "0.00")
    assert [m["code"] for m in body["messages"]] == ["store_not_participating"]


# -------------------------------------------------------------------- calculate, commit


def test_calculate_answers_exactly_and_changes_nothing(world):
    before = snapshot(world.anna)

    response = world.till_a.calculate(
        purchase_body(world.anna_card.number, "1000.00", redeem="50.00")
    )

    assert response.status_code == 200
    assert response.json() == {
        "earn": "4.75",
        "redeem": "50.00",
        "balance": "100.00",
        "redeemable": "100.00",
        "balance_after": "54.75",
        "breakdown": [{"rule": "base", "points": "4.75", "ref": None}],
        "messages": [],
    }
    assert snapshot(world.anna) == before


def test_calculate_with_an_issued_card_earns_nothing_and_says_why(world):
    card = issued_card()

    response = world.till_a.calculate(purchase_body(card.number, "1000.00"))

    assert response.status_code == 200
    body = response.json()
    assert (body["earn"], body["balance_after"]) == ("0.00", "0.00")
    assert [m["code"] for m in body["messages"]] == ["card_not_active"]


def test_commit_earns_and_redeems_on_the_members_account_only(world):
    before_boris = snapshot(world.boris)[0]

    response = world.till_a.commit(
        purchase_body(world.anna_card.number, "1000.00", redeem="50.00"), key="k-1"
    )

    assert response.status_code == 201
    body = response.json()
    purchase = Purchase.objects.get()
    assert body == {
        "id": purchase.pk,
        "status": "committed",
        "earned": "4.75",
        "redeemed": "50.00",
        "balance": "54.75",
        "breakdown": [{"rule": "base", "points": "4.75", "ref": None}],
        "messages": [],
        "hold_expires_at": None,
    }
    world.anna.refresh_from_db()
    assert (world.anna.balance, world.anna.held) == (5_475, 0)
    assert sorted(LedgerEntry.objects.filter(purchase=purchase).values_list("kind", "amount")) == [
        ("earn", 475),
        ("redeem", -5_000),
    ]
    assert (purchase.store_id, purchase.account_id) == (world.store_a.pk, world.anna.pk)
    assert snapshot(world.boris)[0] == before_boris


def test_a_retried_commit_returns_the_first_answer_and_changes_nothing(world):
    body = purchase_body(world.anna_card.number, "1000.00", redeem="50.00")
    first = world.till_a.commit(body, key="k-1")
    after_first = snapshot(world.anna)

    retry = world.till_a.commit(body, key="k-1")

    assert (retry.status_code, retry.json()) == (201, first.json())
    assert snapshot(world.anna) == after_first


def test_the_same_key_with_another_body_is_a_conflict(world):
    world.till_a.commit(purchase_body(world.anna_card.number, "1000.00"), key="k-1")
    before = snapshot(world.anna)

    response = world.till_a.commit(purchase_body(world.anna_card.number, "999.00"), key="k-1")

    assert error(response)[:2] == (409, "idempotency_conflict")
    assert snapshot(world.anna) == before


def test_keys_are_per_terminal(world):
    world.till_a.commit(purchase_body(world.anna_card.number, "1000.00"), key="k-1")

    other = world.till_b.commit(purchase_body(world.boris_card.number, "200.00"), key="k-1")

    assert other.status_code == 201
    assert other.json()["balance"] == "31.00"


def test_the_same_receipt_number_with_a_new_key_is_refused(world):
    world.till_a.commit(purchase_body(world.anna_card.number, "1000.00"), key="k-1")
    before = snapshot(world.anna)

    response = world.till_a.commit(purchase_body(world.anna_card.number, "1000.00"), key="k-2")

    assert error(response)[:2] == (409, "duplicate_receipt")
    assert snapshot(world.anna) == before


def test_not_enough_points_is_409_and_changes_nothing(world):
    before = snapshot(world.anna, world.boris)

    response = world.till_a.commit(
        purchase_body(world.boris_card.number, "1000.00", redeem="30.01"), key="k-1"
    )

    assert error(response)[:2] == (409, "insufficient_points")
    assert snapshot(world.anna, world.boris) == before


def test_a_commit_with_a_fresh_qr_payload_after_its_lookup(world):
    payload = qr(world.anna_card)
    assert world.till_a.card(payload).status_code == 200

    response = world.till_a.commit(purchase_body(payload, "1000.00"), key="k-1")

    assert response.status_code == 201 and response.json()["balance"] == "105.00"


def test_a_commit_retried_after_its_qr_code_expired_still_replays(world):
    body = purchase_body(qr(world.anna_card), "1000.00")
    first = world.till_a.commit(body, key="k-1")
    Card.objects.filter(pk=world.anna_card.pk).update(last_qr_step=10**12)  # a later code used
    after_first = snapshot(world.anna)

    retry = world.till_a.commit(body, key="k-1")
    fresh_key = world.till_a.commit({**body, "receipt": receipt_body(number="R-2")}, key="k-2")

    assert (retry.status_code, retry.json()) == (201, first.json())
    assert error(fresh_key) == (422, "qr_code_replayed", "card")
    assert snapshot(world.anna) == after_first


# ------------------------------------------------------------------------------ holds


def hold_body(world, *, redeem="50.00", number="H-1"):
    return {
        **purchase_body(world.anna_card.number, "1000.00", redeem=redeem, number=number),
        "mode": "hold",
    }


def hold(world, *, key="h-1", body=None):
    return world.till_a.commit(body or hold_body(world), key=key)


def test_a_hold_reserves_then_confirm_redeems_and_earns(world):
    held = hold(world)

    assert held.status_code == 201
    body = held.json()
    assert (body["status"], body["earned"], body["redeemed"], body["balance"]) == (
        "held",
        "4.75",
        "50.00",
        "100.00",
    )
    purchase = Purchase.objects.get()
    assert body["hold_expires_at"] == purchase.hold_expires_at.isoformat()
    world.anna.refresh_from_db()
    assert (world.anna.balance, world.anna.held) == (10_000, 5_000)
    assert world.till_a.card(world.anna_card.number).json()["redeemable"] == "50.00"
    assert LedgerEntry.objects.filter(purchase=purchase).count() == 0

    confirmed = world.till_a.confirm(purchase.pk)
    again = world.till_a.confirm(purchase.pk)

    assert confirmed.status_code == 200
    assert (confirmed.json()["status"], confirmed.json()["balance"]) == ("committed", "54.75")
    assert again.status_code == 200 and again.json()["status"] == "committed"
    world.anna.refresh_from_db()
    assert (world.anna.balance, world.anna.held) == (5_475, 0)
    assert LedgerEntry.objects.filter(purchase=purchase).count() == 2


def test_cancelling_a_hold_releases_it_and_is_harmless_twice(world):
    purchase_id = hold(world).json()["id"]

    cancelled = world.till_a.cancel(purchase_id)
    again = world.till_a.cancel(purchase_id)
    confirm_after = world.till_a.confirm(purchase_id)

    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["balance"]) == ("cancelled", "100.00")
    assert again.json()["status"] == "cancelled"
    assert error(confirm_after)[:2] == (409, "hold_cancelled")
    world.anna.refresh_from_db()
    assert (world.anna.balance, world.anna.held) == (10_000, 0)
    assert LedgerEntry.objects.filter(purchase_id=purchase_id).count() == 0


def test_a_committed_purchase_cannot_be_cancelled(world):
    purchase_id = world.till_a.commit(purchase_body(world.anna_card.number, "1000.00")).json()["id"]
    before = snapshot(world.anna)

    assert error(world.till_a.cancel(purchase_id))[:2] == (409, "purchase_committed")
    assert snapshot(world.anna) == before


def test_the_worker_sweeps_expired_holds_every_minute(world):
    settings = ProgramSettings.current()
    settings.hold_expiry_minutes = 0
    settings.save()
    ProgramSettings.forget_cached()
    purchase_id = hold(world).json()["id"]
    job = periodic._jobs["loyalty.expire_holds"]

    assert job.every == timedelta(minutes=1)
    assert job.run() == 1
    assert job.run() == 0
    assert Purchase.objects.get().status == PurchaseStatus.EXPIRED
    assert error(world.till_a.confirm(purchase_id))[:2] == (409, "hold_expired")
    assert world.till_a.cancel(purchase_id).json()["status"] == "expired"
    world.anna.refresh_from_db()
    assert (world.anna.balance, world.anna.held) == (10_000, 0)
    assert DBTaskResult.objects.count() == 0  # a commit enqueues nothing


def test_a_hold_past_its_time_is_refused_at_confirm_even_before_the_sweep(world):
    settings = ProgramSettings.current()
    settings.hold_expiry_minutes = 0
    settings.save()
    ProgramSettings.forget_cached()
    purchase_id = hold(world).json()["id"]

    assert error(world.till_a.confirm(purchase_id))[:2] == (409, "hold_expired")
    assert expire_holds_task.call() == 0
    world.anna.refresh_from_db()
    assert (world.anna.balance, world.anna.held) == (10_000, 0)
    assert LedgerEntry.objects.filter(purchase_id=purchase_id).count() == 0


def test_a_replayed_hold_makes_one_purchase_with_the_same_answer(world):
    body = hold_body(world)
    first = hold(world, body=body)
    again = hold(world, body=body)

    assert (again.status_code, again.json()) == (201, first.json())
    assert Purchase.objects.count() == 1
    world.anna.refresh_from_db()
    assert world.anna.held == 5_000


# ---------------------------------------------------------------------------- returns


def test_returns_by_line_then_the_rest_then_nothing_left(world):
    bought = world.till_a.commit(
        purchase_body(world.anna_card.number, "600.00", "400.00", redeem="50.00"), key="k-1"
    ).json()
    assert (bought["earned"], bought["balance"]) == ("4.75", "54.75")

    partial = world.till_a.return_(
        bought["id"], [{"sku": "SKU-2", "quantity": "1", "amount": "400.00"}], key="r-1"
    )
    retry = world.till_a.return_(
        bought["id"], [{"sku": "SKU-2", "quantity": "1", "amount": "400.00"}], key="r-1"
    )
    rest = world.till_a.return_(bought["id"], [], key="r-2")
    nothing_left = world.till_a.return_(bought["id"], [], key="r-3")

    assert partial.status_code == 201
    assert {k: v for k, v in partial.json().items() if k != "id"} == {
        "purchase_id": bought["id"],
        "amount": "400.00",
        "taken_back": "1.90",
        "given_back": "20.00",
        "balance": "72.85",
    }
    assert (retry.status_code, retry.json()) == (201, partial.json())
    assert (rest.json()["amount"], rest.json()["taken_back"], rest.json()["given_back"]) == (
        "600.00",
        "2.85",
        "30.00",
    )
    assert rest.json()["balance"] == "100.00"
    assert error(nothing_left)[:2] == (409, "already_returned")
    assert PurchaseReturn.objects.count() == 2


def test_returning_more_than_was_bought_changes_nothing(world):
    bought = world.till_a.commit(purchase_body(world.anna_card.number, "600.00")).json()
    before = snapshot(world.anna)

    response = world.till_a.return_(bought["id"], [{"sku": "SKU-1", "amount": "600.01"}])

    assert error(response)[:2] == (422, "validation_error")
    assert snapshot(world.anna) == before


def test_a_return_needs_an_idempotency_key(world):
    bought = world.till_a.commit(purchase_body(world.anna_card.number, "600.00")).json()

    response = world.till_a.return_(bought["id"], [], key=None)

    assert error(response) == (422, "validation_error", "Idempotency-Key")


# ------------------------------------------------------------------ store isolation


def test_another_stores_till_cannot_see_or_touch_a_purchase(world):
    held_id = hold(world).json()["id"]
    committed_id = world.till_a.commit(
        purchase_body(world.anna_card.number, "1000.00", number="C-1"), key="c-1"
    ).json()["id"]
    before = snapshot(world.anna)

    answers = [
        world.till_b.confirm(held_id),
        world.till_b.cancel(held_id),
        world.till_b.return_(committed_id, []),
        world.till_b.confirm(999_999),
    ]

    assert [error(a)[:2] for a in answers] == [(404, "purchase_not_found")] * 4
    assert snapshot(world.anna) == before
    # A till of the same store may act on it.
    assert world.till_a2.confirm(held_id).status_code == 200


# ------------------------------------------------------------------------------ batch


def batch_item(card: str, key: str, *amounts: str, redeem: str = "0.00", number: str) -> dict:
    return {**purchase_body(card, *amounts, redeem=redeem, number=number), "idempotency_key": key}


def test_a_batch_answers_per_item_and_never_redeems_offline(world):
    old_qr = qr(world.boris_card, ago=timedelta(hours=3))
    broken = batch_item(world.viktor_card.number, "b-4", "10.00", number="B-4")
    broken["receipt"]["lines"][0]["amount"] = 10.001
    items = [
        batch_item(world.anna_card.number, "b-1", "1000.00", number="B-1"),
        batch_item(world.anna_card.number, "b-2", "1000.00", redeem="10.00", number="B-2"),
        batch_item(old_qr, "b-3", "200.00", number="B-3"),
        broken,
        batch_item("2770000000000001", "b-5", "10.00", number="B-5"),
    ]

    response = world.till_a.batch(items)
    retry = world.till_a.batch(items)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["idempotency_key"], r["status"]) for r in results] == [
        ("b-1", 201),
        ("b-2", 409),
        ("b-3", 201),
        ("b-4", 422),
        ("b-5", 422),
    ]
    assert (results[0]["body"]["earned"], results[0]["body"]["balance"]) == ("5.00", "105.00")
    assert results[0]["body"]["hold_expires_at"] is None
    assert results[1]["body"]["error"]["code"] == "offline_redeem_not_allowed"
    assert results[2]["body"]["balance"] == "31.00"
    assert results[3]["body"]["error"]["field"] == "receipt.lines[0].amount"
    assert results[4]["body"]["error"]["code"] == "invalid_card_number"
    assert retry.json() == response.json()
    assert Purchase.objects.count() == 2
    world.anna.refresh_from_db()
    world.viktor.refresh_from_db()
    assert (world.anna.balance, world.viktor.balance) == (10_500, 0)


def test_a_batch_of_more_than_1000_is_refused_whole(world):
    items = [
        batch_item(world.anna_card.number, f"b-{i}", "10.00", number=f"B-{i}") for i in range(1001)
    ]
    before = snapshot(world.anna)

    response = world.till_a.batch(items)

    assert error(response)[:3] == (422, "validation_error", "items")
    assert snapshot(world.anna) == before


def test_a_batch_reads_its_cards_in_one_query(world):
    items = [
        batch_item(card.number, f"b-{i}", "100.00", number=f"B-{i}")
        for i, card in enumerate([world.anna_card, world.boris_card, world.viktor_card] * 4)
    ]

    with CaptureQueriesContext(connection) as queries:
        response = world.till_a.batch(items)

    assert [r["status"] for r in response.json()["results"]] == [201] * 12
    card_reads = [q for q in queries.captured_queries if 'FROM "loyalty_card"' in q["sql"]]
    assert len(card_reads) == 1


# ---------------------------------------------------------------------------- card sale


def test_a_card_sold_with_a_small_receipt_costs_25_and_free_from_500(world):
    card = issued_card()

    small = world.till_a.sell(card.number, "120.00")
    large = world.till_a.sell(card.number, "500.00")
    active = world.till_a.sell(world.anna_card.number, "120.00")

    assert (small.status_code, small.json()) == (200, {"price": "25.00"})
    assert large.json() == {"price": "0.00"}
    assert error(active)[:2] == (409, "card_already_active")
    assert Card.objects.get(pk=card.pk).sold_at is not None


# ------------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer ", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Token abc"],
)
def test_a_request_without_a_valid_token_is_401(world, authorization):
    client = world.till_a.client
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get(f"/api/pos/v1/cards/{world.anna_card.number}", **headers)

    assert error(response)[:2] == (401, "unauthorized")
    assert response["WWW-Authenticate"] == "Bearer"


# -------------------------------------------------------------------------- SQL cost


def test_a_commit_costs_few_sql_statements(world):
    # Warm the program settings cache, as on a running server.
    world.till_a.calculate(purchase_body(world.anna_card.number, "10.00"))
    body = purchase_body(world.anna_card.number, "1000.00", redeem="50.00", number="Q-1")

    with CaptureQueriesContext(connection) as queries:
        response = world.till_a.commit(body, key="q-1")
    with CaptureQueriesContext(connection) as replay:
        world.till_a.commit(body, key="q-1")

    assert response.status_code == 201
    statements = [q["sql"] for q in queries.captured_queries]
    # The terminal and the premium goods come from the process caches (warmed above); the
    # card ⋈ account ⋈ level with the member's last offer day (no offer: no offer query),
    # the idempotency look-up, then the writes: on PostgreSQL one statement (balance
    # UPDATE … RETURNING, purchase, ledger and idempotency INSERTs), elsewhere a
    # transaction of those four (+ savepoints/BEGIN).
    work = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE", "BEGIN"))]
    assert len(work) == (3 if connection.vendor == "postgresql" else 6), "\n".join(statements)
    assert len(replay.captured_queries) <= 5
