"""Small request helpers shared by pages and APIs."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address as the app server saw it.

    Behind a proxy the server is started with the proxy's forwarded-for handling (granian's
    `--respect-proxy-headers` or the proxy sets REMOTE_ADDR); trusting X-Forwarded-For here
    would let any client pick its own rate-limit bucket.
    """
    return request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 — a key, not a bind
