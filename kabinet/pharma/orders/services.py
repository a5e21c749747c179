"""Cart and order writes (SPEC P-ORD-1 … P-ORD-4, P-NEXT-1, P-NEXT-3).

Stock: `place_order` locks the serving warehouse's offers of the cart's products in
primary-key order (so two orders never wait on each other crosswise), allocates series
first-expiring-first-out under that lock and raises `Offer.reserved`; the database's
`reserved ≤ quantity` constraint is the last line of defence. Cancelling releases the
reservations, shipping consumes them (quantity and reserved fall together).

A deferred order must fit under the organisation's credit limit (`payments.credit`, checked
under the organisation's row lock). Not here: payment itself (`payments.services`),
back-office pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.accounts.models import User
from kabinet.core.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from kabinet.core.money import format_rub
from kabinet.notifications.services import notify
from kabinet.pharma import selectors as partner_selectors
from kabinet.pharma.catalog.models import Offer, Product
from kabinet.pharma.catalog.pricing import CeilingExceeded
from kabinet.pharma.catalog.selectors import day_text
from kabinet.pharma.models import Authority, PartnerUser
from kabinet.pharma.orders import rules
from kabinet.pharma.orders import selectors as order_selectors
from kabinet.pharma.orders.models import (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    PaymentMethod,
    Reservation,
    ReservationState,
)
from kabinet.pharma.payments import credit
from kabinet.pharma.payments import services as payment_services
from kabinet.pharma.payments.models import Payment, PaymentState
from kabinet.pharma.payments.providers import online_payment_enabled


class OutOfStock(RuleViolation):
    """Some lines cannot be fully served from the warehouse; nothing was reserved."""

    default_code = "out_of_stock"

    def __init__(self, message: str, *, short: dict[str, int]):
        super().__init__(message)
        # Product code → packs missing.
        self.short = short


class LicenceRequired(RuleViolation):
    """The organisation lacks a valid licence for some products (P-NEXT-1)."""

    default_code = "licence_required"

    def __init__(self, message: str, *, reasons: dict[str, list[str]]):
        super().__init__(message)
        # Product code → the Russian reasons.
        self.reasons = reasons


class BelowMinimumOrder(RuleViolation):
    default_code = "below_minimum_order"


# --- cart -----------------------------------------------------------------------------------


def _locked_cart(partner: PartnerUser, address_id: int) -> Cart:
    """The partner's cart for the address, created if need be, locked for this transaction."""
    partner_selectors.require_authority(partner, Authority.ORDER)
    address = partner_selectors.address_of(partner, address_id)
    cart, _created = Cart.objects.get_or_create(
        organisation_id=partner.organisation_id, address=address
    )
    return Cart.objects.select_for_update().get(pk=cart.pk)


def orderable_product(product_code: str) -> Product:
    """The product with the code, if it may be ordered; NotFound or RuleViolation if not."""
    product = Product.objects.filter(code=product_code).first()
    if product is None:
        raise NotFound(_("Товар не найден."))
    if not product.is_active:
        raise RuleViolation(_("Товар снят с продажи."), code="product_inactive")
    return product


def check_quantity(product: Product, quantity: object) -> None:
    """ValidationFailed with the Russian reason when the packs break the quantity rules."""
    problem = rules.quantity_problem(quantity=quantity, order_multiple=product.order_multiple)
    if problem:
        raise ValidationFailed(problem, field="quantity")


def _put(cart: Cart, product: Product, quantity: int) -> CartLine:
    line, created = CartLine.objects.get_or_create(
        cart=cart, product=product, defaults={"quantity": quantity}
    )
    if not created:
        line.quantity = quantity
        line.save(update_fields=["quantity"])
    cart.updated_at = timezone.now()
    cart.save(update_fields=["updated_at"])
    return line


@transaction.atomic
def add_to_cart(
    *, partner: PartnerUser, address_id: int, product_code: str, quantity: int
) -> CartLine:
    """Add packs of a product to the address's cart (on top of what is already there)."""
    cart = _locked_cart(partner, address_id)
    product = orderable_product(product_code)
    check_quantity(product, quantity)
    existing = CartLine.objects.filter(cart=cart, product=product).first()
    total = quantity + (existing.quantity if existing else 0)
    check_quantity(product, total)
    return _put(cart, product, total)


