"""Purchases at the till: validate, calculate, commit (L-EARN, L-SPEND, L-POS).

A commit is one short transaction of at most seven statements: the idempotency look-up, the
store's premium goods and the member's personal offers (the accrual's inputs), the purchase
row, one conditional UPDATE of the account's balance (which is also the lock and the
no-overspend check, L-SPEND-2), the ledger entries in one INSERT, and the stored response.
The program settings come from a short-lived cache.

Two-phase mode (L-POS-4): a held purchase reserves its redemption in `Account.held` and
writes no ledger entry; confirmation turns the reservation into `redeem` and `earn`
entries, cancellation or expiry releases it (`holds`). So the ledger only records
movements, and `balance == SUM(ledger)` and `held == SUM(redeemed of held purchases)`
always hold. Returns are in `returns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kabinet.core import idempotency
from kabinet.core.errors import Conflict, RuleViolation, ValidationFailed
from kabinet.core.money import format_amount, parse_amount
from kabinet.loyalty import rules
from kabinet.loyalty.models import (
    Account,
    Card,
    CardState,
    LedgerKind,
    PersonalOffer,
    PremiumGood,
    ProgramSettings,
    Purchase,
    PurchaseStatus,
    Store,
    Terminal,
)
from kabinet.loyalty.services import ledger

MAX_LINES = 1000
MAX_QUANTITY = Decimal(100_000)
#: One line or one receipt: ten million roubles is absurd for a grocery till.
MAX_AMOUNT_KOPECKS = 1_000_000_000
#: A till's clock may run a little ahead; offline tills post receipts days later (L-POS-2).
MAX_CLOCK_AHEAD = timedelta(minutes=10)
MAX_RECEIPT_AGE = timedelta(days=30)
MAX_KEY_LENGTH = idempotency.MAX_KEY_LENGTH


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class LineInput:
    sku: str
    name: str
    quantity: Decimal
    price_kopecks: int
    #: After store discounts (L-EARN-6).
    amount_kopecks: int
    category: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptInput:
    number: str
    purchased_at: datetime
    lines: tuple[LineInput, ...]
    total_kopecks: int


def _invalid(message: str, field_name: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, field=field_name)


def validate_receipt(receipt: ReceiptInput, *, now: datetime) -> None:
    """Refuse a receipt that cannot be real, before anything is read or written."""
    if not receipt.number or len(receipt.number) > 64:
        raise _invalid("Номер чека: от 1 до 64 символов", "receipt.number")
    if not 1 <= len(receipt.lines) <= MAX_LINES:
        raise _invalid(f"В чеке от 1 до {MAX_LINES} строк", "receipt.lines")
    when = receipt.purchased_at
    if when.tzinfo is None or when.utcoffset() is None:
        raise _invalid("Время чека указывается с часовым поясом", "receipt.datetime")
    if when > now + MAX_CLOCK_AHEAD:
        raise _invalid("Время чека в будущем", "receipt.datetime")
    if when < now - MAX_RECEIPT_AGE:
        raise _invalid("Чек слишком старый", "receipt.datetime")
    for index, line in enumerate(receipt.lines):
        where = f"receipt.lines[{index}]"
        if not line.sku or len(line.sku) > 64:
            raise _invalid("Артикул: от 1 до 64 символов", f"{where}.sku")
        if len(line.name) > 200:
            raise _invalid("Название: не длиннее 200 символов", f"{where}.name")
        if not line.quantity.is_finite() or not 0 < line.quantity <= MAX_QUANTITY:
            raise _invalid("Количество должно быть положительным и разумным", f"{where}.quantity")
        if not 0 <= line.price_kopecks <= MAX_AMOUNT_KOPECKS:
            raise _invalid("Цена вне допустимых пределов", f"{where}.price")
        if not 0 <= line.amount_kopecks <= MAX_AMOUNT_KOPECKS:
            raise _invalid("Сумма строки вне допустимых пределов", f"{where}.amount")
    if sum(line.amount_kopecks for line in receipt.lines) != receipt.total_kopecks:
        raise _invalid("Сумма строк не равна итогу чека", "receipt.total")


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            f"Нужен заголовок Idempotency-Key: от 1 до {MAX_KEY_LENGTH} символов",
            field="Idempotency-Key",
        )


def _canonical_receipt(receipt: ReceiptInput) -> dict[str, Any]:
    return {
        "number": receipt.number,
        "datetime": receipt.purchased_at.astimezone(UTC).isoformat(),
        "total": receipt.total_kopecks,
        "lines": [
            [
                line.sku,
                line.name,
                str(line.quantity),
                line.price_kopecks,
                line.amount_kopecks,
                line.category,
            ]
            for line in receipt.lines
        ],
    }


def terminal_scope(terminal: Terminal) -> str:
    return f"pos:{terminal.pk}"


# ---------------------------------------------------------------------------- results


def _parts_json(breakdown: Sequence[rules.RulePart]) -> list[dict[str, Any]]:
    return [{"rule": str(p.rule), "points": p.points_hundredths, "ref": p.ref} for p in breakdown]


def _messages_json(messages: Sequence[rules.Message]) -> list[dict[str, Any]]:
    return [{"code": str(m.code), "text": m.text, "ref": m.ref} for m in messages]


@dataclass(frozen=True, slots=True)
class Quote:
    """A calculation's answer (L-POS-1 calculate); points in hundredths."""

    earn: int
    redeem: int
    balance: int
    redeemable: int
    balance_after: int
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    """A commit's answer; `to_body` is the POS contract's JSON, stored for replays."""

    id: int
    status: str
    earned: int
    redeemed: int
    balance: int
    breakdown: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    replayed: bool = False

    def to_body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "earned": format_amount(self.earned),
            "redeemed": format_amount(self.redeemed),
            "balance": format_amount(self.balance),
            "breakdown": [
                {**part, "points": format_amount(part["points"])} for part in self.breakdown
            ],
            "messages": self.messages,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any], *, replayed: bool) -> PurchaseResult:
        return cls(
            id=body["id"],
            status=body["status"],
            earned=parse_amount(body["earned"]),
            redeemed=parse_amount(body["redeemed"]),
            balance=parse_amount(body["balance"]),
            breakdown=[
                {**part, "points": parse_amount(part["points"])} for part in body["breakdown"]
            ],
            messages=body["messages"],
            replayed=replayed,
        )


