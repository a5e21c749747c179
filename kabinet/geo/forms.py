"""The city picker: a form field that finds cities by the first letters of their name.

With JavaScript (static/kabinet/city-picker.js) the person types and picks from a list;
without it, typing the full name of a city works when that name is unambiguous.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kabinet.geo.models import City
from kabinet.geo.selectors import city_by_exact_name


class CityPickerWidget(forms.MultiWidget):
    template_name = "geo/widgets/city_picker.html"

    def __init__(self, attrs=None):
        super().__init__(
            [
                forms.TextInput(attrs={"autocomplete": "off", "data-city-query": ""}),
                forms.HiddenInput(attrs={"data-city-id": ""}),
            ],
            attrs,
        )

    def decompress(self, value):
        if not value:
            return ["", ""]
        city = value if isinstance(value, City) else City.objects.filter(pk=value).first()
        return [city.name, city.pk] if city else ["", ""]

    class Media:
        js = ["kabinet/city-picker.js"]


class CityField(forms.Field):
    widget = CityPickerWidget
    default_error_messages = {
        "required": _("Укажите город."),
        "invalid": _("Выберите город из списка."),
    }

    def to_python(self, value):
        text, city_id = (value or ["", ""]) if isinstance(value, list | tuple) else (value, "")
        if city_id:
            try:
                return City.objects.select_related("region").get(pk=int(city_id))
            except (City.DoesNotExist, ValueError, TypeError):
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not (text or "").strip():
            return None
        city = city_by_exact_name(text)
        if city is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return city
