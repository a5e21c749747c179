"""The built-in test bank for the demo (SPEC P-PAY-1): a provider with the shape of a real one.

create_payment sends the buyer to a page of our own that plays the bank (URL name
`CONFIRMATION_URL_NAME`, built with the orders); the buyer presses «Оплатить» or «Отказаться»,
the page calls `decide`, which records the outcome and returns a signed webhook for the page
to deliver to our webhook endpoint, exactly as a bank's server would.

The webhook is signed with HMAC-SHA256 of the raw body, hex, in ``X-Test-Bank-Signature``. The
secret is ``settings.PAYMENTS_TEST_SECRET``, or derived from SECRET_KEY when that is unset, so
a fresh demo works and a deployment can rotate it separately. The body carries a Unix
timestamp; an event older than ten minutes (or more than a minute in the future) is refused as
a replay — within the window a replay is harmless, because applying a payment is idempotent.

The test bank's memory of its payments is the Django cache (local memory in the demo, Redis
when REDIS_URL is set), enough to answer `fetch_status`; payment ids are derived from the
idempotency key, so a retried create returns the same payment, as at a real bank.

Refunds are immediate (`refund` answers succeeded at once, as card refunds mostly do) and
keyed by their idempotency key; the bank refuses to refund more than the payment brought or a
payment that was not paid. A pending payment can be withdrawn (`cancel_payment`): its page then
no longer takes the card.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from kabinet.pharma.payments.providers.base import (
    CreatedPayment,
    PaymentProviderError,
    PaymentState,
    PaymentStatus,
    RefundResult,
    WebhookEvent,
    WebhookRejected,
    header,
)

CONFIRMATION_URL_NAME = "pharma:test-bank-pay"
SIGNATURE_HEADER = "X-Test-Bank-Signature"
MAX_AGE_SECONDS = 10 * 60
MAX_CLOCK_SKEW_SECONDS = 60
_CACHE_PREFIX = "pharma:test-bank:"
_CACHE_SECONDS = 30 * 24 * 3600


def webhook_secret() -> str:
    """PAYMENTS_TEST_SECRET, else a secret derived from SECRET_KEY."""
    configured = getattr(settings, "PAYMENTS_TEST_SECRET", "")
    if configured:
        return configured
    derived = salted_hmac("kabinet.pharma.payments.test_bank", "webhook", algorithm="sha256")
    return derived.hexdigest()


def _default_confirmation_url(provider_payment_id: str) -> str:
    return reverse(CONFIRMATION_URL_NAME, kwargs={"provider_payment_id": provider_payment_id})


class TestBankProvider:
    """The demo's bank: no network, signed webhooks, a page of ours for the card form."""

    __test__ = False  # not a pytest test class, whatever its name says
    name = "test_bank"
    supports_cancel = True

    def __init__(
        self,
        *,
        secret: str | None = None,
        confirmation_url: Callable[[str], str] = _default_confirmation_url,
        clock: Callable[[], float] = time.time,
    ):
        self._secret = (secret or webhook_secret()).encode()
        self._confirmation_url = confirmation_url
        self._clock = clock

    def sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def create_payment(
        self,
        *,
        payment_id: str,
        amount_kopecks: int,
        description: str,
        return_url: str,
        idempotency_key: str,
    ) -> CreatedPayment:
        """Register a pending payment; the same idempotency key always gives the same one."""
        if amount_kopecks <= 0:
            raise PaymentProviderError(_("Сумма платежа должна быть положительной."))
        digest = hmac.new(self._secret, idempotency_key.encode(), hashlib.sha256).hexdigest()
        provider_payment_id = f"tb_{digest[:24]}"
        record = {
            "status": PaymentStatus.PENDING.value,
            "amount_kopecks": amount_kopecks,
            "payment_id": payment_id,
            "description": description,
            "return_url": return_url,
        }
        cache.add(_CACHE_PREFIX + provider_payment_id, record, _CACHE_SECONDS)
        stored = cache.get(_CACHE_PREFIX + provider_payment_id, record)
        return CreatedPayment(
            provider_payment_id=provider_payment_id,
            confirmation_url=self._confirmation_url(provider_payment_id),
            status=PaymentStatus(stored["status"]),
        )

    def payment(self, provider_payment_id: str) -> dict[str, Any] | None:
        """What the bank page shows: amount, description, return URL, status."""
        return cache.get(_CACHE_PREFIX + provider_payment_id)

    def signed_event(
        self,
        *,
        provider_payment_id: str,
        status: PaymentStatus,
        amount_kopecks: int,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook body and its headers, as the test bank sends them."""
        body = json.dumps(
            {
                "event_id": event_id or uuid.uuid4().hex,
                "payment_id": provider_payment_id,
                "status": status.value,
                "amount_kopecks": amount_kopecks,
                "timestamp": int(self._clock()) if timestamp is None else timestamp,
            },
            separators=(",", ":"),
        ).encode()
        return body, {SIGNATURE_HEADER: self.sign(body), "Content-Type": "application/json"}

    def decide(self, *, provider_payment_id: str, succeeded: bool) -> tuple[bytes, dict[str, str]]:
        """The buyer paid or refused on the bank page: record it, return the webhook to send."""
        key = _CACHE_PREFIX + provider_payment_id
        record = cache.get(key)
        if record is None:
            raise PaymentProviderError(_("Тестовый банк не знает такого платежа."), status_code=404)
        if record["status"] == PaymentStatus.PENDING.value:
            status = PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.CANCELED
            record = {**record, "status": status.value}
            cache.set(key, record, _CACHE_SECONDS)
        return self.signed_event(
            provider_payment_id=provider_payment_id,
            status=PaymentStatus(record["status"]),
            amount_kopecks=int(record["amount_kopecks"]),
        )

    def parse_webhook(
        self, *, body: bytes, headers: Mapping[str, str], remote_addr: str | None
    ) -> WebhookEvent:
        """Verify the signature and the timestamp, then read the event."""
        given = header(headers, SIGNATURE_HEADER)
        expected = self.sign(body).encode()
        if not given or not hmac.compare_digest(given.strip().lower().encode(), expected):
            raise WebhookRejected("bad_signature", _("Неверная подпись уведомления."))
        try:
            event = json.loads(body)
            timestamp = event["timestamp"]
            parsed = WebhookEvent(
                provider_payment_id=str(event["payment_id"]),
                status=PaymentStatus(event["status"]),
                amount_kopecks=event["amount_kopecks"],
                raw_event_id=str(event["event_id"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("bad_body", _("Уведомление не в формате банка.")) from exc
        # JSON true is an int to Python; neither a timestamp nor an amount may be one.
        if type(timestamp) is not int or type(parsed.amount_kopecks) is not int:
            raise WebhookRejected("bad_body", _("Уведомление не в формате банка."))
        age = self._clock() - timestamp
        if age > MAX_AGE_SECONDS or age < -MAX_CLOCK_SKEW_SECONDS:
            raise WebhookRejected("stale", _("Уведомление устарело: возможен повтор."))
        return parsed

    def fetch_status(self, provider_payment_id: str) -> PaymentState:
        record = self.payment(provider_payment_id)
        if record is None:
            raise PaymentProviderError(_("Тестовый банк не знает такого платежа."), status_code=404)
        return PaymentState(
            provider_payment_id=provider_payment_id,
            status=PaymentStatus(record["status"]),
            amount_kopecks=record["amount_kopecks"],
        )

    def cancel_payment(self, provider_payment_id: str) -> PaymentState:
        """Withdraw a payment the buyer has not paid yet; a paid one stays paid."""
        key = _CACHE_PREFIX + provider_payment_id
        record = cache.get(key)
        if record is None:
            raise PaymentProviderError(_("Тестовый банк не знает такого платежа."), status_code=404)
        if record["status"] == PaymentStatus.PENDING.value:
            record = {**record, "status": PaymentStatus.CANCELED.value}
            cache.set(key, record, _CACHE_SECONDS)
        return self.fetch_status(provider_payment_id)

    def refund(
        self,
        *,
        provider_payment_id: str,
        amount_kopecks: int,
        description: str,
        idempotency_key: str,
    ) -> RefundResult:
        """Return money of a paid payment at once; the same key always gives the same refund."""
        digest = hmac.new(self._secret, b"refund:" + idempotency_key.encode(), hashlib.sha256)
        refund_id = f"tbr_{digest.hexdigest()[:24]}"
        done = cache.get(_CACHE_PREFIX + refund_id)
        if done is not None:
            return RefundResult(refund_id, PaymentStatus(done["status"]), done["amount_kopecks"])
        key = _CACHE_PREFIX + provider_payment_id
        record = cache.get(key)
        if record is None:
            raise PaymentProviderError(_("Тестовый банк не знает такого платежа."), status_code=404)
        if record["status"] != PaymentStatus.SUCCEEDED.value:
            raise PaymentProviderError(_("Вернуть можно только оплаченный платёж."))
        refunded = int(record.get("refunded_kopecks", 0))
        if amount_kopecks <= 0 or refunded + amount_kopecks > int(record["amount_kopecks"]):
            raise PaymentProviderError(
                _("Сумма возврата больше, чем осталось от платежа."), provider_code="bad_amount"
            )
        cache.set(key, {**record, "refunded_kopecks": refunded + amount_kopecks}, _CACHE_SECONDS)
        done = {
            "status": PaymentStatus.SUCCEEDED.value,
            "amount_kopecks": amount_kopecks,
            "payment_id": provider_payment_id,
            "description": description,
        }
        cache.set(_CACHE_PREFIX + refund_id, done, _CACHE_SECONDS)
        return RefundResult(refund_id, PaymentStatus.SUCCEEDED, amount_kopecks)

    def refund_status(self, provider_refund_id: str) -> RefundResult:
        done = cache.get(_CACHE_PREFIX + provider_refund_id)
        if done is None:
            raise PaymentProviderError(
                _("Тестовый банк не знает такого возврата."), status_code=404
            )
        return RefundResult(
            provider_refund_id, PaymentStatus(done["status"]), done["amount_kopecks"]
        )
