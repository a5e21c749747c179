"""The catalog back office (SPEC P-BO-2): products, stock, price lists, markups, promotions.

Every write with a rule behind it goes through the rule's code: prices through
`pricing.set_price` (the ЖНВЛП ceiling), product search text through `search_text_for`,
category paths through `_place_category`. Imports have their own page; here they are listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet, Value
from django.db.models.functions import Concat, Substr
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from stdnum import ean as stdnum_ean

from kabinet.core.money import format_rub
from kabinet.pharma.catalog import pricing
from kabinet.pharma.catalog.ceilings import format_percent
from kabinet.pharma.catalog.models import (
    Barcode,
    BranchSchedule,
    Category,
    Holiday,
    ImportJob,
    Manufacturer,
    Offer,
    Price,
    PriceGroup,
    PriceList,
    Product,
    Promotion,
    PromotionKind,
    ServedCity,
    Warehouse,
    WholesaleMarkup,
)
from kabinet.pharma.catalog.text import search_text_for

# --- categories -----------------------------------------------------------------------------


class CategoryAdminForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("name", "parent", "position")

    def clean_parent(self) -> Category | None:
        parent = self.cleaned_data.get("parent")
        if parent and self.instance.pk and parent.path.startswith(self.instance.path):
            raise forms.ValidationError(
                _("Категорию нельзя вложить в саму себя или в её подкатегорию.")
            )
        return parent


def _place_category(category: Category, old_path: str | None) -> None:
    """Set the category's materialised path after a save, and move its subtree with it."""
    parent_path = category.parent.path if category.parent else ""
    new_path = f"{parent_path}{category.pk:04d}."
    if new_path == old_path:
        return
    Category.objects.filter(pk=category.pk).update(path=new_path)
    category.path = new_path
    if old_path:
        # One UPDATE for the whole subtree: the old prefix replaced by the new one.
        Category.objects.filter(path__startswith=old_path).exclude(pk=category.pk).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
        )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryAdminForm
    list_display = ("indented_name", "parent", "position", "path")
    list_select_related = ("parent",)
    search_fields = ("name",)
    autocomplete_fields = ("parent",)
    readonly_fields = ("path",)
    fields = ("name", "parent", "position", "path")
    ordering = ("path",)

    @admin.display(description=_("название"), ordering="path")
    def indented_name(self, obj: Category) -> str:
        return format_html("{}{}", "\u2003" * obj.depth, obj.name)

    def save_model(self, request: HttpRequest, obj: Category, form, change: bool) -> None:
        old_path = (
            Category.objects.filter(pk=obj.pk).values_list("path", flat=True).first()
            if change
            else None
        )
        super().save_model(request, obj, form, change)
        _place_category(obj, old_path)


# --- manufacturers and products -------------------------------------------------------------


def refresh_search_text(product_ids: Iterable[int]) -> None:
    """Recompute `Product.search_text` of the products from their current rows."""
    products = list(
        Product.objects.filter(pk__in=list(product_ids))
        .select_related("manufacturer")
        .prefetch_related("barcodes")
    )
    for product in products:
        product.search_text = search_text_for(
            trade_name=product.trade_name,
            inn_name=product.inn_name,
            manufacturer=product.manufacturer.name,
            barcodes=[b.ean13 for b in product.barcodes.all()],
        )
    Product.objects.bulk_update(products, ["search_text"], batch_size=500)


