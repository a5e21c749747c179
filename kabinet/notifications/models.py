"""Notification messages: one row per message, from queued to sent or given up (SPEC X-2).

With the outbox gateway the rows are the outbox itself: `/dev/outbox/` reads them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Электронная почта")
    VOICE = "voice", _("Голосовой звонок")
    PUSH = "push", _("Push-уведомление")


class Status(models.TextChoices):
    QUEUED = "queued", _("в очереди")
    SENDING = "sending", _("отправляется")
    SENT = "sent", _("отправлено")
    FAILED = "failed", _("не доставлено")


class Purpose(models.TextChoices):
    """Why a message is sent; marketing has to be filterable by the member's consent."""

    TRANSACTIONAL = "transactional", _("служебное")
    SECURITY = "security", _("безопасность")
    MARKETING = "marketing", _("рекламное")


class Message(models.Model):
    channel = models.CharField(_("канал"), max_length=8, choices=Channel.choices)
    # E.164 phone for SMS and voice, e-mail address, or a device's push token.
    to = models.CharField(_("получатель"), max_length=512)
    subject = models.CharField(_("тема"), max_length=255, blank=True)
    body = models.TextField(_("текст"))
    language = models.CharField(_("язык"), max_length=8, default="ru")
    template = models.CharField(_("шаблон"), max_length=100, blank=True)
    purpose = models.CharField(
        _("назначение"), max_length=16, choices=Purpose.choices, default=Purpose.TRANSACTIONAL
    )

    status = models.CharField(
        _("статус"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    # Every delivery attempt counts, the successful one too.
    attempts = models.PositiveIntegerField(_("попыток"), default=0)
    last_error = models.TextField(_("последняя ошибка"), blank=True)
    gateway = models.CharField(_("шлюз"), max_length=16, blank=True)
    provider_id = models.CharField(_("идентификатор у провайдера"), max_length=255, blank=True)

    created_at = models.DateTimeField(_("создано"), default=timezone.now)
    sent_at = models.DateTimeField(_("отправлено"), null=True, blank=True)
    # Queued: when the next job is due. Sending: until when the attempt holds the message; a
    # job finding it past that deadline takes the message over (its worker died mid-send).
    next_attempt_at = models.DateTimeField(_("следующая попытка"), null=True, blank=True)

    class Meta:
        verbose_name = _("сообщение")
        verbose_name_plural = _("сообщения")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The outbox query: one recipient's messages, newest first.
            models.Index(fields=["to", "-created_at"], name="notif_msg_to_created_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="notif_msg_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="notif_msg_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="notif_msg_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.SENT) | Q(sent_at__isnull=False),
                name="notif_msg_sent_has_time",
            ),
        ]
        permissions = [("retry_message", _("Может повторить доставку сообщения"))]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.to}: {self.subject or self.body[:40]}"
