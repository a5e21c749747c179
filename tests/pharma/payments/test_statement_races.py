"""One bank document applied once when two uploads (or an upload and a manual assignment) run at
the same moment (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kabinet.accounts.models import User
from kabinet.pharma.orders.models import Order
from kabinet.pharma.payments import statements as service
from kabinet.pharma.payments.models import BankStatement, Payment
from tests.pharma.orders.conftest import build_catalog
from tests.pharma.payments.statements import TOTAL, for_invoice, paying, place, statement

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def run_together(*calls) -> list[object]:
    """Run the calls in threads at once; their results (or exceptions) in call order."""
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            outcomes[index] = call()
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def gate_after_parsing(monkeypatch, parties: int) -> None:
    """Both uploads have read the file before either opens its transaction."""
    gate = threading.Barrier(parties)
    real = service.parse_statement

    def parse(data):
        parsed = real(data)
        gate.wait(timeout=10)
        return parsed

    monkeypatch.setattr(service, "parse_statement", parse)


def test_the_same_statement_uploaded_twice_at_once_is_applied_once(pharmacy, moscow, monkeypatch):
    build_catalog(moscow)
    a, b = place(pharmacy), place(pharmacy)
    org = pharmacy.organisation
    data = statement(
        paying(org, TOTAL, for_invoice(a), number="1"),
        paying(org, 40_000, for_invoice(b), number="2"),
    )
    staff = User.objects.create_user(username="buh", is_staff=True)
    gate_after_parsing(monkeypatch, 2)

    results = run_together(
        lambda: service.upload_statement(file_name="1.txt", content=data, by=staff),
        lambda: service.upload_statement(file_name="2.txt", content=data, by=staff),
    )

    assert all(isinstance(r, BankStatement) for r in results), results
    counts = sorted(
        (s.applied_count, s.duplicate_count) for s in BankStatement.objects.order_by("pk")
    )
    assert counts == [(0, 2), (2, 0)]
    assert Payment.objects.filter(provider=service.BANK_PROVIDER).count() == 2
    assert Order.objects.get(pk=a.pk).paid_kopecks == TOTAL
    assert Order.objects.get(pk=b.pk).paid_kopecks == 40_000


def test_an_upload_and_a_manual_assignment_of_one_document_at_once_apply_it_once(
    pharmacy, moscow, monkeypatch
):
    build_catalog(moscow)
    a, b = place(pharmacy), place(pharmacy)
    org = pharmacy.organisation
    staff = User.objects.create_user(username="buh", is_staff=True)
    # The bank sent the document first without the invoice number, then with it.
    first = service.upload_statement(
        file_name="1.txt",
        content=statement(paying(org, 30_000, "Оплата по договору", number="7")),
        by=staff,
    )
    unmatched = first.documents.get()
    again = statement(paying(org, 30_000, for_invoice(a), number="7"))

    gate = threading.Barrier(2)
    real_lock = service._lock_open_invoices

    def lock(documents):
        gate.wait(timeout=10)
        return real_lock(documents)

    monkeypatch.setattr(service, "_lock_open_invoices", lock)
    real_assign_lookup = service.normalise_order_number

    def normalise(text):
        gate.wait(timeout=10)
        return real_assign_lookup(text)

    monkeypatch.setattr(service, "normalise_order_number", normalise)

    results = run_together(
        lambda: service.upload_statement(file_name="2.txt", content=again, by=staff),
        lambda: service.assign_document(document_id=unmatched.pk, order_number=b.number, by=staff),
    )

    assert not any(isinstance(r, Exception) for r in results), results
    assert Payment.objects.filter(provider=service.BANK_PROVIDER).count() == 1
    paid = Order.objects.get(pk=a.pk).paid_kopecks + Order.objects.get(pk=b.pk).paid_kopecks
    assert paid == 30_000
    outcomes = sorted(
        [
            BankStatement.objects.get(file_name="2.txt").documents.get().outcome,
            type(unmatched).objects.get(pk=unmatched.pk).outcome,
        ]
    )
    assert outcomes == ["duplicate", "partial"]
