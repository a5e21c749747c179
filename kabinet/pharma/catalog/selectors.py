"""Catalog reads: which branch and warehouse serve an address, what is free there, and when an
order can arrive (SPEC P-ORD-5, P-NET-1, P-NEXT-2).

Who may see which address is decided in `kabinet.pharma.selectors`; this module builds on it
and caches nothing across requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import F, Q, QuerySet, Sum
from django.utils import dateformat, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kabinet.geo.models import City
from kabinet.pharma import selectors as partner_selectors
from kabinet.pharma.catalog import delivery
from kabinet.pharma.catalog.models import Holiday, Offer, Product, ServedCity, Warehouse
from kabinet.pharma.catalog.text import normalise
from kabinet.pharma.models import Branch, DeliveryAddress, PartnerUser

# Holidays are read this far ahead; a date search running past it would need more than a
# month and a half of holidays in a row.
HOLIDAY_HORIZON = timedelta(days=60)


@dataclass(frozen=True)
class Serving:
    """The branch and warehouse that serve a city, and its delivery schedule there.

    `schedule` is None when the branch has no schedule or no delivery weekdays yet: stock is
    known, dates are not.
    """

    branch: Branch
    warehouse: Warehouse
    transit_days: int
    schedule: delivery.Schedule | None
    min_order_kopecks: int


def serving_for_city(city: City, *, now: datetime | None = None) -> Serving | None:
    """The serving branch's main warehouse and schedule; None when no branch serves the city."""
    return _serving(city_id=city.pk, now=now or timezone.now())


def serving_for_address(address: DeliveryAddress, *, now: datetime | None = None) -> Serving | None:
    return _serving(city_id=address.city_id, now=now or timezone.now())


def _serving(*, city_id: int, now: datetime) -> Serving | None:
    served = (
        ServedCity.objects.select_related("branch__city", "branch__schedule")
        .filter(city_id=city_id)
        .first()
    )
    if served is None:
        return None
    branch = served.branch
    # The main warehouse; a branch that has only secondary ones still ships from the first.
    warehouse = Warehouse.objects.filter(branch=branch).order_by("-is_main", "name", "id").first()
    if warehouse is None:
        return None
    branch_schedule = getattr(branch, "schedule", None)
    weekdays = _weekdays(branch_schedule.delivery_weekdays if branch_schedule else [])
    schedule = None
    if branch_schedule is not None and weekdays:
        # A day before "now" in UTC covers every local date of a Russian time zone.
        since = now.date() - timedelta(days=1)
        holidays = frozenset(
            Holiday.objects.filter(
                Q(branch__isnull=True) | Q(branch=branch),
                day__gte=since,
                day__lte=since + HOLIDAY_HORIZON,
            ).values_list("day", flat=True)
        )
        schedule = delivery.Schedule(
            time_zone=branch.city.timezone,
            delivery_weekdays=weekdays,
            cutoff=branch_schedule.cutoff,
            assembly_days=branch_schedule.assembly_days,
            transit_days=served.transit_days,
            holidays=holidays,
        )
    return Serving(
        branch=branch,
        warehouse=warehouse,
        transit_days=served.transit_days,
        schedule=schedule,
        min_order_kopecks=branch_schedule.min_order_kopecks if branch_schedule else 0,
    )


def _weekdays(raw: object) -> frozenset[int]:
    """The valid ISO weekdays of a stored list; a back-office typo leaves dates unknown."""
    if not isinstance(raw, list):
        return frozenset()
    return frozenset(d for d in raw if isinstance(d, int) and 1 <= d <= 7)


# --- addresses: authorization lives in kabinet.pharma.selectors ----------------------------


def default_address(partner: PartnerUser) -> DeliveryAddress | None:
    """The partner's organisation's first address by name, the one a cabinet starts with."""
    return partner_selectors.addresses_of(partner).order_by("name", "id").first()


def address_of(partner: PartnerUser, address_id: int) -> DeliveryAddress:
    """An address of the partner's organisation; NotFound for anyone else's."""
    return partner_selectors.address_of(partner, address_id)


# --- delivery date for the product card and cart --------------------------------------------


