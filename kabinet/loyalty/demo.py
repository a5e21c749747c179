"""Loyalty demo data: the program, ~3 000 stores, goods lists, cards, a till and a member.

Runs on every `kabinet demo` start (`kabinet.core.demo_loader`), after the geography is
loaded, so it is idempotent: everything is looked up by a stable key (level threshold,
store code, article and region, batch name, the member's phone, the till token's hash)
and only what is missing is created. What a back-office user changed is left alone.

The member's year of purchases goes through the services a till uses (`activate_card`,
`commit_purchase`, `return_purchase`, `recompute_level`), each call "at its time" (`now=`
a few minutes after the receipt, as an offline till posting its batch would), so the
ledger, balances and levels are exactly what real tills would have produced
(`kabinet loyalty reconcile` is clean). Everything random is drawn from seeded
`random.Random` generators: the same database gets the same stores and the same history.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kabinet.accounts.models import User
from kabinet.core import audit
from kabinet.core.phones import format_phone_ru
from kabinet.geo.models import City, Region
from kabinet.loyalty import caches, demo_data
from kabinet.loyalty.callcentre.roles import ensure_demo_staff
from kabinet.loyalty.models import (
    Account,
    Card,
    CardBatch,
    CardState,
    Level,
    PremiumGood,
    ProgramSettings,
    PromoGood,
    Purchase,
    Store,
    Terminal,
)
from kabinet.loyalty.services.cards import activate_card, issue_cards, sell_card
from kabinet.loyalty.services.levels import recompute_level
from kabinet.loyalty.services.purchases import LineInput, ReceiptInput, commit_purchase
from kabinet.loyalty.services.returns import ReturnLineInput, return_purchase
from kabinet.loyalty.services.terminals import create_terminal, hash_token

#: SPEC L-EARN-8's demo levels: (name, threshold over last month in kopecks, rate in b.p.).
LEVELS = (
    ("Базовый", 0, 50),
    ("Серебряный", 1_000_000, 100),
    ("Золотой", 2_000_000, 150),
)

STORE_COUNT = 3000
STORE_CODE_PREFIX = "MG"
#: A handful of stores in taking-part regions opt out themselves: the 75th, 225th, ...
OPT_OUT_EVERY, OPT_OUT_AT = 150, 75

CARD_BATCH = "Демо-партия"
CARD_BATCH_SIZE = 100
MEMBER_CARD_BATCH = "Демо: карта участницы"

TERMINAL_STORE = "MG-77-0001"
TERMINAL_NAME = "Демо-касса (POS API)"
TERMINAL_TOKEN_LABEL = b"kabinet-demo-terminal"

MEMBER_PHONE = "+79990000001"
MEMBER_PASSWORD = "kabinet-demo"  # noqa: S105 - the demo's published password
MEMBER_FIRST_NAME = "Анна"
MEMBER_CITY = ("77", "Москва")
#: The member's stores, with how often she shops in each.
MEMBER_STORES = (("MG-77-0001", 6), ("MG-77-0002", 3), ("MG-77-0003", 1))
MEMBER_TILL_NAME = "Касса 1"
HISTORY_DAYS = 395  # the card was activated about 13 months ago
BIRTHDAY_DAYS_AGO = 80  # her birthday fell in the history, so its bonus shows there
RETURN_DAYS_AGO = 150  # roughly when the one partial return happened
#: Last month's spending stops at about this, between the second and third levels' thresholds.
LAST_MONTH_SPEND = 1_400_000
SEED = 2770


# ------------------------------------------------------------------------------ entry


@transaction.atomic
def load() -> list[str]:
    """Create what is missing of the loyalty demo; the lines to print for a person."""
    now = timezone.now()
    ProgramSettings.objects.get_or_create(pk=1)
    ProgramSettings.forget_cached()
    _levels()
    _stores()
    _premium_goods(now.date())
    _promo_goods(now.date())
    cards = _card_batch()
    terminal, token = _demo_terminal()
    _member(now)
    lines = [
        f"касса (POS API): магазин {terminal.store.code}, токен {token}",
        f"участник: телефон {format_phone_ru(MEMBER_PHONE)}, пароль {MEMBER_PASSWORD}",
    ]
    if cards:
        lines.append("карты для регистрации: " + ", ".join(cards))
    lines.extend(ensure_demo_staff())
    return lines


# --------------------------------------------------------------------------- program


def _levels() -> None:
    for name, threshold, rate in LEVELS:
        Level.objects.get_or_create(
            threshold_kopecks=threshold, defaults={"name": name, "rate_bp": rate}
        )


# ---------------------------------------------------------------------------- stores


def _store_quotas(cities: list[City], regions: dict[int, Region]) -> dict[int, int]:
    """Stores per city id: proportional to population (largest remainder), at least one in
    every regional capital, STORE_COUNT in all."""
    population = sum(city.population for city in cities) or 1
    # A region's capital is the city of that name; failing that, its largest city.
    capitals: dict[int, City] = {}
    for city in sorted(
        cities,
        key=lambda c: (c.name_ru != regions[c.region_id].capital_ru, -c.population, c.pk),
    ):
        capitals.setdefault(city.region_id, city)
    capital_ids = {city.pk for city in capitals.values()}
    exact = {city.pk: Fraction(city.population * STORE_COUNT, population) for city in cities}
    quotas = {pk: math.floor(share) for pk, share in exact.items()}
    for pk in capital_ids:
        quotas[pk] = max(quotas[pk], 1)
    left = STORE_COUNT - sum(quotas.values())
    by_remainder = sorted(cities, key=lambda c: (-(exact[c.pk] - math.floor(exact[c.pk])), c.pk))
    for city in by_remainder[: max(left, 0)]:
        quotas[city.pk] += 1
    return quotas


def _store_spot(city: City, rng: random.Random) -> tuple[Decimal, Decimal]:
    """A point within the city: farther from the centre in a bigger city."""
    radius_km = min(15.0, 1.0 + 5.0 * math.sqrt(city.population / 1_000_000))
    distance = radius_km * math.sqrt(rng.random())
    angle = rng.uniform(0, 2 * math.pi)
    lat = float(city.lat) + distance * math.cos(angle) / 111.0
    lon = float(city.lon) + distance * math.sin(angle) / (111.0 * math.cos(math.radians(lat)))
    step = Decimal("0.000001")
    return Decimal(lat).quantize(step), Decimal(lon).quantize(step)


def _planned_stores() -> list[Store]:
    """Every demo store, unsaved, in a fixed order with fixed codes (MG-<region>-<serial>)."""
    regions = {region.pk: region for region in Region.objects.all()}
    cities = list(City.objects.order_by("geonameid"))
    quotas = _store_quotas(cities, regions)
    formats = [name for name, _ in demo_data.STORE_FORMATS]
    weights = [weight for _, weight in demo_data.STORE_FORMATS]
    by_region: dict[int, list[City]] = {}
    for city in sorted(cities, key=lambda c: (-c.population, c.pk)):
        by_region.setdefault(city.region_id, []).append(city)
    stores: list[Store] = []
    for region in sorted(regions.values(), key=lambda r: r.code):
        serial = 0
        for city in by_region.get(region.pk, ()):
            for _ in range(quotas[city.pk]):
                serial += 1
                code = f"{STORE_CODE_PREFIX}-{region.code}-{serial:04d}"
                rng = random.Random(f"store:{code}")  # noqa: S311 - demo data, not secrets
                house = rng.randint(1, 160)
                building = f"к{rng.randint(1, 3)}" if rng.random() < 0.15 else ""
                address = f"{rng.choice(demo_data.STREETS)}, {house}{building}"
                lat, lon = _store_spot(city, rng)
                stores.append(
                    Store(
                        code=code,
                        name=f"{rng.choices(formats, weights)[0]}, {address}",
                        address=address,
                        city=city,
                        region=region,
                        lat=lat,
                        lon=lon,
                        timezone=city.timezone or region.timezone,
                        participates=not (
                            region.loyalty_active and serial % OPT_OUT_EVERY == OPT_OUT_AT
                        ),
                    )
                )
    return stores


def _stores() -> None:
    have = set(
        Store.objects.filter(code__startswith=f"{STORE_CODE_PREFIX}-").values_list(
            "code", flat=True
        )
    )
    if len(have) >= STORE_COUNT:
        return
    missing = [store for store in _planned_stores() if store.code not in have]
    Store.objects.bulk_create(missing, batch_size=500)


# ----------------------------------------------------------------------------- goods


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _premium_goods(today: date) -> None:
    """L-EARN-3: listed since the start of last year (the member's history shows them)
    to the end of this one; seasonal goods for their months of this year."""
    regions = dict(Region.objects.values_list("code", "pk"))
    have = set(PremiumGood.objects.values_list("sku", "region__code"))
    new = []
    for item in demo_data.PREMIUM:
        if (item.good.sku, item.region) in have or (item.region and item.region not in regions):
            continue
        if item.season is None:
            valid_from, valid_to = date(today.year - 1, 1, 1), date(today.year, 12, 31)
        else:
            first, last = item.season
            valid_from, valid_to = date(today.year, first, 1), _month_end(today.year, last)
        new.append(
            PremiumGood(
                sku=item.good.sku,
                name=item.good.name,
                valid_from=valid_from,
                valid_to=valid_to,
                region_id=regions.get(item.region) if item.region else None,
            )
        )
    PremiumGood.objects.bulk_create(new)
    caches.premium_goods_changed()  # bulk_create sends no signal


def _promo_goods(today: date) -> None:
    """L-CAB-7: promo goods from the start of this month, some for one region only."""
    regions = dict(Region.objects.values_list("code", "pk"))
    have = set(PromoGood.objects.values_list("sku", "region__code"))
    PromoGood.objects.bulk_create(
        PromoGood(
            sku=promo.sku,
            name=promo.name,
            description=promo.description,
            region_id=regions.get(promo.region) if promo.region else None,
            valid_from=today.replace(day=1),
        )
        for promo in demo_data.PROMO
        if (promo.sku, promo.region) not in have
        and (promo.region is None or promo.region in regions)
    )


# ----------------------------------------------------------------------------- cards


def _card_batch() -> list[str]:
    """L-CARD-3: a printed batch nobody has registered yet; two of its numbers to try."""
    if not CardBatch.objects.filter(name=CARD_BATCH).exists():
        issue_cards(count=CARD_BATCH_SIZE, batch_name=CARD_BATCH)
    return list(
        Card.objects.filter(batch__name=CARD_BATCH, state=CardState.ISSUED)
        .order_by("number")
        .values_list("number", flat=True)[:2]
    )


# -------------------------------------------------------------------------- terminal


def demo_terminal_token() -> str:
    """The demo till's bearer token: derived from SECRET_KEY, so every start prints the same
    one and nobody without the key can compute it."""
    digest = hmac.new(settings.SECRET_KEY.encode(), TERMINAL_TOKEN_LABEL, hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def _demo_terminal() -> tuple[Terminal, str]:
    """The till a person drives the POS API with. Like the demo passwords, it is restored on
    every start: created if missing, un-revoked if someone revoked it."""
    token = demo_terminal_token()
    terminal = Terminal.objects.select_related("store").filter(token_hash=hash_token(token)).first()
    if terminal is None:
        terminal = Terminal.objects.create(
            store=Store.objects.get(code=TERMINAL_STORE),
            name=TERMINAL_NAME,
            token_hash=hash_token(token),
        )
        audit.record(action="loyalty.terminal.create", obj=terminal, reason="демо-данные")
    elif terminal.revoked_at is not None:
        Terminal.objects.filter(pk=terminal.pk).update(revoked_at=None)
        terminal.revoked_at = None
    return terminal, token


# ---------------------------------------------------------------------------- member


def _member(now: datetime) -> None:
    """The demo member; her history is made once, her password restored on every start."""
    user = User.objects.filter(phone=MEMBER_PHONE).first()
    if user is None:
        user = User(username=MEMBER_PHONE, phone=MEMBER_PHONE, first_name=MEMBER_FIRST_NAME)
    user.is_active = True
    user.set_password(MEMBER_PASSWORD)
    user.save()
    if not Account.objects.filter(user=user).exists():
        _History(user=user, now=now).run()


@dataclass(slots=True)
class _Planned:
    at: datetime
    terminal: Terminal
    receipt: ReceiptInput
    #: The share of the available points to pay with (0: none).
    redeem_share: Decimal = Decimal(0)
    #: When this purchase has its partial return.
    returned_at: datetime | None = None


class _History:
    """A year of a Moscow shopper's receipts, posted through the till services."""

    def __init__(self, *, user: User, now: datetime) -> None:
        self.user = user
        self.now = now
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
        region_code, city_name = MEMBER_CITY
        self.city = City.objects.get(region__code=region_code, name_ru=city_name)
        self.tz = ZoneInfo(self.city.timezone)
        self.today = now.astimezone(self.tz).date()
        self.start = self.today - timedelta(days=HISTORY_DAYS)
        bday = self.today - timedelta(days=BIRTHDAY_DAYS_AGO)
        self.birthday = bday
        # 1992 is a leap year, so any day of the year makes a valid birth date.
        self.birth_date = date(1992, bday.month, bday.day)
        region = self.city.region.code
        self.premium = [
            item.good
            for item in demo_data.PREMIUM
            if item.region in (None, region) and item.season is None
        ]

    def local(self, day: date, hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(hour, minute), self.tz).astimezone(UTC)

    def run(self) -> None:
        tills = self._tills()
        card = self._card()
        activate_card(
            card=card,
            user=self.user,
            first_name=MEMBER_FIRST_NAME,
            birth_date=self.birth_date,
            city=self.city,
            at=self.local(self.start, 19, 40),
        )
        card = Card.objects.select_related("account__level").get(pk=card.pk)
        self._post(card, self._plan(tills))

    def _tills(self) -> list[tuple[Terminal, int]]:
        tills = []
        for code, weight in MEMBER_STORES:
            store = Store.objects.get(code=code)
            terminal = Terminal.objects.filter(store=store, name=MEMBER_TILL_NAME).first()
            if terminal is None:
                terminal, _token = create_terminal(store=store, name=MEMBER_TILL_NAME)
            tills.append(
                (Terminal.objects.select_related("store__region").get(pk=terminal.pk), weight)
            )
        return tills

    def _card(self) -> Card:
        """A plastic card bought at the till on the first day (free with a big receipt)."""
        card = Card.objects.filter(batch__name=MEMBER_CARD_BATCH, state=CardState.ISSUED).first()
        if card is None:
            name = MEMBER_CARD_BATCH
            if CardBatch.objects.filter(name=name).exists():
                name = f"{MEMBER_CARD_BATCH} {self.today:%Y-%m-%d}"
            (card,) = issue_cards(count=1, batch_name=name)
        sell_card(card=card, receipt_total_kopecks=64_590, at=self.local(self.start, 10, 5))
        return card

    # ------------------------------------------------------------------ the plan

    def _basket(self, day: date) -> tuple[LineInput, ...]:
        rng = self.rng
        big = rng.random() < 0.15 or (day.month == 12 and day.day > 20)  # New Year's table
        size = rng.randint(6, 12) if big else rng.randint(3, 5)
        premium_count = sum(rng.random() < 0.05 for _ in range(size))
        goods = rng.sample(self.premium, premium_count) + rng.sample(
            demo_data.GROCERIES, size - premium_count
        )
        lines = []
        for good in goods:
            if good.by_weight:
                quantity = Decimal(rng.randint(250, 1600)) / 1000
            else:
                quantity = Decimal(rng.choice((1, 1, 1, 1, 1, 2, 2, 3)))
            amount = int((good.price_kopecks * quantity).quantize(Decimal(1), ROUND_HALF_UP))
            if rng.random() < 0.15:  # a store discount on the line (L-EARN-6)
                amount = amount * (100 - rng.choice((10, 15, 20, 25, 30))) // 100
            lines.append(
                LineInput(
                    sku=good.sku,
                    name=good.name,
                    quantity=quantity,
                    price_kopecks=good.price_kopecks,
                    amount_kopecks=amount,
                    category=good.category,
                )
            )
        return tuple(lines)

    def _plan(self, tills: list[tuple[Terminal, int]]) -> list[_Planned]:
        rng = self.rng
        terminals = [terminal for terminal, _ in tills]
        weights = [weight for _, weight in tills]
        planned: list[_Planned] = []
        # Some months she shops more than others (holidays, a summer at the dacha), so her
        # level goes up and down. Last month was an ordinary one that stopped short of the
        # top level, so the cabinet has a next level to show (L-CAB-4).
        last_month = (self.today.replace(day=1) - timedelta(days=1)).replace(day=1)
        mood: dict[date, float] = {last_month: 1.0}
        last_month_spend = 0
        day = self.start + timedelta(days=1)
        while day < self.today:
            factor = mood.setdefault(day.replace(day=1), rng.uniform(0.75, 1.25))
            chance = (0.5 if day.weekday() >= 5 else 0.33) * factor
            if day.replace(day=1) == last_month and last_month_spend >= LAST_MONTH_SPEND:
                chance = 0
            if rng.random() < chance or day == self.birthday:
                minute = rng.randint(8 * 60, 21 * 60 + 40)
                at = self.local(day, minute // 60, minute % 60)
                terminal = rng.choices(terminals, weights)[0]
                lines = self._basket(day)
                serial = terminal.store.code.rsplit("-", 1)[-1]
                receipt = ReceiptInput(
                    number=f"{serial}-{day:%Y%m%d}-{len(planned) + 1:04d}",
                    purchased_at=at,
                    lines=lines,
                    total_kopecks=sum(line.amount_kopecks for line in lines),
                )
                share = Decimal(0)
                if rng.random() < 0.12:  # now and then she pays with points
                    share = rng.choice((Decimal("0.5"), Decimal(1)))
                planned.append(
                    _Planned(at=at, terminal=terminal, receipt=receipt, redeem_share=share)
                )
                if day.replace(day=1) == last_month:
                    last_month_spend += receipt.total_kopecks
            day += timedelta(days=1)
        target = self.today - timedelta(days=RETURN_DAYS_AGO)
        candidates = [p for p in planned if len(p.receipt.lines) >= 5]
        if candidates:
            chosen = min(candidates, key=lambda p: abs((p.at.date() - target).days))
            chosen.redeem_share = Decimal(0)
            chosen.returned_at = chosen.at + timedelta(days=2, hours=1)
        return planned

    # ------------------------------------------------------------------ posting

    def _post(self, card: Card, planned: list[_Planned]) -> None:
        account = card.account
        assert account is not None
        balance = 0
        month: tuple[int, int] | None = None
        returns: list[tuple[datetime, _Planned, int]] = []
        for item in planned:
            while returns and returns[0][0] <= item.at:
                balance = self._return(*returns.pop(0))
            day = item.at.astimezone(self.tz).date()
            if (day.year, day.month) != month:
                # The monthly level job (L-EARN-8), as it would have run at the month's start.
                month = (day.year, day.month)
                recompute_level(account=account, today=day)
            redeem = 0
            if item.redeem_share and balance >= 30_000:
                points = int(Decimal(balance) * item.redeem_share)
                redeem = min(points, item.receipt.total_kopecks) // 100 * 100
            result = commit_purchase(
                terminal=item.terminal,
                card=card,
                receipt=item.receipt,
                redeem=redeem,
                idempotency_key=f"demo-{item.receipt.number}",
                now=item.at + timedelta(minutes=self.rng.randint(1, 4)),
            )
            balance = result.balance
            if item.returned_at is not None:
                returns.append((item.returned_at, item, result.id))
        for pending in returns:
            if pending[0] < self.now:
                self._return(*pending)
        recompute_level(account=account, today=self.today)

    def _return(self, at: datetime, item: _Planned, purchase_id: int) -> int:
        """Bring back the dearest line of the receipt, two days later (L-SPEND-3)."""
        line = max(item.receipt.lines, key=lambda line: line.amount_kopecks)
        result = return_purchase(
            terminal=item.terminal,
            purchase=Purchase.objects.get(pk=purchase_id),
            lines=[ReturnLineInput(sku=line.sku, amount_kopecks=line.amount_kopecks)],
            idempotency_key=f"demo-return-{item.receipt.number}",
            now=at,
        )
        return result.balance
