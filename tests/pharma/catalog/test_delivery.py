"""Delivery dates as a pure rule (SPEC P-ORD-5): exact dates, then properties with hypothesis.

25 November 2026 is a Wednesday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kabinet.pharma.catalog.delivery import (
    Schedule,
    cutoff_at,
    delivery_date,
    delivery_dates,
)

MSK = ZoneInfo("Europe/Moscow")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
MON_WED_FRI = frozenset({1, 3, 5})
# The 2026/27 New Year break as the production calendar has it: 31 December and 1–8 January.
NEW_YEAR = frozenset([date(2026, 12, 31)] + [date(2027, 1, d) for d in range(1, 9)])


def moscow(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


def schedule(**overrides) -> Schedule:
    values = {
        "time_zone": "Europe/Moscow",
        "delivery_weekdays": WEEKDAYS,
        "cutoff": time(16, 0),
        "assembly_days": 0,
        "transit_days": 0,
        "holidays": frozenset(),
    }
    return Schedule(**(values | overrides))


# --- exact dates ----------------------------------------------------------------------------


def test_an_order_before_the_cutoff_leaves_the_same_day():
    assert delivery_date(ordered_at=moscow(2026, 11, 25, 12, 0), schedule=schedule()) == date(
        2026, 11, 25
    )


def test_an_order_exactly_at_the_cutoff_misses_it():
    rule = schedule()
    assert delivery_date(ordered_at=moscow(2026, 11, 25, 16, 0), schedule=rule) == date(
        2026, 11, 26
    )
    just_before = moscow(2026, 11, 25, 15, 59, 59, 999999)
    assert delivery_date(ordered_at=just_before, schedule=rule) == date(2026, 11, 25)


def test_assembly_days_count_working_days_only():
    rule = schedule(assembly_days=2)
    # Wednesday before the cut-off: assembled Thursday and Friday, leaves on Friday.
    assert delivery_date(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=rule) == date(
        2026, 11, 27
    )
    # Thursday before the cut-off: Friday, then the weekend is skipped, Monday.
    assert delivery_date(ordered_at=moscow(2026, 11, 26, 10, 0), schedule=rule) == date(
        2026, 11, 30
    )


def test_transit_days_are_calendar_days():
    rule = schedule(transit_days=2)
    # Leaves Friday, drives over the weekend, arrives Sunday: pharmacies work then.
    assert delivery_date(ordered_at=moscow(2026, 11, 27, 10, 0), schedule=rule) == date(
        2026, 11, 29
    )


def test_a_friday_evening_order_with_monday_wednesday_friday_vans():
    rule = schedule(delivery_weekdays=MON_WED_FRI)
    friday_evening = moscow(2026, 11, 27, 18, 0)
    assert delivery_date(ordered_at=friday_evening, schedule=rule) == date(2026, 11, 30)
    assert cutoff_at(ordered_at=friday_evening, schedule=rule) == moscow(2026, 11, 30, 16, 0)

    # With a day of assembly: Monday's order ships Tuesday, the van goes on Wednesday — and so
    # does Tuesday's order, so the deadline for Wednesday is Tuesday's cut-off.
    rule = schedule(delivery_weekdays=MON_WED_FRI, assembly_days=1)
    assert delivery_date(ordered_at=friday_evening, schedule=rule) == date(2026, 12, 2)
    assert cutoff_at(ordered_at=friday_evening, schedule=rule) == moscow(2026, 12, 1, 16, 0)
    assert delivery_date(ordered_at=moscow(2026, 12, 1, 16, 0), schedule=rule) == date(2026, 12, 4)


def test_a_weekend_order_belongs_to_monday():
    rule = schedule(delivery_weekdays=frozenset({6}))
    # Saturday vans, but a Saturday-morning order is assembled only on Monday.
    assert delivery_date(ordered_at=moscow(2026, 11, 28, 9, 0), schedule=rule) == date(2026, 12, 5)


def test_the_same_instant_is_before_the_cutoff_in_kaliningrad_and_after_it_in_vladivostok():
    instant = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)  # 14:30 and 22:30 local
    kaliningrad = schedule(time_zone="Europe/Kaliningrad", assembly_days=1)
    vladivostok = schedule(time_zone="Asia/Vladivostok", assembly_days=1)
    assert delivery_date(ordered_at=instant, schedule=kaliningrad) == date(2026, 11, 26)
    assert delivery_date(ordered_at=instant, schedule=vladivostok) == date(2026, 11, 27)
    assert cutoff_at(ordered_at=instant, schedule=kaliningrad) == datetime(
        2026, 11, 25, 16, 0, tzinfo=ZoneInfo("Europe/Kaliningrad")
    )
    assert cutoff_at(ordered_at=instant, schedule=vladivostok) == datetime(
        2026, 11, 26, 16, 0, tzinfo=ZoneInfo("Asia/Vladivostok")
    )


def test_the_local_date_not_the_utc_date_decides():
    # 23:30 UTC on Tuesday is already Wednesday 09:30 in Vladivostok.
    rule = schedule(time_zone="Asia/Vladivostok")
    instant = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert delivery_date(ordered_at=instant, schedule=rule) == date(2026, 11, 25)


def test_new_year_holidays():
    late_evening = moscow(2026, 12, 30, 22, 0)
    rule = schedule(
        delivery_weekdays=MON_WED_FRI, assembly_days=1, transit_days=1, holidays=NEW_YEAR
    )
    # Order day Monday 11 January, shipped Tuesday, the van on Wednesday, there on Thursday.
    assert delivery_date(ordered_at=late_evening, schedule=rule) == date(2027, 1, 14)
    assert cutoff_at(ordered_at=late_evening, schedule=rule) == moscow(2027, 1, 12, 16, 0)
    # That morning's order belongs to the 30th, but its day of assembly is the 11th, a Monday:
    # it leaves that day and arrives on Tuesday.
    assert delivery_date(ordered_at=moscow(2026, 12, 30, 10, 0), schedule=rule) == date(2027, 1, 12)


def test_an_arrival_on_a_holiday_moves_to_the_next_day_that_is_not_one():
    rule = schedule(delivery_weekdays=MON_WED_FRI, transit_days=1, holidays=NEW_YEAR)
    # Leaves Wednesday 30 December, would arrive on the 31st: the first free day is Saturday 9th.
    assert delivery_date(ordered_at=moscow(2026, 12, 30, 10, 0), schedule=rule) == date(2027, 1, 9)


def test_no_van_leaves_on_a_holiday():
    rule = schedule(delivery_weekdays=MON_WED_FRI, holidays=frozenset({date(2026, 11, 27)}))
    assert delivery_date(ordered_at=moscow(2026, 11, 26, 10, 0), schedule=rule) == date(
        2026, 11, 30
    )


def test_a_branch_specific_cutoff_time():
    rule = schedule(cutoff=time(11, 30))
    assert delivery_date(ordered_at=moscow(2026, 11, 25, 11, 29), schedule=rule) == date(
        2026, 11, 25
    )
    assert delivery_date(ordered_at=moscow(2026, 11, 25, 11, 30), schedule=rule) == date(
        2026, 11, 26
    )


def test_delivery_dates_offer_the_next_departures():
    rule = schedule(delivery_weekdays=MON_WED_FRI)
    assert delivery_dates(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=rule) == [
        date(2026, 11, 25),
        date(2026, 11, 27),
        date(2026, 11, 30),
    ]
    assert delivery_dates(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=rule, count=1) == [
        date(2026, 11, 25)
    ]


def test_delivery_dates_are_distinct_when_a_holiday_merges_two_arrivals():
    # Monday's van would arrive on Wednesday, a holiday, so on Thursday — as Tuesday's does;
    # no van leaves on the Wednesday holiday; Thursday's arrives on Saturday, Friday's Sunday.
    rule = schedule(
        delivery_weekdays=frozenset(range(1, 8)),
        transit_days=2,
        holidays=frozenset({date(2026, 11, 25)}),
    )
    assert delivery_dates(ordered_at=moscow(2026, 11, 23, 10, 0), schedule=rule) == [
        date(2026, 11, 26),
        date(2026, 11, 28),
        date(2026, 11, 29),
    ]


def test_the_cutoff_today():
    assert cutoff_at(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=schedule()) == moscow(
        2026, 11, 25, 16, 0
    )
    assert cutoff_at(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=schedule()).tzinfo == MSK


# --- refusals -------------------------------------------------------------------------------


def test_a_schedule_without_delivery_weekdays_is_refused():
    with pytest.raises(ValueError, match="at least one delivery weekday"):
        schedule(delivery_weekdays=frozenset())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("delivery_weekdays", frozenset({0, 3}), "ISO weekdays 1..7"),
        ("delivery_weekdays", frozenset({8}), "ISO weekdays 1..7"),
        ("assembly_days", -1, "cannot be negative"),
        ("transit_days", -1, "cannot be negative"),
        ("time_zone", "Europe/Atlantis", "Unknown time zone"),
        ("cutoff", time(16, 0, tzinfo=UTC), "wall-clock time"),
    ],
)
def test_a_malformed_schedule_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        schedule(**{field: value})


def test_a_naive_order_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        delivery_date(ordered_at=datetime(2026, 11, 25, 10, 0), schedule=schedule())


def test_a_year_of_holidays_does_not_loop_forever():
    year = frozenset(date(2026, 11, 25) + timedelta(days=n) for n in range(400))
    rule = schedule(holidays=year)
    with pytest.raises(ValueError, match="No suitable day within 366 days"):
        delivery_date(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=rule)
    with pytest.raises(ValueError):
        cutoff_at(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=rule)


def test_delivery_dates_needs_a_positive_count():
    with pytest.raises(ValueError, match="count"):
        delivery_dates(ordered_at=moscow(2026, 11, 25, 10, 0), schedule=schedule(), count=0)


# --- properties -----------------------------------------------------------------------------

RUSSIAN_ZONES = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
]

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
schedules = st.builds(
    Schedule,
    time_zone=st.sampled_from(RUSSIAN_ZONES),
    delivery_weekdays=st.frozensets(st.integers(1, 7), min_size=1),
    cutoff=st.times(),
    assembly_days=st.integers(0, 5),
    transit_days=st.integers(0, 7),
    holidays=st.frozensets(st.dates(date(2025, 12, 25), date(2028, 3, 1)), max_size=40),
)


def _local_date(instant: datetime, rule: Schedule) -> date:
    return instant.astimezone(ZoneInfo(rule.time_zone)).date()


@settings(max_examples=300)
@given(instant=instants, rule=schedules)
def test_never_before_the_local_order_date_plus_transit_and_never_on_a_holiday(instant, rule):
    day = delivery_date(ordered_at=instant, schedule=rule)
    assert day >= _local_date(instant, rule) + timedelta(days=rule.transit_days)
    assert day not in rule.holidays


@settings(max_examples=300)
@given(instant=instants, rule=schedules.map(lambda s: replace(s, holidays=frozenset())))
def test_without_holidays_the_van_leaves_on_a_delivery_weekday(instant, rule):
    day = delivery_date(ordered_at=instant, schedule=rule)
    departure = day - timedelta(days=rule.transit_days)
    assert departure.isoweekday() in rule.delivery_weekdays
    # And not later than a week after the shipment could first leave.
    earliest = _local_date(instant, rule) + timedelta(days=rule.assembly_days)
    assert departure <= earliest + timedelta(days=7 + 2 * rule.assembly_days + 3)


@settings(max_examples=300)
@given(
    first=instants,
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    rule=schedules,
)
def test_a_later_order_never_gets_an_earlier_date(first, delay, rule):
    assert delivery_date(ordered_at=first, schedule=rule) <= delivery_date(
        ordered_at=first + delay, schedule=rule
    )


@settings(max_examples=300)
@given(instant=instants, rule=schedules)
def test_the_cutoff_is_the_deadline_for_the_promised_date(instant, rule):
    promised = delivery_date(ordered_at=instant, schedule=rule)
    deadline = cutoff_at(ordered_at=instant, schedule=rule)
    assert deadline > instant
    assert deadline.time() == rule.cutoff
    assert delivery_date(ordered_at=deadline - timedelta(microseconds=1), schedule=rule) == (
        promised
    )
    assert delivery_date(ordered_at=deadline, schedule=rule) > promised


@settings(max_examples=200)
@given(instant=instants, rule=schedules, count=st.integers(1, 5))
def test_delivery_dates_start_with_the_nearest_and_increase(instant, rule, count):
    dates = delivery_dates(ordered_at=instant, schedule=rule, count=count)
    assert len(dates) == count
    assert dates[0] == delivery_date(ordered_at=instant, schedule=rule)
    assert all(a < b for a, b in pairwise(dates))
    assert not set(dates) & rule.holidays
