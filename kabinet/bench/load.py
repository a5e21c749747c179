"""Load for `kabinet bench pos`: request bodies, percentiles, and a Python load generator.

The single-commit load is normally driven by wrk (`wrk_purchase.lua`, which builds the same
bodies in Lua): a Python client spends more CPU per request than the server's own Python
does, and on a 2-core machine that CPU is taken from the server. This module's generator
is the fallback when wrk is missing, and always drives the batch endpoint, where a request
carries hundreds of receipts and the client's cost per request does not matter.

Run as `python -m kabinet.bench.load ...` by the orchestrator (`kabinet.bench.pos`), so its
CPU is measured as a process of its own. It imports nothing of Django.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

PURCHASES_PATH = "/api/pos/v1/purchases"
BATCH_PATH = "/api/pos/v1/purchases/batch"
#: A receipt's lines are drawn from this many SKUs (`data.PREMIUM_EVERY` of them premium).
SKU_COUNT = 500
MIN_LINES, MAX_LINES = 3, 8
#: The most points one benchmark purchase redeems (members start with far more).
MAX_REDEEM_POINTS = 50
#: Kept per run to show why requests failed; the first few are enough.
SAMPLES_KEPT = 3


# ------------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile of `values` (0 < pct <= 100); NaN when there are none."""
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {pct}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count); NaN if empty."""
    present = sorted(v for v in values if not math.isnan(v))
    if not present:
        return math.nan
    middle = len(present) // 2
    if len(present) % 2:
        return present[middle]
    return (present[middle - 1] + present[middle]) / 2


# ---------------------------------------------------------------------------------- bodies


def money(kopecks: int) -> str:
    """12345 → '123.45': the POS contract's decimal-string form of roubles and points."""
    sign = "-" if kopecks < 0 else ""
    whole, frac = divmod(abs(kopecks), 100)
    return f"{sign}{whole}.{frac:02d}"


def request_key(run_id: str, client_id: int, seq: int) -> str:
    """A run's unique Idempotency-Key, also the receipt number (at most 64 characters)."""
    return f"{run_id}-{client_id}-{seq}"


