"""Bank statements in the back office (SPEC P-NEXT-4): upload, match, apply once, assign."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kabinet.accounts.models import User
from kabinet.core.errors import NotFound, RuleViolation
from kabinet.core.models import AuditEntry
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.models import Order, OrderStatus
from kabinet.pharma.payments import statements as service
from kabinet.pharma.payments.bank_statement import StatementError, parse_statement
from kabinet.pharma.payments.models import (
    BankStatement,
    BankStatementDocument,
    Payment,
    PaymentState,
    StatementOutcome,
)
from kabinet.pharma.payments.statements import (
    BANK_PROVIDER,
    StatementRefused,
    assign_document,
    document_key,
    normalise_order_number,
    upload_statement,
)
from tests.pharma.conftest import PASSWORD, client_for, emails_to
from tests.pharma.orders.conftest import build_catalog
from tests.pharma.payments.statements import (
    TOTAL,
    for_invoice,
    outgoing,
    paying,
    place,
    statement,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(pharmacy, moscow):
    return build_catalog(moscow)


@pytest.fixture
def accountant(db) -> User:
    """Staff allowed to see and upload statements, nothing else."""
    user = User.objects.create_user(username="buh", password=PASSWORD, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_bankstatement", "upload_bankstatement"])
    )
    return user


@pytest.fixture
def orders(pharmacy, catalog) -> dict[str, Order]:
    return {
        "a": place(pharmacy),
        "b": place(pharmacy),
        "deferred": _deferred(pharmacy),
    }


def _deferred(pharmacy) -> Order:
    pharmacy.organisation.credit_limit_kopecks = 1_000_000
    pharmacy.organisation.save(update_fields=["credit_limit_kopecks"])
    return place(pharmacy, method="deferred")


def paid(order: Order) -> int:
    return Order.objects.get(pk=order.pk).paid_kopecks


def outcomes(statement_row: BankStatement) -> list[str]:
    return list(statement_row.documents.order_by("position").values_list("outcome", flat=True))


def sample_file(pharmacy, orders) -> bytes:
    org = pharmacy.organisation
    return statement(
        paying(org, TOTAL, for_invoice(orders["a"]), number="101"),
        paying(org, 50_000, f"Частичная оплата сч. {orders['b'].number}", number="102"),
        outgoing(300_000),
        paying(org, TOTAL + 10_000, for_invoice(orders["deferred"]), number="103"),
        paying(org, 25_000, "Оплата за медикаменты по договору ФД-1", number="104"),
    )


def test_an_upload_applies_the_matched_payments_once_each(pharmacy, orders, accountant):
    org = pharmacy.organisation
    data = sample_file(pharmacy, orders)
    emails_before = len(emails_to(pharmacy.admin.user.email))

    row = upload_statement(file_name="kl_to_1c.txt", content=data, by=accountant)

    assert outcomes(row) == ["paid", "partial", "outgoing", "overpaid", "unmatched"]
    assert (row.documents_count, row.incoming_count) == (5, 4)
    assert (row.applied_count, row.unmatched_count, row.duplicate_count) == (3, 1, 0)
    assert row.applied_kopecks == TOTAL + 50_000 + TOTAL + 10_000
    assert (row.account, row.file_name, row.uploaded_by) == (
        service.our_account(),
        "kl_to_1c.txt",
        accountant,
    )
    assert paid(orders["a"]) == TOTAL
    assert paid(orders["b"]) == 50_000
    # The overpayment is credited whole: the money came; the page tells staff to settle it.
    assert paid(orders["deferred"]) == TOTAL + 10_000
    payments = Payment.objects.filter(provider=BANK_PROVIDER).order_by("id")
    assert [(p.order_id, p.amount_kopecks, p.status) for p in payments] == [
        (orders["a"].pk, TOTAL, PaymentState.SUCCEEDED),
        (orders["b"].pk, 50_000, PaymentState.SUCCEEDED),
        (orders["deferred"].pk, TOTAL + 10_000, PaymentState.SUCCEEDED),
    ]
    docs = {d.number: d for d in row.documents.all()}
    assert docs["101"].payment == payments[0]
    assert docs["101"].key == payments[0].provider_payment_id
    assert docs["102"].due_kopecks == TOTAL
    assert docs["102"].still_due_kopecks == TOTAL - 50_000
    assert docs["103"].overpaid_kopecks == 10_000
    assert docs["104"].reason == "no_invoice_number"
    assert docs["104"].order is None and docs["104"].payment is None
    assert docs["900"].key == ""
    # The buyer gets the «paid» e-mail for each applied document.
    mails = emails_to(pharmacy.admin.user.email)[emails_before:]
    assert [m.template for m in mails] == ["pharma_order_paid"] * 3
    assert AuditEntry.objects.filter(action="pharma.statement.upload").count() == 1
    assert org.inn == docs["101"].payer_inn


def test_the_same_file_again_applies_nothing(pharmacy, orders, accountant):
    data = sample_file(pharmacy, orders)
    upload_statement(file_name="day.txt", content=data, by=accountant)
    payments_before = Payment.objects.count()
    paid_before = {k: paid(o) for k, o in orders.items()}
    emails_before = len(emails_to(pharmacy.admin.user.email))

    again = upload_statement(file_name="day-again.txt", content=data, by=accountant)

    assert outcomes(again) == ["duplicate", "duplicate", "outgoing", "duplicate", "unmatched"]
    assert (again.applied_count, again.applied_kopecks, again.duplicate_count) == (0, 0, 3)
    assert Payment.objects.count() == payments_before
    assert {k: paid(o) for k, o in orders.items()} == paid_before
    assert len(emails_to(pharmacy.admin.user.email)) == emails_before
    first_doc = again.documents.get(number="101")
    assert first_doc.order_id == orders["a"].pk
    assert orders["a"].number in first_doc.message


def test_a_document_in_the_next_days_statement_is_not_applied_again(pharmacy, orders, accountant):
    org = pharmacy.organisation
    monday = paying(org, 50_000, for_invoice(orders["b"]), number="102")
    upload_statement(file_name="mon.txt", content=statement(monday), by=accountant)
    tuesday = upload_statement(
        file_name="tue.txt",
        content=statement(monday, paying(org, 40_000, for_invoice(orders["b"]), number="110")),
        by=accountant,
    )
    assert outcomes(tuesday) == ["duplicate", "partial"]
    assert paid(orders["b"]) == 90_000
    assert tuesday.documents.get(number="110").due_kopecks == TOTAL - 50_000


def test_a_document_twice_in_one_file_is_applied_once(pharmacy, orders, accountant):
    doc = paying(pharmacy.organisation, 20_000, for_invoice(orders["a"]))
    row = upload_statement(file_name="x.txt", content=statement(doc, doc), by=accountant)
    assert outcomes(row) == ["partial", "duplicate"]
    assert paid(orders["a"]) == 20_000
    assert "строке" in row.documents.get(position=2).message


def test_only_open_invoices_are_matched(pharmacy, orders, accountant, catalog):
    online = place(pharmacy, method="online")
    order_services.cancel_order(partner=pharmacy.admin, order_id=orders["b"].pk)
    org = pharmacy.organisation
    row = upload_statement(
        file_name="x.txt",
        content=statement(
            paying(org, TOTAL, for_invoice(online), number="1"),
            paying(org, TOTAL, for_invoice(orders["b"]), number="2"),
        ),
        by=accountant,
    )
    assert outcomes(row) == ["unmatched", "unmatched"]
    assert set(row.documents.values_list("reason", flat=True)) == {"unknown_invoice"}
    assert Payment.objects.filter(provider=BANK_PROVIDER).count() == 0


def test_another_payers_inn_is_left_for_a_person_with_the_suspected_invoice(
    pharmacy, orders, accountant
):
    row = upload_statement(
        file_name="x.txt",
        content=statement(
            paying(pharmacy.organisation, TOTAL, for_invoice(orders["a"]), inn="7736207543")
        ),
        by=accountant,
    )
    doc = row.documents.get()
    assert (doc.outcome, doc.reason, doc.suggested_number) == (
        "unmatched",
        "payer_inn_mismatch",
        orders["a"].number,
    )
    assert paid(orders["a"]) == 0


@pytest.mark.parametrize(
    ("mangle", "line"),
    [
        (lambda text: text.replace("Сумма=1540.00", "Сумма=1540,00", 1), 23),
        (lambda text: text.replace("КонецФайла\r\n", ""), None),
        (lambda text: text.replace("Дата=25.11.2026", "Дата=31.11.2026", 1), 22),
    ],
)
def test_a_malformed_file_is_refused_whole_and_nothing_is_stored(
    pharmacy, orders, accountant, mangle, line
):
    good = sample_file(pharmacy, orders).decode("cp1251")
    bad = mangle(good).encode("cp1251")
    with pytest.raises(StatementError) as refused:
        upload_statement(file_name="bad.txt", content=bad, by=accountant)
    if line is not None:
        assert refused.value.line == line
        assert refused.value.message.startswith(f"Строка {line}:")
    assert BankStatement.objects.count() == 0
    assert BankStatementDocument.objects.count() == 0
    assert Payment.objects.count() == 0
    assert all(paid(o) == 0 for o in orders.values())


def test_a_statement_of_another_account_is_refused(pharmacy, orders, accountant):
    data = statement(
        paying(pharmacy.organisation, TOTAL, for_invoice(orders["a"])),
        account="40702810000000099999",
    )
    with pytest.raises(StatementRefused, match="40702810000000099999"):
        upload_statement(file_name="x.txt", content=data, by=accountant)
    assert BankStatement.objects.count() == 0
    assert paid(orders["a"]) == 0


def test_the_document_key_is_the_payers_account_date_number_and_amount(pharmacy, orders):
    (doc,) = parse_statement(
        statement(paying(pharmacy.organisation, 12_345, "x", number="77"))
    ).documents
    assert document_key(doc) == f"{doc.payer_account}/20261125/77/12345"


# --- manual assignment ----------------------------------------------------------------------


@pytest.fixture
def unmatched(pharmacy, orders, accountant) -> BankStatementDocument:
    row = upload_statement(
        file_name="x.txt",
        content=statement(paying(pharmacy.organisation, 60_000, "Оплата по договору ФД-1")),
        by=accountant,
    )
    return row.documents.get()


def test_staff_assign_an_unmatched_document_to_an_order(unmatched, orders, accountant):
    doc = assign_document(document_id=unmatched.pk, order_number=orders["a"].number, by=accountant)
    assert (doc.outcome, doc.order, doc.assigned_by) == ("partial", orders["a"], accountant)
    assert (doc.due_kopecks, doc.difference_kopecks) == (TOTAL, 60_000 - TOTAL)
    assert doc.payment.provider_payment_id == unmatched.key
    assert doc.payment.amount_kopecks == 60_000
    assert paid(orders["a"]) == 60_000
    statement_row = BankStatement.objects.get(pk=unmatched.statement_id)
    assert (statement_row.applied_count, statement_row.unmatched_count) == (1, 0)
    assert statement_row.applied_kopecks == 60_000
    assert AuditEntry.objects.filter(action="pharma.statement.assign").count() == 1
    # Once placed it cannot be placed again, on this order or another.
    with pytest.raises(RuleViolation):
        assign_document(document_id=unmatched.pk, order_number=orders["b"].number, by=accountant)
    assert paid(orders["b"]) == 0
    assert Payment.objects.filter(provider=BANK_PROVIDER).count() == 1


def test_the_order_number_may_be_typed_short(unmatched, orders, accountant):
    year, sequence = orders["b"].number.split("-")[1:]
    assert normalise_order_number(f" {year}-{int(sequence)} ") == orders["b"].number
    assert normalise_order_number(f"z-{year}-{sequence}") == orders["b"].number
    doc = assign_document(
        document_id=unmatched.pk, order_number=f"{year}-{int(sequence)}", by=accountant
    )
    assert doc.order == orders["b"]


def test_an_unknown_or_cancelled_order_is_refused_and_nothing_changes(
    unmatched, orders, pharmacy, accountant
):
    with pytest.raises(NotFound):
        assign_document(document_id=unmatched.pk, order_number="З-1999-000001", by=accountant)
    order_services.cancel_order(partner=pharmacy.admin, order_id=orders["a"].pk)
    with pytest.raises(RuleViolation, match="отменён"):
        assign_document(document_id=unmatched.pk, order_number=orders["a"].number, by=accountant)
    unmatched.refresh_from_db()
    assert unmatched.outcome == StatementOutcome.UNMATCHED
    assert Payment.objects.filter(provider=BANK_PROVIDER).count() == 0


def test_assigning_a_document_already_applied_elsewhere_records_the_duplicate(
    pharmacy, unmatched, orders, accountant
):
    # The same document comes again with the invoice number filled in by the bank's fix-up.
    key = unmatched.key
    applied = upload_statement(
        file_name="y.txt",
        content=statement(paying(pharmacy.organisation, 60_000, "Оплата по договору ФД-1")),
        by=accountant,
    ).documents.get()
    assert applied.key == key and applied.outcome == "unmatched"
    assign_document(document_id=applied.pk, order_number=orders["a"].number, by=accountant)

    doc = assign_document(document_id=unmatched.pk, order_number=orders["b"].number, by=accountant)

    assert doc.outcome == StatementOutcome.DUPLICATE
    assert doc.order == orders["a"]
    assert (paid(orders["a"]), paid(orders["b"])) == (60_000, 0)
    assert Payment.objects.filter(provider=BANK_PROVIDER).count() == 1
    statement_row = BankStatement.objects.get(pk=unmatched.statement_id)
    assert (statement_row.unmatched_count, statement_row.duplicate_count) == (0, 1)


def test_an_overpaying_manual_assignment_says_so(pharmacy, orders, accountant):
    row = upload_statement(
        file_name="x.txt",
        content=statement(paying(pharmacy.organisation, TOTAL + 500, "Оплата по договору ФД-1")),
        by=accountant,
    )
    doc = assign_document(
        document_id=row.documents.get().pk, order_number=orders["a"].number, by=accountant
    )
    assert (doc.outcome, doc.overpaid_kopecks) == ("overpaid", 500)
    assert "Переплата 5,00" in doc.message


# --- pages ----------------------------------------------------------------------------------


def staff_client(user: User):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def upload(client, data: bytes, name: str = "kl_to_1c.txt"):
    return client.post(
        reverse("pharma:statement-list"),
        {"file": SimpleUploadedFile(name, data, content_type="text/plain")},
    )


def test_upload_page_applies_and_shows_each_outcome(pharmacy, orders, accountant):
    client = staff_client(accountant)
    assert client.get(reverse("pharma:statement-list")).status_code == 200
    response = upload(client, sample_file(pharmacy, orders))
    row = BankStatement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("pharma:statement-detail", args=[row.pk])
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Выписка загружена: разнесено 3, не разнесено 1, уже проведены ранее 0." in html
    assert 'data-outcome="overpaid"' in html
    assert "Переплата 100,00\u00a0₽" in html
    assert "data-overpaid" in html
    assert "В назначении платежа нет номера счёта." in html
    assert html.count('class="assign-form"') == 1
    listing = client.get(reverse("pharma:statement-list")).content.decode()
    assert "kl_to_1c.txt" in listing


def test_a_malformed_upload_shows_the_line_and_stores_nothing(pharmacy, orders, accountant):
    bad = sample_file(pharmacy, orders).decode("cp1251").replace("Сумма=1540.00", "Сумма=1 540")
    response = upload(staff_client(accountant), bad.encode("cp1251"))
    assert response.status_code == 400
    assert "Строка 23: сумма «1 540»" in response.content.decode()
    assert BankStatement.objects.count() == 0
    assert Payment.objects.count() == 0


def test_the_same_file_uploaded_again_is_flagged(pharmacy, orders, accountant):
    client = staff_client(accountant)
    data = sample_file(pharmacy, orders)
    upload(client, data)
    response = upload(client, data, name="again.txt")
    html = client.get(response["Location"]).content.decode()
    assert "Этот же файл уже загружали" in html
    assert "уже проведены ранее 3" in html


def test_manual_assignment_through_the_page(unmatched, orders, accountant):
    client = staff_client(accountant)
    url = reverse("pharma:statement-assign", args=[unmatched.statement_id, unmatched.pk])
    refused = client.post(url, {"order_number": "З-1999-000001"})
    assert refused.status_code == 400
    assert "Заказа № З-1999-000001 нет." in refused.content.decode()
    done = client.post(url, {"order_number": orders["a"].number})
    assert done.status_code == 302
    unmatched.refresh_from_db()
    assert unmatched.outcome == "partial"
    assert paid(orders["a"]) == 60_000
    # A document of another statement is not reachable through this one's address.
    other = reverse("pharma:statement-assign", args=[unmatched.statement_id + 1, unmatched.pk])
    assert client.post(other, {"order_number": orders["b"].number}).status_code == 404


def test_who_may_see_and_upload_statements(pharmacy, orders, accountant, unmatched):
    data = sample_file(pharmacy, orders)
    urls = [
        reverse("pharma:statement-list"),
        reverse("pharma:statement-detail", args=[unmatched.statement_id]),
    ]
    assign_url = reverse("pharma:statement-assign", args=[unmatched.statement_id, unmatched.pk])
    # A partner user and a visitor go to the back office's login page; nothing is applied.
    for client in (client_for(pharmacy.admin), staff_client_anonymous()):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302
            assert reverse("admin:login") in response["Location"]
        assert upload(client, data).status_code == 302
        assert client.post(assign_url, {"order_number": orders["a"].number}).status_code == 302
    # Staff without the permission: 403.
    plain = User.objects.create_user(username="clerk", password=PASSWORD, is_staff=True)
    for url in urls:
        assert staff_client(plain).get(url).status_code == 403
    assert upload(staff_client(plain), data).status_code == 403
    # Allowed to look, not to upload or assign.
    viewer = User.objects.create_user(username="auditor", password=PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_bankstatement"))
    for url in urls:
        assert staff_client(viewer).get(url).status_code == 200
    assert upload(staff_client(viewer), data).status_code == 403
    assert staff_client(viewer).post(assign_url, {"order_number": "x"}).status_code == 403
    assert 'class="assign-form"' not in staff_client(viewer).get(urls[1]).content.decode()
    assert BankStatement.objects.count() == 1
    assert Payment.objects.filter(provider=BANK_PROVIDER).count() == 0
    assert Order.objects.get(pk=orders["a"].pk).status == OrderStatus.NEW


def staff_client_anonymous():
    from django.test import Client

    return Client()