# -------------------------------------------------------------------------- accrual


def _member_account(card: Card) -> Account:
    if card.state == CardState.BLOCKED:
        raise RuleViolation("Карта заблокирована", code="card_blocked")
    if card.state != CardState.ACTIVE or card.account is None:
        raise RuleViolation(
            "Карта не активирована: покупки по ней не начисляют баллы, сначала активируйте её",
            code="card_not_active",
        )
    return card.account


def _accrue(
    *,
    store: Store,
    account: Account,
    receipt: ReceiptInput,
    redeem: int,
    program: ProgramSettings,
) -> rules.Accrual:
    """The rules' answer for this receipt, with the inputs read from the database."""
    local_date = rules.store_local_date(receipt.purchased_at, store.timezone)
    takes_part = store.takes_part
    premium: list[rules.PremiumGood] = []
    offers: list[rules.PersonalOffer] = []
    if takes_part:  # L-EARN-7: nothing to look up where nothing is earned
        premium = [
            rules.PremiumGood(sku=sku)
            for sku in PremiumGood.objects.filter(
                Q(valid_from__isnull=True) | Q(valid_from__lte=local_date),
                Q(valid_to__isnull=True) | Q(valid_to__gte=local_date),
                Q(region__isnull=True) | Q(region_id=store.region_id),
                sku__in={line.sku for line in receipt.lines},
            ).values_list("sku", flat=True)
        ]
        offers = [
            offer.to_rules()
            for offer in PersonalOffer.objects.filter(
                account_id=account.pk, valid_from__lte=local_date, valid_to__gte=local_date
            ).order_by("pk")
        ]
    level = account.level if account.level_id is not None else None
    member = rules.MemberContext(
        activated_on=rules.store_local_date(account.activated_at, store.timezone),
        birth_date=account.birth_date,
        level_rate_bp=level.rate_bp if level is not None else None,
        offers=tuple(offers),
    )
    try:
        return rules.calculate_accrual(
            rules.Receipt(
                tuple(
                    rules.ReceiptLine(line.sku, line.amount_kopecks, line.category)
                    for line in receipt.lines
                ),
                receipt.purchased_at,
            ),
            store=rules.StoreContext(takes_part, store.timezone, store.region.code),
            member=member,
            program=program.to_rules(),
            premium=premium,
            redeem_hundredths=redeem,
        )
    except rules.RedemptionRefused as exc:
        raise RuleViolation(exc.text, code=str(exc.code)) from exc


def _check_redeem(redeem: int) -> None:
    if redeem < 0:
        raise ValidationFailed("Списание не может быть отрицательным", field="redeem")


def calculate_purchase(
    *,
    store: Store,
    card: Card,
    receipt: ReceiptInput,
    redeem: int = 0,
    now: datetime | None = None,
) -> Quote:
    """What a commit of this receipt would earn and redeem; reads only (L-POS-1)."""
    validate_receipt(receipt, now=now or timezone.now())
    _check_redeem(redeem)
    if card.state == CardState.ISSUED:
        if redeem:
            _member_account(card)
        # L-CARD-5: an issued card earns nothing, and the till says why.
        return Quote(
            earn=0,
            redeem=0,
            balance=0,
            redeemable=0,
            balance_after=0,
            messages=[
                {
                    "code": "card_not_active",
                    "text": "Карта не активирована: активируйте её, чтобы получать баллы",
                    "ref": None,
                }
            ],
        )
    account = _member_account(card)
    available = account.balance - account.held
    if redeem and redeem > available:
        raise ledger.insufficient_points()
    program = ProgramSettings.current()
    accrual = _accrue(store=store, account=account, receipt=receipt, redeem=redeem, program=program)
    redeemable = rules.max_redeemable(
        receipt.total_kopecks,
        available,
        program.to_rules(),
        store_participates=store.takes_part,
    )
    return Quote(
        earn=accrual.total_hundredths,
        redeem=redeem,
        balance=account.balance,
        redeemable=redeemable,
        balance_after=account.balance - redeem + accrual.total_hundredths,
        breakdown=_parts_json(accrual.breakdown),
        messages=_messages_json(accrual.messages),
    )


