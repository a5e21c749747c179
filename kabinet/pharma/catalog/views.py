"""Catalog pages of the partner cabinet (SPEC P-CAT-1…4, P-NEXT-2): search, filters, product card.

Thin: the filter form parses the query string, `search` finds products, `pricing` prices them
for the partner's organisation, `selectors` say which warehouse serves the chosen delivery
address, what is free there and when it can arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from kabinet.core.errors import NotFound
from kabinet.pharma import selectors as partner_selectors
from kabinet.pharma.access import PartnerRequest, partner_required
from kabinet.pharma.catalog import pricing, search
from kabinet.pharma.catalog import selectors as catalog_selectors
from kabinet.pharma.catalog.models import Category, Manufacturer, Product
from kabinet.pharma.models import Authority, DeliveryAddress
from kabinet.pharma.orders import saved_lists
from kabinet.pharma.orders.selectors import cart_for

PAGE_SIZE = 30
# The chosen delivery address survives from page to page in the session.
ADDRESS_SESSION_KEY = "pharma_address_id"

YES_NO = [("", _("все")), ("1", _("да")), ("0", _("нет"))]


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=_("Поиск"), required=False, max_length=100, strip=True)
    category = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    manufacturer = forms.ModelChoiceField(
        label=_("Производитель"),
        queryset=Manufacturer.objects.order_by("name"),
        required=False,
        empty_label=_("все"),
    )
    rx = forms.ChoiceField(label=_("По рецепту"), choices=YES_NO, required=False)
    jnvlp = forms.ChoiceField(label=_("ЖНВЛП"), choices=YES_NO, required=False)
    in_stock = forms.BooleanField(label=_("В наличии на моём складе"), required=False)
    sort = forms.ChoiceField(
        label=_("Сортировка"),
        choices=[
            ("relevance", _("по релевантности")),
            ("name", _("по названию")),
            ("manufacturer", _("по производителю")),
        ],
        required=False,
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    @staticmethod
    def _flag(value: str) -> bool | None:
        return {"1": True, "0": False}.get(value)

    def filters(self, *, warehouse_id: int | None) -> search.SearchFilters:
        data = self.cleaned_data
        manufacturer = data.get("manufacturer")
        return search.SearchFilters(
            category_id=data.get("category"),
            prescription=self._flag(data.get("rx") or ""),
            jnvlp=self._flag(data.get("jnvlp") or ""),
            in_stock_warehouse_id=warehouse_id if data.get("in_stock") else None,
            manufacturer_id=manufacturer.pk if manufacturer else None,
        )


@dataclass(frozen=True)
class Row:
    """A product as one line of the catalog: its price for me and what is free at my warehouse."""

    product: Product
    quote: pricing.PriceQuote | None
    free: int | None


def _chosen_address(request: PartnerRequest) -> DeliveryAddress | None:
    """The address from ?address=, else the one remembered in the session, else the first."""
    partner = request.partner
    wanted = request.GET.get("address") or request.session.get(ADDRESS_SESSION_KEY)
    if wanted:
        try:
            address = partner_selectors.address_of(partner, int(wanted))
        except (NotFound, TypeError, ValueError):
            # Another organisation's or a stale id: fall back rather than reveal anything.
            address = None
        if address is not None:
            request.session[ADDRESS_SESSION_KEY] = address.pk
            return address
    return partner_selectors.addresses_of(partner).first()


def _context_of_place(request: PartnerRequest) -> dict:
    address = _chosen_address(request)
    serving = catalog_selectors.serving_for_address(address) if address else None
    delivery = (
        catalog_selectors.nearest_delivery(serving=serving, now=timezone.now())
        if serving and serving.schedule
        else None
    )
    cart = (
        cart_for(request.partner, address.pk)
        if address and request.partner.has_authority(Authority.ORDER)
        else None
    )
    return {
        "address": address,
        "addresses": list(partner_selectors.addresses_of(request.partner)),
        "cart_count": cart.lines.count() if cart else 0,
        "serving": serving,
        "delivery": delivery,
        "region": address.city.region if address else None,
        "can_manage": request.partner.has_authority(Authority.MANAGE),
    }


def _category_tree(selected: Category | None) -> list[Category]:
    """Top-level categories, plus the children along the selected category's path."""
    open_ids = {int(p) for p in selected.path.split(".") if p} if selected else set()
    nodes = list(Category.objects.filter(parent__isnull=True).order_by("position", "name"))
    if open_ids:
        nodes += list(Category.objects.filter(parent_id__in=open_ids).order_by("position", "name"))
    nodes.sort(key=lambda c: c.path)
    for node in nodes:
        node.is_open = node.pk in open_ids  # type: ignore[attr-defined]
    return nodes


