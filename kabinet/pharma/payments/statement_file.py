"""Writing a 1CClientBankExchange statement: the sample files and the tests' statements.

The counterpart of `bank_statement.parse_statement`, kept to the keys the parser and a bank's
client use: windows-1251, CRLF, a header, one account section with its balances, a
«Платежное поручение» per document. What it writes, the parser reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from kabinet.core.money import format_amount


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
