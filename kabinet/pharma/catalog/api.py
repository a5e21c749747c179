"""JSON for the catalog pages: search-as-you-type (SPEC P-CAT-2)."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from kabinet.pharma.access import PartnerRequest, partner_required
from kabinet.pharma.catalog.search import suggest
from kabinet.pharma.catalog.text import normalise
from kabinet.pharma.models import Authority

SUGGESTIONS = 20
# One letter matches a third of the catalog: suggestions start from the second.
MIN_QUERY_LENGTH = 2
# Longer input is not a product name; cutting it keeps a pasted text from costing a scan.
MAX_QUERY_LENGTH = 100


@require_GET
@partner_required(Authority.CATALOG)
def search_json(request: PartnerRequest) -> JsonResponse:
    """GET ?q=… → the first products found: [{code, trade_name, inn_name, form, …}]."""
    query = request.GET.get("q", "")[:MAX_QUERY_LENGTH]
    if len(normalise(query)) < MIN_QUERY_LENGTH:
        return JsonResponse([], safe=False)
    found = suggest(query, limit=SUGGESTIONS)
    # Cyrillic as UTF-8, not \uXXXX escapes: a third of the bytes.
    return JsonResponse(found, safe=False, json_dumps_params={"ensure_ascii": False})
