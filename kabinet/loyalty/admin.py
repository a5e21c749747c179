"""Back office of the loyalty program (L-BO-1, L-BO-2, part of L-BO-3).

Writes with rules go through the services: terminals get their token from
`create_terminal` (shown once), batches from `issue_cards`, blocking from `block_card`
(audited). Balances, the ledger and purchases are read-only here: points change only
through the ledger's services.
"""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from kabinet.core import audit
from kabinet.core.errors import DomainError
from kabinet.loyalty.models import (
    Account,
    AdjustmentRequest,
    AppToken,
    Card,
    CardBatch,
    Consent,
    InboundSms,
    LedgerEntry,
    Level,
    MemberProfile,
    PersonalOffer,
    PremiumGood,
    ProgramSettings,
    PromoGood,
    Purchase,
    PurchaseReturn,
    PushToken,
    Store,
    Terminal,
)
from kabinet.loyalty.services import app_tokens
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services import terminals as terminal_services


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that only services write: the ledger, purchases, returns."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "base_rate_bp",
        "first_month_multiplier",
        "birthday_bonus_bp",
        "max_redeem_share_bp",
        "card_price_kopecks",
    )

    def has_add_permission(self, request):
        return not ProgramSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1  # the single row
        super().save_model(request, obj, form, change)
        ProgramSettings.forget_cached()


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ("name", "threshold_kopecks", "rate_bp")


@admin.register(PremiumGood)
class PremiumGoodAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "valid_from", "valid_to", "region")
    list_filter = ("region",)
    search_fields = ("sku", "name")


@admin.register(PromoGood)
class PromoGoodAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "valid_from", "valid_to", "region")
    list_filter = ("region",)
    search_fields = ("sku", "name")


class PersonalOfferForm(forms.ModelForm):
    class Meta:
        model = PersonalOffer
        fields = (
            "account",
            "title",
            "kind",
            "skus",
            "categories",
            "bonus_bp",
            "fixed_points",
            "valid_from",
            "valid_to",
        )

    def clean(self):
        data = super().clean()
        if not data.get("skus") and not data.get("categories"):
            raise forms.ValidationError(_("Укажите артикулы или категории."))
        kind, bonus, fixed = data.get("kind"), data.get("bonus_bp"), data.get("fixed_points")
        if kind == "percent" and (not bonus or fixed):
            raise forms.ValidationError(_("Процентное предложение: ставка > 0, без баллов."))
        if kind == "fixed" and (not fixed or bonus):
            raise forms.ValidationError(_("Фиксированное предложение: баллы > 0, без ставки."))
        if (
            data.get("valid_from")
            and data.get("valid_to")
            and data["valid_from"] > data["valid_to"]
        ):
            raise forms.ValidationError(_("Дата начала позже даты окончания."))
        return data


@admin.register(PersonalOffer)
class PersonalOfferAdmin(admin.ModelAdmin):
    form = PersonalOfferForm
    list_display = ("title", "account", "kind", "valid_from", "valid_to")
    list_filter = ("kind",)
    search_fields = ("title", "account__user__phone")
    raw_id_fields = ("account",)


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "region", "timezone", "participates", "takes_part_display")
    list_filter = ("participates", "region__loyalty_active", "region")
    search_fields = ("code", "name", "address")
    raw_id_fields = ("city",)
    list_select_related = ("region",)

    @admin.display(boolean=True, description=_("начисляет и списывает"))
    def takes_part_display(self, obj: Store) -> bool:
        return obj.takes_part


class TerminalForm(forms.ModelForm):
    class Meta:
        model = Terminal
        fields = ("store", "name")


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "store__code")
    raw_id_fields = ("store",)
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TerminalForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ("store", "created_at", "revoked_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, token = terminal_services.create_terminal(
            store=obj.store, name=obj.name, actor=request.user
        )
        obj.pk, obj.token_hash, obj.created_at = created.pk, created.token_hash, created.created_at
        obj._state.adding = False
        messages.warning(
            request,
            _("Токен терминала (показывается один раз, сохраните его в настройках кассы): %s")
            % token,
        )

    @admin.action(description=_("Отозвать токены выбранных терминалов"))
    def revoke(self, request, queryset):
        revoked = sum(
            terminal_services.revoke_terminal(terminal=t, actor=request.user) for t in queryset
        )
        messages.success(request, _("Отозвано: %d") % revoked)


class CardBatchForm(forms.ModelForm):
    count = forms.IntegerField(
        label=_("количество карт"), min_value=1, max_value=card_services.MAX_BATCH
    )

    class Meta:
        model = CardBatch
        fields = ("name",)


