"""The delivery job: one message, one attempt; failures re-enqueue it with back-off.

The job may run twice (a retry after a lost worker, an operator's "retry now"): it claims
the message with one conditional UPDATE, so only one run sends, and it holds no database
lock while the gateway talks to the network.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from kabinet.notifications.gateways import GatewayError, Outgoing, gateway_name, get_gateway
from kabinet.notifications.models import Message, Status

logger = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(minutes=30)
# How long an attempt may hold a message in "sending". Past it, the worker is taken to have
# died mid-send and the next job sends again: at-least-once, never lost.
SENDING_LEASE = timedelta(minutes=5)
DEFAULT_MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, … up to 30 min."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def max_attempts() -> int:
    return int(str(settings.KABINET_NOTIFY.get("MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


@task()
def deliver(message_id: int) -> str:
    """Deliver one message through its channel's gateway; the result names what happened."""
    message = _claim(message_id)
    if message is None:
        return "skipped"
    outgoing = Outgoing(
        message_id=message.pk,
        channel=message.channel,
        to=message.to,
        subject=message.subject,
        body=message.body,
    )
    try:
        provider_id = get_gateway(message.channel).send(outgoing)
    except GatewayError as exc:
        logger.warning(
            "notification %s delivery failed: %s",
            message.pk,
            exc,
            extra={"message_id": message.pk, "channel": message.channel},
        )
        return _record_failure(message.pk, str(exc))
    except Exception as exc:
        # A bug or a misconfiguration: retried like a gateway failure so the message is not
        # stuck, and re-raised so the job result carries the traceback for whoever looks.
        logger.exception(
            "notification %s delivery crashed", message.pk, extra={"message_id": message.pk}
        )
        _record_failure(message.pk, f"{type(exc).__name__}: {exc}")
        raise
    _mark_sent(message.pk, provider_id)
    return "sent"


def _claim(message_id: int) -> Message | None:
    """Mark the message sending if it is due for an attempt; None if another run has it."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        return None
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | Q(status=Status.SENDING, next_attempt_at__lt=now)
    # One conditional UPDATE decides which run sends: no lock outlives this statement.
    claimed = Message.objects.filter(claimable, pk=message_id).update(
        status=Status.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + SENDING_LEASE,
        gateway=gateway_name(message.channel),
    )
    if not claimed:
        return None
    message.refresh_from_db()
    return message


def _mark_sent(message_id: int, provider_id: str) -> None:
    updated = Message.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id[:255],
        next_attempt_at=None,
    )
    if not updated:
        # Only possible if this attempt outlived its lease and another run took over.
        logger.warning(
            "notification sent after its lease ran out", extra={"message_id": message_id}
        )


def _record_failure(message_id: int, error: str) -> str:
    """Queue the next attempt with back-off, or give up after the last one."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != Status.SENDING:
            return "skipped"
        message.last_error = error[:2000]
        if message.attempts >= max_attempts():
            message.status = Status.FAILED
            message.next_attempt_at = None
            outcome = "failed"
        else:
            message.status = Status.QUEUED
            message.next_attempt_at = timezone.now() + retry_delay(message.attempts)
            _enqueue_at(message.pk, message.next_attempt_at)
            outcome = "retry"
        message.save(update_fields=["status", "last_error", "next_attempt_at"])
    return outcome


def _enqueue_at(message_id: int, when: datetime) -> None:
    deliver.using(run_after=when).enqueue(message_id)


# A queued message whose attempt is this overdue has lost its job (the job row was claimed
# by a worker that died); one generous enough not to race a busy but healthy queue.
QUEUED_GRACE = timedelta(minutes=15)


def sweep_stalled(*, now: datetime | None = None) -> int:
    """Re-enqueue messages whose delivery job died with its worker (periodic, idempotent).

    A message stuck in "sending" past its lease, or queued long past its attempt time, gets a
    new job; `_claim` makes sure only one job sends even if the old one is still alive.
    """
    now = now or timezone.now()
    stalled = Message.objects.filter(
        Q(status=Status.SENDING, next_attempt_at__lt=now)
        | Q(status=Status.QUEUED, next_attempt_at__lt=now - QUEUED_GRACE)
    ).values_list("pk", flat=True)[:500]
    count = 0
    for message_id in stalled:
        deliver.enqueue(message_id)
        count += 1
    return count
