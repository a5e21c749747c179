"""Voice and push through JSON HTTP providers (a local server plays the provider)."""

from __future__ import annotations

import pytest

from kabinet.notifications.gateways import GatewayError, Outgoing
from kabinet.notifications.gateways.http import PushHttpGateway, VoiceHttpGateway
from kabinet.notifications.models import Status
from kabinet.notifications.services import notify
from kabinet.notifications.testing import run_pending_jobs
from tests.notifications.conftest import free_port

pytestmark = pytest.mark.django_db

PUSH_TOKEN = "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"


@pytest.fixture
def voice(notify_settings, http_provider):
    notify_settings(
        VOICE_GATEWAY="http", VOICE_API_URL=f"{http_provider.url}/v1/calls", VOICE_API_KEY="vk-1"
    )
    return http_provider


@pytest.fixture
def push(notify_settings, http_provider):
    notify_settings(
        PUSH_GATEWAY="http",
        PUSH_API_URL=f"{http_provider.url}/v1/projects/kabinet/messages:send",
        PUSH_API_KEY="pk-2",
    )
    return http_provider


def test_voice_call_is_posted_with_the_key_and_sent_with_the_call_id(voice):
    voice.respond(201, {"id": "call-42", "status": "queued"})
    message = notify(
        channel="voice", to="8 916 123-45-67", template="otp_code", context={"code": "57"}
    )

    run_pending_jobs()

    [request] = voice.requests
    assert request.method == "POST"
    assert request.path == "/v1/calls"
    assert request.headers["authorization"] == "Bearer vk-1"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "to": "+79161234567",
        "text": "Ваш код подтверждения: 5, 7. Повторяю: 5, 7. Никому не сообщайте его.",
    }
    message.refresh_from_db()
    assert (message.status, message.provider_id, message.gateway) == (
        Status.SENT,
        "call-42",
        "http",
    )


def test_voice_provider_5xx_is_retried(voice):
    voice.respond(503, {"error": "overloaded"})
    message = notify(channel="voice", to="+79161234567", template="otp_code", context={"code": "1"})

    run_pending_jobs()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert message.last_error.startswith("provider error 503")
    assert len(voice.requests) == 1


def test_push_is_posted_fcm_style_and_sent_with_the_message_name(push):
    push.respond(200, {"name": "projects/kabinet/messages/0:1500415314455276%31bd1c9631bd1c96"})
    message = notify(
        channel="push",
        to=PUSH_TOKEN,
        template="generic",
        context={"subject": "Начислены баллы", "text": "+120 баллов за покупку"},
    )

    run_pending_jobs()

    [request] = push.requests
    assert request.path == "/v1/projects/kabinet/messages:send"
    assert request.headers["authorization"] == "Bearer pk-2"
    assert request.body == {
        "message": {
            "token": PUSH_TOKEN,
            "notification": {"title": "Начислены баллы", "body": "+120 баллов за покупку"},
        }
    }
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_id == "projects/kabinet/messages/0:1500415314455276%31bd1c9631bd1c96"


def test_push_provider_5xx_is_retried_and_then_sent(push):
    from datetime import timedelta

    from django.utils import timezone

    push.respond(500)
    message = notify(channel="push", to=PUSH_TOKEN, template="generic", context={"text": "Привет"})
    run_pending_jobs()
    message.refresh_from_db()
    assert message.status == Status.QUEUED

    push.respond(200, {"name": "projects/kabinet/messages/2"})
    run_pending_jobs(until=timezone.now() + timedelta(hours=1))

    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == (
        Status.SENT,
        2,
        "projects/kabinet/messages/2",
    )


def test_a_4xx_is_a_gateway_error_that_says_the_request_was_refused(push):
    push.respond(401, {"error": "bad key"})

    with pytest.raises(GatewayError, match=r"refused the request \(401"):
        PushHttpGateway().send(Outgoing(1, "push", PUSH_TOKEN, "", "Привет"))


def test_a_2xx_without_an_id_is_sent_with_an_empty_provider_id(voice):
    voice.respond(204)
    assert VoiceHttpGateway().send(Outgoing(1, "voice", "+79161234567", "", "Привет")) == ""


def test_an_unreachable_provider_is_a_gateway_error(notify_settings):
    notify_settings(VOICE_API_URL=f"http://127.0.0.1:{free_port()}/v1/calls")

    with pytest.raises(GatewayError, match="unreachable"):
        VoiceHttpGateway().send(Outgoing(1, "voice", "+79161234567", "", "Привет"))


def test_an_unconfigured_provider_is_a_gateway_error(notify_settings):
    notify_settings(PUSH_API_URL="")

    with pytest.raises(GatewayError, match="PUSH_API_URL is not set"):
        PushHttpGateway().send(Outgoing(1, "push", PUSH_TOKEN, "", "Привет"))
