"""The delivery job: outbox delivery, retries with back-off, giving up, crashes, re-runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kabinet.notifications import tasks
from kabinet.notifications.gateways import GatewayError, Outgoing, get_gateway
from kabinet.notifications.models import Message, Status
from kabinet.notifications.services import notify, retry_message
from kabinet.notifications.tasks import deliver, retry_delay
from kabinet.notifications.testing import run_pending_jobs

pytestmark = pytest.mark.django_db

LATER = timedelta(days=1)


def otp_sms(phone: str = "+79161234567") -> Message:
    return notify(channel="sms", to=phone, template="otp_code", context={"code": "1234"})


class FlakyGateway:
    """Fails the first `failures` sends, then delivers; counts every call."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or GatewayError("provider down")
        self.sent: list[Outgoing] = []
        self.calls = 0

    def send(self, message: Outgoing) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.sent.append(message)
        return f"prov-{self.calls}"


@pytest.fixture
def flaky(monkeypatch) -> FlakyGateway:
    gateway = FlakyGateway(failures=0)
    monkeypatch.setattr(tasks, "get_gateway", lambda channel: gateway)
    return gateway


def test_outbox_delivery_marks_the_message_sent():
    message = otp_sms()

    assert run_pending_jobs() == 1

    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.gateway == "outbox"
    assert message.provider_id == f"outbox-{message.pk}"
    assert message.attempts == 1
    assert message.sent_at is not None
    assert message.next_attempt_at is None
    job = DBTaskResult.objects.get()
    assert job.status == TaskResultStatus.SUCCESSFUL
    assert job.return_value == "sent"


def test_a_job_run_twice_sends_once(flaky):
    message = otp_sms()
    run_pending_jobs()

    assert deliver.call(message.pk) == "skipped"

    assert len(flaky.sent) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)


def test_a_job_for_a_vanished_message_does_nothing(flaky):
    assert deliver.call(123456) == "skipped"
    assert flaky.calls == 0


def test_a_failed_attempt_stays_queued_and_retries_later(flaky):
    flaky.failures = 1
    message = otp_sms()
    before = timezone.now()

    run_pending_jobs()

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.last_error == "provider down"
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.args_kwargs["args"] == [message.pk]
    assert retry.run_after >= before + retry_delay(1)
    assert message.next_attempt_at == retry.run_after
    # Not due yet: a worker running now leaves it alone.
    assert run_pending_jobs() == 0

    assert run_pending_jobs(until=timezone.now() + LATER) == 1

    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == (Status.SENT, 2, "prov-2")
    assert len(flaky.sent) == 1


def test_delivery_gives_up_after_max_attempts(flaky, notify_settings):
    notify_settings(MAX_ATTEMPTS=3)
    flaky.failures = 100
    message = otp_sms()

    assert run_pending_jobs() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)

    # Moving the clock on runs each retry, and the retries they enqueue, until it gives up.
    assert run_pending_jobs(until=timezone.now() + LATER) == 2

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.attempts == 3
    assert flaky.calls == 3
    assert message.last_error == "provider down"
    assert message.next_attempt_at is None
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
    assert run_pending_jobs(until=timezone.now() + LATER) == 0


def test_a_given_up_message_can_be_retried_once_the_gateway_works(flaky, notify_settings):
    notify_settings(MAX_ATTEMPTS=1)
    flaky.failures = 1
    message = otp_sms()
    run_pending_jobs()
    message.refresh_from_db()
    assert message.status == Status.FAILED

    retry_message(message_id=message.pk)
    run_pending_jobs()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)
    assert len(flaky.sent) == 1


def test_a_crash_is_retried_and_visible_in_the_job_result(flaky):
    flaky.failures = 1
    flaky.error = RuntimeError("boom")
    message = otp_sms()

    run_pending_jobs()

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.last_error == "RuntimeError: boom"
    crashed = DBTaskResult.objects.get(status=TaskResultStatus.FAILED)
    assert crashed.exception_class_path == "builtins.RuntimeError"
    assert "boom" in crashed.traceback
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1

    run_pending_jobs(until=timezone.now() + LATER)
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_a_misconfigured_gateway_is_retried_not_lost(notify_settings):
    notify_settings(SMS_GATEWAY="carrier-pigeon")
    message = otp_sms()

    run_pending_jobs()

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert "carrier-pigeon" in message.last_error


def test_a_message_left_sending_by_a_dead_worker_is_taken_over_after_its_lease(flaky):
    message = otp_sms()
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert deliver.call(message.pk) == "skipped"  # still within the first attempt's lease

    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert deliver.call(message.pk) == "sent"

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)


def test_the_periodic_sweep_gives_a_dead_workers_message_a_new_job(flaky):
    """The worker died holding the job row: nothing would ever run it again but the sweep."""
    message = otp_sms()
    DBTaskResult.objects.all().delete()  # the job went down with its worker
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, attempts=1, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )

    assert tasks.sweep_stalled() == 1
    assert run_pending_jobs() == 1

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert tasks.sweep_stalled() == 0


def test_the_sweep_leaves_healthy_messages_alone(flaky):
    otp_sms()  # queued now, its job waiting
    failed = otp_sms("+79161234568")
    Message.objects.filter(pk=failed.pk).update(status=Status.FAILED, next_attempt_at=None)

    assert tasks.sweep_stalled() == 0


def test_the_sweep_is_registered_as_a_periodic_job():
    from kabinet.core import periodic

    assert "notifications.sweep_stalled" in periodic.registered()


def test_retry_delays_grow_exponentially_up_to_a_cap():
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1800,
        1800,
    ]


def test_gateway_registry_follows_settings(notify_settings):
    from kabinet.notifications.gateways.http import PushHttpGateway, VoiceHttpGateway
    from kabinet.notifications.gateways.outbox import OutboxGateway
    from kabinet.notifications.gateways.smtp import SmtpGateway

    assert isinstance(get_gateway("sms"), OutboxGateway)
    notify_settings(EMAIL_GATEWAY="smtp", VOICE_GATEWAY="http", PUSH_GATEWAY="http")
    assert isinstance(get_gateway("email"), SmtpGateway)
    assert isinstance(get_gateway("voice"), VoiceHttpGateway)
    assert isinstance(get_gateway("push"), PushHttpGateway)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_database_lock_is_held_while_the_gateway_talks(monkeypatch):
    """While one run waits on the network, another run of the same job skips at once.

    If the first run held a row lock during the call, the second run's UPDATE would wait
    for it (and the test would time out) instead of returning "skipped".
    """
    entered, release = threading.Event(), threading.Event()

    class SlowGateway:
        def send(self, message: Outgoing) -> str:
            entered.set()
            assert release.wait(10)
            return "slow-1"

    monkeypatch.setattr(tasks, "get_gateway", lambda channel: SlowGateway())
    message = otp_sms()
    outcome: list[str] = []

    def first_run() -> None:
        try:
            outcome.append(deliver.call(message.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=first_run)
    worker.start()
    assert entered.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '2s'")
    assert deliver.call(message.pk) == "skipped"
    release.set()
    worker.join(10)

    assert outcome == ["sent"]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == (Status.SENT, 1, "slow-1")
