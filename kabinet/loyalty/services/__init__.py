"""Loyalty services: every write that touches several rows, takes a lock or has a side effect.

* `terminals` — till credentials (L-POS-3);
* `cards` — issue, activate, virtual cards, block, replace, look up, sell (L-CARD);
* `purchases` — validate, calculate and commit a receipt (L-EARN, L-SPEND, L-POS);
* `holds` — confirm, cancel, expire two-phase purchases (L-POS-4);
* `returns` — full and partial returns (L-SPEND-3);
* `ledger` — the balance cache and manual adjustments;
* `levels` — privilege levels (L-EARN-8).
"""
