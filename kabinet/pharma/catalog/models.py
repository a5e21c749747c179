"""Catalog data (SPEC P-CAT-1, P-CAT-3, P-CAT-4, P-CAT-5, P-NET-1, P-NEXT-2).

Money is integer kopecks (`*_kopecks`), VAT included, as Russian wholesale price lists are.
Loaded by `kabinet.pharma.models`, so these are models of the `pharma` app.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kabinet.geo.models import City, Region


class Category(models.Model):
    """A node of the category tree; `path` is the materialised path for subtree filters."""

    name = models.CharField(_("название"), max_length=150)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("родитель"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # "0001.0004." — the ids of the ancestors and itself, zero-padded, so that a
    # subtree is one `path LIKE 'prefix%'` on an index.
    path = models.CharField(_("путь"), max_length=255, db_index=True, editable=False)
    position = models.PositiveSmallIntegerField(_("порядок"), default=0)

    class Meta:
        verbose_name = _("категория")
        verbose_name_plural = _("категории")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="pharma_category_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count(".") - 1


class Manufacturer(models.Model):
    name = models.CharField(_("название"), max_length=200, unique=True)
    country = models.CharField(_("страна"), max_length=80)

    class Meta:
        verbose_name = _("производитель")
        verbose_name_plural = _("производители")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ControlClass(models.TextChoices):
    """Which licence a product needs beyond the pharmaceutical one (P-NEXT-1)."""

    NONE = "", _("нет")
    NARCOTIC = "narcotic", _("наркотическое средство")
    PSYCHOTROPIC = "psychotropic", _("психотропное вещество")
    PRECURSOR = "precursor", _("прекурсор")
    # Предметно-количественный учёт: no extra licence, but a prescription form and a ledger.
    QUANTITY_ACCOUNTED = "pku", _("предметно-количественный учёт")


class Product(models.Model):
    """A medicine, medical device or related good (SPEC P-CAT-1)."""

    code = models.CharField(_("код товара"), max_length=20, unique=True)
    trade_name = models.CharField(_("торговое наименование"), max_length=200)
    inn_name = models.CharField(_("МНН"), max_length=200, blank=True)
    form = models.CharField(_("лекарственная форма"), max_length=120, blank=True)
    dosage = models.CharField(_("дозировка"), max_length=80, blank=True)
    pack = models.CharField(_("упаковка"), max_length=80, blank=True)
    pack_size = models.PositiveIntegerField(_("штук в упаковке"), default=1)
    manufacturer = models.ForeignKey(
        Manufacturer, verbose_name=_("производитель"), on_delete=models.PROTECT, related_name="+"
    )
    country = models.CharField(_("страна производства"), max_length=80)
    category = models.ForeignKey(
        Category, verbose_name=_("категория"), on_delete=models.PROTECT, related_name="products"
    )
    description = models.TextField(_("описание"), blank=True)
    prescription_only = models.BooleanField(_("по рецепту"), default=False)
    jnvlp = models.BooleanField(_("ЖНВЛП"), default=False)
    # The manufacturer's registered maximum selling price, without VAT, in kopecks.
    registered_price_kopecks = models.BigIntegerField(
        _("зарегистрированная предельная цена, коп."), null=True, blank=True
    )
    cold_chain = models.BooleanField(_("холодовая цепь"), default=False)
    storage_min_c = models.SmallIntegerField(_("хранить от, °C"), null=True, blank=True)
    storage_max_c = models.SmallIntegerField(_("хранить до, °C"), null=True, blank=True)
    control_class = models.CharField(
        _("контроль оборота"), max_length=12, choices=ControlClass.choices, blank=True
    )
    vat_percent = models.PositiveSmallIntegerField(_("НДС, %"), default=10)
    # Packs per order line: a carton-only good has 10, 20, …
    order_multiple = models.PositiveIntegerField(_("кратность заказа"), default=1)
    delivery_conditions = models.CharField(_("условия доставки"), max_length=255, blank=True)
    is_active = models.BooleanField(_("в продаже"), default=True)
    # Lower-cased trade name, МНН, manufacturer and barcodes, kept by the write paths for
    # search (see catalog/search.py); never edited by hand.
    search_text = models.TextField(editable=False, blank=True)
    updated_at = models.DateTimeField(_("изменён"), default=timezone.now)

    class Meta:
        verbose_name = _("товар")
        verbose_name_plural = _("товары")
        ordering = ["trade_name", "id"]
        indexes = [models.Index(fields=["trade_name"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(jnvlp=False) | Q(registered_price_kopecks__gt=0),
                name="pharma_product_jnvlp_has_registered_price",
            ),
            models.CheckConstraint(
                condition=Q(cold_chain=False)
                | Q(
                    storage_min_c__isnull=False,
                    storage_max_c__isnull=False,
                    storage_min_c__lt=F("storage_max_c"),
                ),
                name="pharma_product_cold_chain_has_range",
            ),
            models.CheckConstraint(
                condition=Q(vat_percent__in=[0, 10, 20, 22]), name="pharma_product_vat_valid"
            ),
            models.CheckConstraint(
                condition=Q(pack_size__gte=1) & Q(order_multiple__gte=1),
                name="pharma_product_pack_positive",
            ),
        ]

    def __str__(self) -> str:
        parts = [self.trade_name, self.form, self.dosage, self.pack]
        return " ".join(p for p in parts if p)

    @property
    def needs_licence_kind(self) -> str | None:
        """The LicenceKind an order of this product needs besides the pharmaceutical one."""
        if self.control_class in (ControlClass.NARCOTIC, ControlClass.PSYCHOTROPIC):
            return "narcotic"
        if self.control_class == ControlClass.PRECURSOR:
            return "precursor"
        return None


class Barcode(models.Model):
    """An EAN-13 of a product; a product may carry several (packs from different plants)."""

    product = models.ForeignKey(
        Product, verbose_name=_("товар"), on_delete=models.CASCADE, related_name="barcodes"
    )
    ean13 = models.CharField(_("штрихкод EAN-13"), max_length=13, unique=True)

    class Meta:
        verbose_name = _("штрихкод")
        verbose_name_plural = _("штрихкоды")
        ordering = ["ean13"]

    def __str__(self) -> str:
        return self.ean13


class Warehouse(models.Model):
    """A branch's warehouse: stock lives here and orders are reserved here (P-ORD-3)."""

    branch = models.ForeignKey(
        "pharma.Branch",
        verbose_name=_("филиал"),
        on_delete=models.PROTECT,
        related_name="warehouses",
    )
    code = models.SlugField(_("код"), max_length=32, unique=True)
    name = models.CharField(_("название"), max_length=150)
    address = models.CharField(_("адрес"), max_length=255, blank=True)
    is_main = models.BooleanField(_("основной склад филиала"), default=True)

    class Meta:
        verbose_name = _("склад")
        verbose_name_plural = _("склады")
        ordering = ["branch", "-is_main", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch"],
                condition=Q(is_main=True),
                name="pharma_warehouse_one_main_per_branch",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    """Stock of one series of a product in one warehouse (P-NEXT-2).

    `reserved` is what placed orders hold until shipment; free stock is quantity − reserved,
    and the database refuses anything that would make it negative.
    """

    product = models.ForeignKey(
        Product, verbose_name=_("товар"), on_delete=models.CASCADE, related_name="offers"
    )
    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("склад"), on_delete=models.CASCADE, related_name="offers"
    )
    series = models.CharField(_("серия"), max_length=40)
    expires_on = models.DateField(_("годен до"))
    quantity = models.PositiveIntegerField(_("остаток, уп."), default=0)
    reserved = models.PositiveIntegerField(_("в резерве, уп."), default=0)
    updated_at = models.DateTimeField(_("обновлён"), default=timezone.now)

    class Meta:
        verbose_name = _("предложение (серия)")
        verbose_name_plural = _("предложения (серии)")
        ordering = ["product", "warehouse", "expires_on", "series"]
        indexes = [models.Index(fields=["warehouse", "product"])]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse", "series"], name="pharma_offer_unique_series"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("quantity")), name="pharma_offer_reserved_le_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} — {self.series} до {self.expires_on:%d.%m.%Y}"

    @property
    def free(self) -> int:
        return self.quantity - self.reserved


