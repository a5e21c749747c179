"""L-BO-4 reports: points earned and spent per day and region, active members per day.

The queries aggregate in SQL (GROUP BY day, region) and read only the rows of the period;
the rest — filling empty days, totals, chart geometry, CSV — are pure functions over plain
values.

Days: a purchase's points count on the purchase's store-local date (`Purchase.local_date`)
and in its store's region. A manual adjustment has no store: it counts on its date in the
program's time zone (TIME_ZONE) under «без региона», positive ones as earned and negative as
spent. Returns are left out: they are counted on the receipt's own date, which would rewrite
past days; the ledger keeps them.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from kabinet.loyalty.models import LedgerEntry, LedgerKind, Purchase, PurchaseStatus

NO_REGION = "без региона"
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class PointsRow:
    day: date
    region: str
    earned: int  # hundredths of a point
    spent: int

    @property
    def earned_text(self) -> str:
        return points_display(self.earned)

    @property
    def spent_text(self) -> str:
        return points_display(self.spent)


@dataclass(frozen=True, slots=True)
class ActiveRow:
    day: date
    members: int


# --- queries -----------------------------------------------------------------------------------


def _sum_if(condition: Q, value) -> Coalesce:
    return Coalesce(
        Sum(Case(When(condition, then=value), default=Value(0), output_field=IntegerField())),
        Value(0),
    )


def points_by_day_and_region(date_from: date, date_to: date) -> list[PointsRow]:
    """Earned and spent per (day, region) in the period, days ascending, regions by name."""
    from_purchases = (
        LedgerEntry.objects.filter(
            kind__in=[LedgerKind.EARN, LedgerKind.REDEEM],
            purchase__local_date__gte=date_from,
            purchase__local_date__lte=date_to,
        )
        .values(day=F("purchase__local_date"), region=F("purchase__store__region__name_ru"))
        .annotate(
            earned=_sum_if(Q(kind=LedgerKind.EARN), F("amount")),
            spent=_sum_if(Q(kind=LedgerKind.REDEEM), -F("amount")),
        )
        .order_by()
    )
    tz = timezone.get_default_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
    adjustments = (
        LedgerEntry.objects.filter(
            kind=LedgerKind.ADJUST,
            purchase__isnull=True,
            created_at__gte=start,
            created_at__lt=end,
        )
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(
            earned=_sum_if(Q(amount__gt=0), F("amount")),
            spent=_sum_if(Q(amount__lt=0), -F("amount")),
        )
        .order_by()
    )
    rows = [
        PointsRow(r["day"], r["region"], int(r["earned"]), int(r["spent"])) for r in from_purchases
    ]
    rows += [PointsRow(r["day"], NO_REGION, int(r["earned"]), int(r["spent"])) for r in adjustments]
    return sorted(rows, key=lambda r: (r.day, r.region == NO_REGION, r.region))


def active_members_by_day(date_from: date, date_to: date) -> list[ActiveRow]:
    """Members with at least one recorded purchase on each store-local day."""
    rows = (
        Purchase.objects.filter(
            status=PurchaseStatus.COMMITTED, local_date__gte=date_from, local_date__lte=date_to
        )
        .values("local_date")
        .annotate(members=Count("account_id", distinct=True))
        .order_by("local_date")
    )
    return [ActiveRow(r["local_date"], int(r["members"])) for r in rows]


# --- pure helpers ------------------------------------------------------------------------------


def days(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1)]


def regions_of(rows: Iterable[PointsRow]) -> list[str]:
    """Region names in a stable order, «без региона» last."""
    names = {r.region for r in rows}
    return sorted(names - {NO_REGION}) + ([NO_REGION] if NO_REGION in names else [])


def series(
    rows: Sequence[PointsRow], all_days: Sequence[date], measure: str
) -> dict[str, list[int]]:
    """{region: [value per day]} for `measure` "earned" or "spent", zero on empty days."""
    index = {d: i for i, d in enumerate(all_days)}
    out: dict[str, list[int]] = {name: [0] * len(all_days) for name in regions_of(rows)}
    for r in rows:
        if r.day in index:
            out[r.region][index[r.day]] += getattr(r, measure)
    return out


def active_series(rows: Sequence[ActiveRow], all_days: Sequence[date]) -> list[int]:
    by_day = {r.day: r.members for r in rows}
    return [by_day.get(d, 0) for d in all_days]


def totals(rows: Iterable[PointsRow]) -> dict[str, str]:
    """The period's earned and spent, as shown under the table."""
    earned = spent = 0
    for r in rows:
        earned += r.earned
        spent += r.spent
    return {"earned": points_display(earned), "spent": points_display(spent)}


