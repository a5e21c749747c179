"""Forms of the cart and order pages: parsing only; quantities and stock are the services' rules."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kabinet.pharma.orders.models import PaymentMethod
from kabinet.pharma.payments.providers import online_payment_enabled

QUANTITY_ERRORS = {
    "required": _("Укажите количество упаковок."),
    "invalid": _("Количество должно быть целым числом упаковок больше нуля."),
}

OFFERED_PAYMENT_METHODS = [
    (PaymentMethod.ONLINE.value, _("Онлайн-оплата картой")),
    (PaymentMethod.INVOICE.value, _("Счёт на оплату")),
    (PaymentMethod.DEFERRED.value, _("Отсрочка платежа")),
]


class CartAddForm(forms.Form):
    """«В корзину» from a catalog row or a product card."""

    product = forms.CharField(max_length=64)
    quantity = forms.IntegerField(error_messages=QUANTITY_ERRORS)
    address = forms.IntegerField(required=False, min_value=1)
    next = forms.CharField(required=False, max_length=2000)


class LineQuantityForm(forms.Form):
    """A line's new quantity (of the cart or a saved list); 0 (or «Удалить») removes it."""

    product = forms.CharField(max_length=64)
    quantity = forms.IntegerField(required=False, error_messages=QUANTITY_ERRORS)
    remove = forms.BooleanField(required=False)

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("remove"):
            data["quantity"] = 0
        elif data.get("quantity") is None and "quantity" not in self.errors:
            self.add_error("quantity", QUANTITY_ERRORS["required"])
        return data


class CartUpdateForm(LineQuantityForm):
    """A cart line's new quantity, at its delivery address."""

    address = forms.IntegerField(min_value=1)


class PlaceOrderForm(forms.Form):
    """«Оформить заказ»: the key makes a double click or a resubmitted form place one order.
    Online payment is offered only while a provider is configured."""

    address = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    payment_method = forms.ChoiceField(
        label=_("Способ оплаты"),
        choices=OFFERED_PAYMENT_METHODS,
        widget=forms.RadioSelect,
        initial=PaymentMethod.INVOICE.value,
        error_messages={"required": _("Выберите способ оплаты.")},
    )
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not online_payment_enabled():
            field = self.fields["payment_method"]
            field.choices = [c for c in OFFERED_PAYMENT_METHODS if c[0] != PaymentMethod.ONLINE]

    @classmethod
    def for_address(cls, address_id: int) -> PlaceOrderForm:
        return cls(initial={"address": address_id, "idempotency_key": uuid.uuid4().hex})
