from __future__ import annotations

from django.db.models import Q, QuerySet

from kabinet.geo.models import City, search_key


def cities_matching(query: str, *, limit: int = 20) -> QuerySet[City]:
    """Cities whose Russian name, or any word of it, starts with the typed letters.

    «ново» finds Новосибирск and Великий Новгород; «ростов» finds Ростов-на-Дону. Bigger
    cities first, since that is almost always the one a person means.
    """
    key = search_key(query)
    if not key:
        return City.objects.none()
    condition = (
        Q(search_name__startswith=key)
        | Q(search_name__contains=" " + key)
        | Q(search_name__contains="-" + key)
    )
    return City.objects.filter(condition).select_related("region")[:limit]


def city_by_exact_name(name: str) -> City | None:
    """The city a person typed in full, if that name is unambiguous (the no-JavaScript path)."""
    matches = list(City.objects.filter(search_name=search_key(name)).select_related("region")[:2])
    return matches[0] if len(matches) == 1 else None
