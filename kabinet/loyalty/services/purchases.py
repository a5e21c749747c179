"""Purchases at the till: validate, calculate, commit (L-EARN, L-SPEND, L-POS).

A commit on a warm server is the card read (`till_card`, plain SQL), the idempotency
look-up, and the writes: one conditional UPDATE of the account's balance (which is also the
lock and the no-overspend check, L-SPEND-2), the purchase row, its ledger entries and the
stored response. On PostgreSQL those four writes are ONE statement (`_commit_at_once`, its
own transaction: three statements and no BEGIN/COMMIT per purchase); elsewhere, and for
holds, they are a short transaction (`_commit`). Every path changes the balance before it
writes the purchase, so commits never wait on each other in a cycle. The accrual's other
inputs cost no statement as a rule: the program settings and the premium goods come from
short-lived process caches (`caches`), and the member's personal offers are read only if
the card, read with the last day of the member's latest offer, shows one may be running. A
batch of offline receipts is committed set-wise (`commit_offline_receipts`): about seven
statements per hundred receipts. Statements are written in plain SQL (`rawsql`) where the
ORM's cost to build them dwarfed the database's to run them (issue 3).

Two-phase mode (L-POS-4): a held purchase reserves its redemption in `Account.held` and
writes no ledger entry; confirmation turns the reservation into `redeem` and `earn`
entries, cancellation or expiry releases it (`holds`). So the ledger only records
movements, and `balance == SUM(ledger)` and `held == SUM(redeemed of held purchases)`
always hold. Returns are in `returns`.
"""

from __future__ import annotations

import contextlib
import functools
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from kabinet.core import idempotency
from kabinet.core.errors import Conflict, DomainError, RuleViolation, ValidationFailed
from kabinet.core.models import IdempotencyRecord
from kabinet.core.money import format_amount, parse_amount
from kabinet.loyalty import caches, rules
from kabinet.loyalty.models import (
    Account,
    Card,
    CardState,
    LedgerEntry,
    LedgerKind,
    Level,
    PersonalOffer,
    PremiumGood,
    ProgramSettings,
    Purchase,
    PurchaseStatus,
    Store,
    Terminal,
)
from kabinet.loyalty.services import ledger, rawsql
from kabinet.loyalty.services.cards import _OFFERS_UNTIL, UNKNOWN, latest_offer_end

MAX_LINES = 1000
MAX_QUANTITY = Decimal(100_000)
#: One line or one receipt: ten million roubles is absurd for a grocery till.
MAX_AMOUNT_KOPECKS = 1_000_000_000
#: A till's clock may run a little ahead; offline tills post receipts days later (L-POS-2).
MAX_CLOCK_AHEAD = timedelta(minutes=10)
MAX_RECEIPT_AGE = timedelta(days=30)
MAX_KEY_LENGTH = idempotency.MAX_KEY_LENGTH


# ------------------------------------------------------------------------------ cards


@functools.cache
def _till_card_sql(vendor: str, many: int) -> str:
    """The card ⋈ account ⋈ level with the latest offer's last day; of one number, or (many
    > 0) of a list of them: an array on PostgreSQL, `many` placeholders elsewhere."""
    q = rawsql.quote
    card, account, level = (m._meta.db_table for m in (Card, Account, Level))
    offer = PersonalOffer._meta.db_table
    if not many:
        where = "= %s"
    elif vendor == "postgresql":
        where = "= ANY(%s)"
    else:
        where = f"IN ({', '.join(['%s'] * many)})"
    return (
        f"SELECT {rawsql.columns(Card, 'c')}, {rawsql.columns(Account, 'a')}, "  # noqa: S608
        f"{rawsql.columns(Level, 'l')}, (SELECT o.{q('valid_to')} FROM {q(offer)} o "
        f"WHERE o.{q('account_id')} = c.{q('account_id')} ORDER BY o.{q('valid_to')} DESC "
        f"LIMIT 1) FROM {q(card)} c LEFT JOIN {q(account)} a ON a.{q('id')} = c.{q('account_id')} "
        f"LEFT JOIN {q(level)} l ON l.{q('id')} = a.{q('level_id')} WHERE c.{q('number')} {where}"
    )