@dataclass(frozen=True)
class DeliveryInfo:
    """The nearest delivery date and the deadline for it, in the branch's local time."""

    date: dt.date
    # Aware, in the branch's time zone. Django's `date` filter would show it in the
    # site's time zone; `cutoff_text` shows the branch's wall clock.
    cutoff_at: datetime
    branch_name: str
    # The next few dates, the first being `date`, for the cart's choice.
    options: tuple[dt.date, ...]
    as_of: datetime

    @property
    def day_text(self) -> str:
        """«пт, 27 ноября»."""
        return day_text(self.date)

    @property
    def cutoff_text(self) -> str:
        """«сегодня до 16:00», «завтра до 16:00», «до 16:00, пн, 30 ноября»."""
        local_now = self.as_of.astimezone(self.cutoff_at.tzinfo).date()
        clock = f"{self.cutoff_at:%H:%M}"
        day = self.cutoff_at.date()
        if day == local_now:
            return _("сегодня до %(time)s") % {"time": clock}
        if day == local_now + timedelta(days=1):
            return _("завтра до %(time)s") % {"time": clock}
        return _("до %(time)s, %(day)s") % {"time": clock, "day": day_text(day)}

    @property
    def text(self) -> str:
        """«Закажите сегодня до 16:00 — доставим пт, 27 ноября»."""
        return _("Закажите %(when)s — доставим %(day)s") % {
            "when": self.cutoff_text,
            "day": self.day_text,
        }


def day_text(day: date) -> str:
    """A short weekday and the date, «пт, 27 ноября» in Russian, «Fri, 27 November» in English."""
    text = dateformat.format(day, "D, j E")
    # Russian writes weekday names in lower case mid-sentence; Django's abbreviations are
    # capitalised for the start of a line.
    if (get_language() or "ru").startswith("ru"):
        text = text[:1].lower() + text[1:]
    return text


def nearest_delivery(*, serving: Serving, now: datetime) -> DeliveryInfo | None:
    """When an order placed `now` arrives at the served address; None without a schedule."""
    schedule = serving.schedule
    if schedule is None:
        return None
    options = delivery.delivery_dates(ordered_at=now, schedule=schedule, count=3)
    return DeliveryInfo(
        date=options[0],
        cutoff_at=delivery.cutoff_at(ordered_at=now, schedule=schedule),
        branch_name=serving.branch.name,
        options=tuple(options),
        as_of=now,
    )


# --- stock ----------------------------------------------------------------------------------


def free_stock(
    *, warehouse: Warehouse, product_ids: Sequence[int], today: date | None = None
) -> dict[int, int]:
    """Free packs (quantity − reserved) per product at a warehouse, 0 for none; one query.

    Expired series are left out: they cannot be sold.
    """
    today = today or timezone.localdate()
    free = {pk: 0 for pk in product_ids}
    if not free:
        return free
    rows = (
        Offer.objects.filter(warehouse=warehouse, product_id__in=free, expires_on__gte=today)
        .values("product_id")
        .annotate(free_packs=Sum(F("quantity") - F("reserved")))
        .order_by()
    )
    for row in rows:
        free[row["product_id"]] = row["free_packs"] or 0
    return free


def offers_for(
    *, product: Product, warehouse: Warehouse | None, today: date | None = None
) -> list[Offer]:
    """The product's series with free packs at the warehouse, soonest expiry first.

    Expired and fully reserved series are left out; `Offer.free` is what may be ordered.
    No warehouse (the address is not served) means nothing to offer.
    """
    if warehouse is None:
        return []
    today = today or timezone.localdate()
    return list(
        Offer.objects.filter(
            product=product,
            warehouse=warehouse,
            expires_on__gte=today,
            quantity__gt=F("reserved"),
        ).order_by("expires_on", "series", "id")
    )


# --- the back office's stock (P-BO-2) -------------------------------------------------------


@dataclass(frozen=True)
class StockFilter:
    """What the stock page narrows to; empty means everything."""

    warehouse_id: int | None = None
    query: str = ""
    expiring_within_days: int | None = None
    reserved_only: bool = False


def stock(criteria: StockFilter, *, today: date) -> QuerySet[Offer]:
    """Series in stock by warehouse and product, the columns the stock page shows.

    Ordered by product then warehouse along the (product, warehouse, series) unique index, so
    a page of 177 000 series costs an index walk, not a sort; the «expiring» filter sorts by
    expiry instead, over the few series it keeps.
    """
    offers = Offer.objects.select_related("product", "warehouse").only(
        "series",
        "expires_on",
        "quantity",
        "reserved",
        "product__code",
        "product__trade_name",
        "product__form",
        "product__dosage",
        "product__pack",
        "warehouse__name",
    )
    if criteria.warehouse_id is not None:
        offers = offers.filter(warehouse_id=criteria.warehouse_id)
    query = criteria.query.strip()
    if query:
        words = normalise(query).split()
        by_name = Q()
        for word in words:
            by_name &= Q(product__search_text__contains=word)
        offers = offers.filter(Q(product__code__iexact=query) | (by_name if words else Q(pk=None)))
    if criteria.reserved_only:
        offers = offers.filter(reserved__gt=0)
    if criteria.expiring_within_days is not None:
        until = today + timedelta(days=criteria.expiring_within_days)
        return offers.filter(expires_on__lte=until).order_by(
            "expires_on", "product_id", "warehouse_id", "series"
        )
    return offers.order_by("product_id", "warehouse_id", "expires_on", "series")
