"""Saved order list pages of the partner cabinet (SPEC P-NEXT-3).

Thin: forms parse, `orders.saved_lists` reads and writes. Every POST redirects; refusals
become messages. The list is priced for the delivery address the catalog chose; «В корзину»
fills that address's cart and opens it, with a message for every product left out.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kabinet.pharma.access import PartnerRequest, partner_required
from kabinet.pharma.catalog.views import _context_of_place
from kabinet.pharma.models import Authority
from kabinet.pharma.orders import quick, saved_lists
from kabinet.pharma.orders.forms import QUANTITY_ERRORS, LineQuantityForm
from kabinet.pharma.orders.views import (
    REFUSALS,
    _cart_url,
    _form_errors,
    _int,
    _product_name,
    _safe_next,
    report_fill,
    set_quantity,
)

# «Возможно, вы имели в виду» after a code that matched nothing, for the page it redirects to.
SUGGESTIONS_SESSION_KEY = "pharma_list_suggestions"


class ListNameForm(forms.Form):
    """A list's name; its rules (length, uniqueness) are the service's."""

    name = forms.CharField(required=False, strip=True)


class SaveCartForm(ListNameForm):
    address = forms.IntegerField(min_value=1)


class ListAddForm(forms.Form):
    """A barcode, a product code or a name, and packs."""

    key = forms.CharField(
        max_length=200,
        strip=True,
        error_messages={
            "required": gettext_lazy("Укажите штрихкод, код или название товара."),
            "max_length": gettext_lazy("Слишком длинный код товара."),
        },
    )
    quantity = forms.IntegerField(error_messages=QUANTITY_ERRORS)


class ToCartForm(forms.Form):
    address = forms.IntegerField(min_value=1)


class ProductToListForm(forms.Form):
    """«Добавить в список» from a product card."""

    saved_list = forms.IntegerField(
        min_value=1, error_messages={"required": gettext_lazy("Выберите список.")}
    )
    product = forms.CharField(max_length=64)
    quantity = forms.IntegerField(error_messages=QUANTITY_ERRORS)
    next = forms.CharField(required=False, max_length=2000)


def _list_url(pk: int, address_id: int | None = None) -> str:
    url = reverse("pharma:saved-list", args=[pk])
    return f"{url}?{urlencode({'address': address_id})}" if address_id else url


# --- the index and new lists ----------------------------------------------------------------


@require_GET
@partner_required(Authority.ORDER)
def lists(request: PartnerRequest) -> HttpResponse:
    """«Списки заказов»: the organisation's lists and a form for a new one."""
    return render(
        request,
        "pharma/cabinet/saved_lists.html",
        {"lists": saved_lists.lists_of(request.partner)},
    )


@require_POST
@partner_required(Authority.ORDER)
def list_new(request: PartnerRequest) -> HttpResponse:
    form = ListNameForm(request.POST)
    form.is_valid()
    try:
        saved = saved_lists.create_list(
            partner=request.partner, name=form.cleaned_data.get("name", "")
        )
    except REFUSALS as error:
        messages.error(request, error.message)
        return redirect("pharma:saved-lists")
    messages.success(request, _("Список «%(name)s» создан.") % {"name": saved.name})
    return redirect("pharma:saved-list", pk=saved.pk)


@require_POST
@partner_required(Authority.ORDER)
def list_from_cart(request: PartnerRequest) -> HttpResponse:
    """«Сохранить корзину как список»; the cart stays as it is."""
    form = SaveCartForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_cart_url(_int(request.POST.get("address"))))
    data = form.cleaned_data
    try:
        saved = saved_lists.create_list_from_cart(
            partner=request.partner, address_id=data["address"], name=data["name"]
        )
    except REFUSALS as error:
        messages.error(request, error.message)
        return redirect(_cart_url(data["address"]))
    messages.success(
        request,
        _("Корзина сохранена как список «%(name)s».") % {"name": saved.name},
    )
    return redirect(_list_url(saved.pk, data["address"]))


@require_POST
@partner_required(Authority.ORDER)
def order_save_list(request: PartnerRequest, pk: int) -> HttpResponse:
    """«Сохранить как список» on an order page."""
    form = ListNameForm(request.POST)
    form.is_valid()
    try:
        saved = saved_lists.create_list_from_order(
            partner=request.partner, order_id=pk, name=form.cleaned_data.get("name", "")
        )
    except REFUSALS as error:
        messages.error(request, error.message)
        return redirect("pharma:order", pk=pk)
    messages.success(request, _("Заказ сохранён как список «%(name)s».") % {"name": saved.name})
    return redirect("pharma:saved-list", pk=saved.pk)


# --- one list -------------------------------------------------------------------------------


@require_GET
@partner_required(Authority.ORDER)
def list_detail(request: PartnerRequest, pk: int) -> HttpResponse:
    """One list priced for the chosen address: lines, problems, quantities, «В корзину»."""
    saved = saved_lists.list_of(request.partner, pk)
    place = _context_of_place(request)
    address = place["address"]
    view = (
        saved_lists.priced_lines(partner=request.partner, saved_list=saved, address_id=address.pk)
        if address
        else None
    )
    suggestions = request.session.pop(SUGGESTIONS_SESSION_KEY, None)
    if suggestions and suggestions.get("list") != saved.pk:
        suggestions = None
    return render(
        request,
        "pharma/cabinet/saved_list.html",
        {
            **place,
            "saved_list": saved,
            "view": view,
            "lines": view.lines if view else saved_lists.lines_of(saved),
            "suggestions": suggestions,
        },
    )


