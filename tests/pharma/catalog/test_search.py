"""Catalog search (SPEC P-CAT-2): names, МНН, makers, barcodes, typos, layouts, filters.

The catalog below is built through the ORM with `search_text_for`, as every write path does;
the same tests run on SQLite (FTS5) and on PostgreSQL (pg_trgm + full text).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kabinet.accounts.models import User
from kabinet.core.errors import ValidationFailed
from kabinet.pharma.catalog import search
from kabinet.pharma.catalog.layout import switch_layout, to_latin, to_russian
from kabinet.pharma.catalog.models import (
    Barcode,
    Category,
    Manufacturer,
    Offer,
    Product,
    Warehouse,
)
from kabinet.pharma.catalog.search import SearchFilters, search_products
from kabinet.pharma.catalog.text import search_text_for
from kabinet.pharma.models import Authority, Branch
from kabinet.pharma.selectors import partner_of
from tests.pharma.conftest import _partner, client_for

pytestmark = pytest.mark.django_db

EXPIRES = date(2030, 1, 1)


def _category(name: str, parent: Category | None = None) -> Category:
    node = Category.objects.create(name=name, parent=parent, path="")
    node.path = (parent.path if parent else "") + f"{node.pk:04d}."
    node.save(update_fields=["path"])
    return node


def _product(code, trade_name, inn, maker, category, barcodes=(), **kw) -> Product:
    product = Product.objects.create(
        code=code,
        trade_name=trade_name,
        inn_name=inn,
        form="таблетки",
        dosage="40 мг",
        pack="№20",
        manufacturer=maker,
        country=maker.country,
        category=category,
        search_text=search_text_for(
            trade_name=trade_name, inn_name=inn, manufacturer=maker.name, barcodes=barcodes
        ),
        **kw,
    )
    for ean in barcodes:
        Barcode.objects.create(product=product, ean13=ean)
    return product


def _warehouse(code: str, city) -> Warehouse:
    branch = Branch.objects.create(
        code=code,
        name=city.name_ru,
        region=city.region,
        city=city,
        address="ул. Складская, д. 1",
        phone="+74950000000",
        email=f"{code}@example.ru",
    )
    return Warehouse.objects.create(branch=branch, code=f"wh-{code}", name=f"Склад {city}")


@pytest.fixture
def catalog(moscow, kazan):
    drugs = _category("Лекарственные средства")
    pain = _category("Обезболивающие", drugs)
    nsaid = _category("НПВС", pain)
    spasm = _category("Спазмолитики", drugs)
    devices = _category("Медицинские изделия")
    makers = {
        name: Manufacturer.objects.create(name=name, country=country)
        for name, country in [
            ("Санофи", "Франция"),
            ("Озон", "Россия"),
            ("Рекитт Бенкизер", "Великобритания"),
            ("Фармстандарт", "Россия"),
            ("Байер", "Германия"),
            ("Сандоз", "Словения"),
            ("Тульская фармфабрика", "Россия"),
            ("Омрон", "Япония"),
            ("Ядран", "Хорватия"),
        ]
    }
    jnvlp = {"jnvlp": True, "registered_price_kopecks": 10_000}
    p = {
        "P01": _product("P01", "Но-шпа", "Дротаверин", makers["Санофи"], spasm, ["4600000000011"]),
        "P02": _product(
            "P02", "Но-шпа форте", "Дротаверин", makers["Санофи"], spasm, ["4600000000028"]
        ),
        "P03": _product(
            "P03", "Дротаверин", "Дротаверин", makers["Озон"], spasm, ["4600000000035"], **jnvlp
        ),
        "P04": _product(
            "P04", "Нурофен", "Ибупрофен", makers["Рекитт Бенкизер"], nsaid, ["5000158062467"]
        ),
        "P05": _product("P05", "Нурофен Экспресс", "Ибупрофен", makers["Рекитт Бенкизер"], nsaid),
        "P06": _product("P06", "Ибупрофен", "Ибупрофен", makers["Фармстандарт"], nsaid, **jnvlp),
        "P07": _product("P07", "Парацетамол", "Парацетамол", makers["Фармстандарт"], pain, **jnvlp),
        "P08": _product(
            "P08", "Аспирин Кардио", "Ацетилсалициловая кислота", makers["Байер"], pain
        ),
        "P09": _product(
            "P09",
            "Амоксиклав",
            "Амоксициллин + клавулановая кислота",
            makers["Сандоз"],
            drugs,
            prescription_only=True,
        ),
        "P10": _product(
            "P10", "Зелёнка", "Бриллиантовый зелёный", makers["Тульская фармфабрика"], drugs
        ),
        "P11": _product("P11", "Тонометр M2", "", makers["Омрон"], devices, ["4015672105072"]),
        "P12": _product("P12", "Aqua Maris", "Морская вода", makers["Ядран"], drugs),
        "P13": _product(
            "P13",
            "Нурофен Ультра",
            "Ибупрофен",
            makers["Рекитт Бенкизер"],
            nsaid,
            ["4600000000042"],
            is_active=False,
        ),
    }
    moscow_wh = _warehouse("moscow", moscow)
    kazan_wh = _warehouse("kazan", kazan)
    for code, warehouse, quantity, reserved in [
        ("P01", moscow_wh, 10, 0),
        ("P04", moscow_wh, 5, 5),  # all reserved: nothing free
        ("P07", moscow_wh, 3, 1),
        ("P04", kazan_wh, 8, 0),
        ("P06", kazan_wh, 2, 0),
        ("P13", kazan_wh, 9, 0),  # in stock, but not in sale
    ]:
        Offer.objects.create(
            product=p[code],
            warehouse=warehouse,
            series="S1",
            expires_on=EXPIRES,
            quantity=quantity,
            reserved=reserved,
        )
    return {
        "products": p,
        "makers": makers,
        "categories": {"drugs": drugs, "pain": pain, "nsaid": nsaid, "devices": devices},
        "warehouses": {"moscow": moscow_wh, "kazan": kazan_wh},
    }


def codes(query: str = "", **kw) -> list[str]:
    filters = kw.pop("filters", SearchFilters())
    page = search_products(query=query, filters=filters, **kw)
    return [p.code for p in page.items]


ACTIVE_BY_NAME = [
    "P12",  # Aqua Maris: Latin sorts first
    "P09",  # Амоксиклав
    "P08",  # Аспирин Кардио
    "P03",  # Дротаверин
    "P10",  # Зелёнка
    "P06",  # Ибупрофен
    "P01",  # Но-шпа
    "P02",  # Но-шпа форте
    "P04",  # Нурофен
    "P05",  # Нурофен Экспресс
    "P07",  # Парацетамол
    "P11",  # Тонометр M2
]


# ------------------------------------------------------------------------------ matching


def test_by_trade_name_hides_inactive_products(catalog):
    page = search_products(query="Нурофен", filters=SearchFilters())
    assert [p.code for p in page.items] == ["P04", "P05"]
    assert page.total == 2
    assert page.query_used == "Нурофен"
    assert page.layout_switched is False


def test_by_inn_puts_the_name_that_starts_with_it_first(catalog):
    assert codes("ибупрофен") == ["P06", "P04", "P05"]
    assert codes("дротаверин") == ["P03", "P01", "P02"]
    assert codes("ацетилсалициловая кислота") == ["P08"]


def test_by_manufacturer(catalog):
    assert codes("фармстандарт") == ["P06", "P07"]
    assert codes("Рекитт") == ["P04", "P05"]


def test_by_barcode_full_and_prefix(catalog):
    page = search_products(query="4600000000011", filters=SearchFilters())
    assert [p.code for p in page.items] == ["P01"]
    assert page.query_used == "4600000000011"
    # A prefix of six digits or more, sorted by name; the inactive P13's code is not shown.
    assert codes("4600000000") == ["P03", "P01", "P02"]
    assert codes("460000") == ["P03", "P01", "P02"]
    assert codes("4015 6721 0507 2") == ["P11"]
    assert codes("4600000000042") == []
    assert codes("9999999") == []


def test_case_and_yo_do_not_matter(catalog):
    assert codes("НУРОФЕН") == ["P04", "P05"]
    assert codes("зеленка") == ["P10"]
    assert codes("ЗЕЛЁНКА") == ["P10"]
    assert codes("но-шпа") == ["P01", "P02"]
    assert codes("НО ШПА ФОРТЕ") == ["P02"]


def test_small_typos_are_tolerated(catalog):
    assert codes("нурафен") == ["P04", "P05"]
    assert codes("дратаверин") == ["P03", "P01", "P02"]
    assert codes("парацетомол") == ["P07"]
    page = search_products(query="нурафен", filters=SearchFilters())
    assert page.query_used == "нурафен"
    assert page.layout_switched is False


def test_wrong_keyboard_layout_is_retyped(catalog):
    page = search_products(query="yjigf", filters=SearchFilters())
    assert [p.code for p in page.items] == ["P01", "P02"]
    assert page.query_used == "ношпа"
    assert page.layout_switched is True
    # With a typo on top: «нурофенн».
    page = search_products(query="yehjatyy", filters=SearchFilters())
    assert [p.code for p in page.items] == ["P04", "P05"]
    assert page.query_used == "нурофенн"
    # The other way: Latin names typed with the Russian layout on.
    page = search_products(query="Фйгф", filters=SearchFilters())
    assert [p.code for p in page.items] == ["P12"]
    assert page.query_used == "Aqua"
    # The punctuation keys of Russian letters: «,hbkkbfynjdsq» is «бриллиантовый».
    assert codes(",hbkkbfynjdsq") == ["P10"]


def test_prefixes_match_as_you_type(catalog):
    assert codes("нур") == ["P04", "P05"]
    assert codes("аспир") == ["P08"]
    assert codes("но шп") == ["P01", "P02"]
    assert codes("ношп") == ["P01", "P02"]
    assert codes("ам") == ["P09"]


def test_nothing_found(catalog):
    page = search_products(query="вазелин", filters=SearchFilters())
    assert (page.items, page.total, page.query_used) == ([], 0, "вазелин")
    assert codes("qqqq") == []


# ------------------------------------------------------------------------------- filters


def test_browse_without_query_is_by_name_and_pages(catalog):
    page = search_products(query="  ", filters=SearchFilters(), limit=5)
    assert [p.code for p in page.items] == ACTIVE_BY_NAME[:5]
    assert page.total == 12
    assert page.query_used == ""
    page = search_products(query="", filters=SearchFilters(), limit=5, offset=10)
    assert [p.code for p in page.items] == ACTIVE_BY_NAME[10:]
    assert page.total == 12
    page = search_products(query="", filters=SearchFilters(), limit=5, offset=20)
    assert (page.items, page.total) == ([], 12)
    assert page.items == []


def test_items_come_with_manufacturer_and_category(catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        page = search_products(query="нурофен", filters=SearchFilters())
        names = [(p.manufacturer.name, p.category.name) for p in page.items]
    assert names == [("Рекитт Бенкизер", "НПВС"), ("Рекитт Бенкизер", "НПВС")]


@pytest.mark.parametrize(
    ("query", "kw"),
    [
        ("нур", {}),  # word prefixes
        ("нурафен", {}),  # a typo
        ("yehjatyy", {}),  # the other layout
        ("4600000000011", {}),  # a barcode
        ("", {"limit": 5, "offset": 3}),  # browsing
        ("дротаверин", {"sort": "manufacturer", "limit": 2, "offset": 2}),
    ],
)
def test_fields_give_the_same_page_as_rows(catalog, query, kw):
    fields = ("code", "trade_name", "manufacturer__name")
    objects = search_products(query=query, filters=SearchFilters(), **kw)
    rows = search_products(query=query, filters=SearchFilters(), fields=fields, **kw)
    assert rows.items == [
        {"code": p.code, "trade_name": p.trade_name, "manufacturer__name": p.manufacturer.name}
        for p in objects.items
    ]
    assert rows.items  # each case finds something
    assert (rows.total, rows.query_used, rows.layout_switched) == (
        objects.total,
        objects.query_used,
        objects.layout_switched,
    )


@pytest.mark.parametrize(
    "query",
    [
        "нур",  # word prefixes: the name that starts so first
        "Нурофен",
        "дротаверин",  # МНН: the trade name that is the МНН first
        "но шп",
        "ношпа",  # a lost hyphen
        "нурафен",  # a typo
        "yjigf",  # the other layout
        "yehjatyy",  # the other layout of a typo… of a name: «нурофенн»
        "4600000000011",  # a barcode
        "46000000",  # a barcode's prefix: several
        "999999",  # a prefix with no upper bound
        "ьфрф",  # nothing
        "",  # browsing
    ],
)
@pytest.mark.parametrize("limit", [1, 20])
def test_suggestions_are_the_search_of_search_json(catalog, query, limit):
    """`suggest` is written out in SQL on PostgreSQL; it must answer as `search_products`."""
    page = search_products(
        query=query, filters=SearchFilters(), limit=limit, fields=search.SUGGESTION_FIELDS
    )
    expected = [
        {**{k: v for k, v in row.items() if k != "manufacturer__name"}, "manufacturer": m}
        for row in page.items
        for m in [row["manufacturer__name"]]
    ]
    assert search.suggest(query, limit=limit) == expected


def test_suggestions_take_one_statement_unless_nothing_starts_so(catalog):
    with CaptureQueriesContext(connection) as queries:
        assert [r["code"] for r in search.suggest("yjigf", limit=20)] == ["P01", "P02"]
    if connection.vendor == "postgresql":
        assert len(queries) == 1  # both layouts in one statement
        with CaptureQueriesContext(connection) as queries:
            assert [r["code"] for r in search.suggest("нурафен", limit=20)][:1] == ["P04"]
        assert len(queries) == 3  # word prefixes, the similarity threshold, typos


def test_category_filter_takes_the_whole_subtree(catalog):
    cats = catalog["categories"]
    assert codes(filters=SearchFilters(category_id=cats["nsaid"].pk)) == ["P06", "P04", "P05"]
    assert codes(filters=SearchFilters(category_id=cats["pain"].pk)) == [
        "P08",
        "P06",
        "P04",
        "P05",
        "P07",
    ]
    assert codes(filters=SearchFilters(category_id=cats["drugs"].pk)) == [
        c for c in ACTIVE_BY_NAME if c != "P11"
    ]
    assert codes(filters=SearchFilters(category_id=cats["devices"].pk)) == ["P11"]
    assert codes(filters=SearchFilters(category_id=999_999)) == []
    assert codes("ибупрофен", filters=SearchFilters(category_id=cats["devices"].pk)) == []


def test_flag_and_manufacturer_filters(catalog):
    assert codes(filters=SearchFilters(prescription=True)) == ["P09"]
    assert "P09" not in codes(filters=SearchFilters(prescription=False))
    assert len(codes(filters=SearchFilters(prescription=False))) == 11
    assert codes(filters=SearchFilters(jnvlp=True)) == ["P03", "P06", "P07"]
    sanofi = catalog["makers"]["Санофи"]
    assert codes(filters=SearchFilters(manufacturer_id=sanofi.pk)) == ["P01", "P02"]
    assert codes("дротаверин", filters=SearchFilters(manufacturer_id=sanofi.pk)) == ["P01", "P02"]
    assert codes("ибупрофен", filters=SearchFilters(jnvlp=True)) == ["P06"]


def test_in_stock_filter_counts_free_stock_in_that_warehouse(catalog):
    moscow, kazan = catalog["warehouses"]["moscow"], catalog["warehouses"]["kazan"]
    assert codes(filters=SearchFilters(in_stock_warehouse_id=moscow.pk)) == ["P01", "P07"]
    assert codes(filters=SearchFilters(in_stock_warehouse_id=kazan.pk)) == ["P06", "P04"]
    assert codes("нурофен", filters=SearchFilters(in_stock_warehouse_id=kazan.pk)) == ["P04"]
    assert codes("нурофен", filters=SearchFilters(in_stock_warehouse_id=moscow.pk)) == []


# ---------------------------------------------------------------------- sorting, paging


def test_sorting(catalog):
    # Both match «кислота» in their МНН equally well: relevance falls back to the name.
    assert codes("кислота") == ["P09", "P08"]
    assert codes("кислота", sort="name") == ["P09", "P08"]
    assert codes("кислота", sort="manufacturer") == ["P08", "P09"]  # Байер, Сандоз
    assert codes("ибупрофен", sort="name") == ["P06", "P04", "P05"]
    assert codes("ибупрофен", sort="manufacturer") == ["P04", "P05", "P06"]
    assert codes(sort="manufacturer")[:3] == ["P08", "P03", "P11"]  # Байер, Озон, Омрон
    assert codes(sort="relevance") == ACTIVE_BY_NAME  # no query: by name


def test_pagination_of_a_query(catalog):
    page = search_products(query="дротаверин", filters=SearchFilters(), limit=2)
    assert ([p.code for p in page.items], page.total) == (["P03", "P01"], 3)
    page = search_products(query="дротаверин", filters=SearchFilters(), limit=2, offset=2)
    assert ([p.code for p in page.items], page.total) == (["P02"], 3)
    page = search_products(query="дротаверин", filters=SearchFilters(), limit=2, offset=4)
    assert ([p.code for p in page.items], page.total) == ([], 3)


def test_bad_sort_or_page_is_refused(catalog):
    with pytest.raises(ValidationFailed):
        search_products(query="x", filters=SearchFilters(), sort="price")
    with pytest.raises(ValidationFailed):
        search_products(query="x", filters=SearchFilters(), limit=0)
    with pytest.raises(ValidationFailed):
        search_products(query="x", filters=SearchFilters(), limit=search.MAX_LIMIT + 1)
    with pytest.raises(ValidationFailed):
        search_products(query="x", filters=SearchFilters(), offset=-1)


# ----------------------------------------------------------- the index follows the rows


def test_changed_products_are_found_by_their_new_text(catalog):
    noshpa = catalog["products"]["P01"]
    maker = catalog["makers"]["Санофи"]
    noshpa.trade_name = "Спазмалгон"
    noshpa.search_text = search_text_for(
        trade_name="Спазмалгон", inn_name="Дротаверин", manufacturer=maker.name
    )
    noshpa.save()
    assert codes("спазмалгон") == ["P01"]
    assert codes("ношпа") == ["P02"]

    Product.objects.filter(code="P08").update(search_text="кардиомагнил")
    assert codes("кардиомагнил") == ["P08"]
    assert codes("аспирин") == []

    Product.objects.bulk_create(
        [
            Product(
                code="P20",
                trade_name="Валидол",
                manufacturer=maker,
                country="Россия",
                category=catalog["categories"]["drugs"],
                search_text=search_text_for(
                    trade_name="Валидол", inn_name="Ментол", manufacturer=maker.name
                ),
            )
        ]
    )
    assert codes("валидол") == ["P20"]
    Product.objects.filter(code="P20").delete()
    assert codes("валидол") == []


def test_index_can_be_dropped_and_made_again(catalog):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # PostgreSQL builds no index over rows with deferred FK checks still pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    search.uninstall_search_index(connection)
    search.install_search_index(connection)
    assert codes("нурафен") == ["P04", "P05"]
    assert codes("yjigf") == ["P01", "P02"]


def test_sqlite_rebuilds_lost_triggers(catalog):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's FTS5 table only")
    with connection.cursor() as cursor:
        # What Django's table rebuild on SQLite does to triggers of the old table.
        for trigger in search._SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {trigger}")
    Product.objects.filter(code="P07").update(search_text="панадол")
    assert codes("панадол") == ["P07"]
    Product.objects.filter(code="P06").update(search_text="нурофен детский")
    assert codes("детский") == ["P06"]


@pytest.mark.postgres
def test_postgres_has_the_search_indexes_and_pg_trgm(catalog):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == (1,)
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'pharma_product' "
            "AND indexname LIKE 'pharma_product_search_%%' ORDER BY indexname"
        )
        assert cursor.fetchall() == [
            ("pharma_product_search_fts",),
            ("pharma_product_search_trgm",),
        ]
        # On a table this small the planner reads it whole; forbid that to see the plan.
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = search.explain_search(query="нурафен", filters=SearchFilters())
    assert "pharma_product_search_trgm" in plan
    assert "pharma_product_search_fts" in plan


# ------------------------------------------------------------------------- pure parts


def test_layout_conversion_both_ways():
    assert to_russian("yjigf") == "ношпа"
    assert to_russian("yehjatyy") == "нурофенн"
    assert to_russian("[]';,.`") == "хъэжбюё"
    assert to_russian('{}":<>~') == "ХЪЭЖБЮЁ"
    assert to_russian("Yjigf 40") == "Ношпа 40"
    assert to_latin("ношпа") == "yjigf"
    assert to_latin("хъэжбюё") == "[]';,.`"
    assert to_latin("Фызшкшт") == "Aspirin"
    assert to_latin(to_russian("qwertyuiop[]asdfghjkl;'zxcvbnm,.`")) == (
        "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
    )
    assert switch_layout("yjigf") == "ношпа"
    assert switch_layout("фйгф ьфкшы") == "aqua maris"
    assert switch_layout("но-шпа 40") == "yj-igf 40"
    assert switch_layout("4600000000011") is None
    assert switch_layout("aspirin аспирин") is None


def test_the_match_rule():
    assert round(search.word_similarity("нур", "нурофен ибупрофен"), 4) == 0.3333
    assert round(search.word_similarity("нурофен", "ибупрофен фармстандарт"), 4) == 0.2857
    assert search.word_similarity("но шпа", "но шпа форте") == 1.0
    assert round(search.word_similarity("нурафен", "нурофен ибупрофен"), 4) == 0.4545
    assert round(search.word_similarity("ношпа", "но шпа дротаверин"), 4) == 0.4444
    assert search.word_similarity("", "нурофен") == 0.0
    assert search.prefix_match("но шп", "но шпа дротаверин")
    assert search.prefix_match("ношпа", "но шпа дротаверин")
    assert not search.prefix_match("фен", "нурофен ибупрофен")
    assert search.exact_score("нурофен", "нурофен ибупрофен") == 3.0
    assert search.exact_score("ибупрофен", "нурофен ибупрофен") == 1.0
    assert search.exact_score("нурафен", "нурофен ибупрофен") is None
    assert round(search.typo_score("нурафен", "нурофен ибупрофен"), 4) == 0.4545
    assert search.typo_score("вазелин", "нурофен ибупрофен") is None


# ---------------------------------------------------------------------- JSON endpoint


def test_search_json_needs_sign_in_and_the_catalog_authority(pharmacy, catalog):
    url = reverse("pharma:catalog-search-json") + "?q=нур"
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("pharma:login"))
    payer = _partner(pharmacy.organisation, "zdorovie-payer", [Authority.PAY])
    assert client_for(payer).get(url).status_code == 403


def test_search_json_returns_the_products(pharmacy, catalog):
    client = client_for(pharmacy.colleague)
    url = reverse("pharma:catalog-search-json")
    assert url == "/pharma/cabinet/catalog/search.json"
    response = client.get(url, {"q": "yjigf"})
    assert response.status_code == 200
    assert response.json() == [
        {
            "code": "P01",
            "trade_name": "Но-шпа",
            "inn_name": "Дротаверин",
            "form": "таблетки",
            "dosage": "40 мг",
            "pack": "№20",
            "manufacturer": "Санофи",
        },
        {
            "code": "P02",
            "trade_name": "Но-шпа форте",
            "inn_name": "Дротаверин",
            "form": "таблетки",
            "dosage": "40 мг",
            "pack": "№20",
            "manufacturer": "Санофи",
        },
    ]
    assert [r["code"] for r in client.get(url, {"q": "460000000003"}).json()] == ["P03"]
    assert client.get(url, {"q": " "}).json() == []
    assert client.get(url, {"q": "н"}).json() == []  # too short to suggest
    assert [r["code"] for r in client.get(url, {"q": "ну"}).json()] == ["P04", "P05"]
    assert client.get(url).json() == []


def test_search_json_reads_the_partner_with_the_user(pharmacy, catalog):
    client = client_for(pharmacy.colleague)
    url = reverse("pharma:catalog-search-json")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, {"q": "нурофен"}).status_code == 200
    partner = [q["sql"] for q in queries if "pharma_partneruser" in q["sql"]]
    # The partner comes joined to the session's user, in its one query (accounts/backends.py).
    assert len(partner) == 1
    assert partner[0].startswith('SELECT "accounts_user"."id"')


def test_partner_of_keeps_the_user_it_was_given(pharmacy, django_assert_num_queries):
    user = User.objects.get(pk=pharmacy.colleague.user_id)
    with django_assert_num_queries(1):
        partner = partner_of(user)
        assert partner.user is user
        assert partner.organisation == pharmacy.organisation
    assert partner == pharmacy.colleague
    outsider = User.objects.create_user(username="outsider", password="x")
    assert partner_of(outsider) is None


@pytest.mark.parametrize(
    ("redis_url", "engine"),
    [
        ("redis://127.0.0.1:6379/14", "django.contrib.sessions.backends.cached_db"),
        # A per-process memory cache would keep a session ended in one worker alive in another.
        ("", "django.contrib.sessions.backends.db"),
    ],
)
def test_sessions_are_cached_only_in_a_shared_cache(redis_url, engine):
    env = {**os.environ, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    code = "from django.conf import settings; print(settings.SESSION_ENGINE)"
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == engine