# --- delivery schedule (P-ORD-5, P-NET-1) ---------------------------------------------------


class BranchSchedule(models.Model):
    """How a branch delivers: weekdays, the order cut-off in its local time, the minimum order.

    The local time is the branch city's time zone (`branch.city.timezone`).
    """

    branch = models.OneToOneField(
        "pharma.Branch",
        verbose_name=_("филиал"),
        on_delete=models.CASCADE,
        related_name="schedule",
    )
    # ISO weekdays 1 (Monday) … 7 (Sunday) on which the branch's vans go out.
    delivery_weekdays = models.JSONField(_("дни доставки"), default=list)
    cutoff = models.TimeField(_("приём заказов до"))
    # Days from the order's working day to the shipment leaving the warehouse.
    assembly_days = models.PositiveSmallIntegerField(_("дней на сборку"), default=0)
    min_order_kopecks = models.BigIntegerField(_("минимальная сумма заказа, коп."), default=0)

    class Meta:
        verbose_name = _("график доставки")
        verbose_name_plural = _("графики доставки")

    def __str__(self) -> str:
        return str(self.branch)


class ServedCity(models.Model):
    """A city a branch delivers to, with the transit days from its warehouse."""

    branch = models.ForeignKey(
        "pharma.Branch",
        verbose_name=_("филиал"),
        on_delete=models.CASCADE,
        related_name="served_cities",
    )
    city = models.OneToOneField(
        City, verbose_name=_("город"), on_delete=models.CASCADE, related_name="+"
    )
    transit_days = models.PositiveSmallIntegerField(_("дней в пути"), default=0)

    class Meta:
        verbose_name = _("обслуживаемый город")
        verbose_name_plural = _("обслуживаемые города")
        ordering = ["branch", "city__name_ru"]

    def __str__(self) -> str:
        return f"{self.city} ← {self.branch}"


