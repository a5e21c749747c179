"""The demo catalog (issue 6): real medicines and makers, made-up barcodes, prices and stock.

`build_products` and `build_offers` are pure and deterministic (one `random.Random(seed)`
each), so the same seed gives the same codes, names, barcodes and prices on any database;
`load_catalog` writes them with bulk inserts and is idempotent: on a database that already
has products it only adds what is missing of the cheap reference data and returns.

Dates: stock expiry is counted from `REFERENCE_DATE`, or from the current month once that
has passed, so a demo started years later still has goods in date. Promotions are the one
thing that follows today: they must be running whenever the demo is opened.
"""

from __future__ import annotations

import calendar
import math
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from typing import NamedTuple, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone

from kabinet.geo.models import City, Region
from kabinet.pharma.catalog.ceilings import MarkupBands, ceiling_kopecks, strictest
from kabinet.pharma.catalog.demo_data import (
    CATEGORIES,
    GENERIC_MAKERS,
    MANUFACTURERS,
    CategoryNode,
    Medicine,
    medicines,
)
from kabinet.pharma.catalog.models import (
    Barcode,
    BranchSchedule,
    Category,
    ControlClass,
    Holiday,
    Manufacturer,
    Offer,
    Price,
    PriceGroup,
    PriceList,
    Product,
    Promotion,
    PromotionKind,
    ServedCity,
    Warehouse,
    WholesaleMarkup,
)
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Branch, Organisation

DEFAULT_PRODUCTS = 20_000
REFERENCE_DATE = date(2026, 12, 1)
MARKUPS_FROM = date(2025, 1, 1)
HEAD_BRANCH = "moscow"
BATCH = 2000
CHAIN_PERCENT = 97  # the chains' list is 3 % below the base one
COLD_DELIVERY = "В термоконтейнере, +2…+8 °C"

# --- maximum wholesale markups on ЖНВЛП, % of the registered price: ≤100 ₽, ≤500 ₽, >500 ₽ ---
# Each region sets its own; these follow the usual pattern: the capitals lowest, the Urals and
# Siberia higher, the North and the Far East higher still for the longer haul.
_MARKUP_TIERS: dict[str, tuple[int, int, int]] = {
    "capital": (18, 14, 10),
    "base": (20, 15, 10),
    "east": (24, 18, 12),
    "north": (30, 25, 15),
    "far_north": (40, 30, 20),
}
_TIER_REGIONS: dict[str, str] = {
    "capital": "77 78 50 47",
    "east": "02 04 19 22 24 38 42 45 54 55 56 59 66 70 72 74",
    "north": "03 10 11 17 25 27 28 29 51 75 79 86",
    "far_north": "14 41 49 65 83 87 89",
}
_MARKUP_TIER_OF: dict[str, str] = {
    code: tier for tier, codes in _TIER_REGIONS.items() for code in codes.split()
}


def markup_percents(region_code: str) -> tuple[Decimal, Decimal, Decimal]:
    """The demo's markups of a region (by its two-digit code), bands in ascending order."""
    tier = _MARKUP_TIERS[_MARKUP_TIER_OF.get(region_code, "base")]
    return (Decimal(tier[0]), Decimal(tier[1]), Decimal(tier[2]))


def strictest_bands(region_codes: Sequence[str]) -> MarkupBands:
    """The lowest markup of each band over the regions: a price within it is legal anywhere."""
    bands = strictest(MarkupBands(*markup_percents(code)) for code in region_codes)
    if bands is None:
        raise ValueError("no regions")
    return bands


