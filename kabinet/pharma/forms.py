"""Forms of the pharma pages: parsing and field-level messages only; rules live in services."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kabinet.accounts.models import User
from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.geo.forms import CityField
from kabinet.pharma.identifiers import (
    IdentifierError,
    clean_inn,
    clean_kpp,
    clean_ogrn,
    is_sole_proprietor_inn,
)
from kabinet.pharma.models import ActivityType, Authority, LicenceKind


def _phone(value: str) -> str:
    try:
        return normalize_phone(value, mobile_only=False)
    except PhoneError:
        raise ValidationError(
            _("Введите номер телефона с кодом города или оператора, например +7 495 967-69-40.")
        ) from None


class LeadForm(forms.Form):
    """«Стать клиентом» (SPEC P-LEAD-1)."""

    representative_name = forms.CharField(label=_("Имя представителя"), max_length=150)
    organisation_name = forms.CharField(label=_("Наименование организации"), max_length=255)
    email = forms.EmailField(
        label=_("Корпоративная электронная почта"),
        error_messages={"invalid": _("Введите адрес электронной почты, например info@apteka.ru.")},
    )
    phone = forms.CharField(label=_("Телефон для связи"), max_length=32)
    city = CityField(label=_("Населённый пункт"))
    activity_type = forms.ChoiceField(
        label=_("Вид деятельности"), choices=ActivityType.choices, widget=forms.RadioSelect
    )
    consent = forms.BooleanField(
        label=_("Согласен на обработку персональных данных"),
        error_messages={"required": _("Без согласия на обработку данных заявку не отправить.")},
    )
    # A field people never see (hidden by the style sheet) and bots fill in.
    website = forms.CharField(required=False, label=_("Сайт"))
    # Set after the free-mail warning has been shown once: the second press sends the lead.
    free_email_ack = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_phone(self) -> str:
        return _phone(self.cleaned_data["phone"])

    def clean_representative_name(self) -> str:
        return " ".join(self.cleaned_data["representative_name"].split())

    def clean_organisation_name(self) -> str:
        return " ".join(self.cleaned_data["organisation_name"].split())


class RegistrationForm(forms.Form):
    """«Зарегистрироваться» (SPEC P-REG-1, P-REG-2)."""

    username = forms.CharField(
        label=_("Логин"),
        max_length=150,
        validators=[User.username_validator],
        help_text=_("Буквы, цифры и символы @ . + - _, без пробелов."),
    )
    full_name = forms.CharField(label=_("Ваше имя"), max_length=150, required=False)
    email = forms.EmailField(label=_("Электронная почта"))
    phone = forms.CharField(label=_("Контактный телефон"), max_length=32)
    city = CityField(label=_("Населённый пункт"))
    inn = forms.CharField(
        label=_("ИНН"), max_length=20, help_text=_("10 цифр у организации, 12 — у ИП.")
    )
    kpp = forms.CharField(
        label=_("КПП"), max_length=20, required=False, help_text=_("Только для организаций.")
    )
    ogrn = forms.CharField(
        label=_("ОГРН / ОГРНИП"),
        max_length=20,
        help_text=_("13 цифр у организации (ОГРН), 15 — у ИП (ОГРНИП)."),
    )
    organisation_name = forms.CharField(label=_("Название аптеки (организации)"), max_length=255)
    delivery_address = forms.CharField(
        label=_("Почтовый адрес для доставки"),
        max_length=255,
        help_text=_("Улица, дом, помещение; город выбран выше."),
    )
    authorities = forms.MultipleChoiceField(
        label=_("Полномочия"),
        choices=Authority.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Отметьте хотя бы одно полномочие.")},
    )

    def clean_phone(self) -> str:
        return _phone(self.cleaned_data["phone"])

    def clean_inn(self) -> str:
        try:
            return clean_inn(self.cleaned_data["inn"])
        except IdentifierError as exc:
            raise ValidationError(exc.message) from None

    def clean(self):
        data = super().clean()
        inn = data.get("inn")
        if not inn:
            return data
        sole = is_sole_proprietor_inn(inn)
        if sole:
            if data.get("kpp", "").strip():
                self.add_error(
                    "kpp", _("У индивидуального предпринимателя нет КПП: оставьте поле пустым.")
                )
            data["kpp"] = ""
        else:
            try:
                data["kpp"] = clean_kpp(data.get("kpp", ""))
            except IdentifierError as exc:
                self.add_error("kpp", exc.message)
        if "ogrn" in data:
            try:
                data["ogrn"] = clean_ogrn(data["ogrn"], sole_proprietor=sole)
            except IdentifierError as exc:
                self.add_error("ogrn", exc.message)
        return data


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Логин"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Пароль"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        strip=False,
    )


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(label=_("Электронная почта, указанная при регистрации"))


class SetPasswordForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    password1 = forms.CharField(label=_("Новый пароль"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Пароль ещё раз"), widget=forms.PasswordInput, strip=False)

    def clean_password1(self) -> str:
        password = self.cleaned_data["password1"]
        validate_password(password)
        return password

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("Пароли не совпадают."))
        return data


class InviteForm(forms.Form):
    full_name = forms.CharField(label=_("Имя сотрудника"), max_length=150)
    username = forms.CharField(
        label=_("Логин"), max_length=150, validators=[User.username_validator]
    )
    email = forms.EmailField(label=_("Электронная почта"))
    authorities = forms.MultipleChoiceField(
        label=_("Полномочия"),
        choices=Authority.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class AccessForm(forms.Form):
    authorities = forms.MultipleChoiceField(
        label=_("Полномочия"),
        choices=Authority.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    active = forms.BooleanField(label=_("Доступ к кабинету открыт"), required=False)


class AddressForm(forms.Form):
    name = forms.CharField(label=_("Название точки"), max_length=150)
    city = CityField(label=_("Город"))
    address = forms.CharField(label=_("Адрес"), max_length=255)


class VerifyForm(forms.Form):
    """The manager's decision on a registration (admin, SPEC P-REG-3)."""

    decision = forms.ChoiceField(
        label=_("Решение"),
        choices=[("approve", _("Предоставить доступ")), ("refuse", _("Отказать"))],
        widget=forms.RadioSelect,
    )
    contract_number = forms.CharField(label=_("Номер договора"), max_length=64, required=False)
    contract_date = forms.DateField(
        label=_("Дата договора"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    granted = forms.MultipleChoiceField(
        label=_("Предоставить полномочия"),
        choices=Authority.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    reason = forms.CharField(label=_("Причина отказа"), widget=forms.Textarea, required=False)

    def __init__(self, *args, requested: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        granted = self.fields["granted"]
        assert isinstance(granted, forms.MultipleChoiceField)
        granted.choices = [
            (value, label) for value, label in Authority.choices if value in requested
        ]


class LicenceAdminForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label=_("Виды деятельности"),
        choices=LicenceKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class PartnerUserAdminForm(forms.ModelForm):
    authorities = forms.MultipleChoiceField(
        label=_("Полномочия"),
        choices=Authority.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
