"""Forms of the member pages: registration wizard, sign-in, password reset.

Each field is checked by the same service functions the final registration runs
(`kabinet.loyalty.services.registration.check_*`), so a page never accepts what the
service would refuse, and the words are the same on every channel.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kabinet.core.errors import ValidationFailed
from kabinet.geo.forms import CityField
from kabinet.loyalty.services import registration as reg


def _checked(check: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return check(*args, **kwargs)
    except ValidationFailed as exc:
        raise ValidationError(exc.message, code=exc.code) from None


class DateInput(forms.DateInput):
    """The browser's calendar (L-ACT-1 "выбрав её в календаре")."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None):
        super().__init__(attrs, format="%Y-%m-%d")


def _birth_date_field() -> forms.DateField:
    return forms.DateField(
        label=_("Дата рождения"),
        widget=DateInput(),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={
            "required": _("Укажите дату рождения"),
            "invalid": _("Введите дату рождения, например 15.06.1990"),
        },
    )


def _phone_field() -> forms.CharField:
    return forms.CharField(
        label=_("Номер телефона"),
        max_length=32,
        help_text=_("Без 8 и без +7, например 9161234567"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": _("Укажите номер телефона")},
    )


def _code_field() -> forms.CharField:
    return forms.CharField(
        label=_("Код из SMS"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
        error_messages={"required": _("Введите код из SMS")},
    )


# --- registration wizard ------------------------------------------------------------------------


class CardForm(forms.Form):
    card_number = forms.CharField(
        label=_("Номер карты"),
        max_length=40,
        required=False,
        help_text=_("16 цифр с обратной стороны карты"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, virtual: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.virtual = virtual

    def clean_card_number(self) -> str | None:
        if self.virtual:
            return None
        card = _checked(reg.check_card, self.cleaned_data.get("card_number", ""))
        return card.number


class PersonalForm(forms.Form):
    first_name = forms.CharField(
        label=_("Имя"),
        max_length=60,
        help_text=_("Только имя, без фамилии, русскими буквами"),
        error_messages={"required": _("Укажите имя")},
    )
    birth_date = _birth_date_field()
    city = CityField(
        label=_("Город"),
        required=False,
        help_text=_("Чтобы показывать акции вашего региона"),
    )

    def clean_first_name(self) -> str:
        return _checked(reg.check_first_name, self.cleaned_data["first_name"])

    def clean_birth_date(self):
        return _checked(reg.check_birth_date, self.cleaned_data["birth_date"])

    def clean_city(self):
        return _checked(reg.check_city, self.cleaned_data.get("city"))


class CredentialsForm(forms.Form):
    email = forms.CharField(
        label=_("Электронная почта"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": _("Укажите адрес электронной почты")},
    )
    password = forms.CharField(
        label=_("Пароль"),
        strip=False,
        help_text=_("Не короче 8 символов: заглавные и строчные латинские буквы и цифры"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Придумайте пароль")},
    )
    password2 = forms.CharField(
        label=_("Пароль ещё раз"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Повторите пароль")},
    )

    def __init__(self, *args: Any, first_name: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.first_name = first_name

    def clean_email(self) -> str:
        return _checked(reg.check_email, self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, again = data.get("password"), data.get("password2")
        if password:
            try:
                reg.check_password(
                    password, first_name=self.first_name, email=data.get("email", "")
                )
            except ValidationFailed as exc:
                self.add_error("password", exc.message)
            else:
                if again and again != password:
                    self.add_error("password2", _("Пароли не совпадают"))
        return data


class PhoneForm(forms.Form):
    phone = _phone_field()

    def clean_phone(self) -> str:
        return _checked(reg.check_phone, self.cleaned_data["phone"])


class MarketingForm(forms.Form):
    """L-CAB-6: the channels for news and offers; all off unless ticked."""

    email = forms.BooleanField(label=_("Письма на электронную почту"), required=False)
    sms = forms.BooleanField(label=_("SMS-сообщения"), required=False)
    voice = forms.BooleanField(label=_("Автоматический звонок"), required=False)
    push = forms.BooleanField(label=_("Push-уведомления в приложении"), required=False)


class ConsentsForm(forms.Form):
    personal_data = forms.BooleanField(
        label=_("Я согласен(на) на обработку персональных данных"),
        error_messages={"required": reg.CONSENT_MISSING["personal_data"]},
    )
    rules = forms.BooleanField(
        label=_("Я согласен(на) с правилами бонусной программы"),
        error_messages={"required": reg.CONSENT_MISSING["rules"]},
    )


class CodeForm(forms.Form):
    code = _code_field()


# --- sign-in --------------------------------------------------------------------------------------


class LoginForm(forms.Form):
    phone = _phone_field()
    password = forms.CharField(
        label=_("Пароль"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Введите пароль")},
    )


class PhoneOnlyForm(forms.Form):
    phone = _phone_field()


class PasswordResetForm(forms.Form):
    phone = _phone_field()
    birth_date = _birth_date_field()


class PasswordResetConfirmForm(forms.Form):
    code = _code_field()
    new_password = forms.CharField(
        label=_("Новый пароль"),
        strip=False,
        help_text=_("Не короче 8 символов: заглавные и строчные латинские буквы и цифры"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Придумайте новый пароль")},
    )
    new_password2 = forms.CharField(
        label=_("Новый пароль ещё раз"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Повторите новый пароль")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, again = data.get("new_password"), data.get("new_password2")
        if password:
            try:
                reg.check_password(password)
            except ValidationFailed as exc:
                self.add_error("new_password", exc.message)
            else:
                if again and again != password:
                    self.add_error("new_password2", _("Пароли не совпадают"))
        return data
