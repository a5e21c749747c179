"""Form helpers shared by the cabinets' pages."""

from __future__ import annotations

from typing import Any

from kabinet.core.errors import DomainError


def add_domain_error(form: Any, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: under its field when the form has that field
    (`aliases` maps a service's field name to the form's), otherwise above the form."""
    field = (aliases or {}).get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)
