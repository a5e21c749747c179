from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone


class Clock:
    """Stands in for django.utils.timezone.now, which the code service and the limits read."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    # 09:00 UTC: the daily windows (UTC days), the 15-minute and the hourly windows all start
    # exactly here, so the seconds left in a window are round numbers.
    c = Clock(datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", c)
    return c
