"""Two buyers of one pharmacy change one saved list at the same moment (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kabinet.pharma.models import Authority
from kabinet.pharma.orders import saved_lists
from kabinet.pharma.orders.models import SavedList, SavedListLine
from kabinet.pharma.orders.saved_lists import NameTaken
from tests.pharma.conftest import _partner

from .conftest import build_catalog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def _race(monkeypatch, name: str, calls) -> list[str]:
    """Run the calls in two threads that both pass `saved_lists.<name>` before going on."""
    real = getattr(saved_lists, name)
    gate = threading.Barrier(len(calls))

    def held(*args, **kwargs):
        result = real(*args, **kwargs)
        gate.wait(timeout=10)
        return result

    monkeypatch.setattr(saved_lists, name, held)
    outcomes: list[str] = []

    def run(call):
        try:
            call()
            outcomes.append("ok")
        except NameTaken:
            outcomes.append("taken")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_buyers_add_the_same_product_at_once(pharmacy, moscow, monkeypatch):
    build_catalog(moscow)
    buyer = _partner(pharmacy.organisation, "zdorovie-buyer", [Authority.ORDER])
    saved = saved_lists.create_list(partner=pharmacy.admin, name="Еженедельный заказ")
    # Both read the list before either locks it: without the lock both would insert the line.
    outcomes = _race(
        monkeypatch,
        "list_of",
        [
            lambda partner=partner: saved_lists.add_to_list(
                partner=partner, list_id=saved.pk, product_code="P001", quantity=5
            )
            for partner in (pharmacy.admin, buyer)
        ],
    )
    assert outcomes == ["ok", "ok"]
    assert list(SavedListLine.objects.values_list("product__code", "quantity")) == [("P001", 10)]


def test_two_lists_of_one_name_at_once(pharmacy, moscow, monkeypatch):
    build_catalog(moscow)
    buyer = _partner(pharmacy.organisation, "zdorovie-buyer", [Authority.ORDER])
    # Both find the name free before either inserts: the unique index decides.
    outcomes = _race(
        monkeypatch,
        "name_key",
        [
            lambda partner=partner, name=name: saved_lists.create_list(partner=partner, name=name)
            for partner, name in ((pharmacy.admin, "Сезон ОРВИ"), (buyer, "сезон орви"))
        ],
    )
    assert sorted(outcomes) == ["ok", "taken"]
    assert SavedList.objects.count() == 1
