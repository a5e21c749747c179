"""The development outbox (SPEC §4): every message, readable in the browser and as JSON.

Routed only while settings.KABINET_OUTBOX is on (kabinet/config/urls.py).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kabinet.notifications.models import Message
from kabinet.notifications.selectors import outbox_messages


@never_cache
@require_GET
def outbox_page(request: HttpRequest) -> HttpResponse:
    to = request.GET.get("to", "").strip()
    return render(
        request,
        "notifications/outbox.html",
        {"outbox": outbox_messages(to=to), "to": to},
    )


@never_cache
@require_GET
def outbox_json(request: HttpRequest) -> JsonResponse:
    """Newest first: `[{channel, to, subject, body, created_at}]`, the contract tests read."""
    messages = outbox_messages(to=request.GET.get("to", ""))
    return JsonResponse(
        [_as_json(message) for message in messages],
        safe=False,
        json_dumps_params={"ensure_ascii": False},
    )


def _as_json(message: Message) -> dict[str, str]:
    return {
        "channel": message.channel,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "created_at": timezone.localtime(message.created_at).isoformat(),
    }
