"""The benchmark's data, made inside its own database (run as a subprocess by `pos`).

    python -m kabinet.bench.data prepare --stores N --members M --out FILE
    python -m kabinet.bench.data statements --data FILE

`prepare` builds a program the way production has one: the SPEC's demo levels, premium
goods, stores in several participating regions, one terminal per store (through
`create_terminal`, so the tokens are real), and members whose cards were activated through
`activate_card`. Their starting points are credited in bulk — one `adjust` ledger entry per
member and one UPDATE of the balances — because a service call per member would take
longer than the benchmark; `kabinet loyalty reconcile` at the end proves the ledger and the
balances still agree.

`statements` sends one purchase and one batch through the real URL routing (Django's test
client, in this process) and counts the SQL statements each took.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from typing import Any

from kabinet.bench import load

#: Every this-many-th SKU is a premium good (L-EARN-3).
PREMIUM_EVERY = 25
#: Points each member starts with (hundredths): far more than the benchmark redeems.
STARTING_POINTS = 100_000 * 100
#: Share of members with a personal offer (L-EARN-5).
OFFER_SHARE = 0.1
_CHUNK = 1000


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kabinet.config.settings")
    import django

    django.setup()


def prepare(*, stores: int, members: int, seed: int = 1) -> dict[str, Any]:
    """Make the program, stores, terminals and members; their tokens and card numbers."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from kabinet.geo.models import Region
    from kabinet.loyalty.models import (
        Account,
        LedgerEntry,
        LedgerKind,
        Level,
        OfferKind,
        PersonalOffer,
        PremiumGood,
        ProgramSettings,
        Store,
    )
    from kabinet.loyalty.services import cards as card_services
    from kabinet.loyalty.services import terminals as terminal_services

    rng = random.Random(seed)  # noqa: S311 — test data, not secrets
    now = timezone.now()
    today = now.date()
    timings: dict[str, float] = {}
    started = time.monotonic()
    with transaction.atomic():
        ProgramSettings.current()
        if not Level.objects.exists():
            Level.objects.bulk_create(
                [
                    Level(name="Базовый", threshold_kopecks=0, rate_bp=50),
                    Level(name="Серебряный", threshold_kopecks=1_000_000, rate_bp=100),
                    Level(name="Золотой", threshold_kopecks=2_000_000, rate_bp=150),
                ]
            )
        PremiumGood.objects.bulk_create(
            [
                PremiumGood(sku=f"SKU-{sku:05d}", name=f"Премиальный товар {sku}")
                for sku in range(PREMIUM_EVERY, load.SKU_COUNT + 1, PREMIUM_EVERY)
            ]
        )
        regions = list(Region.objects.filter(loyalty_active=True).order_by("code")[:8])
        if not regions:
            raise SystemExit("no participating region: did the geography migration run?")
        made_stores = Store.objects.bulk_create(
            [
                Store(
                    code=f"BENCH{i:05d}",
                    name=f"Магазин {i}",
                    address="ул. Нагрузочная, 1",
                    region=regions[i % len(regions)],
                    timezone=regions[i % len(regions)].timezone,
                    participates=True,
                )
                for i in range(stores)
            ]
        )
        tokens = [
            terminal_services.create_terminal(store=store, name="Касса 1")[1]
            for store in made_stores
        ]
    timings["stores and terminals"] = time.monotonic() - started

    started = time.monotonic()
    user_model = get_user_model()
    unusable = make_password(None)
    cards = []
    for first in range(0, members, _CHUNK):
        count = min(_CHUNK, members - first)
        with transaction.atomic():
            issued = card_services.issue_cards(count=count, batch_name=f"bench-{first}")
            users = user_model.objects.bulk_create(
                [
                    user_model(
                        username=f"bench{first + i}",
                        phone=f"+7999{first + i:07d}",
                        password=unusable,
                    )
                    for i in range(count)
                ]
            )
            for card, user in zip(issued, users, strict=True):
                card_services.activate_card(
                    card=card,
                    user=user,
                    first_name="Участник",
                    birth_date=date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45)),
                    # Mostly long-standing members; a few are in their first month (L-EARN-2).
                    at=now - timedelta(days=rng.choice([3, 10, 90, 200, 400, 700])),
                )
                cards.append(card.number)
    timings["members (activate_card)"] = time.monotonic() - started

    started = time.monotonic()
    with transaction.atomic():
        account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    account_id=account_id,
                    kind=LedgerKind.ADJUST,
                    amount=STARTING_POINTS,
                    reason="bench: стартовые баллы",
                    created_at=now,
                )
                for account_id in account_ids
            ],
            batch_size=_CHUNK,
        )
        Account.objects.filter(pk__in=account_ids).update(balance=F("balance") + STARTING_POINTS)
        PersonalOffer.objects.bulk_create(
            [
                PersonalOffer(
                    account_id=account_id,
                    title="Двойные баллы на любимые товары",
                    kind=OfferKind.PERCENT,
                    skus=[f"SKU-{rng.randint(1, load.SKU_COUNT):05d}" for _ in range(20)],
                    bonus_bp=100,
                    valid_from=today - timedelta(days=30),
                    valid_to=today + timedelta(days=30),
                )
                for account_id in account_ids
                if rng.random() < OFFER_SHARE
            ],
            batch_size=_CHUNK,
        )
    timings["starting points and offers (bulk)"] = time.monotonic() - started
    return {"tokens": tokens, "cards": cards, "timings": timings}


