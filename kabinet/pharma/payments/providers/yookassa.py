"""ЮKassa (YooKassa) API v3 over httpx (SPEC P-PAY-1, P-PAY-3).

Requests: ``POST https://api.yookassa.ru/v3/payments`` with HTTP Basic auth (shop id : secret
key) and an ``Idempotence-Key`` header — a repeat with the same key returns the first result
instead of a second payment, so a timeout is safe to retry. The amount is a decimal string in
roubles (``"123.45"``), the currency RUB, ``capture: true`` (one-stage payment), a redirect
confirmation back to return_url, and our payment id in metadata. Errors come as JSON
``{"type": "error", "code": …, "description": …}`` with HTTP 400/401/403/404/429/500; 500 means
the outcome is unknown, so it and 429 are marked retryable.

Webhooks: ЮKassa does not sign its notifications. Its documented ways to trust one are to
accept it only from its published addresses and to ask the API for the object's current
state. This adapter does both: a notification from any other address is rejected, and the
event returned carries the status and amount fetched by ``GET /v3/payments/{id}``, never the
ones in the body. The caller must pass the real client address (the one the reverse proxy
saw), not a header the client could set (`kabinet.core.http.client_ip`, which believes
X-Forwarded-For only from the proxies in KABINET_TRUSTED_PROXIES).

Refunds: ``POST /v3/refunds`` with the payment's id, the amount and an ``Idempotence-Key``;
ЮKassa answers with the refund, mostly succeeded at once, sometimes pending, canceled when it
refuses. A pending one-stage payment cannot be cancelled through the API (``/cancel`` is only
for payments waiting for capture), so `supports_cancel` is False: a payment we gave up on
expires unpaid, or, if the buyer pays it after all, is credited and its excess refunded.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from kabinet.core.money import AmountError, format_amount, parse_amount
from kabinet.pharma.payments.providers.base import (
    CreatedPayment,
    PaymentProviderError,
    PaymentState,
    PaymentStatus,
    RefundResult,
    WebhookEvent,
    WebhookRejected,
)

API_URL = "https://api.yookassa.ru/v3/"
# Published by ЮKassa for its HTTP notifications; re-check them when notifications start
# being refused.
NOTIFICATION_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "185.71.76.0/27",
        "185.71.77.0/27",
        "77.75.153.0/25",
        "77.75.156.11/32",
        "77.75.156.35/32",
        "77.75.154.128/25",
        "2a02:5180::/32",
    )
)
DESCRIPTION_MAX = 128  # ЮKassa's limit on a payment's description
_STATUSES = {
    "pending": PaymentStatus.PENDING,
    # Only two-stage payments wait for capture; ours are captured at once, so it is pending.
    "waiting_for_capture": PaymentStatus.PENDING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}
_PAYMENT_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


class YooKassaProvider:
    """ЮKassa's API v3: create payments, verify notifications by source and re-fetch."""

    name = "yookassa"
    supports_cancel = False

    def __init__(
        self,
        *,
        shop_id: str,
        secret_key: str,
        client: httpx.Client | None = None,
        api_url: str = API_URL,
        timeout: float = 15.0,
        networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = NOTIFICATION_NETWORKS,
    ):
        self._auth = httpx.BasicAuth(shop_id, secret_key)
        self._client = client or httpx.Client(timeout=timeout)
        self._api_url = api_url
        self._networks = tuple(networks)

    @classmethod
    def from_settings(cls) -> YooKassaProvider:
        shop_id = getattr(settings, "YOOKASSA_SHOP_ID", "")
        secret_key = getattr(settings, "YOOKASSA_SECRET_KEY", "")
        if not shop_id or not secret_key:
            raise PaymentProviderError(_("ЮKassa не настроена: нет YOOKASSA_SHOP_ID и ключа."))
        return cls(shop_id=shop_id, secret_key=secret_key)

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotence-Key": idempotency_key} if idempotency_key else {}
        try:
            response = self._client.request(
                method, self._api_url + path, json=body, headers=headers, auth=self._auth
            )
        except httpx.TransportError as exc:
            raise PaymentProviderError(
                _("ЮKassa не ответила: %(error)s") % {"error": exc.__class__.__name__},
                retryable=True,
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200:
            details = data if isinstance(data, dict) else {}
            raise PaymentProviderError(
                str(details.get("description") or response.reason_phrase or response.status_code),
                provider_code=details.get("code"),
                status_code=response.status_code,
                retryable=response.status_code == 429 or response.status_code >= 500,
            )
        if not isinstance(data, dict):
            raise PaymentProviderError(
                _("ЮKassa вернула ответ не в формате JSON."),
                status_code=response.status_code,
                retryable=True,
            )
        return data

    @staticmethod
    def _state(data: Mapping[str, Any]) -> PaymentState:
        try:
            status = _STATUSES[data["status"]]
            amount = data["amount"]
            if amount["currency"] != "RUB":
                raise PaymentProviderError(
                    _("ЮKassa вернула платёж не в рублях: %(currency)s.")
                    % {"currency": amount["currency"]}
                )
            return PaymentState(
                provider_payment_id=str(data["id"]),
                status=status,
                amount_kopecks=parse_amount(str(amount["value"])),
            )
        except (KeyError, TypeError, AmountError) as exc:
            raise PaymentProviderError(_("ЮKassa вернула платёж в неизвестном виде.")) from exc

    def create_payment(
        self,
        *,
        payment_id: str,
        amount_kopecks: int,
        description: str,
        return_url: str,
        idempotency_key: str,
    ) -> CreatedPayment:
        """Create a one-stage payment and return where to send the buyer."""
        if amount_kopecks <= 0:
            raise PaymentProviderError(_("Сумма платежа должна быть положительной."))
        data = self._request(
            "POST",
            "payments",
            body={
                "amount": {"value": format_amount(amount_kopecks), "currency": "RUB"},
                "capture": True,
                "confirmation": {"type": "redirect", "return_url": return_url},
                "description": description[:DESCRIPTION_MAX],
                "metadata": {"payment_id": payment_id},
            },
            idempotency_key=idempotency_key,
        )
        state = self._state(data)
        confirmation = data.get("confirmation") or {}
        return CreatedPayment(
            provider_payment_id=state.provider_payment_id,
            confirmation_url=confirmation.get("confirmation_url"),
            status=state.status,
        )

    def fetch_status(self, provider_payment_id: str) -> PaymentState:
        """The payment as ЮKassa has it now: GET /v3/payments/{id}."""
        if not _PAYMENT_ID.match(provider_payment_id):
            raise PaymentProviderError(_("Неверный идентификатор платежа ЮKassa."))
        return self._state(self._request("GET", f"payments/{provider_payment_id}"))

    def cancel_payment(self, provider_payment_id: str) -> PaymentState:
        raise PaymentProviderError(
            _("ЮKassa не отменяет платёж, ожидающий оплаты: он истечёт сам.")
        )

    def refund(
        self,
        *,
        provider_payment_id: str,
        amount_kopecks: int,
        description: str,
        idempotency_key: str,
    ) -> RefundResult:
        """Refund part or all of a succeeded payment: POST /v3/refunds."""
        if amount_kopecks <= 0:
            raise PaymentProviderError(_("Сумма возврата должна быть положительной."))
        if not _PAYMENT_ID.match(provider_payment_id):
            raise PaymentProviderError(_("Неверный идентификатор платежа ЮKassa."))
        data = self._request(
            "POST",
            "refunds",
            body={
                "payment_id": provider_payment_id,
                "amount": {"value": format_amount(amount_kopecks), "currency": "RUB"},
                "description": description[:DESCRIPTION_MAX],
            },
            idempotency_key=idempotency_key,
        )
        state = self._state(data)
        return RefundResult(
            provider_refund_id=state.provider_payment_id,
            status=state.status,
            amount_kopecks=state.amount_kopecks,
        )

    def refund_status(self, provider_refund_id: str) -> RefundResult:
        """The refund as ЮKassa has it now: GET /v3/refunds/{id}."""
        if not _PAYMENT_ID.match(provider_refund_id):
            raise PaymentProviderError(_("Неверный идентификатор возврата ЮKassa."))
        state = self._state(self._request("GET", f"refunds/{provider_refund_id}"))
        return RefundResult(
            provider_refund_id=state.provider_payment_id,
            status=state.status,
            amount_kopecks=state.amount_kopecks,
        )

    def is_trusted_address(self, remote_addr: str | None) -> bool:
        try:
            address = ipaddress.ip_address((remote_addr or "").strip())
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def parse_webhook(
        self, *, body: bytes, headers: Mapping[str, str], remote_addr: str | None
    ) -> WebhookEvent:
        """Accept a notification only from ЮKassa's addresses, and trust only the re-fetch.

        A PaymentProviderError from the re-fetch propagates: answer it with a 5xx, and ЮKassa
        delivers the notification again later.
        """
        if not self.is_trusted_address(remote_addr):
            raise WebhookRejected(
                "untrusted_source",
                _("Уведомление пришло не с адреса ЮKassa: %(addr)s.") % {"addr": remote_addr},
            )
        try:
            notification = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected("bad_json", _("Уведомление ЮKassa — не JSON.")) from exc
        obj = notification.get("object") if isinstance(notification, dict) else None
        event = notification.get("event") if isinstance(notification, dict) else None
        if (
            not isinstance(obj, dict)
            or notification.get("type") != "notification"
            or not isinstance(event, str)
        ):
            raise WebhookRejected("bad_body", _("Уведомление не в формате ЮKassa."))
        if not event.startswith("payment."):
            raise WebhookRejected(
                "unsupported_event", _("Событие %(event)s не о платеже.") % {"event": event}
            )
        payment_id = obj.get("id")
        if not isinstance(payment_id, str) or not _PAYMENT_ID.match(payment_id):
            raise WebhookRejected("bad_body", _("В уведомлении нет идентификатора платежа."))
        state = self.fetch_status(payment_id)
        return WebhookEvent(
            provider_payment_id=state.provider_payment_id,
            status=state.status,
            amount_kopecks=state.amount_kopecks,
            raw_event_id=f"{event}:{payment_id}",
        )
