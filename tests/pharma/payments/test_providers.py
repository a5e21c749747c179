"""Online payment providers: the demo's test bank (signed webhooks) and ЮKassa's API v3.

ЮKassa is the one boundary this machine cannot reach, so its HTTP side is played by
httpx.MockTransport: the tests pin the requests we send (URL, auth, headers, body) and our
handling of the answers ЮKassa documents.
"""

import base64
import hashlib
import hmac
import json
import uuid

import httpx
import pytest

from kabinet.pharma.payments.providers import get_provider
from kabinet.pharma.payments.providers.base import (
    CreatedPayment,
    PaymentProvider,
    PaymentProviderError,
    PaymentState,
    PaymentStatus,
    RefundResult,
    WebhookEvent,
    WebhookRejected,
)
from kabinet.pharma.payments.providers.test_provider import (
    MAX_AGE_SECONDS,
    SIGNATURE_HEADER,
    TestBankProvider,
    webhook_secret,
)
from kabinet.pharma.payments.providers.yookassa import YooKassaProvider

NOW = 1_773_000_000.0
SECRET = "test-bank-secret"


class Clock:
    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_bank(clock=None, secret=SECRET) -> TestBankProvider:
    return TestBankProvider(
        secret=secret,
        confirmation_url=lambda pid: f"/test-bank/{pid}/",
        clock=clock or Clock(),
    )


def create(provider, key=None, amount=1_234_50):
    return provider.create_payment(
        payment_id="pay-1",
        amount_kopecks=amount,
        description="Оплата заказа № 4711",
        return_url="https://kabinet.example/orders/4711/",
        idempotency_key=key or uuid.uuid4().hex,
    )


# --- the test bank -------------------------------------------------------------------------


def test_providers_satisfy_the_protocol():
    bank: PaymentProvider = make_bank()
    yookassa: PaymentProvider = YooKassaProvider(shop_id="1", secret_key="k")
    assert (bank.name, yookassa.name) == ("test_bank", "yookassa")


