from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from kabinet.geo.selectors import cities_matching


@require_GET
@cache_control(public=True, max_age=3600)
def cities_json(request: HttpRequest) -> JsonResponse:
    """Type-ahead for the city picker: `?q=` → up to 20 cities, biggest first."""
    query = request.GET.get("q", "")[:60]
    data = [
        {
            "id": city.pk,
            "name": city.name,
            "region": city.region.name,
            "program_active": city.region.loyalty_active,
        }
        for city in cities_matching(query)
    ]
    return JsonResponse(data, safe=False)