@require_POST
@partner_required(Authority.ORDER)
def list_rename(request: PartnerRequest, pk: int) -> HttpResponse:
    form = ListNameForm(request.POST)
    form.is_valid()
    try:
        saved = saved_lists.rename_list(
            partner=request.partner, list_id=pk, name=form.cleaned_data.get("name", "")
        )
    except REFUSALS as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Список переименован: «%(name)s».") % {"name": saved.name})
    return redirect("pharma:saved-list", pk=pk)


@require_POST
@partner_required(Authority.ORDER)
def list_delete(request: PartnerRequest, pk: int) -> HttpResponse:
    name = saved_lists.delete_list(partner=request.partner, list_id=pk)
    messages.success(request, _("Список «%(name)s» удалён.") % {"name": name})
    return redirect("pharma:saved-lists")


@require_POST
@partner_required(Authority.ORDER)
def list_add(request: PartnerRequest, pk: int) -> HttpResponse:
    """Add by barcode or code; a name or a typo gets «Возможно, вы имели в виду» instead."""
    saved = saved_lists.list_of(request.partner, pk)
    form = ListAddForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("pharma:saved-list", pk=saved.pk)
    key, quantity = form.cleaned_data["key"], form.cleaned_data["quantity"]
    product = quick.product_by_key(key)
    if product is None:
        found = quick.suggestions_for(key)
        messages.error(request, _("Товар «%(key)s» не найден.") % {"key": key[:100]})
        if found:
            request.session[SUGGESTIONS_SESSION_KEY] = {
                "list": saved.pk,
                "text": key[:100],
                "quantity": quantity,
                "items": [{"code": s.code, "name": s.name} for s in found],
            }
        return redirect("pharma:saved-list", pk=saved.pk)
    _add(request, saved.pk, product.code, quantity)
    return redirect("pharma:saved-list", pk=saved.pk)


def _add(request: PartnerRequest, list_id: int, code: str, quantity: int) -> bool:
    try:
        line = saved_lists.add_to_list(
            partner=request.partner, list_id=list_id, product_code=code, quantity=quantity
        )
    except REFUSALS as error:
        messages.error(
            request,
            _("«%(name)s» не добавлен: %(reason)s")
            % {"name": _product_name(code), "reason": error.message},
        )
        return False
    messages.success(
        request,
        _("«%(name)s» в списке «%(list)s»: %(n)d уп.")
        % {"name": line.product.trade_name, "list": line.saved_list.name, "n": line.quantity},
    )
    return True


@require_POST
@partner_required(Authority.ORDER)
def list_update(request: PartnerRequest, pk: int) -> HttpResponse:
    """Change a line's quantity or remove it."""
    form = LineQuantityForm(request.POST)
    if not form.is_valid():
        # A list of another organisation is a 404 even when the form is wrong.
        saved_lists.list_of(request.partner, pk)
        _form_errors(request, form)
        return redirect("pharma:saved-list", pk=pk)
    data = form.cleaned_data
    set_quantity(
        request,
        data["product"],
        lambda: saved_lists.set_list_quantity(
            partner=request.partner,
            list_id=pk,
            product_code=data["product"],
            quantity=data["quantity"],
        ),
        removed=_("«%(name)s» удалён из списка."),
    )
    return redirect("pharma:saved-list", pk=pk)


@require_POST
@partner_required(Authority.ORDER)
def list_to_cart(request: PartnerRequest, pk: int) -> HttpResponse:
    """«В корзину»: the lines that can be ordered now go into the address's cart."""
    form = ToCartForm(request.POST)
    if not form.is_valid():
        saved_lists.list_of(request.partner, pk)
        messages.error(request, _("Выберите адрес доставки."))
        return redirect("pharma:saved-list", pk=pk)
    address_id = form.cleaned_data["address"]
    try:
        fill = saved_lists.list_to_cart(partner=request.partner, list_id=pk, address_id=address_id)
    except REFUSALS as error:
        messages.error(request, error.message)
        return redirect(_list_url(pk, address_id))
    if not fill.added:
        messages.error(request, _("Ни один товар списка не добавлен в корзину."))
    report_fill(request, fill)
    return redirect(_cart_url(address_id))


@require_POST
@partner_required(Authority.ORDER)
def product_to_list(request: PartnerRequest) -> HttpResponse:
    """«Добавить в список» from a product card: back to the card, with what happened."""
    form = ProductToListForm(request.POST)
    back = _safe_next(request, request.POST.get("next", ""))
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(back or reverse("pharma:saved-lists"))
    data = form.cleaned_data
    saved = saved_lists.list_of(request.partner, data["saved_list"])
    _add(request, saved.pk, data["product"], data["quantity"])
    return HttpResponseRedirect(back or _list_url(saved.pk))