@admin.register(Manufacturer)
class ManufacturerAdmin(admin.ModelAdmin):
    list_display = ("name", "country")
    search_fields = ("name", "country")

    def save_model(self, request: HttpRequest, obj: Manufacturer, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:
            # The manufacturer's name is part of every one of its products' search text.
            refresh_search_text(
                Product.objects.filter(manufacturer=obj).values_list("pk", flat=True)
            )


class BarcodeForm(forms.ModelForm):
    class Meta:
        model = Barcode
        fields = ("ean13",)

    def clean_ean13(self) -> str:
        value = self.cleaned_data["ean13"].strip()
        if len(value) != 13 or not value.isdigit():
            raise forms.ValidationError(_("Нужно 13 цифр EAN-13."))
        if not stdnum_ean.is_valid(value):
            raise forms.ValidationError(_("Неверная контрольная цифра штрихкода."))
        return value


class BarcodeInline(admin.TabularInline):
    model = Barcode
    form = BarcodeForm
    extra = 0


VAT_CHOICES = [(0, "0 %"), (10, "10 %"), (20, "20 %"), (22, "22 %")]


class ProductAdminForm(forms.ModelForm):
    vat_percent = forms.TypedChoiceField(
        label=_("НДС, %"), choices=VAT_CHOICES, coerce=int, initial=10
    )

    class Meta:
        model = Product
        fields = (
            "code",
            "trade_name",
            "inn_name",
            "form",
            "dosage",
            "pack",
            "pack_size",
            "manufacturer",
            "country",
            "category",
            "description",
            "is_active",
            "prescription_only",
            "control_class",
            "jnvlp",
            "registered_price_kopecks",
            "vat_percent",
            "cold_chain",
            "storage_min_c",
            "storage_max_c",
            "order_multiple",
            "delivery_conditions",
        )

    def clean(self):
        data = super().clean()
        if data.get("jnvlp") and not data.get("registered_price_kopecks"):
            self.add_error(
                "registered_price_kopecks",
                _("У ЖНВЛП должна быть зарегистрированная предельная цена."),
            )
        if data.get("cold_chain"):
            low, high = data.get("storage_min_c"), data.get("storage_max_c")
            if low is None or high is None or low >= high:
                self.add_error(
                    "storage_max_c",
                    _("Для холодовой цепи укажите диапазон температур хранения «от» < «до»."),
                )
        return data


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = (
        "code",
        "trade_name",
        "inn_name",
        "manufacturer",
        "prescription_only",
        "jnvlp",
        "cold_chain",
        "control_class",
        "is_active",
    )
    list_select_related = ("manufacturer",)
    list_filter = (
        "prescription_only",
        "jnvlp",
        "cold_chain",
        "control_class",
        "is_active",
        ("category", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("code", "trade_name", "inn_name", "=barcodes__ean13")
    autocomplete_fields = ("manufacturer", "category")
    readonly_fields = ("search_text", "updated_at")
    inlines = (BarcodeInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "code",
                    "trade_name",
                    "inn_name",
                    ("form", "dosage"),
                    ("pack", "pack_size"),
                    ("manufacturer", "country"),
                    "category",
                    "description",
                    "is_active",
                )
            },
        ),
        (
            _("Регулирование"),
            {
                "fields": (
                    "prescription_only",
                    "control_class",
                    ("jnvlp", "registered_price_kopecks"),
                    "vat_percent",
                )
            },
        ),
        (
            _("Хранение и доставка"),
            {
                "fields": (
                    "cold_chain",
                    ("storage_min_c", "storage_max_c"),
                    "order_multiple",
                    "delivery_conditions",
                )
            },
        ),
        (_("Служебное"), {"fields": ("search_text", "updated_at")}),
    )

    def save_model(self, request: HttpRequest, obj: Product, form, change: bool) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # The barcodes inline is saved here, after the product: only now is the text whole.
        super().save_related(request, form, formsets, change)
        refresh_search_text([form.instance.pk])
        form.instance.refresh_from_db(fields=["search_text"])


# --- warehouses and stock -------------------------------------------------------------------


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "branch", "is_main", "address")
    list_select_related = ("branch",)
    list_filter = ("branch",)
    search_fields = ("name", "code", "branch__name")


class OfferAdminForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = ("product", "warehouse", "series", "expires_on", "quantity")

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data["quantity"]
        reserved = (
            Offer.objects.filter(pk=self.instance.pk).values_list("reserved", flat=True).first()
            if self.instance.pk
            else 0
        ) or 0
        if quantity < reserved:
            raise forms.ValidationError(
                _("Остаток не может быть меньше резерва заказов: %(reserved)s уп.")
                % {"reserved": reserved}
            )
        return quantity


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    form = OfferAdminForm
    list_display = (
        "product",
        "warehouse",
        "series",
        "expires_on",
        "quantity",
        "reserved",
        "free_display",
    )
    list_select_related = ("product", "warehouse")
    list_filter = ("warehouse",)
    search_fields = ("product__code", "product__trade_name", "series")
    autocomplete_fields = ("product",)
    readonly_fields = ("reserved", "updated_at")
    date_hierarchy = "expires_on"

    @admin.display(description=_("свободно, уп."))
    def free_display(self, obj: Offer) -> int:
        return obj.free

    def save_model(self, request: HttpRequest, obj: Offer, form, change: bool) -> None:
        obj.updated_at = timezone.now()
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Orders change `reserved` under their own lock; the form's copy may be stale.
        obj.save(update_fields=[*form.changed_data, "updated_at"])


