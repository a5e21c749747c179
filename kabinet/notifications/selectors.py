"""Reads of the notifications app: the outbox and the figures for /metrics."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.notifications.models import Message, Status

# The outbox is for reading the latest codes and letters, not an archive.
OUTBOX_LIMIT = 200


def outbox_messages(*, to: str = "", limit: int = OUTBOX_LIMIT) -> QuerySet[Message]:
    """Messages newest first, every status, optionally for one recipient in any form."""
    messages = Message.objects.order_by("-created_at", "-id")
    to = to.strip()
    if to:
        messages = messages.filter(**_recipient_lookup(to))
    return messages[:limit]


def _recipient_lookup(to: str) -> dict[str, str]:
    if "@" in to:
        return {"to__iexact": to}
    try:
        # '8 916 123-45-67', '9161234567' and '+79161234567' are the same phone.
        return {"to": normalize_phone(to, mobile_only=False)}
    except PhoneError:
        return {"to": to}  # a push token


def messages_by_status() -> dict[str, float]:
    counts = dict(Message.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: float(counts.get(status, 0)) for status in Status.values}


def jobs_by_status() -> dict[str, float]:
    """Background jobs of every kind waiting, running or failed: the queue's depth."""
    watched = [TaskResultStatus.READY, TaskResultStatus.RUNNING, TaskResultStatus.FAILED]
    counts = dict(
        DBTaskResult.objects.filter(status__in=watched)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {str(status): float(counts.get(status, 0)) for status in watched}


def delivery_jobs(message: Message) -> QuerySet[DBTaskResult]:
    """The delivery jobs of one message, newest first (for the back office)."""
    from kabinet.notifications.tasks import deliver

    return DBTaskResult.objects.filter(
        task_path=deliver.module_path, args_kwargs__args=[message.pk]
    ).order_by("-enqueued_at")
