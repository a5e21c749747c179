"""Paying orders (SPEC P-PAY-1, P-PAY-3): the invoice, online payment and its webhooks.

Who may pay which order is decided by `orders.selectors.order_of`: another organisation's
order is NotFound. A provider is never called inside a transaction (it may be a network call);
the Payment row is written after it answers. An order has at most one pending payment with a
provider (a partial unique index): clicks racing each other send the provider one derived
idempotency key, get one payment, and all land on its page. An event is applied under the
Payment row's lock and changes a payment once, so a webhook delivered twice, or twice at once,
changes the order's paid amount once. A success is the provider's word that the money was
taken: it is credited even to a payment we withdrew or an order cancelled meanwhile, and the
excess is refunded (`payments.refunds`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import Conflict, NotFound, RuleViolation
from kabinet.core.money import format_rub
from kabinet.pharma.models import PartnerUser
from kabinet.pharma.orders import selectors as order_selectors
from kabinet.pharma.orders.models import Order, OrderStatus
from kabinet.pharma.payments import refunds
from kabinet.pharma.payments.emails import email_buyer
from kabinet.pharma.payments.invoice_pdf import (
    BankAccount,
    InvoiceData,
    InvoiceLine,
    Party,
    render_invoice,
)
from kabinet.pharma.payments.models import Payment, PaymentState, Refund
from kabinet.pharma.payments.providers import get_provider, online_payment_enabled
from kabinet.pharma.payments.providers.base import (
    PaymentProvider,
    PaymentProviderError,
    WebhookEvent,
)
from kabinet.pharma.payments.providers.base import PaymentStatus as ProviderStatus
from kabinet.pharma.payments.providers.test_provider import TestBankProvider

log = logging.getLogger(__name__)

# A simple stand-in for «five banking days».
INVOICE_DUE_DAYS = 7
# Settings spell the test bank "test"; Payment rows and webhook URLs use the provider's name.
_PROVIDER_ALIASES = {"test": TestBankProvider.name}


class AmountMismatch(RuleViolation):
    """The provider reports another amount than the payment's: nothing is applied."""

    default_code = "payment_amount_mismatch"


# --- invoice --------------------------------------------------------------------------------


def invoice_for(order: Order, *, issued_on: date | None = None) -> InvoiceData:
    """The «Счёт на оплату» of an order: its number, lines, buyer and our bank details."""
    supplier = settings.PHARMA_SUPPLIER
    issued = issued_on or timezone.localdate(order.created_at)
    organisation = order.organisation
    address = order.address
    lines = order.lines.select_related("product").order_by("id")
    return InvoiceData(
        number=order.number or str(order.pk),
        issued_on=issued,
        due_on=issued + timedelta(days=INVOICE_DUE_DAYS),
        supplier=Party(
            name=supplier["name"],
            inn=supplier["inn"],
            kpp=supplier["kpp"] or None,
            address=supplier["address"],
        ),
        bank=BankAccount(
            bank_name=supplier["bank_name"],
            bic=supplier["bic"],
            corresp_acc=supplier["corresp_acc"],
            account=supplier["account"],
        ),
        buyer=Party(
            name=organisation.name,
            inn=organisation.inn,
            kpp=organisation.kpp or None,
            address=f"{address.city.name}, {address.address}",
        ),
        lines=tuple(
            InvoiceLine(
                name=str(line.product),
                quantity=line.quantity,
                price_kopecks=line.price_kopecks,
                vat_percent=line.vat_percent,
            )
            for line in lines
        ),
        basis=f"Заказ № {order.number} от {timezone.localdate(order.created_at):%d.%m.%Y}",
        director=supplier.get("director", ""),
        accountant=supplier.get("accountant", ""),
    )


def invoice_pdf(*, partner: PartnerUser, order_id: int) -> tuple[str, bytes]:
    """The file name and the PDF of the invoice of an order of the partner's organisation."""
    order = order_selectors.order_of(partner, order_id)
    return f"schet-{order.number}.pdf", render_invoice(invoice_for(order))


# --- online payment -------------------------------------------------------------------------


def provider_name(configured: str | None = None) -> str:
    """The configured online provider's name as Payment rows store it."""
    name = configured if configured is not None else settings.PHARMA_PAYMENT_PROVIDER
    return _PROVIDER_ALIASES.get(name, name)


def bank_page_enabled() -> bool:
    """Whether the built-in test bank is the configured provider (its page plays the bank)."""
    return provider_name() == TestBankProvider.name


def can_pay_online(order: Order) -> bool:
    return online_payment_enabled() and not order.is_paid and order.status != OrderStatus.CANCELLED


def _check_payable(order: Order) -> None:
    if order.status == OrderStatus.CANCELLED:
        raise RuleViolation(_("Заказ отменён: оплачивать нечего."))
    if order.is_paid:
        raise RuleViolation(_("Заказ уже оплачен."))


