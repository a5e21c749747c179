"""Cards (L-CARD): batches, activation, virtual cards, blocking, replacement, till lookup.

The points belong to the member's `Account`, not to a card: a replacement re-points the
account's one active card and moves no points (the balance "moves to the new card" because
the new card shows the same account; the history stays with the member, L-CARD-2).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from kabinet.core import audit
from kabinet.core.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import (
    Account,
    Card,
    CardBatch,
    CardState,
    Level,
    PersonalOffer,
    ProgramSettings,
    Terminal,
)

#: The program's issuer prefix: the first digits of every card number.
CARD_PREFIX = "2770"
MAX_BATCH = 100_000
_CHUNK = 1000


def _card_not_found() -> NotFound:
    return NotFound("Карта не найдена", code="card_not_found")


def _state_error(card: Card) -> Conflict | RuleViolation:
    """Why `card` (in its current state) cannot be used for what was asked."""
    if card.state == CardState.BLOCKED:
        return RuleViolation("Карта заблокирована", code="card_blocked")
    if card.state == CardState.ISSUED:
        return RuleViolation(
            "Карта не активирована: сначала активируйте её", code="card_not_active"
        )
    return Conflict("Карта уже активирована", code="card_already_active")


def _new_numbers(count: int) -> list[str]:
    """`count` new card numbers that no card has yet (random, so not guessable in sequence)."""
    random_digits = cardnumbers.CARD_NUMBER_LENGTH - 1 - len(CARD_PREFIX)
    fresh: set[str] = set()
    while len(fresh) < count:
        wanted = count - len(fresh)
        candidates = {
            cardnumbers.complete_card_number(
                CARD_PREFIX + f"{secrets.randbelow(10**random_digits):0{random_digits}d}"
            )
            for _ in range(wanted)
        } - fresh
        chunks = [sorted(candidates)[i : i + _CHUNK] for i in range(0, len(candidates), _CHUNK)]
        for chunk in chunks:
            taken = set(Card.objects.filter(number__in=chunk).values_list("number", flat=True))
            fresh.update(n for n in chunk if n not in taken)
    return sorted(fresh)[:count]


def issue_cards(*, count: int, batch_name: str | None = None) -> list[Card]:
    """Produce a batch of `count` plastic cards in state issued (L-CARD-3)."""
    if not 1 <= count <= MAX_BATCH:
        raise ValidationFailed(f"Количество карт: от 1 до {MAX_BATCH}", field="count")
    name = (batch_name or "").strip() or timezone.now().strftime("batch-%Y%m%d-%H%M%S-%f")
    for attempt in range(3):
        try:
            with transaction.atomic():
                if CardBatch.objects.filter(name=name).exists():
                    raise Conflict(f"Партия «{name}» уже есть", code="batch_exists")
                batch = CardBatch.objects.create(name=name, size=count)
                cards = [
                    Card(number=number, batch=batch, totp_secret=cardnumbers.new_card_secret())
                    for number in _new_numbers(count)
                ]
                return Card.objects.bulk_create(cards, batch_size=_CHUNK)
        except IntegrityError:
            # Another batch took one of our numbers between the check and the insert.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _first_level() -> Level | None:
    return Level.objects.order_by("threshold_kopecks").first()


@transaction.atomic
def activate_card(
    *,
    card: Card,
    user: Any,
    first_name: str,
    birth_date: date | None,
    city: Any = None,
    at: datetime | None = None,
) -> Account:
    """Bind an issued card to the user's account (created if needed) and make it active.

    The registration flows (web, app, call centre, SMS; L-ACT) build on this: they check
    the person, then call it. A member holds one active card at a time (L-ACT-5).
    """
    at = at or timezone.now()
    first_name = first_name.strip()
    if not first_name:
        raise ValidationFailed("Укажите имя", field="first_name")
    account = Account.objects.select_for_update().filter(user=user).first()
    if account is None:
        account = Account.objects.create(
            user=user,
            first_name=first_name,
            birth_date=birth_date,
            city=city,
            activated_at=at,
            level=_first_level(),
        )
    elif Card.objects.filter(account=account, state=CardState.ACTIVE).exists():
        raise Conflict("У участника уже есть активная карта", code="account_has_card")
    changed = Card.objects.filter(pk=card.pk, state=CardState.ISSUED).update(
        state=CardState.ACTIVE, account=account, activated_at=at
    )
    if not changed:
        card.refresh_from_db()
        raise _state_error(card)
    card.state, card.account, card.activated_at = CardState.ACTIVE, account, at
    audit.record(action="loyalty.card.activate", actor=user, obj=card)
    return account


def _new_card_number() -> str:
    (number,) = _new_numbers(1)
    return number


def _block(card: Card, *, reason: str, at: datetime) -> bool:
    changed = Card.objects.filter(
        pk=card.pk, state__in=[CardState.ISSUED, CardState.ACTIVE]
    ).update(state=CardState.BLOCKED, blocked_at=at, block_reason=reason[:200])
    if changed:
        card.state, card.blocked_at, card.block_reason = CardState.BLOCKED, at, reason[:200]
    return bool(changed)


@transaction.atomic
def issue_virtual_card(*, account: Account, actor: Any = None, at: datetime | None = None) -> Card:
    """A new active virtual card for the member; it replaces the active card, if any (L-CARD-4)."""
    at = at or timezone.now()
    old = Card.objects.select_for_update().filter(account=account, state=CardState.ACTIVE).first()
    if old is not None:
        _block(old, reason="заменена виртуальной картой", at=at)
    card = Card.objects.create(
        number=_new_card_number(),
        state=CardState.ACTIVE,
        virtual=True,
        account=account,
        activated_at=at,
        totp_secret=cardnumbers.new_card_secret(),
    )
    if old is not None:
        Card.objects.filter(pk=old.pk).update(replaced_by=card)
        old.replaced_by = card
    audit.record(
        action="loyalty.card.issue_virtual",
        actor=actor,
        obj=card,
        data={"replaced": old.number if old is not None else None},
    )
    return card


@transaction.atomic
def block_card(*, card: Card, reason: str, actor: Any = None, at: datetime | None = None) -> Card:
    """Block a lost or compromised card (L-CARD-2); audited. Blocking twice is a conflict."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Укажите причину блокировки", field="reason")
    if not _block(card, reason=reason, at=at or timezone.now()):
        raise Conflict("Карта уже заблокирована", code="card_blocked")
    audit.record(action="loyalty.card.block", actor=actor, obj=card, reason=reason)
    return card


