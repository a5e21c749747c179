"""Catalog search (SPEC P-CAT-2): trade name, МНН, manufacturer and barcode, with typos.

What matches, the same on both engines:

* a query of 6 or more digits is a barcode (EAN-13, EAN-8) or the start of one, looked up
  through Barcode's unique index (and only there: barcodes differ in a digit or two, so
  similarity would offer wrong products for a code that is not in the catalog);
* otherwise the query, normalised like `Product.search_text` (`text.normalise`), matches
  the products where every word of it starts a word of the search text — a word typed
  without its hyphen, «ношпа», also matches «но шпа»; relevance 3 if the search text
  (which begins with the trade name) begins with the query, else 1;
* only when no product matches so, the query is taken for a typo: products whose search
  text has a run of whole words with trigram similarity (pg_trgm's
  `strict_word_similarity`) of at least `SIMILARITY_THRESHOLD` match, ranked by it:
  «нурафен» finds «нурофен», «дратаверин» «дротаверин». Typos are the rare, costly case:
  a similarity search rechecks every row sharing a few trigrams with the query;
* a query that finds no word-prefix match is also retyped in the other keyboard layout
  (`layout.switch_layout`: «yjigf» → «ношпа»), and the better of the two is shown, with
  `SearchPage.query_used` saying which;
* ties go by name.

Engines:

* PostgreSQL: a GIN index on `to_tsvector('simple', search_text)` answers word prefixes
  (`нур:*`, and `но <-> шпа:*` for a joined word), a GIN trigram index (pg_trgm) answers
  `<<%` (strict word similarity); ranking is in SQL, with the total as a window count. The
  'simple' configuration, not 'russian': drug names are not Russian words, and a stemmer
  would cut «нурофен» and the prefixes typed so far unpredictably.
* SQLite: an FTS5 table with the trigram tokenizer (`pharma_product_search`, kept in sync by
  triggers on pharma_product, so every write path — bulk_create and update() included — is
  covered) gives candidates: rows containing every word as a substring, or the joined
  query; for typos, the `SQLITE_FUZZY_CANDIDATES` rows sharing the most trigrams with the
  query. The rules above are then applied in Python (`exact_score`, `typo_score`). So on
  SQLite a typo is found only while its product is among those candidates — enough for the
  demo, not for a large catalog.

Price sorting is not here: prices depend on the organisation (price group, discounts) and
belong to the pricing code, which can order a page of these results.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.db.models import BooleanField, Count, Exists, F, FloatField, OuterRef, QuerySet
from django.db.models.expressions import RawSQL, Window
from django.utils.translation import gettext as _

from kabinet.core.errors import ValidationFailed
from kabinet.pharma.catalog.layout import switch_layout
from kabinet.pharma.catalog.models import Barcode, Category, Offer, Product
from kabinet.pharma.catalog.text import normalise

logger = logging.getLogger(__name__)

SORTS = ("relevance", "name", "manufacturer")
MAX_LIMIT = 100
#: pg_trgm strict word similarity from which a text counts as a typo of the query. One wrong
#: letter inside a 7-letter word leaves 5 of 11 trigrams shared: «нурафен» ~ «нурофен» 0.45;
#: 10 letters, «дратаверин», 0.57; a 6-letter word falls to 0.40 and is missed. Each 0.05
#: lower lets the index hand several times more rows to the recheck (15× at 0.40 on the
#: 20 000-product benchmark). Strict (whole words), not word_similarity: that one lets
#: «нурофен» find «ибупрофен» (0.5).
SIMILARITY_THRESHOLD = 0.45
BARCODE_MIN_DIGITS = 6
#: How many rows sharing the most trigrams with the query SQLite scores for typos.
SQLITE_FUZZY_CANDIDATES = 300

_SQLITE_FTS = "pharma_product_search"
_SQLITE_TRIGGERS = (
    "pharma_product_search_ai",
    "pharma_product_search_ad",
    "pharma_product_search_au",
)
# The SQL below is literal text with %s parameters; the only values in it are user input's
# normalised words, passed as parameters (a tsquery or an FTS5 query is a parameter too).
_COLUMN = '"pharma_product"."search_text"'
_FTS = (
    'to_tsvector(\'simple\'::regconfig, "pharma_product"."search_text") '
    "@@ to_tsquery('simple'::regconfig, %s)"
)
_NOT_DIGIT_SEPARATORS = re.compile(r"[\s-]+")
# Names of the helper columns added to `fields` rows; no product field is called so.
_TOTAL = "search_total"
_ID = "search_id"


@dataclass(frozen=True)
class SearchFilters:
    """Narrowing of a search; None means «any»."""

    category_id: int | None = None  # with its whole subtree
    prescription: bool | None = None
    jnvlp: bool | None = None
    in_stock_warehouse_id: int | None = None  # free stock (quantity − reserved) there
    manufacturer_id: int | None = None


@dataclass(frozen=True)
class SearchPage:
    """One page of results: products with manufacturer and category loaded, or, when
    `search_products` was given `fields`, dicts of those fields."""

    items: list[Any]
    total: int
    # The query the results are for: as typed, or retyped in the other layout («ношпа»).
    query_used: str
    layout_switched: bool = False


@dataclass(frozen=True)
class _Found:
    items: list[Any]
    total: int


@dataclass(frozen=True)
class _Shape:
    """Where and how a page is cut, and what its items are."""

    sort: str
    offset: int
    limit: int
    # Product fields (lookups such as "manufacturer__name" too) to return as dicts; None for
    # Product objects.
    fields: tuple[str, ...] | None = None

    def by_name(self) -> _Shape:
        """The same, ordered by name where relevance means nothing (no query, a barcode)."""
        return replace(self, sort="name") if self.sort == "relevance" else self


def search_products(
    *,
    query: str,
    filters: SearchFilters,
    sort: str = "relevance",
    limit: int = 30,
    offset: int = 0,
    fields: Sequence[str] | None = None,
) -> SearchPage:
    """Active products matching `query` and `filters`; an empty query browses by name.

    With `fields` (e.g. "code", "manufacturer__name") the items are dicts of those: no
    Product objects and no joins beyond what the fields name — what a JSON answer needs.
    """
    if sort not in SORTS:
        raise ValidationFailed(_("Неизвестный порядок сортировки."), field="sort")
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValidationFailed(_("Неверные границы страницы."), field="limit")
    shape = _Shape(
        sort=sort, offset=offset, limit=limit, fields=None if fields is None else tuple(fields)
    )
    products = _filtered(filters)
    typed = " ".join(query.split())
    text = normalise(typed)
    if not text:
        found = _page(products, shape=shape.by_name())
        return SearchPage(items=found.items, total=found.total, query_used="")

    digits = _is_barcode(typed)
    if digits is not None:
        by_code = products.filter(id__in=_barcodes_from(digits).values("product_id"))
        # A few rows at most: counted in the page's query.
        found = _ranked_page(by_code, shape=shape.by_name())
        # Not searched as text: barcodes differ in a digit or two, so similarity would
        # offer a dozen wrong products for a code that is not in the catalog.
        return SearchPage(items=found.items, total=found.total, query_used=digits)

    variants = _variants(typed, text)
    postgres = connection.vendor == "postgresql"
    stages = (_postgres_prefix, _postgres_typos) if postgres else (_sqlite_prefix, _sqlite_typos)
    # Word prefixes before typos, as typed before the other layout: the cheap, likely
    # answers first; the similarity search runs only when no word matched anywhere.
    for stage in stages:
        for shown, variant in variants:
            found = stage(products, variant, shape=shape)
            if found.total:
                return SearchPage(
                    items=found.items,
                    total=found.total,
                    query_used=shown,
                    layout_switched=shown is not typed,
                )
    return SearchPage(items=[], total=0, query_used=typed)


def _variants(typed: str, text: str) -> list[tuple[str, str]]:
    """(as shown, normalised) of the query as typed and, if it differs, in the other layout."""
    variants = [(typed, text)]
    switched = switch_layout(typed)
    if switched and normalise(switched) not in ("", text):
        variants.append((switched, normalise(switched)))
    return variants


def _is_barcode(typed: str) -> str | None:
    """The digits of a query that is a barcode or the start of one, else None."""
    digits = _NOT_DIGIT_SEPARATORS.sub("", typed)
    return digits if digits.isdigit() and len(digits) >= BARCODE_MIN_DIGITS else None


# ------------------------------------------------------------------------------ filters


def _filtered(filters: SearchFilters) -> QuerySet[Product]:
    products = Product.objects.filter(is_active=True)
    if filters.category_id is not None:
        path = (
            Category.objects.filter(pk=filters.category_id).values_list("path", flat=True).first()
        )
        if path is None:
            return products.none()
        products = products.filter(category__path__startswith=path)
    if filters.prescription is not None:
        products = products.filter(prescription_only=filters.prescription)
    if filters.jnvlp is not None:
        products = products.filter(jnvlp=filters.jnvlp)
    if filters.manufacturer_id is not None:
        products = products.filter(manufacturer_id=filters.manufacturer_id)
    if filters.in_stock_warehouse_id is not None:
        free = Offer.objects.filter(
            product=OuterRef("pk"),
            warehouse_id=filters.in_stock_warehouse_id,
            quantity__gt=F("reserved"),
        )
        products = products.filter(Exists(free))
    return products


def _barcode_range(digits: str) -> tuple[str, str | None]:
    """[low, high) of the barcodes equal to `digits` or starting with them; high None for
    no upper bound. A range, so that the unique index answers a prefix."""
    if len(digits) >= 13:
        return digits, digits + "0"  # the one barcode: nothing sorts between
    following = str(int(digits) + 1).zfill(len(digits))
    if len(following) > len(digits):  # "999999": nothing sorts after it with its length
        return digits, None
    return digits, following


def _barcodes_from(digits: str) -> QuerySet[Barcode]:
    """Barcodes equal to `digits` or starting with them."""
    low, high = _barcode_range(digits)
    found = Barcode.objects.filter(ean13__gte=low)
    return found if high is None else found.filter(ean13__lt=high)


_ORDER = {
    "name": ("trade_name", "id"),
    "manufacturer": ("manufacturer__name", "trade_name", "id"),
    "relevance": ("-score", "trade_name", "id"),
}


def _page(products: QuerySet[Product], *, shape: _Shape) -> _Found:
    """A page of the whole (filtered) catalog: counted apart, since a window count would
    read every row where the name index hands over just a page."""
    total = products.count()
    return _Found(items=_items(products.order_by(*_ORDER[shape.sort]), shape), total=total)


def _items(ordered: QuerySet[Product], shape: _Shape) -> list[Any]:
    """The page of `ordered`, as `shape.fields` dicts or Products with their relations."""
    window = slice(shape.offset, shape.offset + shape.limit)
    if shape.fields is None:
        return list(ordered.select_related("manufacturer", "category")[window])
    return list(ordered.values(*shape.fields)[window])


# ---------------------------------------------------------------------------- PostgreSQL


def _tsquery(words: Sequence[str]) -> str:
    """A to_tsquery('simple') text: every word as a prefix, or split in two at a lost hyphen.

    Built from normalised words only (letters and digits), so it is always valid syntax.
    """
    parts = []
    for word in words:
        alternatives = [f"{word}:*"]
        # «ношпа» for «но шпа»: both halves at least two letters, the first a whole word.
        alternatives += [f"{word[:k]} <-> {word[k:]}:*" for k in range(2, len(word) - 1)]
        parts.append("(" + " | ".join(alternatives) + ")")
    return " & ".join(parts)


def _postgres_prefix(products: QuerySet[Product], text: str, *, shape: _Shape) -> _Found:
    return _ranked_page(_postgres_prefix_matches(products, text), shape=shape)


def _postgres_typos(products: QuerySet[Product], text: str, *, shape: _Shape) -> _Found:
    return _ranked_page(_postgres_typo_matches(products, text), shape=shape)


def _postgres_prefix_matches(products: QuerySet[Product], text: str) -> QuerySet[Product]:
    """`products` whose words start with the query's words, with their `score`."""
    tsquery = _tsquery(text.split())
    score = RawSQL(  # noqa: S611 — constant SQL, parameters only
        "(CASE WHEN " + _COLUMN + " LIKE %s THEN 3 ELSE 1 END)",
        # Normalised text holds no % or _: it is a plain prefix pattern.
        (text + "%",),
        output_field=FloatField(),
    )
    matches = RawSQL(_FTS, (tsquery,), output_field=BooleanField())  # noqa: S611 — constant
    return products.filter(matches).annotate(score=score)


