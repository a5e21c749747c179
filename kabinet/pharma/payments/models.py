"""Payments of orders (SPEC P-PAY-1, P-PAY-3).

Loaded by `kabinet.pharma.models`, so these are models of the `pharma` app. Only
`payments.services` writes them: a payment is created pending and becomes succeeded or
canceled once, under its row's lock; the unique (provider, provider_payment_id) keeps one
provider payment from being recorded, and so applied, twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
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

    class Meta:
        verbose_name = _("платёж")
        verbose_name_plural = _("платежи")
        ordering = ["order", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"], name="pharma_payment_unique_provider_id"
            ),
            models.CheckConstraint(
                condition=Q(amount_kopecks__gt=0), name="pharma_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentState.values), name="pharma_payment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_payment_id}"