@transaction.atomic
def replace_card(*, old: Card, new: Card, actor: Any = None, at: datetime | None = None) -> Card:
    """Make the issued card `new` the member's active card in place of `old` (L-CARD-2).

    `old` is blocked if it is not yet. The balance is the account's, so it is on the new
    card at once; purchases keep pointing at the card they were made with.
    """
    at = at or timezone.now()
    old = Card.objects.select_for_update().get(pk=old.pk)
    if old.account_id is None:
        raise RuleViolation("Заменить можно только активированную карту", code="card_not_active")
    if old.replaced_by_id is not None:
        raise Conflict("Карта уже заменена", code="card_already_replaced")
    if old.state == CardState.ACTIVE:
        _block(old, reason="замена карты", at=at)
    elif (
        Card.objects.filter(account_id=old.account_id, state=CardState.ACTIVE)
        .exclude(pk=old.pk)
        .exists()
    ):
        # One active card per member (L-ACT-5): after a lost card the member may already
        # have moved to a virtual one; replacing the lost card too would make two.
        raise Conflict(
            "У участника уже есть действующая карта: заблокируйте её, чтобы заменить",
            code="account_has_card",
        )
    changed = Card.objects.filter(pk=new.pk, state=CardState.ISSUED).update(
        state=CardState.ACTIVE, account_id=old.account_id, activated_at=at
    )
    if not changed:
        new.refresh_from_db()
        raise _state_error(new)
    Card.objects.filter(pk=old.pk).update(replaced_by=new)
    new.refresh_from_db()
    audit.record(
        action="loyalty.card.replace",
        actor=actor,
        obj=old,
        data={"old": old.number, "new": new.number, "account": old.account_id},
    )
    return new


