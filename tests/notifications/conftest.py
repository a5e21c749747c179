"""Fixtures for the notifications tests: a real SMTP server, a fake HTTP provider, settings."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def notify_settings(settings) -> Callable[..., dict[str, Any]]:
    """Change KABINET_NOTIFY keys for one test: `notify_settings(EMAIL_GATEWAY="smtp")`."""

    def change(**overrides: Any) -> dict[str, Any]:
        settings.KABINET_NOTIFY = {**settings.KABINET_NOTIFY, **overrides}
        return settings.KABINET_NOTIFY

    return change


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port; MAILERS["default"] points at it."""
    server = SmtpServer(host="127.0.0.1", port=free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": server.host, "port": server.port, "timeout": 5},
        }
    }
    try:
        yield server
    finally:
        controller.stop()


# --- HTTP provider --------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpProvider:
    """A local stand-in for a voice or push provider: records requests, answers as told."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=dict)

    def respond(self, status: int, answer: dict[str, Any] | None = None) -> None:
        self.status = status
        self.answer = answer or {}


@pytest.fixture
def http_provider() -> Iterator[HttpProvider]:
    provider = HttpProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            provider.requests.append(
                Recorded(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
            )
            # A 204 carries no body at all.
            payload = b"" if provider.status == 204 else json.dumps(provider.answer).encode()
            self.send_response(provider.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval: shutdown() waits for the loop to notice.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