class Holiday(models.Model):
    """A non-working day: for every branch (branch empty) or for one branch."""

    day = models.DateField(_("дата"))
    branch = models.ForeignKey(
        "pharma.Branch",
        verbose_name=_("филиал"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="holidays",
    )
    name = models.CharField(_("название"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("нерабочий день")
        verbose_name_plural = _("нерабочие дни")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "branch"], name="pharma_holiday_unique_per_branch"
            ),
            models.UniqueConstraint(
                fields=["day"], condition=Q(branch__isnull=True), name="pharma_holiday_unique_all"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day:%d.%m.%Y} {self.name}"


# --- prices (P-CAT-3) -----------------------------------------------------------------------


class PriceList(models.Model):
    """A price list; its region is where the ЖНВЛП ceiling is checked on import."""

    code = models.SlugField(_("код"), max_length=32, unique=True)
    name = models.CharField(_("название"), max_length=150)
    region = models.ForeignKey(
        Region,
        verbose_name=_("регион"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Для проверки предельных цен ЖНВЛП; пусто — самые строгие надбавки."),
    )
    is_base = models.BooleanField(_("базовый"), default=False)
    updated_at = models.DateTimeField(_("изменён"), default=timezone.now)

    class Meta:
        verbose_name = _("прайс-лист")
        verbose_name_plural = _("прайс-листы")
        ordering = ["-is_base", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_base"], condition=Q(is_base=True), name="pharma_pricelist_one_base"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Price(models.Model):
    """A product's price in a price list, VAT included, in kopecks."""

    price_list = models.ForeignKey(
        PriceList, verbose_name=_("прайс-лист"), on_delete=models.CASCADE, related_name="prices"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("товар"), on_delete=models.CASCADE, related_name="prices"
    )
    price_kopecks = models.BigIntegerField(_("цена с НДС, коп."))
    updated_at = models.DateTimeField(_("изменена"), default=timezone.now)

    class Meta:
        verbose_name = _("цена")
        verbose_name_plural = _("цены")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product"], name="pharma_price_unique_product"
            ),
            models.CheckConstraint(condition=Q(price_kopecks__gt=0), name="pharma_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.price_kopecks}"


class PriceGroup(models.Model):
    """Organisations priced by one price list (P-CAT-3); promotions may target groups."""

    code = models.SlugField(_("код"), max_length=32, unique=True)
    name = models.CharField(_("название"), max_length=150)
    price_list = models.ForeignKey(
        PriceList, verbose_name=_("прайс-лист"), on_delete=models.PROTECT, related_name="groups"
    )

    class Meta:
        verbose_name = _("ценовая группа")
        verbose_name_plural = _("ценовые группы")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WholesaleMarkup(models.Model):
    """A region's maximum wholesale markups on ЖНВЛП by price band, from a date (P-CAT-3).

    Percentages of the registered price without VAT; the band is chosen by that price:
    up to 100 ₽, over 100 up to 500 ₽, over 500 ₽.
    """

    region = models.ForeignKey(
        Region, verbose_name=_("регион"), on_delete=models.CASCADE, related_name="+"
    )
    effective_from = models.DateField(_("действует с"))
    upto_100_percent = models.DecimalField(_("до 100 ₽, %"), max_digits=5, decimal_places=2)
    upto_500_percent = models.DecimalField(_("100–500 ₽, %"), max_digits=5, decimal_places=2)
    over_500_percent = models.DecimalField(_("свыше 500 ₽, %"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("предельная оптовая надбавка")
        verbose_name_plural = _("предельные оптовые надбавки")
        ordering = ["region", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "effective_from"], name="pharma_markup_unique_date"
            ),
            models.CheckConstraint(
                condition=Q(upto_100_percent__gte=0)
                & Q(upto_500_percent__gte=0)
                & Q(over_500_percent__gte=0),
                name="pharma_markup_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} с {self.effective_from:%d.%m.%Y}"


# --- promotions (P-CAT-4) -------------------------------------------------------------------


class PromotionKind(models.TextChoices):
    PERCENT = "percent", _("скидка в процентах")
    FIXED = "fixed", _("скидка в рублях с упаковки")


class Promotion(models.Model):
    """A discount on products, manufacturers or categories for dates (P-CAT-4).

    Empty targets mean nothing is discounted (a banner only); empty price groups mean every
    signed-in partner.
    """

    title = models.CharField(_("название"), max_length=150)
    banner_text = models.CharField(_("текст баннера"), max_length=255, blank=True)
    kind = models.CharField(_("вид"), max_length=8, choices=PromotionKind.choices)
    # Percent with two places for PERCENT; kopecks per pack for FIXED.
    percent = models.DecimalField(
        _("скидка, %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    amount_kopecks = models.BigIntegerField(_("скидка, коп."), null=True, blank=True)
    starts_on = models.DateField(_("начало"))
    ends_on = models.DateField(_("окончание"))
    products = models.ManyToManyField(
        Product, verbose_name=_("товары"), blank=True, related_name="promotions"
    )
    manufacturers = models.ManyToManyField(
        Manufacturer, verbose_name=_("производители"), blank=True, related_name="promotions"
    )
    categories = models.ManyToManyField(
        Category, verbose_name=_("категории"), blank=True, related_name="promotions"
    )
    price_groups = models.ManyToManyField(
        PriceGroup, verbose_name=_("ценовые группы"), blank=True, related_name="promotions"
    )
    is_active = models.BooleanField(_("включена"), default=True)

    class Meta:
        verbose_name = _("акция")
        verbose_name_plural = _("акции")
        ordering = ["-starts_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="pharma_promotion_dates_order"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent__gt=0, percent__lt=100, amount_kopecks__isnull=True)
                    | Q(kind="fixed", amount_kopecks__gt=0, percent__isnull=True)
                ),
                name="pharma_promotion_value_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def runs_on(self, day: date) -> bool:
        return self.is_active and self.starts_on <= day <= self.ends_on


# --- imports (P-CAT-5) ----------------------------------------------------------------------


class ImportKind(models.TextChoices):
    CATALOG = "catalog", _("каталог")
    PRICES = "prices", _("цены")
    STOCK = "stock", _("остатки")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("в очереди")
    RUNNING = "running", _("выполняется")
    DONE = "done", _("завершён")
    FAILED = "failed", _("отклонён")


class ImportJob(models.Model):
    """One uploaded file and what became of it: progress, counts, rejected rows."""

    kind = models.CharField(_("что загружается"), max_length=8, choices=ImportKind.choices)
    price_list = models.ForeignKey(
        PriceList,
        verbose_name=_("прайс-лист"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file_name = models.CharField(_("файл"), max_length=255)
    content = models.BinaryField(_("содержимое"), editable=False)
    status = models.CharField(
        _("состояние"), max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("строк"), default=0)
    processed_rows = models.PositiveIntegerField(_("обработано"), default=0)
    accepted_rows = models.PositiveIntegerField(_("принято"), default=0)
    rejected_rows = models.PositiveIntegerField(_("отклонено"), default=0)
    # CSV of rejected rows: line number, the row as read, the reason.
    report = models.TextField(_("отчёт об отклонённых строках"), blank=True)
    error = models.TextField(_("ошибка"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("загрузил"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("загружен"), default=timezone.now)
    started_at = models.DateTimeField(_("начат"), null=True, blank=True)
    finished_at = models.DateTimeField(_("завершён"), null=True, blank=True)

    class Meta:
        verbose_name = _("импорт")
        verbose_name_plural = _("импорты")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ImportKind.values), name="pharma_import_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="pharma_import_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.file_name}"

    @property
    def percent_done(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (ImportStatus.DONE, ImportStatus.FAILED) else 0
        return min(100, self.processed_rows * 100 // self.total_rows)
