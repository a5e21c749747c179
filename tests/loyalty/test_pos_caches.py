"""The tills' process caches (`kabinet.loyalty.caches`) and the set-wise batch commit: each
is only as fast as it is allowed to be stale, and these tests pin the bounds."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kabinet.loyalty import caches
from kabinet.loyalty.models import LedgerEntry, PremiumGood, Purchase, Terminal
from kabinet.loyalty.services.terminals import hash_token
from tests.loyalty.pos_client import build_world, error, purchase_body
from tests.loyalty.test_pos_api import batch_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def clock(monkeypatch):
    """The caches' monotonic clock, moved forward by `clock.advance(seconds)`."""

    class Clock:
        offset = 0.0

        def advance(self, seconds: float) -> None:
            self.offset += seconds

    fake = Clock()
    real = time.monotonic
    monkeypatch.setattr(caches.time, "monotonic", lambda: real() + fake.offset)
    return fake


# ---------------------------------------------------------------------------- terminals


def test_a_token_revoked_by_another_process_stops_working_within_the_ttl(world, clock):
    till = world.till_a
    assert till.card(world.anna_card.number).status_code == 200
    # Another process (the back office, `kabinet pos terminal revoke`) revokes the token:
    # this process's copy knows nothing of it...
    Terminal.objects.filter(pk=till.terminal.pk).update(revoked_at=timezone.now())
    assert till.card(world.anna_card.number).status_code == 200

    # ...for at most TERMINAL_SECONDS.
    clock.advance(caches.TERMINAL_SECONDS + 0.01)

    assert error(till.card(world.anna_card.number))[:2] == (401, "unauthorized")
    assert error(till.commit(purchase_body(world.anna_card.number, "10.00")))[0] == 401


def test_an_unknown_token_is_never_cached(world):
    from tests.loyalty.pos_client import Till

    assert Till("not-a-token").card(world.anna_card.number).status_code == 401
    assert hash_token("not-a-token") not in caches.terminals._entries


# ------------------------------------------------------------------------ premium goods


def premium_points(response) -> str | None:
    parts = {part["rule"]: part["points"] for part in response.json()["breakdown"]}
    return parts.get("premium")


def test_a_premium_good_saved_in_the_back_office_counts_at_once(world):
    till = world.till_a
    first = till.commit(purchase_body(world.anna_card.number, "1000.00", number="P-1"), key="1")
    assert premium_points(first) is None  # and the (empty) premium list is now cached

    PremiumGood.objects.create(sku="SKU-1", name="Премиальный")  # the admin's save
    second = till.commit(purchase_body(world.anna_card.number, "1000.00", number="P-2"), key="2")

    assert premium_points(second) == "20.00"  # 2 % of 1000.00


def test_a_premium_change_made_elsewhere_is_seen_after_the_version_bump(world, clock):
    till = world.till_a
    till.commit(purchase_body(world.anna_card.number, "1000.00", number="P-1"), key="1")
    # Another process adds a premium good: no signal reaches this one (bulk_create sends none).
    PremiumGood.objects.bulk_create([PremiumGood(sku="SKU-1", name="Премиальный")])
    stale = till.commit(purchase_body(world.anna_card.number, "1000.00", number="P-2"), key="2")
    assert premium_points(stale) is None

    cache.set(caches.premium_goods.version_key, "bumped-elsewhere", None)  # its bump
    clock.advance(caches.VERSION_CHECK_SECONDS)
    fresh = till.commit(purchase_body(world.anna_card.number, "1000.00", number="P-3"), key="3")

    assert premium_points(fresh) == "20.00"


def test_without_a_bump_a_premium_change_is_seen_when_the_copy_expires(world, clock):
    till = world.till_a
    till.commit(purchase_body(world.anna_card.number, "1000.00", number="P-1"), key="1")
    PremiumGood.objects.bulk_create([PremiumGood(sku="SKU-1", name="Премиальный")])

    clock.advance(caches.PREMIUM_SECONDS + 0.01)
    fresh = till.commit(purchase_body(world.anna_card.number, "1000.00", number="P-2"), key="2")

    assert premium_points(fresh) == "20.00"


# ------------------------------------------------------------------------------- batch