# --- prices ---------------------------------------------------------------------------------


class PriceListAdminForm(forms.ModelForm):
    class Meta:
        model = PriceList
        fields = ("code", "name", "region", "is_base")

    def clean_is_base(self) -> bool:
        is_base = self.cleaned_data["is_base"]
        others = PriceList.objects.filter(is_base=True).exclude(pk=self.instance.pk)
        if is_base and others.exists():
            raise forms.ValidationError(
                _("Базовый прайс-лист уже есть: «%(name)s».") % {"name": others.first()}
            )
        return is_base


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    form = PriceListAdminForm
    list_display = ("name", "code", "region", "is_base", "price_count", "updated_at")
    list_select_related = ("region",)
    search_fields = ("name", "code")
    raw_id_fields = ("region",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PriceList]:
        return super().get_queryset(request).annotate(price_count=Count("prices"))

    @admin.display(description=_("цен"), ordering="price_count")
    def price_count(self, obj: PriceList) -> str:
        url = reverse("admin:pharma_price_changelist") + f"?price_list__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, getattr(obj, "price_count", 0))


class PriceAdminForm(forms.ModelForm):
    class Meta:
        model = Price
        fields = ("price_list", "product", "price_kopecks")

    def clean(self):
        data = super().clean()
        kopecks = data.get("price_kopecks")
        price_list = data.get("price_list") or (
            self.instance.price_list if self.instance.price_list_id else None
        )
        product = data.get("product") or (
            self.instance.product if self.instance.product_id else None
        )
        if kopecks is None or price_list is None or product is None:
            return data
        if kopecks <= 0:
            self.add_error("price_kopecks", _("Цена должна быть больше нуля."))
            return data
        reason = pricing.check_price_for_list(
            price_list=price_list,
            product=product,
            price_kopecks=kopecks,
            day=timezone.localdate(),
        )
        if reason:
            self.add_error("price_kopecks", reason)
        return data


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    """Prices one by one; every save goes through `pricing.set_price` and its ceiling."""

    form = PriceAdminForm
    list_display = ("product", "product_code", "price_list", "price_display", "updated_at")
    list_select_related = ("product", "price_list")
    list_filter = ("price_list", "product__jnvlp")
    search_fields = ("product__code", "product__trade_name", "product__inn_name")
    autocomplete_fields = ("product",)
    readonly_fields = ("updated_at",)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A price row is one product in one list; moving it would be a different row.
        if obj is not None:
            return ("price_list", "product", "updated_at")
        return self.readonly_fields

    @admin.display(description=_("код товара"), ordering="product__code")
    def product_code(self, obj: Price) -> str:
        return obj.product.code

    @admin.display(description=_("цена с НДС"), ordering="price_kopecks")
    def price_display(self, obj: Price) -> str:
        return format_rub(obj.price_kopecks)

    def save_model(self, request: HttpRequest, obj: Price, form, change: bool) -> None:
        saved = pricing.set_price(
            price_list=obj.price_list,
            product=obj.product,
            price_kopecks=obj.price_kopecks,
            day=timezone.localdate(),
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at
        obj._state.adding = False
        obj._state.db = saved._state.db


@admin.register(PriceGroup)
class PriceGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "price_list", "organisation_count")
    list_select_related = ("price_list",)
    search_fields = ("name", "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PriceGroup]:
        return super().get_queryset(request).annotate(organisation_count=Count("organisations"))

    @admin.display(description=_("организаций"), ordering="organisation_count")
    def organisation_count(self, obj: PriceGroup) -> int:
        return getattr(obj, "organisation_count", 0)


@admin.register(WholesaleMarkup)
class WholesaleMarkupAdmin(admin.ModelAdmin):
    list_display = (
        "region",
        "effective_from",
        "upto_100_percent",
        "upto_500_percent",
        "over_500_percent",
    )
    list_select_related = ("region",)
    search_fields = ("region__name_ru", "region__code")
    date_hierarchy = "effective_from"
    raw_id_fields = ("region",)


# --- promotions -----------------------------------------------------------------------------


class PromotionAdminForm(forms.ModelForm):
    class Meta:
        model = Promotion
        fields = (
            "title",
            "banner_text",
            "is_active",
            "starts_on",
            "ends_on",
            "kind",
            "percent",
            "amount_kopecks",
            "products",
            "manufacturers",
            "categories",
            "price_groups",
        )

    def clean(self):
        data = super().clean()
        kind, percent, amount = data.get("kind"), data.get("percent"), data.get("amount_kopecks")
        if kind == PromotionKind.PERCENT:
            if percent is None or not Decimal(0) < percent < Decimal(100):
                self.add_error("percent", _("Укажите скидку больше 0 и меньше 100 %."))
            data["amount_kopecks"] = None
        elif kind == PromotionKind.FIXED:
            if amount is None or amount <= 0:
                self.add_error("amount_kopecks", _("Укажите скидку с упаковки в копейках."))
            data["percent"] = None
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("Акция не может закончиться раньше, чем начнётся."))
        return data


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionAdminForm
    list_display = ("title", "kind", "value_display", "starts_on", "ends_on", "is_active")
    list_filter = ("is_active", "kind", "price_groups")
    search_fields = ("title", "banner_text")
    date_hierarchy = "starts_on"
    # Tens of thousands of products: a search box, not a two-pane list of every one.
    autocomplete_fields = ("products",)
    filter_horizontal = ("manufacturers", "categories", "price_groups")
    fieldsets = (
        (None, {"fields": ("title", "banner_text", "is_active", ("starts_on", "ends_on"))}),
        (_("Скидка"), {"fields": ("kind", "percent", "amount_kopecks")}),
        (
            _("На что"),
            {
                "fields": ("products", "manufacturers", "categories"),
                "description": _("Ничего не выбрано — акция только для баннера."),
            },
        ),
        (
            _("Кому"),
            {
                "fields": ("price_groups",),
                "description": _("Ничего не выбрано — всем партнёрам."),
            },
        ),
    )

    @admin.display(description=_("скидка"))
    def value_display(self, obj: Promotion) -> str:
        if obj.kind == PromotionKind.FIXED:
            return format_rub(obj.amount_kopecks or 0)
        return format_percent(obj.percent or 0)