def _till_card(row: Sequence[Any]) -> Card:
    cards_end = rawsql.width(Card)
    accounts_end = cards_end + rawsql.width(Account)
    card = cast(Card, rawsql.instance(Card, row[:cards_end]))
    account = None
    if row[cards_end] is not None:
        account = cast(Account, rawsql.instance(Account, row[cards_end:accounts_end]))
        level = None
        if row[accounts_end] is not None:
            level = rawsql.instance(Level, row[accounts_end:-1])
        Account.level.field.set_cached_value(account, level)
    Card.account.field.set_cached_value(card, account)
    setattr(card, _OFFERS_UNTIL, rawsql.convert_value(PersonalOffer, "valid_to", row[-1]))
    return card


def till_card(number: str) -> Card | None:
    """The card with this (normalised) number as `cards.till_cards` reads it — with its
    account, the account's level and the last day of the member's latest personal offer —
    in one plain statement: the ORM spent ~2.5 ms of CPU building it, per purchase."""
    with connection.cursor() as cursor:
        cursor.execute(_till_card_sql(connection.vendor, 0), [number])
        row = cursor.fetchone()
    return None if row is None else _till_card(row)


def till_cards_by_number(numbers: Collection[str]) -> dict[str, Card]:
    """`till_card` for many numbers at once (a batch): number → card, of those that exist."""
    numbers = sorted(set(numbers))
    if not numbers:
        return {}
    if connection.vendor == "postgresql":
        sql, params = _till_card_sql(connection.vendor, 1), [numbers]
    else:
        sql, params = _till_card_sql(connection.vendor, len(numbers)), numbers
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    cards = (_till_card(row) for row in rows)
    return {card.number: card for card in cards}


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
            # Keys in the contract's order, also for an answer replayed from storage (jsonb
            # keeps its own order): the API renders these without re-validating them.
            "breakdown": [
                {
                    "rule": part["rule"],
                    "points": format_amount(part["points"]),
                    "ref": part.get("ref"),
                }
                for part in self.breakdown
            ],
            "messages": [
                {"code": message["code"], "text": message["text"], "ref": message.get("ref")}
                for message in self.messages
            ],
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


def premium_skus(*, region_id: int, on: date) -> frozenset[str]:
    """The SKUs that are premium goods in this region on this (store-local) date (L-EARN-3).

    Read once per region and date and kept in the process (`caches.premium_goods`): a
    back-office change is seen within a second with a shared cache, 30 s at most.
    """
    return caches.premium_goods.get(
        (region_id, on),
        lambda: frozenset(
            PremiumGood.objects.filter(
                Q(valid_from__isnull=True) | Q(valid_from__lte=on),
                Q(valid_to__isnull=True) | Q(valid_to__gte=on),
                Q(region__isnull=True) | Q(region_id=region_id),
            ).values_list("sku", flat=True)
        ),
    )


