"""Bank statements in the back office (SPEC P-NEXT-4): upload, match to invoices, apply, and
assign by hand what the matcher could not place.

The invoice of an order is the order: its number is the order's number, its buyer the order's
organisation, what is due its unpaid remainder. Open invoices are the orders by invoice or on
deferral that are neither cancelled nor paid in full.

Each incoming document becomes a `Payment` of the provider «bank» whose provider_payment_id
is derived from the document itself (`document_key`), so a document that comes again — in the
same file, in a re-uploaded file or in the next day's statement — is applied once: the unique
(provider, provider_payment_id) guarantees it, and the service looks the key up under the
order's row lock first so that the second upload reports it as already applied.

One upload is one transaction: a file the parser refuses stores nothing. The orders a file
could pay are locked (in primary-key order) before their dues are read, so two uploads at once
— or an upload and a manual assignment — apply each document once and see each other's
payments as if they had run one after the other.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.accounts.models import User
from kabinet.core import audit
from kabinet.core.errors import NotFound, RuleViolation, ValidationFailed
from kabinet.core.money import format_rub
from kabinet.pharma.orders.models import Order, OrderStatus, PaymentMethod
from kabinet.pharma.payments.bank_statement import (
    Match,
    MatchStatus,
    OpenInvoice,
    Statement,
    StatementDocument,
    match_payments,
    parse_statement,
    relevant_invoices,
)
from kabinet.pharma.payments.credit import unpaid_orders
from kabinet.pharma.payments.models import (
    APPLIED_OUTCOMES,
    BankStatement,
    BankStatementDocument,
    Payment,
    PaymentState,
    StatementOutcome,
)
from kabinet.pharma.payments.services import credit_order

BANK_PROVIDER = "bank"
MAX_STATEMENT_BYTES = 5 * 1024 * 1024
INVOICE_METHODS = (PaymentMethod.INVOICE, PaymentMethod.DEFERRED)

_OUTCOME_OF = {
    MatchStatus.PAID: StatementOutcome.PAID,
    MatchStatus.PARTIAL: StatementOutcome.PARTIAL,
    MatchStatus.OVERPAID: StatementOutcome.OVERPAID,
}


class StatementRefused(ValidationFailed):
    default_code = "statement_refused"


def our_account() -> str:
    """The distributor's settlement account: only payments credited to it are ours."""
    return settings.PHARMA_SUPPLIER["account"]


def document_key(doc: StatementDocument) -> str:
    """The provider_payment_id of a statement document, the same in every file that lists it.

    A payment order is known by its payer's account, its date and its number (banks number a
    payer's orders anew each year; the date tells those apart); the amount is part of the
    document too, and keeps two mistyped twins apart.
    """
    payer = doc.payer_account or f"ИНН{doc.payer_inn}"
    key = f"{payer}/{doc.date:%Y%m%d}/{doc.number}/{doc.amount_kopecks}"
    if len(key) > 64:
        return hashlib.sha256(key.encode()).hexdigest()
    return key


def outcome_for(difference_kopecks: int) -> StatementOutcome:
    """Paid in full, in part or with an overpayment: the payment minus what was due."""
    if difference_kopecks == 0:
        return StatementOutcome.PAID
    return StatementOutcome.PARTIAL if difference_kopecks < 0 else StatementOutcome.OVERPAID


# --- upload ---------------------------------------------------------------------------------


@dataclass
class _Row:
    """A document on its way to a BankStatementDocument row."""

    doc: StatementDocument
    key: str = ""
    outcome: str = ""
    reason: str = ""
    message: str = ""
    suggested_number: str = ""
    order_id: int | None = None
    payment: Payment | None = None
    due_kopecks: int = 0
    difference_kopecks: int = 0


