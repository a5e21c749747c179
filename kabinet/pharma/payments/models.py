"""Payments of orders and their refunds (SPEC P-PAY-1, P-PAY-3).

Loaded by `kabinet.pharma.models`, so these are models of the `pharma` app. Only
`payments.services` and `payments.refunds` write them: a payment is created pending and
becomes succeeded or canceled under its row's lock; the unique (provider, provider_payment_id)
keeps one provider payment from being recorded, and so applied, twice, and at most one payment
of an order is pending with a provider at a time, so the buyer cannot be sent to two payment
pages and pay twice.

A refund takes its amount out of `Payment.refunded_kopecks` when it is planned (pending) and
gives it back only if the provider refuses it, so the database's `refunded ≤ amount` holds
however many refunds run at once: no payment is ever refunded above what it brought.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PaymentState(models.TextChoices):
    PENDING = "pending", _("ожидает оплаты")
    SUCCEEDED = "succeeded", _("оплачен")
    CANCELED = "canceled", _("отменён")


class Payment(models.Model):
    """One attempt to pay an order through a provider (the test bank, ЮKassa)."""

    order = models.ForeignKey(
        "pharma.Order", verbose_name=_("заказ"), on_delete=models.PROTECT, related_name="payments"
    )
    provider = models.CharField(_("провайдер"), max_length=20)
    provider_payment_id = models.CharField(_("номер платежа у провайдера"), max_length=64)
    amount_kopecks = models.BigIntegerField(_("сумма, коп."))
    status = models.CharField(
        _("статус"), max_length=10, choices=PaymentState.choices, default=PaymentState.PENDING
    )
    # Where the buyer confirms the payment: a second «Оплатить» goes back to the same page.
    confirmation_url = models.CharField(_("страница оплаты"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("создан"), default=timezone.now)
    applied_at = models.DateTimeField(_("проведён"), null=True, blank=True)
    # Refunds returned or being returned (pending and succeeded); a failed one gives its
    # amount back. Changed only by `payments.refunds`.
    refunded_kopecks = models.BigIntegerField(_("возвращено и к возврату, коп."), default=0)

    class Meta:
        verbose_name = _("платёж")
        verbose_name_plural = _("платежи")
        ordering = ["order", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"], name="pharma_payment_unique_provider_id"
            ),
            # Two clicks on «Оплатить онлайн» at once must not open two payments to pay.
            models.UniqueConstraint(
                fields=["order", "provider"],
                condition=Q(status="pending"),
                name="pharma_payment_one_pending_per_order",
            ),
            models.CheckConstraint(
                condition=Q(amount_kopecks__gt=0), name="pharma_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentState.values), name="pharma_payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(refunded_kopecks__gte=0) & Q(refunded_kopecks__lte=F("amount_kopecks")),
                name="pharma_payment_refunded_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_payment_id}"

    @property
    def refundable_kopecks(self) -> int:
        """What may still be refunded: received, less refunds made or under way."""
        if self.status != PaymentState.SUCCEEDED:
            return 0
        return self.amount_kopecks - self.refunded_kopecks


class RefundState(models.TextChoices):
    PENDING = "pending", _("в обработке")
    SUCCEEDED = "succeeded", _("выполнен")
    FAILED = "failed", _("не выполнен")


class Refund(models.Model):
    """Money of a succeeded payment returned to the buyer through the payment's provider."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("платёж"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount_kopecks = models.BigIntegerField(_("сумма, коп."))
    status = models.CharField(
        _("статус"), max_length=10, choices=RefundState.choices, default=RefundState.PENDING
    )
    reason = models.CharField(_("причина"), max_length=200)
    # Sent to the provider with every attempt: a retry returns the first refund, never a second.
    idempotency_key = models.CharField(_("ключ идемпотентности"), max_length=64, unique=True)
    provider_refund_id = models.CharField(
        _("номер возврата у провайдера"), max_length=64, blank=True
    )
    # The provider's last refusal or failure, for the person who looks at a stuck refund.
    error = models.CharField(_("ошибка"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("создан"), default=timezone.now)
    completed_at = models.DateTimeField(_("завершён"), null=True, blank=True)

    class Meta:
        verbose_name = _("возврат")
        verbose_name_plural = _("возвраты")
        ordering = ["payment", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_kopecks__gt=0), name="pharma_refund_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RefundState.values), name="pharma_refund_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}: −{self.amount_kopecks}"
