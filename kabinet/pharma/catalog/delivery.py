"""Delivery dates (SPEC P-ORD-5): a pure rule over plain values, no ORM inside.

How a date is found, all in the branch's local time (`Schedule.time_zone`):

1. **Order day.** The warehouse assembles orders Monday to Friday, except holidays (Russian
   wholesale warehouses do not assemble at weekends). An order placed on a working day
   strictly before the cut-off belongs to that day; an order placed exactly at the cut-off
   (16:00:00 with a 16:00 cut-off) or later, or on a weekend or holiday, belongs to the next
   working day.
2. **Shipment day.** The order day plus `assembly_days` working days.
3. **Departure.** The van leaves on the first delivery weekday on or after the shipment day
   that is not a holiday. Delivery weekdays may include Saturday: the vans, not the
   assembly line, decide that.
4. **Arrival.** The departure plus `transit_days` calendar days (vans drive at weekends).
   Nothing is delivered on a holiday, so an arrival that falls on one moves to the next
   day that is not a holiday; weekends are fine, pharmacies work then.

Every step only ever moves forward, so a later order never gets an earlier date. Each
search for a day gives up after `SEARCH_LIMIT_DAYS` with a ValueError (a year of holidays is
a configuration error, not a reason to loop forever).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SEARCH_LIMIT_DAYS = 366
ONE_DAY = timedelta(days=1)
# ISO weekdays the warehouse assembles on: Monday … Friday.
ASSEMBLY_WEEKDAYS = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True)
class Schedule:
    """A branch's delivery schedule for one served city, as plain values."""

    time_zone: str
    delivery_weekdays: frozenset[int]
    cutoff: time
    assembly_days: int = 0
    transit_days: int = 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.delivery_weekdays:
            raise ValueError("A delivery schedule needs at least one delivery weekday.")
        if not all(isinstance(d, int) and 1 <= d <= 7 for d in self.delivery_weekdays):
            raise ValueError(
                f"Delivery weekdays are ISO weekdays 1..7, got {sorted(self.delivery_weekdays)}."
            )
        if self.assembly_days < 0 or self.transit_days < 0:
            raise ValueError("Assembly and transit days cannot be negative.")
        if self.cutoff.tzinfo is not None:
            raise ValueError("The cut-off is a wall-clock time in the branch's time zone.")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown time zone {self.time_zone!r}.") from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_working_day(self, day: date) -> bool:
        """Whether the warehouse assembles orders on this day."""
        return day.isoweekday() in ASSEMBLY_WEEKDAYS and day not in self.holidays

    def is_departure_day(self, day: date) -> bool:
        return day.isoweekday() in self.delivery_weekdays and day not in self.holidays


def _first_day(start: date, accept: Callable[[date], bool]) -> date:
    """The first day on or after `start` that `accept`s, within the search limit."""
    day = start
    for _ in range(SEARCH_LIMIT_DAYS):
        if accept(day):
            return day
        day += ONE_DAY
    raise ValueError(f"No suitable day within {SEARCH_LIMIT_DAYS} days after {start:%Y-%m-%d}.")


def _cutoff_instant(day: date, schedule: Schedule) -> datetime:
    return datetime.combine(day, schedule.cutoff, tzinfo=schedule.tz)


def _order_day(ordered_at: datetime, schedule: Schedule) -> date:
    if ordered_at.tzinfo is None or ordered_at.utcoffset() is None:
        raise ValueError("ordered_at must be an aware datetime.")
    local_day = ordered_at.astimezone(schedule.tz).date()
    # Compared as instants, not wall-clock times, so the rule stays monotone even where a
    # clock is set back.
    if schedule.is_working_day(local_day) and ordered_at < _cutoff_instant(local_day, schedule):
        return local_day
    return _first_day(local_day + ONE_DAY, schedule.is_working_day)


def _departure(order_day: date, schedule: Schedule) -> date:
    shipment = order_day
    for _ in range(schedule.assembly_days):
        shipment = _first_day(shipment + ONE_DAY, schedule.is_working_day)
    return _first_day(shipment, schedule.is_departure_day)


def _arrival(departure: date, schedule: Schedule) -> date:
    return _first_day(
        departure + timedelta(days=schedule.transit_days),
        lambda day: day not in schedule.holidays,
    )


def delivery_date(*, ordered_at: datetime, schedule: Schedule) -> date:
    """The date an order placed at `ordered_at` (aware) arrives; see the module docstring."""
    return _arrival(_departure(_order_day(ordered_at, schedule), schedule), schedule)


def delivery_dates(*, ordered_at: datetime, schedule: Schedule, count: int = 3) -> list[date]:
    """The nearest `count` distinct arrival dates, one per departure, for the cart to offer."""
    if count < 1:
        raise ValueError("count must be at least 1.")
    departure = _departure(_order_day(ordered_at, schedule), schedule)
    dates = [_arrival(departure, schedule)]
    # Bounded: each departure is at least a day later, and a holiday shift can merge only
    # as many arrivals as the search limit allows.
    for _ in range(count * SEARCH_LIMIT_DAYS):
        if len(dates) == count:
            break
        departure = _first_day(departure + ONE_DAY, schedule.is_departure_day)
        arrival = _arrival(departure, schedule)
        if arrival > dates[-1]:
            dates.append(arrival)
    return dates


def cutoff_at(*, ordered_at: datetime, schedule: Schedule) -> datetime:
    """The deadline, in the branch's time zone, for the date `delivery_date` gives now.

    An order placed before this instant arrives on the same date; one placed at it or later
    arrives later. With sparse delivery weekdays that can be a later day's cut-off than
    today's: with Monday/Wednesday/Friday vans, a Monday-evening order and a Tuesday-noon
    order both leave on Wednesday, so the deadline is Tuesday's cut-off.
    """
    day = _order_day(ordered_at, schedule)
    promised = delivery_date(ordered_at=ordered_at, schedule=schedule)
    for _ in range(SEARCH_LIMIT_DAYS):
        following = _first_day(day + ONE_DAY, schedule.is_working_day)
        if _arrival(_departure(following, schedule), schedule) != promised:
            return _cutoff_instant(day, schedule)
        day = following
    raise ValueError(f"The delivery date does not change within {SEARCH_LIMIT_DAYS} days.")
