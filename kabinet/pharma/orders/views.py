"""Cart and order pages of the partner cabinet (SPEC P-ORD-1, P-ORD-2, P-ORD-4).

Thin: forms parse, `orders.services` change carts and orders, `orders.selectors` read them.
Every POST redirects (the form is never re-posted by reloading); refusals become messages.
The delivery address is the one the catalog chose (`pharma_address_id` in the session).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kabinet.core.errors import Conflict, RuleViolation, ValidationFailed
from kabinet.core.money import format_rub
from kabinet.pharma.access import PartnerRequest, partner_required
from kabinet.pharma.catalog.models import Product
from kabinet.pharma.catalog.selectors import day_text
from kabinet.pharma.catalog.views import _chosen_address, _context_of_place
from kabinet.pharma.models import Authority
from kabinet.pharma.orders import rules, selectors, services
from kabinet.pharma.orders.forms import CartAddForm, CartUpdateForm, PlaceOrderForm
from kabinet.pharma.orders.models import CartLine, OrderStatus, SavedListLine
from kabinet.pharma.payments import credit, refunds
from kabinet.pharma.payments import services as payment_services

ORDERS_PAGE_SIZE = 50
# What a refused cart or order action may raise; NotFound stays a 404.
REFUSALS = (ValidationFailed, RuleViolation, Conflict)


def _cart_url(address_id: int | None) -> str:
    url = reverse("pharma:cart")
    return f"{url}?{urlencode({'address': address_id})}" if address_id else url


def _safe_next(request: PartnerRequest, target: str) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _form_errors(request: PartnerRequest, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _product_name(code: str) -> str:
    product = Product.objects.filter(code=code).only("trade_name").first()
    return product.trade_name if product else code


def _refusal_messages(request: PartnerRequest, error: Exception) -> None:
    """One message per product where the service names products, else its message."""
    if isinstance(error, services.OutOfStock):
        messages.error(request, _("Недостаточно товара на складе — заказ не оформлен."))
        for code, missing in error.short.items():
            messages.error(
                request,
                _("«%(name)s»: не хватает %(n)d уп.") % {"name": _product_name(code), "n": missing},
            )
    elif isinstance(error, services.LicenceRequired):
        messages.error(request, _("Нет нужной лицензии — заказ не оформлен."))
        for code, reasons in error.reasons.items():
            messages.error(request, f"«{_product_name(code)}»: {' '.join(reasons)}")
    else:
        messages.error(request, getattr(error, "message", str(error)))


# --- cart -----------------------------------------------------------------------------------


@require_GET
@partner_required(Authority.ORDER)
def cart(request: PartnerRequest) -> HttpResponse:
    """The cart of the chosen address: lines, problems, totals, delivery date, «Оформить»."""
    place = _context_of_place(request)
    address = place["address"]
    view = selectors.price_cart(partner=request.partner, address_id=address.pk) if address else None
    return render(
        request,
        "pharma/cabinet/cart.html",
        {
            **place,
            "cart": view,
            "form": PlaceOrderForm.for_address(address.pk) if address else None,
            "credit": credit.credit_of(request.partner.organisation),
        },
    )


@require_POST
@partner_required(Authority.ORDER)
def cart_add(request: PartnerRequest) -> HttpResponse:
    """«В корзину»: back to the page it came from, with what happened as a message."""
    form = CartAddForm(request.POST)
    back = _safe_next(request, request.POST.get("next", ""))
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(back or reverse("pharma:catalog"))
    data = form.cleaned_data
    address_id = data.get("address")
    if address_id is None:
        address = _chosen_address(request)
        if address is None:
            messages.error(request, _("Сначала добавьте адрес доставки."))
            return HttpResponseRedirect(back or reverse("pharma:catalog"))
        address_id = address.pk
    try:
        line = services.add_to_cart(
            partner=request.partner,
            address_id=address_id,
            product_code=data["product"],
            quantity=data["quantity"],
        )
    except REFUSALS as error:
        messages.error(
            request,
            _("«%(name)s» не добавлен: %(reason)s")
            % {"name": _product_name(data["product"]), "reason": error.message},
        )
    else:
        messages.success(
            request,
            _("«%(name)s» в корзине: %(n)d уп.")
            % {"name": line.product.trade_name, "n": line.quantity},
        )
    return HttpResponseRedirect(back or _cart_url(address_id))


@require_POST
@partner_required(Authority.ORDER)
def cart_update(request: PartnerRequest) -> HttpResponse:
    """Change a line's quantity or remove it."""
    form = CartUpdateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_cart_url(_int(request.POST.get("address"))))
    data = form.cleaned_data
    set_quantity(
        request,
        data["product"],
        lambda: services.set_cart_quantity(
            partner=request.partner,
            address_id=data["address"],
            product_code=data["product"],
            quantity=data["quantity"],
        ),
        removed=_("«%(name)s» удалён из корзины."),
    )
    return redirect(_cart_url(data["address"]))


