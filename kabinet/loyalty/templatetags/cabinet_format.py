"""Russian money and points in the member cabinet's templates: {{ kopecks|rub }}, {{ h|points }}."""

from django import template

from kabinet.core.templatetags.money_format import rub
from kabinet.loyalty.cabinet import format_points

register = template.Library()
register.filter("rub", rub)


@register.filter
def points(hundredths: int) -> str:
    return format_points(int(hundredths or 0))


@register.filter
def decimal_ru(value: object) -> str:
    """A decimal string with the Russian comma: «0.556» → «0,556»."""
    return str(value).replace(".", ",")
