"""L-BO-4 reports: exact numbers for known purchases in two regions on two days, CSV, charts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from kabinet.loyalty.callcentre import reports
from kabinet.loyalty.services.ledger import adjust_points
from kabinet.loyalty.services.purchases import commit_purchase
from tests.loyalty.factories import StaffFactory, StoreFactory, member, receipt, region, terminal

pytestmark = pytest.mark.django_db

DAY1, DAY2 = date(2026, 3, 9), date(2026, 3, 10)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def buy(till, card, kopecks, when, *, redeem=0, number):
    return commit_purchase(
        terminal=till,
        card=card,
        receipt=receipt(kopecks, number=number, at=when),
        redeem=redeem,
        idempotency_key=f"k-{number}",
        now=when + timedelta(minutes=1),
    )


@pytest.fixture
def known():
    """Three members, stores in two regions (one far east, where the local date runs ahead)."""
    west = region("77")
    east = region("25", tz="Asia/Vladivostok")
    west_till, _ = terminal(StoreFactory(region=west))
    east_till, _ = terminal(StoreFactory(region=east, timezone="Asia/Vladivostok"))
    (anna, anna_card), (boris, boris_card), (vera, vera_card) = (member() for _ in range(3))
    staff = StaffFactory()
    # Points for Anna to spend, long before the period.
    adjust_points(
        account=anna,
        amount=50_000,
        reason="стартовые",
        actor=staff,
        at=at(DAY1, 0) - timedelta(days=30),
    )

    buy(west_till, anna_card, 100_000, at(DAY1, 9), number="A1")  # earns 500
    buy(west_till, boris_card, 200_000, at(DAY1, 10), number="B1")  # earns 1000
    # 15:00 UTC on the 9th is 01:00 on the 10th in Vladivostok: it counts on the 10th.
    buy(east_till, vera_card, 60_000, at(DAY1, 15), number="V1")  # earns 300
    buy(west_till, anna_card, 40_000, at(DAY2, 9), redeem=10_000, number="A2")
    buy(east_till, anna_card, 80_000, at(DAY2, 2), number="A3")  # earns 400
    # Support's corrections: «без региона», on their Moscow date.
    adjust_points(account=boris, amount=30_000, reason="компенсация", actor=staff, at=at(DAY2, 12))
    adjust_points(account=boris, amount=-5_000, reason="ошибка", actor=staff, at=at(DAY2, 13))
    # Moscow is UTC+3: 22:30 UTC on the 10th is already the 11th, outside the period.
    adjust_points(
        account=vera,
        amount=7_000,
        reason="позже",
        actor=staff,
        at=at(DAY2, 22) + timedelta(minutes=30),
    )
    return west.name_ru, east.name_ru


def earned_on_a2():
    from kabinet.loyalty.models import Purchase

    return Purchase.objects.get(receipt_number="A2").earned


def test_points_by_day_and_region_are_exact(known):
    west, east = known
    rows = reports.points_by_day_and_region(DAY1, DAY2)
    day2 = sorted([(DAY2, west, earned_on_a2(), 10_000), (DAY2, east, 700, 0)])
    assert [(r.day, r.region, r.earned, r.spent) for r in rows] == [
        (DAY1, west, 1_500, 0),
        *day2,
        (DAY2, reports.NO_REGION, 30_000, 5_000),
    ]
    # 400 RUB, of which 100 paid with points: 0.5 % of the 300 RUB paid in money.
    assert earned_on_a2() == 150


def test_a_single_day(known):
    west, _east = known
    rows = reports.points_by_day_and_region(DAY1, DAY1)
    assert [(r.region, r.earned, r.spent) for r in rows] == [(west, 1_500, 0)]


def test_active_members_per_store_local_day(known):
    assert [(r.day, r.members) for r in reports.active_members_by_day(DAY1, DAY2)] == [
        (DAY1, 2),  # Anna and Boris
        (DAY2, 2),  # Anna (twice) and Vera
    ]


def test_csv_downloads(known, as_supervisor):
    west, east = known
    query = {"date_from": "2026-03-09", "date_to": "2026-03-10"}
    response = as_supervisor.get(reverse("callcentre:reports-points-csv"), query)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="points-2026-03-09-2026-03-10.csv"'
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert table[0] == ["Дата", "Регион", "Начислено баллов", "Списано баллов"]
    assert ["2026-03-09", west, "15.00", "0.00"] in table
    assert ["2026-03-10", west, "1.50", "100.00"] in table
    assert ["2026-03-10", east, "7.00", "0.00"] in table
    assert table[-1] == ["2026-03-10", "без региона", "300.00", "50.00"]
    assert len(table) == 5

    response = as_supervisor.get(reverse("callcentre:reports-active-csv"), query)
    table = list(csv.reader(io.StringIO(response.content.decode()[1:]), delimiter=";"))
    assert table == [["Дата", "Активных участников"], ["2026-03-09", "2"], ["2026-03-10", "2"]]


def test_report_page_draws_charts_and_tables(known, as_supervisor):
    west, _east = known
    response = as_supervisor.get(
        reverse("callcentre:reports"), {"date_from": "2026-03-09", "date_to": "2026-03-10"}
    )
    page = response.content.decode()
    assert page.count("<svg") == 3
    assert "<script" not in page.split("<footer")[0]
    assert 'style="' not in page
    assert f"09.03.2026 · {west}: 15.00" in page
    assert "без региона" in page


def test_bad_period_falls_back_and_says_why(as_supervisor):
    response = as_supervisor.get(
        reverse("callcentre:reports"), {"date_from": "2026-03-10", "date_to": "2026-03-01"}
    )
    assert "Начало периода позже конца" in response.content.decode()


# --- pure helpers ------------------------------------------------------------------------------


def test_series_fills_empty_days_and_puts_no_region_last():
    rows = [
        reports.PointsRow(DAY2, reports.NO_REGION, 5, 1),
        reports.PointsRow(DAY2, "Б", 3, 0),
        reports.PointsRow(DAY1, "А", 2, 0),
    ]
    days = reports.days(DAY1, DAY2 + timedelta(days=1))
    assert reports.series(rows, days, "earned") == {
        "А": [2, 0, 0],
        "Б": [0, 3, 0],
        reports.NO_REGION: [0, 5, 0],
    }


def test_stacked_bars_geometry():
    chart = reports.stacked_bars(
        [DAY1, DAY2], {"А": [100, 0], "Б": [100, 50]}, width=200, height=128
    )
    # Plot from y=12 to y=100 (88 px); the tallest day is 200, the scale's top is 200.
    assert [(b.css, b.y, b.height) for b in chart.bars] == [
        ("s0", 56.0, 44.0),
        ("s1", 12.0, 44.0),
        ("s1", 78.0, 22.0),
    ]
    assert [t.label for t in chart.ticks] == ["0", "50", "100", "150", "200"]
    assert [label.text for label in chart.labels] == ["09.03", "10.03"]


def test_empty_chart_has_a_scale():
    chart = reports.stacked_bars([DAY1], {})
    assert chart.bars == []
    assert [t.label for t in chart.ticks] == ["0", "1", "2", "3", "4"]


def test_scale_of_small_counts_and_of_points():
    assert [t.label for t in reports.stacked_bars([DAY1], {"x": [2]}).ticks] == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    # 1 234,56 points: a step of 500 points, the top at 2 000.
    chart = reports.stacked_bars([DAY1], {"x": [123_456]}, scale=100)
    assert [t.label for t in chart.ticks] == ["0", "500", "1 000", "1 500", "2 000"]


def test_points_text():
    assert [reports.points_text(v) for v in (0, 5, -5, 123_456)] == [
        "0.00",
        "0.05",
        "-0.05",
        "1234.56",
    ]
    assert reports.points_display(-123_456) == "−1\u202f234,56"
