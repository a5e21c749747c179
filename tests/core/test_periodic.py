"""The periodic-job scheduler that `kabinet worker` runs beside the job worker."""

from datetime import timedelta

import pytest

from kabinet.core import periodic

# run_due closes stale database connections after each job, as a long-lived thread must.
pytestmark = pytest.mark.django_db


def test_a_job_runs_when_due_and_again_after_its_interval(monkeypatch):
    monkeypatch.setattr(periodic, "_jobs", {})
    calls = []
    periodic.register("test.tick", every=timedelta(seconds=60), run=lambda: calls.append(1))

    assert periodic.run_due(now=1000.0) == ["test.tick"]
    assert periodic.run_due(now=1059.0) == []
    assert periodic.run_due(now=1060.0) == ["test.tick"]
    assert len(calls) == 2


def test_a_failing_job_does_not_stop_the_others(monkeypatch):
    monkeypatch.setattr(periodic, "_jobs", {})
    calls = []

    def broken():
        raise RuntimeError("boom")

    periodic.register("test.broken", every=timedelta(seconds=1), run=broken)
    periodic.register("test.fine", every=timedelta(seconds=1), run=lambda: calls.append(1))

    assert periodic.run_due(now=5.0) == ["test.fine"]
    assert calls == [1]