@admin.register(CardBatch)
class CardBatchAdmin(admin.ModelAdmin):
    list_display = ("name", "size", "created_at")
    search_fields = ("name",)
    actions = ["export_csv"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = CardBatchForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            issued = card_services.issue_cards(
                count=form.cleaned_data["count"], batch_name=obj.name
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return
        batch = issued[0].batch
        obj.pk, obj.size, obj.created_at = batch.pk, batch.size, batch.created_at
        obj._state.adding = False

    @admin.action(description=_("Выгрузить номера для типографии (CSV)"))
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="cards.csv"'
        writer = csv.writer(response)
        writer.writerow(["number", "batch", "barcode"])
        for card in Card.objects.filter(batch__in=queryset).select_related("batch"):
            writer.writerow([card.number, card.batch.name, card.number])
        return response


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ("number", "state", "virtual", "batch", "account", "activated_at")
    list_filter = ("state", "virtual", "batch")
    search_fields = ("=number", "account__user__phone")
    list_select_related = ("batch", "account")
    readonly_fields = [f.name for f in Card._meta.fields if f.name != "id"]
    actions = ["block"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Заблокировать выбранные карты"))
    def block(self, request, queryset):
        blocked = 0
        for card in queryset:
            try:
                card_services.block_card(
                    card=card, reason="заблокирована в бэк-офисе", actor=request.user
                )
                blocked += 1
            except DomainError:
                continue
        messages.success(request, _("Заблокировано: %d") % blocked)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "level", "balance", "held", "activated_at")
    search_fields = ("user__phone", "first_name", "cards__number")
    list_filter = ("level",)
    readonly_fields = ("user", "balance", "held", "activated_at")
    raw_id_fields = ("city",)
    list_select_related = ("user", "level")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "kind", "amount", "reason", "purchase", "created_by")
    list_filter = ("kind",)
    search_fields = ("=account__id", "account__user__phone", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("account", "created_by")


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = (
        "purchased_at",
        "receipt_number",
        "store",
        "account",
        "total_kopecks",
        "earned",
        "redeemed",
        "status",
    )
    list_filter = ("status",)
    search_fields = ("=receipt_number", "store__code", "card__number")
    date_hierarchy = "purchased_at"
    list_select_related = ("store", "account")


@admin.register(PurchaseReturn)
class PurchaseReturnAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "purchase", "amount_kopecks", "taken_back", "given_back")


# --- members (L-ACT, L-AUTH): read-only, support looks, the services write -------------------


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("accepted_at", "account", "kind", "version", "channel", "ip")
    list_filter = ("kind", "version", "channel")
    search_fields = ("=account__user__phone",)
    list_select_related = ("account",)


@admin.register(MemberProfile)
class MemberProfileAdmin(ReadOnlyAdmin):
    list_display = (
        "account",
        "channel",
        "marketing_email",
        "marketing_sms",
        "marketing_voice",
        "marketing_push",
        "always_confirm_login",
    )
    list_filter = ("channel",)
    search_fields = ("=account__user__phone",)
    list_select_related = ("account",)


@admin.register(InboundSms)
class InboundSmsAdmin(ReadOnlyAdmin):
    """What was texted to 9002 and what the sender was answered (L-ACT-4)."""

    list_display = ("received_at", "sender", "text", "outcome", "code", "source")
    list_filter = ("outcome", "code", "source")
    search_fields = ("=sender", "=message_id")
    date_hierarchy = "received_at"


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(ReadOnlyAdmin):
    """Read-only here: requests are made and decided in the call-centre console, where the
    second-person rule is enforced (L-BO-3)."""

    list_display = ("requested_at", "account", "amount", "status", "requested_by", "decided_by")
    list_filter = ("status",)
    search_fields = ("=account__user__phone", "reason")
    list_select_related = ("account", "requested_by", "decided_by")
    date_hierarchy = "requested_at"


@admin.register(AppToken)
class AppTokenAdmin(ReadOnlyAdmin):
    """Members' app sessions; only the token's hash is stored. Revoking ends that session."""

    list_display = ("user", "platform", "device_name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("platform",)
    search_fields = ("=user__phone",)
    list_select_related = ("user",)
    exclude = ("token_hash", "auth_hash")
    actions = ["revoke_tokens"]

    @admin.action(description=_("Отозвать выбранные токены"), permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            app_tokens.revoke(token=token)
            audit.record(action="loyalty.app_token.revoke", actor=request.user, obj=token)
            count += 1
        self.message_user(request, _("Отозвано токенов: %(n)d") % {"n": count}, messages.SUCCESS)

    def has_revoke_permission(self, request):
        return request.user.has_perm("loyalty.change_apptoken")


@admin.register(PushToken)
class PushTokenAdmin(ReadOnlyAdmin):
    list_display = ("account", "platform", "created_at", "updated_at")
    list_filter = ("platform",)
    search_fields = ("=account__user__phone",)
    list_select_related = ("account",)
