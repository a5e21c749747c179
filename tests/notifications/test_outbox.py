"""The development outbox: /dev/outbox/ and /dev/outbox.json (SPEC §4)."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from django.test import override_settings
from django.urls import Resolver404, clear_url_caches, resolve
from django.utils import timezone

from kabinet.notifications.models import Message
from kabinet.notifications.services import notify, send_raw
from kabinet.notifications.testing import run_pending_jobs

pytestmark = pytest.mark.django_db

ANNA = "+79161234567"
BORIS = "+79031112233"


def code_for(phone: str, code: str) -> Message:
    return notify(channel="sms", to=phone, template="otp_code", context={"code": code})


def test_outbox_json_lists_a_recipients_messages_newest_first(client):
    code_for(ANNA, "1111")
    code_for(BORIS, "2222")
    code_for(ANNA, "3333")
    run_pending_jobs()

    response = client.get("/dev/outbox.json", {"to": ANNA})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    items = response.json()
    assert [item["body"] for item in items] == [
        "Код подтверждения: 3333. Никому не сообщайте его.",
        "Код подтверждения: 1111. Никому не сообщайте его.",
    ]
    first = items[0]
    assert set(first) == {"channel", "to", "subject", "body", "created_at"}
    assert (first["channel"], first["to"], first["subject"]) == ("sms", ANNA, "")
    created = datetime.fromisoformat(first["created_at"])
    assert created.utcoffset() is not None
    assert abs(created - timezone.now()) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "typed", ["+79161234567", "89161234567", "9161234567", "+7 (916) 123-45-67", "8 916 123 45 67"]
)
def test_outbox_json_finds_a_phone_in_any_russian_form(typed, client):
    code_for(ANNA, "1234")
    code_for(BORIS, "9999")

    response = client.get("/dev/outbox.json", {"to": typed})

    assert [item["to"] for item in response.json()] == [ANNA]


def test_outbox_json_matches_email_case_insensitively(client):
    notify(channel="email", to="Anna@Example.ru", template="otp_code", context={"code": "77"})

    items = client.get("/dev/outbox.json", {"to": "ANNA@example.RU"}).json()

    assert [(item["channel"], item["to"], item["subject"]) for item in items] == [
        ("email", "Anna@example.ru", "Код подтверждения")
    ]


def test_outbox_shows_queued_messages_at_once(client):
    code_for(ANNA, "4242")  # no worker has run

    items = client.get("/dev/outbox.json", {"to": ANNA}).json()

    assert items[0]["body"].startswith("Код подтверждения: 4242")


def test_outbox_json_without_a_filter_lists_everything_and_unknown_recipients_get_nothing(client):
    code_for(ANNA, "1")
    code_for(BORIS, "2")

    assert len(client.get("/dev/outbox.json").json()) == 2
    assert client.get("/dev/outbox.json", {"to": "+79990000000"}).json() == []


def test_outbox_page_in_russian_shows_messages_with_their_status(client):
    code_for(ANNA, "5150")
    send_raw(channel="email", to="boris@example.ru", subject="Заказ <собран>", body="Привет & пока")
    run_pending_jobs()
    code_for(ANNA, "6160")  # still queued

    response = client.get("/dev/outbox/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ru">' in page
    assert "<h1>Исходящие сообщения</h1>" in page
    assert "Код подтверждения: 5150. Никому не сообщайте его." in page
    assert "Заказ &lt;собран&gt;" in page  # a page is HTML: escaped here, unlike the SMS text
    assert "Привет &amp; пока" in page
    assert page.count("badge-ok") == 2
    assert "в очереди" in page
    assert page.index("6160") < page.index("5150")


def test_outbox_page_filters_by_recipient_and_keeps_the_csp(client):
    code_for(ANNA, "1111")
    code_for(BORIS, "2222")

    response = client.get("/dev/outbox/", {"to": "8 903 111-22-33"})

    page = response.content.decode()
    assert "2222" in page
    assert "1111" not in page
    assert 'value="8 903 111-22-33"' in page
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "<script>" not in page  # only the static, same-origin outbox.js
    assert "/static/notifications/outbox.js" in page


def test_outbox_page_in_english(client):
    client.cookies["django_language"] = "en"
    response = client.get("/dev/outbox/")
    assert "<h1>Outgoing messages</h1>" in response.content.decode()


def test_outbox_routes_exist_only_while_the_outbox_is_on(client):
    import kabinet.config.urls as urls

    assert resolve("/dev/outbox/").url_name == "outbox"
    try:
        with override_settings(KABINET_OUTBOX=False):
            importlib.reload(urls)
            clear_url_caches()
            with pytest.raises(Resolver404):
                resolve("/dev/outbox/")
            with pytest.raises(Resolver404):
                resolve("/dev/outbox.json")
            assert client.get("/dev/outbox.json").status_code == 404
    finally:
        importlib.reload(urls)
        clear_url_caches()
    assert resolve("/dev/outbox.json").url_name == "outbox-json"
