"""The back office's payments list and «Дебиторка» (SPEC P-BO-2, P-PAY-2), and the orders
changelist's payment column and filter."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kabinet.accounts.models import User
from kabinet.pharma.models import Organisation
from kabinet.pharma.payments import services as payment_services
from kabinet.pharma.payments.credit import outstanding_debt_kopecks
from kabinet.pharma.payments.models import Payment
from kabinet.pharma.payments.statements import upload_statement
from tests.pharma.conftest import PASSWORD, client_for
from tests.pharma.orders.conftest import build_catalog
from tests.pharma.payments.statements import TOTAL, for_invoice, paying, place, statement
from tests.pharma.payments.test_refunds import pay_at_bank

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("pharma:payment-list")
RECEIVABLES = reverse("pharma:receivables")


@pytest.fixture
def catalog(pharmacy, moscow):
    return build_catalog(moscow)


@pytest.fixture
def cashier(db) -> User:
    user = User.objects.create_user(username="kassa", password=PASSWORD, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_payment", "view_organisation"])
    )
    return user


def staff(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def payments(pharmacy, other_pharmacy, catalog, cashier):
    """An online payment paid and one pending, and a bank payment from a statement."""
    online = place(pharmacy, method="online")
    paid_online = payment_services.start_online_payment(partner=pharmacy.admin, order_id=online.pk)
    # Paid on the test bank's page: the bank, too, knows it paid (a refund goes back there).
    pay_at_bank(paid_online, client_for(pharmacy.admin))
    waiting = place(pharmacy, method="online")
    pending = payment_services.start_online_payment(partner=pharmacy.admin, order_id=waiting.pk)
    by_invoice = place(pharmacy)
    upload_statement(
        file_name="x.txt",
        content=statement(paying(pharmacy.organisation, 40_000, for_invoice(by_invoice))),
        by=cashier,
    )
    bank = Payment.objects.get(provider="bank")
    # Yesterday's, to filter by date.
    Payment.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=1))
    return {"online": paid_online, "pending": pending, "bank": bank, "invoice_order": by_invoice}


def listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-payment="(\d+)"', response.content.decode())]


def test_the_list_shows_every_provider_newest_first_with_a_link_to_the_order(payments, cashier):
    client = staff(cashier)
    response = client.get(PAYMENTS)
    assert response.status_code == 200
    assert listed(response) == [payments["bank"].pk, payments["online"].pk, payments["pending"].pk]
    html = response.content.decode()
    assert "банковская выписка" in html and "тестовый банк" in html
    assert "400,00\u00a0₽" in html
    # Without the permission to view orders, the order number is text, not a link.
    assert reverse("admin:pharma_order_change", args=[payments["bank"].order_id]) not in html
    statement_url = reverse(
        "pharma:statement-detail", args=[payments["bank"].statement_documents.get().statement_id]
    )
    assert statement_url not in html
    cashier.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "view_bankstatement"])
    )
    html = staff(User.objects.get(pk=cashier.pk)).get(PAYMENTS).content.decode()
    assert reverse("admin:pharma_order_change", args=[payments["bank"].order_id]) in html
    # A bank payment links to the statement document it came from.
    assert f"{statement_url}#doc-" in html


def test_filters_by_status_provider_date_and_order(payments, cashier):
    client = staff(cashier)
    assert listed(client.get(PAYMENTS, {"status": "pending"})) == [payments["pending"].pk]
    assert listed(client.get(PAYMENTS, {"provider": "bank"})) == [payments["bank"].pk]
    assert listed(client.get(PAYMENTS, {"provider": "test_bank", "status": "succeeded"})) == [
        payments["online"].pk
    ]
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    assert listed(client.get(PAYMENTS, {"date_to": yesterday.isoformat()})) == [
        payments["pending"].pk
    ]
    assert listed(client.get(PAYMENTS, {"date_from": today.isoformat()})) == [
        payments["bank"].pk,
        payments["online"].pk,
    ]
    number = payments["invoice_order"].number
    assert listed(client.get(PAYMENTS, {"q": number})) == [payments["bank"].pk]
    # A filter that is not understood is said so, and the list is not narrowed by it.
    response = client.get(PAYMENTS, {"status": "stolen"})
    assert "Некоторые условия не распознаны" in response.content.decode()
    assert len(listed(response)) == 3


def test_payments_and_receivables_are_for_staff_with_the_permission(payments, pharmacy, cashier):
    for url in (PAYMENTS, RECEIVABLES):
        assert client_for(pharmacy.admin).get(url).status_code == 302
        assert Client().get(url).status_code == 302
        clerk = User.objects.create_user(username=f"clerk{len(url)}", is_staff=True)
        assert staff(clerk).get(url).status_code == 403
        assert staff(cashier).get(url).status_code == 200


def test_receivables_show_limit_debt_and_what_is_left(pharmacy, other_pharmacy, catalog, cashier):
    org = pharmacy.organisation
    Organisation.objects.filter(pk=org.pk).update(credit_limit_kopecks=500_000)
    Organisation.objects.filter(pk=other_pharmacy.organisation.pk).update(credit_limit_kopecks=0)
    deferred = place(pharmacy, method="deferred")
    place(pharmacy, method="deferred")
    invoice = place(pharmacy)
    upload_statement(
        file_name="x.txt",
        content=statement(
            paying(org, 100_000, for_invoice(deferred), number="1"),
            paying(org, 4_000, for_invoice(invoice), number="2"),
        ),
        by=cashier,
    )
    debt = 2 * TOTAL - 100_000
    assert outstanding_debt_kopecks(organisation_id=org.pk) == debt
    html = staff(cashier).get(RECEIVABLES).content.decode()
    row = re.search(rf'<tr data-organisation="{org.pk}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert f'data-debt="{debt}"' in row
    assert f'data-available="{500_000 - debt}"' in row
    assert f'data-invoices="{TOTAL - 4_000}"' in row
    assert "5\u202f000,00\u00a0₽" in row  # the limit
    # «Вита» has no limit and owes nothing: listed only when asked for everyone.
    assert f'data-organisation="{other_pharmacy.organisation.pk}"' not in html
    everyone = staff(cashier).get(RECEIVABLES, {"all": "1"}).content.decode()
    assert f'data-organisation="{other_pharmacy.organisation.pk}"' in everyone
    found = staff(cashier).get(RECEIVABLES, {"q": other_pharmacy.organisation.inn, "all": "1"})
    assert re.findall(r'data-organisation="(\d+)"', found.content.decode()) == [
        str(other_pharmacy.organisation.pk)
    ]


def test_a_debt_over_a_lowered_limit_is_flagged(pharmacy, catalog, cashier):
    org = pharmacy.organisation
    Organisation.objects.filter(pk=org.pk).update(credit_limit_kopecks=500_000)
    place(pharmacy, method="deferred")
    Organisation.objects.filter(pk=org.pk).update(credit_limit_kopecks=100_000)
    html = staff(cashier).get(RECEIVABLES).content.decode()
    assert 'class="over-limit"' in html
    assert "сверх лимита 540,00\u00a0₽" in html
    assert 'data-available="0"' in html


def test_orders_changelist_shows_paid_and_filters_by_payment(pharmacy, catalog, manager, cashier):
    unpaid, part, full = place(pharmacy), place(pharmacy), place(pharmacy)
    org = pharmacy.organisation
    upload_statement(
        file_name="x.txt",
        content=statement(
            paying(org, 10_000, for_invoice(part), number="1"),
            paying(org, TOTAL + 100, for_invoice(full), number="2"),
        ),
        by=cashier,
    )
    client = staff(manager)
    changelist = reverse("admin:pharma_order_changelist")

    def numbers(**params) -> set[str]:
        html = client.get(changelist, params).content.decode()
        return {o.number for o in (unpaid, part, full) if o.number in html}

    assert numbers(paid="no") == {unpaid.number}
    assert numbers(paid="part") == {part.number}
    assert numbers(paid="yes") == {full.number}
    assert numbers(paid="over") == {full.number}
    assert "100,00\u00a0₽" in client.get(changelist).content.decode()
    page = client.get(reverse("admin:pharma_order_change", args=[full.pk])).content.decode()
    assert "· bank · 1\u202f541,00\u00a0₽ · оплачен</li>" in page
    assert f"{reverse('pharma:payment-list')}?q=" in page


# --- a refund decided by a person --------------------------------------------------------------


def refund_form_key(html: str, payment_pk: int) -> str:
    form = html.split(f'data-refund-form="{payment_pk}"', 1)[1].split("</form>", 1)[0]
    return re.search(r'name="key" value="([0-9a-f]+)"', form).group(1)


def test_staff_with_the_permission_refunds_part_of_an_online_payment_once(payments, cashier):
    from kabinet.core.audit import AuditEntry
    from kabinet.pharma.payments.models import Refund, RefundState

    online = payments["online"]
    client = staff(cashier)
    # Only those who may change payments see the form, and only on refundable payments.
    assert 'data-refund-form="' not in client.get(PAYMENTS).content.decode()
    cashier.user_permissions.add(Permission.objects.get(codename="change_payment"))
    client = staff(cashier)
    html = client.get(PAYMENTS).content.decode()
    assert f'data-refund-form="{online.pk}"' in html
    assert f'data-refund-form="{payments["bank"].pk}"' not in html  # returned by a person
    assert f'data-refund-form="{payments["pending"].pk}"' not in html  # nothing received
    key = refund_form_key(html, online.pk)

    url = reverse("pharma:payment-refund", args=[online.pk])
    form = {"amount": "100,50", "reason": "Бой при доставке", "key": key}
    response = client.post(url, form)
    assert response.status_code == 302
    (refund,) = Refund.objects.all()
    assert (refund.payment_id, refund.amount_kopecks, refund.status) == (
        online.pk,
        10_050,
        RefundState.SUCCEEDED,
    )
    online.order.refresh_from_db()
    assert online.order.paid_kopecks == TOTAL - 10_050
    entry = AuditEntry.objects.get(action="pharma.payment.refund")
    assert (entry.actor_id, entry.reason) == (cashier.pk, "Бой при доставке")

    client.post(url, form)  # the same form again: the same refund
    assert Refund.objects.count() == 1

    # More than is left of the payment is refused, and nothing changes.
    too_much = {"amount": "99999", "reason": "x", "key": "other-key"}
    response = client.post(url, too_much, follow=True)
    assert "Вернуть можно не больше" in response.content.decode()
    assert Refund.objects.count() == 1


def test_a_refund_needs_the_permission_and_a_positive_amount(payments, cashier):
    from kabinet.pharma.payments.models import Refund

    url = reverse("pharma:payment-refund", args=[payments["online"].pk])
    form = {"amount": "10", "reason": "x", "key": "k1"}
    assert staff(cashier).post(url, form).status_code == 403
    cashier.user_permissions.add(Permission.objects.get(codename="change_payment"))
    response = staff(cashier).post(url, {**form, "amount": "0"}, follow=True)
    assert response.status_code == 200
    assert not Refund.objects.exists()
    bank_url = reverse("pharma:payment-refund", args=[payments["bank"].pk])
    response = staff(cashier).post(bank_url, form, follow=True)
    assert "возвращают вручную" in response.content.decode()
    assert not Refund.objects.exists()
    assert (
        staff(cashier).post(reverse("pharma:payment-refund", args=[999999]), form).status_code
        == 404
    )