@require_GET
@partner_required(Authority.CATALOG)
def catalog(request: PartnerRequest) -> HttpResponse:
    """Search and browse the catalog with my prices, my stock and my delivery date."""
    organisation = request.partner.organisation
    place = _context_of_place(request)
    form = CatalogFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    serving = place["serving"]
    warehouse_id = serving.warehouse.pk if serving else None

    category = None
    if data.get("category"):
        category = Category.objects.filter(pk=data["category"]).first()
    query = data.get("q", "")
    page_number = data.get("page") or 1
    filters = (
        form.filters(warehouse_id=warehouse_id)
        if form.is_bound and valid
        else search.SearchFilters()
    )
    found = search.search_products(
        query=query,
        filters=filters,
        sort=data.get("sort") or ("relevance" if query else "name"),
        limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE,
    )
    today = timezone.localdate()
    quotes = pricing.quote_products(
        organisation=organisation, products=found.items, day=today, region=place["region"]
    )
    free = (
        catalog_selectors.free_stock(
            warehouse=serving.warehouse, product_ids=[p.pk for p in found.items]
        )
        if serving
        else {}
    )
    rows = [
        Row(product=p, quote=quotes.get(p.pk), free=free.get(p.pk, 0) if serving else None)
        for p in found.items
    ]
    pages = max(1, -(-found.total // PAGE_SIZE))
    base_query = {k: v for k, v in request.GET.items() if k not in ("page", "address")}
    return render(
        request,
        "pharma/cabinet/catalog.html",
        {
            **place,
            "form": form,
            "found": found,
            "rows": rows,
            "query": query,
            "category": category,
            "categories": _category_tree(category),
            "promotions": pricing.running_promotions(organisation=organisation, day=today),
            "page": page_number,
            "pages": pages,
            "prev_url": _page_url(base_query, page_number - 1) if page_number > 1 else None,
            "next_url": _page_url(base_query, page_number + 1) if page_number < pages else None,
            "can_order": request.partner.has_authority(Authority.ORDER),
        },
    )


def _page_url(params: dict[str, str], page: int) -> str:
    return "?" + urlencode({**params, "page": page})


@require_GET
@partner_required(Authority.CATALOG)
def product_card(request: PartnerRequest, code: str) -> HttpResponse:
    """Everything about one product, priced for me, with series and expiry at my warehouse."""
    product = (
        Product.objects.select_related("manufacturer", "category")
        .prefetch_related("barcodes")
        .filter(code=code, is_active=True)
        .first()
    )
    if product is None:
        raise NotFound(_("Товар не найден."))
    organisation = request.partner.organisation
    place = _context_of_place(request)
    serving = place["serving"]
    today = timezone.localdate()
    quote = pricing.quote_products(
        organisation=organisation, products=[product], day=today, region=place["region"]
    ).get(product.pk)
    offers = catalog_selectors.offers_for(
        product=product, warehouse=serving.warehouse if serving else None
    )
    ancestors = (
        list(
            Category.objects.filter(
                pk__in=[int(p) for p in product.category.path.split(".") if p]
            ).order_by("path")
        )
        if product.category_id
        else []
    )
    can_order = request.partner.has_authority(Authority.ORDER)
    return render(
        request,
        "pharma/cabinet/product.html",
        {
            **place,
            "product": product,
            "quote": quote,
            "offers": offers,
            "free_total": sum(o.free for o in offers),
            "ancestors": ancestors,
            "can_order": can_order,
            "saved_lists": list(saved_lists.lists_of(request.partner)) if can_order else [],
        },
    )