def test_create_payment_is_pending_and_idempotent():
    bank = make_bank()
    key = uuid.uuid4().hex
    created = create(bank, key)
    expected_id = "tb_" + hmac.new(SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()[:24]
    assert created == CreatedPayment(
        provider_payment_id=expected_id,
        confirmation_url=f"/test-bank/{expected_id}/",
        status=PaymentStatus.PENDING,
    )
    assert create(bank, key) == created
    assert create(bank) != created
    assert bank.fetch_status(expected_id) == PaymentState(
        expected_id, PaymentStatus.PENDING, 1_234_50
    )
    assert bank.payment(expected_id)["return_url"] == "https://kabinet.example/orders/4711/"


def test_a_paid_payment_sends_a_signed_webhook_that_parses():
    bank = make_bank()
    key = uuid.uuid4().hex
    created = create(bank, key)
    body, headers = bank.decide(provider_payment_id=created.provider_payment_id, succeeded=True)
    assert headers[SIGNATURE_HEADER] == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    event = bank.parse_webhook(body=body, headers=headers, remote_addr="127.0.0.1")
    payload = json.loads(body)
    assert payload["timestamp"] == int(NOW)
    assert event == WebhookEvent(
        provider_payment_id=created.provider_payment_id,
        status=PaymentStatus.SUCCEEDED,
        amount_kopecks=1_234_50,
        raw_event_id=payload["event_id"],
    )
    assert bank.fetch_status(created.provider_payment_id).status == PaymentStatus.SUCCEEDED
    # A retried create after payment does not reset it; a later refusal does not undo it.
    assert create(bank, key).status == PaymentStatus.SUCCEEDED
    body, _ = bank.decide(provider_payment_id=created.provider_payment_id, succeeded=False)
    assert json.loads(body)["status"] == "succeeded"


def test_a_refused_payment_is_canceled():
    bank = make_bank()
    created = create(bank)
    body, headers = bank.decide(provider_payment_id=created.provider_payment_id, succeeded=False)
    event = bank.parse_webhook(body=body, headers=headers, remote_addr=None)
    assert event.status == PaymentStatus.CANCELED


def test_headers_are_matched_whatever_their_case():
    bank = make_bank()
    body, headers = bank.signed_event(
        provider_payment_id="tb_x", status=PaymentStatus.SUCCEEDED, amount_kopecks=100
    )
    lowered = {"x-test-bank-signature": headers[SIGNATURE_HEADER].upper()}
    assert bank.parse_webhook(body=body, headers=lowered, remote_addr=None).amount_kopecks == 100


def rejection(bank, body, headers) -> str:
    with pytest.raises(WebhookRejected) as caught:
        bank.parse_webhook(body=body, headers=headers, remote_addr="203.0.113.5")
    assert caught.value.code == "webhook_rejected"
    return caught.value.reason


def test_a_bad_or_missing_signature_is_rejected():
    bank = make_bank()
    body, headers = bank.signed_event(
        provider_payment_id="tb_x", status=PaymentStatus.SUCCEEDED, amount_kopecks=100
    )
    tampered = body.replace(b'"amount_kopecks":100', b'"amount_kopecks":1')
    assert rejection(bank, tampered, headers) == "bad_signature"
    assert rejection(bank, body, {}) == "bad_signature"
    assert rejection(bank, body, {SIGNATURE_HEADER: "ф" * 64}) == "bad_signature"
    other = make_bank(secret="another-secret")
    assert rejection(other, body, headers) == "bad_signature"


def test_old_and_future_events_are_rejected_as_replays():
    clock = Clock()
    bank = make_bank(clock)
    body, headers = bank.signed_event(
        provider_payment_id="tb_x", status=PaymentStatus.SUCCEEDED, amount_kopecks=100
    )
    clock.now = NOW + MAX_AGE_SECONDS
    assert bank.parse_webhook(body=body, headers=headers, remote_addr=None).amount_kopecks == 100
    clock.now = NOW + MAX_AGE_SECONDS + 1
    assert rejection(bank, body, headers) == "stale"
    clock.now = NOW - 61
    assert rejection(bank, body, headers) == "stale"


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"payment_id":"tb_x","status":"succeeded","amount_kopecks":1,"timestamp":1773000000}',
        b'{"event_id":"e","payment_id":"tb_x","status":"paid","amount_kopecks":1,"timestamp":1773000000}',
        b'{"event_id":"e","payment_id":"tb_x","status":"succeeded","amount_kopecks":"1","timestamp":1773000000}',
        b'{"event_id":"e","payment_id":"tb_x","status":"succeeded","amount_kopecks":true,"timestamp":1773000000}',
        b'{"event_id":"e","payment_id":"tb_x","status":"succeeded","amount_kopecks":1,"timestamp":"now"}',
    ],
)
def test_a_signed_body_not_in_the_banks_format_is_rejected(payload):
    bank = make_bank()
    assert rejection(bank, payload, {SIGNATURE_HEADER: bank.sign(payload)}) == "bad_body"


def test_unknown_payments_and_bad_amounts():
    bank = make_bank()
    with pytest.raises(PaymentProviderError):
        bank.fetch_status("tb_unknown")
    with pytest.raises(PaymentProviderError):
        bank.decide(provider_payment_id="tb_unknown", succeeded=True)
    with pytest.raises(PaymentProviderError):
        create(bank, amount=0)


def test_the_secret_comes_from_settings_or_from_secret_key(settings):
    settings.PAYMENTS_TEST_SECRET = "from-settings"
    assert webhook_secret() == "from-settings"
    settings.PAYMENTS_TEST_SECRET = ""
    derived = webhook_secret()
    assert len(derived) == 64 and derived != settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-another-secret-key-another-secret-key"
    assert webhook_secret() != derived


def test_get_provider_by_name(settings):
    assert isinstance(get_provider("test_bank"), TestBankProvider)
    settings.YOOKASSA_SHOP_ID = ""
    with pytest.raises(PaymentProviderError):
        get_provider("yookassa")
    settings.YOOKASSA_SHOP_ID = "123456"
    settings.YOOKASSA_SECRET_KEY = "live_secret"
    assert isinstance(get_provider("yookassa"), YooKassaProvider)
    with pytest.raises(PaymentProviderError):
        get_provider("paypal")


# --- ЮKassa --------------------------------------------------------------------------------

PAYMENT_ID = "2f6c9a1e-000f-5000-8000-1b2c3d4e5f60"
SHOP_ID = "123456"
SECRET_KEY = "test_secretKey"


