"""The loyalty demo data (issue 3, item 6): idempotent, consistent, made through the services."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from kabinet.geo.models import City, Region
from kabinet.loyalty import cardnumbers, demo, demo_data
from kabinet.loyalty.models import (
    Account,
    Card,
    CardBatch,
    CardState,
    LedgerEntry,
    LedgerKind,
    Level,
    PremiumGood,
    PromoGood,
    Purchase,
    PurchaseReturn,
    Store,
    Terminal,
)
from kabinet.loyalty.selectors import participating_stores
from kabinet.loyalty.services.levels import level_for_spend, month_spend, previous_month
from kabinet.loyalty.services.terminals import authenticate_terminal, revoke_terminal

pytestmark = pytest.mark.django_db


class _RollBack(Exception):
    pass


@pytest.fixture(scope="module")
def demo_lines(django_db_setup, django_db_blocker):
    """The demo loaded once for this module (a few seconds on PostgreSQL), in a transaction
    rolled back afterwards; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                yield demo.load()
                raise _RollBack
        except _RollBack:
            pass


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Level,
            Store,
            Terminal,
            CardBatch,
            Card,
            PremiumGood,
            PromoGood,
            Account,
            Purchase,
            PurchaseReturn,
            LedgerEntry,
        )
    }


def _token(lines: list[str]) -> str:
    (line,) = [line for line in lines if line.startswith("касса (POS API)")]
    assert f"магазин {demo.TERMINAL_STORE}," in line
    return line.rsplit(" ", 1)[1]


def _member() -> Account:
    return Account.objects.select_related("level", "user", "city").get(
        user__phone=demo.MEMBER_PHONE
    )


def test_a_second_run_creates_nothing_and_prints_the_same_token(demo_lines):
    first_lines = demo_lines
    first = _counts()
    again = demo.load()

    assert _counts() == first
    assert again == first_lines
    assert first["Store"] == demo.STORE_COUNT
    assert first["Terminal"] == 1 + len(demo.MEMBER_STORES)

    token = _token(first_lines)
    terminal = authenticate_terminal(token)
    assert terminal is not None and terminal.store.code == demo.TERMINAL_STORE
    # Revoked in the back office: the next start restores it, like the demo passwords.
    revoke_terminal(terminal=terminal)
    assert authenticate_terminal(token) is None
    assert demo.load() == first_lines
    assert authenticate_terminal(token) == terminal
    assert _counts() == first


def test_the_member_has_a_year_of_till_purchases_and_the_ledger_reconciles(demo_lines):
    lines = demo_lines
    out = StringIO()
    call_command("loyalty", "reconcile", stdout=out)  # raises CommandError on a difference
    assert "agree" in out.getvalue()

    member = _member()
    assert f"участник: телефон +7 999 000-00-01, пароль {demo.MEMBER_PASSWORD}" in lines
    assert member.user.check_password(demo.MEMBER_PASSWORD)
    assert member.first_name == member.user.first_name == "Анна"
    assert member.city.name_ru == "Москва"
    ledger = LedgerEntry.objects.filter(account=member).aggregate(total=Sum("amount"))["total"]
    assert member.balance > 0
    assert member.balance == ledger

    now = timezone.now()
    card = Card.objects.get(account=member, state=CardState.ACTIVE)
    assert card.sold_at is not None and card.sold_at < card.activated_at
    assert now - timedelta(days=420) < member.activated_at < now - timedelta(days=365)

    purchases = list(Purchase.objects.filter(account=member).select_related("store"))
    weeks = (now - member.activated_at).days / 7
    assert 2 <= len(purchases) / weeks <= 4
    assert all(p.purchased_at < now for p in purchases)
    assert {p.store.code for p in purchases} == {code for code, _ in demo.MEMBER_STORES}
    assert all(3 <= len(p.lines) <= 12 for p in purchases)
    assert all(p.store.takes_part for p in purchases)
    rules_seen = {part["rule"] for p in purchases for part in p.breakdown}
    assert {"base", "first_month", "premium", "birthday"} <= rules_seen
    assert any(p.redeemed for p in purchases)
    # Every purchase is explained by its ledger entries (earn and redeem, plus the return).
    kinds = set(LedgerEntry.objects.filter(account=member).values_list("kind", flat=True))
    assert {LedgerKind.EARN, LedgerKind.REDEEM, LedgerKind.RETURN_EARN} <= kinds
    (returned,) = PurchaseReturn.objects.filter(account=member)
    assert 0 < returned.amount_kopecks < returned.purchase.total_kopecks  # a partial return

    # The level follows last calendar month's spending (L-EARN-8).
    start, end = previous_month(now.astimezone(ZoneInfo("Europe/Moscow")).date())
    assert member.level == level_for_spend(
        month_spend(account=member, start=start, end=end), list(Level.objects.all())
    )


def test_the_program_stores_goods_and_cards(demo_lines):
    lines = demo_lines

    assert list(Level.objects.values_list("name", "threshold_kopecks", "rate_bp")) == [
        ("Базовый", 0, 50),
        ("Серебряный", 1_000_000, 100),
        ("Золотой", 2_000_000, 150),
    ]

    stores = Store.objects.select_related("city", "region")
    assert all(re.fullmatch(r"MG-\d\d-\d{4}", s.code) for s in stores)
    assert all(s.city.region_id == s.region_id and s.timezone == s.city.timezone for s in stores)
    assert all(abs(s.lat - s.city.lat) < 1 and abs(s.lon - s.city.lon) < 1 for s in stores)
    assert all(re.fullmatch(r".+, \d+(к\d)?", s.address) for s in stores)
    # At least one store in every region's capital (or largest city).
    assert set(Region.objects.filter(cities__isnull=False).values_list("code", flat=True)) == set(
        stores.values_list("region__code", flat=True)
    )
    moscow = City.objects.get(region__code="77", name_ru="Москва")
    assert Store.objects.get(code="MG-77-0001").city == moscow
    # Some regions do not take part: their stores exist but earn nothing (L-EARN-7) ...
    outside = Store.objects.filter(region__loyalty_active=False)
    assert outside.exists()
    assert not participating_stores().filter(pk__in=outside).exists()
    # ... and a handful of stores in regions that do take part opted out themselves.
    assert 1 <= Store.objects.filter(participates=False, region__loyalty_active=True).count() <= 20
    assert participating_stores().count() > 0.9 * demo.STORE_COUNT

    premium = PremiumGood.objects.all()
    assert premium.count() == len(demo_data.PREMIUM) >= 20
    assert premium.filter(region__isnull=False).count() >= 2
    today = timezone.localdate()
    valid_now = premium.filter(valid_from__lte=today, valid_to__gte=today)
    assert valid_now.count() >= 18
    promo = PromoGood.objects.all()
    assert promo.count() == len(demo_data.PROMO) >= 30
    assert promo.filter(region__isnull=False).count() >= 5
    assert all(p.description for p in promo)

    batch = CardBatch.objects.get(name=demo.CARD_BATCH)
    assert batch.cards.filter(state=CardState.ISSUED).count() == 100
    (line,) = [line for line in lines if line.startswith("карты для регистрации: ")]
    printed = line.removeprefix("карты для регистрации: ").split(", ")
    assert len(printed) == 2
    for number in printed:
        assert cardnumbers.is_valid_card_number(number)
        assert batch.cards.get(number=number).state == CardState.ISSUED