def points_text(hundredths: int) -> str:
    """12345 → "123.45" (a CSV cell: a dot, no grouping)."""
    sign = "-" if hundredths < 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{part:02d}"


def points_display(hundredths: int) -> str:
    """12345678 → "123 456,78" (Russian grouping, for pages)."""
    sign = "−" if hundredths < 0 else ""
    whole, part = divmod(abs(hundredths), 100)
    return f"{sign}{whole:,}".replace(",", "\u202f") + f",{part:02d}"


def points_csv(rows: Iterable[PointsRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Дата", "Регион", "Начислено баллов", "Списано баллов"])
    for r in rows:
        writer.writerow([r.day.isoformat(), r.region, points_text(r.earned), points_text(r.spent)])
    return buffer.getvalue()


def active_csv(rows: Iterable[ActiveRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Дата", "Активных участников"])
    for r in rows:
        writer.writerow([r.day.isoformat(), r.members])
    return buffer.getvalue()


# --- SVG chart geometry ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    text: str


@dataclass
class Chart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    plot_left: int
    plot_right: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def stacked_bars(
    all_days: Sequence[date],
    stacks: dict[str, list[int]],
    *,
    scale: int = 1,
    unit: str = "",
    width: int = 760,
    height: int = 260,
) -> Chart:
    """Bars per day, one segment per series stacked; values divided by `scale` for labels."""
    left, right, top, bottom = 64, width - 12, 12, height - 28
    chart = Chart(width, height, top, bottom, left, right)
    count = max(1, len(all_days))
    day_totals = [sum(s[i] for s in stacks.values()) for i in range(len(all_days))]
    # Four grid steps of a round size in shown units (1, 2 or 5 × 10^k), so every label is
    # a whole number: a day with 2 members gets the scale 0, 1, 2, 3, 4, not 0, 0.5, …
    biggest_units = math.ceil(max(day_totals, default=0) / scale)
    step = _nice_max(math.ceil(biggest_units / 4))
    top_value = 4 * step * scale
    slot = (right - left) / count
    bar_width = max(1.0, slot * 0.7)
    for i, day in enumerate(all_days):
        x = left + i * slot + (slot - bar_width) / 2
        y = float(bottom)
        for n, (name, values) in enumerate(stacks.items()):
            value = values[i]
            if value <= 0:
                continue
            h = (bottom - top) * value / top_value
            y -= h
            shown = value / scale
            title = f"{day:%d.%m.%Y} · {name}: {shown:,.2f}".replace(",", " ") + unit
            chart.bars.append(
                Bar(round(x, 1), round(y, 1), round(bar_width, 1), round(h, 1), f"s{n % 8}", title)
            )
    for k in range(5):
        y = bottom - (bottom - top) * k / 4
        chart.ticks.append(Tick(round(y, 1), f"{k * step:,}".replace(",", " ")))
    every = max(1, round(count / 10))
    for i, day in enumerate(all_days):
        if i % every == 0:
            chart.labels.append(Label(round(left + i * slot + slot / 2, 1), f"{day:%d.%m}"))
    chart.legend = [(f"s{n % 8}", name) for n, name in enumerate(stacks)]
    return chart


def by_day_totals(rows: Iterable[PointsRow]) -> dict[date, dict[str, int]]:
    out: dict[date, dict[str, int]] = defaultdict(lambda: {"earned": 0, "spent": 0})
    for r in rows:
        out[r.day]["earned"] += r.earned
        out[r.day]["spent"] += r.spent
    return dict(out)
