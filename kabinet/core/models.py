from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who did what to which object, for back-office and operator actions (SPEC X-5).

    Append-only: the admin shows entries read-only and nothing in the code updates one.
    """

    created_at = models.DateTimeField(_("время"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кто"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A system job or an API client acts without a user; this names it.
    actor_label = models.CharField(_("кто (подпись)"), max_length=150, blank=True)
    action = models.CharField(_("действие"), max_length=100, db_index=True)
    object_type = models.CharField(_("тип объекта"), max_length=100, blank=True)
    object_id = models.CharField(_("объект"), max_length=64, blank=True, db_index=True)
    reason = models.TextField(_("причина"), blank=True)
    data = models.JSONField(_("подробности"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("адрес"), null=True, blank=True)

    class Meta:
        verbose_name = _("запись журнала аудита")
        verbose_name_plural = _("журнал аудита")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class IdempotencyRecord(models.Model):
    """The first response to a write made with an idempotency key (ARCHITECTURE).

    Written in the same transaction as the write's effects, so a retry either finds the
    whole effect and its response, or nothing. `scope` names who chose the key (a till:
    "pos:<terminal id>"), so two clients can never collide on a key.
    """

    scope = models.CharField(_("область"), max_length=64)
    key = models.CharField(_("ключ"), max_length=128)
    request_hash = models.CharField(_("хеш запроса"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("код ответа"))
    response_body = models.JSONField(_("ответ"), default=dict)
    created_at = models.DateTimeField(_("время"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("ключ идемпотентности")
        verbose_name_plural = _("ключи идемпотентности")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_idempotency_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