@transaction.atomic
def set_cart_quantity(
    *, partner: PartnerUser, address_id: int, product_code: str, quantity: int
) -> CartLine | None:
    """Set a cart line's packs; 0 removes the line (and returns None)."""
    cart = _locked_cart(partner, address_id)
    if quantity == 0 and not isinstance(quantity, bool):
        CartLine.objects.filter(cart=cart, product__code=product_code).delete()
        return None
    product = orderable_product(product_code)
    check_quantity(product, quantity)
    return _put(cart, product, quantity)


@transaction.atomic
def remove_from_cart(*, partner: PartnerUser, address_id: int, product_code: str) -> None:
    """Remove a product from the address's cart; removing an absent one is not an error."""
    cart = _locked_cart(partner, address_id)
    CartLine.objects.filter(cart=cart, product__code=product_code).delete()


@dataclass
class CartFill:
    """What putting several products into a cart did (a reorder, a saved list «В корзину»)."""

    cart: Cart
    added: list[Product] = field(default_factory=list)
    # Product code → packs in the cart now, for the added products.
    in_cart: dict[str, int] = field(default_factory=dict)
    # Product code → why it was not put in.
    skipped: dict[str, str] = field(default_factory=dict)
    # Product code → a caveat about an added product (the warehouse has fewer free packs).
    warnings: dict[str, str] = field(default_factory=dict)


# The name `reorder`'s callers know its result by.
ReorderResult = CartFill


@transaction.atomic
def add_lines_to_cart(
    *,
    partner: PartnerUser,
    address_id: int,
    items: Sequence[tuple[Product, int]],
    refused: Mapping[int, str] | None = None,
) -> CartFill:
    """Add packs of several products on top of the address's cart, reporting each one left out.

    A product is left out, with the Russian reason, when it is withdrawn, when `refused` names
    it (product id → reason), or when the cart's total would break the quantity rules; the
    others are added.
    """
    cart = _locked_cart(partner, address_id)
    result = CartFill(cart=cart)
    refused = refused or {}
    existing = {line.product_id: line.quantity for line in CartLine.objects.filter(cart=cart)}
    for product, quantity in items:
        if not product.is_active:
            result.skipped[product.code] = _("Товар снят с продажи.")
            continue
        if product.pk in refused:
            result.skipped[product.code] = refused[product.pk]
            continue
        total = existing.get(product.pk, 0) + quantity
        problem = rules.quantity_problem(quantity=total, order_multiple=product.order_multiple)
        if problem:
            result.skipped[product.code] = problem
            continue
        _put(cart, product, total)
        existing[product.pk] = total
        result.added.append(product)
        result.in_cart[product.code] = total
    return result


@transaction.atomic
def reorder(*, partner: PartnerUser, order_id: int) -> ReorderResult:
    """Put an order's products back into the cart of its address, on top of what is there."""
    partner_selectors.require_authority(partner, Authority.ORDER)
    order = order_selectors.order_of(partner, order_id)
    return add_lines_to_cart(
        partner=partner,
        address_id=order.address_id,
        items=[
            (line.product, line.quantity)
            for line in order.lines.select_related("product").order_by("id")
        ],
    )


# --- placing an order -----------------------------------------------------------------------


def _product_names(products: list[Product]) -> str:
    return ", ".join(f"«{p.trade_name}»" for p in products)


