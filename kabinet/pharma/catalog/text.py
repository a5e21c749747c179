"""Text normalisation shared by every write path of the catalog and by search.

`Product.search_text` is what search indexes (trigram/FTS on PostgreSQL, FTS5 on SQLite).
Whoever creates or changes a product — the demo, imports, the back office — sets it with
`search_text_for`, so the indexed text never depends on which path wrote the row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^0-9a-zа-я]+")


def normalise(text: str) -> str:
    """Lower case, ё → е, punctuation and hyphens to single spaces: «Но-шпа®» → «но шпа»."""
    lowered = text.lower().replace("ё", "е")
    return _NON_WORD.sub(" ", lowered).strip()


def search_text_for(
    *, trade_name: str, inn_name: str, manufacturer: str, barcodes: Iterable[str] = ()
) -> str:
    """The one indexed string of a product: names in normalised form, then its barcodes."""
    parts = [normalise(trade_name), normalise(inn_name), normalise(manufacturer), *barcodes]
    return " ".join(p for p in parts if p)