def _pending_payment(order: Order, provider: str) -> Payment | None:
    return Payment.objects.filter(
        order=order, provider=provider, status=PaymentState.PENDING
    ).first()


def _payment_key(order: Order, amount: int, attempt: int) -> str:
    """The provider's idempotency key of the order's next payment.

    Derived, not random: clicks racing each other send the same key, so the provider answers
    them all with one payment and none is left open at the provider for the buyer to pay
    twice. The order's creation time keeps a re-created database's orders from meeting a
    provider's records of old ones.
    """
    created = int(order.created_at.timestamp() * 1000)
    return f"order-{order.pk}-{created}-{amount}-{attempt}"


def start_online_payment(
    *, partner: PartnerUser, order_id: int, provider: PaymentProvider | None = None
) -> Payment:
    """A pending payment of what is left to pay; the buyer goes to its confirmation_url.

    A pending payment of the same amount is reused, so pressing «Оплатить» twice sends the
    buyer to one payment page rather than opening two payments. One of another amount (part
    of the order was paid otherwise meanwhile) is withdrawn first.
    """
    order = order_selectors.order_of(partner, order_id)
    _check_payable(order)
    if provider is None and not online_payment_enabled():
        raise RuleViolation(_("Онлайн-оплата не подключена: оплатите заказ по счёту."))
    provider = provider or get_provider(provider_name())
    amount = order.unpaid_kopecks
    pending = _pending_payment(order, provider.name)
    if pending is not None:
        if pending.amount_kopecks == amount and pending.confirmation_url:
            return pending
        withdraw_payment(payment_id=pending.pk, provider=provider)
        order.refresh_from_db()
        _check_payable(order)
        amount = order.unpaid_kopecks
    attempt = Payment.objects.filter(order=order, provider=provider.name).count()
    key = _payment_key(order, amount, attempt)
    created = provider.create_payment(
        payment_id=key,
        amount_kopecks=amount,
        description=_("Оплата заказа %(number)s") % {"number": order.number},
        return_url=settings.SITE_URL + reverse("pharma:order", kwargs={"pk": order.pk}),
        idempotency_key=key,
    )
    try:
        with transaction.atomic():
            return Payment.objects.create(
                order=order,
                provider=provider.name,
                provider_payment_id=created.provider_payment_id,
                amount_kopecks=amount,
                confirmation_url=created.confirmation_url or "",
            )
    except IntegrityError:
        pass
    # A click racing this one recorded the same provider payment (the same key), or, rarer,
    # another pending payment of the order: the buyer goes to that one.
    same = Payment.objects.filter(
        provider=provider.name, provider_payment_id=created.provider_payment_id
    ).first()
    if same is not None:
        return same
    winner = _pending_payment(order, provider.name)
    _cancel_at_provider(provider, created.provider_payment_id)
    if winner is None:
        raise Conflict(_("Оплата уже начата в другом окне. Обновите страницу заказа."))
    return winner


def _cancel_at_provider(provider: PaymentProvider, provider_payment_id: str) -> None:
    """Best effort for a provider payment nobody will be sent to: withdraw it if it can be."""
    if not provider.supports_cancel:
        return
    try:
        provider.cancel_payment(provider_payment_id)
    except PaymentProviderError as error:
        log.warning(
            "orphan payment not cancelled",
            extra={"provider_payment_id": provider_payment_id, "reason": error.message},
        )


def withdraw_payment(*, payment_id: int, provider: PaymentProvider | None = None) -> Payment:
    """Give up a pending payment: at the provider first where it can be, then here.

    If the provider says the buyer has paid it meanwhile, that is recorded instead. Where the
    provider cannot withdraw it (ЮKassa), it is cancelled here only; should the buyer still
    pay it, the success is credited and the excess refunded.
    """
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != PaymentState.PENDING:
        return payment
    provider = provider or get_provider(payment.provider)
    if provider.supports_cancel:
        try:
            state = provider.cancel_payment(payment.provider_payment_id)
        except PaymentProviderError as error:
            # A payment the provider does not know cannot be paid there either.
            if error.status_code != 404:
                raise
            state = None
        if state is not None and state.status == ProviderStatus.SUCCEEDED:
            return handle_event(
                provider=payment.provider,
                event=WebhookEvent(
                    provider_payment_id=payment.provider_payment_id,
                    status=state.status,
                    amount_kopecks=state.amount_kopecks,
                    raw_event_id=f"withdraw:{payment.provider_payment_id}",
                ),
            ).payment
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, status=PaymentState.PENDING).update(
            status=PaymentState.CANCELED
        )
    payment.refresh_from_db()
    return payment


