"""Gauges on /metrics: messages by status and the job queue's depth (SPEC X-6)."""

from __future__ import annotations

import pytest

from kabinet.notifications.services import notify
from kabinet.notifications.testing import run_pending_jobs

pytestmark = pytest.mark.django_db


def test_metrics_report_messages_by_status_and_jobs_waiting(client):
    notify(channel="sms", to="+79161234567", template="otp_code", context={"code": "1"})
    run_pending_jobs()
    notify(channel="sms", to="+79161234567", template="otp_code", context={"code": "2"})

    body = client.get("/metrics").content.decode()

    assert 'kabinet_notification_messages{status="sent"} 1.0' in body
    assert 'kabinet_notification_messages{status="queued"} 1.0' in body
    assert 'kabinet_notification_messages{status="failed"} 0.0' in body
    assert 'kabinet_job_queue{status="READY"} 1.0' in body
    assert 'kabinet_job_queue{status="RUNNING"} 0.0' in body
    assert 'kabinet_job_queue{status="FAILED"} 0.0' in body