# --- branch logistics -----------------------------------------------------------------------

WEEKDAYS = [
    (1, _("пн")),
    (2, _("вт")),
    (3, _("ср")),
    (4, _("чт")),
    (5, _("пт")),
    (6, _("сб")),
    (7, _("вс")),
]


class BranchScheduleForm(forms.ModelForm):
    delivery_weekdays = forms.TypedMultipleChoiceField(
        label=_("дни доставки"),
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = BranchSchedule
        fields = ("branch", "delivery_weekdays", "cutoff", "assembly_days", "min_order_kopecks")

    def clean_delivery_weekdays(self) -> list[int]:
        return sorted(set(self.cleaned_data["delivery_weekdays"]))


@admin.register(BranchSchedule)
class BranchScheduleAdmin(admin.ModelAdmin):
    form = BranchScheduleForm
    list_display = ("branch", "weekdays_display", "cutoff", "assembly_days", "min_order_display")
    list_select_related = ("branch",)
    search_fields = ("branch__name",)

    @admin.display(description=_("дни доставки"))
    def weekdays_display(self, obj: BranchSchedule) -> str:
        names = dict(WEEKDAYS)
        return ", ".join(str(names[d]) for d in obj.delivery_weekdays if d in names)

    @admin.display(description=_("минимальная сумма заказа"), ordering="min_order_kopecks")
    def min_order_display(self, obj: BranchSchedule) -> str:
        return format_rub(obj.min_order_kopecks)


@admin.register(ServedCity)
class ServedCityAdmin(admin.ModelAdmin):
    list_display = ("city", "branch", "transit_days")
    list_select_related = ("city", "branch")
    list_filter = ("branch",)
    search_fields = ("city__name_ru", "branch__name")
    autocomplete_fields = ("city",)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("day", "name", "branch")
    list_select_related = ("branch",)
    list_filter = ("branch",)
    date_hierarchy = "day"


# --- imports --------------------------------------------------------------------------------


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """What was imported and how it went; the upload page is elsewhere."""

    list_display = (
        "created_at",
        "kind",
        "file_name",
        "price_list",
        "status",
        "total_rows",
        "accepted_rows",
        "rejected_rows",
        "created_by",
        "page_link",
    )
    list_select_related = ("price_list", "created_by")
    list_filter = ("kind", "status")
    search_fields = ("file_name",)
    date_hierarchy = "created_at"
    exclude = ("content",)

    @admin.display(description="")
    def page_link(self, obj: ImportJob) -> str:
        try:
            url = reverse("pharma:import-detail", args=[obj.pk])
        except NoReverseMatch:
            return ""
        return format_html('<a href="{}">{}</a>', url, _("ход и отчёт"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
