"""Refunds (SPEC P-PAY-1, P-PAY-3): money an order holds above what it owes goes back.

When: an order that was paid online is cancelled, or a payment succeeds on an order that was
cancelled meanwhile, or beyond its total (a second payment page paid, a bank transfer and a
card payment of one order). The money was taken, so it is recorded (`Order.paid_kopecks`
rises), the order shows «Переплата / к возврату», and `refund_overpayment` returns the excess
through the providers of the order's online payments, newest payment first. `refund_payment`
returns a given amount of one payment (a person's decision, e.g. goods not delivered).

`Order.paid_kopecks` is the money the order holds net of refunds: a refund lowers it when it
succeeds. Every reader of it asks what we hold now — whether the order is paid, what is left
to pay, the deferred debt under the credit limit, a bank statement's match — and none has to
know about refunds; the gross receipts and the refunds stay as `Payment` and `Refund` rows for
the history and the accounts.

Never twice, never too much: a refund is planned under the order's row lock (a `Refund` row,
pending, its amount taken out of `Payment.refunded_kopecks`, which the database keeps within
the payment's amount); the provider is called with no lock held and with the refund's own
idempotency key; its answer is recorded under the refund's row lock, once. A refund left
pending (the provider timed out) is sent again with the same key by the next run, and the
provider returns the first refund instead of making a second. Money that came otherwise than
through a provider (a bank transfer) is shown as to be returned and left to a person.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.accounts.models import User
from kabinet.core import audit
from kabinet.core.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from kabinet.core.money import format_rub
from kabinet.pharma.orders.models import Order, OrderStatus
from kabinet.pharma.payments.emails import email_buyer
from kabinet.pharma.payments.models import Payment, PaymentState, Refund, RefundState
from kabinet.pharma.payments.providers import PROVIDER_NAMES, get_provider
from kabinet.pharma.payments.providers.base import PaymentProviderError
from kabinet.pharma.payments.providers.base import PaymentStatus as ProviderStatus

log = logging.getLogger(__name__)

_OUTCOMES = {
    ProviderStatus.SUCCEEDED: RefundState.SUCCEEDED,
    ProviderStatus.CANCELED: RefundState.FAILED,
    ProviderStatus.PENDING: None,
}


@dataclass(frozen=True)
class RefundSummary:
    """What the order page says about money going back to the buyer."""

    refunded_kopecks: int
    refunding_kopecks: int
    # Held above what the order owes and not yet being refunded: a person must return it
    # (it came by bank transfer, or the provider refused the refund).
    to_refund_kopecks: int
    refunds: list[Refund]


def refund_summary(order: Order) -> RefundSummary:
    refunds = list(
        Refund.objects.filter(payment__order=order).select_related("payment").order_by("id")
    )
    done = sum(r.amount_kopecks for r in refunds if r.status == RefundState.SUCCEEDED)
    pending = sum(r.amount_kopecks for r in refunds if r.status == RefundState.PENDING)
    return RefundSummary(
        refunded_kopecks=done,
        refunding_kopecks=pending,
        to_refund_kopecks=max(0, order.overpaid_kopecks - pending),
        refunds=refunds,
    )


def refundable(payment: Payment) -> bool:
    """Whether a person may return money of this payment through its provider now."""
    return payment.provider in PROVIDER_NAMES and payment.refundable_kopecks > 0


def refund_payment(
    *,
    payment_id: int,
    amount_kopecks: int,
    reason: str,
    idempotency_key: str | None = None,
    by: User | None = None,
) -> Refund:
    """Refund part or all of a succeeded online payment; the same key gives the same refund.
    `by`: the member of staff who decided it, for the audit log."""
    if type(amount_kopecks) is not int or amount_kopecks <= 0:
        raise ValidationFailed(_("Сумма возврата должна быть положительной."), field="amount")
    key = (idempotency_key or uuid.uuid4().hex).strip()
    if not key or len(key) > 64:
        raise ValidationFailed(_("Неверный ключ идемпотентности."), field="idempotency_key")
    reason = reason.strip() or _("Возврат по заказу")
    with transaction.atomic():
        payment = Payment.objects.filter(pk=payment_id).first()
        if payment is None:
            raise NotFound(_("Платёж не найден."))
        # The order's lock first, as everywhere refunds are planned: see refund_overpayment.
        Order.objects.select_for_update().get(pk=payment.order_id)
        refund = Refund.objects.filter(idempotency_key=key).first()
        if refund is None:
            refund = _reserve(payment, amount_kopecks, reason=reason, key=key)
            if by is not None:
                audit.record(
                    action="pharma.payment.refund",
                    actor=by,
                    obj=refund,
                    reason=reason,
                    data={"payment": payment.pk, "amount_kopecks": amount_kopecks},
                )
        elif (refund.payment_id, refund.amount_kopecks) != (payment.pk, amount_kopecks):
            raise Conflict(_("Этот ключ уже использован для другого возврата."))
    return _send(refund.pk)


def refund_overpayment(*, order_id: int) -> list[Refund]:
    """Refund what the order holds above what it owes, and resend refunds left pending."""
    with transaction.atomic():
        # Payments are credited and refunds completed under this row's lock too (they update
        # it), so the excess and the refunds under way are read consistently here.
        order = Order.objects.select_for_update().get(pk=order_id)
        in_flight = _pending_kopecks(order_id)
        left = order.overpaid_kopecks - in_flight
        reason = (
            _("Заказ отменён")
            if order.status == OrderStatus.CANCELLED
            else _("Переплата по заказу")
        )
        if left > 0:
            payments = Payment.objects.filter(
                order_id=order_id, status=PaymentState.SUCCEEDED, provider__in=PROVIDER_NAMES
            ).order_by("-applied_at", "-id")
            for payment in payments:
                take = min(left, payment.refundable_kopecks)
                if take <= 0:
                    continue
                _reserve(payment, take, reason=reason, key=uuid.uuid4().hex)
                left -= take
                if not left:
                    break
        pending = list(
            Refund.objects.filter(payment__order_id=order_id, status=RefundState.PENDING)
            .order_by("id")
            .values_list("pk", flat=True)
        )
    return [_send(pk) for pk in pending]


def _pending_kopecks(order_id: int) -> int:
    found = Refund.objects.filter(payment__order_id=order_id, status=RefundState.PENDING).aggregate(
        total=Sum("amount_kopecks")
    )
    return int(found["total"] or 0)


def _reserve(payment: Payment, amount: int, *, reason: str, key: str) -> Refund:
    """A pending refund, its amount taken out of what the payment may still give back."""
    if payment.provider not in PROVIDER_NAMES:
        raise RuleViolation(
            _("Этот платёж пришёл не через платёжный сервис: его возвращают вручную."),
            code="refund_manual",
        )
    # One conditional UPDATE: the database's refunded ≤ amount is the last word anyway.
    taken = Payment.objects.filter(
        pk=payment.pk,
        status=PaymentState.SUCCEEDED,
        refunded_kopecks__lte=F("amount_kopecks") - amount,
    ).update(refunded_kopecks=F("refunded_kopecks") + amount)
    if not taken:
        payment.refresh_from_db()
        raise RuleViolation(
            _("Вернуть можно не больше, чем осталось от платежа: %(left)s.")
            % {"left": format_rub(payment.refundable_kopecks)},
            code="refund_exceeds_payment",
        )
    return Refund.objects.create(
        payment=payment, amount_kopecks=amount, reason=reason[:200], idempotency_key=key
    )


def _send(refund_id: int) -> Refund:
    """Ask the provider for a pending refund (no lock held) and record its answer."""
    refund = Refund.objects.select_related("payment", "payment__order").get(pk=refund_id)
    if refund.status != RefundState.PENDING:
        return refund
    payment = refund.payment
    provider = get_provider(payment.provider)
    try:
        if refund.provider_refund_id:
            # The provider has it and said «pending»: ask what became of it. Sending it again
            # with its key would only repeat that first answer.
            result = provider.refund_status(refund.provider_refund_id)
        else:
            result = provider.refund(
                provider_payment_id=payment.provider_payment_id,
                amount_kopecks=refund.amount_kopecks,
                description=_("Возврат по заказу %(number)s: %(reason)s")
                % {"number": payment.order.number, "reason": refund.reason},
                idempotency_key=refund.idempotency_key,
            )
    except PaymentProviderError as error:
        log.warning(
            "refund not made",
            extra={"refund": refund_id, "retryable": error.retryable, "reason": error.message},
        )
        # A timeout leaves the outcome unknown: the refund stays pending, to be sent again.
        return _record(
            refund_id, None if error.retryable else RefundState.FAILED, error=error.message
        )
    if result.amount_kopecks != refund.amount_kopecks:
        log.error("refund amount mismatch", extra={"refund": refund_id})
        return _record(
            refund_id,
            None,
            provider_refund_id=result.provider_refund_id,
            error=_("Провайдер вернул другую сумму: %(amount)s.")
            % {"amount": format_rub(result.amount_kopecks)},
        )
    outcome = _OUTCOMES[result.status]
    return _record(
        refund_id,
        outcome,
        provider_refund_id=result.provider_refund_id,
        error=_("Провайдер отклонил возврат.") if outcome == RefundState.FAILED else "",
    )


def _record(
    refund_id: int, outcome: str | None, *, provider_refund_id: str = "", error: str = ""
) -> Refund:
    """Record the provider's answer once; None leaves the refund pending."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundState.PENDING:
            return refund
        now = timezone.now()
        refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
        refund.error = error[:500]
        fields = ["provider_refund_id", "error"]
        if outcome == RefundState.SUCCEEDED:
            refund.status, refund.completed_at = outcome, now
            fields += ["status", "completed_at"]
            Order.objects.filter(pk=refund.payment.order_id).update(
                paid_kopecks=F("paid_kopecks") - refund.amount_kopecks, updated_at=now
            )
        elif outcome == RefundState.FAILED:
            refund.status, refund.completed_at = outcome, now
            fields += ["status", "completed_at"]
            # The amount may be refunded again, by a person or the next run.
            Payment.objects.filter(pk=refund.payment_id).update(
                refunded_kopecks=F("refunded_kopecks") - refund.amount_kopecks
            )
        refund.save(update_fields=fields)
        if outcome == RefundState.SUCCEEDED:
            _notify_refunded(refund)
    return refund


def _notify_refunded(refund: Refund) -> None:
    order = Order.objects.select_related("placed_by").get(pk=refund.payment.order_id)
    email_buyer(
        order,
        "pharma_order_refunded",
        {
            "amount": format_rub(refund.amount_kopecks),
            "reason": refund.reason,
            "paid": format_rub(order.paid_kopecks),
            "cancelled": order.status == OrderStatus.CANCELLED,
        },
    )