def _postgres_typo_matches(products: QuerySet[Product], text: str) -> QuerySet[Product]:
    """`products` similar enough to the query, with their `score` (the similarity)."""
    with connection.cursor() as cursor:
        _set_similarity_threshold(cursor)
    similar = RawSQL(  # noqa: S611 — constant SQL, parameters only
        "%s <<%% " + _COLUMN, (text,), output_field=BooleanField()
    )
    score = RawSQL(  # noqa: S611 — constant SQL, parameters only
        "strict_word_similarity(%s, " + _COLUMN + ")", (text,), output_field=FloatField()
    )
    return products.filter(similar).annotate(score=score)


def _set_similarity_threshold(cursor: Any) -> None:
    # `<<%` reads its threshold from this setting; set on every search, since a rollback of
    # an enclosing transaction would undo a setting made once per connection.
    cursor.execute(
        "SELECT set_config('pg_trgm.strict_word_similarity_threshold', %s, false)",
        [str(SIMILARITY_THRESHOLD)],
    )


def _ranked_page(matched: QuerySet[Product], *, shape: _Shape) -> _Found:
    """A page of matches and their total, in one query when the page is not empty."""
    counted = matched.annotate(**{_TOTAL: Window(Count("*"))}).order_by(*_ORDER[shape.sort])
    if shape.fields is None:
        rows = _items(counted, shape)
        total = getattr(rows[0], _TOTAL) if rows else 0
    else:
        rows = _items(counted, replace(shape, fields=(*shape.fields, _TOTAL)))
        total = rows[0][_TOTAL] if rows else 0
        for row in rows:
            del row[_TOTAL]
    if rows or not shape.offset:
        return _Found(items=rows, total=total)
    return _Found(items=[], total=matched.count())


