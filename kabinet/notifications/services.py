"""The notifications service: render, store and queue a message (SPEC X-2).

`notify` writes the message and its delivery job in the caller's transaction: the database
task backend stores the job as a row, so a change and the message it causes commit or roll
back together, and a process that dies after the commit loses nothing.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core import audit
from kabinet.core.errors import Conflict, ValidationFailed
from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.notifications.models import Channel, Message, Purpose, Status
from kabinet.notifications.rendering import render_message, supported_language
from kabinet.notifications.tasks import deliver

# FCM registration tokens and APNs device tokens: URL-safe characters, no spaces.
_PUSH_TOKEN = re.compile(r"^[A-Za-z0-9_:\-.]{16,512}$")


def notify(
    *,
    channel: str,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str = "ru",
    purpose: str = "transactional",
) -> Message:
    """Render `template` for `channel` and queue its delivery in the caller's transaction."""
    channel = _valid_channel(channel)
    language = supported_language(language)
    rendered = render_message(
        template=template, channel=channel, context=context, language=language
    )
    return _queue(
        channel=channel,
        to=normalize_recipient(channel=channel, to=to),
        subject=rendered.subject,
        body=rendered.body,
        language=language,
        template=template,
        purpose=_valid_purpose(purpose),
    )


def send_raw(
    *,
    channel: str,
    to: str,
    subject: str = "",
    body: str,
    language: str = "ru",
    purpose: str = "transactional",
) -> Message:
    """Queue an already written message (an operator's text, a campaign) without a template."""
    channel = _valid_channel(channel)
    if not body.strip():
        raise ValidationFailed(_("Текст сообщения: не может быть пустым."), field="body")
    if channel == Channel.EMAIL and not subject.strip():
        raise ValidationFailed(_("Тема письма: не может быть пустой."), field="subject")
    if "\n" in subject or "\r" in subject:
        raise ValidationFailed(_("Тема: должна быть одной строкой."), field="subject")
    return _queue(
        channel=channel,
        to=normalize_recipient(channel=channel, to=to),
        subject=subject.strip(),
        body=body.strip(),
        language=supported_language(language),
        template="",
        purpose=_valid_purpose(purpose),
    )


@transaction.atomic
def retry_message(*, message_id: int, actor: Any = None, ip: str | None = None) -> Message:
    """Give a message that was given up a fresh series of attempts, starting now (audited)."""
    message = Message.objects.select_for_update().get(pk=message_id)
    if message.status != Status.FAILED:
        raise Conflict(_("Повторить можно только недоставленное сообщение."))
    audit.record(
        action="notifications.message.retry",
        actor=actor,
        obj=message,
        data={"attempts": message.attempts, "last_error": message.last_error},
        ip=ip,
    )
    message.status = Status.QUEUED
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    deliver.enqueue(message.pk)
    return message


def normalize_recipient(*, channel: str, to: str) -> str:
    """The recipient in its stored form; raises ValidationFailed naming the field `to`."""
    to = (to or "").strip()
    if channel == Channel.EMAIL:
        return _normalize_email(to)
    if channel in (Channel.SMS, Channel.VOICE):
        # A call can ring a landline; an SMS needs a mobile.
        try:
            return normalize_phone(to, mobile_only=channel == Channel.SMS)
        except PhoneError:
            raise ValidationFailed(
                _("Получатель: укажите номер телефона, например +7 916 123-45-67."), field="to"
            ) from None
    if not _PUSH_TOKEN.match(to):
        raise ValidationFailed(_("Получатель: неверный токен push-уведомлений."), field="to")
    return to


def _normalize_email(address: str) -> str:
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationFailed(
            _("Получатель: укажите правильный адрес электронной почты."), field="to"
        ) from None
    # Domains are case-insensitive; the local part, strictly speaking, is not.
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _valid_channel(channel: str) -> str:
    if channel not in Channel.values:
        raise ValidationFailed(
            _("Канал: неизвестный канал доставки «%(channel)s».") % {"channel": channel},
            field="channel",
        )
    return channel


def _valid_purpose(purpose: str) -> str:
    if purpose not in Purpose.values:
        raise ValidationFailed(
            _("Назначение: неизвестное назначение «%(purpose)s».") % {"purpose": purpose},
            field="purpose",
        )
    return purpose


@transaction.atomic
def _queue(
    *,
    channel: str,
    to: str,
    subject: str,
    body: str,
    language: str,
    template: str,
    purpose: str,
) -> Message:
    now = timezone.now()
    message = Message.objects.create(
        channel=channel,
        to=to,
        subject=subject,
        body=body,
        language=language,
        template=template,
        purpose=purpose,
        status=Status.QUEUED,
        created_at=now,
        next_attempt_at=now,
    )
    # The job row goes into the same transaction: deliberately no on_commit.
    deliver.enqueue(message.pk)
    return message
