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