# ------------------------------------------------------------ suggestions (search-as-you-type)

#: What a suggestion shows, in this order: the product fields of `suggest`'s rows.
SUGGESTION_FIELDS = (
    "code",
    "trade_name",
    "inn_name",
    "form",
    "dosage",
    "pack",
    "manufacturer__name",
)
_SUGGESTION_COLUMNS = (
    "s.code, s.trade_name, s.inn_name, s.form, s.dosage, s.pack, m.name, s.variant"
)


def _suggestion_sql(*, match: str, score: str, variants: int) -> str:
    """One statement for a stage of `search_products` over each variant of the query: the
    variants' matches ordered variant first, so that the first row's variant is the one
    with matches (as typed before the other layout). Not counted: suggestions show no
    total, and without one PostgreSQL keeps just the top rows while it sorts."""
    per_variant = " UNION ALL ".join(
        f"(SELECT {variant} AS variant, {score} AS score, "  # noqa: S608 — constant SQL, parameters only
        '"pharma_product".id, code, trade_name, inn_name, form, dosage, pack, manufacturer_id '
        f'FROM "pharma_product" WHERE "pharma_product".is_active AND {match})'
        for variant in range(variants)
    )
    return (
        f"SELECT {_SUGGESTION_COLUMNS} FROM ({per_variant}) s "  # noqa: S608 — constant SQL
        'JOIN "pharma_manufacturer" m ON m.id = s.manufacturer_id '
        "ORDER BY s.variant, s.score DESC, s.trade_name, s.id LIMIT %s"
    )


