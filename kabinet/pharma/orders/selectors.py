"""Cart and order reads; which partner sees which cart and order is decided here.

A partner sees the carts and orders of their own organisation only: anything else is
NotFound, exactly as for an address (`kabinet.pharma.selectors.address_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import NotFound, PermissionDenied
from kabinet.core.money import format_rub
from kabinet.pharma import selectors as partner_selectors
from kabinet.pharma.catalog import pricing
from kabinet.pharma.catalog import selectors as catalog_selectors
from kabinet.pharma.catalog.models import Product
from kabinet.pharma.catalog.pricing import PriceQuote
from kabinet.pharma.catalog.selectors import DeliveryInfo, Serving
from kabinet.pharma.models import Authority, DeliveryAddress, Licence, Organisation, PartnerUser
from kabinet.pharma.orders import rules
from kabinet.pharma.orders.models import Cart, CartLine, Order, OrderStatusChange


@dataclass
class CartLineView:
    product: Product
    quantity: int
    # None when the product has no price for the organisation.
    quote: PriceQuote | None
    free: int
    problems: list[str] = field(default_factory=list)
    # Set apart from `problems` so that placing an order can name its reason precisely.
    licence_problems: list[str] = field(default_factory=list)

    @property
    def amount_kopecks(self) -> int:
        return self.quote.price_kopecks * self.quantity if self.quote else 0

    @property
    def list_amount_kopecks(self) -> int:
        return self.quote.list_price_kopecks * self.quantity if self.quote else 0

    @property
    def short(self) -> int:
        return max(0, self.quantity - self.free)

    @property
    def all_problems(self) -> list[str]:
        return [*self.problems, *self.licence_problems]


@dataclass
class CartView:
    """A priced cart for one delivery address (SPEC P-ORD-2)."""

    address: DeliveryAddress
    serving: Serving | None
    lines: list[CartLineView]
    totals: rules.Totals
    min_order_kopecks: int
    delivery: DeliveryInfo | None
    # Problems of the whole cart (the address is not served, the minimum is not reached).
    problems: list[str] = field(default_factory=list)

    @property
    def min_order_reached(self) -> bool:
        return self.totals.total_kopecks >= self.min_order_kopecks

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def can_place(self) -> bool:
        return (
            bool(self.lines)
            and not self.problems
            and not any(line.all_problems for line in self.lines)
        )


# --- carts ----------------------------------------------------------------------------------


def cart_for(partner: PartnerUser, address_id: int) -> Cart | None:
    """The cart of one of the partner's organisation's addresses; NotFound for another's."""
    address = partner_selectors.address_of(partner, address_id)
    return Cart.objects.filter(organisation_id=partner.organisation_id, address=address).first()


def valid_licence_kinds(organisation: Organisation, day: date) -> frozenset[str]:
    """The licence kinds the organisation holds a valid licence of on the day."""
    kinds: set[str] = set()
    for licence in Licence.objects.filter(organisation=organisation):
        if licence.is_valid_on(day):
            kinds.update(k for k in licence.kinds if isinstance(k, str))
    return frozenset(kinds)


