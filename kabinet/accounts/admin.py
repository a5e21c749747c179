from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from kabinet.accounts.models import Challenge, LinkToken, User
from kabinet.core.phones import mask_phone


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "phone", "email", "first_name", "is_staff", "is_active")
    search_fields = ("username", "phone", "email", "first_name", "last_name")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Контакты"), {"fields": ("phone",)}),
    )


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Challenge)
class ChallengeAdmin(_ReadOnlyAdmin):
    """Read-only, for support ("did the code go out?"). Never the code's hash, nor the payload,
    which may hold a pending registration's personal data."""

    list_display = (
        "purpose",
        "masked_phone",
        "created_at",
        "expires_at",
        "sends",
        "attempts",
        "is_used",
    )
    list_filter = ("purpose",)
    # Exact match only: staff who type a full number learn nothing they did not know.
    search_fields = ("=phone",)
    date_hierarchy = "created_at"
    fields = (
        "id",
        "purpose",
        "masked_phone",
        "subject",
        "client_ip",
        "created_at",
        "sent_at",
        "expires_at",
        "sends",
        "attempts",
        "used_at",
    )
    readonly_fields = fields
    raw_id_fields = ("subject",)

    @admin.display(description=_("телефон"))
    def masked_phone(self, obj: Challenge) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("использован"), boolean=True)
    def is_used(self, obj: Challenge) -> bool:
        return obj.used_at is not None


@admin.register(LinkToken)
class LinkTokenAdmin(_ReadOnlyAdmin):
    """Read-only; the token's hash is never shown."""

    list_display = ("purpose", "subject", "created_at", "expires_at", "is_used")
    list_filter = ("purpose",)
    date_hierarchy = "created_at"
    fields = ("purpose", "subject", "email", "created_at", "expires_at", "used_at")
    readonly_fields = fields

    @admin.display(description=_("использована"), boolean=True)
    def is_used(self, obj: LinkToken) -> bool:
        return obj.used_at is not None
