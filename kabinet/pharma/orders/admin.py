"""The orders back office (SPEC P-BO-2): orders, their lines, history and reservations.

Read-only but for the status: every change goes through `services.change_status`, so stock is
released or consumed, the history is written and the partner gets the e-mail; a transition
the rules refuse is a message, never a crash. Totals and lines are never edited here.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kabinet.accounts.models import User
from kabinet.core.errors import DomainError
from kabinet.core.money import format_rub
from kabinet.pharma.orders import rules, services
from kabinet.pharma.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Reservation,
)
from kabinet.pharma.payments.models import Payment


def _staff(request: HttpRequest) -> User:
    # The admin site lets only signed-in staff this far.
    return cast(User, request.user)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = (
        "product",
        "quantity",
        "price",
        "list_price",
        "promotion_title",
        "vat_percent",
        "amount",
        "series",
    )
    readonly_fields = fields

    @admin.display(description=_("цена с НДС"))
    def price(self, obj: OrderLine) -> str:
        return format_rub(obj.price_kopecks) if obj.pk else ""

    @admin.display(description=_("цена по прайсу"))
    def list_price(self, obj: OrderLine) -> str:
        return format_rub(obj.list_price_kopecks) if obj.pk else ""

    @admin.display(description=_("сумма"))
    def amount(self, obj: OrderLine) -> str:
        return format_rub(obj.amount_kopecks) if obj.pk else ""

    @admin.display(description=_("серии в резерве"))
    def series(self, obj: OrderLine) -> str:
        # The inline's blank template row has no saved line behind it.
        if not obj.pk:
            return ""
        return ", ".join(
            f"{r.offer.series} × {r.quantity} ({r.get_state_display()})"
            for r in obj.reservations.select_related("offer").order_by("id")
        )


class OrderStatusChangeInline(_ReadOnlyInline):
    model = OrderStatusChange
    fields = ("at", "from_status", "to_status", "by", "comment")
    readonly_fields = fields
    ordering = ("at", "id")


class PaidFilter(admin.SimpleListFilter):
    title = _("оплата")
    parameter_name = "paid"

    def lookups(self, request: HttpRequest, model_admin):
        return (
            ("no", _("не оплачен")),
            ("part", _("оплачен частично")),
            ("yes", _("оплачен")),
            ("over", _("переплата")),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        conditions = {
            "no": Q(paid_kopecks=0, total_kopecks__gt=0),
            "part": Q(paid_kopecks__gt=0, paid_kopecks__lt=F("total_kopecks")),
            "yes": Q(paid_kopecks__gte=F("total_kopecks")),
            "over": Q(paid_kopecks__gt=F("total_kopecks")),
        }
        condition = conditions.get(self.value() or "")
        return queryset.filter(condition) if condition is not None else queryset


class OrderStatusForm(forms.ModelForm):
    """Only the next status and a comment: everything else on the page is read-only."""

    new_status = forms.ChoiceField(
        label=_("перевести в статус"), required=False, choices=[("", "—"), *OrderStatus.choices]
    )
    comment = forms.CharField(
        label=_("комментарий к смене статуса"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            allowed = rules.TRANSITIONS.get(self.instance.status, frozenset())
            self.fields["new_status"].choices = [
                ("", "—"),
                *((value, label) for value, label in OrderStatus.choices if value in allowed),
            ]

    def clean_new_status(self) -> str:
        target = self.cleaned_data.get("new_status") or ""
        if target and not rules.can_transition(self.instance.status, target):
            raise forms.ValidationError(
                _("Заказ в статусе «%(current)s» нельзя перевести в статус «%(to)s».")
                % {
                    "current": OrderStatus(self.instance.status).label,
                    "to": OrderStatus(target).label,
                }
            )
        return target


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderStatusForm
    list_display = (
        "number",
        "organisation",
        "status",
        "total",
        "payment_method",
        "paid",
        "delivery_date",
        "created_at",
    )
    list_filter = ("status", "payment_method", PaidFilter, "warehouse__branch", "created_at")
    list_select_related = ("organisation",)
    search_fields = ("number", "organisation__name", "organisation__inn")
    date_hierarchy = "created_at"
    inlines = (OrderLineInline, OrderStatusChangeInline)
    actions = ("confirm", "assemble", "ship", "deliver", "cancel")
    readonly_fields = (
        "number",
        "organisation",
        "address",
        "warehouse",
        "placed_by",
        "status",
        "payment_method",
        "goods",
        "discount",
        "total",
        "vat",
        "paid",
        "payments",
        "delivery_date",
        "created_at",
        "updated_at",
    )
    fields = (*readonly_fields, "new_status", "comment")

    @admin.display(description=_("оплачено"), ordering="paid_kopecks")
    def paid(self, obj: Order) -> str:
        return format_rub(obj.paid_kopecks)

    @admin.display(description=_("платежи"))
    def payments(self, obj: Order) -> str:
        """Online payments and bank-statement documents of the order, read-only."""
        found = Payment.objects.filter(order=obj).order_by("created_at", "id")
        if not found:
            return "—"
        link = reverse("pharma:payment-list") + "?" + urlencode({"q": obj.number})
        return format_html(
            '<ul class="plain">{}</ul><a href="{}">{}</a>',
            format_html_join(
                "",
                "<li>{} · {} · {} · {}</li>",
                (
                    (
                        timezone.localtime(p.created_at).strftime("%d.%m.%Y %H:%M"),
                        p.provider,
                        format_rub(p.amount_kopecks),
                        p.get_status_display(),
                    )
                    for p in found
                ),
            ),
            link,
            gettext("Все платежи заказа"),
        )

    @admin.display(description=_("товары по прайсу"), ordering="goods_kopecks")
    def goods(self, obj: Order) -> str:
        return format_rub(obj.goods_kopecks)

    @admin.display(description=_("скидка"), ordering="discount_kopecks")
    def discount(self, obj: Order) -> str:
        return format_rub(obj.discount_kopecks)

    @admin.display(description=_("к оплате"), ordering="total_kopecks")
    def total(self, obj: Order) -> str:
        return format_rub(obj.total_kopecks)

    @admin.display(description=_("в т. ч. НДС"), ordering="vat_kopecks")
    def vat(self, obj: Order) -> str:
        return format_rub(obj.vat_kopecks)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Order, form, change: bool) -> None:
        """Never save the row itself: only a status change, through the service."""
        target = form.cleaned_data.get("new_status")
        if not target:
            return
        try:
            services.change_status(
                order=obj, to=target, by=_staff(request), comment=form.cleaned_data["comment"]
            )
        except DomainError as error:
            # Another manager moved the order between the form's check and this save.
            self.message_user(request, f"{obj}: {error.message}", messages.ERROR)

    def _move(self, request: HttpRequest, queryset: QuerySet[Order], to: str) -> None:
        moved = 0
        for order in queryset.order_by("pk"):
            try:
                services.change_status(order=order, to=to, by=_staff(request))
            except DomainError as error:
                self.message_user(request, f"{order}: {error.message}", messages.ERROR)
            else:
                moved += 1
        if moved:
            self.message_user(
                request,
                gettext("Заказов переведено в статус «%(status)s»: %(n)d.")
                % {"status": OrderStatus(to).label, "n": moved},
                messages.SUCCESS,
            )

    @admin.action(description=_("Подтвердить"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.CONFIRMED)

    @admin.action(description=_("Отметить собранными"))
    def assemble(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.ASSEMBLED)

    @admin.action(description=_("Отгрузить (списать резерв со склада)"))
    def ship(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.SHIPPED)

    @admin.action(description=_("Отметить доставленными"))
    def deliver(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.DELIVERED)

    @admin.action(description=_("Отменить (снять резерв)"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.CANCELLED)


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Which series are held for which order (P-NEXT-2); written only by the order services."""

    list_display = ("order_number", "product", "series", "warehouse", "quantity", "state")
    list_filter = ("state", "offer__warehouse__branch")
    list_select_related = ("line__order", "line__product", "offer__warehouse")
    search_fields = ("line__order__number", "line__product__trade_name", "offer__series")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("заказ"), ordering="line__order__number")
    def order_number(self, obj: Reservation) -> str:
        return str(obj.line.order)

    @admin.display(description=_("товар"))
    def product(self, obj: Reservation) -> str:
        return str(obj.line.product)

    @admin.display(description=_("серия"))
    def series(self, obj: Reservation) -> str:
        return obj.offer.series

    @admin.display(description=_("склад"))
    def warehouse(self, obj: Reservation) -> str:
        return str(obj.offer.warehouse)
