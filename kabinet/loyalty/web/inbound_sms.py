"""Inbound SMS to 9002 (L-ACT-4, SPEC §4): an aggregator's webhook and Kannel's get-url.

Aggregator — `POST /api/sms/v1/inbound`
    Body (JSON): `{"message_id": "...", "from": "+79161234567", "to": "9002", "text": "..."}`.
    Header `X-Signature: sha256=<hex>`: HMAC-SHA256 of the raw request body with the shared
    secret `SMS_INBOUND_SECRET`. Missing signature → 401, wrong → 403, bad JSON or fields →
    422, secret not configured → 503. Answer 200
    `{"message_id", "status": "activated" | "rejected", "code", "reply", "replayed"}`;
    a repeated `message_id` replays the first answer (with `"replayed": true`) and activates
    nothing twice.

Kannel — `GET /api/sms/v1/kannel?key=<SMS_INBOUND_SECRET>&from=%p&to=%P&text=%b&charset=%C&id=%I`
    The sms-service's `get-url` (or `post-url`, the text then is the body). Kannel cannot
    sign, so the shared secret travels in the URL (`key`), which only Kannel and its config
    know; put Kannel next to the app and keep the URL off shared logs. Wrong or missing key →
    403. `%I` (Kannel's message UUID) is the idempotency key. The HTTP answer is a short
    status word: the reply SMS goes through sendsms like every other message, so set the
    service's `max-messages = 0`.

OpenAPI — `GET /api/sms/v1/openapi.json`
    Both operations above, described by hand (`openapi_document`): they stay plain Django
    views because the signature covers the exact raw body and Kannel's answers are plain
    text, which a framework's parsing and error shapes would change. Tests keep the
    document and the views in step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from kabinet.loyalty.services.registration import activate_by_sms

SIGNATURE_HEADER = "X-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_BODY = 16 * 1024


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def signature(body: bytes, secret: str) -> str:
    """The header value a sender puts on `body` (also what tests and clients use)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _field(data: dict[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return None
    return value


@csrf_exempt
@never_cache
@require_http_methods(["POST"])
def inbound(request: HttpRequest) -> JsonResponse:
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        return _error(503, "not_configured", "Приём SMS не настроен")
    body = request.body
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not given:
        return _error(401, "signature_required", f"Нужна подпись в заголовке {SIGNATURE_HEADER}")
    if not hmac.compare_digest(given.strip().lower(), signature(body, secret)):
        return _error(403, "signature_invalid", "Подпись не совпадает")
    if len(body) > MAX_BODY:
        return _error(422, "validation_error", "Слишком большой запрос")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(422, "validation_error", "Тело запроса — не JSON")
    if not isinstance(data, dict):
        return _error(422, "validation_error", "Ожидается объект JSON")
    message_id = _field(data, "message_id", 128)
    sender = _field(data, "from", 32)
    text = data.get("text") if isinstance(data.get("text"), str) else None
    if message_id is None or sender is None or text is None:
        missing = [
            name
            for name, value in (("message_id", message_id), ("from", sender), ("text", text))
            if value is None
        ]
        return _error(422, "validation_error", f"Нет или неверно поле: {', '.join(missing)}")
    result = activate_by_sms(
        sender_phone=sender,
        text=text[:1000],
        message_id=message_id,
        recipient=_field(data, "to", 32) or "",
        source="http",
    )
    return JsonResponse({"message_id": message_id, **result.to_body(), "replayed": result.replayed})


def _kannel_text(request: HttpRequest) -> str:
    """The SMS text in the coding Kannel names: UTF-8 with mo-recode, else what %C says."""
    charset = (request.GET.get("charset") or "UTF-8").strip().upper()
    encoding = {"UTF-16BE": "utf-16-be", "UCS-2": "utf-16-be", "UTF-8": "utf-8"}.get(
        charset, "latin-1"
    )
    if request.method == "POST":
        return request.body.decode(encoding, errors="replace")
    # Django decodes the query string as UTF-8; UTF-16 bytes need the raw query.
    raw = request.META.get("QUERY_STRING", "")
    for key, value in parse_qsl(raw, keep_blank_values=True, encoding="latin-1"):
        if key == "text":
            # Each byte came back as one latin-1 character: undo that, then decode for real.
            return value.encode("latin-1").decode(encoding, errors="replace")
    return ""


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def kannel(request: HttpRequest) -> HttpResponse:
    secret = settings.SMS_INBOUND_SECRET
    given = request.GET.get("key", "")
    if not secret or not given or not hmac.compare_digest(given.encode(), secret.encode()):
        return HttpResponse("forbidden", status=403, content_type="text/plain")
    sender, message_id = request.GET.get("from", ""), request.GET.get("id", "")
    if not sender or not message_id:
        return HttpResponse("from and id are required", status=400, content_type="text/plain")
    result = activate_by_sms(
        sender_phone=sender,
        text=_kannel_text(request)[:1000],
        message_id=message_id,
        recipient=request.GET.get("to", ""),
        source="kannel",
    )
    return HttpResponse(result.outcome, content_type="text/plain; charset=utf-8")


# --- OpenAPI (SPEC §4: "keep them stable and documented in OpenAPI") --------------------------

_ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def _json_error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


def _text(description: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/plain": {"schema": {"type": "string", "example": example}}},
    }


_KANNEL_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "key",
        "in": "query",
        "required": True,
        "description": "The shared secret SMS_INBOUND_SECRET (Kannel cannot sign)",
        "schema": {"type": "string"},
    },
    {
        "name": "from",
        "in": "query",
        "required": True,
        "description": "The sender's phone (Kannel's %p)",
        "schema": {"type": "string"},
    },
    {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "The short number (%P)",
        "schema": {"type": "string"},
    },
    {
        "name": "text",
        "in": "query",
        "required": False,
        "description": "The SMS text (%b) for get-url; with post-url the text is the body",
        "schema": {"type": "string"},
    },
    {
        "name": "charset",
        "in": "query",
        "required": False,
        "description": "The text's coding (%C): UTF-8 (default), UTF-16BE/UCS-2, else latin-1",
        "schema": {"type": "string", "default": "UTF-8"},
    },
    {
        "name": "id",
        "in": "query",
        "required": True,
        "description": "Kannel's message UUID (%I): the idempotency key",
        "schema": {"type": "string"},
    },
]