# Parameters per variant, in the order of the text: the score's, then the match's.
_SUGGEST_PREFIX = {
    n: _suggestion_sql(
        match=_FTS, score="(CASE WHEN " + _COLUMN + " LIKE %s THEN 3 ELSE 1 END)", variants=n
    )
    for n in (1, 2)
}
_SUGGEST_TYPOS = {
    n: _suggestion_sql(
        match="%s <<%% " + _COLUMN, score="strict_word_similarity(%s, " + _COLUMN + ")", variants=n
    )
    for n in (1, 2)
}
_SUGGEST_BARCODE = (
    f"SELECT {_SUGGESTION_COLUMNS} FROM (SELECT 0 AS variant, 0 AS score, "  # noqa: S608 — constant SQL
    "p.id, code, trade_name, inn_name, form, dosage, pack, "
    'manufacturer_id FROM "pharma_product" p WHERE p.is_active AND p.id IN '
    '(SELECT product_id FROM "pharma_barcode" WHERE ean13 >= %s AND ean13 < %s)) s '
    'JOIN "pharma_manufacturer" m ON m.id = s.manufacturer_id '
    "ORDER BY s.trade_name, s.id LIMIT %s"
)


def suggest(query: str, *, limit: int) -> list[dict[str, Any]]:
    """The first active products for search-as-you-type, as dicts of `SUGGESTION_FIELDS`
    (with "manufacturer" for "manufacturer__name"): the same products in the same order as
    `search_products(query=query, filters=SearchFilters(), limit=limit, fields=…)`.

    Every pharmacist asks for one at every keystroke, so on PostgreSQL the statements are
    written out here once, both keyboard layouts of a stage in one round trip: compiling
    the ORM query cost the server more than PostgreSQL's answering it. A test holds the
    two paths to the same answers.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(_("Неверные границы страницы."), field="limit")
    typed = " ".join(query.split())
    text = normalise(typed)
    if connection.vendor != "postgresql" or not text:
        page = search_products(
            query=query, filters=SearchFilters(), limit=limit, fields=SUGGESTION_FIELDS
        )
        rows = page.items
        for row in rows:
            row["manufacturer"] = row.pop("manufacturer__name")
        return rows
    with connection.cursor() as cursor:
        digits = _is_barcode(typed)
        if digits is not None:
            low, high = _barcode_range(digits)
            # No upper bound: "a" sorts after every digit string.
            cursor.execute(_SUGGEST_BARCODE, [low, high or "a", limit])
            return _suggestions(cursor.fetchall())
        texts = [variant for _shown, variant in _variants(typed, text)]
        prefix_params = [p for t in texts for p in (t + "%", _tsquery(t.split()))]
        cursor.execute(_SUGGEST_PREFIX[len(texts)], [*prefix_params, limit])
        rows = cursor.fetchall()
        if not rows:
            _set_similarity_threshold(cursor)
            cursor.execute(_SUGGEST_TYPOS[len(texts)], [*(t for t in texts for _ in "ab"), limit])
            rows = cursor.fetchall()
    return _suggestions(rows)


def _suggestions(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The rows of the first variant that matched, as search.json's dicts."""
    keys = (*SUGGESTION_FIELDS[:-1], "manufacturer")
    first = rows[0][-1] if rows else None
    return [dict(zip(keys, row[:-1], strict=True)) for row in rows if row[-1] == first]


