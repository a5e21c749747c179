"""Payments of orders and their refunds (SPEC P-PAY-1, P-PAY-3).

Loaded by `kabinet.pharma.models`, so these are models of the `pharma` app. Only
`payments.services`, `payments.refunds` and `payments.statements` write them: a payment is
created pending (or, from a bank statement, succeeded) and becomes succeeded or canceled under
its row's lock; the unique (provider, provider_payment_id) keeps one provider payment — or one
statement document — from being recorded, and so applied, twice, and at most one payment of
an order is pending with a provider at a time, so the buyer cannot be sent to two payment
pages and pay twice.

A refund takes its amount out of `Payment.refunded_kopecks` when it is planned (pending) and
gives it back only if the provider refuses it, so the database's `refunded ≤ amount` holds
however many refunds run at once: no payment is ever refunded above what it brought.
"""

from __future__ import annotations

from django.conf import settings
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


# --- bank statements (P-NEXT-4) -------------------------------------------------------------


class BankStatement(models.Model):
    """An uploaded 1CClientBankExchange file and what its upload did, to reopen it later.

    Written only by `payments.statements`: one upload is one transaction, so a row exists only
    for a file that was read whole. The counts are kept in step with its documents.
    """

    file_name = models.CharField(_("файл"), max_length=255)
    sha256 = models.CharField(_("SHA-256 файла"), max_length=64, db_index=True)
    account = models.CharField(_("расчётный счёт"), max_length=20)
    sender = models.CharField(_("отправитель"), max_length=100, blank=True)
    period_start = models.DateField(_("период с"), null=True, blank=True)
    period_end = models.DateField(_("период по"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("загрузил"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("загружена"), default=timezone.now, db_index=True)
    documents_count = models.PositiveIntegerField(_("документов"), default=0)
    incoming_count = models.PositiveIntegerField(_("поступлений"), default=0)
    applied_count = models.PositiveIntegerField(_("разнесено"), default=0)
    applied_kopecks = models.BigIntegerField(_("разнесено, коп."), default=0)
    unmatched_count = models.PositiveIntegerField(_("не разнесено"), default=0)
    duplicate_count = models.PositiveIntegerField(_("уже проведены ранее"), default=0)

    class Meta:
        verbose_name = _("банковская выписка")
        verbose_name_plural = _("банковские выписки")
        ordering = ["-uploaded_at", "-id"]
        # Only the back-office pages write statements: no add/change/delete in the admin.
        default_permissions = ("view",)
        permissions = [
            ("upload_bankstatement", _("Может загружать выписки и разносить платежи")),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.uploaded_at:%d.%m.%Y %H:%M})"


class StatementOutcome(models.TextChoices):
    PAID = "paid", _("счёт оплачен полностью")
    PARTIAL = "partial", _("счёт оплачен частично")
    OVERPAID = "overpaid", _("переплата")
    UNMATCHED = "unmatched", _("не разнесён")
    DUPLICATE = "duplicate", _("уже проведён ранее")
    OUTGOING = "outgoing", _("списание с нашего счёта")


# The outcomes that credited an order with this document.
APPLIED_OUTCOMES = (StatementOutcome.PAID, StatementOutcome.PARTIAL, StatementOutcome.OVERPAID)


class BankStatementDocument(models.Model):
    """One document of a statement and what became of it: applied, left for a person, or not
    ours to apply. The payment it created (or found already applied) is linked."""

    statement = models.ForeignKey(
        BankStatement,
        verbose_name=_("выписка"),
        on_delete=models.CASCADE,
        related_name="documents",
    )
    position = models.PositiveIntegerField(_("№ в файле"))
    line = models.PositiveIntegerField(_("строка файла"))
    kind = models.CharField(_("вид документа"), max_length=100, blank=True)
    number = models.CharField(_("номер"), max_length=40)
    date = models.DateField(_("дата"))
    amount_kopecks = models.BigIntegerField(_("сумма, коп."))
    payer_name = models.CharField(_("плательщик"), max_length=255, blank=True)
    payer_inn = models.CharField(_("ИНН плательщика"), max_length=12, blank=True)
    payer_account = models.CharField(_("счёт плательщика"), max_length=20, blank=True)
    payee_account = models.CharField(_("счёт получателя"), max_length=20, blank=True)
    purpose = models.TextField(_("назначение платежа"), blank=True)
    # The Payment's provider_payment_id for this document: the same in every file it is in.
    key = models.CharField(_("ключ платежа"), max_length=64, blank=True, db_index=True)
    outcome = models.CharField(_("результат"), max_length=10, choices=StatementOutcome.choices)
    reason = models.CharField(_("причина"), max_length=32, blank=True)
    message = models.CharField(_("пояснение"), max_length=500, blank=True)
    # For a payment left for a person, the invoice the matcher suspects (e.g. another INN).
    suggested_number = models.CharField(_("предполагаемый счёт"), max_length=40, blank=True)
    order = models.ForeignKey(
        "pharma.Order",
        verbose_name=_("заказ"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("платёж"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_documents",
    )
    due_kopecks = models.BigIntegerField(_("было к оплате, коп."), default=0)
    difference_kopecks = models.BigIntegerField(_("разница, коп."), default=0)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("разнёс вручную"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assigned_at = models.DateTimeField(_("разнесён вручную"), null=True, blank=True)

    class Meta:
        verbose_name = _("документ выписки")
        verbose_name_plural = _("документы выписки")
        ordering = ["statement", "position"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "position"], name="pharma_statementdoc_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=StatementOutcome.values),
                name="pharma_statementdoc_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount_kopecks__gte=0), name="pharma_statementdoc_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"№ {self.number} от {self.date:%d.%m.%Y}"

    @property
    def is_applied(self) -> bool:
        return self.outcome in APPLIED_OUTCOMES

    @property
    def overpaid_kopecks(self) -> int:
        return max(0, self.difference_kopecks) if self.is_applied else 0

    @property
    def still_due_kopecks(self) -> int:
        """What the invoice still wanted after this payment."""
        return max(0, -self.difference_kopecks) if self.is_applied else 0