def _kannel_operation(method: str) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"kannel_{method}",
        "summary": "Входящее SMS от Kannel (get-url / post-url)",
        "description": "The answer is a short status word; the reply SMS goes through sendsms.",
        "parameters": _KANNEL_PARAMETERS,
        "responses": {
            "200": _text("Processed: the outcome", "activated"),
            "400": _text("`from` or `id` missing", "from and id are required"),
            "403": _text("Wrong or missing key, or the secret is not configured", "forbidden"),
        },
    }
    if method == "post":
        operation["requestBody"] = {
            "required": False,
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    return operation


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the inbound SMS endpoints."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kabinet inbound SMS",
            "version": "1",
            "description": (__doc__ or "").strip(),
        },
        "paths": {
            "/api/sms/v1/inbound": {
                "post": {
                    "operationId": "sms_inbound",
                    "summary": "Входящее SMS на 9002 от агрегатора",
                    "description": (
                        f"`{SIGNATURE_HEADER}: {SIGNATURE_PREFIX}<hex>` is HMAC-SHA256 of the raw "
                        "body with SMS_INBOUND_SECRET. A repeated `message_id` replays the first "
                        'answer with `"replayed": true` and activates nothing twice.'
                    ),
                    "parameters": [
                        {
                            "name": SIGNATURE_HEADER,
                            "in": "header",
                            "required": True,
                            "description": "sha256=<hex HMAC-SHA256 of the raw body>",
                            "schema": {"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/InboundSms"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Processed (or replayed)",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/InboundSmsResult"}
                                }
                            },
                        },
                        "401": _json_error("No signature (`signature_required`)"),
                        "403": _json_error("Wrong signature (`signature_invalid`)"),
                        "422": _json_error("Not JSON, too big, or a field missing or wrong"),
                        "503": _json_error("The secret is not configured (`not_configured`)"),
                    },
                }
            },
            "/api/sms/v1/kannel": {
                "get": _kannel_operation("get"),
                "post": _kannel_operation("post"),
            },
        },
        "components": {
            "schemas": {
                "InboundSms": {
                    "type": "object",
                    "required": ["message_id", "from", "text"],
                    "properties": {
                        "message_id": {
                            "type": ["string", "integer"],
                            "maxLength": 128,
                            "description": "The aggregator's message id: the idempotency key",
                        },
                        "from": {
                            "type": ["string", "integer"],
                            "maxLength": 32,
                            "description": "The sender's phone",
                            "example": "+79161234567",
                        },
                        "to": {
                            "type": ["string", "integer"],
                            "maxLength": 32,
                            "description": "The short number",
                            "example": "9002",
                        },
                        "text": {
                            "type": "string",
                            "description": "The SMS text (the first 1000 characters are read)",
                        },
                    },
                },
                "InboundSmsResult": {
                    "type": "object",
                    "required": ["message_id", "status", "code", "reply", "replayed"],
                    "properties": {
                        "message_id": {"type": "string"},
                        "status": {"type": "string", "enum": ["activated", "rejected"]},
                        "code": {"type": "string"},
                        "reply": {"type": "string"},
                        "replayed": {"type": "boolean"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
            }
        },
    }


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"ensure_ascii": False})
