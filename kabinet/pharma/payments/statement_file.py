"""Writing a 1CClientBankExchange statement: the sample files and the tests' statements.

The counterpart of `bank_statement.parse_statement`, kept to the keys the parser and a bank's
client use: windows-1251, CRLF, a header, one account section with its balances, a
«Платежное поручение» per document. What it writes, the parser reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import RuleViolation
from kabinet.core.money import format_amount, format_rub
from kabinet.pharma.payments.credit import unpaid_orders
from kabinet.pharma.payments.statements import INVOICE_METHODS


@dataclass(frozen=True)
class PaymentOrder:
    """One payment order (платёжное поручение) to put into a statement."""

    number: str
    date: date
    amount_kopecks: int
    payer_name: str
    payer_inn: str
    payer_account: str
    payee_name: str
    payee_inn: str
    payee_account: str
    purpose: str


def _day(value: date) -> str:
    return f"{value:%d.%m.%Y}"


def render_statement(
    *,
    account: str,
    period_start: date,
    period_end: date,
    documents: Sequence[PaymentOrder],
    opening_kopecks: int = 0,
    created_on: date | None = None,
    sender: str = "Кабинет: пример выписки",
) -> bytes:
    """The statement of `account` for the period, its balances computed from the documents."""
    received = sum(d.amount_kopecks for d in documents if d.payee_account == account)
    written_off = sum(d.amount_kopecks for d in documents if d.payer_account == account)
    lines = [
        "1CClientBankExchange",
        "ВерсияФормата=1.03",
        "Кодировка=Windows",
        f"Отправитель={sender}",
        "Получатель=Бухгалтерия предприятия, редакция 3.0",
        f"ДатаСоздания={_day(created_on or period_end)}",
        f"ДатаНачала={_day(period_start)}",
        f"ДатаКонца={_day(period_end)}",
        f"РасчСчет={account}",
        "Документ=Платежное поручение",
        "СекцияРасчСчет",
        f"ДатаНачала={_day(period_start)}",
        f"ДатаКонца={_day(period_end)}",
        f"РасчСчет={account}",
        f"НачальныйОстаток={format_amount(opening_kopecks)}",
        f"ВсегоПоступило={format_amount(received)}",
        f"ВсегоСписано={format_amount(written_off)}",
        f"КонечныйОстаток={format_amount(opening_kopecks + received - written_off)}",
        "КонецРасчСчет",
    ]
    for doc in documents:
        incoming = doc.payee_account == account
        lines += [
            "СекцияДокумент=Платежное поручение",
            f"Номер={doc.number}",
            f"Дата={_day(doc.date)}",
            f"Сумма={format_amount(doc.amount_kopecks)}",
            f"ПлательщикСчет={doc.payer_account}",
            f"ДатаСписано={'' if incoming else _day(doc.date)}",
            f"Плательщик=ИНН {doc.payer_inn} {doc.payer_name}",
            f"ПлательщикИНН={doc.payer_inn}",
            f"Плательщик1={doc.payer_name}",
            f"ПолучательСчет={doc.payee_account}",
            f"ДатаПоступило={_day(doc.date) if incoming else ''}",
            f"Получатель=ИНН {doc.payee_inn} {doc.payee_name}",
            f"ПолучательИНН={doc.payee_inn}",
            f"Получатель1={doc.payee_name}",
            "ВидОплаты=01",
            "Очередность=5",
            f"НазначениеПлатежа={doc.purpose}",
            "КонецДокумента",
        ]
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


# --- the demo's statement -------------------------------------------------------------------

RENT_PAYEE = ("ООО «Склад-Аренда»", "7701000010", "40702810900000011111")


def payer_account_for(inn: str) -> str:
    """A made-up settlement account for a buyer: the demo knows no buyer's bank details."""
    return f"40702810{int(inn):012d}"


def demo_statement(*, today: date) -> tuple[bytes, list[str]]:
    """A statement of today paying this database's first three open invoices — in full, in
    part, with an overpayment — plus a payment without an invoice number and our own rent
    payment; with a line per document saying what the upload should do with it."""
    supplier = settings.PHARMA_SUPPLIER
    orders = list(
        unpaid_orders(*INVOICE_METHODS)
        .exclude(number=None)
        .select_related("organisation")
        .order_by("pk")[:3]
    )
    if not orders:
        raise RuleViolation(
            _(
                "Открытых счетов нет: оформите в кабинете партнёра заказ «по счёту» "
                "или с отсрочкой и запустите команду снова."
            )
        )

    def paying(order, number: int, amount: int, purpose: str) -> PaymentOrder:
        org = order.organisation
        return PaymentOrder(
            number=str(number),
            date=today,
            amount_kopecks=amount,
            payer_name=org.name,
            payer_inn=org.inn,
            payer_account=payer_account_for(org.inn),
            payee_name=supplier["name"],
            payee_inn=supplier["inn"],
            payee_account=supplier["account"],
            purpose=purpose,
        )

    documents: list[PaymentOrder] = []
    described: list[str] = []
    plans = [
        (
            lambda due: due,
            "Оплата по счёту № {number} от {day} за лекарственные препараты",
            "в полном объёме",
        ),
        (lambda due: max(1, due // 2), "Частичная оплата по сч. {number} от {day}", "частично"),
        (
            lambda due: due + 100_00,
            "Погашение задолженности по счёту №{number}",
            "с переплатой 100 ₽",
        ),
    ]
    for index, (order, (amount_of, purpose, outcome)) in enumerate(
        zip(orders, plans, strict=False)
    ):
        amount = amount_of(order.unpaid_kopecks)
        day = f"{timezone.localdate(order.created_at):%d.%m.%Y}"
        documents.append(
            paying(order, 501 + index, amount, purpose.format(number=order.number, day=day))
        )
        described.append(f"{order.number}: {format_rub(amount)} — {outcome}")
    first = orders[0]
    documents.append(
        paying(
            first,
            510,
            5_000_00,
            f"Оплата за медикаменты по договору {first.organisation.contract_number or 'поставки'}",
        )
    )
    described.append(f"{format_rub(5_000_00)} без номера счёта — не разнесётся, разнесите вручную")
    name, inn, account = RENT_PAYEE
    documents.append(
        PaymentOrder(
            number="2001",
            date=today,
            amount_kopecks=150_000_00,
            payer_name=supplier["name"],
            payer_inn=supplier["inn"],
            payer_account=supplier["account"],
            payee_name=name,
            payee_inn=inn,
            payee_account=account,
            purpose="Арендная плата за склад",
        )
    )
    described.append("списание (аренда) — в выписке, но не разносится")
    data = render_statement(
        account=supplier["account"],
        period_start=today,
        period_end=today,
        documents=documents,
        opening_kopecks=1_000_000_00,
    )
    return data, described
