"""Deferred payment within the organisation's credit limit (SPEC P-PAY-2).

The debt is what the organisation still owes for its deferred orders that are not cancelled.
`check_credit_limit` runs inside the transaction that places the order and locks the
organisation's row first, so two deferred orders placed at once cannot both fit under the
limit that only one fits under.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, QuerySet, Sum
from django.utils.translation import gettext as _

from kabinet.core.errors import RuleViolation
from kabinet.core.money import format_rub
from kabinet.pharma.models import Organisation
from kabinet.pharma.orders.models import Order, OrderStatus, PaymentMethod


class CreditLimitExceeded(RuleViolation):
    default_code = "credit_limit_exceeded"


@dataclass(frozen=True)
class Credit:
    limit_kopecks: int
    debt_kopecks: int

    @property
    def available_kopecks(self) -> int:
        return max(0, self.limit_kopecks - self.debt_kopecks)


def unpaid_orders(*methods: str) -> QuerySet[Order]:
    """Orders not cancelled and not paid in full, of these payment methods."""
    return Order.objects.filter(
        payment_method__in=methods, paid_kopecks__lt=F("total_kopecks")
    ).exclude(status=OrderStatus.CANCELLED)


_UNPAID = Sum(F("total_kopecks") - F("paid_kopecks"))


def outstanding_debt_kopecks(*, organisation_id: int) -> int:
    """The unpaid remainder of the organisation's deferred orders that are not cancelled."""
    found = unpaid_orders(PaymentMethod.DEFERRED).filter(organisation_id=organisation_id)
    return int(found.aggregate(debt=_UNPAID)["debt"] or 0)


def unpaid_by_organisation(*methods: str) -> dict[int, int]:
    """organisation id → the unpaid remainder of its orders of these methods (only those owing);
    for the deferral alone, what `outstanding_debt_kopecks` says of each."""
    rows = (
        unpaid_orders(*methods)
        .order_by()
        .values("organisation_id")
        .annotate(unpaid=_UNPAID)
        .values_list("organisation_id", "unpaid")
    )
    return {organisation_id: int(unpaid) for organisation_id, unpaid in rows}


def credit_of(organisation: Organisation) -> Credit:
    """The limit, the debt and what is left of the limit, for the cart page."""
    return Credit(
        limit_kopecks=organisation.credit_limit_kopecks,
        debt_kopecks=outstanding_debt_kopecks(organisation_id=organisation.pk),
    )


def check_credit_limit(*, organisation_id: int, total_kopecks: int) -> None:
    """Refuse a deferred order that would take the debt over the limit; call in a transaction."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
    credit = credit_of(organisation)
    if credit.debt_kopecks + total_kopecks > credit.limit_kopecks:
        raise CreditLimitExceeded(
            _(
                "Заказ на %(total)s не помещается в кредитный лимит: лимит %(limit)s, "
                "долг по отсрочке %(debt)s, доступно %(available)s. Выберите другой способ оплаты."
            )
            % {
                "total": format_rub(total_kopecks),
                "limit": format_rub(credit.limit_kopecks),
                "debt": format_rub(credit.debt_kopecks),
                "available": format_rub(credit.available_kopecks),
            }
        )