def explain_search(*, query: str, filters: SearchFilters) -> str:
    """PostgreSQL's EXPLAIN ANALYZE of both stages of the text search for `query`."""
    if connection.vendor != "postgresql":
        raise ValidationFailed(_("Только для PostgreSQL."))
    products, text = _filtered(filters), normalise(query)
    plans = []
    for stage, matched in (
        ("word prefixes", _postgres_prefix_matches(products, text)),
        ("similarity", _postgres_typo_matches(products, text)),
    ):
        plan = matched.order_by(*_ORDER["relevance"])[:30].explain(analyze=True)
        plans.append(f"-- {stage}\n{plan}")
    return "\n".join(plans)


# -------------------------------------------------------------------------------- SQLite


def _sqlite_prefix(products: QuerySet[Product], text: str, *, shape: _Shape) -> _Found:
    _ensure_sqlite_index()
    words = text.split()
    searchable = [w for w in words if len(w) >= 3]  # the trigram tokenizer's shortest term
    if searchable:
        every_word = " AND ".join(f'search_text : "{w}"' for w in searchable)
        joined = text.replace(" ", "")
        # An FTS5 query (a bound parameter, not SQL) of normalised words: letters and digits.
        fts_query = f'({every_word}) OR joined : "{joined}"'
        substring = RawSQL(
            "SELECT rowid FROM pharma_product_search WHERE pharma_product_search MATCH %s",
            (fts_query,),
        )
        candidates = products.filter(id__in=substring)
    else:
        candidates = products
        for word in words:
            candidates = candidates.filter(search_text__startswith=word) | candidates.filter(
                search_text__contains=" " + word
            )
    return _sqlite_page(_scored(candidates, text, exact_score), shape=shape)


