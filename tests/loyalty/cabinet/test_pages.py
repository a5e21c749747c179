"""Cabinet pages (L-CAB-1…4, 7, 9, 11): what a member sees, with exact numbers."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kabinet.geo.models import Region
from kabinet.loyalty import cabinet
from kabinet.loyalty.models import PersonalOffer, PremiumGood, PromoGood
from kabinet.loyalty.web import cabinet_views
from tests.loyalty import factories
from tests.loyalty.cabinet.conftest import city

pytestmark = pytest.mark.django_db

NBSP, NNBSP = "\u00a0", "\u202f"

PAGES = [
    "/cabinet/",
    "/cabinet/receipts/",
    "/cabinet/chart/",
    "/cabinet/profile/",
    "/cabinet/notifications/",
    "/cabinet/offers/",
    "/cabinet/card/",
    "/cabinet/card/code.json",
    "/cabinet/stores/",
    "/cabinet/stores/near.json?lat=55.75&lon=37.61",
    "/cabinet/data/",
    "/cabinet/data/export.json",
]


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_format_points_is_russian():
    assert cabinet.format_points(57625) == f"576,25{NBSP}балла"
    assert cabinet.format_points(100) == f"1{NBSP}балл"
    assert cabinet.format_points(300) == f"3{NBSP}балла"
    assert cabinet.format_points(1100) == f"11{NBSP}баллов"
    assert cabinet.format_points(123456700) == f"1{NNBSP}234{NNBSP}567{NBSP}баллов"
    assert cabinet.format_points(-250) == f"−2,50{NBSP}балла"


@pytest.mark.parametrize("url", PAGES)
def test_every_page_needs_a_signed_in_member(url, world):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_every_page_opens_for_the_member(url, world):
    assert world.anna.client.get(url).status_code == 200


def test_home_shows_balance_this_month_and_level(world):
    summary = cabinet.cabinet_summary(world.anna.account, date(2026, 5, 20))
    assert (summary.balance, summary.held, summary.month_spend) == (1497, 0, 50000)
    assert (summary.month_receipts, summary.month_counted_lines) == (1, 1)
    assert summary.level.current.name == "Базовый"
    assert summary.level.next.name == "Серебряный"
    assert summary.level.needed == 950000
    assert summary.level.percent == 5

    page = html(world.anna.client.get("/cabinet/"))
    assert "Здравствуйте, Анна!" in page
    assert f"14,97{NBSP}балла" in page
    assert f"500,00{NBSP}₽" in page  # spent this month
    assert f"До уровня «Серебряный» осталось потратить 9{NNBSP}500,00{NBSP}₽" in page
    assert "3 000,00" not in page and f"3{NNBSP}000,00" not in page  # Boris's receipt


def test_level_progress_when_this_month_passes_the_next_threshold(world):
    progress = cabinet.level_progress(world.boris.account, date(2026, 5, 20))
    assert progress.spent_this_month == 300000
    assert progress.next.name == "Серебряный"
    assert progress.needed == 700000
    assert progress.next_month.name == "Базовый"


def test_receipts_newest_first_with_store_local_time(world):
    page = html(world.anna.client.get("/cabinet/receipts/"))
    order = [
        page.index(f'data-receipt="{p.pk}"') for p in (world.p_may, world.p_april, world.p_march)
    ]
    assert order == sorted(order)
    assert "05.05.2026 13:00" in page  # 10:00 UTC in Moscow
    assert f"495,00{NBSP}₽" not in page and f"500,00{NBSP}₽" in page
    assert f"2,47{NBSP}балла" in page and f"5{NBSP}баллов" in page
    assert f'data-receipt="{world.p_boris.pk}"' not in page


def test_receipts_period_filter(world):
    rows = cabinet.receipts_of(world.anna.account, date(2026, 4, 1), date(2026, 4, 30))
    assert [p.pk for p in rows] == [world.p_april.pk]
    page = html(world.anna.client.get("/cabinet/receipts/?date_from=2026-03-01&date_to=2026-04-15"))
    assert f'data-receipt="{world.p_april.pk}"' in page
    assert f'data-receipt="{world.p_march.pk}"' in page
    assert f'data-receipt="{world.p_may.pk}"' not in page
    russian = html(world.anna.client.get("/cabinet/receipts/?date_from=01.05.2026&date_to="))
    assert f'data-receipt="{world.p_may.pk}"' in russian
    assert f'data-receipt="{world.p_april.pk}"' not in russian


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2026-05-01&date_to=2026-04-01", "Дата окончания периода раньше даты начала"),
        ("date_from=32.13.2026", "Введите дату, например 01.03.2026"),
        ("date_from=2026-06-01", "Дата начала периода не может быть в будущем"),
        ("date_from=2019-01-01&date_to=2026-05-01", "Выберите период не длиннее пяти лет"),
    ],
)
def test_receipts_period_refused_in_russian(world, query, message):
    response = world.anna.client.get(f"/cabinet/receipts/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_receipts_are_paginated(world, monkeypatch):
    monkeypatch.setattr(cabinet_views, "RECEIPTS_PER_PAGE", 2)
    first = html(world.anna.client.get("/cabinet/receipts/"))
    second = html(world.anna.client.get("/cabinet/receipts/?page=2"))
    assert "Страница 1 из 2" in first and "Страница 2 из 2" in second
    assert f'data-receipt="{world.p_march.pk}"' in second
    assert f'data-receipt="{world.p_march.pk}"' not in first
    kept = html(world.anna.client.get("/cabinet/receipts/?date_from=2026-01-01&page=2"))
    assert "date_from=2026-01-01&amp;page=1" in kept


def test_receipt_detail_explains_the_accrual_and_returns(world):
    detail = cabinet.receipt_detail(world.anna.account, world.p_march.pk)
    assert [(p.rule, p.points) for p in detail.parts] == [("base", 500), ("first_month", 500)]
    assert detail.parts[1].explanation == "Первые 30 дней после активации карты: базовые баллы ×2"
    assert [(line.sku, line.amount, line.earned) for line in detail.lines] == [
        ("SKU-1", 60000, 600),
        ("SKU-2", 40000, 400),
    ]
    page = html(world.anna.client.get(f"/cabinet/receipts/{world.p_march.pk}/"))
    assert "Чек № A-1" in page
    assert "10.03.2026 15:00" in page
    assert f"Первый месяц после активации: 5{NBSP}баллов" in page

    april = cabinet.receipt_detail(world.anna.account, world.p_april.pk)
    assert (april.returned_kopecks, april.taken_back, april.given_back) == (50000, 250, 0)
    assert "data-returns" in html(world.anna.client.get(f"/cabinet/receipts/{world.p_april.pk}/"))


def test_chart_numbers_for_known_purchases(world):
    points = cabinet.monthly_chart(world.anna.account, date(2026, 5, 20))
    assert len(points) == 12
    assert points[0].month == date(2025, 6, 1) and points[-1].month == date(2026, 5, 1)
    assert [(p.spend, p.earned, p.redeemed) for p in points[-3:]] == [
        (100000, 1000, 0),
        (150000, 750, 0),
        (50000, 247, 500),
    ]
    assert all((p.spend, p.earned, p.redeemed) == (0, 0, 0) for p in points[:-3])
    page = html(world.anna.client.get("/cabinet/chart/"))
    assert '<svg class="chart"' in page and page.count('<rect class="bar"') == 12
    assert f"апрель 2026: потрачено 1{NNBSP}500,00{NBSP}₽, начислено 7,50{NBSP}балла" in page
    assert f'<td>май 2026</td><td class="num">500,00{NBSP}₽</td>' in page
    assert f"3{NNBSP}000,00{NBSP}₽" in page  # the total of the 12 months


def test_offers_for_the_members_region(world):
    today = date(2026, 5, 20)
    spb = Region.objects.get(code="78")
    moscow = city("москва").region
    PromoGood.objects.create(sku="P-ALL", name="Молоко для всех")
    PromoGood.objects.create(sku="P-77", name="Хлеб московский", region=moscow)
    PromoGood.objects.create(sku="P-78", name="Корюшка", region=spb)
    PromoGood.objects.create(sku="P-OLD", name="Прошлогодняя акция", valid_to=date(2025, 12, 31))
    PremiumGood.objects.create(sku="PR-77", name="Сыр премиум", region=moscow)
    PremiumGood.objects.create(sku="PR-78", name="Сыр питерский", region=spb)
    PersonalOffer.objects.create(
        account=world.anna.account,
        title="Кофе +5 %",
        kind="percent",
        skus=["C-1"],
        bonus_bp=500,
        valid_from=today,
        valid_to=date(2026, 6, 1),
    )
    PersonalOffer.objects.create(
        account=world.boris.account,
        title="Чай для Бориса",
        kind="fixed",
        skus=["T-1"],
        fixed_points=5000,
        valid_from=today,
        valid_to=date(2026, 6, 1),
    )
    offers = cabinet.offers_for(world.anna.account, today)
    assert [g.sku for g in offers.promo] == ["P-ALL", "P-77"]
    assert [g.sku for g in offers.premium] == ["PR-77"]
    assert [o.title for o in offers.personal] == ["Кофе +5 %"]
    stranger = cabinet.offers_for(world.sergey.account, today)  # no city: all-region goods
    assert [g.sku for g in stranger.promo] == ["P-ALL"] and stranger.personal == []
    page = html(world.anna.client.get("/cabinet/offers/"))
    assert "Хлеб московский" in page and "Кофе +5 %" in page
    assert "Корюшка" not in page and "Чай для Бориса" not in page


def test_stores_of_my_city_and_the_nearest(world):
    spb = city("санкт-петербург")
    far = factories.StoreFactory(
        name="Магнит на Невском",
        city=spb,
        region=spb.region,
        lat=spb.lat,
        lon=spb.lon,
        participates=False,
    )
    near = cabinet.stores_near(55.75, 37.61, 2)
    assert [n.store.pk for n in near] == [world.store.pk, far.pk]
    assert round(near[0].distance_km, 1) == 0.8
    assert near[0].takes_part and not near[1].takes_part
    page = html(world.anna.client.get("/cabinet/stores/"))
    assert (
        "Магазины: Москва" in page and "Магнит у дома" in page and "Магнит на Невском" not in page
    )
    chosen = html(world.anna.client.get(f"/cabinet/stores/?city_0=&city_1={spb.pk}"))
    assert "Магнит на Невском" in chosen and "не участвует" in chosen
    located = html(world.anna.client.get("/cabinet/stores/?lat=59.93&lon=30.31"))
    assert located.index("Магнит на Невском") < located.index("Магнит у дома")
    data = world.anna.client.get("/cabinet/stores/near.json?lat=55.75&lon=37.61").json()
    assert data["stores"][0] == {
        "code": world.store.code,
        "name": "Магнит у дома",
        "address": "ул. Тверская, 1",
        "city": "Москва",
        "distance_km": 0.8,
        "takes_part": True,
    }
    assert world.anna.client.get("/cabinet/stores/near.json?lat=north&lon=1").status_code == 400


def test_chart_axis_labels_keep_fractions():
    from kabinet.loyalty.web.cabinet_render import _tick

    assert [_tick(u) for u in (0, 125, 250, 500, 10000000)] == [
        "0",
        "1,25",
        "2,5",
        "5",
        "100\u202f000",
    ]


def test_receipt_detail_explains_premium_and_offer_parts(world):
    from datetime import UTC, datetime

    from tests.loyalty.cabinet.conftest import buy

    PremiumGood.objects.create(sku="PR-1", name="Сыр премиум")
    offer = PersonalOffer.objects.create(
        account=world.anna.account,
        title="Кофе +5 %",
        kind="percent",
        skus=["C-1"],
        bonus_bp=500,
        valid_from=date(2026, 5, 1),
        valid_to=date(2026, 6, 1),
    )
    bought = buy(
        world.till,
        world.anna.card,
        datetime(2026, 5, 19, 9, 0, tzinfo=UTC),
        10000,
        20000,
        number="A-4",
        skus=("PR-1", "C-1"),
    )
    detail = cabinet.receipt_detail(world.anna.account, bought.pk)
    assert [(p.rule, p.points) for p in detail.parts] == [
        ("base", 150),
        ("premium", 200),
        ("offer", 1000),
    ]
    assert detail.parts[1].explanation == "Премиальные товары: +2 % баллами"
    assert "Кофе +5 %" in detail.parts[2].explanation
    assert str(offer.pk) == bought.breakdown[2]["ref"]
    page = html(world.anna.client.get(f"/cabinet/receipts/{bought.pk}/"))
    assert f"Персональное предложение: 10{NBSP}баллов" in page