def test_a_batch_commits_set_wise_and_answers_as_one_by_one(world):
    items = [
        batch_item(world.anna_card.number, "b-1", "1000.00", number="B-1"),
        batch_item(world.boris_card.number, "b-2", "200.00", number="B-2"),
        batch_item(world.anna_card.number, "b-3", "1000.00", number="B-3"),
    ]
    world.till_a.calculate(purchase_body(world.anna_card.number, "10.00"))  # warm caches

    with CaptureQueriesContext(connection) as queries:
        response = world.till_a.batch(items)

    results = response.json()["results"]
    assert [r["status"] for r in results] == [201] * 3
    # Anna's two receipts answer the balance after each, as one by one.
    assert [r["body"]["balance"] for r in results] == ["105.00", "31.00", "110.00"]
    control = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
    work = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]
    # cards, stored keys, purchases INSERT, balances locked in order, balances UPDATE,
    # ledger INSERT, stored responses INSERT: seven, however many receipts.
    assert len(work) == 7, "\n".join(work)
    world.anna.refresh_from_db()
    assert world.anna.balance == 11_000
    assert LedgerEntry.objects.filter(purchase__isnull=False).count() == 3


def test_a_batch_item_reusing_a_key_for_another_body_is_409_and_the_rest_commit(world):
    world.till_a.batch([batch_item(world.anna_card.number, "b-1", "1000.00", number="B-1")])
    items = [
        batch_item(world.anna_card.number, "b-1", "999.00", number="B-1"),
        batch_item(world.boris_card.number, "b-2", "200.00", number="B-2"),
    ]

    results = world.till_a.batch(items).json()["results"]

    assert [r["status"] for r in results] == [409, 201]
    assert results[0]["body"]["error"]["code"] == "idempotency_conflict"
    assert Purchase.objects.count() == 2


def test_a_batch_with_a_receipt_already_recorded_falls_back_item_by_item(world):
    world.till_a.commit(purchase_body(world.anna_card.number, "100.00", number="B-1"), key="x")
    items = [
        batch_item(world.boris_card.number, "b-0", "200.00", number="B-0"),
        batch_item(world.anna_card.number, "b-1", "1000.00", number="B-1"),
        batch_item(world.viktor_card.number, "b-2", "200.00", number="B-2"),
    ]

    results = world.till_a.batch(items).json()["results"]

    assert [r["status"] for r in results] == [201, 409, 201]
    assert results[1]["body"]["error"]["code"] == "duplicate_receipt"
    assert Purchase.objects.count() == 3
    world.boris.refresh_from_db()
    assert world.boris.balance == 3_100


def test_the_same_key_twice_in_one_batch_replays_the_first(world):
    item = batch_item(world.anna_card.number, "b-1", "1000.00", number="B-1")

    results = world.till_a.batch([item, item]).json()["results"]

    assert [r["status"] for r in results] == [201, 201]
    assert results[0]["body"] == results[1]["body"]
    assert Purchase.objects.count() == 1


def test_a_batch_reads_its_members_offers_in_one_statement_and_earns_what_one_by_one_would(
    world,
):
    from datetime import timedelta

    from kabinet.loyalty.models import PersonalOffer

    today = timezone.localdate()
    offers = [
        PersonalOffer.objects.create(
            account=account,
            title="Молоко +5 %",
            kind="percent",
            skus=["SKU-1"],
            bonus_bp=500,
            valid_from=today - timedelta(days=3),
            valid_to=today + timedelta(days=3),
        )
        for account in (world.anna, world.boris)
    ]
    PersonalOffer.objects.create(  # over before the receipts: never counts
        account=world.anna,
        title="Прошлое",
        kind="fixed",
        skus=["SKU-1"],
        fixed_points=9_000,
        valid_from=today - timedelta(days=30),
        valid_to=today - timedelta(days=20),
    )
    items = [
        batch_item(world.anna_card.number, "b-1", "1000.00", number="B-1"),
        batch_item(world.boris_card.number, "b-2", "200.00", number="B-2"),
        batch_item(world.viktor_card.number, "b-3", "100.00", number="B-3"),
    ]
    world.till_a.calculate(purchase_body(world.anna_card.number, "10.00"))  # warm caches

    with CaptureQueriesContext(connection) as queries:
        results = world.till_a.batch(items).json()["results"]

    assert [r["status"] for r in results] == [201] * 3
    assert [(p["rule"], p["points"], p["ref"]) for p in results[0]["body"]["breakdown"]] == [
        ("base", "5.00", None),
        ("offer", "50.00", str(offers[0].pk)),
    ]
    assert results[1]["body"]["earned"] == "11.00"
    assert results[2]["body"]["earned"] == "0.50"
    offer_reads = [q for q in queries.captured_queries if "loyalty_personaloffer" in q["sql"]]
    # One for the offers, besides the cards' read (which names the table for the last day).
    assert len(offer_reads) == 2, offer_reads
    # The same receipt one by one earns the same.
    single = world.till_a.commit(
        purchase_body(world.anna_card.number, "1000.00", number="S-1"), key="s-1"
    ).json()
    assert single["earned"] == results[0]["body"]["earned"] == "55.00"
