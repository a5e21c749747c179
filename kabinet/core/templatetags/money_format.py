"""Russian money in any template: {{ kopecks|rub }} → «1 234,50 ₽»."""

from django import template

from kabinet.core.money import format_rub

register = template.Library()


@register.filter
def rub(kopecks: int | None) -> str:
    return format_rub(int(kopecks or 0))
