"""An organisation's prices on a day (SPEC P-CAT-3, P-CAT-4): price lists, discounts, ceilings.

The list price: the organisation's price group's list, else the base list; a product missing
from the group's list falls back to the base list.

Discounts do not stack, as with a typical distributor: the organisation's own discount and
the best running promotion on the product are each worked out on the list price, and the
partner gets the larger of the two (on a tie, the promotion — it is what the banners promise).
A percentage discount is rounded half-up to the kopeck (12,345 → 12,35; the price is the list
price minus that); a fixed promotion takes its kopecks off each pack. Either way the price
stays at least 1 kopeck.

ЖНВЛП: the final price is checked against the ceiling (`ceilings`) of the delivery region's
markups; with no region — or a region whose markups were never entered — against the
strictest markups of all regions, so a missing regional decision never lets a price through
unchecked. With no markups at all the ceiling is unknown (None) and nothing is refused.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.db.models import F, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import RuleViolation, ValidationFailed
from kabinet.geo.models import Region
from kabinet.pharma.catalog import ceilings
from kabinet.pharma.catalog.ceilings import MarkupBands
from kabinet.pharma.catalog.models import (
    Price,
    PriceGroup,
    PriceList,
    Product,
    Promotion,
    PromotionKind,
    WholesaleMarkup,
)
from kabinet.pharma.models import Organisation


class CeilingExceeded(RuleViolation):
    """A ЖНВЛП price above its registered price plus the regional markup plus VAT."""

    default_code = "price_over_ceiling"


@dataclass(frozen=True, slots=True)
class PromotionRef:
    id: int
    title: str


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """One product's price for an organisation on a day, and why it is what it is."""

    product_id: int
    list_price_kopecks: int
    price_kopecks: int
    discount_kopecks: int
    promotion: PromotionRef | None
    organisation_discount_applied: bool
    # The ЖНВЛП ceiling with VAT when markups are known; None for other goods.
    ceiling_kopecks: int | None
    # The Russian reason when the price is over the ceiling: such a line must be refused.
    violation: str | None


# --- pure arithmetic ------------------------------------------------------------------------


def percent_discount_kopecks(*, list_price_kopecks: int, percent: Decimal) -> int:
    """The list price × percent, rounded half-up to the kopeck, leaving at least 1 kopeck."""
    exact = Fraction(list_price_kopecks) * Fraction(percent) / 100
    return max(0, min(math.floor(exact + Fraction(1, 2)), list_price_kopecks - 1))


def fixed_discount_kopecks(*, list_price_kopecks: int, amount_kopecks: int) -> int:
    """Kopecks off a pack, leaving at least 1 kopeck."""
    return max(0, min(amount_kopecks, list_price_kopecks - 1))


def promotion_discount_kopecks(*, list_price_kopecks: int, promotion: Promotion) -> int:
    if promotion.kind == PromotionKind.FIXED:
        return fixed_discount_kopecks(
            list_price_kopecks=list_price_kopecks, amount_kopecks=promotion.amount_kopecks or 0
        )
    return percent_discount_kopecks(
        list_price_kopecks=list_price_kopecks, percent=promotion.percent or Decimal(0)
    )


# --- markups --------------------------------------------------------------------------------


def load_markups(day: date) -> dict[int, MarkupBands]:
    """Every region's markups in force on the day, by region id: one query.

    An import loads this once and passes it to `check_price_for_list` for every row.
    """
    rows: dict[int, list[WholesaleMarkup]] = defaultdict(list)
    for markup in WholesaleMarkup.objects.filter(effective_from__lte=day):
        rows[markup.region_id].append(markup)
    found = {region_id: ceilings.bands_on(records, day) for region_id, records in rows.items()}
    return {region_id: bands for region_id, bands in found.items() if bands is not None}


def strictest_bands(markups: Mapping[int, MarkupBands]) -> MarkupBands | None:
    """The smallest markup of each band over all regions (for lists and quotes without one)."""
    return ceilings.strictest(markups.values())


