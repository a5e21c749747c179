"""Smoke tests of `kabinet bench import`'s pure parts, and one tiny in-process measurement —
not a timed test (the benchmark itself needs PostgreSQL and a minute)."""

from __future__ import annotations

import math

import pytest
from django.core.management import CommandError, call_command

from kabinet.bench import imports as bench
from kabinet.bench.pg import BenchError
from kabinet.pharma.catalog.imports import prepare_import, read_table

PRODUCTS = [("B000000", True, 120_00), ("B000001", False, None), ("B000002", True, 1)]


def test_prices_change_every_round_and_stay_under_the_registered_price():
    first = bench.price_rows(PRODUCTS, round_no=1)
    second = bench.price_rows(PRODUCTS, round_no=2)
    assert first == [("B000000", 119_99), ("B000001", 50_38), ("B000002", 1)]
    assert second == [("B000000", 119_98), ("B000001", 50_39), ("B000002", 1)]


def test_rub_has_a_decimal_comma():
    assert [bench.rub(k) for k in (1, 100, 123_45, 1_000_00)] == [
        "0,01",
        "1,00",
        "123,45",
        "1000,00",
    ]


@pytest.mark.parametrize("writer", [bench.price_csv, bench.price_xlsx])
def test_price_files_read_back_exactly(writer):
    rows = [("B000000", 119_99), ("B000001", 50_38), ("B000002", 7)]
    name = "p.csv" if writer is bench.price_csv else "p.xlsx"
    header, body = read_table(content=writer(rows), file_name=name)
    assert header == ["Код", "Цена"]
    assert [line for line, _cells in body] == [2, 3, 4]
    texts = [[str(c) for c in cells] for _line, cells in body]
    if writer is bench.price_csv:
        assert texts == [["B000000", "119,99"], ["B000001", "50,38"], ["B000002", "0,07"]]
    else:
        assert texts == [["B000000", "119.99"], ["B000001", "50.38"], ["B000002", "0.07"]]


def test_summary_lines_give_medians_rates_and_the_copy_ratio():
    lines = bench.summary_lines(
        {"csv": [4.0, 2.0, 3.0], "xlsx": [5.0, 70.0, 6.0], "copy": [0.02, 0.03, 0.01]}, rows=20_000
    )
    assert lines == [
        "CSV      3.00 s       6667 rows/s   150.0× COPY  (target < 60 s: met)",
        "XLSX     6.00 s       3333 rows/s   300.0× COPY  (target < 60 s: met)",
        "COPY    0.020 s    1000000 rows/s  (reference)",
    ]


def test_options_are_checked():
    with pytest.raises(BenchError):
        bench.Options(rows=0).check()
    with pytest.raises(BenchError):
        bench.Options(rounds=0).check()
    bench.Options().check()


def test_the_command_refuses_a_database_not_named_bench():
    with pytest.raises(CommandError, match="must contain 'bench'"):
        call_command("bench", "import", "--database-url", "postgres://u@127.0.0.1/kabinet")


@pytest.mark.django_db
def test_a_tiny_measurement_in_process(monkeypatch):
    monkeypatch.setattr(bench, "make_catalog", lambda rows: bench.quick_catalog(rows) or "quick")
    events = []
    done = bench.measure(rows=30, rounds=1, say=events.append)
    assert done["rows"] == 30
    assert [e["format"] for e in events if e["event"] == "round"] == ["csv", "xlsx", "copy"]
    imported = [e for e in events if e["event"] == "round" and e["format"] != "copy"]
    assert [e["accepted"] for e in imported] == [30, 30]
    assert all(e["seconds"] > 0 and not math.isnan(e["seconds"]) for e in events if "seconds" in e)
    # The ЖНВЛП rows went through the ceiling check and passed.
    from kabinet.pharma.catalog.models import Price, Product

    assert Price.objects.count() == 30
    assert Product.objects.filter(jnvlp=True).count() == 3


def test_the_files_pass_the_import_checks(db):
    bench.quick_catalog(12)
    rows = bench.price_rows(
        [("B000000", True, 10_00), *[(f"B{n:06d}", False, None) for n in range(1, 12)]],
        round_no=1,
    )
    plan = prepare_import(kind="prices", content=bench.price_csv(rows), file_name="p.csv")
    assert (plan.total_rows, len(plan.items), plan.rejected) == (12, 12, [])
