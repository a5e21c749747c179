"""Reads of payments (SPEC P-BO-1, P-BO-2, P-PAY-2, P-NEXT-4): for the back office, statements
and what their documents became, the payments of every provider, and the receivables; for the
cabinet, an organisation's own account (`account_of`).

Staff see every organisation's payments; which staff may is decided by the permission on the
page (`access.staff_required`). A partner sees only their organisation's (`orders_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import NotFound
from kabinet.pharma.models import Organisation, PartnerUser
from kabinet.pharma.orders import selectors as order_selectors
from kabinet.pharma.orders.models import Order, OrderStatus, PaymentMethod
from kabinet.pharma.payments.credit import (
    Credit,
    credit_of,
    unpaid_by_organisation,
    unpaid_orders,
)
from kabinet.pharma.payments.models import (
    APPLIED_OUTCOMES,
    BankStatement,
    BankStatementDocument,
    Payment,
    PaymentState,
    Refund,
)
from kabinet.pharma.payments.statements import BANK_PROVIDER

# --- statements -----------------------------------------------------------------------------


def statements() -> QuerySet[BankStatement]:
    return BankStatement.objects.select_related("uploaded_by")


def statement(pk: int) -> BankStatement:
    found = statements().filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Выписка не найдена."))
    return found


def statement_documents(statement: BankStatement) -> QuerySet[BankStatementDocument]:
    return statement.documents.select_related("order", "payment", "assigned_by").order_by(
        "position"
    )


def earlier_uploads(statement: BankStatement) -> QuerySet[BankStatement]:
    """The same file uploaded before: its documents were applied then, not now."""
    return statements().filter(sha256=statement.sha256, uploaded_at__lt=statement.uploaded_at)


# --- payments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFilter:
    status: str = ""
    provider: str = ""
    date_from: date | None = None
    date_to: date | None = None
    query: str = ""


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def payments(criteria: PaymentFilter) -> QuerySet[Payment]:
    """Payments of every provider, newest first, with their order and organisation; a bank
    payment with the statement document it came from (`applied_from`)."""
    found = Payment.objects.select_related("order", "order__organisation").prefetch_related(
        Prefetch(
            "statement_documents",
            queryset=BankStatementDocument.objects.filter(outcome__in=APPLIED_OUTCOMES).only(
                "pk", "statement_id", "payment_id"
            ),
            to_attr="applied_from",
        )
    )
    if criteria.status:
        found = found.filter(status=criteria.status)
    if criteria.provider:
        found = found.filter(provider=criteria.provider)
    if criteria.date_from:
        found = found.filter(created_at__gte=_start_of(criteria.date_from))
    if criteria.date_to:
        found = found.filter(created_at__lt=_start_of(criteria.date_to + timedelta(days=1)))
    query = criteria.query.strip()
    if query:
        found = found.filter(
            Q(order__number__iexact=query)
            | Q(order__organisation__inn=query)
            | Q(provider_payment_id=query)
            | Q(order__organisation__name__icontains=query)
        )
    return found.order_by("-created_at", "-id")


def payment(pk: int) -> Payment:
    found = Payment.objects.select_related("order").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Платёж не найден."))
    return found


def provider_choices() -> list[tuple[str, str]]:
    """The providers payments were recorded under, with names people know."""
    labels = {
        BANK_PROVIDER: _("банковская выписка"),
        "test_bank": _("тестовый банк"),
        "yookassa": _("ЮKassa"),
    }
    used = Payment.objects.order_by().values_list("provider", flat=True).distinct()
    return sorted(((name, labels.get(name, name)) for name in used), key=lambda c: c[1])


def provider_label(name: str) -> str:
    return dict(provider_choices()).get(name, name)


# --- receivables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Receivable:
    """An organisation's deferral credit and what it owes, for «Дебиторка»."""

    organisation: Organisation
    credit: Credit
    invoices_unpaid_kopecks: int

    @property
    def over_limit_kopecks(self) -> int:
        return max(0, self.credit.debt_kopecks - self.credit.limit_kopecks)

    @property
    def total_unpaid_kopecks(self) -> int:
        return self.credit.debt_kopecks + self.invoices_unpaid_kopecks


def receivables(*, query: str = "", everyone: bool = False) -> list[Receivable]:
    """Organisations with a credit limit or an unpaid order (or all, with `everyone`), the
    largest debt first. The debt is what `credit.outstanding_debt_kopecks` counts."""
    deferred = unpaid_by_organisation(PaymentMethod.DEFERRED)
    invoices = unpaid_by_organisation(PaymentMethod.INVOICE)
    organisations = Organisation.objects.all()
    if not everyone:
        organisations = organisations.filter(
            Q(credit_limit_kopecks__gt=0) | Q(pk__in=[*deferred, *invoices])
        )
    query = query.strip()
    if query:
        organisations = organisations.filter(Q(name__icontains=query) | Q(inn=query))
    rows = [
        Receivable(
            organisation=organisation,
            credit=Credit(
                limit_kopecks=organisation.credit_limit_kopecks,
                debt_kopecks=deferred.get(organisation.pk, 0),
            ),
            invoices_unpaid_kopecks=invoices.get(organisation.pk, 0),
        )
        for organisation in organisations.order_by("name", "pk")
    ]
    rows.sort(key=lambda r: (-r.credit.debt_kopecks, -r.invoices_unpaid_kopecks))
    return rows


# --- the partner's own account («Оплата» in the cabinet) --------------------------------------

#: How many of the latest payments and refunds the cabinet lists.
ACCOUNT_HISTORY = 30


@dataclass(frozen=True)
class PartnerAccount:
    """What an organisation owes and has paid, as its accountant sees it."""

    credit: Credit
    # Not cancelled and not paid in full, oldest first: what to pay next.
    unpaid: list[Order]
    unpaid_kopecks: int
    # Holding more than they are owed (paid twice, or cancelled after payment): «к возврату».
    overpaid: list[Order]
    payments: list[Payment]
    refunds: list[Refund]


def account_of(partner: PartnerUser) -> PartnerAccount:
    """The partner's organisation's invoices to pay, debt under the credit limit, latest
    payments and refunds. Only the partner's own organisation, as everywhere (`orders_of`)."""
    orders = order_selectors.orders_of(partner)
    unpaid = list(
        orders.filter(pk__in=unpaid_orders(*PaymentMethod.values).values("pk")).order_by(
            "created_at", "id"
        )
    )
    overpaid = [
        order
        for order in orders.filter(paid_kopecks__gt=0).filter(
            Q(status=OrderStatus.CANCELLED) | Q(paid_kopecks__gt=F("total_kopecks"))
        )
        if order.overpaid_kopecks
    ]
    mine = Q(order__organisation_id=partner.organisation_id)
    return PartnerAccount(
        credit=credit_of(partner.organisation),
        unpaid=unpaid,
        unpaid_kopecks=sum(order.unpaid_kopecks for order in unpaid),
        overpaid=overpaid,
        payments=list(
            Payment.objects.filter(mine)
            .exclude(status=PaymentState.CANCELED)
            .select_related("order")
            .order_by("-created_at", "-id")[:ACCOUNT_HISTORY]
        ),
        refunds=list(
            Refund.objects.filter(payment__order__organisation_id=partner.organisation_id)
            .select_related("payment", "payment__order")
            .order_by("-created_at", "-id")[:ACCOUNT_HISTORY]
        ),
    )