def bands_for_region(
    markups: Mapping[int, MarkupBands], region_id: int | None
) -> MarkupBands | None:
    """The region's markups; the strictest when there is no region or it has none."""
    if region_id is not None and region_id in markups:
        return markups[region_id]
    return strictest_bands(markups)


def _violation(
    product: Product, price_kopecks: int, bands: MarkupBands | None
) -> tuple[int | None, str | None]:
    if not product.jnvlp or not product.registered_price_kopecks or bands is None:
        return None, None
    ceiling = ceilings.ceiling_kopecks(
        registered_price_kopecks=product.registered_price_kopecks,
        bands=bands,
        vat_percent=product.vat_percent,
    )
    if price_kopecks <= ceiling:
        return ceiling, None
    violation = ceilings.check_price(
        price_kopecks=price_kopecks,
        registered_price_kopecks=product.registered_price_kopecks,
        bands=bands,
        vat_percent=product.vat_percent,
    )
    return ceiling, violation.reason if violation else None


# --- promotions -----------------------------------------------------------------------------


def _running(organisation: Organisation, day: date) -> QuerySet[Promotion]:
    groups = Q(price_groups__isnull=True)
    if organisation.price_group_id is not None:
        groups |= Q(price_groups=organisation.price_group_id)
    return (
        Promotion.objects.filter(is_active=True, starts_on__lte=day, ends_on__gte=day)
        .filter(groups)
        .distinct()
    )


def running_promotions(*, organisation: Organisation, day: date) -> list[Promotion]:
    """Promotions running on the day for the organisation's price group (for banners)."""
    return list(_running(organisation, day).order_by("ends_on", "title", "id"))


def _targets(
    promotion_ids: list[int], product_ids: list[int], manufacturer_ids: list[int]
) -> list[tuple[int, str, int, str]]:
    """(promotion id, 'p'/'m'/'c', target id, category path) of the promotions: one query."""
    columns = ("promotion_id", "kind", "target", "cpath")
    by_product = (
        Promotion.products.through.objects.filter(
            promotion_id__in=promotion_ids, product_id__in=product_ids
        )
        .annotate(kind=Value("p"), target=F("product_id"), cpath=Value(""))
        .values_list(*columns)
    )
    by_manufacturer = (
        Promotion.manufacturers.through.objects.filter(
            promotion_id__in=promotion_ids, manufacturer_id__in=manufacturer_ids
        )
        .annotate(kind=Value("m"), target=F("manufacturer_id"), cpath=Value(""))
        .values_list(*columns)
    )
    by_category = (
        Promotion.categories.through.objects.filter(promotion_id__in=promotion_ids)
        .annotate(kind=Value("c"), target=F("category_id"), cpath=F("category__path"))
        .values_list(*columns)
    )
    return list(by_product.union(by_manufacturer, by_category, all=True))


# --- quotes ---------------------------------------------------------------------------------


def _list_prices(organisation: Organisation, product_ids: list[int]) -> dict[int, tuple[int, str]]:
    """product id → (list price, category path): the group's list over the base list."""
    lists = Q(price_list__is_base=True)
    if organisation.price_group_id is not None:
        group_list = PriceGroup.objects.filter(pk=organisation.price_group_id).values(
            "price_list_id"
        )
        lists |= Q(price_list__in=group_list)
    rows = Price.objects.filter(lists, product_id__in=product_ids).values_list(
        "product_id", "price_list__is_base", "price_kopecks", "product__category__path"
    )
    found: dict[int, tuple[int, str]] = {}
    for product_id, is_base, price_kopecks, path in rows:
        if not is_base or product_id not in found:
            found[product_id] = (price_kopecks, path)
    return found


