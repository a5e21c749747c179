"""Reads for the console: find a card or a member, and what a role may see of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from kabinet.core.errors import NotFound, ValidationFailed
from kabinet.core.money import format_rub
from kabinet.core.phones import PhoneError, format_phone_ru, mask_phone, normalize_phone
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.callcentre import access, reports
from kabinet.loyalty.models import Account, AdjustmentRequest, AdjustmentStatus, Card
from kabinet.loyalty.selectors import ledger_of, purchases_of

User = get_user_model()


@dataclass(frozen=True)
class Found:
    """What a search found: a member's account, or a card that belongs to no one yet."""

    account: Account | None = None
    card: Card | None = None


def _looks_like_card(raw: str) -> bool:
    digits = "".join(ch for ch in raw if ch.isdigit())
    return len(digits) >= 13 and not raw.strip().startswith("+")


def find(raw: str) -> Found:
    """A card number (Luhn-checked) or a phone in any usual form → what it belongs to."""
    raw = (raw or "").strip()
    if _looks_like_card(raw):
        try:
            number = cardnumbers.normalize_card_number(raw)
        except cardnumbers.CardNumberError as exc:
            raise ValidationFailed(exc.text, field="q") from None
        card = Card.objects.select_related("account").filter(number=number).first()
        if card is None:
            raise NotFound("Карта с таким номером не найдена", code="card_not_found")
        return Found(account=card.account, card=card)
    try:
        phone = normalize_phone(raw)
    except PhoneError:
        raise ValidationFailed(
            "Введите телефон (например 9161234567) или 16 цифр номера карты", field="q"
        ) from None
    account = Account.objects.filter(user__phone=phone).first()
    if account is None:
        raise NotFound("Участник с таким телефоном не найден", code="member_not_found")
    return Found(account=account)


def account(pk: int) -> Account:
    found = Account.objects.select_related("user", "level", "city", "profile").filter(pk=pk).first()
    if found is None:
        raise NotFound("Участник не найден")
    return found


def card(pk: int) -> Card:
    found = Card.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound("Карта не найдена")
    return found


def _mask_email(address: str) -> str:
    local, _at, domain = address.partition("@")
    if not domain:
        return "—" if not address else "***"
    return f"{local[:1]}***@{domain}"


def member_view(*, account: Account, viewer: Any) -> dict[str, Any]:
    """The member card as `viewer`'s role may see it: contacts masked for operators, the
    last few lines of history for operators and all of it (up to a page) for support."""
    full = access.can(viewer, "see_contacts")
    lines = access.history_lines(viewer)
    user = account.user
    purchases = list(purchases_of(account).order_by("-purchased_at", "-id")[:lines])
    for p in purchases:
        setattr(p, "total_text", format_rub(p.total_kopecks))  # noqa: B010
        setattr(p, "earned_text", reports.points_display(p.earned))  # noqa: B010
        setattr(p, "redeemed_text", reports.points_display(p.redeemed))  # noqa: B010
    ledger = list(ledger_of(account).select_related("created_by")[:lines])
    for e in ledger:
        setattr(e, "amount_text", reports.points_display(e.amount))  # noqa: B010
    phone = user.phone or ""
    birth = account.birth_date
    return {
        "account": account,
        "phone": (format_phone_ru(phone) if full else mask_phone(phone)) if phone else "—",
        "email": (user.email or "—") if full else _mask_email(user.email),
        "birth_date": (
            (birth.strftime("%d.%m.%Y") if full else f"**.**.{birth:%Y}") if birth else "—"
        ),
        "contacts_masked": not full,
        "cards": list(account.cards.order_by("-activated_at", "-id")),
        "balance": reports.points_display(account.balance),
        "held": reports.points_display(account.held),
        "purchases": purchases,
        "ledger": ledger,
        "history_limited": lines == access.RECENT_LINES,
        "recent_lines": access.RECENT_LINES,
        "pending": [
            (r, reports.points_display(r.amount))
            for r in AdjustmentRequest.objects.filter(
                account=account, status=AdjustmentStatus.PENDING
            ).select_related("requested_by")
        ]
        if access.can(viewer, "request_adjustment")
        else [],
    }


def _with_text(requests) -> list[AdjustmentRequest]:
    found = list(requests)
    for r in found:
        r.amount_text = reports.points_display(r.amount)
    return found


def pending_adjustments() -> list[AdjustmentRequest]:
    return _with_text(
        AdjustmentRequest.objects.filter(status=AdjustmentStatus.PENDING)
        .select_related("account", "requested_by")
        .order_by("requested_at", "id")
    )


def recent_decisions(limit: int = 20) -> list[AdjustmentRequest]:
    return _with_text(
        AdjustmentRequest.objects.exclude(status=AdjustmentStatus.PENDING)
        .select_related("account", "requested_by", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )
