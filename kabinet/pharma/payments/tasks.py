"""The settlement job: after an order is cancelled or overpaid, withdraw its pending payments
and refund what it holds above its due (`services.settle_order`).

Enqueued in the transaction that cancels the order or credits the payment, so a refund due is
never forgotten; the page that caused it usually settles at once, and then this run finds
nothing left to do. A provider that is down leaves refunds pending: the job runs again later,
sending them with the same idempotency keys.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from kabinet.pharma.payments import services
from kabinet.pharma.payments.models import RefundState
from kabinet.pharma.payments.providers.base import PaymentProviderError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)


@task()
def settle_order_job(order_id: int, attempt: int = 1) -> str:
    """Settle one order; "done", "retry" (the provider did not answer) or "gave_up"."""
    try:
        made = services.settle_order(order_id=order_id)
        unfinished = any(refund.status == RefundState.PENDING for refund in made)
    except PaymentProviderError as error:
        log.warning("order settlement failed", extra={"order": order_id, "reason": error.message})
        unfinished = True
    if not unfinished:
        return "done"
    if attempt >= MAX_ATTEMPTS:
        log.error("order settlement gave up", extra={"order": order_id})
        return "gave_up"
    when = timezone.now() + RETRY_BASE * 2 ** (attempt - 1)
    settle_order_job.using(run_after=when).enqueue(order_id, attempt + 1)
    return "retry"