def _sqlite_typos(products: QuerySet[Product], text: str, *, shape: _Shape) -> _Found:
    _ensure_sqlite_index()
    typos = products.filter(id__in=_sqlite_fuzzy_candidates(text.split()))
    return _sqlite_page(_scored(typos, text, typo_score), shape=shape)


def _sqlite_page(scored: list[tuple[float, int, str, str]], *, shape: _Shape) -> _Found:
    if not scored:
        return _Found(items=[], total=0)
    if shape.sort == "relevance":
        scored.sort(key=lambda r: (-r[0], r[2], r[1]))
    elif shape.sort == "name":
        scored.sort(key=lambda r: (r[2], r[1]))
    else:
        scored.sort(key=lambda r: (r[3], r[2], r[1]))
    ids = [r[1] for r in scored[shape.offset : shape.offset + shape.limit]]
    if shape.fields is None:
        by_id = Product.objects.select_related("manufacturer", "category").in_bulk(ids)
        return _Found(items=[by_id[pk] for pk in ids], total=len(scored))
    rows = {
        row.pop(_ID): row
        for row in Product.objects.filter(id__in=ids).values(*shape.fields, **{_ID: F("id")})
    }
    return _Found(items=[rows[pk] for pk in ids], total=len(scored))


def _scored(
    candidates: QuerySet[Product], text: str, rule: Any
) -> list[tuple[float, int, str, str]]:
    """(score, id, trade name, manufacturer) of the candidates `rule` accepts."""
    scored = []
    rows = candidates.values_list("id", "search_text", "trade_name", "manufacturer__name")
    for pk, search_text, trade_name, manufacturer in rows:
        score = rule(text, search_text)
        if score is not None:
            scored.append((score, pk, trade_name, manufacturer))
    return scored


def _sqlite_fuzzy_candidates(words: Sequence[str]) -> list[int]:
    """Ids of the rows sharing the most (and rarest) trigrams with the query's words."""
    grams = sorted({w[i : i + 3] for w in words for i in range(len(w) - 2)})
    if not grams:
        return []
    fts_query = "search_text : (" + " OR ".join(f'"{g}"' for g in grams) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM pharma_product_search WHERE pharma_product_search MATCH %s "
            "ORDER BY rank LIMIT %s",
            [fts_query, SQLITE_FUZZY_CANDIDATES],
        )
        return [row[0] for row in cursor.fetchall()]


# ------------------------------------------------------------------ the rule, in Python


def _trigrams(word: str) -> list[str]:
    """pg_trgm's trigrams of one word, padded «  word »."""
    padded = f"  {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def word_similarity(query: str, text: str) -> float:
    """pg_trgm's strict_word_similarity: the best |common| / |union| of the query's trigrams
    and those of a run of whole words of the text."""
    wanted = {g for word in query.split() for g in _trigrams(word)}
    if not wanted:
        return 0.0
    words = [set(_trigrams(w)) for w in text.split()]
    best = 0.0
    # A run of more words than the query has only adds to the union.
    span = len(query.split()) + 1
    for start in range(len(words)):
        run: set[str] = set()
        for grams in words[start : start + span]:
            run |= grams
            common = len(wanted & run)
            best = max(best, common / (len(wanted) + len(run) - common))
    return best


def prefix_match(query: str, text: str) -> bool:
    """Every word of `query` starts a word of `text`, or two adjacent ones joined («ношпа»)."""
    text_words = text.split()
    for word in query.split():
        if any(t.startswith(word) for t in text_words):
            continue
        if not any(
            text_words[i] == word[:k] and text_words[i + 1].startswith(word[k:])
            for k in range(2, len(word) - 1)
            for i in range(len(text_words) - 1)
        ):
            return False
    return True


def exact_score(query: str, search_text: str) -> float | None:
    """The score of a word-prefix match of a normalised query, or None if it is not one."""
    if not prefix_match(query, search_text):
        return None
    return 3.0 if search_text.startswith(query) else 1.0


def typo_score(query: str, search_text: str) -> float | None:
    """The similarity of a normalised query taken for a typo, or None below the threshold."""
    similarity = word_similarity(query, search_text)
    return similarity if similarity >= SIMILARITY_THRESHOLD else None


