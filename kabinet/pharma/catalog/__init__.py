"""The partner catalog (SPEC P-CAT, P-NEXT-2): products, stock by series, prices, promotions.

models.py     products, barcodes, warehouses, offers, price lists, markups, promotions, imports
search.py     search over trade name, МНН, manufacturer and barcode (FTS + trigram / FTS5)
pricing.py    an organisation's price for a product, promotions, ЖНВЛП ceilings applied
ceilings.py   the ЖНВЛП ceiling as a pure function of the registered price and markup bands
imports.py    catalog, price and stock imports from CSV/XLSX as a background job
delivery.py   the nearest delivery date from a branch's schedule (pure)
"""
