"""Reads behind the member cabinet (L-CAB-1…11), shared by the web pages and the app API.

Every function takes the member's `Account` and reads only that account's rows: a receipt,
card or offer id of another member is simply not found (`NotFound`), never "forbidden", so
the answer does not reveal that it exists.

Units as everywhere: money in kopecks, points in hundredths; dates are the store's local
dates (`Purchase.local_date`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from kabinet.core.errors import NotFound
from kabinet.geo.models import City
from kabinet.loyalty import rules
from kabinet.loyalty.models import (
    Account,
    Card,
    CardState,
    Consent,
    LedgerEntry,
    Level,
    MemberProfile,
    PersonalOffer,
    PremiumGood,
    PromoGood,
    Purchase,
    PurchaseReturn,
    PurchaseStatus,
    Store,
)
from kabinet.loyalty.services.levels import level_for_spend

#: Receipts the member sees: what was actually bought (not open or abandoned holds).
VISIBLE_STATUSES = (PurchaseStatus.COMMITTED,)
CHART_MONTHS = 12


# --- formatting (Russian) --------------------------------------------------------------------


def _grouped(whole: int) -> str:
    return f"{whole:,}".replace(",", "\u202f")


def format_points(hundredths: int) -> str:
    """Russian display of points: 57625 → «576,25 балла», 100 → «1 балл», 500 → «5 баллов».

    A fraction takes the genitive singular («балла»); a whole number the usual plural.
    """
    sign = "−" if hundredths < 0 else ""
    whole, frac = divmod(abs(hundredths), 100)
    if frac:
        return f"{sign}{_grouped(whole)},{frac:02d}\u00a0балла"
    if whole % 10 == 1 and whole % 100 != 11:
        word = "балл"
    elif whole % 10 in (2, 3, 4) and whole % 100 not in (12, 13, 14):
        word = "балла"
    else:
        word = "баллов"
    return f"{sign}{_grouped(whole)}\u00a0{word}"


# --- home: balance, this month, level --------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _visible(account: Account) -> QuerySet[Purchase]:
    return Purchase.objects.filter(account=account, status__in=VISIBLE_STATUSES)


def _spend(purchases: QuerySet[Purchase]) -> int:
    """Kopecks spent on `purchases`, less what was returned of them."""
    spent = purchases.aggregate(total=Sum("total_kopecks"))["total"] or 0
    returned = (
        PurchaseReturn.objects.filter(purchase__in=purchases).aggregate(
            total=Sum("amount_kopecks")
        )["total"]
        or 0
    )
    return spent - returned


@dataclass(frozen=True)
class LevelProgress:
    """L-CAB-4 / L-EARN-8: the level follows last calendar month's spending, so what the
    member spends this month decides next month's level."""

    current: Level | None
    next: Level | None
    spent_this_month: int
    #: Kopecks still to spend this month to reach `next` (0 when reached).
    needed: int
    #: The level next month at this month's spending so far.
    next_month: Level | None
    #: 0…100, for a progress bar towards `next`.
    percent: int


