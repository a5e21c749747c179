"""KannelGateway against a real Kannel (bearerbox + smsbox) with fakesmsc as the operator.

No database: the gateway only reads settings and talks HTTP.
"""

import queue
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from kabinet.notifications.gateways.base import GatewayError, Outgoing
from kabinet.notifications.gateways.kannel import KannelGateway, is_gsm7
from tests.notifications.kannel_harness import (  # noqa: F401 - fixtures
    free_ports,
    kannel_factory_fixture,
    kannel_fixture,
)

PHONE = "+79161234567"


def sms(body: str, to: str = PHONE) -> Outgoing:
    return Outgoing(message_id=1, channel="sms", to=to, subject="", body=body)


@pytest.fixture
def gateway(kannel, settings) -> KannelGateway:
    """A KannelGateway configured, as in production, from KABINET_NOTIFY."""
    settings.KABINET_NOTIFY = {**settings.KABINET_NOTIFY, **kannel.notify_settings()}
    return KannelGateway()


# --- end to end through Kannel ----------------------------------------------------------------


@pytest.mark.kannel
def test_russian_text_reaches_the_smsc_as_ucs2(kannel, gateway, settings):
    assert gateway.send(sms("Код подтверждения: 1234")) == ""

    received = kannel.wait_for_mt(to=PHONE)
    assert received.kind == "ucs-2"
    assert received.text == "Код подтверждения: 1234"
    assert received.sender == settings.KABINET_NOTIFY["SMS_SENDER"] == "9002"


@pytest.mark.kannel
def test_latin_text_reaches_the_smsc_as_7bit(kannel, gateway):
    text = "Your code: 1234 (valid 5 min).\nDo not share it @ Kabinet"
    gateway.send(sms(text, to="+79031112233"))

    received = kannel.wait_for_mt(to="+79031112233")
    assert received.kind == "text"
    assert received.text == text
    assert received.sender == "9002"


@pytest.mark.kannel
def test_wrong_password_is_a_gateway_error(kannel):
    gateway = KannelGateway(url=kannel.sendsms_url, username=kannel.username, password="wrong")

    with pytest.raises(GatewayError, match="HTTP 403") as excinfo:
        gateway.send(sms("Код подтверждения: 1234"))
    assert "wrong" not in str(excinfo.value)  # the credentials never reach logs
    assert kannel.mt_messages == []


@pytest.mark.kannel
def test_kannel_down_is_a_gateway_error():
    [closed_port] = free_ports(1)
    gateway = KannelGateway(url=f"http://127.0.0.1:{closed_port}/cgi-bin/sendsms", password="p")

    with pytest.raises(GatewayError, match="unreachable"):
        gateway.send(sms("Код подтверждения: 1234"))


@pytest.mark.kannel
def test_kannel_not_answering_is_a_gateway_error():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/cgi-bin/sendsms"
        gateway = KannelGateway(url=url, password="p", timeout=0.3)

        with pytest.raises(GatewayError, match="timed out"):
            gateway.send(sms("Код подтверждения: 1234"))


class _Recorder(BaseHTTPRequestHandler):
    requests: queue.Queue

    def do_GET(self) -> None:
        self._record()

    def do_POST(self) -> None:
        self._record()

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.requests.put((self.command, self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def sms_app() -> Iterator[tuple[str, queue.Queue]]:
    """A tiny HTTP server standing in for our app's inbound-SMS endpoint: (base URL, requests)."""
    requests: queue.Queue = queue.Queue()
    handler = type("Recorder", (_Recorder,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.kannel
@pytest.mark.parametrize("post", [False, True], ids=["get-url", "post-url"])
def test_mo_sms_reaches_the_app_through_the_sms_service(kannel_factory, sms_app, post):
    base_url, requests = sms_app
    # %b is the text exactly as sent (%a would collapse spaces); mo-recode makes it UTF-8.
    pattern = f"{base_url}/sms/kannel?from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I"
    kannel = kannel_factory(sms_service_url=pattern, sms_service_post=post)
    text = "1234567890123456  Иван; 01.02.1990"

    kannel.inject_mo(PHONE, "9002", text)

    method, path, headers, body = requests.get(timeout=10)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert method == ("POST" if post else "GET")
    assert path.startswith("/sms/kannel?")
    assert query["from"] == [PHONE]
    assert query["to"] == ["9002"]
    assert query["charset"] == ["UTF-8"]
    assert query["text"] == [text]
    assert query["id"][0]  # Kannel's message UUID: the idempotency key
    if post:
        assert headers["X-Kannel-From"] == PHONE
        assert headers["Content-Type"] == 'text/plain; charset="UTF-8"'
        assert body.decode() == text


# --- the gateway's own rules, without Kannel -------------------------------------------------


def test_gsm7_detection():
    assert is_gsm7("Your code: 1234 [valid] €5 {ok} ~ ^ | \\ é ü Ñ ß Δ Ω\n")
    assert not is_gsm7("Код подтверждения: 1234")
    assert not is_gsm7("naïve ç")  # ï is not GSM; only Ç is
    assert not is_gsm7("emoji 🙂")


def _gateway_answering(status: int, body: str, seen: list[httpx.Request]) -> KannelGateway:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=body)

    return KannelGateway(
        url="http://kannel.test/cgi-bin/sendsms",
        username="kabinet",
        password="secret",
        sender="9002",
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize(
    ("body", "coding"),
    [("Код подтверждения: 1234", "2"), ("Code 1234", "0"), ("Price: 5€ [net]", "0")],
)
def test_request_parameters(body, coding):
    seen: list[httpx.Request] = []
    assert _gateway_answering(202, "0: Accepted for delivery", seen).send(sms(body)) == ""

    [request] = seen
    assert request.method == "GET"
    assert "%2B79161234567" in str(request.url)  # "+" encoded, not a space
    assert dict(request.url.params) == {
        "username": "kabinet",
        "password": "secret",
        "from": "9002",
        "to": PHONE,
        "text": body,
        "charset": "UTF-8",
        "coding": coding,
    }


def test_queued_for_later_delivery_is_success():
    assert _gateway_answering(202, "3: Queued for later delivery", []).send(sms("x")) == ""


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (202, "4: Something unexpected"),
        (400, "Missing receiver number"),
        (503, "Sendsms failed"),
        (200, "0: Accepted for delivery"),
    ],
)
def test_other_answers_are_gateway_errors(status, body):
    with pytest.raises(GatewayError, match=f"HTTP {status}"):
        _gateway_answering(status, body, []).send(sms("x"))


@pytest.mark.parametrize("to", ["79161234567", "+7 916 123-45-67", "", "+0123456789"])
def test_a_number_not_in_e164_is_refused_before_sending(to):
    seen: list[httpx.Request] = []
    with pytest.raises(GatewayError, match=r"E\.164"):
        _gateway_answering(202, "0: Accepted for delivery", seen).send(sms("x", to=to))
    assert seen == []
