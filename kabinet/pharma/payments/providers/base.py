"""The interface every online payment provider implements (SPEC P-PAY-1, P-PAY-3).

The order code talks to a provider only through `PaymentProvider`: it creates a payment and
sends the buyer to `confirmation_url`; the provider's webhook is turned into a
`WebhookEvent` by `parse_webhook`, which verifies where it came from (a signature, or the
provider's published addresses plus a re-fetch) and raises `WebhookRejected` otherwise. The
event is only a claim about a payment: the caller applies it under the Payment row's lock and
checks its amount against the payment's own, and a unique (provider, provider_payment_id)
keeps a payment from being applied twice however often the webhook is delivered.

Refunds go back through the provider of the payment (`refund`, with our idempotency key, so
a retry cannot refund twice). A provider that can withdraw a payment the buyer has not paid
yet says so with `supports_cancel`; where it cannot (ЮKassa's one-stage payments), a
payment we gave up on may still succeed later, and the money is then credited and refunded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kabinet.core.errors import DomainError


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class CreatedPayment:
    """A payment the provider has registered; the buyer confirms it at confirmation_url."""

    provider_payment_id: str
    confirmation_url: str | None
    status: PaymentStatus


@dataclass(frozen=True, slots=True)
class PaymentState:
    """What the provider says about a payment now."""

    provider_payment_id: str
    status: PaymentStatus
    amount_kopecks: int


@dataclass(frozen=True, slots=True)
class RefundResult:
    """A refund as the provider has it: succeeded, still pending, or canceled (refused)."""

    provider_refund_id: str
    status: PaymentStatus
    amount_kopecks: int


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified notification. raw_event_id identifies the delivery, for the log."""

    provider_payment_id: str
    status: PaymentStatus
    amount_kopecks: int
    raw_event_id: str


class PaymentProviderError(DomainError):
    """The provider refused a request or could not be reached.

    retryable: the outcome is unknown or temporary (a timeout, HTTP 429 or 5xx) — repeat the
    request with the same idempotency key, which cannot create a second payment.
    """

    http_status = 502
    default_code = "payment_provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider_code: str | None = None,
        status_code: int | None = None,
        retryable: bool = False,
    ):
        super().__init__(message)
        self.provider_code = provider_code
        self.status_code = status_code
        self.retryable = retryable


class WebhookRejected(DomainError):
    """A webhook that is not provably from the provider: a bad signature, an unknown source,
    a replay, or a body that is not the provider's format. reason is a stable code."""

    http_status = 400
    default_code = "webhook_rejected"

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason, code=self.default_code)
        self.reason = reason


class PaymentProvider(Protocol):
    """An online payment provider: create a payment, verify its webhooks, ask its status."""

    name: str
    # Whether `cancel_payment` can withdraw a payment that is still pending.
    supports_cancel: bool

    def create_payment(
        self,
        *,
        payment_id: str,
        amount_kopecks: int,
        description: str,
        return_url: str,
        idempotency_key: str,
    ) -> CreatedPayment: ...

    def parse_webhook(
        self, *, body: bytes, headers: Mapping[str, str], remote_addr: str | None
    ) -> WebhookEvent: ...

    def fetch_status(self, provider_payment_id: str) -> PaymentState: ...

    def cancel_payment(self, provider_payment_id: str) -> PaymentState:
        """Withdraw a pending payment; returns its state after, which may be succeeded."""
        ...

    def refund(
        self,
        *,
        provider_payment_id: str,
        amount_kopecks: int,
        description: str,
        idempotency_key: str,
    ) -> RefundResult:
        """Return part or all of a succeeded payment to the buyer."""
        ...

    def refund_status(self, provider_refund_id: str) -> RefundResult:
        """A refund as the provider has it now. A refund it answered «pending» is read again
        with this, not sent again: a repeated key returns the first answer, not the news."""
        ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (a plain dict is not case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
