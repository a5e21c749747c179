"""Smoke tests of `kabinet bench search`'s pure parts — not a timed test.

The benchmark itself needs PostgreSQL and minutes; here only what it computes and sends is
checked: barcodes, typos, the query mix, request paths, the summary and the command's
refusals.
"""

from __future__ import annotations

import io
import math
import random
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from kabinet.bench import search
from kabinet.bench.pg import BenchError
from kabinet.pharma.catalog.layout import to_russian

PRODUCTS = [
    {
        "trade_name": "Нурофен Экспресс",
        "inn_name": "Ибупрофен",
        "manufacturer": "Рекитт Бенкизер",
        "barcode": "5000158062467",
    },
    {
        "trade_name": "Дротаверин",
        "inn_name": "Дротаверин",
        "manufacturer": "Озон",
        "barcode": "4600000000035",
    },
]


def test_typo_changes_one_inner_vowel():
    rng = random.Random(3)
    for word in ("нурофен", "дротаверин", "парацетамол"):
        changed = search.typo(word, rng)
        assert len(changed) == len(word)
        assert changed[0] == word[0] and changed[-1] == word[-1]
        assert sum(a != b for a, b in zip(changed, word, strict=True)) == 1
    assert search.typo("ксв", rng) == "ксв"  # too short
    assert search.typo("бвгджз", rng) == "бвгджз"  # no vowel to change


def test_query_mix_has_every_kind_in_equal_shares():
    mix = search.query_mix(PRODUCTS, count=80, rng=random.Random(1))
    assert Counter(kind for kind, _q in mix) == dict.fromkeys(search.KINDS, 10)
    by_kind: dict[str, set[str]] = {}
    for kind, query in mix:
        by_kind.setdefault(kind, set()).add(query)
    assert by_kind["name"] == {"Нурофен Экспресс", "Дротаверин"}
    assert by_kind["inn"] == {"ибупрофен", "дротаверин"}
    assert by_kind["manufacturer"] == {"Рекитт Бенкизер", "Озон"}
    assert by_kind["barcode"] == {"5000158062467", "4600000000035"}
    assert by_kind["barcode prefix"] == {"50001580", "46000000"}
    assert {to_russian(q) for q in by_kind["layout"]} == {"нурофен", "дротаверин"}
    for query in by_kind["prefix"]:
        assert 3 <= len(query) <= 6
        assert "нурофен".startswith(query) or "дротаверин".startswith(query)


def test_search_paths_carry_the_query_encoded():
    path = search.search_path("но-шпа 40 мг")
    parts = urlsplit(path)
    assert parts.path == "/pharma/cabinet/catalog/search.json"
    assert parse_qs(parts.query) == {"q": ["но-шпа 40 мг"]}


def test_outcome_and_summary():
    summary = {
        "elapsed": 10.0,
        "requests": 1000,
        "ok": 990,
        "empty": 50,
        "statuses": {"200": 990, "500": 10},
        "transport_errors": 0,
        "p50_ms": 12.0,
        "p95_ms": 40.0,
        "p99_ms": 80.0,
        "samples": [],
    }
    outcome = search.Outcome.from_summary(summary)
    assert (outcome.rate, outcome.p95_ms, outcome.empty_share) == (99.0, 40.0, 0.05)
    reference = search.Outcome(rate=990.0, p50_ms=1.0, p95_ms=3.0, p99_ms=5.0)
    lines = search.summary_lines(searches=[outcome], references=[reference])
    assert lines[2].split() == ["search.json", "99", "12.0", "40.0", "80.0"]
    assert lines[3].split() == ["/healthz", "(reference)", "990", "1.0", "3.0", "5.0"]
    assert lines[4] == "search requests/s ÷ reference requests/s: 0.10"
    assert lines[5].endswith("met")
    slow = search.Outcome(rate=50.0, p95_ms=75.0)
    assert search.summary_lines(searches=[slow], references=[reference])[5].endswith("NOT met")
    assert math.isnan(search.Outcome(rate=0.0).p95_ms)


def test_options_are_checked():
    search.Options().check()
    with pytest.raises(BenchError):
        search.Options(clients=0).check()
    with pytest.raises(BenchError):
        search.Options(products=10).check()


def test_command_refuses_a_database_it_must_not_drop():
    with pytest.raises(CommandError, match="must contain 'bench'"):
        call_command("bench", "search", "--database-url", "postgres://postgres@127.0.0.1/kabinet")


def test_server_gets_the_redis_url_or_none(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")
    db = search.Database.scratch(search.DEFAULT_DATABASE_URL)
    with_redis = search.Bench(opts=search.Options(), out=io.StringIO(), db=db, work=tmp_path)
    assert with_redis.child_env()["REDIS_URL"] == "redis://127.0.0.1:6379/14"
    without = search.Bench(
        opts=search.Options(redis_url=""), out=io.StringIO(), db=db, work=tmp_path
    )
    assert "REDIS_URL" not in without.child_env()
    values = {**vars(search.Options()), "redis_url": ""}
    assert search.options_from(values) == search.Options(redis_url="")
