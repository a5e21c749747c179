"""Russian money in any template: {{ kopecks|rub }} → «1 234,50 ₽»; {{ kopecks|rub_plain }}
→ «1234.50» for a form field."""

from django import template

from kabinet.core.money import format_amount, format_rub

register = template.Library()


@register.filter
def rub(kopecks: int | None) -> str:
    return format_rub(int(kopecks or 0))


@register.filter
def rub_plain(kopecks: int | None) -> str:
    """12345 → «123.45»: an amount to prefill a form field with (RoublesField reads it back)."""
    return format_amount(int(kopecks or 0))
