"""Back-office reads of payments (SPEC P-BO-1, P-BO-2, P-PAY-2, P-NEXT-4): statements and
what their documents became, the payments of every provider, and the receivables.

Staff see every organisation's payments; which staff may is decided by the permission on the
page (`access.staff_required`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import NotFound
from kabinet.pharma.models import Organisation
from kabinet.pharma.orders.models import PaymentMethod
from kabinet.pharma.payments.credit import Credit, unpaid_by_organisation
from kabinet.pharma.payments.models import (
    APPLIED_OUTCOMES,
    BankStatement,
    BankStatementDocument,
    Payment,
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
