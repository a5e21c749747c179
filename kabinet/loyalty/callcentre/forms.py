"""Forms of the call-centre console and the back office; the services do the real checks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kabinet.loyalty.callcentre.reports import MAX_DAYS


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Телефон или номер карты"),
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "autofocus": True, "autocomplete": "off"}),
        help_text=_("Телефон в любом виде (9161234567, 8 916 123-45-67, +7…) или 16 цифр карты"),
    )


class ActivationForm(forms.Form):
    card_number = forms.CharField(label=_("Номер карты"), max_length=32)
    first_name = forms.CharField(label=_("Имя"), max_length=100)
    birth_date = forms.DateField(
        label=_("Дата рождения"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={"invalid": _("Введите дату рождения, например 15.06.1990")},
        required=False,
    )
    phone = forms.CharField(label=_("Телефон"), max_length=32)
    consents = forms.BooleanField(
        label=_("Клиент устно согласился с правилами программы и на обработку персональных данных"),
        required=False,
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Код из SMS, который назвал клиент"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class BlockForm(forms.Form):
    reason = forms.CharField(label=_("Причина блокировки"), max_length=200)


class ReplaceForm(forms.Form):
    new_number = forms.CharField(label=_("Номер новой карты"), max_length=32)
    reason = forms.CharField(label=_("Причина замены"), max_length=200)


def parse_points(raw: str) -> int:
    """'150', '-20,5', '+1 000.25' → hundredths of a point; ValueError if it is not a number
    with at most two decimals."""
    text = (raw or "").replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ValueError(text)
    return int(value * 100)


class AdjustmentForm(forms.Form):
    amount = forms.CharField(
        label=_("Баллы (со знаком минус — списать)"),
        max_length=20,
        help_text=_("Например 150 или -20,50"),
    )
    reason = forms.CharField(label=_("Причина"), max_length=300)

    def clean_amount(self) -> int:
        try:
            amount = parse_points(self.cleaned_data["amount"])
        except ValueError:
            raise forms.ValidationError(
                _("Введите число баллов, не больше двух знаков после запятой")
            ) from None
        if amount == 0:
            raise forms.ValidationError(_("Сумма корректировки не может быть нулевой"))
        if abs(amount) > 10_000_000_00:
            raise forms.ValidationError(_("Слишком большая сумма"))
        return amount


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Причина отказа"), max_length=300)


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label=_("С"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("По"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    @staticmethod
    def default_period() -> tuple[date, date]:
        today = timezone.localdate()
        return today - timedelta(days=13), today

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("Начало периода позже конца"))
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(
                    _("Период — не больше %(days)d дней") % {"days": MAX_DAYS}
                )
        return data