def settle_order(*, order_id: int) -> list[Refund]:
    """After a cancellation or an overpayment: withdraw what is pending, refund the excess."""
    order = Order.objects.get(pk=order_id)
    if order.status == OrderStatus.CANCELLED:
        for payment in Payment.objects.filter(order=order, status=PaymentState.PENDING):
            withdraw_payment(payment_id=payment.pk)
    return refunds.refund_overpayment(order_id=order_id)


def settle_order_now(*, order_id: int) -> None:
    """settle_order at once for the buyer's page; the job queued with the change retries."""
    try:
        settle_order(order_id=order_id)
    except PaymentProviderError as error:
        log.warning(
            "order not settled now, the queued job retries",
            extra={"order": order_id, "reason": error.message},
        )


def enqueue_settlement(order_id: int) -> None:
    """Queue settle_order in the caller's transaction: a refund due is never forgotten."""
    # Imported here: the job's module imports this one.
    from kabinet.pharma.payments.tasks import settle_order_job

    settle_order_job.enqueue(order_id)


# --- webhooks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What an event did: changed is False for a replay or an event about a pending payment.

    refund_due: the order now holds more than it owes (it was cancelled, or paid twice).
    """

    payment: Payment
    changed: bool
    refund_due: bool = False


def apply_payment_event(*, provider: str, event: WebhookEvent) -> Applied:
    """Record a verified provider event on its payment, once, and credit the order."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(provider=provider, provider_payment_id=event.provider_payment_id)
            .first()
        )
        if payment is None:
            raise NotFound(_("Платёж не найден."))
        if payment.status == PaymentState.SUCCEEDED or event.status == ProviderStatus.PENDING:
            return Applied(payment, changed=False)
        # Withdrawn here, but the buyer paid it at the provider after all: the money is ours.
        if payment.status == PaymentState.CANCELED and event.status != ProviderStatus.SUCCEEDED:
            return Applied(payment, changed=False)
        if event.amount_kopecks != payment.amount_kopecks:
            log.warning(
                "payment amount mismatch",
                extra={
                    "payment": payment.pk,
                    "expected": payment.amount_kopecks,
                    "reported": event.amount_kopecks,
                },
            )
            raise AmountMismatch(
                _("Сумма в уведомлении (%(reported)s) не равна сумме платежа (%(expected)s).")
                % {
                    "reported": format_rub(event.amount_kopecks),
                    "expected": format_rub(payment.amount_kopecks),
                }
            )
        now = timezone.now()
        if event.status == ProviderStatus.CANCELED:
            payment.status = PaymentState.CANCELED
            payment.save(update_fields=["status"])
            return Applied(payment, changed=True)
        # Credited even to a cancelled order: the money was taken, so it is recorded, and
        # what the order holds above its due is refunded (enqueued here, in this transaction).
        payment.status = PaymentState.SUCCEEDED
        payment.applied_at = now
        payment.save(update_fields=["status", "applied_at"])
        order = credit_order(payment, now=now)
        refund_due = order.overpaid_kopecks > 0
        if refund_due:
            enqueue_settlement(order.pk)
        return Applied(payment, changed=True, refund_due=refund_due)


def handle_event(*, provider: str, event: WebhookEvent) -> Applied:
    """Apply a verified event, then return at once any excess it left on the order."""
    applied = apply_payment_event(provider=provider, event=event)
    if applied.refund_due:
        settle_order_now(order_id=applied.payment.order_id)
    return applied


def credit_order(payment: Payment, *, now: datetime) -> Order:
    """Add a succeeded payment to its order's paid amount and e-mail the buyer.

    Call it in the transaction that made the payment succeed, once per payment: the caller's
    lock (the Payment row, or the unique provider id of a new one) is what makes it once. The
    F() update takes the order's row lock, so concurrent payments of one order add up.
    """
    Order.objects.filter(pk=payment.order_id).update(
        paid_kopecks=F("paid_kopecks") + payment.amount_kopecks, updated_at=now
    )
    order = Order.objects.select_related("placed_by", "organisation").get(pk=payment.order_id)
    _notify_paid(order, payment)
    return order


def handle_webhook(
    *, provider: str, body: bytes, headers: Mapping[str, str], remote_addr: str | None
) -> Applied:
    """Verify a webhook with its provider and apply it; WebhookRejected changes nothing."""
    event = get_provider(provider).parse_webhook(
        body=body, headers=headers, remote_addr=remote_addr
    )
    return handle_event(provider=provider, event=event)


def _notify_paid(order: Order, payment: Payment) -> None:
    email_buyer(
        order,
        "pharma_order_paid",
        {
            "amount": format_rub(payment.amount_kopecks),
            "total": format_rub(order.total_kopecks),
            "paid": format_rub(order.paid_kopecks),
            "is_paid": order.is_paid,
            "cancelled": order.status == OrderStatus.CANCELLED,
            "overpaid": format_rub(order.overpaid_kopecks) if order.overpaid_kopecks else "",
        },
    )