# --- official non-working days (Трудовой кодекс ст. 112 and the government's transfers) ---
# Update every year: the government publishes next year's transfers in the autumn. For 2027
# only the days fixed by the Labour Code are here (a holiday on a weekend moves to the next
# working day, except 1–8 January, whose transfers the decree for 2027 will set).
HOLIDAYS: tuple[tuple[date, str], ...] = (
    *((date(2026, 1, d), "Новогодние каникулы") for d in (1, 2, 3, 4, 5, 6, 8)),
    (date(2026, 1, 7), "Рождество Христово"),
    (date(2026, 1, 9), "Перенос выходного дня с 3 января"),
    (date(2026, 2, 23), "День защитника Отечества"),
    (date(2026, 3, 8), "Международный женский день"),
    (date(2026, 3, 9), "Перенос выходного дня с 8 марта"),
    (date(2026, 5, 1), "Праздник Весны и Труда"),
    (date(2026, 5, 9), "День Победы"),
    (date(2026, 5, 11), "Перенос выходного дня с 9 мая"),
    (date(2026, 6, 12), "День России"),
    (date(2026, 11, 4), "День народного единства"),
    (date(2026, 12, 31), "Перенос выходного дня с 4 января"),
    *((date(2027, 1, d), "Новогодние каникулы") for d in (1, 2, 3, 4, 5, 6, 8)),
    (date(2027, 1, 7), "Рождество Христово"),
    (date(2027, 2, 23), "День защитника Отечества"),
    (date(2027, 3, 8), "Международный женский день"),
    (date(2027, 5, 1), "Праздник Весны и Труда"),
    (date(2027, 5, 3), "Перенос выходного дня с 1 мая"),
    (date(2027, 5, 9), "День Победы"),
    (date(2027, 5, 10), "Перенос выходного дня с 9 мая"),
    (date(2027, 6, 12), "День России"),
    (date(2027, 6, 14), "Перенос выходного дня с 12 июня"),
    (date(2027, 11, 4), "День народного единства"),
)


# --- pure helpers ------------------------------------------------------------------------------


def category_path(ids: Sequence[int]) -> str:
    """[1, 4] → "0001.0004.": the ids of the ancestors and the node itself, zero-padded."""
    return "".join(f"{pk:04d}." for pk in ids)