def yookassa_payment(status="pending", value="1234.50", currency="RUB", **extra):
    return {
        "id": PAYMENT_ID,
        "status": status,
        "paid": status == "succeeded",
        "amount": {"value": value, "currency": currency},
        "confirmation": {
            "type": "redirect",
            "confirmation_url": f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={PAYMENT_ID}",
        },
        "created_at": "2026-03-12T10:00:00.000Z",
        "description": "Оплата заказа № 4711",
        "metadata": {"payment_id": "pay-1"},
        "recipient": {"account_id": SHOP_ID, "gateway_id": "100700"},
        "refundable": False,
        "test": True,
        **extra,
    }


class FakeYooKassa:
    """Records requests and answers them like ЮKassa's API."""

    def __init__(self, *responses: httpx.Response | Exception):
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return response


def yookassa(*responses) -> tuple[YooKassaProvider, FakeYooKassa]:
    fake = FakeYooKassa(*responses)
    client = httpx.Client(transport=httpx.MockTransport(fake))
    return YooKassaProvider(shop_id=SHOP_ID, secret_key=SECRET_KEY, client=client), fake


def test_create_payment_sends_the_documented_request():
    provider, fake = yookassa(httpx.Response(200, json=yookassa_payment()))
    created = provider.create_payment(
        payment_id="pay-1",
        amount_kopecks=1_234_50,
        description="Оплата заказа № 4711",
        return_url="https://kabinet.example/orders/4711/",
        idempotency_key="idem-4711-1",
    )
    assert created == CreatedPayment(
        provider_payment_id=PAYMENT_ID,
        confirmation_url=f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={PAYMENT_ID}",
        status=PaymentStatus.PENDING,
    )
    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.yookassa.ru/v3/payments"
    credentials = base64.b64encode(f"{SHOP_ID}:{SECRET_KEY}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert request.headers["Idempotence-Key"] == "idem-4711-1"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "amount": {"value": "1234.50", "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": "https://kabinet.example/orders/4711/"},
        "description": "Оплата заказа № 4711",
        "metadata": {"payment_id": "pay-1"},
    }


@pytest.mark.parametrize(
    ("kopecks", "value"),
    [
        (1, "0.01"),
        (10, "0.10"),
        (100, "1.00"),
        (1_234_50, "1234.50"),
        (99_999_999_99, "99999999.99"),
    ],
)
def test_amounts_are_decimal_strings_with_two_places(kopecks, value):
    provider, fake = yookassa(httpx.Response(200, json=yookassa_payment(value=value)))
    provider.create_payment(
        payment_id="p",
        amount_kopecks=kopecks,
        description="d",
        return_url="https://x/",
        idempotency_key="k",
    )
    assert json.loads(fake.requests[0].content)["amount"]["value"] == value


def test_a_long_description_is_cut_to_ykassas_limit():
    provider, fake = yookassa(httpx.Response(200, json=yookassa_payment()))
    provider.create_payment(
        payment_id="p",
        amount_kopecks=100,
        description="Я" * 200,
        return_url="https://x/",
        idempotency_key="k",
    )
    assert json.loads(fake.requests[0].content)["description"] == "Я" * 128


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "invalid_request", False),
        (401, "invalid_credentials", False),
        (403, "forbidden", False),
        (404, "not_found", False),
        (429, "too_many_requests", True),
        (500, "internal_server_error", True),
    ],
)
def test_errors_carry_ykassas_message_and_code(status, code, retryable):
    body = {
        "type": "error",
        "id": "ab2f0e8b-a1a3-4a4d-8f0f-1a2b3c4d5e6f",
        "code": code,
        "description": "Idempotence key duplicated",
        "parameter": "Idempotence-Key",
    }
    provider, _ = yookassa(httpx.Response(status, json=body))
    with pytest.raises(PaymentProviderError) as caught:
        provider.fetch_status(PAYMENT_ID)
    error = caught.value
    assert error.message == "Idempotence key duplicated"
    assert (error.provider_code, error.status_code, error.retryable) == (code, status, retryable)
    assert error.code == "payment_provider_error"
    assert error.http_status == 502


def test_an_error_without_a_json_body_uses_the_http_reason():
    provider, _ = yookassa(httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(PaymentProviderError) as caught:
        provider.fetch_status(PAYMENT_ID)
    assert (caught.value.message, caught.value.retryable) == ("Bad Gateway", True)


def test_network_failures_are_retryable():
    provider, _ = yookassa(httpx.ConnectTimeout("timed out"))
    with pytest.raises(PaymentProviderError) as caught:
        provider.fetch_status(PAYMENT_ID)
    assert caught.value.retryable
    assert caught.value.message == "ЮKassa не ответила: ConnectTimeout"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=yookassa_payment(status="refunded")),
        httpx.Response(200, json=yookassa_payment(value="12.345")),
        httpx.Response(200, json=yookassa_payment(currency="USD")),
        httpx.Response(200, json={"id": PAYMENT_ID}),
    ],
)
def test_answers_we_cannot_read_are_errors(response):
    provider, _ = yookassa(response)
    with pytest.raises(PaymentProviderError):
        provider.fetch_status(PAYMENT_ID)


