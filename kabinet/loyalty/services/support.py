"""Back-office support (L-BO-3): manual adjustments with four-eyes approval, card replacement
with a reason.

An adjustment up to the threshold is posted at once; above it, it waits as an
`AdjustmentRequest` until a different staff member approves it (the ledger entry is written
then) or rejects it (nothing is written). Who may ask and who may approve is
`callcentre.access`'s business; that the approver is not the requester is a rule, so here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kabinet.core import audit
from kabinet.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import Account, AdjustmentRequest, AdjustmentStatus, Card
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services.ledger import adjust_points

#: Hundredths of a point: 1 000 points. Larger adjustments need a second staff member.
DEFAULT_APPROVAL_THRESHOLD = 100_000


def approval_threshold() -> int:
    """Adjustments whose size is above this (hundredths of a point) need approval."""
    return int(
        getattr(settings, "KABINET_ADJUSTMENT_APPROVAL_THRESHOLD", DEFAULT_APPROVAL_THRESHOLD)
    )


def needs_approval(amount: int) -> bool:
    return abs(amount) > approval_threshold()


@transaction.atomic
def request_adjustment(
    *, account: Account, amount: int, reason: str, actor: Any, at: datetime | None = None
) -> AdjustmentRequest:
    """Ask for a correction of `amount` hundredths (either sign); posted at once if small."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Укажите причину корректировки", field="reason")
    if amount == 0:
        raise ValidationFailed("Сумма корректировки не может быть нулевой", field="amount")
    at = at or timezone.now()
    request = AdjustmentRequest(
        account=account, amount=amount, reason=reason[:300], requested_by=actor, requested_at=at
    )
    if needs_approval(amount):
        request.save()
        audit.record(
            action="loyalty.adjustment.request",
            actor=actor,
            obj=account,
            reason=reason,
            data={"amount": amount, "request": request.pk},
        )
        return request
    request.entry = adjust_points(account=account, amount=amount, reason=reason, actor=actor, at=at)
    request.status = AdjustmentStatus.POSTED
    request.decided_by, request.decided_at = actor, at
    request.save()
    return request


def _pending(request_id: int) -> AdjustmentRequest:
    found = (
        AdjustmentRequest.objects.select_for_update()
        .select_related("account")
        .filter(pk=request_id)
        .first()
    )
    if found is None:
        raise NotFound("Заявка не найдена", code="adjustment_not_found")
    if found.status != AdjustmentStatus.PENDING:
        raise Conflict("По этой заявке уже принято решение", code="adjustment_decided")
    return found


@transaction.atomic
def approve_adjustment(
    *, request_id: int, actor: Any, at: datetime | None = None
) -> AdjustmentRequest:
    """Post a waiting adjustment; the approver must be someone other than the requester."""
    request = _pending(request_id)
    if request.requested_by_id == actor.pk:
        raise PermissionDenied(
            "Свою заявку подтвердить нельзя: нужен другой сотрудник", code="self_approval"
        )
    at = at or timezone.now()
    request.entry = adjust_points(
        account=request.account,
        amount=request.amount,
        reason=request.reason,
        actor=actor,
        at=at,
    )
    request.status = AdjustmentStatus.POSTED
    request.decided_by, request.decided_at = actor, at
    request.save(update_fields=["entry", "status", "decided_by", "decided_at"])
    audit.record(
        action="loyalty.adjustment.approve",
        actor=actor,
        obj=request.account,
        reason=request.reason,
        data={
            "amount": request.amount,
            "request": request.pk,
            "requested_by": request.requested_by_id,
        },
    )
    return request


@transaction.atomic
def reject_adjustment(
    *, request_id: int, actor: Any, reason: str, at: datetime | None = None
) -> AdjustmentRequest:
    """Refuse a waiting adjustment with a reason; no points move."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Укажите причину отказа", field="reason")
    request = _pending(request_id)
    request.status = AdjustmentStatus.REJECTED
    request.decided_by, request.decided_at = actor, at or timezone.now()
    request.decision_reason = reason[:300]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        action="loyalty.adjustment.reject",
        actor=actor,
        obj=request.account,
        reason=reason,
        data={"amount": request.amount, "request": request.pk},
    )
    return request


@transaction.atomic
def replace_card_by_number(
    *, old: Card, new_number: str, reason: str, actor: Any, at: datetime | None = None
) -> Card:
    """A member's new plastic card, named by its number, in place of `old`; audited with why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Укажите причину замены", field="reason")
    try:
        number = cardnumbers.normalize_card_number(new_number or "")
    except cardnumbers.CardNumberError as exc:
        raise ValidationFailed(exc.text, code="invalid_card_number", field="new_number") from None
    new = Card.objects.filter(number=number).first()
    if new is None:
        raise ValidationFailed(
            "Карта с таким номером не найдена", code="card_not_found", field="new_number"
        )
    if new.pk == old.pk:
        raise ValidationFailed("Это та же карта", field="new_number")
    replaced = card_services.replace_card(old=old, new=new, actor=actor, at=at)
    audit.record(
        action="callcentre.card.replace",
        actor=actor,
        obj=old,
        reason=reason,
        data={"old": old.number, "new": replaced.number},
    )
    return replaced
