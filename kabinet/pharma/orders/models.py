"""Carts, orders and saved order lists (SPEC P-ORD-1 … P-ORD-4, P-NEXT-2, P-NEXT-3).

Money is integer kopecks, VAT included. Loaded by `kabinet.pharma.models`, so these are models
of the `pharma` app. Stock is held on `Offer.reserved` and recorded per series in
`Reservation`; only the services in `orders.services` change either.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kabinet.pharma.orders import rules


class Cart(models.Model):
    """One cart per delivery address of an organisation: goods go to one warehouse."""

    organisation = models.ForeignKey(
        "pharma.Organisation",
        verbose_name=_("организация"),
        on_delete=models.CASCADE,
        related_name="carts",
    )
    address = models.ForeignKey(
        "pharma.DeliveryAddress",
        verbose_name=_("адрес доставки"),
        on_delete=models.CASCADE,
        related_name="carts",
    )
    updated_at = models.DateTimeField(_("изменена"), default=timezone.now)

    class Meta:
        verbose_name = _("корзина")
        verbose_name_plural = _("корзины")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "address"], name="pharma_cart_one_per_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.address_id}"


class CartLine(models.Model):
    cart = models.ForeignKey(
        Cart, verbose_name=_("корзина"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        "pharma.Product", verbose_name=_("товар"), on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("количество, уп."))
    added_at = models.DateTimeField(_("добавлен"), default=timezone.now)

    class Meta:
        verbose_name = _("строка корзины")
        verbose_name_plural = _("строки корзины")
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="pharma_cartline_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="pharma_cartline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"


class OrderStatus(models.TextChoices):
    NEW = rules.NEW, _("новый")
    AWAITING_APPROVAL = rules.AWAITING_APPROVAL, _("ждёт согласования")
    CONFIRMED = rules.CONFIRMED, _("подтверждён")
    ASSEMBLED = rules.ASSEMBLED, _("собран")
    SHIPPED = rules.SHIPPED, _("отгружен")
    DELIVERED = rules.DELIVERED, _("доставлен")
    CANCELLED = rules.CANCELLED, _("отменён")


class PaymentMethod(models.TextChoices):
    ONLINE = "online", _("онлайн")
    INVOICE = "invoice", _("по счёту")
    DEFERRED = "deferred", _("отсрочка платежа")


class Order(models.Model):
    """A placed order: its lines hold the prices of the moment, its reservations the series."""

    # «З-2026-000123»: from the primary key, set in the transaction that inserts the row, so
    # it is unique without a counter table. Null only between the insert and that update.
    number = models.CharField(  # noqa: DJ001 — NULLs, unlike "", never collide in the unique index
        _("номер"), max_length=20, unique=True, null=True, editable=False
    )
    organisation = models.ForeignKey(
        "pharma.Organisation",
        verbose_name=_("организация"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    address = models.ForeignKey(
        "pharma.DeliveryAddress",
        verbose_name=_("адрес доставки"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    warehouse = models.ForeignKey(
        "pharma.Warehouse", verbose_name=_("склад"), on_delete=models.PROTECT, related_name="+"
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("оформил"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("статус"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.NEW
    )
    payment_method = models.CharField(
        _("способ оплаты"), max_length=10, choices=PaymentMethod.choices
    )
    goods_kopecks = models.BigIntegerField(_("товары по прайсу, коп."))
    discount_kopecks = models.BigIntegerField(_("скидка, коп."))
    total_kopecks = models.BigIntegerField(_("к оплате, коп."))
    vat_kopecks = models.BigIntegerField(_("в т. ч. НДС, коп."))
    # The money the order holds: payments received less refunds made. Raised only by
    # payments.services.apply_payment_event, lowered only when a refund succeeds
    # (payments.refunds); each payment and refund is its own row.
    paid_kopecks = models.BigIntegerField(_("оплачено, коп."), default=0)
    delivery_date = models.DateField(_("дата доставки"), null=True, blank=True)
    # A client's retry key: the same key of one organisation returns the same order.
    idempotency_key = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("оформлен"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("изменён"), default=timezone.now)

    class Meta:
        verbose_name = _("заказ")
        verbose_name_plural = _("заказы")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="pharma_order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(payment_method__in=PaymentMethod.values),
                name="pharma_order_payment_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(total_kopecks__gte=0)
                & Q(discount_kopecks__gte=0)
                & Q(vat_kopecks__gte=0),
                name="pharma_order_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(paid_kopecks__gte=0), name="pharma_order_paid_not_negative"
            ),
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="pharma_order_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def is_paid(self) -> bool:
        return self.paid_kopecks >= self.total_kopecks

    @property
    def unpaid_kopecks(self) -> int:
        return max(0, self.due_kopecks - self.paid_kopecks)

    @property
    def due_kopecks(self) -> int:
        """What the buyer owes for the order: nothing once it is cancelled."""
        return 0 if self.status == OrderStatus.CANCELLED else self.total_kopecks

    @property
    def overpaid_kopecks(self) -> int:
        """Money held above what is owed: to be returned to the buyer («к возврату»)."""
        return max(0, self.paid_kopecks - self.due_kopecks)

    @staticmethod
    def number_for(*, pk: int, year: int) -> str:
        return f"З-{year}-{pk:06d}"


class OrderLine(models.Model):
    """A product of an order at the price of the moment it was placed."""

    order = models.ForeignKey(
        Order, verbose_name=_("заказ"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        "pharma.Product", verbose_name=_("товар"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("количество, уп."))
    price_kopecks = models.BigIntegerField(_("цена с НДС, коп."))
    list_price_kopecks = models.BigIntegerField(_("цена по прайсу, коп."))
    vat_percent = models.PositiveSmallIntegerField(_("НДС, %"))
    promotion_title = models.CharField(_("акция"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("строка заказа")
        verbose_name_plural = _("строки заказа")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="pharma_orderline_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="pharma_orderline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(price_kopecks__gt=0)
                & Q(price_kopecks__lte=models.F("list_price_kopecks")),
                name="pharma_orderline_price_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"

    @property
    def amount_kopecks(self) -> int:
        return self.price_kopecks * self.quantity


class ReservationState(models.TextChoices):
    HELD = "held", _("в резерве")
    RELEASED = "released", _("снят")
    SHIPPED = "shipped", _("отгружен")


class Reservation(models.Model):
    """Packs of one series held for an order line (which series went to whom, P-NEXT-2)."""

    line = models.ForeignKey(
        OrderLine,
        verbose_name=_("строка заказа"),
        on_delete=models.CASCADE,
        related_name="reservations",
    )
    offer = models.ForeignKey(
        "pharma.Offer", verbose_name=_("серия"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("количество, уп."))
    state = models.CharField(
        _("состояние"),
        max_length=8,
        choices=ReservationState.choices,
        default=ReservationState.HELD,
    )

    class Meta:
        verbose_name = _("резерв")
        verbose_name_plural = _("резервы")
        ordering = ["line", "id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "offer"], name="pharma_reservation_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="pharma_reservation_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(state__in=ReservationState.values),
                name="pharma_reservation_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} × {self.quantity}"


class OrderStatusChange(models.Model):
    """The order's history: one row for placing it and one for each change (P-ORD-4)."""

    order = models.ForeignKey(
        Order, verbose_name=_("заказ"), on_delete=models.CASCADE, related_name="history"
    )
    # Empty on the first row: the order did not exist before.
    from_status = models.CharField(
        _("был статус"), max_length=20, choices=OrderStatus.choices, blank=True
    )
    to_status = models.CharField(_("стал статус"), max_length=20, choices=OrderStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кто"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("когда"), default=timezone.now)
    comment = models.TextField(_("комментарий"), blank=True)

    class Meta:
        verbose_name = _("изменение статуса заказа")
        verbose_name_plural = _("история заказа")
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class SavedList(models.Model):
    """An organisation's saved order list («Еженедельный заказ»), shared by its buyers.

    Only `orders.saved_lists` writes it; `name_key` is the name folded for comparison (case,
    «ё», spaces), so that «Сезон ОРВИ» and «сезон  орви» are one name on every database.
    """

    organisation = models.ForeignKey(
        "pharma.Organisation",
        verbose_name=_("организация"),
        on_delete=models.CASCADE,
        related_name="saved_lists",
    )
    name = models.CharField(_("название"), max_length=100)
    # casefold() may lengthen a name (ß → ss), hence the room.
    name_key = models.CharField(max_length=300, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("создал"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("создан"), default=timezone.now)
    updated_at = models.DateTimeField(_("изменён"), default=timezone.now)

    class Meta:
        verbose_name = _("список заказа")
        verbose_name_plural = _("списки заказов")
        ordering = ["organisation", "name_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name_key"], name="pharma_savedlist_unique_name"
            ),
            models.CheckConstraint(
                condition=~Q(name="") & ~Q(name_key=""), name="pharma_savedlist_name_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SavedListLine(models.Model):
    saved_list = models.ForeignKey(
        SavedList, verbose_name=_("список"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        "pharma.Product", verbose_name=_("товар"), on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("количество, уп."))
    added_at = models.DateTimeField(_("добавлен"), default=timezone.now)

    class Meta:
        verbose_name = _("строка списка")
        verbose_name_plural = _("строки списка")
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["saved_list", "product"], name="pharma_savedlistline_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="pharma_savedlistline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"