def upload_statement(
    *, file_name: str, content: bytes, by: User, now: datetime | None = None
) -> BankStatement:
    """Read a 1CClientBankExchange file, match its incoming payments to open invoices and apply
    the matched ones, in one transaction; a malformed file is refused whole, nothing stored."""
    if not content.strip():
        raise StatementRefused(_("Файл пуст."), field="file")
    if len(content) > MAX_STATEMENT_BYTES:
        raise StatementRefused(
            _("Файл больше %(mb)d МБ: выписка столько не весит.")
            % {"mb": MAX_STATEMENT_BYTES // (1024 * 1024)},
            field="file",
        )
    parsed = parse_statement(content)
    account = our_account()
    accounts = {*parsed.accounts, *(section.account for section in parsed.sections)}
    if account not in accounts:
        raise StatementRefused(
            _("Это выписка по счёту %(theirs)s, а платежи покупателей приходят на счёт %(ours)s.")
            % {"theirs": ", ".join(sorted(a for a in accounts if a)) or "—", "ours": account},
            field="file",
        )
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        statement = _apply(
            parsed,
            file_name=file_name[:255],
            sha256=hashlib.sha256(content).hexdigest(),
            account=account,
            by=by,
            now=now,
        )
        audit.record(
            action="pharma.statement.upload",
            actor=by,
            obj=statement,
            data={
                "file": statement.file_name,
                "sha256": statement.sha256,
                "applied": statement.applied_count,
                "applied_kopecks": statement.applied_kopecks,
                "unmatched": statement.unmatched_count,
                "duplicates": statement.duplicate_count,
            },
        )
    return statement


def _apply(
    parsed: Statement, *, file_name: str, sha256: str, account: str, by: User, now: datetime
) -> BankStatement:
    rows = [_Row(doc=doc) for doc in parsed.documents]
    first_of: dict[str, _Row] = {}
    for row in rows:
        doc = row.doc
        if doc.payee_account != account:
            row.outcome = StatementOutcome.OUTGOING
            row.message = _("Не поступление на наш счёт — не разносится.")
            continue
        row.key = document_key(doc)
        if doc.amount_kopecks <= 0:
            row.outcome = StatementOutcome.UNMATCHED
            row.reason = "zero_amount"
            row.message = _("Нулевая сумма: разносить нечего.")
        elif row.key in first_of:
            row.outcome = StatementOutcome.DUPLICATE
            row.message = _("Повторяет документ в строке %(line)d этого же файла.") % {
                "line": first_of[row.key].doc.line
            }
        else:
            first_of[row.key] = row
    candidates = list(first_of.values())

    by_number = _lock_open_invoices([row.doc for row in candidates])
    # Under those locks: whoever applied these documents or paid these orders has committed.
    applied = {
        p.provider_payment_id: p
        for p in Payment.objects.filter(
            provider=BANK_PROVIDER, provider_payment_id__in=[row.key for row in candidates]
        ).select_related("order")
    }
    pending = []
    for row in candidates:
        if row.key in applied:
            _mark_duplicate(row, applied[row.key])
        else:
            pending.append(row)
    invoices = [invoice for invoice, _order_id in by_number.values()]
    matches = match_payments([row.doc for row in pending], invoices, our_account=account)
    assert len(matches) == len(pending)  # every pending document is credited to our account
    for row, match in zip(pending, matches, strict=True):
        _settle(row, match, by_number=by_number, now=now)

    statement = BankStatement.objects.create(
        file_name=file_name,
        sha256=sha256,
        account=account,
        sender=parsed.sender[:100],
        period_start=parsed.period_start or _first(s.period_start for s in parsed.sections),
        period_end=parsed.period_end or _first(s.period_end for s in parsed.sections),
        uploaded_by=by,
        uploaded_at=now,
        documents_count=len(rows),
        incoming_count=sum(row.outcome != StatementOutcome.OUTGOING for row in rows),
        applied_count=sum(row.outcome in APPLIED_OUTCOMES for row in rows),
        applied_kopecks=sum(
            row.doc.amount_kopecks for row in rows if row.outcome in APPLIED_OUTCOMES
        ),
        unmatched_count=sum(row.outcome == StatementOutcome.UNMATCHED for row in rows),
        duplicate_count=sum(row.outcome == StatementOutcome.DUPLICATE for row in rows),
    )
    BankStatementDocument.objects.bulk_create(
        _document(statement, position, row) for position, row in enumerate(rows, start=1)
    )
    return statement


def _first(values: Iterable[date | None]) -> date | None:
    return next((v for v in values if v is not None), None)


def _lock_open_invoices(
    documents: Sequence[StatementDocument],
) -> dict[str, tuple[OpenInvoice, int]]:
    """The open invoices the documents could pay, their orders locked: number → (invoice, id).

    The numbers are read first without a lock; whatever is due is read again under it, in
    primary-key order, so two uploads lock their common orders in the same order.
    """
    numbers = {
        number: pk
        for number, pk in _open_orders().exclude(number=None).values_list("number", "pk")
        if number
    }
    maybe = relevant_invoices(
        documents, [OpenInvoice(number=n, buyer_inn="", amount_due_kopecks=0) for n in numbers]
    )
    locked = (
        _open_orders()
        .select_for_update(of=("self",))
        .filter(pk__in=[numbers[inv.number] for inv in maybe])
        .select_related("organisation")
        .order_by("pk")
    )
    found: dict[str, tuple[OpenInvoice, int]] = {}
    for order in locked:
        number = order.number or ""  # only numbered orders were asked for
        found[number] = (
            OpenInvoice(
                number=number,
                buyer_inn=order.organisation.inn,
                amount_due_kopecks=order.unpaid_kopecks,
                issued_on=timezone.localdate(order.created_at),
            ),
            order.pk,
        )
    return found


def _open_orders() -> QuerySet[Order]:
    """The open invoices: orders by invoice or on deferral, not cancelled, not paid in full."""
    return unpaid_orders(*INVOICE_METHODS)


def _settle(
    row: _Row, match: Match, *, by_number: dict[str, tuple[OpenInvoice, int]], now: datetime
) -> None:
    row.message = match.message
    if match.status == MatchStatus.UNMATCHED:
        row.outcome = StatementOutcome.UNMATCHED
        row.reason = str(match.reason or "")
        row.suggested_number = match.invoice.number if match.invoice else ""
        row.due_kopecks = match.due_kopecks
        row.difference_kopecks = match.difference_kopecks
        return
    assert match.invoice is not None
    order_id = by_number[match.invoice.number][1]
    payment = _record_payment(
        order_id=order_id, key=row.key, amount_kopecks=row.doc.amount_kopecks, now=now
    )
    if payment is None:
        _mark_duplicate(row, _payment_by_key(row.key))
        return
    credit_order(payment, now=now)
    row.outcome = _OUTCOME_OF[match.status]
    row.order_id = order_id
    row.payment = payment
    row.due_kopecks = match.due_kopecks
    row.difference_kopecks = match.difference_kopecks


def _record_payment(
    *, order_id: int, key: str, amount_kopecks: int, now: datetime
) -> Payment | None:
    """A succeeded bank Payment of the document, or None if its key is already taken."""
    try:
        with transaction.atomic():
            return Payment.objects.create(
                order_id=order_id,
                provider=BANK_PROVIDER,
                provider_payment_id=key,
                amount_kopecks=amount_kopecks,
                status=PaymentState.SUCCEEDED,
                created_at=now,
                applied_at=now,
            )
    except IntegrityError:
        # Applied at this moment by someone else (a manual assignment to another order).
        return None


def _payment_by_key(key: str) -> Payment:
    return Payment.objects.select_related("order").get(
        provider=BANK_PROVIDER, provider_payment_id=key
    )


def _mark_duplicate(row: _Row, payment: Payment) -> None:
    row.outcome = StatementOutcome.DUPLICATE
    row.payment = payment
    row.order_id = payment.order_id
    row.message = _duplicate_message(payment)


def _duplicate_message(payment: Payment) -> str:
    applied = timezone.localtime(payment.applied_at or payment.created_at)
    return _("Уже проведён %(date)s по заказу № %(number)s.") % {
        "date": applied.strftime("%d.%m.%Y"),
        "number": payment.order.number,
    }


def _document(statement: BankStatement, position: int, row: _Row) -> BankStatementDocument:
    doc = row.doc
    return BankStatementDocument(
        statement=statement,
        position=position,
        line=doc.line,
        kind=doc.kind[:100],
        number=doc.number[:40],
        date=doc.date,
        amount_kopecks=doc.amount_kopecks,
        payer_name=doc.payer_name[:255],
        payer_inn=doc.payer_inn[:12],
        payer_account=doc.payer_account[:20],
        payee_account=doc.payee_account[:20],
        purpose=doc.purpose,
        key=row.key,
        outcome=row.outcome,
        reason=row.reason,
        message=row.message[:500],
        suggested_number=row.suggested_number[:40],
        order_id=row.order_id,
        payment=row.payment,
        due_kopecks=row.due_kopecks,
        difference_kopecks=row.difference_kopecks,
    )


# --- manual assignment ----------------------------------------------------------------------

_SHORT_NUMBER = re.compile(r"^(\d{4})-(\d+)$")
_FULL_NUMBER = re.compile(r"^[ЗZ3]-(\d{4})-(\d+)$")


def normalise_order_number(text: str) -> str:
    """«З-2026-000123» as typed: «з-2026-123», «Z-2026-000123», «2026-123» all find it."""
    value = re.sub(r"\s+", "", text).upper().replace("Ё", "Е")
    match = _FULL_NUMBER.match(value) or _SHORT_NUMBER.match(value)
    if match is None:
        return value
    year, sequence = match.groups()
    return Order.number_for(pk=int(sequence), year=int(year))


def assign_document(
    *, document_id: int, order_number: str, by: User, now: datetime | None = None
) -> BankStatementDocument:
    """Apply a document the matcher left for a person to the order staff name; the same
    Payment key as an automatic match, so the document is never applied twice either way."""
    number = normalise_order_number(order_number)
    if not number:
        raise ValidationFailed(_("Укажите номер заказа."), field="order_number")
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        doc = (
            BankStatementDocument.objects.select_for_update()
            .filter(pk=document_id)
            .select_related("statement")
            .first()
        )
        if doc is None:
            raise NotFound(_("Документ выписки не найден."))
        if doc.outcome != StatementOutcome.UNMATCHED or not doc.key or doc.amount_kopecks <= 0:
            raise RuleViolation(_("Этот документ уже разнесён или не разносится."))
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .filter(number=number)
            .first()
        )
        if order is None:
            raise NotFound(_("Заказа № %(number)s нет.") % {"number": number}, field="order_number")
        if order.status == OrderStatus.CANCELLED:
            raise RuleViolation(
                _("Заказ № %(number)s отменён: платёж на него не разносится.")
                % {"number": order.number},
                field="order_number",
            )
        existing = Payment.objects.filter(
            provider=BANK_PROVIDER, provider_payment_id=doc.key
        ).first()
        payment = existing or _record_payment(
            order_id=order.pk, key=doc.key, amount_kopecks=doc.amount_kopecks, now=now
        )
        if payment is None or existing is not None:
            # Applied meanwhile through another file or by a colleague: recorded, not repeated.
            payment = _payment_by_key(doc.key)
            doc.outcome = StatementOutcome.DUPLICATE
            doc.message = _duplicate_message(payment)
            doc.payment = payment
            doc.order_id = payment.order_id
            doc.save(update_fields=["outcome", "message", "payment", "order"])
            BankStatement.objects.filter(pk=doc.statement_id).update(
                unmatched_count=F("unmatched_count") - 1, duplicate_count=F("duplicate_count") + 1
            )
            return doc
        due = order.unpaid_kopecks
        credit_order(payment, now=now)
        doc.order = order
        doc.payment = payment
        doc.due_kopecks = due
        doc.difference_kopecks = doc.amount_kopecks - due
        doc.outcome = outcome_for(doc.difference_kopecks)
        doc.assigned_by = by
        doc.assigned_at = now
        message = _("Разнесён вручную на заказ № %(number)s.") % {"number": order.number}
        if doc.payer_inn != order.organisation.inn:
            message += " " + _("Плательщик — ИНН %(payer)s, покупатель — ИНН %(buyer)s.") % {
                "payer": doc.payer_inn or "—",
                "buyer": order.organisation.inn,
            }
        if doc.difference_kopecks > 0:
            message += " " + _("Переплата %(amount)s.") % {
                "amount": format_rub(doc.difference_kopecks)
            }
        doc.message = message
        doc.save(
            update_fields=[
                "order",
                "payment",
                "due_kopecks",
                "difference_kopecks",
                "outcome",
                "assigned_by",
                "assigned_at",
                "message",
            ]
        )
        BankStatement.objects.filter(pk=doc.statement_id).update(
            unmatched_count=F("unmatched_count") - 1,
            applied_count=F("applied_count") + 1,
            applied_kopecks=F("applied_kopecks") + doc.amount_kopecks,
        )
        audit.record(
            action="pharma.statement.assign",
            actor=by,
            obj=doc,
            data={"order": order.number, "amount_kopecks": doc.amount_kopecks, "key": doc.key},
        )
    return doc
