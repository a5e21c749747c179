"""Forms of the member cabinet's pages (L-CAB). Field rules come from the services."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kabinet.geo.forms import CityField
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.services import registration as reg
from kabinet.loyalty.web.forms import CodeForm, DateInput, _checked, _phone_field

__all__ = [
    "BlockCardForm",
    "ChannelsForm",
    "CityForm",
    "CloseAccountForm",
    "CodeForm",
    "PeriodForm",
    "PhoneForm",
    "ProfileForm",
    "ReplaceCardForm",
]

#: A period longer than this is refused: nobody reads ten years of receipts on one page,
#: and the query stays bounded.
MAX_PERIOD = timedelta(days=366 * 5)


def _date_field(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=DateInput(),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={"invalid": _("Введите дату, например 01.03.2026")},
    )


class PeriodForm(forms.Form):
    date_from = _date_field(_("С"))
    date_to = _date_field(_("По"))

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and start > self.today:
            self.add_error("date_from", _("Дата начала периода не может быть в будущем"))
        if start and end and start > end:
            self.add_error("date_to", _("Дата окончания периода раньше даты начала"))
        elif start and end and end - start > MAX_PERIOD:
            self.add_error("date_to", _("Выберите период не длиннее пяти лет"))
        return data


class ProfileForm(forms.Form):
    first_name = forms.CharField(
        label=_("Имя"),
        max_length=40,
        help_text=_("Только русские буквы, без фамилии"),
        error_messages={"required": _("Укажите имя")},
    )
    email = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": _("Укажите адрес электронной почты")},
    )

    def clean_first_name(self):
        return _checked(reg.check_first_name, self.cleaned_data["first_name"])

    def clean_email(self):
        return _checked(reg.check_email, self.cleaned_data["email"])


class PhoneForm(forms.Form):
    phone = _phone_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].label = _("Новый номер телефона")


class ChannelsForm(forms.Form):
    email = forms.BooleanField(label=_("Электронная почта"), required=False)
    sms = forms.BooleanField(label=_("SMS"), required=False)
    voice = forms.BooleanField(label=_("Автоматический звонок"), required=False)
    push = forms.BooleanField(label=_("Push-уведомления в приложении"), required=False)


BLOCK_REASONS = [
    ("lost", _("Карта потеряна")),
    ("stolen", _("Карту украли")),
    ("damaged", _("Карта повреждена")),
]


class BlockCardForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Причина"),
        choices=BLOCK_REASONS,
        widget=forms.RadioSelect,
        error_messages={"required": _("Выберите причину")},
    )
    confirm = forms.BooleanField(
        label=_("Я понимаю, что карта перестанет работать на кассе, и разблокировать её нельзя"),
        error_messages={"required": _("Подтвердите блокировку карты")},
    )


class ReplaceCardForm(forms.Form):
    number = forms.CharField(
        label=_("Номер новой карты"),
        max_length=40,
        help_text=_("16 цифр с лицевой стороны новой пластиковой карты"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": _("Введите номер новой карты")},
    )

    def clean_number(self):
        try:
            return cardnumbers.parse_barcode(self.cleaned_data["number"])
        except cardnumbers.CardNumberError as exc:
            raise ValidationError(exc.text, code="invalid_card_number") from None


class CityForm(forms.Form):
    city = CityField(label=_("Город"))


class CloseAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Пароль"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Введите пароль")},
    )
    confirm = forms.BooleanField(
        label=_(
            "Я понимаю, что баллы сгорят, карты будут заблокированы, а восстановить счёт нельзя"
        ),
        error_messages={"required": _("Подтвердите закрытие счёта")},
    )