# --------------------------------------------------------------------------- commit


def commit_purchase(
    *,
    terminal: Terminal,
    card: Card,
    receipt: ReceiptInput,
    redeem: int,
    idempotency_key: str,
    hold: bool = False,
    now: datetime | None = None,
) -> PurchaseResult:
    """Record a receipt, redeem and earn points in one transaction; idempotent (L-POS-1).

    With `hold`, the redemption is only reserved and nothing is earned until
    `confirm_hold` (L-POS-4). A retry with the same key and body replays the first
    result; the same key with another body is `idempotency_conflict`; another key for a
    receipt number this terminal already recorded is `duplicate_receipt`.
    """
    now = now or timezone.now()
    check_key(idempotency_key)
    _check_redeem(redeem)
    scope = terminal_scope(terminal)
    digest = idempotency.request_hash(
        {
            "op": "purchase",
            "card": card.number,
            "receipt": _canonical_receipt(receipt),
            "redeem": redeem,
            "hold": hold,
        }
    )
    try:
        with transaction.atomic():
            stored = idempotency.replay(scope=scope, key=idempotency_key, request_hash=digest)
            if stored is not None:
                return PurchaseResult.from_body(stored.body, replayed=True)
            validate_receipt(receipt, now=now)
            return _commit(
                terminal=terminal,
                card=card,
                receipt=receipt,
                redeem=redeem,
                hold=hold,
                now=now,
                remember={"scope": scope, "key": idempotency_key, "request_hash": digest},
            )
    except IntegrityError:
        # A concurrent request with this key (or this receipt number) committed first.
        pass
    stored = idempotency.replay(scope=scope, key=idempotency_key, request_hash=digest)
    if stored is not None:
        return PurchaseResult.from_body(stored.body, replayed=True)
    raise Conflict(
        "Чек с этим номером уже проведён на этой кассе с другим ключом", code="duplicate_receipt"
    )


def _commit(
    *,
    terminal: Terminal,
    card: Card,
    receipt: ReceiptInput,
    redeem: int,
    hold: bool,
    now: datetime,
    remember: dict[str, str],
) -> PurchaseResult:
    store = terminal.store
    account = _member_account(card)
    program = ProgramSettings.current()
    accrual = _accrue(store=store, account=account, receipt=receipt, redeem=redeem, program=program)
    earned, redeemed = accrual.total_hundredths, accrual.redeemed_hundredths
    breakdown = _parts_json(accrual.breakdown)
    messages = _messages_json(accrual.messages)
    # The purchase goes in before the balance changes: a concurrent retry of the same
    # receipt then waits on the unique receipt index and fails there, not on the balance.
    purchase = Purchase.objects.create(
        account_id=account.pk,
        card_id=card.pk,
        store_id=store.pk,
        terminal_id=terminal.pk,
        receipt_number=receipt.number,
        purchased_at=receipt.purchased_at,
        local_date=accrual.local_date,
        total_kopecks=receipt.total_kopecks,
        lines=[
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": str(line.quantity),
                "price": line.price_kopecks,
                "amount": line.amount_kopecks,
                "category": line.category,
                "earned": share.earned_hundredths,
                "redeemed": share.redeemed_hundredths,
                "returned": 0,
            }
            for line, share in zip(receipt.lines, accrual.lines, strict=True)
        ],
        earned=earned,
        redeemed=redeemed,
        breakdown=breakdown,
        messages=messages,
        status=PurchaseStatus.HELD if hold else PurchaseStatus.COMMITTED,
        hold_expires_at=now + timedelta(minutes=program.hold_expiry_minutes) if hold else None,
        created_at=now,
    )
    balance = account.balance
    if hold:
        if redeemed:
            balance = ledger.move(
                account_id=account.pk, held_delta=redeemed, require_available=redeemed
            ).balance
    elif earned or redeemed:
        balance = ledger.move(
            account_id=account.pk,
            balance_delta=earned - redeemed,
            require_available=redeemed or None,
        ).balance
        ledger.entries(
            account_id=account.pk,
            moves=[(LedgerKind.REDEEM, -redeemed), (LedgerKind.EARN, earned)],
            reason=f"Чек {receipt.number}",
            purchase_id=purchase.pk,
            at=now,
        )
    result = PurchaseResult(
        id=purchase.pk,
        status=purchase.status,
        earned=earned,
        redeemed=redeemed,
        balance=balance,
        breakdown=breakdown,
        messages=messages,
    )
    idempotency.remember(**remember, status=201, body=result.to_body())
    return result