def level_progress(account: Account, today: date) -> LevelProgress:
    levels = list(Level.objects.order_by("threshold_kopecks"))
    current = next((lv for lv in levels if lv.pk == account.level_id), None)
    start = _month_start(today)
    spent = _spend(_visible(account).filter(local_date__gte=start, local_date__lte=today))
    floor = current.threshold_kopecks if current else 0
    higher = [lv for lv in levels if lv.threshold_kopecks > floor]
    target = next((lv for lv in higher if lv.threshold_kopecks > spent), None)
    # The next level above the current one, unless this month already passed it.
    upcoming = higher[0] if higher else None
    if upcoming is not None and spent >= upcoming.threshold_kopecks:
        upcoming = target
    needed = max(0, upcoming.threshold_kopecks - spent) if upcoming else 0
    percent = (
        min(100, spent * 100 // upcoming.threshold_kopecks)
        if upcoming and upcoming.threshold_kopecks
        else 100
    )
    return LevelProgress(
        current=current,
        next=upcoming,
        spent_this_month=spent,
        needed=needed,
        next_month=level_for_spend(spent, levels),
        percent=percent,
    )


@dataclass(frozen=True)
class Summary:
    """The cabinet's home page (L-CAB-1, L-CAB-2, L-CAB-4)."""

    account: Account
    balance: int
    held: int
    available: int
    month_spend: int
    month_receipts: int
    #: Receipt lines this month that earned points (the seed's «число наименований в чеках,
    #: влияющих на размер бонусов»).
    month_counted_lines: int
    level: LevelProgress
    card: Card | None


def cabinet_summary(account: Account, today: date) -> Summary:
    account = Account.objects.select_related("level").get(pk=account.pk)
    start = _month_start(today)
    month = _visible(account).filter(local_date__gte=start, local_date__lte=today)
    lines = 0
    receipts = 0
    for purchase_lines in month.values_list("lines", flat=True):
        receipts += 1
        lines += sum(1 for line in purchase_lines if int(line.get("earned") or 0) > 0)
    return Summary(
        account=account,
        balance=account.balance,
        held=account.held,
        available=account.available,
        month_spend=_spend(month),
        month_receipts=receipts,
        month_counted_lines=lines,
        level=level_progress(account, today),
        card=Card.objects.filter(account=account, state=CardState.ACTIVE).first(),
    )


# --- receipts (L-CAB-3) ------------------------------------------------------------------------


def receipts_of(
    account: Account, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[Purchase]:
    """The member's receipts, newest first, by the store's local date (both ends included)."""
    found = _visible(account).select_related("store").order_by("-purchased_at", "-id")
    if date_from is not None:
        found = found.filter(local_date__gte=date_from)
    if date_to is not None:
        found = found.filter(local_date__lte=date_to)
    return found


def local_time(purchase: Purchase) -> datetime:
    """When the receipt was printed, on the store's clock."""
    return timezone.localtime(purchase.purchased_at, ZoneInfo(purchase.store.timezone))


RULE_TITLES: dict[str, str] = {
    rules.RuleCode.BASE: "Базовые баллы",
    rules.RuleCode.FIRST_MONTH: "Первый месяц после активации",
    rules.RuleCode.PREMIUM: "Премиальные товары",
    rules.RuleCode.BIRTHDAY: "День рождения",
    rules.RuleCode.OFFER: "Персональное предложение",
}


@dataclass(frozen=True)
class AccrualPart:
    rule: str
    title: str
    points: int
    explanation: str


@dataclass(frozen=True)
class ReceiptLine:
    sku: str
    name: str
    quantity: str
    price: int
    amount: int
    earned: int
    redeemed: int
    returned: int


@dataclass(frozen=True)
class ReceiptDetail:
    purchase: Purchase
    local_time: datetime
    lines: list[ReceiptLine]
    parts: list[AccrualPart]
    notes: list[str]
    returns: list[PurchaseReturn] = field(default_factory=list)
    returned_kopecks: int = 0
    taken_back: int = 0
    given_back: int = 0


def _explain(purchase: Purchase, account: Account) -> tuple[list[AccrualPart], list[str]]:
    texts = {m.get("code"): m.get("text", "") for m in purchase.messages if m.get("code")}
    offer_texts = {
        m.get("ref"): m.get("text", "") for m in purchase.messages if m.get("code") == "offer"
    }
    offer_ids = [p.get("ref") for p in purchase.breakdown if p.get("rule") == "offer"]
    titles = dict(
        PersonalOffer.objects.filter(
            account=account, pk__in=[int(i) for i in offer_ids if str(i or "").isdigit()]
        ).values_list("pk", "title")
    )
    parts = []
    for part in purchase.breakdown:
        rule = str(part.get("rule", ""))
        ref = part.get("ref")
        if rule == rules.RuleCode.BASE:
            explanation = "Процент от оплаченной деньгами суммы по ставке вашего уровня"
        elif rule == rules.RuleCode.OFFER:
            title = titles.get(int(ref)) if str(ref or "").isdigit() else None
            explanation = offer_texts.get(ref) or (f"«{title}»" if title else "")
        else:
            explanation = texts.get(rule, "")
        parts.append(
            AccrualPart(
                rule=rule,
                title=RULE_TITLES.get(rule, rule),
                points=int(part.get("points") or 0),
                explanation=explanation,
            )
        )
    used = {"first_month", "premium", "birthday", "offer"}
    notes = [m.get("text", "") for m in purchase.messages if m.get("code") not in used]
    return parts, notes


def receipt_detail(account: Account, receipt_id: int) -> ReceiptDetail:
    """One receipt of the member's, with lines, the accrual explained and its returns."""
    purchase = (
        _visible(account).select_related("store", "store__region").filter(pk=receipt_id).first()
    )
    if purchase is None:
        raise NotFound("Чек не найден", code="receipt_not_found")
    lines = [
        ReceiptLine(
            sku=str(line.get("sku", "")),
            name=str(line.get("name", "")),
            quantity=str(line.get("quantity", "")),
            price=int(line.get("price") or 0),
            amount=int(line.get("amount") or 0),
            earned=int(line.get("earned") or 0),
            redeemed=int(line.get("redeemed") or 0),
            returned=int(line.get("returned") or 0),
        )
        for line in purchase.lines
    ]
    parts, notes = _explain(purchase, account)
    returns = list(PurchaseReturn.objects.filter(purchase=purchase, account=account))
    return ReceiptDetail(
        purchase=purchase,
        local_time=local_time(purchase),
        lines=lines,
        parts=parts,
        notes=notes,
        returns=returns,
        returned_kopecks=sum(r.amount_kopecks for r in returns),
        taken_back=sum(r.taken_back for r in returns),
        given_back=sum(r.given_back for r in returns),
    )


# --- chart (L-CAB-11) -------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthPoint:
    month: date
    spend: int
    earned: int
    redeemed: int


def monthly_chart(account: Account, today: date) -> list[MonthPoint]:
    """Spend (less returns) and points earned and spent per calendar month, the last 12
    months oldest first, the current month last. Points earned are net of returns."""
    first = _add_months(_month_start(today), -(CHART_MONTHS - 1))
    months = [_add_months(first, i) for i in range(CHART_MONTHS)]
    totals = {m: [0, 0, 0] for m in months}
    rows = _visible(account).filter(local_date__gte=first, local_date__lte=today)
    for local_date, total, earned, redeemed in rows.values_list(
        "local_date", "total_kopecks", "earned", "redeemed"
    ):
        bucket = totals[_month_start(local_date)]
        bucket[0] += total
        bucket[1] += earned
        bucket[2] += redeemed
    returns = PurchaseReturn.objects.filter(account=account, purchase__in=rows).values_list(
        "purchase__local_date", "amount_kopecks", "taken_back", "given_back"
    )
    for local_date, amount, taken_back, given_back in returns:
        bucket = totals[_month_start(local_date)]
        bucket[0] -= amount
        bucket[1] -= taken_back
        bucket[2] -= given_back
    return [MonthPoint(m, *totals[m]) for m in months]


# --- offers (L-CAB-7) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Offers:
    promo: list[PromoGood]
    premium: list[PremiumGood]
    personal: list[PersonalOffer]


def _valid(today: date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=today)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )


def offers_for(account: Account, today: date) -> Offers:
    """Promo and premium goods of the member's region (and of all regions), and the member's
    own personal offers running today or later."""
    region_id = (
        City.objects.filter(pk=account.city_id).values_list("region_id", flat=True).first()
        if account.city_id
        else None
    )
    where = Q(region__isnull=True) | Q(region_id=region_id) if region_id else Q(region__isnull=True)
    return Offers(
        promo=list(PromoGood.objects.filter(where).filter(_valid(today)).order_by("name")),
        premium=list(PremiumGood.objects.filter(where).filter(_valid(today)).order_by("name")),
        personal=list(
            PersonalOffer.objects.filter(account=account, valid_to__gte=today).order_by(
                "valid_from", "pk"
            )
        ),
    )


# --- stores (L-CAB-9) -------------------------------------------------------------------------

EARTH_RADIUS_KM = 6371.0


def distance_km(
    lat1: Decimal | float, lon1: Decimal | float, lat2: Decimal, lon2: Decimal
) -> float:
    """Great-circle distance (haversine); an estimate for sorting and showing, so floats."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp = p2 - p1
    dl = math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


@dataclass(frozen=True)
class NearStore:
    store: Store
    distance_km: float

    @property
    def takes_part(self) -> bool:
        return self.store.takes_part


def stores_in_city(city: City | None) -> list[Store]:
    """The stores of a city with their participation (read `store.takes_part`)."""
    if city is None:
        return []
    return list(
        Store.objects.filter(city=city).select_related("region", "city").order_by("name", "code")
    )


def stores_near(lat: Decimal | float, lon: Decimal | float, limit: int = 10) -> list[NearStore]:
    """The `limit` stores nearest to a point, nearest first, with the distance in km.

    Looks in a box around the point first (about ±110 km), then everywhere if that holds
    fewer than `limit` stores.
    """
    lat_d, lon_d = Decimal(str(lat)), Decimal(str(lon))
    located = Store.objects.filter(lat__isnull=False, lon__isnull=False).select_related(
        "region", "city"
    )
    boxed = located.filter(
        lat__gte=lat_d - 1, lat__lte=lat_d + 1, lon__gte=lon_d - 2, lon__lte=lon_d + 2
    )
    candidates = list(boxed)
    if len(candidates) < limit:
        candidates = list(located)
    ranked = sorted(
        (
            NearStore(s, distance_km(lat_d, lon_d, s.lat, s.lon))
            for s in candidates
            if s.lat is not None and s.lon is not None
        ),
        key=lambda near: (near.distance_km, near.store.code),
    )
    return ranked[:limit]


# --- personal data (L-CAB-10) -----------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def export_member_data(account: Account) -> dict[str, Any]:
    """Everything held about the member, as JSON-ready data (L-CAB-10).

    Money in roubles and points as decimal strings ("123.45"), times in UTC ISO 8601.
    """
    from kabinet.core.money import format_amount
    from kabinet.notifications.models import Message

    account = Account.objects.select_related("user", "city", "level").get(pk=account.pk)
    user = account.user
    profile = MemberProfile.objects.filter(account=account).first()
    recipients = [r for r in (user.phone, user.email) if r]
    messages = Message.objects.filter(to__in=recipients).order_by("created_at", "id")
    return {
        "format": "kabinet-member-export/1",
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "account_id": account.pk,
            "first_name": account.first_name,
            "birth_date": _iso(account.birth_date),
            "phone": user.phone,
            "email": user.email,
            "city": account.city.name_ru if account.city else None,
            "activated_at": _iso(account.activated_at),
            "level": account.level.name if account.level else None,
            "balance": format_amount(account.balance),
            "held": format_amount(account.held),
        },
        "notification_channels": {
            "email": bool(profile and profile.marketing_email),
            "sms": bool(profile and profile.marketing_sms),
            "voice": bool(profile and profile.marketing_voice),
            "push": bool(profile and profile.marketing_push),
            "always_confirm_login": bool(profile and profile.always_confirm_login),
            "registered_through": profile.channel if profile else None,
        },
        "cards": [
            {
                "number": card.number,
                "state": card.state,
                "virtual": card.virtual,
                "activated_at": _iso(card.activated_at),
                "blocked_at": _iso(card.blocked_at),
                "block_reason": card.block_reason,
                "replaced_by": card.replaced_by.number if card.replaced_by else None,
            }
            for card in Card.objects.filter(account=account)
            .select_related("replaced_by")
            .order_by("activated_at", "pk")
        ],
        "consents": [
            {
                "kind": c.kind,
                "version": c.version,
                "accepted_at": _iso(c.accepted_at),
                "channel": c.channel,
                "ip": c.ip,
            }
            for c in Consent.objects.filter(account=account).order_by("accepted_at", "pk")
        ],
        "receipts": [
            {
                "id": p.pk,
                "store": p.store.name,
                "store_code": p.store.code,
                "receipt_number": p.receipt_number,
                "purchased_at": _iso(p.purchased_at),
                "local_date": _iso(p.local_date),
                "total": format_amount(p.total_kopecks),
                "earned": format_amount(p.earned),
                "redeemed": format_amount(p.redeemed),
                "status": p.status,
                "lines": p.lines,
                "breakdown": p.breakdown,
            }
            for p in Purchase.objects.filter(account=account)
            .select_related("store")
            .order_by("purchased_at", "pk")
        ],
        "ledger": [
            {
                "at": _iso(e.created_at),
                "kind": e.kind,
                "amount": format_amount(e.amount),
                "reason": e.reason,
                "receipt_id": e.purchase_id,
            }
            for e in LedgerEntry.objects.filter(account=account).order_by("created_at", "pk")
        ],
        "personal_offers": [
            {
                "title": o.title,
                "valid_from": _iso(o.valid_from),
                "valid_to": _iso(o.valid_to),
            }
            for o in PersonalOffer.objects.filter(account=account).order_by("valid_from", "pk")
        ],
        "messages": [
            {
                "at": _iso(m.created_at),
                "channel": m.channel,
                "to": m.to,
                "subject": m.subject,
                "body": m.body,
                "status": m.status,
            }
            for m in messages
        ],
    }


# --- cards (L-CAB-8) --------------------------------------------------------------------------


def cards_of(account: Account) -> list[Card]:
    """All the member's cards, the active one first, then newest."""
    cards = list(Card.objects.filter(account=account).select_related("replaced_by"))
    return sorted(
        cards,
        key=lambda c: (c.state != CardState.ACTIVE, -(c.activated_at or c.created_at).timestamp()),
    )


def card_of(account: Account, card_id: int) -> Card:
    """One of the member's cards; another member's card is not found."""
    card = Card.objects.filter(account=account, pk=card_id).first()
    if card is None:
        raise NotFound("Карта не найдена", code="card_not_found")
    return card


@dataclass(frozen=True)
class CardCode:
    """What the till scans from the member's screen now (L-CARD-4)."""

    card: Card
    #: The QR code's text: ``KB1:<card>:<code>``.
    qr_payload: str
    #: The on-screen barcode's 22 digits: card number then code.
    barcode_digits: str
    #: Seconds until the code changes.
    refresh_in: int


def card_code(account: Account, at: datetime | None = None) -> CardCode | None:
    """The rotating code of the member's active card, or None without an active card."""
    from kabinet.loyalty import cardnumbers

    card = Card.objects.filter(account=account, state=CardState.ACTIVE).first()
    if card is None:
        return None
    at = at or timezone.now()
    step = cardnumbers.TOTP_STEP_SECONDS
    secret = bytes(card.totp_secret)
    return CardCode(
        card=card,
        qr_payload=cardnumbers.build_qr_payload(card.number, secret, at=at),
        barcode_digits=cardnumbers.build_barcode_payload(card.number, secret, at=at),
        refresh_in=step - int(at.timestamp()) % step,
    )