def price_lines(
    *,
    organisation: Organisation,
    address: DeliveryAddress,
    items: list[tuple[Product, int]],
    now: datetime,
) -> CartView:
    """Price (product, quantity) pairs for an address as a cart would show them."""
    day = timezone.localdate(now)
    serving = catalog_selectors.serving_for_address(address, now=now)
    products = [product for product, _quantity in items]
    quotes = pricing.quote_products(
        organisation=organisation, products=products, day=day, region=address.city.region
    )
    free = (
        catalog_selectors.free_stock(
            warehouse=serving.warehouse, product_ids=[p.pk for p in products], today=day
        )
        if serving is not None
        else {}
    )
    kinds = valid_licence_kinds(organisation, day)
    lines: list[CartLineView] = []
    for product, quantity in items:
        line = CartLineView(
            product=product,
            quantity=quantity,
            quote=quotes.get(product.pk),
            free=free.get(product.pk, 0),
        )
        if not product.is_active:
            line.problems.append(_("Товар снят с продажи."))
        if line.quote is None:
            line.problems.append(_("Нет цены для вашей организации."))
        elif line.quote.violation:
            line.problems.append(line.quote.violation)
        quantity_problem = rules.quantity_problem(
            quantity=quantity, order_multiple=product.order_multiple
        )
        if quantity_problem:
            line.problems.append(quantity_problem)
        if serving is not None and line.short:
            line.problems.append(
                _("Недостаточно на складе: свободно %(free)d уп.") % {"free": line.free}
            )
        line.licence_problems = rules.licence_problems(
            prescription_only=product.prescription_only,
            control_class=product.control_class,
            valid_kinds=kinds,
        )
        lines.append(line)

    totals = rules.totals(
        [
            rules.LineMoney(
                quantity=line.quantity,
                price_kopecks=line.quote.price_kopecks,
                list_price_kopecks=line.quote.list_price_kopecks,
                vat_percent=line.product.vat_percent,
            )
            for line in lines
            if line.quote is not None
        ]
    )
    problems: list[str] = []
    min_order = serving.min_order_kopecks if serving else 0
    if serving is None:
        problems.append(_("Адрес доставки не обслуживается ни одним филиалом."))
    elif lines and totals.total_kopecks < min_order:
        problems.append(
            _("Минимальная сумма заказа для филиала «%(branch)s» — %(min)s.")
            % {"branch": serving.branch.name, "min": format_rub(min_order)}
        )
    return CartView(
        address=address,
        serving=serving,
        lines=lines,
        totals=totals,
        min_order_kopecks=min_order,
        delivery=catalog_selectors.nearest_delivery(serving=serving, now=now) if serving else None,
        problems=problems,
    )


def price_cart(*, partner: PartnerUser, address_id: int, now: datetime | None = None) -> CartView:
    """The partner's cart for the address with prices, stock, problems, totals and dates."""
    partner_selectors.require_authority(partner, Authority.ORDER)
    address = partner_selectors.address_of(partner, address_id)
    cart = Cart.objects.filter(organisation_id=partner.organisation_id, address=address).first()
    lines = (
        list(
            CartLine.objects.filter(cart=cart).select_related("product").order_by("added_at", "id")
        )
        if cart
        else []
    )
    return price_lines(
        organisation=partner.organisation,
        address=address,
        items=[(line.product, line.quantity) for line in lines],
        now=now or timezone.now(),
    )


# --- orders ---------------------------------------------------------------------------------


# Who may see the organisation's orders: those who place them and those who pay them (an
# accountant with «Оплата» alone opens the order to pay it or take its invoice). Changing an
# order (cancel, reorder, approve) needs ORDER or MANAGE on top, checked by its service.
ORDER_VIEWERS = (Authority.ORDER, Authority.PAY)


def may_view_orders(partner: PartnerUser) -> bool:
    return any(partner.has_authority(a) for a in ORDER_VIEWERS)


def orders_of(partner: PartnerUser) -> QuerySet[Order]:
    """The partner's organisation's orders, newest first; PermissionDenied without ORDER or PAY."""
    if not may_view_orders(partner):
        raise PermissionDenied(_("У вас нет полномочий на это действие."))
    return Order.objects.filter(organisation_id=partner.organisation_id).select_related(
        "address", "address__city"
    )


def order_of(partner: PartnerUser, order_id: int) -> Order:
    """An order of the partner's organisation; NotFound for anyone else's."""
    found = orders_of(partner).filter(pk=order_id).first()
    if found is None:
        raise NotFound(_("Заказ не найден."))
    return found


def history_of(order: Order) -> QuerySet[OrderStatusChange]:
    return OrderStatusChange.objects.filter(order=order).select_related("by").order_by("at", "id")
