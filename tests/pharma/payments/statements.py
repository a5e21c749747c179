"""Orders by invoice and the bank statements that pay them, for the statement tests."""

from __future__ import annotations

from datetime import date

from django.conf import settings

from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.models import Order
from kabinet.pharma.payments.statement_file import PaymentOrder, render_statement
from tests.pharma.orders.conftest import NOW

# Но-шпа 4 × 250,00 (VAT 10 %) + Нурофен 3 × 180,00 (200,00 − 10 % promotion, VAT 20 %).
TOTAL = 154_000
OURS = settings.PHARMA_SUPPLIER["account"]
DAY = date(2026, 11, 25)
RENT_ACCOUNT = "40702810900000011111"


def place(pharmacy, *, method: str = "invoice", items: dict[str, int] | None = None) -> Order:
    for code, quantity in (items or {"P001": 4, "P002": 3}).items():
        order_services.add_to_cart(
            partner=pharmacy.admin,
            address_id=pharmacy.address.pk,
            product_code=code,
            quantity=quantity,
        )
    return order_services.place_order(
        partner=pharmacy.admin, address_id=pharmacy.address.pk, payment_method=method, now=NOW
    )


def payer_account(inn: str) -> str:
    return f"40702810{int(inn):012d}"


def paying(
    organisation,
    amount_kopecks: int,
    purpose: str,
    *,
    number: str = "101",
    day: date = DAY,
    inn: str | None = None,
) -> PaymentOrder:
    """A payment order from the organisation (or another INN) to our account."""
    inn = inn or organisation.inn
    return PaymentOrder(
        number=number,
        date=day,
        amount_kopecks=amount_kopecks,
        payer_name=organisation.name,
        payer_inn=inn,
        payer_account=payer_account(inn),
        payee_name=settings.PHARMA_SUPPLIER["name"],
        payee_inn=settings.PHARMA_SUPPLIER["inn"],
        payee_account=OURS,
        purpose=purpose,
    )


def outgoing(amount_kopecks: int, *, number: str = "900") -> PaymentOrder:
    """Our own payment (rent): in the statement, never applied."""
    return PaymentOrder(
        number=number,
        date=DAY,
        amount_kopecks=amount_kopecks,
        payer_name=settings.PHARMA_SUPPLIER["name"],
        payer_inn=settings.PHARMA_SUPPLIER["inn"],
        payer_account=OURS,
        payee_name="ООО «Склад-Аренда»",
        payee_inn="7701000010",
        payee_account=RENT_ACCOUNT,
        purpose="Арендная плата за ноябрь 2026 г.",
    )


def statement(*documents: PaymentOrder, account: str = OURS) -> bytes:
    return render_statement(
        account=account,
        period_start=DAY,
        period_end=DAY,
        documents=documents,
        opening_kopecks=1_000_000_00,
    )


def for_invoice(order: Order) -> str:
    return f"Оплата по счёту № {order.number} от 24.11.2026 за лекарственные препараты"