def ean13_check_digit(first12: str) -> str:
    """The EAN-13 check digit of 12 digits (weights 1, 3, 1, 3, … from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _ean13(rng: random.Random) -> str:
    # 460–469: GS1 Russia's prefixes.
    first12 = f"46{rng.randint(0, 9)}{rng.randint(0, 999_999_999):09d}"
    return first12 + ean13_check_digit(first12)


_PACK_COUNT = re.compile(r"№\s*(\d+)\s*$")
_PACK_LADDER = (2, 3, 5, 6, 7, 10, 12, 14, 16, 20, 24, 25, 28, 30, 40, 50, 56, 60, 90, 100, 120)
_VOLUME_LADDER = ("фл. 50 мл", "фл. 100 мл", "фл. 125 мл", "фл. 150 мл", "фл. 200 мл")


def pack_size(pack: str) -> int:
    """Units in a pack: «№20» → 20, «амп. 2 мл №10» → 10, «фл. 100 мл» → 1."""
    found = _PACK_COUNT.search(pack)
    return int(found.group(1)) if found else 1


def _pack_variants(medicine: Medicine) -> tuple[str, ...]:
    """The listed packs, plus for generics the other pack sizes makers actually ship."""
    packs = list(medicine.packs)
    generic = "G" in medicine.flags or len(medicine.makers) > 1
    if not generic:
        return tuple(packs)
    counted = [p for p in packs if _PACK_COUNT.search(p)]
    if counted:
        prefix = _PACK_COUNT.sub("", counted[0])
        sizes = [pack_size(p) for p in counted]
        low, high = max(1, min(sizes) // 2), max(sizes) * 3
        for n in _PACK_LADDER:
            candidate = f"{prefix}№{n}"
            if low <= n <= high and candidate not in packs:
                packs.append(candidate)
    elif any(p.startswith("фл. ") and p.endswith(" мл") for p in packs):
        packs.extend(p for p in _VOLUME_LADDER if p not in packs)
    return tuple(packs)


def _volume(pack: str) -> Decimal | None:
    found = re.search(r"(\d+(?:,\d+)?)\s*(мл|г)\b", pack)
    return Decimal(found.group(1).replace(",", ".")) if found else None


@cache
def _pack_factor(pack: str, reference: str) -> Decimal:
    """How much dearer a pack is than the reference one: sublinear in the content."""
    n, ref = pack_size(pack), pack_size(reference)
    ratio = Decimal(n) / Decimal(ref)
    if n == ref:
        volume, ref_volume = _volume(pack), _volume(reference)
        if volume and ref_volume:
            ratio = volume / ref_volume
    return ratio ** Decimal("0.85") if ratio != 1 else Decimal(1)


def _category_index() -> dict[str, CategoryNode]:
    index: dict[str, CategoryNode] = {}
    stack = list(CATEGORIES)
    while stack:
        node = stack.pop()
        index[node.key] = node
        stack.extend(node.children)
    return index


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """One product as the loader will write it; `category` is a key of the demo tree."""

    code: str
    trade_name: str
    inn_name: str
    form: str
    dosage: str
    pack: str
    pack_size: int
    manufacturer: str
    country: str
    category: str
    description: str
    prescription_only: bool
    jnvlp: bool
    registered_price_kopecks: int | None
    cold_chain: bool
    control_class: str
    vat_percent: int
    order_multiple: int
    delivery_conditions: str
    barcodes: tuple[str, ...]
    base_price_kopecks: int
    chain_price_kopecks: int
    # A line's first maker, dosage and pack: the goods every branch keeps in stock.
    staple: bool


@dataclass(frozen=True, slots=True)
class _Variant:
    medicine: Medicine
    maker: str
    dosage: str
    pack: str
    staple: bool

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        m = self.medicine
        return (m.trade_name, m.form, self.dosage, self.pack, self.maker)


@cache
def _all_variants() -> tuple[tuple[_Variant, ...], tuple[_Variant, ...]]:
    """Every distinct variant: the staples (categories in turn) and the rest, in list order."""
    by_category: dict[str, list[_Variant]] = {}
    rest: list[_Variant] = []
    seen: set[tuple[str, str, str, str, str]] = set()
    for medicine in medicines():
        makers = list(medicine.makers)
        if "G" in medicine.flags:
            makers += [m for m in GENERIC_MAKERS if m not in makers]
        for maker in makers:
            for dosage in medicine.dosages:
                for pack in _pack_variants(medicine):
                    staple = (maker, dosage, pack) == (
                        medicine.makers[0],
                        medicine.dosages[0],
                        medicine.packs[0],
                    )
                    variant = _Variant(medicine, maker, dosage, pack, staple)
                    if variant.key in seen:
                        continue
                    seen.add(variant.key)
                    if staple:
                        by_category.setdefault(medicine.category, []).append(variant)
                    else:
                        rest.append(variant)
    staples: list[_Variant] = []
    queues = list(by_category.values())
    for i in range(max(len(q) for q in queues)):
        staples.extend(q[i] for q in queues if i < len(q))
    return tuple(staples), tuple(rest)


def _variants(rng: random.Random, count: int) -> list[_Variant]:
    """`count` distinct variants: one staple per line first (categories in turn), then a
    shuffled sample of the other maker × dosage × pack combinations."""
    staples, every_other = _all_variants()
    rest = list(every_other)
    rng.shuffle(rest)
    # An even spread: the smallest per-line cap that still fills the count, so that a line
    # with fifteen generic makers does not crowd out the brands.
    wanted = count - len(staples)
    per_line: dict[int, list[_Variant]] = {}
    for variant in rest:
        per_line.setdefault(variant.medicine.line, []).append(variant)
    sizes = sorted(len(v) for v in per_line.values())
    cap = 0
    while wanted > 0 and cap < sizes[-1] and sum(min(cap, n) for n in sizes) < wanted:
        cap += 1
    kept = {id(v) for line in per_line.values() for v in line[:cap]}
    rest = [v for v in rest if id(v) in kept]
    return (list(staples) + rest)[:count]


def _price_with_vat(rng: random.Random, variant: _Variant, maker_factor: Decimal) -> int:
    m = variant.medicine
    dosage_factor = 1 + Decimal("0.4") * m.dosages.index(variant.dosage)
    jitter = Decimal(rng.randint(95, 105)) / 100
    rub = (
        Decimal(m.price_rub)
        * dosage_factor
        * _pack_factor(variant.pack, m.packs[0])
        * maker_factor
        * jitter
    )
    return max(100, int((rub * 100).to_integral_value(rounding=ROUND_FLOOR)))


def _description(spec: ProductSpec, summary: str) -> str:
    parts = [summary] if summary else []
    what = ", ".join(p for p in (spec.form, spec.dosage, spec.pack) if p)
    parts.append(what[:1].upper() + what[1:] + ".")
    parts.append(f"Производитель: {spec.manufacturer} ({spec.country}).")
    if spec.prescription_only:
        parts.append("Отпускается по рецепту.")
    if spec.jnvlp:
        parts.append("Входит в перечень ЖНВЛП.")
    if spec.cold_chain:
        parts.append("Хранить при температуре от +2 до +8 °C.")
    return " ".join(parts)


def _delivery(kind: str, cold: bool, control: str) -> str:
    if cold:
        return COLD_DELIVERY
    if control == ControlClass.PSYCHOTROPIC:
        return "Отдельной накладной, при наличии лицензии на оборот психотропных веществ"
    if control == ControlClass.QUANTITY_ACCOUNTED:
        return "Отдельной накладной (предметно-количественный учёт)"
    if kind == "medicine":
        return "При температуре не выше +25 °C"
    return "В общем порядке"


def build_products(*, products: int, seed: int, bands: MarkupBands) -> list[ProductSpec]:
    """The demo's products, deterministic in (products, seed, bands); pure, no database.

    `bands` are the strictest ЖНВЛП markups: every ЖНВЛП price stays under the ceiling they
    give, so it is legal in every region.
    """
    rng = random.Random(seed)  # noqa: S311 — demo data, not secrets
    countries = dict(MANUFACTURERS)
    categories = _category_index()
    variants = _variants(rng, products)
    variants.sort(key=lambda v: (*v.key[:1], v.key[1], v.key[2], v.key[3], v.key[4]))
    maker_factors: dict[tuple[int, str], Decimal] = {}
    used_barcodes: set[str] = set()
    specs: list[ProductSpec] = []
    for number, variant in enumerate(variants, start=1):
        m = variant.medicine
        node = categories[m.category]
        factor_key = (m.line, variant.maker)
        if factor_key not in maker_factors:
            first = variant.maker == m.makers[0]
            maker_factors[factor_key] = Decimal(1) if first else Decimal(rng.randint(55, 95)) / 100
        raw = _price_with_vat(rng, variant, maker_factors[factor_key])
        vat = node.vat_percent
        jnvlp = "J" in m.flags
        registered: int | None = None
        if jnvlp:
            # Back from a wholesale price with VAT to a registered one without VAT and markup.
            registered = max(100, raw * 100 * 100 // ((100 + vat) * 112))
            ceiling = ceiling_kopecks(
                registered_price_kopecks=registered, bands=bands, vat_percent=vat
            )
            base = max(1, ceiling * rng.randint(950, 995) // 1000)
        else:
            base = raw
        chain = max(1, base * CHAIN_PERCENT // 100)
        barcodes = []
        for _ in range(2 if rng.random() < 0.03 else 1):
            code = _ean13(rng)
            while code in used_barcodes:
                code = _ean13(rng)
            used_barcodes.add(code)
            barcodes.append(code)
        cold = "C" in m.flags
        control = (
            ControlClass.PSYCHOTROPIC
            if "P" in m.flags
            else ControlClass.QUANTITY_ACCOUNTED
            if "K" in m.flags
            else ControlClass.NONE
        )
        multiple = 10 if node.kind != "medicine" and base < 150_00 and rng.random() < 0.3 else 1
        spec = ProductSpec(
            code=f"P{number:07d}",
            trade_name=m.trade_name,
            inn_name=m.inn_name,
            form=m.form,
            dosage=variant.dosage,
            pack=variant.pack,
            pack_size=pack_size(variant.pack),
            manufacturer=variant.maker,
            country=countries[variant.maker],
            category=m.category,
            description="",
            prescription_only="R" in m.flags,
            jnvlp=jnvlp,
            registered_price_kopecks=registered,
            cold_chain=cold,
            control_class=str(control),
            vat_percent=vat,
            order_multiple=multiple,
            delivery_conditions=_delivery(node.kind, cold, control),
            barcodes=tuple(barcodes),
            base_price_kopecks=base,
            chain_price_kopecks=chain,
            staple=variant.staple,
        )
        specs.append(replace(spec, description=_description(spec, node.summary)))
    return specs


# --- stock -------------------------------------------------------------------------------------


def stock_base_date(today: date) -> date:
    """Expiry dates count from here: the fixed reference, or this month once it has passed."""
    return max(REFERENCE_DATE, today.replace(day=1))


def _month_end(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def _series_name(rng: random.Random, expires: date) -> str:
    style = rng.randint(0, 2)
    if style == 0:
        return f"{rng.randint(1, 999_999):06d}"
    if style == 1:
        letters = "".join(rng.choice("ABCEHKMPTX") for _ in range(2))
        return f"{letters}{rng.randint(0, 99_999):05d}"
    made = expires.year - rng.randint(2, 4)
    return f"{rng.randint(1, 12):02d}{made % 100:02d}{rng.randint(1, 999):03d}"


@dataclass(frozen=True, slots=True)
class OfferSpec:
    product_code: str
    warehouse_code: str
    series: str
    expires_on: date
    quantity: int


def build_offers(
    *,
    specs: Sequence[ProductSpec],
    warehouse_codes: Sequence[str],
    head_code: str,
    seed: int,
    base_date: date,
) -> Iterator[OfferSpec]:
    """Stock by series: the head warehouse has nearly everything in 1–3 series, the others
    most staples and about a sixth of the rest in 1–2 series; some series are sold out."""
    rng = random.Random(f"{seed}:offers")  # noqa: S311 — demo data, not secrets
    for spec in specs:
        series: list[tuple[str, date]] = []
        names: set[str] = set()
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            expires = _month_end(base_date, rng.randint(3, 36))
            name = _series_name(rng, expires)
            if name not in names:
                names.add(name)
                series.append((name, expires))
        series.sort(key=lambda s: s[1])
        for warehouse in warehouse_codes:
            if warehouse == head_code:
                if rng.random() >= 0.95:
                    continue
                held = series
            else:
                if rng.random() >= (0.7 if spec.staple else 0.16):
                    continue
                held = series[: rng.choice((1, 1, 2))]
            for name, expires in held:
                quantity = (
                    0 if rng.random() < 0.08 else min(rng.randint(1, 500), rng.randint(1, 500))
                )
                yield OfferSpec(spec.code, warehouse, name, expires, quantity)


# --- loading -----------------------------------------------------------------------------------


def _categories() -> tuple[dict[str, Category], int]:
    existing = {(c.parent_id, c.name): c for c in Category.objects.all()}
    result: dict[str, Category] = {}
    created = 0

    def walk(nodes: Sequence[CategoryNode], parent: Category | None) -> None:
        nonlocal created
        for position, node in enumerate(nodes):
            category = existing.get((parent.pk if parent else None, node.name))
            if category is None:
                category = Category.objects.create(
                    name=node.name, parent=parent, position=position, path=""
                )
                category.path = (parent.path if parent else "") + category_path([category.pk])
                category.save(update_fields=["path"])
                created += 1
            result[node.key] = category
            walk(node.children, category)

    walk(CATEGORIES, None)
    return result, created


def _manufacturers() -> tuple[dict[str, Manufacturer], int]:
    existing = {m.name: m for m in Manufacturer.objects.all()}
    missing = [Manufacturer(name=n, country=c) for n, c in MANUFACTURERS if n not in existing]
    Manufacturer.objects.bulk_create(missing)
    return {m.name: m for m in Manufacturer.objects.all()}, len(missing)


def _markups() -> int:
    have = set(
        WholesaleMarkup.objects.filter(effective_from=MARKUPS_FROM).values_list(
            "region_id", flat=True
        )
    )
    rows = []
    for region in Region.objects.exclude(pk__in=have):
        low, middle, high = markup_percents(region.code)
        rows.append(
            WholesaleMarkup(
                region=region,
                effective_from=MARKUPS_FROM,
                upto_100_percent=low,
                upto_500_percent=middle,
                over_500_percent=high,
            )
        )
    WholesaleMarkup.objects.bulk_create(rows)
    return len(rows)


def _holidays() -> int:
    have = set(Holiday.objects.filter(branch__isnull=True).values_list("day", flat=True))
    rows = [Holiday(day=day, name=name) for day, name in HOLIDAYS if day not in have]
    Holiday.objects.bulk_create(rows)
    return len(rows)


def _warehouses(branches: Sequence[Branch]) -> tuple[list[Warehouse], int]:
    have = set(Warehouse.objects.filter(is_main=True).values_list("branch_id", flat=True))
    rows = [
        Warehouse(
            branch=branch,
            code=f"wh-{branch.code}",
            name=(
                "Центральный склад"
                if branch.code == HEAD_BRANCH
                else f"Склад филиала в г. {branch.city.name_ru}"
            ),
            address=branch.address,
            is_main=True,
        )
        for branch in branches
        if branch.pk not in have
    ]
    Warehouse.objects.bulk_create(rows)
    main = list(
        Warehouse.objects.filter(is_main=True, branch__in=branches).select_related("branch")
    )
    main.sort(key=lambda w: (w.branch.code != HEAD_BRANCH, w.code))
    return main, len(rows)


_WEEKDAY_PATTERNS = ((1, 3, 5), (2, 4), (1, 4), (2, 5), (1, 3), (2, 4, 6), (3, 5), (1, 3, 5))


def _schedules(branches: Sequence[Branch], seed: int) -> int:
    have = set(BranchSchedule.objects.values_list("branch_id", flat=True))
    rows = []
    for branch in branches:
        if branch.pk in have:
            continue
        if branch.code == HEAD_BRANCH:
            days, cutoff, assembly, minimum = [1, 2, 3, 4, 5, 6], time(17), 1, 300_000
        elif branch.code == "spb":
            days, cutoff, assembly, minimum = [1, 2, 3, 4, 5], time(16), 1, 300_000
        else:
            rng = random.Random(f"{seed}:{branch.code}")  # noqa: S311
            days = list(rng.choice(_WEEKDAY_PATTERNS))
            cutoff = time(rng.choice((14, 15, 16)))
            # Orders taken before the cut-off are assembled the next working day: the
            # usual promise «заказ до отсечки — доставка на следующий день».
            assembly = 1
            minimum = rng.choice((500_000, 700_000, 1_000_000))
        rows.append(
            BranchSchedule(
                branch=branch,
                delivery_weekdays=days,
                cutoff=cutoff,
                assembly_days=assembly,
                min_order_kopecks=minimum,
            )
        )
    BranchSchedule.objects.bulk_create(rows)
    return len(rows)


def distance_km(lat1: Decimal, lon1: Decimal, lat2: Decimal, lon2: Decimal) -> float:
    """Great-circle distance: an estimate for transit days, the one place floats are fine."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(a))


