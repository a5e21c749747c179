"""Back office for messages: read-only, with an audited "retry now" for given-up ones.

The delivery jobs themselves are django_tasks_db's task results, registered by that app's
own admin (Администрирование → Task Results, filter by status FAILED or READY).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from kabinet.core.http import client_ip
from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.notifications.models import Message, Status
from kabinet.notifications.selectors import delivery_jobs
from kabinet.notifications.services import retry_message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "channel",
        "recipient",
        "short_text",
        "status",
        "attempts",
    )
    list_filter = ("channel", "status", "purpose", "gateway")
    search_fields = ("to",)
    date_hierarchy = "created_at"
    list_select_related = False
    actions = ["retry_now"]
    fields = (
        ("channel", "purpose", "language", "template"),
        "to",
        "subject",
        "body",
        ("status", "attempts", "gateway", "provider_id"),
        ("created_at", "sent_at", "next_attempt_at"),
        "last_error",
        "jobs",
    )
    readonly_fields = tuple(
        name for row in fields for name in (row if isinstance(row, tuple) else (row,))
    )

    @admin.display(description=_("получатель"), ordering="to")
    def recipient(self, obj: Message) -> str:
        # Push tokens run to 160+ characters and would push every other column off screen.
        return _shorten(obj.to, 24)

    @admin.display(description=_("текст"))
    def short_text(self, obj: Message) -> str:
        return _shorten(obj.subject or obj.body, 60)

    @admin.display(description=_("задания доставки"))
    def jobs(self, obj: Message) -> str:
        opts = DBTaskResult._meta  # its app label is "django_tasks_database"
        rows = [
            (
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[job.pk]),
                job.get_status_display(),
                date_format(timezone.localtime(job.enqueued_at), "DATETIME_FORMAT"),
            )
            for job in delivery_jobs(obj)[:20]
        ]
        if not rows:
            return "—"
        return format_html(
            "<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a> · {}</li>', rows)
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Message], search_term: str
    ) -> tuple[QuerySet[Message], bool]:
        """A phone typed in any form finds the messages stored under its E.164 form."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = normalize_phone(search_term, mobile_only=False)
        except PhoneError:
            return found, may_have_duplicates
        return queryset.filter(Q(pk__in=found.values("pk")) | Q(to=phone)), may_have_duplicates

    @admin.action(description=_("Повторить доставку сейчас"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        retried = 0
        for message in queryset.filter(status=Status.FAILED).order_by("pk"):
            retry_message(message_id=message.pk, actor=request.user, ip=client_ip(request))
            retried += 1
        skipped = queryset.count() - retried
        # "Сообщений: N" reads right for every N without Russian plural forms.
        if retried:
            self.message_user(
                request,
                gettext("Поставлено в очередь на доставку сообщений: %(count)d.")
                % {"count": retried},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                gettext("Пропущено сообщений (повторить можно только недоставленные): %(count)d.")
                % {"count": skipped},
                messages.WARNING,
            )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.retry_message")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
