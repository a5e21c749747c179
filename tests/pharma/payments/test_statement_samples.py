"""The demo's bank statements: the checked-in sample, `kabinet pharma statement-sample`, and the
demo's orders and manager that make them useful (SPEC P-NEXT-4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from kabinet.accounts.models import User
from kabinet.pharma import demo
from kabinet.pharma.models import Organisation
from kabinet.pharma.orders.models import Order, PaymentMethod
from kabinet.pharma.payments.bank_statement import parse_statement
from kabinet.pharma.payments.statements import our_account, upload_statement
from tests.pharma.orders.conftest import build_catalog
from tests.pharma.payments.statements import place

pytestmark = pytest.mark.django_db

SAMPLE = (
    Path(demo.__file__).parent / "payments" / "samples" / "statement_demo_cp1251.txt"
).resolve()


@pytest.fixture
def catalog(pharmacy, moscow):
    return build_catalog(moscow)


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user(username="buh", is_staff=True)


def outcomes(statement) -> list[tuple[str, str]]:
    return list(statement.documents.order_by("position").values_list("outcome", "reason"))


def test_the_sample_is_a_statement_of_our_account(db):
    parsed = parse_statement(SAMPLE.read_bytes())
    assert parsed.encoding == "cp1251"
    assert parsed.accounts == (our_account(),)
    assert [d.number for d in parsed.documents] == ["120", "121", "122", "123", "45", "2001"]


def test_the_sample_pays_the_first_three_invoices_of_the_demo_pharmacy(pharmacy, catalog, staff):
    """On a fresh demo database the demo's three orders are invoices № 1, 2 and 3 of the
    demo pharmacy; here three orders of a pharmacy with its INN play them."""
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(inn=demo.ORG["inn"])
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=10**7)
    orders = [place(pharmacy), place(pharmacy), place(pharmacy, method="deferred")]
    for sequence, order in enumerate(orders, start=1):
        Order.objects.filter(pk=order.pk).update(number=f"З-2026-{sequence:06d}")

    statement = upload_statement(file_name=SAMPLE.name, content=SAMPLE.read_bytes(), by=staff)

    assert outcomes(statement) == [
        ("overpaid", ""),  # 100 000 ₽ for an order of 1 540 ₽ here; partial in the demo
        ("overpaid", ""),
        ("overpaid", ""),
        ("unmatched", "no_invoice_number"),
        ("unmatched", "payer_inn_mismatch"),
        ("outgoing", ""),
    ]
    assert [d.order_id for d in statement.documents.order_by("position")[:3]] == [
        o.pk for o in orders
    ]


def test_the_command_writes_a_statement_paying_the_open_invoices(
    pharmacy, catalog, staff, tmp_path
):
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=10**7)
    place(pharmacy, method="online")  # not an invoice: left out
    orders = [place(pharmacy), place(pharmacy), place(pharmacy, method="deferred")]
    out = tmp_path / "day.txt"

    call_command("pharma", "statement-sample", "--out", str(out))

    statement = upload_statement(file_name=out.name, content=out.read_bytes(), by=staff)
    assert outcomes(statement) == [
        ("paid", ""),
        ("partial", ""),
        ("overpaid", ""),
        ("unmatched", "no_invoice_number"),
        ("outgoing", ""),
    ]
    assert [d.order_id for d in statement.documents.order_by("position")[:3]] == [
        o.pk for o in orders
    ]
    assert statement.documents.get(position=3).overpaid_kopecks == 100_00


def test_the_command_says_what_to_do_without_open_invoices(db, tmp_path):
    with pytest.raises(CommandError, match="Открытых счетов нет"):
        call_command("pharma", "statement-sample", "--out", str(tmp_path / "x.txt"))
    assert not (tmp_path / "x.txt").exists()


def test_the_demo_places_its_orders_once_and_lets_its_manager_in(db):
    demo.load()
    demo.load()
    org = Organisation.objects.get(inn=demo.ORG["inn"])
    orders = Order.objects.filter(organisation=org).order_by("pk")
    assert [o.payment_method for o in orders] == [
        PaymentMethod.INVOICE,
        PaymentMethod.INVOICE,
        PaymentMethod.DEFERRED,
    ]
    assert org.credit_limit_kopecks == 500_000_00
    manager = User.objects.get(username=demo.MANAGER_LOGIN)
    client = Client()
    client.force_login(manager)
    for name in ("statement-list", "payment-list", "receivables", "stock", "backoffice"):
        assert client.get(reverse(f"pharma:{name}")).status_code == 200, name
    assert client.get(reverse("admin:pharma_order_changelist")).status_code == 200
    assert manager.has_perm("pharma.upload_bankstatement")
    nav = client.get(reverse("pharma:backoffice")).content.decode()
    for name in ("statement-list", "payment-list", "receivables", "stock", "import-list"):
        assert f'href="{reverse(f"pharma:{name}")}"' in nav
    assert f'href="{reverse("admin:pharma_order_changelist")}"' in nav
