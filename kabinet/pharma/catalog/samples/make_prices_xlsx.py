"""Write prices.xlsx, the sample price file.

uv run python kabinet/pharma/catalog/samples/make_prices_xlsx.py
"""

from decimal import Decimal
from pathlib import Path

import openpyxl

# ЖНВЛП prices stay under their ceilings with Moscow's markups (registered price + markup + VAT).
PRICES = [
    ("100001", Decimal("33.90")),
    ("100002", Decimal("74.50")),
    ("100003", Decimal("112.00")),
    ("100004", Decimal("1420.00")),
    ("100005", Decimal("89.90")),
]


def main() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Цены"
    sheet.append(["Код", "Цена"])
    for code, price in PRICES:
        # Numbers as Excel keeps them; the importer reads them back without float noise.
        sheet.append([code, float(price)])
    book.save(Path(__file__).with_name("prices.xlsx"))


if __name__ == "__main__":
    main()
