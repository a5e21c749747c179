"""Form helpers shared by the cabinets' pages."""

from __future__ import annotations

from typing import Any

from django import forms

from kabinet.core.errors import DomainError


def add_domain_error(form: Any, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: under its field when the form has that field
    (`aliases` maps a service's field name to the form's), otherwise above the form."""
    field = (aliases or {}).get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)


class RoublesField(forms.DecimalField):
    """Roubles as people type them: «1 500 000», «1500000,50» or «1500000.50»; turn the
    Decimal into kopecks with `money.parse_amount`, exactly."""

    def __init__(self, *, min_value: Any = 0, **kwargs: Any) -> None:
        super().__init__(
            min_value=min_value, max_digits=15, decimal_places=2, localize=True, **kwargs
        )

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = "".join(value.split()).replace("₽", "")
        return super().to_python(value)