def place_order(
    *,
    partner: PartnerUser,
    address_id: int,
    payment_method: str,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """Turn the address's cart into an order with its stock reserved, in one transaction.

    The same `idempotency_key` of one organisation returns the order it already placed.
    """
    if payment_method not in PaymentMethod.values:
        raise ValidationFailed(_("Неизвестный способ оплаты."), field="payment_method")
    if payment_method == PaymentMethod.ONLINE and not online_payment_enabled():
        raise ValidationFailed(
            _("Онлайн-оплата не подключена: выберите оплату по счёту."), field="payment_method"
        )
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise ValidationFailed(_("Слишком длинный ключ идемпотентности."), field="idempotency_key")
    try:
        with transaction.atomic(durable=True):
            return _place_order(
                partner=partner,
                address_id=address_id,
                payment_method=payment_method,
                now=now or timezone.now(),
                key=key,
            )
    except IntegrityError:
        # A retry with the same key won the race to insert: it placed the order.
        existing = _order_by_key(partner, key)
        if existing is None:
            raise
        return existing


def _order_by_key(partner: PartnerUser, key: str) -> Order | None:
    if not key:
        return None
    return Order.objects.filter(
        organisation_id=partner.organisation_id, idempotency_key=key
    ).first()


def _place_order(
    *, partner: PartnerUser, address_id: int, payment_method: str, now: datetime, key: str
) -> Order:
    partner_selectors.require_authority(partner, Authority.ORDER)
    address = partner_selectors.address_of(partner, address_id)
    # The cart's lock makes two clicks on «Оформить» place one order, not two.
    cart = (
        Cart.objects.select_for_update()
        .filter(organisation_id=partner.organisation_id, address=address)
        .first()
    )
    existing = _order_by_key(partner, key)
    if existing is not None:
        return existing
    cart_lines = (
        list(CartLine.objects.filter(cart=cart).select_related("product").order_by("id"))
        if cart
        else []
    )
    if not cart_lines:
        raise RuleViolation(_("Корзина пуста."), code="cart_empty")

    organisation = partner.organisation
    view = order_selectors.price_lines(
        organisation=organisation,
        address=address,
        items=[(line.product, line.quantity) for line in cart_lines],
        now=now,
    )
    if view.serving is None:
        raise RuleViolation(
            _("Адрес доставки не обслуживается ни одним филиалом."), code="address_not_served"
        )
    inactive = [line.product for line in view.lines if not line.product.is_active]
    if inactive:
        raise RuleViolation(
            _("Сняты с продажи: %(names)s. Удалите их из корзины.")
            % {"names": _product_names(inactive)},
            code="product_inactive",
        )
    unpriced = [line.product for line in view.lines if line.quote is None]
    if unpriced:
        raise RuleViolation(
            _("Нет цены для вашей организации: %(names)s.") % {"names": _product_names(unpriced)},
            code="no_price",
        )
    over = [
        f"«{line.product.trade_name}»: {line.quote.violation}"
        for line in view.lines
        if line.quote is not None and line.quote.violation
    ]
    if over:
        raise CeilingExceeded("; ".join(over))
    for line in view.lines:
        check_quantity(line.product, line.quantity)
    unlicensed = {
        line.product.code: line.licence_problems for line in view.lines if line.licence_problems
    }
    if unlicensed:
        by_code = {line.product.code: line.product for line in view.lines}
        raise LicenceRequired(
            " ".join(
                f"«{by_code[code].trade_name}»: {' '.join(reasons)}"
                for code, reasons in unlicensed.items()
            ),
            reasons=unlicensed,
        )
    if not view.min_order_reached:
        raise BelowMinimumOrder(
            _("Минимальная сумма заказа для филиала «%(branch)s» — %(min)s, в корзине — %(sum)s.")
            % {
                "branch": view.serving.branch.name,
                "min": format_rub(view.min_order_kopecks),
                "sum": format_rub(view.totals.total_kopecks),
            }
        )

    if payment_method == PaymentMethod.DEFERRED:
        credit.check_credit_limit(
            organisation_id=organisation.pk, total_kopecks=view.totals.total_kopecks
        )

    warehouse = view.serving.warehouse
    allocations = _allocate(view, warehouse_id=warehouse.pk, today=timezone.localdate(now))

    threshold = organisation.approval_threshold_kopecks
    needs_approval = (
        threshold is not None
        and view.totals.total_kopecks > threshold
        and not partner.has_authority(Authority.MANAGE)
    )
    status = OrderStatus.AWAITING_APPROVAL if needs_approval else OrderStatus.NEW
    order = Order.objects.create(
        organisation=organisation,
        address=address,
        warehouse=warehouse,
        placed_by=partner.user,
        status=status,
        payment_method=payment_method,
        goods_kopecks=view.totals.goods_kopecks,
        discount_kopecks=view.totals.discount_kopecks,
        total_kopecks=view.totals.total_kopecks,
        vat_kopecks=view.totals.vat_kopecks,
        delivery_date=view.delivery.date if view.delivery else None,
        idempotency_key=key,
        created_at=now,
        updated_at=now,
    )
    order.number = Order.number_for(pk=order.pk, year=timezone.localdate(now).year)
    order.save(update_fields=["number"])

    reservations: list[Reservation] = []
    for line in view.lines:
        assert line.quote is not None
        order_line = OrderLine.objects.create(
            order=order,
            product=line.product,
            quantity=line.quantity,
            price_kopecks=line.quote.price_kopecks,
            list_price_kopecks=line.quote.list_price_kopecks,
            vat_percent=line.product.vat_percent,
            promotion_title=line.quote.promotion.title if line.quote.promotion else "",
        )
        reservations.extend(
            Reservation(line=order_line, offer_id=offer_id, quantity=n)
            for offer_id, n in allocations[line.product.pk]
        )
    Reservation.objects.bulk_create(reservations)
    OrderStatusChange.objects.create(
        order=order, from_status="", to_status=status, by=partner.user, at=now
    )
    CartLine.objects.filter(cart=cart).delete()
    _notify(order, template="pharma_order_placed", extra={"needs_approval": needs_approval})
    return order


def _allocate(
    view: order_selectors.CartView, *, warehouse_id: int, today: Any
) -> dict[int, list[tuple[int, int]]]:
    """Lock the offers, allocate every line FEFO and reserve; OutOfStock reserves nothing."""
    product_ids = [line.product.pk for line in view.lines]
    # Primary-key order: every order locks offers in the same sequence, so none deadlock.
    offers = list(
        Offer.objects.select_for_update()
        .filter(warehouse_id=warehouse_id, product_id__in=product_ids)
        .order_by("pk")
    )
    lots: dict[int, list[rules.Lot]] = defaultdict(list)
    for offer in offers:
        if offer.expires_on >= today:
            lots[offer.product_id].append(
                rules.Lot(key=offer.pk, expires_on=offer.expires_on, free=offer.free)
            )
    allocations: dict[int, list[tuple[int, int]]] = {}
    short: list[tuple[Product, int]] = []
    for line in view.lines:
        allocation = rules.allocate_fefo(lots=lots[line.product.pk], quantity=line.quantity)
        if allocation.shortfall:
            short.append((line.product, allocation.shortfall))
        allocations[line.product.pk] = list(allocation.taken)
    if short:
        raise OutOfStock(
            _("Недостаточно товара на складе: %(items)s.")
            % {
                "items": ", ".join(
                    _("«%(name)s» — не хватает %(n)d уп.") % {"name": p.trade_name, "n": n}
                    for p, n in short
                )
            },
            short={p.code: n for p, n in short},
        )
    taken = sorted((offer_id, n) for pairs in allocations.values() for offer_id, n in pairs)
    for offer_id, n in taken:
        # Under the lock this always matches; the condition keeps the invariant explicit.
        updated = Offer.objects.filter(pk=offer_id, quantity__gte=F("reserved") + n).update(
            reserved=F("reserved") + n
        )
        if updated != 1:
            raise Conflict(_("Остатки изменились во время оформления. Попробуйте ещё раз."))
    return allocations


# --- statuses -------------------------------------------------------------------------------


def _held(order: Order) -> list[Reservation]:
    return list(
        Reservation.objects.filter(line__order=order, state=ReservationState.HELD).order_by(
            "offer_id"
        )
    )


def _release(order: Order) -> None:
    for reservation in _held(order):
        Offer.objects.filter(pk=reservation.offer_id).update(
            reserved=F("reserved") - reservation.quantity
        )
    Reservation.objects.filter(line__order=order, state=ReservationState.HELD).update(
        state=ReservationState.RELEASED
    )


def _consume(order: Order) -> None:
    for reservation in _held(order):
        Offer.objects.filter(pk=reservation.offer_id).update(
            quantity=F("quantity") - reservation.quantity,
            reserved=F("reserved") - reservation.quantity,
        )
    Reservation.objects.filter(line__order=order, state=ReservationState.HELD).update(
        state=ReservationState.SHIPPED
    )


@transaction.atomic
def change_status(*, order: Order, to: str, by: User | None, comment: str = "") -> Order:
    """Move an order along its statuses; cancelling releases stock, shipping consumes it."""
    if to not in OrderStatus.values:
        raise ValidationFailed(_("Неизвестный статус заказа."), field="status")
    locked = Order.objects.select_for_update().get(pk=order.pk)
    current = locked.status
    if not rules.can_transition(current, to):
        raise Conflict(
            _("Заказ в статусе «%(current)s» нельзя перевести в статус «%(to)s».")
            % {"current": OrderStatus(current).label, "to": OrderStatus(to).label},
            code="bad_transition",
        )
    if to == OrderStatus.CANCELLED:
        _release(locked)
        # Money already paid goes back, pending payments are withdrawn: by a job queued in this
        # transaction, since a provider is never called under the order's lock.
        if (
            locked.paid_kopecks
            or Payment.objects.filter(order=locked, status=PaymentState.PENDING).exists()
        ):
            payment_services.enqueue_settlement(locked.pk)
    elif to == OrderStatus.SHIPPED:
        _consume(locked)
    now = timezone.now()
    locked.status = to
    locked.updated_at = now
    locked.save(update_fields=["status", "updated_at"])
    OrderStatusChange.objects.create(
        order=locked, from_status=current, to_status=to, by=by, at=now, comment=comment.strip()
    )
    _notify(locked, template="pharma_order_status", extra={"comment": comment.strip()})
    order.status, order.updated_at = locked.status, locked.updated_at
    return locked


def cancel_order(*, partner: PartnerUser, order_id: int) -> Order:
    """The partner cancels an order of their organisation; possible only before assembly.

    What was paid online is refunded right after the commit (the queued job is the backstop).
    """
    with transaction.atomic(durable=True):
        partner_selectors.require_authority(partner, Authority.ORDER)
        order = order_selectors.order_of(partner, order_id)
        if not rules.can_cancel(order.status):
            raise RuleViolation(
                _("Заказ в статусе «%(status)s» отменить нельзя: отмена возможна только до сборки.")
                % {"status": order.get_status_display()},
                code="too_late_to_cancel",
            )
        order = change_status(
            order=order, to=OrderStatus.CANCELLED, by=partner.user, comment=_("Отменён партнёром.")
        )
    payment_services.settle_order_now(order_id=order.pk)
    order.refresh_from_db()
    return order


def approve_order(*, partner: PartnerUser, order_id: int) -> Order:
    """A partner administrator approves an order above the organisation's threshold."""
    with transaction.atomic(durable=True):
        partner_selectors.require_authority(partner, Authority.MANAGE)
        order = order_selectors.order_of(partner, order_id)
        if order.status != OrderStatus.AWAITING_APPROVAL:
            raise Conflict(_("Заказ не ждёт согласования."), code="not_awaiting_approval")
        return change_status(
            order=order, to=OrderStatus.NEW, by=partner.user, comment=_("Согласован.")
        )


# --- e-mail ---------------------------------------------------------------------------------


def _notify(order: Order, *, template: str, extra: dict[str, Any]) -> None:
    """E-mail the user who placed the order; queued in the caller's transaction."""
    user = order.placed_by
    if not user.email:
        return
    lines = [
        {
            "name": str(line.product),
            "quantity": line.quantity,
            "amount": format_rub(line.amount_kopecks),
        }
        for line in order.lines.select_related("product").order_by("id")
    ]
    notify(
        channel="email",
        to=user.email,
        template=template,
        context={
            "number": order.number,
            "status": OrderStatus(order.status).label,
            "total": format_rub(order.total_kopecks),
            "vat": format_rub(order.vat_kopecks),
            "delivery_date": day_text(order.delivery_date) if order.delivery_date else "",
            "address": str(order.address),
            "payment_method": PaymentMethod(order.payment_method).label,
            "lines": lines,
            # A cancelled or delivered order has no date to wait for.
            "final": order.status in (OrderStatus.CANCELLED, OrderStatus.DELIVERED),
            **extra,
        },
    )
