"""Reads, and the one place that decides which partner sees what (ARCHITECTURE).

Every query a partner page makes starts from the signed-in user's `PartnerUser` and is
filtered by its organisation here; an object of another organisation is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.accounts.models import User
from kabinet.core.errors import NotFound, PermissionDenied
from kabinet.pharma.models import (
    Branch,
    DeliveryAddress,
    Lead,
    LeadStatus,
    Licence,
    PartnerUser,
    Registration,
    RegistrationStatus,
)

# Queue items waiting longer than this are highlighted: the site promises a decision
# «обычно не более суток» (seed, P-REG-3).
OVERDUE_AFTER = timedelta(days=1)


def partner_of(user: Any) -> PartnerUser | None:
    """The signed-in user's membership, or None for anyone who is not an active partner."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    # The session's user comes with its partner row joined (accounts/backends.py), or with
    # the knowledge that it has none: no query then.
    if User.pharma_partner.is_cached(user):
        try:
            return user.pharma_partner
        except PartnerUser.DoesNotExist:
            return None
    # A user loaded otherwise: one query, which does not join the user it already has
    # (neither to load it nor to sort by Meta.ordering's username; one row anyway).
    found = list(
        PartnerUser.objects.select_related("organisation").filter(user_id=user.pk).order_by()[:1]
    )
    if not found:
        return None
    found[0].user = user
    return found[0]


def require_authority(partner: PartnerUser, authority: str) -> None:
    if not partner.has_authority(authority):
        raise PermissionDenied(_("У вас нет полномочий на это действие."))


def colleagues_of(partner: PartnerUser) -> QuerySet[PartnerUser]:
    return (
        PartnerUser.objects.filter(organisation_id=partner.organisation_id)
        .select_related("user")
        .order_by("user__username")
    )


def colleague_of(partner: PartnerUser, pk: int) -> PartnerUser:
    found = colleagues_of(partner).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Пользователь не найден."))
    return found


def addresses_of(partner: PartnerUser) -> QuerySet[DeliveryAddress]:
    return DeliveryAddress.objects.filter(organisation_id=partner.organisation_id).select_related(
        "city", "city__region"
    )


def address_of(partner: PartnerUser, pk: int) -> DeliveryAddress:
    found = addresses_of(partner).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Адрес не найден."))
    return found


def licences_of(partner: PartnerUser) -> QuerySet[Licence]:
    return Licence.objects.filter(organisation_id=partner.organisation_id)


def branches() -> QuerySet[Branch]:
    return Branch.objects.select_related("region", "city")


# --- back office ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    obj: Any
    waiting: timedelta
    overdue: bool

    @property
    def waiting_text(self) -> str:
        return format_waiting(self.waiting)


def _items(rows, now: datetime) -> list[QueueItem]:
    return [
        QueueItem(
            obj=row, waiting=now - row.created_at, overdue=now - row.created_at > OVERDUE_AFTER
        )
        for row in rows
    ]


def lead_queue(*, now: datetime | None = None) -> dict[str, Any]:
    """Open leads, oldest first, with counts per status."""
    now = now or timezone.now()
    open_leads = Lead.objects.filter(
        status__in=[LeadStatus.NEW, LeadStatus.IN_PROGRESS]
    ).select_related("city", "assigned_to")
    items = _items(open_leads.order_by("created_at"), now)
    counts = {status: 0 for status in LeadStatus.values}
    for row in Lead.objects.values_list("status", flat=True):
        counts[row] += 1
    return {
        "items": items,
        "counts": [(LeadStatus(s).label, counts[s]) for s in LeadStatus.values],
        "overdue": sum(1 for item in items if item.overdue),
    }


def registration_queue(*, now: datetime | None = None) -> dict[str, Any]:
    """Registrations waiting for verification, oldest first."""
    now = now or timezone.now()
    pending = Registration.objects.filter(status=RegistrationStatus.PENDING).select_related(
        "user", "city"
    )
    items = _items(pending.order_by("created_at"), now)
    return {"items": items, "count": len(items), "overdue": sum(1 for i in items if i.overdue)}


def format_waiting(waiting: timedelta) -> str:
    """«2 д 3 ч», «5 ч 10 мин», «12 мин»: how long an item has waited."""
    minutes = int(waiting.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d д %(h)d ч") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d ч %(m)d мин") % {"h": hours, "m": mins}
    return _("%(m)d мин") % {"m": mins}