_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _counted(captured: list[dict[str, Any]]) -> dict[str, Any]:
    """Statements of one request: all of them, those that only delimit a transaction, and
    the start of each (to print)."""
    sql = [q["sql"] for q in captured]
    return {
        "total": len(sql),
        "control": sum(1 for s in sql if s.lstrip().upper().startswith(_CONTROL)),
        "sql": [s[:110] for s in sql],
    }


def count_statements(*, tokens: list[str], cards: list[str]) -> dict[str, Any]:
    """SQL statements of one warm purchase and of one batch, through the real URL routing."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(2)  # noqa: S311 — test data, not secrets
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")

    def purchase(key: str, *, redeem: bool) -> dict[str, Any]:
        body = load.purchase_body(rng=rng, card=rng.choice(cards), key=key, redeem_share=0)
        if redeem:
            body["redeem"] = "1.00"
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                load.PURCHASES_PATH,
                data=json.dumps(body),
                content_type="application/json",
                headers={"Idempotency-Key": key},
            )
        if response.status_code != 201:
            raise SystemExit(
                f"purchase answered {response.status_code}: {response.content[:300]!r}"
            )
        return _counted(queries.captured_queries)

    # The first request of a process fills caches (program settings, URL resolver).
    purchase("stmt-warm-1", redeem=False)
    out = {
        "purchase": purchase("stmt-earn-1", redeem=False),
        "purchase_redeem": purchase("stmt-redeem-1", redeem=True),
    }
    size = 10
    body = load.batch_body(rng=rng, cards=cards, keys=[f"stmt-batch-{i}" for i in range(size)])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            load.BATCH_PATH, data=json.dumps(body), content_type="application/json"
        )
    committed, outcomes = load.committed_items(response.json())
    if response.status_code != 200 or committed != size:
        raise SystemExit(
            f"batch answered {response.status_code} with {dict(outcomes)}: "
            f"{response.content[:300]!r}"
        )
    out["batch"] = _counted(queries.captured_queries) | {"items": size}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kabinet.bench.data")
    sub = parser.add_subparsers(dest="action", required=True)
    make = sub.add_parser("prepare")
    make.add_argument("--stores", type=int, required=True)
    make.add_argument("--members", type=int, required=True)
    make.add_argument("--out", required=True)
    statements = sub.add_parser("statements")
    statements.add_argument("--data", required=True)
    args = parser.parse_args(argv)
    _setup()
    if args.action == "prepare":
        made = prepare(stores=args.stores, members=args.members)
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(made, fh)
    else:
        with open(args.data, encoding="utf-8") as fh:
            data = json.load(fh)
        sys.stdout.write(json.dumps(count_statements(tokens=data["tokens"], cards=data["cards"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
