"""E-mail through a real SMTP server (aiosmtpd on a local port)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kabinet.notifications.models import Message, Status
from kabinet.notifications.services import notify
from kabinet.notifications.tasks import deliver
from kabinet.notifications.testing import run_pending_jobs
from tests.notifications.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_gateway(notify_settings):
    notify_settings(EMAIL_GATEWAY="smtp")


def reset_email(to: str = "anna@example.ru") -> Message:
    return notify(
        channel="email",
        to=to,
        template="password_reset_link",
        context={"url": "https://kabinet.example/reset/Xy7/", "name": "Анна"},
    )


def test_email_reaches_the_smtp_server_with_cyrillic_intact(smtp_gateway, smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "Кабинет <noreply@kabinet.test>"
    message = reset_email()

    assert run_pending_jobs() == 1

    [(envelope_from, envelope_to, received)] = smtp_server.received
    assert envelope_from == "noreply@kabinet.test"
    assert envelope_to == ["anna@example.ru"]
    assert str(received["From"]) == "Кабинет <noreply@kabinet.test>"
    assert str(received["To"]) == "anna@example.ru"
    assert str(received["Subject"]) == "Восстановление пароля"
    body = received.get_content()
    assert "Здравствуйте, Анна!" in body
    assert "https://kabinet.example/reset/Xy7/" in body
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.gateway == "smtp"
    assert message.provider_id == str(received["Message-ID"])


def test_an_email_job_run_twice_sends_one_email(smtp_gateway, smtp_server):
    message = reset_email()
    run_pending_jobs()

    assert deliver.call(message.pk) == "skipped"

    assert len(smtp_server.received) == 1


def test_smtp_server_down_is_retried_then_delivered(smtp_gateway, settings):
    closed = free_port()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed, "timeout": 2},
        }
    }
    message = reset_email()

    run_pending_jobs()

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.last_error.startswith("SMTP: ConnectionRefusedError")
    assert message.next_attempt_at > timezone.now()


def test_smtp_recovery_delivers_on_the_next_attempt(smtp_gateway, smtp_server, settings):
    working = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    message = reset_email()
    run_pending_jobs()
    assert smtp_server.received == []

    settings.MAILERS = working
    run_pending_jobs(until=timezone.now() + timedelta(hours=1))

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert len(smtp_server.received) == 1