def test_fetch_status_reads_the_payment():
    provider, fake = yookassa(httpx.Response(200, json=yookassa_payment("succeeded", "99.90")))
    assert provider.fetch_status(PAYMENT_ID) == PaymentState(
        PAYMENT_ID, PaymentStatus.SUCCEEDED, 99_90
    )
    (request,) = fake.requests
    assert (request.method, str(request.url)) == (
        "GET",
        f"https://api.yookassa.ru/v3/payments/{PAYMENT_ID}",
    )
    assert "Idempotence-Key" not in request.headers
    assert request.headers["Authorization"].startswith("Basic ")


def test_an_id_that_could_change_the_path_is_not_fetched():
    provider, fake = yookassa()
    with pytest.raises(PaymentProviderError):
        provider.fetch_status("../refunds")
    assert fake.requests == []


def notification(event="payment.succeeded", status="succeeded", **obj):
    return json.dumps(
        {
            "type": "notification",
            "event": event,
            "object": {**yookassa_payment(status=status), **obj},
        }
    ).encode()


@pytest.mark.parametrize(
    "address",
    [
        *("185.71.76.0", "185.71.76.31", "185.71.77.10", "77.75.153.127", "77.75.156.11"),
        *("77.75.156.35", "77.75.154.200", "2a02:5180::1", "2a02:5180:ffff::abcd"),
    ],
)
def test_a_notification_from_ykassa_is_trusted_only_as_far_as_the_refetch(address):
    # The body says succeeded for 1 000 000 ₽; ЮKassa, asked, says pending for 1 234,50 ₽.
    provider, fake = yookassa(httpx.Response(200, json=yookassa_payment("pending", "1234.50")))
    body = notification(amount={"value": "1000000.00", "currency": "RUB"})
    event = provider.parse_webhook(body=body, headers={}, remote_addr=address)
    assert event == WebhookEvent(
        provider_payment_id=PAYMENT_ID,
        status=PaymentStatus.PENDING,
        amount_kopecks=1_234_50,
        raw_event_id=f"payment.succeeded:{PAYMENT_ID}",
    )
    (request,) = fake.requests
    assert str(request.url) == f"https://api.yookassa.ru/v3/payments/{PAYMENT_ID}"


@pytest.mark.parametrize(
    "address",
    [
        *("185.71.76.32", "185.71.78.1", "77.75.156.12", "77.75.154.127", "127.0.0.1", "10.0.0.1"),
        *("2a02:5181::1", "::1", "", None, "not an address", "185.71.76.1, 10.0.0.1"),
    ],
)
def test_a_notification_from_anywhere_else_is_rejected_without_a_request(address):
    provider, fake = yookassa()
    with pytest.raises(WebhookRejected) as caught:
        provider.parse_webhook(body=notification(), headers={}, remote_addr=address)
    assert caught.value.reason == "untrusted_source"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        (b"[]", "bad_body"),
        (b'{"type": "notification", "event": "payment.succeeded"}', "bad_body"),
        (b'{"type": "other", "event": "payment.succeeded", "object": {"id": "x"}}', "bad_body"),
        (b'{"type": "notification", "event": "payment.succeeded", "object": {}}', "bad_body"),
        (
            b'{"type": "notification", "event": "payment.succeeded", "object": {"id": "../x"}}',
            "bad_body",
        ),
        (
            b'{"type": "notification", "event": "refund.succeeded", "object": {"id": "x"}}',
            "unsupported_event",
        ),
    ],
)
def test_a_notification_not_in_ykassas_format_is_rejected(body, reason):
    provider, fake = yookassa()
    with pytest.raises(WebhookRejected) as caught:
        provider.parse_webhook(body=body, headers={}, remote_addr="185.71.76.5")
    assert caught.value.reason == reason
    assert fake.requests == []