def receipt_time(now: datetime | None = None) -> str:
    """A receipt's time as the tills send it: ISO 8601 with an offset, to the second."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def purchase_body(
    *,
    rng: random.Random,
    card: str,
    key: str,
    redeem_share: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A realistic receipt (3–8 lines) for `card`, numbered `key`; some redeem points.

    `key` is also the receipt number, so a run's keys and receipt numbers are unique
    together. Mirrors `request()` in `wrk_purchase.lua`.
    """
    lines = []
    total = 0
    for _ in range(rng.randint(MIN_LINES, MAX_LINES)):
        sku = rng.randint(1, SKU_COUNT)
        price = rng.randint(50, 5000) * 10
        quantity = rng.randint(1, 3)
        amount = price * quantity
        total += amount
        lines.append(
            {
                "sku": f"SKU-{sku:05d}",
                "name": f"Товар {sku}",
                "quantity": str(quantity),
                "price": money(price),
                "amount": money(amount),
            }
        )
    redeem = 0
    if rng.random() < redeem_share:
        redeem = rng.randint(1, max(1, min(MAX_REDEEM_POINTS, total // 200))) * 100
    return {
        "card": card,
        "receipt": {
            "number": key,
            "datetime": receipt_time(now),
            "lines": lines,
            "total": money(total),
        },
        "redeem": money(redeem),
    }


def batch_body(
    *, rng: random.Random, cards: Sequence[str], keys: Sequence[str], now: datetime | None = None
) -> dict[str, Any]:
    """A batch of offline receipts, one per key; offline tills never redeem (L-POS-4)."""
    items = []
    for key in keys:
        item = purchase_body(rng=rng, card=rng.choice(cards), key=key, redeem_share=0, now=now)
        item["idempotency_key"] = key
        items.append(item)
    return {"items": items}


def committed_items(response: Any) -> tuple[int, Counter[str]]:
    """How many items of a batch answer were recorded, and the outcome of every item.

    The answer is `{"results": [{"idempotency_key", "status", "body"}]}`; an item counts
    when its status is 201 and its body is a purchase. Other outcomes are keyed by status
    and error code (e.g. "409 insufficient_points").
    """
    outcomes: Counter[str] = Counter()
    results = response.get("results") if isinstance(response, dict) else None
    if not isinstance(results, list):
        return 0, outcomes
    committed = 0
    for item in results:
        status = item.get("status") if isinstance(item, dict) else None
        body = item.get("body") if isinstance(item, dict) else None
        body = body if isinstance(body, dict) else {}
        if status == 201 and body.get("id") is not None:
            committed += 1
            outcomes["201"] += 1
            continue
        error = body.get("error")
        code = error.get("code", "?") if isinstance(error, dict) else "?"
        outcomes[f"{status} {code}"] += 1
    return committed, outcomes


# ------------------------------------------------------------------------ Python generator


@dataclass
class LoadResult:
    """What one process of the Python generator saw (merged across processes)."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    items: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def merge(self, other: LoadResult) -> None:
        self.statuses.update(other.statuses)
        self.latencies_ms.extend(other.latencies_ms)
        self.items += other.items
        self.outcomes.update(other.outcomes)
        self.transport_errors += other.transport_errors
        self.samples.extend(other.samples[: max(0, SAMPLES_KEPT - len(self.samples))])
        self.elapsed = max(self.elapsed, other.elapsed)


@dataclass(frozen=True)
class Plan:
    """What every client of one run does."""

    url: str
    mode: str  # "single" or "batch"
    tokens: tuple[str, ...]
    cards: tuple[str, ...]
    seconds: float
    run_id: str
    redeem_share: float = 0.2
    batch_size: int = 200


def _client(plan: Plan, client_id: int, deadline: float, result: LoadResult, lock: Any) -> None:
    """One till on a keep-alive connection: send, wait for the answer, send the next."""
    parts = urlsplit(plan.url)
    rng = random.Random(f"{plan.run_id}-{client_id}")  # noqa: S311 — test data, not secrets
    mine = LoadResult()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    seq = 0
    while time.monotonic() < deadline:
        token = plan.tokens[(client_id + seq) % len(plan.tokens)]
        if plan.mode == "batch":
            keys = [request_key(plan.run_id, client_id, seq + i) for i in range(plan.batch_size)]
            seq += plan.batch_size
            body = batch_body(rng=rng, cards=plan.cards, keys=keys)
            path, headers = BATCH_PATH, {}
        else:
            seq += 1
            key = request_key(plan.run_id, client_id, seq)
            card = rng.choice(plan.cards)
            body = purchase_body(rng=rng, card=card, key=key, redeem_share=plan.redeem_share)
            path, headers = PURCHASES_PATH, {"Idempotency-Key": key}
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers |= {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            mine.transport_errors += 1
            if len(mine.samples) < SAMPLES_KEPT:
                mine.samples.append(f"transport: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
            continue
        mine.latencies_ms.append((time.perf_counter() - started) * 1000)
        mine.statuses[response.status] += 1
        if plan.mode == "batch" and response.status == 200:
            committed, outcomes = committed_items(json.loads(data))
            mine.items += committed
            mine.outcomes.update(outcomes)
        elif response.status == 201:
            mine.items += 1
        if response.status not in (200, 201) and len(mine.samples) < SAMPLES_KEPT:
            mine.samples.append(f"{response.status}: {data[:300].decode(errors='replace')}")
    conn.close()
    with lock:
        result.merge(mine)


class _Mergeable(Protocol):
    elapsed: float

    def merge(self, other: Any) -> None: ...


#: A client of a run: (plan, client id, deadline, the run's result, its lock) → None; it
#: merges what it saw into the result under the lock when the deadline passes.
Client = Callable[[Any, int, float, Any, Any], None]


def _process[R: _Mergeable](
    client: Client, make: Callable[[], R], plan: Any, first: int, clients: int
) -> R:
    result = make()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + plan.seconds
    threads = [
        threading.Thread(target=client, args=(plan, first + i, deadline, result, lock))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Requests sent before the deadline are answered after it: count the time they took.
    result.elapsed = time.monotonic() - started
    return result


def fan_out[R: _Mergeable](
    client: Client, make: Callable[[], R], plan: Any, *, clients: int, processes: int
) -> R:
    """`clients` concurrent closed-loop clients (threads) spread over `processes` forked
    processes, for `plan.seconds`; their results merged. The POS and the search benchmarks'
    load generator: one process's GIL would cap the load it can send."""
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    firsts = [sum(shares[:i]) for i in range(processes)]
    if processes == 1:
        return _process(client, make, plan, 0, clients)
    # fork: the callers hold no threads or connections yet.
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        args = [(client, make, plan, f, n) for f, n in zip(firsts, shares, strict=True)]
        parts = pool.starmap(_process, args)
    merged = make()
    for part in parts:
        merged.merge(part)
    return merged


def run(plan: Plan, *, clients: int, processes: int) -> LoadResult:
    """`clients` concurrent tills spread over `processes` processes, for `plan.seconds`."""
    return fan_out(_client, LoadResult, plan, clients=clients, processes=processes)


def summarise(result: LoadResult) -> dict[str, Any]:
    """The JSON line the orchestrator reads back."""
    return {
        "elapsed": result.elapsed,
        "items": result.items,
        "requests": sum(result.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "outcomes": dict(result.outcomes),
        "transport_errors": result.transport_errors,
        "p50_ms": percentile(result.latencies_ms, 50),
        "p90_ms": percentile(result.latencies_ms, 90),
        "p99_ms": percentile(result.latencies_ms, 99),
        "max_ms": max(result.latencies_ms, default=math.nan),
        "samples": result.samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kabinet.bench.load")
    parser.add_argument("--url", required=True, help="the server's base URL")
    parser.add_argument("--mode", choices=["single", "batch"], default="single")
    parser.add_argument("--data", required=True, help="JSON with the terminals' tokens and cards")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--redeem-share", type=float, default=0.2)
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args(argv)
    with open(args.data, encoding="utf-8") as fh:
        data = json.load(fh)
    plan = Plan(
        url=args.url,
        mode=args.mode,
        tokens=tuple(data["tokens"]),
        cards=tuple(data["cards"]),
        seconds=args.seconds,
        run_id=args.run_id,
        redeem_share=args.redeem_share,
        batch_size=args.batch_size,
    )
    result = run(plan, clients=args.clients, processes=args.processes)
    sys.stdout.write(json.dumps(summarise(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