def running_offers(
    *, account_ids: Collection[int], first: date, last: date | None = None
) -> dict[int, list[rules.PersonalOffer]]:
    """The members' personal offers valid on some day from `first` to `last` (default: that
    one day), by account, in id order; one plain statement (the ORM's cost ~10× more)."""
    q = rawsql.quote
    ids = sorted(set(account_ids))
    found: dict[int, list[rules.PersonalOffer]] = {account_id: [] for account_id in ids}
    if not ids:
        return found
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {rawsql.columns(PersonalOffer, 'o')} FROM {q(PersonalOffer._meta.db_table)} o "  # noqa: S608
        f"WHERE o.{q('account_id')} IN ({marks}) AND o.{q('valid_from')} <= %s "
        f"AND o.{q('valid_to')} >= %s ORDER BY o.{q('id')}"
    )
    ops = connection.ops
    params = [*ids, ops.adapt_datefield_value(last or first), ops.adapt_datefield_value(first)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        offer = cast(PersonalOffer, rawsql.instance(PersonalOffer, row))
        found[offer.account_id].append(offer.to_rules())
    return found


def _accrue(
    *,
    store: Store,
    account: Account,
    receipt: ReceiptInput,
    redeem: int,
    program: ProgramSettings,
    offers_until: date | object | None = UNKNOWN,
    preloaded_offers: dict[int, list[rules.PersonalOffer]] | None = None,
) -> rules.Accrual:
    """The rules' answer for this receipt, with the inputs read from the database.

    `offers_until` is the last day of the member's latest personal offer, if the card was
    read with it (`cards.till_cards`): a member with no offer running on the receipt's
    date costs no query for them.
    """
    local_date = rules.store_local_date(receipt.purchased_at, store.timezone)
    takes_part = store.takes_part
    premium: list[rules.PremiumGood] = []
    offers: list[rules.PersonalOffer] = []
    if takes_part:  # L-EARN-7: nothing to look up where nothing is earned
        in_receipt = {line.sku for line in receipt.lines}
        premium = [
            rules.PremiumGood(sku=sku)
            for sku in sorted(premium_skus(region_id=store.region_id, on=local_date) & in_receipt)
        ]
        if offers_until is UNKNOWN or (
            offers_until is not None and cast(date, offers_until) >= local_date
        ):
            if preloaded_offers is not None:
                # Read for a whole batch (`running_offers`); the rules skip those not valid
                # on this receipt's date, as the query below would.
                offers = preloaded_offers.get(account.pk, [])
            else:
                offers = running_offers(account_ids=[account.pk], first=local_date)[account.pk]
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
    accrual = _accrue(
        store=store,
        account=account,
        receipt=receipt,
        redeem=redeem,
        program=program,
        offers_until=latest_offer_end(card),
    )
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
    remember = {"scope": scope, "key": idempotency_key, "request_hash": digest}
    try:
        if not hold and connection.vendor == "postgresql":
            result = _commit_at_once(
                terminal=terminal,
                card=card,
                receipt=receipt,
                redeem=redeem,
                now=now,
                remember=remember,
            )
            if result is not None:
                return result
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
                remember=remember,
            )
    except IntegrityError:
        # A concurrent request with this key (or this receipt number) committed first.
        pass
    except RuleViolation as exc:
        # Every commit changes the balance before it writes the purchase, so a concurrent
        # retry of this very commit that spent the points first refuses us here rather than
        # on the receipt's index: its answer is ours.
        if exc.code != "insufficient_points":
            raise
        stored = idempotency.replay(scope=scope, key=idempotency_key, request_hash=digest)
        if stored is None:
            raise
        return PurchaseResult.from_body(stored.body, replayed=True)
    stored = idempotency.replay(scope=scope, key=idempotency_key, request_hash=digest)
    if stored is not None:
        return PurchaseResult.from_body(stored.body, replayed=True)
    raise Conflict(
        "Чек с этим номером уже проведён на этой кассе с другим ключом", code="duplicate_receipt"
    )


def _prepare(
    *,
    terminal: Terminal,
    card: Card,
    receipt: ReceiptInput,
    redeem: int,
    hold: bool,
    now: datetime,
) -> tuple[Account, Purchase]:
    """The member's account and the purchase row (unsaved) with its accrual."""
    account = _member_account(card)
    program = ProgramSettings.current()
    accrual = _accrue(
        store=terminal.store,
        account=account,
        receipt=receipt,
        redeem=redeem,
        program=program,
        offers_until=latest_offer_end(card),
    )
    purchase = _purchase_row(
        terminal=terminal,
        card=card,
        account=account,
        receipt=receipt,
        accrual=accrual,
        breakdown=_parts_json(accrual.breakdown),
        messages=_messages_json(accrual.messages),
        hold_until=now + timedelta(minutes=program.hold_expiry_minutes) if hold else None,
        now=now,
    )
    return account, purchase