# ------------------------------------------------------------------------ the indexes


def install_search_index(conn: Any) -> None:
    """Create this engine's search index over pharma_product (migration 0003, repairs)."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            _install_postgres(cursor, conn.settings_dict["NAME"])
        elif conn.vendor == "sqlite":
            _install_sqlite(cursor)


def uninstall_search_index(conn: Any) -> None:
    """Drop what `install_search_index` made; pg_trgm stays, others may use it."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS pharma_product_search_fts")
            cursor.execute("DROP INDEX IF EXISTS pharma_product_search_trgm")
        elif conn.vendor == "sqlite":
            for trigger in _SQLITE_TRIGGERS:
                cursor.execute("DROP TRIGGER IF EXISTS " + trigger)
            cursor.execute("DROP TABLE IF EXISTS pharma_product_search")


def _install_postgres(cursor: Any, database: str) -> None:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if cursor.fetchone() is None:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as exc:
            raise ImproperlyConfigured(
                "Catalog search needs the PostgreSQL extension pg_trgm, and it could not be "
                f"created ({exc}). Install the server's contrib package and run, as a "
                "superuser or the database owner, CREATE EXTENSION pg_trgm; in database "
                f'"{database}", then run the migrations again.'
            ) from exc
    cursor.execute(
        "CREATE INDEX IF NOT EXISTS pharma_product_search_trgm ON pharma_product "
        "USING gin (search_text gin_trgm_ops)"
    )
    cursor.execute(
        "CREATE INDEX IF NOT EXISTS pharma_product_search_fts ON pharma_product "
        "USING gin (to_tsvector('simple'::regconfig, search_text))"
    )


def _install_sqlite(cursor: Any) -> None:
    cursor.execute("SELECT sqlite_version()")
    version = tuple(int(p) for p in cursor.fetchone()[0].split("."))
    if version < (3, 34):
        raise ImproperlyConfigured(
            f"Catalog search needs SQLite 3.34 or later (FTS5 trigram tokenizer), not {version}."
        )
    try:
        cursor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS pharma_product_search "
            "USING fts5(search_text, joined, tokenize='trigram')"
        )
    except DatabaseError as exc:
        raise ImproperlyConfigured(f"Catalog search needs SQLite built with FTS5 ({exc}).") from exc
    for trigger in _SQLITE_TRIGGERS:
        cursor.execute("DROP TRIGGER IF EXISTS " + trigger)
    cursor.execute("DELETE FROM pharma_product_search")
    # `joined` is the text without spaces: «ношпа» typed for «но шпа» is a substring of it.
    cursor.execute(
        "INSERT INTO pharma_product_search (rowid, search_text, joined) "
        "SELECT id, search_text, replace(search_text, ' ', '') FROM pharma_product"
    )
    cursor.execute(
        "CREATE TRIGGER pharma_product_search_ai AFTER INSERT ON pharma_product BEGIN "
        "INSERT INTO pharma_product_search (rowid, search_text, joined) "
        "VALUES (new.id, new.search_text, replace(new.search_text, ' ', '')); END"
    )
    cursor.execute(
        "CREATE TRIGGER pharma_product_search_ad AFTER DELETE ON pharma_product BEGIN "
        "DELETE FROM pharma_product_search WHERE rowid = old.id; END"
    )
    cursor.execute(
        "CREATE TRIGGER pharma_product_search_au AFTER UPDATE OF id, search_text "
        "ON pharma_product BEGIN "
        "DELETE FROM pharma_product_search WHERE rowid = old.id; "
        "INSERT INTO pharma_product_search (rowid, search_text, joined) "
        "VALUES (new.id, new.search_text, replace(new.search_text, ' ', '')); END"
    )


def _ensure_sqlite_index() -> None:
    """Rebuild the FTS table and its triggers if a migration lost them.

    Django alters a SQLite table by copying it into a new one, which drops the triggers of
    the old; the FTS rows would silently stop following the products.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)",
            [_SQLITE_FTS, *_SQLITE_TRIGGERS],
        )
        present = cursor.fetchone()[0]
    if present != 1 + len(_SQLITE_TRIGGERS):
        logger.warning("catalog search: rebuilding the SQLite FTS index and its triggers")
        install_search_index(connection)