def test_a_failed_refetch_propagates_so_that_ykassa_retries():
    provider, _ = yookassa(
        httpx.Response(
            500,
            json={
                "type": "error",
                "code": "internal_server_error",
                "description": "Internal error",
            },
        )
    )
    with pytest.raises(PaymentProviderError) as caught:
        provider.parse_webhook(body=notification(), headers={}, remote_addr="185.71.76.5")
    assert caught.value.retryable


# --- ЮKassa refunds --------------------------------------------------------------------------

REFUND_ID = "2f6c9b2a-0015-5000-9000-1e2d3c4b5a69"


def yookassa_refund(status="succeeded", value="500.00", **extra):
    return {
        "id": REFUND_ID,
        "payment_id": PAYMENT_ID,
        "status": status,
        "created_at": "2026-03-12T11:00:00.000Z",
        "amount": {"value": value, "currency": "RUB"},
        "description": "Возврат по заказу № 4711",
        **extra,
    }


def test_a_refunds_state_is_read_with_get():
    provider, fake = yookassa(httpx.Response(200, json=yookassa_refund("succeeded")))
    result = provider.refund_status(REFUND_ID)
    (request,) = fake.requests
    assert (request.method, str(request.url)) == (
        "GET",
        f"https://api.yookassa.ru/v3/refunds/{REFUND_ID}",
    )
    assert (result.provider_refund_id, result.status, result.amount_kopecks) == (
        REFUND_ID,
        PaymentStatus.SUCCEEDED,
        50_000,
    )
    with pytest.raises(PaymentProviderError):
        provider.refund_status("../payments")
    assert len(fake.requests) == 1


def test_a_refund_sends_the_documented_request():
    provider, fake = yookassa(httpx.Response(200, json=yookassa_refund()))
    result = provider.refund(
        provider_payment_id=PAYMENT_ID,
        amount_kopecks=500_00,
        description="Возврат по заказу № 4711",
        idempotency_key="refund-key-1",
    )
    assert result == RefundResult(REFUND_ID, PaymentStatus.SUCCEEDED, 500_00)
    (request,) = fake.requests
    assert (request.method, str(request.url)) == ("POST", "https://api.yookassa.ru/v3/refunds")
    assert request.headers["Idempotence-Key"] == "refund-key-1"
    credentials = base64.b64encode(f"{SHOP_ID}:{SECRET_KEY}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert json.loads(request.content) == {
        "payment_id": PAYMENT_ID,
        "amount": {"value": "500.00", "currency": "RUB"},
        "description": "Возврат по заказу № 4711",
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [("pending", PaymentStatus.PENDING), ("canceled", PaymentStatus.CANCELED)],
)
def test_a_pending_or_refused_refund_says_so(status, expected):
    provider, _ = yookassa(httpx.Response(200, json=yookassa_refund(status)))
    result = provider.refund(
        provider_payment_id=PAYMENT_ID, amount_kopecks=500_00, description="d", idempotency_key="k"
    )
    assert result.status == expected


@pytest.mark.parametrize(
    ("response", "retryable"),
    [
        (
            httpx.Response(
                400,
                json={
                    "type": "error",
                    "code": "invalid_request",
                    "description": "Refund amount exceeds the payment amount",
                },
            ),
            False,
        ),
        (httpx.Response(500, json={"type": "error", "code": "internal_server_error"}), True),
        (httpx.ReadTimeout("timed out"), True),
    ],
)
def test_refund_errors_say_whether_to_retry_with_the_same_key(response, retryable):
    provider, _ = yookassa(response)
    with pytest.raises(PaymentProviderError) as caught:
        provider.refund(
            provider_payment_id=PAYMENT_ID,
            amount_kopecks=500_00,
            description="d",
            idempotency_key="k",
        )
    assert caught.value.retryable is retryable


def test_a_refund_of_a_bad_id_or_amount_sends_nothing():
    provider, fake = yookassa()
    with pytest.raises(PaymentProviderError):
        provider.refund(
            provider_payment_id="../payments",
            amount_kopecks=1,
            description="d",
            idempotency_key="k",
        )
    with pytest.raises(PaymentProviderError):
        provider.refund(
            provider_payment_id=PAYMENT_ID, amount_kopecks=0, description="d", idempotency_key="k"
        )
    assert fake.requests == []


def test_ykassa_cannot_withdraw_a_pending_payment():
    provider, fake = yookassa()
    assert provider.supports_cancel is False
    with pytest.raises(PaymentProviderError):
        provider.cancel_payment(PAYMENT_ID)
    assert fake.requests == []