def _result(purchase: Purchase, balance: int) -> PurchaseResult:
    return PurchaseResult(
        id=purchase.pk,
        status=purchase.status,
        earned=purchase.earned,
        redeemed=purchase.redeemed,
        balance=balance,
        breakdown=purchase.breakdown,
        messages=purchase.messages,
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
    account, purchase = _prepare(
        terminal=terminal, card=card, receipt=receipt, redeem=redeem, hold=hold, now=now
    )
    earned, redeemed = purchase.earned, purchase.redeemed
    # The balance changes (and its row is locked) before the purchase goes in, as in
    # `_commit_at_once`: every commit takes the account's lock before the receipt's index
    # entry, so two commits never wait on each other in a cycle.
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
    rawsql.insert([purchase])
    if not hold and (earned or redeemed):
        ledger.entries(
            account_id=account.pk,
            moves=[(LedgerKind.REDEEM, -redeemed), (LedgerKind.EARN, earned)],
            reason=f"Чек {receipt.number}",
            purchase_id=purchase.pk,
            at=now,
        )
    result = _result(purchase, balance)
    idempotency.remember(**remember, status=201, body=result.to_body())
    return result


def _commit_at_once(
    *,
    terminal: Terminal,
    card: Card,
    receipt: ReceiptInput,
    redeem: int,
    now: datetime,
    remember: dict[str, str],
) -> PurchaseResult | None:
    """PostgreSQL: a commit that moves points as ONE statement (`_AT_ONCE_SQL`) — its own
    transaction, so no BEGIN and COMMIT round trips either; None if the receipt moves no
    points (`_commit` records it).

    The statement changes the balance first (the conditional UPDATE is the lock and the
    no-overspend check, as in `ledger.move`) and writes the purchase, its ledger entries
    and the stored answer only from the row that UPDATE returned: if the points do not
    suffice, it writes nothing. A receipt number or key taken meanwhile fails the whole
    statement on its unique index (IntegrityError: the caller replays); a retry of this
    very commit that spent the points first makes it `insufficient_points`, which the
    caller also answers with the replay. Each step is the same write as on the general
    path, in the same order, so the rows, the ledger and the stored answer are the same.
    """
    stored = idempotency.replay(**remember)
    if stored is not None:
        return PurchaseResult.from_body(stored.body, replayed=True)
    validate_receipt(receipt, now=now)
    account, purchase = _prepare(
        terminal=terminal, card=card, receipt=receipt, redeem=redeem, hold=False, now=now
    )
    earned, redeemed = purchase.earned, purchase.redeemed
    if not (earned or redeemed):
        return None
    answer = _result(purchase, 0).to_body()
    ops = connection.ops
    params: list[Any] = [earned - redeemed, account.pk, redeemed or None, redeemed or None]
    params += rawsql.insert_params(purchase)
    params += [account.pk, f"Чек {receipt.number}", now]
    params += [LedgerKind.REDEEM.value, -redeemed, LedgerKind.EARN.value, earned]
    params += [remember["scope"], remember["key"], remember["request_hash"]]
    params += [ops.adapt_json_value(answer, None), now]
    # In autocommit the statement is its own transaction; inside a caller's, a savepoint
    # keeps a unique-index failure from breaking it.
    atomic = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with atomic, connection.cursor() as cursor:
        cursor.execute(_at_once_sql(), params)
        row = cursor.fetchone()
    if row is None:
        if redeemed:
            raise ledger.insufficient_points()
        raise Account.DoesNotExist(f"account {account.pk}")
    purchase.pk, balance = row
    return _result(purchase, int(balance))


@functools.cache
def _at_once_sql() -> str:
    """The statement of `_commit_at_once` (PostgreSQL): parameters are the balance delta,
    the account, the points required twice, the purchase's columns, the ledger entries'
    account, reason and time and two (kind, amount) pairs, then the stored answer's scope,
    key, hash, body (without id and balance, which the statement fills in) and time."""
    q = rawsql.quote
    columns = rawsql.insert_fields(Purchase)
    values = ", ".join(f"CAST(%s AS {field.cast_db_type(connection)})" for field in columns)
    amount = "abs(a.balance)"
    balance_text = (
        f"CASE WHEN a.balance < 0 THEN '-' ELSE '' END || ({amount} / 100)::text || '.' || "
        f"lpad(mod({amount}, 100)::text, 2, '0')"
    )
    record = IdempotencyRecord._meta.db_table
    return (
        f"WITH a AS (UPDATE {q(Account._meta.db_table)} SET {q('balance')} = {q('balance')} + %s "  # noqa: S608
        f"WHERE {q('id')} = %s AND (CAST(%s AS bigint) IS NULL OR "
        f"{q('balance')} - {q('held')} >= %s) RETURNING {q('balance')} AS balance), "
        f"p AS (INSERT INTO {q(Purchase._meta.db_table)} "
        f"({', '.join(q(field.column) for field in columns)}) SELECT {values} FROM a "
        f"RETURNING {q('id')} AS id), "
        f"l AS (INSERT INTO {q(LedgerEntry._meta.db_table)} ({q('account_id')}, {q('kind')}, "
        f"{q('amount')}, {q('reason')}, {q('purchase_id')}, {q('created_at')}) "
        "SELECT CAST(%s AS bigint), m.kind, m.amount, CAST(%s AS varchar), p.id, "
        "CAST(%s AS timestamptz) FROM p, (VALUES (CAST(%s AS varchar), CAST(%s AS bigint)), "
        "(CAST(%s AS varchar), CAST(%s AS bigint))) AS m(kind, amount) WHERE m.amount <> 0), "
        f"i AS (INSERT INTO {q(record)} ({q('scope')}, {q('key')}, {q('request_hash')}, "
        f"{q('response_status')}, {q('response_body')}, {q('created_at')}) "
        "SELECT CAST(%s AS varchar), CAST(%s AS varchar), CAST(%s AS varchar), 201, "
        "jsonb_set(jsonb_set(CAST(%s AS jsonb), '{id}', to_jsonb(p.id)), '{balance}', "
        f"to_jsonb({balance_text})), CAST(%s AS timestamptz) FROM p, a) "
        "SELECT p.id, a.balance FROM p, a"
    )


def _purchase_row(
    *,
    terminal: Terminal,
    card: Card,
    account: Account,
    receipt: ReceiptInput,
    accrual: rules.Accrual,
    breakdown: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    hold_until: datetime | None,
    now: datetime,
) -> Purchase:
    """The purchase of a receipt, unsaved."""
    return Purchase(
        account_id=account.pk,
        card_id=card.pk,
        store_id=terminal.store_id,
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
        earned=accrual.total_hundredths,
        redeemed=accrual.redeemed_hundredths,
        breakdown=breakdown,
        messages=messages,
        status=PurchaseStatus.COMMITTED if hold_until is None else PurchaseStatus.HELD,
        hold_expires_at=hold_until,
        created_at=now,
    )


# ---------------------------------------------------------------------- offline batch


@dataclass(frozen=True, slots=True)
class OfflineReceipt:
    """One item of a batch (L-POS-2): an offline receipt earns and never redeems."""

    card: Card
    receipt: ReceiptInput
    idempotency_key: str


def commit_offline_receipts(
    *, terminal: Terminal, items: Sequence[OfflineReceipt], now: datetime | None = None
) -> list[PurchaseResult | DomainError]:
    """Commit offline receipts as `commit_purchase` would one by one, with the same answers,
    but in one transaction and with set-wise statements: one idempotency look-up, one
    INSERT each of purchases, ledger entries and stored responses, and the members' balances
    locked in account order (so concurrent batches never deadlock) and credited by one UPDATE.

    If anything set-wise cannot hold (a key or a receipt number used twice in the chunk or
    taken concurrently, a lost connection), the chunk's set-wise work is rolled back and the
    items are committed one by one through `commit_purchase`, each in its own transaction.
    """
    now = now or timezone.now()
    keys = [item.idempotency_key for item in items]
    numbers = [item.receipt.number for item in items]
    if len(set(keys)) == len(keys) and len(set(numbers)) == len(numbers):
        try:
            with transaction.atomic():
                return _commit_set_wise(terminal=terminal, items=items, now=now)
        except (IntegrityError, DatabaseError):
            if transaction.get_connection().needs_rollback:
                raise
    return [_commit_one(terminal=terminal, item=item, now=now) for item in items]


def _commit_one(
    *, terminal: Terminal, item: OfflineReceipt, now: datetime
) -> PurchaseResult | DomainError:
    try:
        return commit_purchase(
            terminal=terminal,
            card=item.card,
            receipt=item.receipt,
            redeem=0,
            idempotency_key=item.idempotency_key,
            now=now,
        )
    except DomainError as exc:
        return exc


def _batch_offers(
    *, terminal: Terminal, items: Sequence[OfflineReceipt]
) -> dict[int, list[rules.PersonalOffer]]:
    """The personal offers of the batch's members that may run on its receipts' dates, in
    one statement (one query per member with an offer used to be a tenth of a batch)."""
    dates = [
        rules.store_local_date(item.receipt.purchased_at, terminal.store.timezone)
        for item in items
        # A time without its zone is refused item by item (`validate_receipt`).
        if item.receipt.purchased_at.utcoffset() is not None
    ]
    if not dates:
        return {}
    first = min(dates)
    accounts = set()
    for item in items:
        until = latest_offer_end(item.card)
        if item.card.account_id is not None and (
            until is UNKNOWN or (until is not None and cast(date, until) >= first)
        ):
            accounts.add(item.card.account_id)
    return running_offers(account_ids=accounts, first=first, last=max(dates))


def _commit_set_wise(
    *, terminal: Terminal, items: Sequence[OfflineReceipt], now: datetime
) -> list[PurchaseResult | DomainError]:
    scope = terminal_scope(terminal)
    results: list[PurchaseResult | DomainError | None] = [None] * len(items)
    digests: list[str] = []
    for item in items:
        digests.append(
            idempotency.request_hash(
                {
                    "op": "purchase",
                    "card": item.card.number,
                    "receipt": _canonical_receipt(item.receipt),
                    "redeem": 0,
                    "hold": False,
                }
            )
        )
    stored = idempotency.stored_many(scope=scope, keys=[item.idempotency_key for item in items])
    program = ProgramSettings.current()
    offers = _batch_offers(terminal=terminal, items=items)
    fresh: list[tuple[int, OfflineReceipt, Purchase, list[dict[str, Any]], list[dict[str, Any]]]]
    fresh = []
    for index, item in enumerate(items):
        try:
            check_key(item.idempotency_key)
            found = stored.get(item.idempotency_key)
            if found is not None:
                if found[0] != digests[index]:
                    raise idempotency.conflict()
                results[index] = PurchaseResult.from_body(found[1].body, replayed=True)
                continue
            validate_receipt(item.receipt, now=now)
            account = _member_account(item.card)
            accrual = _accrue(
                store=terminal.store,
                account=account,
                receipt=item.receipt,
                redeem=0,
                program=program,
                offers_until=latest_offer_end(item.card),
                preloaded_offers=offers,
            )
        except DomainError as exc:
            results[index] = exc
            continue
        breakdown = _parts_json(accrual.breakdown)
        messages = _messages_json(accrual.messages)
        row = _purchase_row(
            terminal=terminal,
            card=item.card,
            account=account,
            receipt=item.receipt,
            accrual=accrual,
            breakdown=breakdown,
            messages=messages,
            hold_until=None,
            now=now,
        )
        fresh.append((index, item, row, breakdown, messages))
    if fresh:
        earned_by_account: dict[int, int] = defaultdict(int)
        for _, _, row, _, _ in fresh:
            earned_by_account[row.account_id] += row.earned
        # Balances (locked) before purchases, as every commit does (`_commit`).
        balance_after = ledger.credit_many(earned_by_account)
        rawsql.insert([row for _, _, row, _, _ in fresh])
        # Each receipt answers the balance right after it, as one by one it would.
        running = {
            account_id: balance_after[account_id] - delta
            for account_id, delta in earned_by_account.items()
            if delta
        }
        entries = []
        responses = []
        for index, item, row, breakdown, messages in fresh:
            if row.account_id in running:
                running[row.account_id] += row.earned
                balance = running[row.account_id]
            else:
                balance = _member_account(item.card).balance
            if row.earned:
                entries.append(
                    LedgerEntry(
                        account_id=row.account_id,
                        kind=LedgerKind.EARN,
                        amount=row.earned,
                        reason=f"Чек {row.receipt_number}",
                        purchase_id=row.pk,
                        created_at=now,
                    )
                )
            result = PurchaseResult(
                id=row.pk,
                status=row.status,
                earned=row.earned,
                redeemed=0,
                balance=balance,
                breakdown=breakdown,
                messages=messages,
            )
            results[index] = result
            responses.append((item.idempotency_key, digests[index], 201, result.to_body()))
        rawsql.insert(entries)
        idempotency.remember_many(scope=scope, responses=responses)
    return [result for result in results if result is not None]