#: "Not read with the card": the caller must look the personal offers up.
UNKNOWN: Any = object()
_OFFERS_UNTIL = "latest_offer_ends"


def till_cards() -> QuerySet[Card]:
    """Cards as a till reads them: with the account, its level and the last day of the
    member's latest personal offer, in one query (the offers' index answers the
    subquery), so that a purchase by a member without a running offer reads no offers."""
    latest = (
        PersonalOffer.objects.filter(account_id=OuterRef("account_id"))
        .order_by("-valid_to")
        .values("valid_to")[:1]
    )
    return Card.objects.select_related("account__level").annotate(
        **{_OFFERS_UNTIL: Subquery(latest)}
    )


def latest_offer_end(card: Card) -> Any:
    """The last day of the card's member's latest personal offer (None: no offer at all),
    or UNKNOWN if the card was not read through `till_cards`."""
    return getattr(card, _OFFERS_UNTIL, UNKNOWN)


def lookup_card(*, raw: str, at: datetime | None = None, terminal: Terminal | None = None) -> Card:
    """The card a till typed or scanned: 16 digits, a barcode, or a virtual card's QR (L-CARD-4).

    A QR code is accepted once: a code older than the last accepted one, or the same one
    from another till (or without a till), is refused as a replay. The till that accepted
    it may scan it again while it is fresh (lookup, then calculate and commit).
    """
    at = at or timezone.now()
    try:
        scanned = cardnumbers.parse_scan(raw)
    except cardnumbers.CardNumberError as exc:
        raise ValidationFailed(exc.text, code="invalid_card_number", field="card") from exc
    except cardnumbers.MalformedQrPayload as exc:
        raise ValidationFailed(exc.text, code="invalid_card_number", field="card") from exc
    card = till_cards().filter(number=scanned.number).first()
    if card is None:
        raise _card_not_found()
    if scanned.code is None:
        return card
    step = cardnumbers.verify_code(bytes(card.totp_secret), scanned.code, at=at)
    if step is None:
        raise ValidationFailed(
            "QR-код устарел: обновите его в приложении", code="qr_code_expired", field="card"
        )
    claim = Q(last_qr_step__isnull=True) | Q(last_qr_step__lt=step)
    if terminal is not None:
        claim |= Q(last_qr_step=step, last_qr_terminal_id=terminal.pk)
    claimed = (
        Card.objects.filter(pk=card.pk)
        .filter(claim)
        .update(last_qr_step=step, last_qr_terminal_id=terminal.pk if terminal else None)
    )
    if not claimed:
        raise ValidationFailed(
            "Этот QR-код уже использован: обновите его в приложении",
            code="qr_code_replayed",
            field="card",
        )
    card.last_qr_step = step
    return card


def qr_payload(*, card: Card, at: datetime | None = None) -> str:
    """What a virtual card's QR code shows now."""
    return cardnumbers.build_qr_payload(
        card.number, bytes(card.totp_secret), at=at or timezone.now()
    )


def card_price(*, receipt_total_kopecks: int, program: ProgramSettings) -> int:
    """A plastic card's price at the till: free with a receipt of the threshold or more."""
    if receipt_total_kopecks >= program.card_free_threshold_kopecks:
        return 0
    return program.card_price_kopecks


@transaction.atomic
def sell_card(*, card: Card, receipt_total_kopecks: int, at: datetime | None = None) -> int:
    """Sell an issued card at the till; its price in kopecks (L-CARD-3). Repeats are harmless."""
    if receipt_total_kopecks < 0:
        raise ValidationFailed("Сумма чека не может быть отрицательной", field="receipt_total")
    if card.state != CardState.ISSUED:
        raise _state_error(card)
    Card.objects.filter(pk=card.pk, sold_at__isnull=True).update(sold_at=at or timezone.now())
    return card_price(
        receipt_total_kopecks=receipt_total_kopecks, program=ProgramSettings.current()
    )
