"""Voice calls and push notifications through a provider's JSON HTTP API.

Both are shaped after common providers and not verified against a live one: voice after
a text-to-speech call API (POST {"to", "text"} with a bearer key, the call's id back), push
after FCM HTTP v1 (POST {"message": {"token", "notification": {"title", "body"}}}, the
message's `name` back). A deployment with another provider replaces the payload and the
id extraction; the retry behaviour stays.
"""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings

from kabinet.notifications.gateways.base import GatewayError, Outgoing

# A provider that has not answered in this long is treated as down; the job retries later.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class _JsonApiGateway:
    url_setting: str
    key_setting: str
    id_field: str

    def send(self, message: Outgoing) -> str:
        url = str(settings.KABINET_NOTIFY.get(self.url_setting, ""))
        if not url:
            raise GatewayError(f"{self.url_setting} is not set")
        key = str(settings.KABINET_NOTIFY.get(self.key_setting, ""))
        response = _post(url, key=key, payload=self.payload(message))
        return _provider_id(response, self.id_field)

    def payload(self, message: Outgoing) -> dict[str, Any]:
        raise NotImplementedError


class VoiceHttpGateway(_JsonApiGateway):
    url_setting = "VOICE_API_URL"
    key_setting = "VOICE_API_KEY"
    id_field = "id"

    def payload(self, message: Outgoing) -> dict[str, Any]:
        return {"to": message.to, "text": message.body}


class PushHttpGateway(_JsonApiGateway):
    url_setting = "PUSH_API_URL"
    key_setting = "PUSH_API_KEY"
    id_field = "name"

    def payload(self, message: Outgoing) -> dict[str, Any]:
        return {
            "message": {
                "token": message.to,
                "notification": {"title": message.subject, "body": message.body},
            }
        }


def _post(url: str, *, key: str, payload: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.post(url, json=payload, headers=headers, timeout=TIMEOUT)
    except httpx.TimeoutException as exc:
        raise GatewayError(f"provider timed out: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise GatewayError(f"provider unreachable: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500:
        raise GatewayError(f"provider error {response.status_code}: {_excerpt(response)}")
    if response.status_code >= 400:
        # Retried like any failure, but a 4xx usually means our request or key is wrong and
        # will fail again until someone fixes the configuration.
        raise GatewayError(
            f"provider refused the request ({response.status_code}, check the key and the "
            f"payload): {_excerpt(response)}"
        )
    if not response.is_success:
        raise GatewayError(f"unexpected provider answer {response.status_code}")
    return response


def _provider_id(response: httpx.Response, field: str) -> str:
    """The provider's id of the call or message; "" when the answer does not carry one."""
    try:
        data = response.json()
    except ValueError:
        return ""
    value = data.get(field) if isinstance(data, dict) else None
    return str(value)[:255] if value else ""


def _excerpt(response: httpx.Response) -> str:
    return response.text[:200].replace("\n", " ")
