"""Health, readiness and metrics endpoints (SPEC X-6)."""

import json
import logging

import pytest

from kabinet.core.logging import JsonFormatter

pytestmark = pytest.mark.django_db


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_readyz_reports_unapplied_migrations(client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("x", False)])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 pending"


def test_metrics_count_requests_by_route(client):
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    assert 'kabinet_http_requests_total{method="GET",route="healthz",status="200"}' in body
    assert "kabinet_http_request_duration_seconds_bucket" in body


def test_json_log_lines_carry_extra_fields():
    record = logging.makeLogRecord(
        {
            "name": "kabinet.test",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "привет %s",
            "args": ("мир",),
            "order_id": 42,
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["msg"] == "привет мир"
    assert entry["order_id"] == 42
    assert entry["level"] == "info"
