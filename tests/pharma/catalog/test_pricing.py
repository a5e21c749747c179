"""An organisation's prices (SPEC P-CAT-3, P-CAT-4): lists, discounts, promotions, ceilings.

Two organisations: «Здоровье» (put in the «Сети» price group by the tests that need it) and
«Вита» (no group, the base list). A group's list or promotion must never reach «Вита».
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from kabinet.core.errors import ValidationFailed
from kabinet.geo.models import Region
from kabinet.pharma.catalog import pricing
from kabinet.pharma.catalog.ceilings import MarkupBands
from kabinet.pharma.catalog.models import (
    Category,
    Manufacturer,
    Price,
    PriceGroup,
    PriceList,
    Product,
    Promotion,
    PromotionKind,
    WholesaleMarkup,
)
from kabinet.pharma.catalog.pricing import CeilingExceeded, PromotionRef

pytestmark = pytest.mark.django_db

DAY = date(2026, 5, 15)
FIRST_FIVE = {"B-0", "B-1", "B-2", "B-3", "B-4"}
NBSP = "\u00a0"


def _category(name: str, parent: Category | None = None) -> Category:
    node = Category.objects.create(name=name, parent=parent, path="")
    node.path = (parent.path if parent else "") + f"{node.pk:04d}."
    node.save(update_fields=["path"])
    return node


def _product(code: str, name: str, maker: Manufacturer, category: Category, **kw) -> Product:
    return Product.objects.create(
        code=code,
        trade_name=name,
        manufacturer=maker,
        country=maker.country,
        category=category,
        **kw,
    )


@dataclass
class Catalog:
    moscow: Region
    tatarstan: Region
    drugs: Category
    cardio: Category
    statins: Category
    vitamins: Category
    ozon: Manufacturer
    gedeon: Manufacturer
    aspirin: Product  # Озон, Сердечно-сосудистые, base 123,45 ₽
    atorvastatin: Product  # Гедеон Рихтер, Статины, ЖНВЛП registered 250,00 ₽
    enalapril: Product  # ЖНВЛП registered 100,00 ₽, priced 135,00 ₽: over Moscow's ceiling
    ascorbic: Product  # Озон, Витамины, base 12,00 ₽
    unpriced: Product
    base: PriceList
    chains_list: PriceList
    chains: PriceGroup


@pytest.fixture
def catalog(db) -> Catalog:
    moscow = Region.objects.get(code="77")
    tatarstan = Region.objects.get(code="16")
    # Moscow's decision of 2025 replaced an earlier, more generous one.
    WholesaleMarkup.objects.create(
        region=moscow,
        effective_from=date(2024, 1, 1),
        upto_100_percent=Decimal("30"),
        upto_500_percent=Decimal("25"),
        over_500_percent=Decimal("20"),
    )
    WholesaleMarkup.objects.create(
        region=moscow,
        effective_from=date(2025, 1, 1),
        upto_100_percent=Decimal("20"),
        upto_500_percent=Decimal("15"),
        over_500_percent=Decimal("10"),
    )
    WholesaleMarkup.objects.create(
        region=tatarstan,
        effective_from=date(2025, 1, 1),
        upto_100_percent=Decimal("25"),
        upto_500_percent=Decimal("14"),
        over_500_percent=Decimal("12.5"),
    )
    drugs = _category("Лекарственные средства")
    cardio = _category("Сердечно-сосудистые", drugs)
    statins = _category("Статины", cardio)
    vitamins = _category("Витамины", drugs)
    ozon = Manufacturer.objects.create(name="Озон", country="Россия")
    gedeon = Manufacturer.objects.create(name="Гедеон Рихтер", country="Венгрия")
    aspirin = _product("A-1", "Аспирин Кардио", ozon, cardio)
    atorvastatin = _product(
        "A-2", "Аторвастатин", gedeon, statins, jnvlp=True, registered_price_kopecks=250_00
    )
    enalapril = _product(
        "E-1", "Эналаприл", ozon, cardio, jnvlp=True, registered_price_kopecks=100_00
    )
    ascorbic = _product("V-1", "Аскорбиновая кислота", ozon, vitamins)
    unpriced = _product("U-1", "Без цены", ozon, vitamins)
    base = PriceList.objects.create(code="base", name="Базовый", is_base=True)
    chains_list = PriceList.objects.create(code="chains", name="Для сетей", region=moscow)
    chains = PriceGroup.objects.create(code="chains", name="Сети", price_list=chains_list)
    for product, kopecks in [
        (aspirin, 123_45),
        (atorvastatin, 300_00),
        (enalapril, 135_00),
        (ascorbic, 12_00),
    ]:
        Price.objects.create(price_list=base, product=product, price_kopecks=kopecks)
    # The group's list prices only two products; the rest fall back to the base list.
    Price.objects.create(price_list=chains_list, product=aspirin, price_kopecks=110_00)
    Price.objects.create(price_list=chains_list, product=atorvastatin, price_kopecks=290_00)
    return Catalog(
        moscow=moscow,
        tatarstan=tatarstan,
        drugs=drugs,
        cardio=cardio,
        statins=statins,
        vitamins=vitamins,
        ozon=ozon,
        gedeon=gedeon,
        aspirin=aspirin,
        atorvastatin=atorvastatin,
        enalapril=enalapril,
        ascorbic=ascorbic,
        unpriced=unpriced,
        base=base,
        chains_list=chains_list,
        chains=chains,
    )


def _promotion(title: str, *, percent=None, amount=None, starts=DAY, ends=DAY, **targets):
    promotion = Promotion.objects.create(
        title=title,
        kind=PromotionKind.PERCENT if percent is not None else PromotionKind.FIXED,
        percent=Decimal(percent) if percent is not None else None,
        amount_kopecks=amount,
        starts_on=starts,
        ends_on=ends,
        is_active=targets.pop("is_active", True),
    )
    for relation, objects in targets.items():
        getattr(promotion, relation).set(objects)
    return promotion


def _quote(organisation, *products, region=None, day=DAY):
    return pricing.quote_products(
        organisation=organisation, products=list(products), day=day, region=region
    )


def _in_group(pharmacy, group, discount="0"):
    org = pharmacy.organisation
    org.price_group = group
    org.discount_percent = Decimal(discount)
    org.save(update_fields=["price_group", "discount_percent"])
    return org


# --- lists ----------------------------------------------------------------------------------


def test_base_list_for_an_organisation_without_a_group(catalog, other_pharmacy):
    quotes = _quote(other_pharmacy.organisation, catalog.aspirin, catalog.ascorbic)
    assert quotes == {
        catalog.aspirin.pk: pricing.PriceQuote(
            product_id=catalog.aspirin.pk,
            list_price_kopecks=123_45,
            price_kopecks=123_45,
            discount_kopecks=0,
            promotion=None,
            organisation_discount_applied=False,
            ceiling_kopecks=None,
            violation=None,
        ),
        catalog.ascorbic.pk: pricing.PriceQuote(
            product_id=catalog.ascorbic.pk,
            list_price_kopecks=12_00,
            price_kopecks=12_00,
            discount_kopecks=0,
            promotion=None,
            organisation_discount_applied=False,
            ceiling_kopecks=None,
            violation=None,
        ),
    }


def test_group_list_falls_back_to_base_and_reaches_only_its_own_organisation(
    catalog, pharmacy, other_pharmacy
):
    org = _in_group(pharmacy, catalog.chains)
    products = (catalog.aspirin, catalog.atorvastatin, catalog.ascorbic, catalog.unpriced)
    mine = _quote(org, *products, region=catalog.moscow)
    assert {pk: q.list_price_kopecks for pk, q in mine.items()} == {
        catalog.aspirin.pk: 110_00,
        catalog.atorvastatin.pk: 290_00,
        catalog.ascorbic.pk: 12_00,  # not in the group's list: the base price
    }
    theirs = _quote(other_pharmacy.organisation, *products, region=catalog.moscow)
    assert {pk: q.list_price_kopecks for pk, q in theirs.items()} == {
        catalog.aspirin.pk: 123_45,
        catalog.atorvastatin.pk: 300_00,
        catalog.ascorbic.pk: 12_00,
    }


def test_nothing_to_quote(catalog, pharmacy):
    assert _quote(pharmacy.organisation) == {}
    assert _quote(pharmacy.organisation, catalog.unpriced) == {}


def test_no_base_list_and_no_group_means_no_prices(catalog, pharmacy):
    PriceList.objects.filter(pk=catalog.base.pk).update(is_base=False)
    assert _quote(pharmacy.organisation, catalog.aspirin) == {}


# --- discounts and promotions ---------------------------------------------------------------


def test_organisation_discount_rounds_half_up(catalog, pharmacy):
    org = _in_group(pharmacy, None, discount="10")
    quote = _quote(org, catalog.aspirin)[catalog.aspirin.pk]
    # 123,45 × 10 % = 12,345 → 12,35 ₽ off.
    assert (quote.discount_kopecks, quote.price_kopecks) == (12_35, 111_10)
    assert quote.organisation_discount_applied is True
    assert quote.promotion is None


def test_promotion_and_organisation_discount_do_not_stack_the_larger_wins(catalog, pharmacy):
    promo = _promotion("Кардиомесяц", percent="10", products=[catalog.aspirin])
    org = _in_group(pharmacy, None, discount="5")
    quote = _quote(org, catalog.aspirin)[catalog.aspirin.pk]
    assert quote.promotion == PromotionRef(id=promo.pk, title="Кардиомесяц")
    assert quote.organisation_discount_applied is False
    assert (quote.discount_kopecks, quote.price_kopecks) == (12_35, 111_10)

    org = _in_group(pharmacy, None, discount="12")
    quote = _quote(org, catalog.aspirin)[catalog.aspirin.pk]
    assert quote.promotion is None
    assert quote.organisation_discount_applied is True
    # 123,45 × 12 % = 14,814 → 14,81 ₽.
    assert (quote.discount_kopecks, quote.price_kopecks) == (14_81, 108_64)


def test_a_tie_goes_to_the_promotion(catalog, pharmacy):
    promo = _promotion("Десять процентов", percent="10", products=[catalog.ascorbic])
    org = _in_group(pharmacy, None, discount="10")
    quote = _quote(org, catalog.ascorbic)[catalog.ascorbic.pk]
    assert quote.promotion == PromotionRef(id=promo.pk, title="Десять процентов")
    assert quote.organisation_discount_applied is False
    assert quote.price_kopecks == 10_80


def test_the_best_of_several_promotions(catalog, other_pharmacy):
    _promotion("Озон −5 %", percent="5", manufacturers=[catalog.ozon])
    best = _promotion("Аспирин −15 ₽", amount=15_00, products=[catalog.aspirin])
    _promotion("Кардио −7 %", percent="7", categories=[catalog.cardio])
    quote = _quote(other_pharmacy.organisation, catalog.aspirin)[catalog.aspirin.pk]
    assert quote.promotion == PromotionRef(id=best.pk, title="Аспирин −15 ₽")
    assert (quote.discount_kopecks, quote.price_kopecks) == (15_00, 108_45)


def test_promotion_by_manufacturer(catalog, other_pharmacy):
    promo = _promotion("Озон", percent="20", manufacturers=[catalog.ozon])
    quotes = _quote(other_pharmacy.organisation, catalog.aspirin, catalog.atorvastatin)
    assert quotes[catalog.aspirin.pk].promotion == PromotionRef(id=promo.pk, title="Озон")
    assert quotes[catalog.aspirin.pk].price_kopecks == 98_76  # 123,45 − 24,69
    assert quotes[catalog.atorvastatin.pk].promotion is None


def test_promotion_on_a_category_covers_its_subtree_only(catalog, other_pharmacy):
    promo = _promotion("Сердце", percent="10", categories=[catalog.cardio])
    products = (catalog.aspirin, catalog.atorvastatin, catalog.ascorbic)
    quotes = _quote(other_pharmacy.organisation, *products)
    ref = PromotionRef(id=promo.pk, title="Сердце")
    assert quotes[catalog.aspirin.pk].promotion == ref  # in the category itself
    assert quotes[catalog.atorvastatin.pk].promotion == ref  # in a child category
    assert quotes[catalog.atorvastatin.pk].price_kopecks == 270_00
    assert quotes[catalog.ascorbic.pk].promotion is None  # a sibling category


def test_promotion_on_the_root_category_covers_everything(catalog, other_pharmacy):
    _promotion("Всё", percent="1", categories=[catalog.drugs])
    quotes = _quote(other_pharmacy.organisation, catalog.aspirin, catalog.ascorbic)
    assert all(q.promotion is not None for q in quotes.values())


def test_promotion_for_a_price_group_reaches_only_that_group(catalog, pharmacy, other_pharmacy):
    promo = _promotion(
        "Сетям", percent="10", products=[catalog.ascorbic], price_groups=[catalog.chains]
    )
    org = _in_group(pharmacy, catalog.chains)
    assert _quote(org, catalog.ascorbic)[catalog.ascorbic.pk].promotion == PromotionRef(
        id=promo.pk, title="Сетям"
    )
    theirs = _quote(other_pharmacy.organisation, catalog.ascorbic)[catalog.ascorbic.pk]
    assert theirs.promotion is None
    assert theirs.price_kopecks == 12_00
    other_group = PriceGroup.objects.create(code="small", name="Малые", price_list=catalog.base)
    org = _in_group(pharmacy, other_group)
    assert _quote(org, catalog.ascorbic)[catalog.ascorbic.pk].promotion is None


@pytest.mark.parametrize(
    ("starts", "ends", "active", "applies"),
    [
        (DAY - timedelta(days=10), DAY - timedelta(days=1), True, False),  # over
        (DAY + timedelta(days=1), DAY + timedelta(days=10), True, False),  # not yet
        (DAY - timedelta(days=10), DAY + timedelta(days=10), False, False),  # switched off
        (DAY, DAY + timedelta(days=10), True, True),  # its first day
        (DAY - timedelta(days=10), DAY, True, True),  # its last day
    ],
)
def test_only_running_active_promotions(catalog, other_pharmacy, starts, ends, active, applies):
    _promotion(
        "Когда-то", percent="10", starts=starts, ends=ends, is_active=active,
        products=[catalog.aspirin],
    )  # fmt: skip
    quote = _quote(other_pharmacy.organisation, catalog.aspirin)[catalog.aspirin.pk]
    assert (quote.promotion is not None) is applies
    banners = pricing.running_promotions(organisation=other_pharmacy.organisation, day=DAY)
    assert bool(banners) is applies


def test_a_fixed_promotion_never_takes_the_price_to_zero(catalog, other_pharmacy):
    _promotion("Даром", amount=50_00, products=[catalog.ascorbic])
    quote = _quote(other_pharmacy.organisation, catalog.ascorbic)[catalog.ascorbic.pk]
    assert (quote.price_kopecks, quote.discount_kopecks) == (1, 11_99)


def test_discount_arithmetic_edges():
    assert pricing.percent_discount_kopecks(list_price_kopecks=1, percent=Decimal("99.99")) == 0
    assert pricing.percent_discount_kopecks(list_price_kopecks=3, percent=Decimal("50")) == 2
    assert pricing.percent_discount_kopecks(list_price_kopecks=5, percent=Decimal("10")) == 1
    assert pricing.percent_discount_kopecks(list_price_kopecks=4, percent=Decimal("10")) == 0
    assert pricing.fixed_discount_kopecks(list_price_kopecks=100, amount_kopecks=100) == 99
    assert pricing.fixed_discount_kopecks(list_price_kopecks=100, amount_kopecks=30) == 30


def test_running_promotions_for_banners(catalog, pharmacy, other_pharmacy):
    banner = _promotion("Весна", percent="3", ends=DAY + timedelta(days=30))
    group_only = _promotion("Сетям", percent="10", price_groups=[catalog.chains])
    _promotion("Прошла", percent="10", starts=DAY - timedelta(days=9), ends=DAY - timedelta(1))
    org = _in_group(pharmacy, catalog.chains)
    assert pricing.running_promotions(organisation=org, day=DAY) == [group_only, banner]
    assert pricing.running_promotions(organisation=other_pharmacy.organisation, day=DAY) == [banner]


# --- ЖНВЛП ceilings -------------------------------------------------------------------------


def test_ceiling_violation_is_reported_with_the_reason(catalog, other_pharmacy):
    quote = _quote(other_pharmacy.organisation, catalog.enalapril, region=catalog.moscow)[
        catalog.enalapril.pk
    ]
    # 100,00 × 1,20 × 1,10 = 132,00 ₽ in Moscow; the list says 135,00 ₽.
    assert quote.ceiling_kopecks == 132_00
    assert quote.violation == (
        f"Цена 135,00{NBSP}₽ выше предельной 132,00{NBSP}₽: зарегистрированная цена "
        f"100,00{NBSP}₽ + надбавка 20{NBSP}% + НДС 10{NBSP}%"
    )


def test_ceiling_by_region_and_the_strictest_without_one(catalog, other_pharmacy):
    org = other_pharmacy.organisation
    kazan = _quote(org, catalog.enalapril, catalog.atorvastatin, region=catalog.tatarstan)
    # 100,00 × 1,25 × 1,10 = 137,50 ₽: 135,00 ₽ is legal in Tatarstan.
    assert kazan[catalog.enalapril.pk].ceiling_kopecks == 137_50
    assert kazan[catalog.enalapril.pk].violation is None
    # 250,00 × 1,14 × 1,10 = 313,50 ₽.
    assert kazan[catalog.atorvastatin.pk].ceiling_kopecks == 313_50
    nowhere = _quote(org, catalog.enalapril, catalog.atorvastatin)
    # The smallest markups of both regions: 20 % up to 100 ₽, 14 % up to 500 ₽.
    assert nowhere[catalog.enalapril.pk].ceiling_kopecks == 132_00
    assert nowhere[catalog.enalapril.pk].violation is not None
    assert nowhere[catalog.atorvastatin.pk].ceiling_kopecks == 313_50
    # A region whose decision was never entered is held to the strictest too.
    unknown = Region.objects.get(code="50")
    elsewhere = _quote(org, catalog.enalapril, region=unknown)[catalog.enalapril.pk]
    assert elsewhere.ceiling_kopecks == 132_00
    # Non-ЖНВЛП goods have no ceiling.
    assert (
        _quote(org, catalog.aspirin, region=catalog.moscow)[catalog.aspirin.pk]
        == (_quote(org, catalog.aspirin)[catalog.aspirin.pk])
    )
    assert _quote(org, catalog.aspirin)[catalog.aspirin.pk].ceiling_kopecks is None


def test_markups_in_force_on_the_day(catalog, other_pharmacy):
    org = other_pharmacy.organisation
    before = _quote(org, catalog.enalapril, region=catalog.moscow, day=date(2024, 12, 31))
    # The 2024 decision: 30 % → 143,00 ₽, and 135,00 ₽ was legal then.
    assert before[catalog.enalapril.pk].ceiling_kopecks == 143_00
    assert before[catalog.enalapril.pk].violation is None
    on = _quote(org, catalog.enalapril, region=catalog.moscow, day=date(2025, 1, 1))
    assert on[catalog.enalapril.pk].ceiling_kopecks == 132_00
    # Before any decision at all there is no known ceiling.
    early = _quote(org, catalog.enalapril, region=catalog.moscow, day=date(2023, 12, 31))
    assert early[catalog.enalapril.pk].ceiling_kopecks is None
    assert early[catalog.enalapril.pk].violation is None


def test_the_final_price_is_what_is_checked(catalog, pharmacy):
    org = _in_group(pharmacy, None, discount="5")
    quote = _quote(org, catalog.enalapril, region=catalog.moscow)[catalog.enalapril.pk]
    # 135,00 − 6,75 = 128,25 ₽ ≤ 132,00 ₽.
    assert quote.price_kopecks == 128_25
    assert quote.violation is None


def test_queries_do_not_grow_with_products(catalog, pharmacy, django_assert_max_num_queries):
    maker = Manufacturer.objects.create(name="Фармстандарт", country="Россия")
    products = [
        _product(f"B-{i}", f"Товар {i}", maker, catalog.statins, jnvlp=i % 2 == 0,
                 registered_price_kopecks=(100_00 + i) if i % 2 == 0 else None)
        for i in range(40)
    ]  # fmt: skip
    for i, product in enumerate(products):
        Price.objects.create(price_list=catalog.base, product=product, price_kopecks=90_00 + i)
    _promotion("Фармстандарт", percent="3", manufacturers=[maker])
    _promotion("Статины", percent="4", categories=[catalog.statins])
    _promotion("Один", amount=10_00, products=products[:5])
    org = _in_group(pharmacy, catalog.chains, discount="2")
    org.refresh_from_db()  # the group is not cached on the instance
    products = list(Product.objects.filter(code__startswith="B-"))
    with django_assert_max_num_queries(4):
        quotes = _quote(org, *products, region=catalog.moscow)
    assert len(quotes) == 40
    by_code = {p.code: p for p in products}
    titles = {q.product_id: q.promotion.title for q in quotes.values() if q.promotion}
    assert titles == {p.pk: "Один" if p.code in FIRST_FIVE else "Статины" for p in products}
    # 90,00 ₽ × 4 % = 3,60 ₽ beats the organisation's 2 % = 1,80 ₽.
    assert quotes[by_code["B-10"].pk].price_kopecks == 90_10 - 3_60
    # ЖНВЛП at 100,00 ₽ registered: 132,00 ₽ ceiling in Moscow.
    assert quotes[by_code["B-0"].pk].ceiling_kopecks == 132_00
    assert quotes[by_code["B-1"].pk].ceiling_kopecks is None


# --- set_price ------------------------------------------------------------------------------


def test_set_price_creates_and_updates(catalog):
    price = pricing.set_price(
        price_list=catalog.chains_list, product=catalog.ascorbic, price_kopecks=11_50, day=DAY
    )
    assert (price.price_list_id, price.product_id, price.price_kopecks) == (
        catalog.chains_list.pk,
        catalog.ascorbic.pk,
        11_50,
    )
    pricing.set_price(
        price_list=catalog.chains_list, product=catalog.ascorbic, price_kopecks=11_00, day=DAY
    )
    rows = Price.objects.filter(product=catalog.ascorbic).order_by("price_list__code")
    assert list(rows.values_list("price_list__code", "price_kopecks")) == [
        ("base", 12_00),
        ("chains", 11_00),
    ]


def test_set_price_refuses_over_the_ceiling_and_changes_nothing(catalog):
    # The group's list is Moscow's: 100,00 × 1,20 × 1,10 = 132,00 ₽.
    Price.objects.create(
        price_list=catalog.chains_list, product=catalog.enalapril, price_kopecks=130_00
    )
    before = list(Price.objects.order_by("pk").values_list("pk", "price_kopecks", "updated_at"))
    with pytest.raises(CeilingExceeded) as refused:
        pricing.set_price(
            price_list=catalog.chains_list, product=catalog.enalapril, price_kopecks=132_01, day=DAY
        )
    assert refused.value.code == "price_over_ceiling"
    assert refused.value.field == "price_kopecks"
    assert refused.value.message == (
        f"Цена 132,01{NBSP}₽ выше предельной 132,00{NBSP}₽: зарегистрированная цена "
        f"100,00{NBSP}₽ + надбавка 20{NBSP}% + НДС 10{NBSP}%"
    )
    assert (
        list(Price.objects.order_by("pk").values_list("pk", "price_kopecks", "updated_at"))
        == before
    )
    price = pricing.set_price(
        price_list=catalog.chains_list, product=catalog.enalapril, price_kopecks=132_00, day=DAY
    )
    assert price.price_kopecks == 132_00


def test_set_price_uses_the_list_region_or_the_strictest(catalog):
    kazan_list = PriceList.objects.create(code="kazan", name="Казань", region=catalog.tatarstan)
    price = pricing.set_price(
        price_list=kazan_list, product=catalog.enalapril, price_kopecks=137_50, day=DAY
    )
    assert price.price_kopecks == 137_50
    # The base list has no region: the strictest markups (Moscow's 20 %) apply.
    with pytest.raises(CeilingExceeded):
        pricing.set_price(
            price_list=catalog.base, product=catalog.enalapril, price_kopecks=137_50, day=DAY
        )
    assert Price.objects.get(price_list=catalog.base, product=catalog.enalapril).price_kopecks == (
        135_00
    )


def test_set_price_refuses_a_non_positive_price(catalog):
    with pytest.raises(ValidationFailed):
        pricing.set_price(
            price_list=catalog.base, product=catalog.aspirin, price_kopecks=0, day=DAY
        )
    assert Price.objects.get(price_list=catalog.base, product=catalog.aspirin).price_kopecks == (
        123_45
    )


def test_any_price_for_goods_outside_jnvlp(catalog):
    price = pricing.set_price(
        price_list=catalog.base, product=catalog.aspirin, price_kopecks=9_999_99, day=DAY
    )
    assert price.price_kopecks == 9_999_99


def test_check_price_for_list_with_preloaded_markups_makes_no_queries(
    catalog, django_assert_num_queries
):
    with django_assert_num_queries(1):
        markups = pricing.load_markups(DAY)
    assert markups == {
        catalog.moscow.pk: MarkupBands(Decimal("20"), Decimal("15"), Decimal("10")),
        catalog.tatarstan.pk: MarkupBands(Decimal("25"), Decimal("14"), Decimal("12.5")),
    }
    assert pricing.strictest_bands(markups) == MarkupBands(
        Decimal("20"), Decimal("14"), Decimal("10")
    )
    with django_assert_num_queries(0):
        ok = pricing.check_price_for_list(
            price_list=catalog.chains_list,
            product=catalog.enalapril,
            price_kopecks=132_00,
            day=DAY,
            bands_cache=markups,
        )
        refused = pricing.check_price_for_list(
            price_list=catalog.base,
            product=catalog.atorvastatin,
            price_kopecks=313_51,
            day=DAY,
            bands_cache=markups,
        )
        plain = pricing.check_price_for_list(
            price_list=catalog.base,
            product=catalog.aspirin,
            price_kopecks=1_000_000_00,
            day=DAY,
            bands_cache=markups,
        )
    assert ok is None
    assert refused == (
        f"Цена 313,51{NBSP}₽ выше предельной 313,50{NBSP}₽: зарегистрированная цена "
        f"250,00{NBSP}₽ + надбавка 14{NBSP}% + НДС 10{NBSP}%"
    )
    assert plain is None
