"""The pharma back office (SPEC P-BO-1): lead queue, registration verification, organisations.

Every decision goes through a service, which writes the audit entry and the e-mail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kabinet.accounts.models import User
from kabinet.core import audit
from kabinet.core.errors import DomainError
from kabinet.core.forms import RoublesField
from kabinet.core.http import client_ip
from kabinet.core.money import format_rub, parse_amount, to_decimal
from kabinet.pharma import identifiers, selectors, services
from kabinet.pharma.catalog import admin as _catalog_admin  # noqa: F401 — registers the catalog
from kabinet.pharma.forms import LicenceAdminForm, PartnerUserAdminForm, VerifyForm
from kabinet.pharma.models import (
    Authority,
    Branch,
    DeliveryAddress,
    Lead,
    LeadStatus,
    Licence,
    Organisation,
    PartnerUser,
    Registration,
    RegistrationStatus,
)
from kabinet.pharma.orders import admin as _orders_admin  # noqa: F401 — registers the orders


def _staff(request: HttpRequest) -> User:
    # The admin site lets only signed-in staff this far.
    return cast(User, request.user)


class _QueueMedia:
    class Media:
        css = {"all": ["pharma/admin.css"]}


def _waiting(obj, open_statuses) -> str:
    if obj.status not in open_statuses:
        return "—"
    item = selectors.QueueItem(
        obj=obj,
        waiting=timezone.now() - obj.created_at,
        overdue=timezone.now() - obj.created_at > selectors.OVERDUE_AFTER,
    )
    css = "pharma-overdue" if item.overdue else "pharma-waiting"
    return format_html('<span class="{}">{}</span>', css, item.waiting_text)


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "city", "address", "phone", "email", "is_head_office")
    list_select_related = ("region", "city")
    search_fields = ("name", "address", "city__name_ru", "region__name_ru")
    autocomplete_fields = ("city",)
    raw_id_fields = ("region",)


@admin.register(Lead)
class LeadAdmin(_QueueMedia, admin.ModelAdmin):
    """The managers' lead queue (SPEC P-LEAD-2): new → in progress → approved / rejected."""

    list_display = (
        "created_at",
        "organisation_name",
        "representative_name",
        "city",
        "activity_type",
        "email_display",
        "phone",
        "status",
        "assigned_to",
        "waiting",
    )
    list_filter = ("status", "activity_type", "free_email", "assigned_to")
    list_select_related = ("city", "assigned_to")
    search_fields = ("organisation_name", "representative_name", "email", "phone")
    date_hierarchy = "created_at"
    ordering = ("created_at",)
    actions = ("take", "approve", "reject")
    readonly_fields = (
        "representative_name",
        "organisation_name",
        "email",
        "free_email",
        "phone",
        "city",
        "activity_type",
        "status",
        "created_at",
        "decided_at",
        "client_ip",
    )
    fields = (*readonly_fields, "assigned_to", "notes")
    change_form_template = "admin/pharma/lead/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("корпоративная почта"), ordering="email")
    def email_display(self, obj: Lead) -> str:
        if obj.free_email:
            return format_html('{} <span class="pharma-warn">{}</span>', obj.email, _("бесплатная"))
        return obj.email

    @admin.display(description=_("ждёт"))
    def waiting(self, obj: Lead) -> str:
        return _waiting(obj, (LeadStatus.NEW, LeadStatus.IN_PROGRESS))

    def _decide(self, request: HttpRequest, queryset, call, done: str) -> None:
        count = 0
        for lead in queryset:
            try:
                call(lead)
            except DomainError as error:
                self.message_user(request, f"{lead}: {error.message}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{done}: {count}", messages.SUCCESS)

    @admin.action(description=_("Взять в работу"))
    def take(self, request: HttpRequest, queryset) -> None:
        self._decide(
            request,
            queryset,
            lambda lead: services.take_lead(
                lead_id=lead.pk, actor=_staff(request), ip=client_ip(request)
            ),
            str(_("Взято в работу")),
        )

    @admin.action(description=_("Одобрить и сообщить заявителю"))
    def approve(self, request: HttpRequest, queryset) -> None:
        self._decide(
            request,
            queryset,
            lambda lead: services.decide_lead(
                lead_id=lead.pk, approve=True, actor=_staff(request), ip=client_ip(request)
            ),
            str(_("Одобрено")),
        )

    @admin.action(description=_("Отклонить и сообщить заявителю"))
    def reject(self, request: HttpRequest, queryset) -> None:
        self._decide(
            request,
            queryset,
            lambda lead: services.decide_lead(
                lead_id=lead.pk, approve=False, actor=_staff(request), ip=client_ip(request)
            ),
            str(_("Отклонено")),
        )

    def response_change(self, request: HttpRequest, obj: Lead) -> HttpResponse:
        """The decision buttons of the change form, after notes and assignment are saved."""
        buttons = {"_take": None, "_approve": True, "_reject": False}
        pressed = next((name for name in buttons if name in request.POST), None)
        if pressed is None:
            return super().response_change(request, obj)
        try:
            if pressed == "_take":
                services.take_lead(lead_id=obj.pk, actor=_staff(request), ip=client_ip(request))
            else:
                services.decide_lead(
                    lead_id=obj.pk,
                    approve=bool(buttons[pressed]),
                    actor=_staff(request),
                    ip=client_ip(request),
                )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, _("Решение сохранено."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:pharma_lead_change", args=[obj.pk]))


@admin.register(Registration)
class RegistrationAdmin(_QueueMedia, admin.ModelAdmin):
    """Registrations waiting for a manager's check (SPEC P-REG-3)."""

    list_display = (
        "created_at",
        "organisation_name",
        "inn",
        "user",
        "city",
        "status",
        "waiting",
        "verify_link",
    )
    list_filter = ("status",)
    list_select_related = ("user", "city")
    search_fields = ("organisation_name", "inn", "user__username", "user__email")
    ordering = ("created_at",)
    readonly_fields = [f.name for f in Registration._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("ждёт"))
    def waiting(self, obj: Registration) -> str:
        return _waiting(obj, (RegistrationStatus.PENDING,))

    @admin.display(description="")
    def verify_link(self, obj: Registration) -> str:
        if obj.status != RegistrationStatus.PENDING:
            return ""
        url = reverse("admin:pharma_registration_verify", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Проверить"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/verify/",
                self.admin_site.admin_view(self.verify_view),
                name="pharma_registration_verify",
            ),
            *super().get_urls(),
        ]

    def verify_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Link the user to an organisation, record the contract, grant or refuse."""
        if not self.has_change_permission(request):
            raise DjangoPermissionDenied
        registration = get_object_or_404(
            Registration.objects.select_related("user", "city", "city__region"), pk=pk
        )
        existing = Organisation.objects.filter(inn=registration.inn).first()
        initial = {
            "decision": "approve",
            "granted": registration.requested_authorities,
            "contract_number": existing.contract_number if existing else "",
            "contract_date": existing.contract_date if existing else None,
        }
        form = VerifyForm(
            request.POST or None,
            initial=initial,
            requested=registration.requested_authorities,
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.verify_registration(
                    registration_id=registration.pk,
                    actor=_staff(request),
                    approve=data["decision"] == "approve",
                    granted=data["granted"],
                    contract_number=data["contract_number"],
                    contract_date=data["contract_date"],
                    reason=data["reason"],
                    ip=client_ip(request),
                )
            except DomainError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
            else:
                self.message_user(request, _("Решение сохранено, письмо отправлено."))
                return HttpResponseRedirect(reverse("admin:pharma_registration_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Проверка регистрации"),
            "registration": registration,
            "existing": existing,
            "requested": [Authority(a).label for a in registration.requested_authorities],
            "form": form,
        }
        return render(request, "admin/pharma/registration/verify.html", context)


class PartnerUserInline(admin.TabularInline):
    model = PartnerUser
    form = PartnerUserAdminForm
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "full_name", "phone", "authorities")


class DeliveryAddressInline(admin.TabularInline):
    model = DeliveryAddress
    extra = 0
    autocomplete_fields = ("city",)
    fields = ("name", "city", "address")


class LicenceInline(admin.TabularInline):
    model = Licence
    form = LicenceAdminForm
    extra = 0
    fields = ("number", "kinds", "issued_on", "expires_on")


class OrganisationAdminForm(forms.ModelForm):
    # Empty means no discount, as on the model; the range is the model's check constraint.
    discount_percent = forms.DecimalField(
        label=_("скидка организации, %"),
        required=False,
        min_value=0,
        max_value=Decimal("99.99"),
        max_digits=5,
        decimal_places=2,
    )
    # Money is entered in roubles and kept in kopecks: 1234,56 → 123456, exactly.
    credit_limit_rub = RoublesField(
        label=_("кредитный лимит, ₽"),
        help_text=_(
            "Сколько организация может быть должна по заказам с отсрочкой платежа, в рублях. "
            "0 — отсрочки нет."
        ),
        required=False,
    )
    approval_threshold_rub = RoublesField(
        label=_("заказы на согласование свыше, ₽"),
        help_text=_(
            "Заказ дороже этой суммы, оформленный сотрудником без полномочия управления, "
            "ждёт согласования администратора аптеки. Пусто — без согласования."
        ),
        required=False,
    )

    class Meta:
        model = Organisation
        fields = (
            "name",
            "inn",
            "kpp",
            "ogrn",
            "status",
            "contract_number",
            "contract_date",
            "price_group",
            "discount_percent",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["credit_limit_rub"] = to_decimal(self.instance.credit_limit_kopecks or 0)
            threshold = self.instance.approval_threshold_kopecks
            self.initial["approval_threshold_rub"] = (
                to_decimal(threshold) if threshold is not None else None
            )

    def clean_discount_percent(self) -> Decimal:
        return self.cleaned_data.get("discount_percent") or Decimal(0)

    def clean_credit_limit_rub(self) -> int:
        return parse_amount(self.cleaned_data.get("credit_limit_rub") or Decimal(0))

    def clean_approval_threshold_rub(self) -> int | None:
        value = self.cleaned_data.get("approval_threshold_rub")
        return None if value is None else parse_amount(value)

    def save(self, commit: bool = True) -> Organisation:
        self.instance.credit_limit_kopecks = self.cleaned_data["credit_limit_rub"]
        self.instance.approval_threshold_kopecks = self.cleaned_data["approval_threshold_rub"]
        return super().save(commit=commit)

    def _identifier(self, field: str, check) -> str:
        try:
            return check(self.cleaned_data.get(field, ""))
        except identifiers.IdentifierError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_inn(self) -> str:
        return self._identifier("inn", identifiers.clean_inn)

    def clean(self):
        data = super().clean()
        inn = data.get("inn")
        if not inn:
            return data
        sole = identifiers.is_sole_proprietor_inn(inn)
        try:
            data["kpp"] = "" if sole else identifiers.clean_kpp(data.get("kpp", ""))
        except identifiers.IdentifierError as exc:
            self.add_error("kpp", exc.message)
        if data.get("ogrn"):
            try:
                data["ogrn"] = identifiers.clean_ogrn(data["ogrn"], sole_proprietor=sole)
            except identifiers.IdentifierError as exc:
                self.add_error("ogrn", exc.message)
        return data


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    form = OrganisationAdminForm
    list_display = (
        "name",
        "inn",
        "kpp",
        "status",
        "contract_number",
        "contract_date",
        "credit_limit",
    )
    list_filter = ("status",)
    search_fields = ("name", "inn", "contract_number")
    inlines = (PartnerUserInline, DeliveryAddressInline, LicenceInline)
    fieldsets = (
        (None, {"fields": ("name", "inn", "kpp", "ogrn", "status")}),
        (_("Договор и цены"), {"fields": ("contract_number", "contract_date", "price_group")}),
        (
            _("Деньги"),
            {"fields": ("discount_percent", "credit_limit_rub", "approval_threshold_rub")},
        ),
    )

    @admin.display(description=_("кредитный лимит"), ordering="credit_limit_kopecks")
    def credit_limit(self, obj: Organisation) -> str:
        return format_rub(obj.credit_limit_kopecks)

    def save_model(self, request: HttpRequest, obj: Organisation, form, change: bool) -> None:
        money = {"credit_limit_rub", "approval_threshold_rub"} & set(form.changed_data)
        if change and money:
            # Who changed a pharmacy's credit is a question the accountants will ask.
            audit.record(
                action="pharma.organisation.money",
                actor=_staff(request),
                obj=obj,
                data={
                    "credit_limit_kopecks": obj.credit_limit_kopecks,
                    "approval_threshold_kopecks": obj.approval_threshold_kopecks,
                    "changed": sorted(money),
                },
                ip=client_ip(request),
            )
        # A status change is a decision: it goes through the audited service.
        new_status = obj.status
        status_changed = change and "status" in form.changed_data
        if status_changed:
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        if status_changed:
            services.set_organisation_status(
                organisation_id=obj.pk,
                status=new_status,
                actor=_staff(request),
                ip=client_ip(request),
            )
            obj.status = new_status


@admin.register(PartnerUser)
class PartnerUserAdmin(admin.ModelAdmin):
    form = PartnerUserAdminForm
    list_display = ("user", "organisation", "full_name", "authority_list")
    list_select_related = ("user", "organisation")
    search_fields = ("user__username", "user__email", "organisation__name", "organisation__inn")
    raw_id_fields = ("user", "organisation")

    @admin.display(description=_("полномочия"))
    def authority_list(self, obj: PartnerUser) -> str:
        return ", ".join(obj.authority_labels())