def transit_days(km: float, *, own_region: bool) -> int:
    """0 in the branch's own city is decided by the caller; then by distance."""
    if own_region:
        return 1 if km < 150 else 2 if km < 400 else 3
    return min(7, 1 + int(km // 400))


def _served_cities(branches: Sequence[Branch]) -> int:
    served = set(ServedCity.objects.values_list("city_id", flat=True))
    cities = City.objects.exclude(pk__in=served)
    if not branches or not cities.exists():
        return 0
    by_region = {b.region_id: b for b in branches}
    rows = []
    for city in cities.order_by("pk"):
        branch = by_region.get(city.region_id)
        if branch is not None:
            if city.pk == branch.city_id:
                days = 0
            else:
                km = distance_km(city.lat, city.lon, branch.city.lat, branch.city.lon)
                days = transit_days(km, own_region=True)
        else:
            branch, km = min(
                ((b, distance_km(city.lat, city.lon, b.city.lat, b.city.lon)) for b in branches),
                key=lambda pair: (pair[1], pair[0].code),
            )
            days = transit_days(km, own_region=False)
        rows.append(ServedCity(branch=branch, city=city, transit_days=days))
    ServedCity.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _price_lists() -> tuple[PriceList, PriceList, int]:
    created = 0
    base, made = PriceList.objects.get_or_create(
        code="base", defaults={"name": "Базовый прайс-лист", "is_base": True}
    )
    created += made
    chain, made = PriceList.objects.get_or_create(
        code="chain", defaults={"name": "Прайс-лист для аптечных сетей"}
    )
    created += made
    _standard, made = PriceGroup.objects.get_or_create(
        code="standard", defaults={"name": "Аптеки (базовые цены)", "price_list": base}
    )
    created += made
    _chains, made = PriceGroup.objects.get_or_create(
        code="chains", defaults={"name": "Аптечные сети", "price_list": chain}
    )
    created += made
    return base, chain, created


def _insert(model: type[Model], columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Write many rows past the ORM, whose bulk_create spends more time building 200 000
    model instances than the database spends storing them: COPY on PostgreSQL, one
    prepared INSERT run many times on SQLite. Values come adapted by `connection.ops`."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(
        connection.ops.quote_name(str(cast(Field, model._meta.get_field(c)).column))
        for c in columns
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # Table and column names come from the model's meta, quoted; values are parameters.
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH * 5:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _products(
    specs: Sequence[ProductSpec],
    categories: Mapping[str, Category],
    makers: Mapping[str, Manufacturer],
    base: PriceList,
    chain: PriceList,
) -> None:
    now = timezone.now()
    Product.objects.bulk_create(
        (
            Product(
                code=s.code,
                trade_name=s.trade_name,
                inn_name=s.inn_name,
                form=s.form,
                dosage=s.dosage,
                pack=s.pack,
                pack_size=s.pack_size,
                manufacturer=makers[s.manufacturer],
                country=s.country,
                category=categories[s.category],
                description=s.description,
                prescription_only=s.prescription_only,
                jnvlp=s.jnvlp,
                registered_price_kopecks=s.registered_price_kopecks,
                cold_chain=s.cold_chain,
                storage_min_c=2 if s.cold_chain else None,
                storage_max_c=8 if s.cold_chain else None,
                control_class=s.control_class,
                vat_percent=s.vat_percent,
                order_multiple=s.order_multiple,
                delivery_conditions=s.delivery_conditions,
                search_text=search_text_for(
                    trade_name=s.trade_name,
                    inn_name=s.inn_name,
                    manufacturer=s.manufacturer,
                    barcodes=s.barcodes,
                ),
                updated_at=now,
            )
            for s in specs
        ),
        batch_size=BATCH,
    )
    ids = dict(Product.objects.values_list("code", "pk"))
    _insert(
        Barcode,
        ["product", "ean13"],
        ((ids[s.code], code) for s in specs for code in s.barcodes),
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    _insert(
        Price,
        ["price_list", "product", "price_kopecks", "updated_at"],
        (
            (price_list.pk, ids[s.code], amount, stamp)
            for s in specs
            for price_list, amount in ((base, s.base_price_kopecks), (chain, s.chain_price_kopecks))
        ),
    )


def _offers(
    specs: Sequence[ProductSpec], warehouses: Sequence[Warehouse], seed: int, today: date
) -> None:
    ids = dict(Product.objects.values_list("code", "pk"))
    by_code = {w.code: w.pk for w in warehouses}
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    day = connection.ops.adapt_datefield_value
    offers = build_offers(
        specs=specs,
        warehouse_codes=[w.code for w in warehouses],
        head_code=f"wh-{HEAD_BRANCH}",
        seed=seed,
        base_date=stock_base_date(today),
    )
    _insert(
        Offer,
        ["product", "warehouse", "series", "expires_on", "quantity", "reserved", "updated_at"],
        (
            (
                ids[o.product_code],
                by_code[o.warehouse_code],
                o.series,
                day(o.expires_on),
                o.quantity,
                0,
                stamp,
            )
            for o in offers
        ),
    )


class _Promo(NamedTuple):
    title: str
    banner: str
    percent: Decimal | None = None
    amount_kopecks: int | None = None
    trade_names: tuple[str, ...] = ()
    makers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


PROMOTIONS: tuple[_Promo, ...] = (
    _Promo(
        "Сезон простуд: −7 %",
        "Скидка 7 % на средства от простуды, кашля и для горла — до конца акции.",
        percent=Decimal("7"),
        categories=("cold", "throat", "cough"),
    ),
    _Promo(
        "Гедеон Рихтер: −5 % на весь ассортимент",
        "Весь ассортимент «Гедеон Рихтер» со скидкой 5 %.",
        percent=Decimal("5"),
        makers=("Гедеон Рихтер",),
    ),
    _Promo(
        "Но-шпа: 15 ₽ с упаковки",
        "Но-шпа и Но-шпа форте — скидка 15 ₽ с каждой упаковки.",
        amount_kopecks=15_00,
        trade_names=("Но-шпа", "Но-шпа форте"),
    ),
    _Promo(
        "Витамины и минералы −10 %",
        "Готовимся к зиме: витамины и минералы со скидкой 10 %.",
        percent=Decimal("10"),
        categories=("vitamins",),
    ),
    _Promo(
        "Для аптечных сетей: Сандоз −4 %",
        "Специальное предложение для аптечных сетей: препараты «Сандоз» на 4 % дешевле.",
        percent=Decimal("4"),
        makers=("Сандоз",),
        groups=("chains",),
    ),
    _Promo(
        "Арбидол и Кагоцел: 20 ₽ с упаковки",
        "Противовирусные к сезону: Арбидол и Кагоцел — минус 20 ₽ с упаковки.",
        amount_kopecks=20_00,
        trade_names=("Арбидол", "Кагоцел"),
    ),
    _Promo(
        "Шприцы и иглы −12 %",
        "Шприцы, иглы и катетеры со скидкой 12 % при любом объёме заказа.",
        percent=Decimal("12"),
        categories=("syringe",),
    ),
)


def _promotions(today: date, categories: Mapping[str, Category]) -> int:
    # Dated from today, unlike everything else, so that they run whenever the demo is opened.
    starts, ends = today - timedelta(days=10), today + timedelta(days=60)
    have = set(Promotion.objects.values_list("title", flat=True))
    created = 0
    for plan in PROMOTIONS:
        if plan.title in have:
            continue
        promotion = Promotion.objects.create(
            title=plan.title,
            banner_text=plan.banner,
            kind=PromotionKind.PERCENT if plan.percent is not None else PromotionKind.FIXED,
            percent=plan.percent,
            amount_kopecks=plan.amount_kopecks,
            starts_on=starts,
            ends_on=ends,
        )
        if plan.trade_names:
            promotion.products.set(Product.objects.filter(trade_name__in=plan.trade_names))
        if plan.makers:
            promotion.manufacturers.set(Manufacturer.objects.filter(name__in=plan.makers))
        if plan.categories:
            promotion.categories.set([categories[k] for k in plan.categories])
        if plan.groups:
            promotion.price_groups.set(PriceGroup.objects.filter(code__in=plan.groups))
        created += 1
    return created


def _assign_price_groups(price_groups: Mapping[str, str]) -> int:
    changed = 0
    for inn, group_code in price_groups.items():
        group = PriceGroup.objects.get(code=group_code)
        changed += Organisation.objects.filter(inn=inn, price_group__isnull=True).update(
            price_group=group
        )
    return changed


@transaction.atomic
def load_catalog(
    *,
    products: int | None = None,
    seed: int = 2026,
    price_groups: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Create the demo catalog if it is missing; the counts of what the database then holds.

    `products` defaults to the KABINET_DEMO_PRODUCTS setting, else `DEFAULT_PRODUCTS` (the
    test settings keep it small: every test that loads the demo would pay for 20 000).
    `price_groups` maps an organisation's INN to a price group code ("standard", "chains"); an
    organisation that already has a group keeps it. `created` in the result is the number of
    rows this call wrote: 0 on a database that already has everything.
    """
    today = timezone.localdate()
    branches = list(Branch.objects.select_related("city").order_by("code"))
    created = _markups() + _holidays()
    categories, made = _categories()
    created += made
    makers, made = _manufacturers()
    created += made
    warehouses, made = _warehouses(branches)
    created += made
    created += _schedules(branches, seed)
    created += _served_cities(branches)
    base, chain, made = _price_lists()
    created += made
    if not Product.objects.exists():
        bands = strictest_bands(list(Region.objects.values_list("code", flat=True)))
        if products is None:
            products = getattr(settings, "KABINET_DEMO_PRODUCTS", DEFAULT_PRODUCTS)
        specs = build_products(products=products, seed=seed, bands=bands)
        _products(specs, categories, makers, base, chain)
        _offers(specs, warehouses, seed, today)
        created += len(specs)
    created += _promotions(today, categories)
    created += _assign_price_groups(price_groups or {})
    return {
        "products": Product.objects.count(),
        "barcodes": Barcode.objects.count(),
        "prices": Price.objects.count(),
        "offers": Offer.objects.count(),
        "warehouses": Warehouse.objects.count(),
        "categories": Category.objects.count(),
        "manufacturers": Manufacturer.objects.count(),
        "served_cities": ServedCity.objects.count(),
        "promotions": Promotion.objects.count(),
        "markups": WholesaleMarkup.objects.count(),
        "holidays": Holiday.objects.count(),
        "created": created,
    }