def quote_products(
    *,
    organisation: Organisation,
    products: Sequence[Product],
    day: date,
    region: Region | None = None,
) -> dict[int, PriceQuote]:
    """The organisation's prices of the products on the day, by product id.

    Products without a price in the applicable list are absent. At most four queries
    whatever the number of products: prices, running promotions, their targets, markups.
    """
    by_id = {p.pk: p for p in products}
    if not by_id:
        return {}
    list_prices = _list_prices(organisation, list(by_id))
    if not list_prices:
        return {}
    priced = [by_id[pk] for pk in list_prices]

    promotions = {p.pk: p for p in _running(organisation, day)}
    applicable: dict[int, set[int]] = defaultdict(set)
    if promotions:
        category_targets: list[tuple[int, str]] = []
        manufacturer_targets: dict[int, set[int]] = defaultdict(set)
        for promotion_id, kind, target, path in _targets(
            list(promotions), list(list_prices), list({p.manufacturer_id for p in priced})
        ):
            if kind == "p":
                applicable[target].add(promotion_id)
            elif kind == "m":
                manufacturer_targets[target].add(promotion_id)
            else:
                category_targets.append((promotion_id, path))
        for product in priced:
            path = list_prices[product.pk][1]
            applicable[product.pk] |= manufacturer_targets.get(product.manufacturer_id, set())
            # A promotion on a category covers its whole subtree.
            applicable[product.pk] |= {
                pid for pid, prefix in category_targets if path.startswith(prefix)
            }

    bands = None
    if any(p.jnvlp for p in priced):
        bands = bands_for_region(load_markups(day), region.pk if region else None)

    organisation_percent = Decimal(organisation.discount_percent or 0)
    quotes: dict[int, PriceQuote] = {}
    for product in priced:
        list_price = list_prices[product.pk][0]
        own = (
            percent_discount_kopecks(list_price_kopecks=list_price, percent=organisation_percent)
            if organisation_percent > 0
            else 0
        )
        best: Promotion | None = None
        best_discount = 0
        for promotion_id in sorted(applicable.get(product.pk, ())):
            promotion = promotions[promotion_id]
            discount = promotion_discount_kopecks(
                list_price_kopecks=list_price, promotion=promotion
            )
            if discount > best_discount:
                best, best_discount = promotion, discount
        if best is not None and best_discount >= own:
            discount, promotion_ref, own_applied = (
                best_discount,
                PromotionRef(id=best.pk, title=best.title),
                False,
            )
        else:
            discount, promotion_ref, own_applied = own, None, own > 0
        price = list_price - discount
        ceiling, violation = _violation(product, price, bands)
        quotes[product.pk] = PriceQuote(
            product_id=product.pk,
            list_price_kopecks=list_price,
            price_kopecks=price,
            discount_kopecks=discount,
            promotion=promotion_ref,
            organisation_discount_applied=own_applied,
            ceiling_kopecks=ceiling,
            violation=violation,
        )
    return quotes


# --- writes: the back office and imports ----------------------------------------------------


def check_price_for_list(
    *,
    price_list: PriceList,
    product: Product,
    price_kopecks: int,
    day: date,
    bands_cache: Mapping[int, MarkupBands] | None = None,
) -> str | None:
    """The Russian reason a price may not go into the list, or None.

    Per import row: pass `bands_cache=load_markups(day)`, loaded once, and no row queries.
    """
    if not product.jnvlp or not product.registered_price_kopecks:
        return None
    markups = bands_cache if bands_cache is not None else load_markups(day)
    _ceiling, violation = _violation(
        product, price_kopecks, bands_for_region(markups, price_list.region_id)
    )
    return violation


@transaction.atomic
def set_price(*, price_list: PriceList, product: Product, price_kopecks: int, day: date) -> Price:
    """Put the product's price into the list; refuses a ЖНВЛП price over its ceiling."""
    if price_kopecks <= 0:
        raise ValidationFailed(_("Цена должна быть больше нуля."), field="price_kopecks")
    reason = check_price_for_list(
        price_list=price_list, product=product, price_kopecks=price_kopecks, day=day
    )
    if reason:
        raise CeilingExceeded(reason, field="price_kopecks")
    price, _created = Price.objects.update_or_create(
        price_list=price_list,
        product=product,
        defaults={"price_kopecks": price_kopecks, "updated_at": timezone.now()},
    )
    return price
