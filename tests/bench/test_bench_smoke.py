"""Smoke tests of `kabinet bench pos`'s pure parts — not a timed test.

The benchmark itself needs PostgreSQL, pgbench and minutes; here only what it computes and
sends is checked: percentiles, medians, request bodies that the POS API's schemas accept,
unique keys, and the parsing of wrk's, the batch endpoint's and pgbench's output.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from kabinet.bench import load, pos, system
from kabinet.bench.pg import BenchError, Database, pgbench_latency_ms, pgbench_tps
from kabinet.loyalty.pos_schemas import BatchIn, BatchItemIn, PurchaseCommitIn

CARDS = ["2770000000000017", "2770000000000025"]
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_percentile_is_nearest_rank():
    values = list(range(100, 0, -1))  # unsorted on purpose
    assert load.percentile(values, 50) == 50
    assert load.percentile(values, 99) == 99
    assert load.percentile(values, 100) == 100
    assert load.percentile([7.5], 99) == 7.5
    assert load.percentile([1, 2, 3, 4], 50) == 2
    assert math.isnan(load.percentile([], 50))
    with pytest.raises(ValueError):
        load.percentile(values, 0)


def test_median_of_odd_and_even_counts_skips_nan():
    assert load.median([3, 1, 2]) == 2
    assert load.median([4, 1, 3, 2]) == 2.5
    assert load.median([1, math.nan, 5]) == 3
    assert math.isnan(load.median([]))


def test_money_is_the_contracts_decimal_string():
    assert load.money(12345) == "123.45"
    assert load.money(5) == "0.05"
    assert load.money(0) == "0.00"
    assert load.money(-250) == "-2.50"


def test_purchase_bodies_add_up_and_pass_the_api_schema():
    rng = random.Random(1)
    redeeming = 0
    for seq in range(300):
        key = load.request_key("run", 3, seq)
        body = load.purchase_body(rng=rng, card=CARDS[0], key=key, redeem_share=0.3, now=NOW)
        receipt = body["receipt"]
        assert receipt["number"] == key
        assert load.MIN_LINES <= len(receipt["lines"]) <= load.MAX_LINES
        total = Decimal(receipt["total"])
        assert sum(Decimal(line["amount"]) for line in receipt["lines"]) == total
        for line in receipt["lines"]:
            assert Decimal(line["price"]) * int(line["quantity"]) == Decimal(line["amount"])
        redeem = Decimal(body["redeem"])
        assert 0 <= redeem <= min(load.MAX_REDEEM_POINTS, total)
        redeeming += redeem > 0
        parsed = PurchaseCommitIn.model_validate(body)
        assert parsed.receipt.to_input().purchased_at == NOW
    assert 40 < redeeming < 150  # about 30 % of 300


def test_keys_are_unique_across_clients_and_runs():
    keys = {
        load.request_key(run, client, seq)
        for run in ("s1r1", "s1r2", "b1r1")
        for client in range(16)
        for seq in range(200)
    }
    assert len(keys) == 3 * 16 * 200
    assert max(len(key) for key in keys) <= 64  # also the receipt number


def test_batch_body_never_redeems_and_each_item_carries_its_key():
    rng = random.Random(2)
    keys = [load.request_key("b", 0, i) for i in range(50)]
    body = load.batch_body(rng=rng, cards=CARDS, keys=keys, now=NOW)
    BatchIn.model_validate(body)
    assert [item["idempotency_key"] for item in body["items"]] == keys
    for item in body["items"]:
        parsed = BatchItemIn.model_validate(item)
        assert parsed.redeem == 0
        assert item["receipt"]["number"] == item["idempotency_key"]
        assert item["card"] in CARDS


def test_committed_items_counts_only_recorded_purchases():
    answer = {
        "results": [
            {"idempotency_key": "a", "status": 201, "body": {"id": 1, "status": "committed"}},
            {"idempotency_key": "b", "status": 201, "body": {"id": 2, "status": "committed"}},
            {
                "idempotency_key": "c",
                "status": 404,
                "body": {"error": {"code": "card_not_found", "message": "…"}},
            },
        ]
    }
    committed, outcomes = load.committed_items(answer)
    assert committed == 2
    assert outcomes == {"201": 2, "404 card_not_found": 1}
    assert load.committed_items({"error": {"code": "validation_error"}}) == (0, {})


def test_wrk_result_counts_201s_only():
    stdout = (
        "Running 15s test @ http://127.0.0.1:1\n"
        'KABINET-RESULT {"duration_us":2000000,"requests":1010,"statuses":{"201":1000,"409":10},'
        '"p50_us":12000,"p90_us":30000,"p99_us":85000,"max_us":120000,'
        '"errors":{"connect":0,"read":0,"write":0,"status":10,"timeout":2}}\n'
        'KABINET-SAMPLE 409 {"error": {"code": "insufficient_points"}}\n'
    )
    outcome = pos.wrk_outcome(stdout)
    assert outcome.rate == 500
    assert (outcome.p50_ms, outcome.p99_ms) == (12, 85)
    assert outcome.statuses == {"201": 1000, "409": 10, "socket timeout": 2}
    assert outcome.samples == ['409 {"error": {"code": "insufficient_points"}}']
    with pytest.raises(BenchError):
        pos.wrk_outcome("wrk: connection refused\n")


def test_pgbench_output_is_read():
    output = (
        "number of transactions actually processed: 21000\n"
        "latency average = 11.111 ms\n"
        "initial connection time = 20.5 ms\n"
        "tps = 1400.123456 (without initial connection time)\n"
    )
    assert pgbench_tps(output) == pytest.approx(1400.123456)
    assert pgbench_latency_ms(output) == pytest.approx(11.111)
    with pytest.raises(BenchError):
        pgbench_tps("connection refused")


def test_summary_says_whether_targets_are_met():
    single = [
        pos.Outcome(rate=r, p50_ms=10, p99_ms=p) for r, p in [(520, 90), (480, 95), (600, 80)]
    ]
    batch = [pos.Outcome(rate=r, p50_ms=300, p99_ms=400) for r in (2900, 3100, 3200)]
    reference = [pos.Outcome(rate=r) for r in (1000, 1000, 2000)]
    lines = pos.summary_lines(singles=single, batches=batch, pgbenches=reference, batch_size=200)
    single_row, batch_row = lines[2], lines[3]
    assert single_row.split()[2:6] == ["520", "10.0", "90.0", "1000"]
    assert single_row.split()[6] == "0.48"  # median of 0.52, 0.48, 0.30
    assert single_row.endswith("yes")
    assert batch_row.endswith("yes")
    slow = [pos.Outcome(rate=600, p50_ms=10, p99_ms=150)]
    lines = pos.summary_lines(
        singles=slow, batches=batch[:1], pgbenches=reference[:1], batch_size=200
    )
    assert lines[2].endswith("NO")  # fast enough, but p99 over 100 ms
    assert lines[3].endswith("NO")


def test_scratch_database_must_say_bench():
    db = Database.scratch("postgres://bench:s3cret@db.local:5433/kabinet_bench")
    assert (db.host, db.port, db.user, db.name) == ("db.local", 5433, "bench", "kabinet_bench")
    assert db.libpq_env()["PGPASSWORD"] == "s3cret"
    assert db.other("kabinet_bench_pgbench").url.endswith(":5433/kabinet_bench_pgbench")
    with pytest.raises(BenchError, match="bench"):
        Database.scratch("postgres://postgres@127.0.0.1:5432/kabinet")
    with pytest.raises(BenchError, match="postgres://"):
        Database.scratch("sqlite:///var/bench.sqlite3")


def test_command_refuses_a_database_it_must_not_drop():
    with pytest.raises(CommandError, match="must contain 'bench'"):
        call_command("bench", "pos", "--database-url", "postgres://postgres@127.0.0.1/kabinet")


def test_process_tree_follows_parents():
    procs = {1: ("init", 0, 0), 10: ("granian", 1, 5), 11: ("python", 10, 7), 12: ("x", 11, 1)}
    procs[20] = ("wrk", 1, 3)
    assert system.tree(procs, 10) == {10, 11, 12}
    assert system.tree(procs, None) == set()
    assert system.postgres_processes({5: ("postgres", 1, 0), 6: ("postgres: walwriter", 5, 0)}) == {
        5,
        6,
    }


def test_server_cpu_per_purchase():
    outcome = pos.Outcome(rate=100, cpu={"server": 1.0, "postgres": 0.3, "load": 0.01})
    assert outcome.server_cpu_ms == pytest.approx(10)
    assert "server CPU per purchase 10.0 ms" in outcome.cpu_text()
    assert math.isnan(pos.Outcome(rate=0, cpu={"server": 1.0}).server_cpu_ms)