def set_quantity(
    request: PartnerRequest,
    product_code: str,
    change: Callable[[], CartLine | SavedListLine | None],
    *,
    removed: str,
) -> None:
    """Run a line's quantity change (of the cart or a saved list) and say what it did: the
    new packs, `removed` (with %(name)s) for a line it took out, or why it was refused."""
    try:
        line = change()
    except REFUSALS as error:
        messages.error(
            request,
            _("«%(name)s»: %(reason)s")
            % {"name": _product_name(product_code), "reason": error.message},
        )
        return
    if line is None:
        messages.success(request, removed % {"name": _product_name(product_code)})
    else:
        messages.success(
            request,
            _("«%(name)s»: %(n)d уп.") % {"name": line.product.trade_name, "n": line.quantity},
        )


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@require_POST
@partner_required(Authority.ORDER)
def cart_place(request: PartnerRequest) -> HttpResponse:
    """«Оформить заказ»: one order per idempotency key, however often the form is sent."""
    form = PlaceOrderForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_cart_url(_int(request.POST.get("address"))))
    data = form.cleaned_data
    key = data["idempotency_key"]
    placed_before = selectors.orders_of(request.partner).filter(idempotency_key=key).exists()
    try:
        order = services.place_order(
            partner=request.partner,
            address_id=data["address"],
            payment_method=data["payment_method"],
            idempotency_key=key,
        )
    except REFUSALS as error:
        _refusal_messages(request, error)
        return redirect(_cart_url(data["address"]))
    if placed_before:
        messages.info(request, _("Заказ %(number)s уже оформлен.") % {"number": order.number})
    elif order.status == OrderStatus.AWAITING_APPROVAL:
        messages.warning(
            request,
            _("Заказ %(number)s оформлен и ждёт согласования администратором вашей организации.")
            % {"number": order.number},
        )
    else:
        messages.success(request, _("Заказ %(number)s оформлен.") % {"number": order.number})
    return redirect("pharma:order", pk=order.pk)


# --- orders ---------------------------------------------------------------------------------


@require_GET
@partner_required(*selectors.ORDER_VIEWERS)
def orders(request: PartnerRequest) -> HttpResponse:
    """The organisation's orders, newest first (to those who order and to those who pay)."""
    page = Paginator(selectors.orders_of(request.partner), ORDERS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "pharma/cabinet/orders.html",
        {
            "page": page,
            "orders": page,
            "may_order": request.partner.has_authority(Authority.ORDER),
        },
    )


@require_GET
@partner_required(*selectors.ORDER_VIEWERS)
def order_detail(request: PartnerRequest, pk: int) -> HttpResponse:
    """One order: lines at the prices of the moment, totals, payments and refunds, history.

    Someone with «Оплата» but not «Оформление заказов» sees it read-only: pay, invoice.
    """
    partner = request.partner
    order = selectors.order_of(partner, pk)
    may_order = partner.has_authority(Authority.ORDER)
    return render(
        request,
        "pharma/cabinet/order.html",
        {
            "order": order,
            "lines": order.lines.select_related("product", "product__manufacturer").order_by("id"),
            "history": selectors.history_of(order),
            "delivery_text": day_text(order.delivery_date) if order.delivery_date else "",
            "may_order": may_order,
            "can_cancel": may_order and rules.can_cancel(order.status),
            "can_approve": order.status == OrderStatus.AWAITING_APPROVAL
            and partner.has_authority(Authority.MANAGE),
            "may_pay": partner.has_authority(Authority.PAY),
            "can_pay_online": partner.has_authority(Authority.PAY)
            and payment_services.can_pay_online(order),
            "refunds": refunds.refund_summary(order),
        },
    )


@require_POST
@partner_required(Authority.ORDER)
def order_cancel(request: PartnerRequest, pk: int) -> HttpResponse:
    try:
        order = services.cancel_order(partner=request.partner, order_id=pk)
    except REFUSALS as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Заказ %(number)s отменён.") % {"number": order.number})
        summary = refunds.refund_summary(order)
        if summary.refunded_kopecks:
            messages.info(
                request,
                _("Оплата %(amount)s возвращена.")
                % {"amount": format_rub(summary.refunded_kopecks)},
            )
        if summary.refunding_kopecks or summary.to_refund_kopecks:
            messages.warning(
                request,
                _("К возврату %(amount)s: мы вернём деньги и сообщим письмом.")
                % {"amount": format_rub(summary.refunding_kopecks + summary.to_refund_kopecks)},
            )
    return redirect("pharma:order", pk=pk)


@require_POST
@partner_required(Authority.MANAGE)
def order_approve(request: PartnerRequest, pk: int) -> HttpResponse:
    try:
        order = services.approve_order(partner=request.partner, order_id=pk)
    except REFUSALS as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Заказ %(number)s согласован.") % {"number": order.number})
    return redirect("pharma:order", pk=pk)


@require_POST
@partner_required(Authority.ORDER)
def order_reorder(request: PartnerRequest, pk: int) -> HttpResponse:
    """Put the order's products back into the cart of its address and open that cart."""
    result = services.reorder(partner=request.partner, order_id=pk)
    report_fill(request, result)
    return redirect(_cart_url(result.cart.address_id))


def report_fill(request: PartnerRequest, fill: services.CartFill) -> None:
    """What putting several products into the cart did, product by product, as messages."""
    if fill.added:
        messages.success(
            request,
            _("В корзину добавлено товаров: %(n)d.") % {"n": len(fill.added)},
        )
    for code, warning in fill.warnings.items():
        messages.warning(request, f"«{_product_name(code)}»: {warning}")
    for code, reason in fill.skipped.items():
        messages.warning(
            request,
            _("«%(name)s» не добавлен: %(reason)s")
            % {"name": _product_name(code), "reason": reason},
        )
