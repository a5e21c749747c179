"""1CClientBankExchange statements: parsing a bank's real-shaped file, refusing broken ones with
the line, and matching the payments to open invoices."""

from datetime import date
from pathlib import Path

import pytest

from kabinet.pharma.payments.bank_statement import (
    MatchStatus,
    OpenInvoice,
    StatementError,
    UnmatchedReason,
    invoice_references,
    match_payments,
    parse_statement,
)

SAMPLE = Path(__file__).parent / "samples" / "statement_sber_cp1251.txt"
OUR_ACCOUNT = "40702810200000012345"
ZDOROVYE = "5027123457"
VITA = "7715987652"


def sample() -> bytes:
    return SAMPLE.read_bytes()


def sample_text() -> str:
    return sample().decode("cp1251")


def test_the_sample_is_windows_1251_with_crlf():
    data = sample()
    assert b"\r\n" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_parse_the_header_and_the_account_section():
    statement = parse_statement(sample())
    assert statement.format_version == "1.03"
    assert statement.encoding == "cp1251"
    assert statement.sender == "СберБизнес"
    assert statement.created_on == date(2026, 3, 19)
    assert (statement.period_start, statement.period_end) == (date(2026, 3, 16), date(2026, 3, 18))
    assert statement.accounts == (OUR_ACCOUNT,)
    (section,) = statement.sections
    assert section.account == OUR_ACCOUNT
    assert section.opening_kopecks == 1_000_000_00
    assert section.received_kopecks == 41_745_10
    assert section.written_off_kopecks == 150_000_00
    assert section.closing_kopecks == 891_745_10
    # The balances add up: the file is self-consistent.
    incoming = sum(d.amount_kopecks for d in statement.documents if d.payee_account == OUR_ACCOUNT)
    assert incoming == section.received_kopecks


def test_parse_the_documents():
    documents = parse_statement(sample()).documents
    assert [d.number for d in documents] == ["512", "77", "513", "78", "1", "345", "79", "80", "81"]
    first = documents[0]
    assert first.kind == "Платежное поручение"
    assert first.date == date(2026, 3, 16)
    assert first.amount_kopecks == 12_345_60
    assert first.payer_inn == ZDOROVYE
    assert first.payer_account == "40702810010000098765"
    assert first.payer_name == 'ООО "Аптека Здоровье"'
    assert first.payee_inn == "7704123450"
    assert first.payee_account == OUR_ACCOUNT
    assert first.payee_name == 'ООО "Фарм-Дистрибьютор"'
    assert first.purpose == (
        "Оплата по счёту № 2026-000123 от 12.03.2026 за лекарственные препараты, "
        "в т.ч. НДС 10 % — 1122.33 руб."
    )
    assert first.received_on == date(2026, 3, 16)
    assert first.written_off_on is None
    assert first.line == 21
    # Amounts without kopecks or with one decimal.
    assert documents[1].amount_kopecks == 5_000_00
    assert documents[8].amount_kopecks == 3_000_50
    # A purpose split over НазначениеПлатежа1..n is joined.
    assert (
        documents[2].purpose
        == "Оплата по счету №2026-000125 от 13.03.2026 в т.ч. НДС 22 % - 378.69"
    )
    outgoing = documents[5]
    assert outgoing.payer_account == OUR_ACCOUNT
    assert outgoing.written_off_on == date(2026, 3, 17)
    assert outgoing.received_on is None


def test_a_dos_statement_is_read_in_cp866():
    # cp866 has no em dash; everything else of the sample survives.
    text = sample_text().replace("—", "-")
    dos = parse_statement(text.replace("Кодировка=Windows", "Кодировка=DOS").encode("cp866"))
    assert dos.encoding == "cp866"
    assert dos.documents == parse_statement(text.encode("cp1251")).documents
    assert dos.documents[0].payer_name == 'ООО "Аптека Здоровье"'


def test_payer_name_without_the_bare_name_key_drops_the_inn_prefix():
    text = sample_text().replace('Плательщик1=ООО "Аптека Здоровье"\r\n', "", 1)
    first = parse_statement(text.encode("cp1251")).documents[0]
    assert first.payer_name == 'ООО "Аптека Здоровье"'


def broken(old: str, new: str, count: int = 1) -> bytes:
    text = sample_text()
    assert old in text
    return text.replace(old, new, count).encode("cp1251")


def refusal(data: bytes) -> StatementError:
    with pytest.raises(StatementError) as caught:
        parse_statement(data)
    assert caught.value.code == "statement_invalid"
    return caught.value


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (
            broken("Сумма=12345.60", "Сумма=12 345,60"),
            24,
            "Строка 24: сумма «12 345,60» — ожидается число рублей с точкой, например 1234.50.",
        ),
        (
            broken("Сумма=12345.60", "Сумма=12345.601"),
            24,
            "Строка 24: сумма «12345.601» — ожидается число рублей с точкой, например 1234.50.",
        ),
        (
            broken("Сумма=12345.60", "Сумма=-12345.60"),
            24,
            "Строка 24: сумма «-12345.60» — ожидается число рублей с точкой, например 1234.50.",
        ),
        (
            broken("Дата=16.03.2026", "Дата=2026-03-16"),
            23,
            "Строка 23: дата «2026-03-16» — ожидается ДД.ММ.ГГГГ.",
        ),
        (
            broken("Номер=512\r\n", ""),
            21,
            "Строка 21: в документе нет ключа «Номер».",
        ),
        (
            broken("Номер=512", "Номер="),
            22,
            "Строка 22: в документе нет ключа «Номер».",
        ),
        (
            broken("ВидОплаты=01", "ВидОплаты01"),
            48,
            "Строка 48: ожидается «Ключ=Значение» или начало/конец секции, а не «ВидОплаты01».",
        ),
        (
            broken("Очередность=5", "Очередность=5\r\nСумма=1.00"),
            50,
            "Строка 50: ключ «Сумма» повторяется в секции, начатой в строке 21.",
        ),
        (
            broken("КонецДокумента", "", 1),
            52,
            "Строка 52: новая секция до конца предыдущей.",
        ),
        (
            broken("КонецРасчСчет", "КонецДокумента"),
            20,
            "Строка 20: «КонецДокумента» без «СекцияДокумент».",
        ),
        (
            broken("ВерсияФормата=1.03", "ВерсияФормата=2.00"),
            2,
            "Строка 2: неизвестная версия формата «2.00»: ожидается 1.0x.",
        ),
        (
            broken("Кодировка=Windows", "Кодировка=UTF-8"),
            3,
            "Строка 3: неизвестная кодировка «UTF-8»: ожидается Windows или DOS.",
        ),
        (
            broken("1CClientBankExchange", "1CClientBankExchang"),
            1,
            "Строка 1: файл должен начинаться строкой «1CClientBankExchange».",
        ),
        (
            broken("КонецФайла", "КонецФайла\r\nСекцияРасчСчет"),
            302,
            "Строка 302: текст после «КонецФайла».",
        ),
    ],
)
def test_a_malformed_file_is_refused_with_the_line(data, line, message):
    error = refusal(data)
    assert error.line == line
    assert error.message == message


def test_a_truncated_file_is_refused():
    data = sample()
    cut = data[: data.index("Номер=80".encode("cp1251"))]
    error = refusal(cut)
    assert error.message == f"Строка {error.line}: файл оборван: нет строки «КонецФайла»."
    assert error.line == cut.count(b"\r\n")


def test_an_unclosed_section_at_the_end_of_file_names_its_start():
    data = sample()
    last = data.rindex("КонецДокумента".encode("cp1251"))
    error = refusal(data[:last] + data[last + len("КонецДокумента\r\n".encode("cp1251")) :])
    assert "не закрыта до «КонецФайла»" in error.message
    assert error.message.startswith("Строка 300: секция, начатая в строке 270,")


def test_a_file_without_an_encoding_is_refused():
    data = broken("Кодировка=Windows\r\n", "")
    assert (
        refusal(data).message == "В заголовке нет строки «Кодировка=Windows» или «Кодировка=DOS»."
    )
    assert refusal(data).line is None


def test_a_utf8_file_claiming_windows_is_not_silently_misread():
    # Decoding UTF-8 as windows-1251 «succeeds» with mojibake; the key is then not found.
    data = sample_text().encode("utf-8")
    assert refusal(data).message.startswith("В заголовке нет строки «Кодировка")


# --- matching ------------------------------------------------------------------------------

INVOICES = [
    OpenInvoice("2026-000123", ZDOROVYE, 12_345_60, date(2026, 3, 12)),
    OpenInvoice("2026-000124", VITA, 8_000_50, date(2026, 3, 12)),
    OpenInvoice("2026-000125", ZDOROVYE, 2_000_00, date(2026, 3, 13)),
    OpenInvoice("2026-000126", ZDOROVYE, 999_00, date(2026, 3, 14)),
    OpenInvoice("2026-000127", VITA, 1_500_00, date(2026, 3, 14)),
]


def test_matching_the_sample_statement():
    documents = parse_statement(sample()).documents
    matches = match_payments(documents, INVOICES, our_account=OUR_ACCOUNT)
    summary = [
        (
            m.document.number,
            m.status,
            m.invoice.number if m.invoice else None,
            m.due_kopecks,
            m.difference_kopecks,
            m.reason,
        )
        for m in matches
    ]
    assert summary == [
        ("512", MatchStatus.PAID, "2026-000123", 12_345_60, 0, None),
        # «сч. 124»: the running number without the year and zeros.
        ("77", MatchStatus.PARTIAL, "2026-000124", 8_000_50, -3_000_50, None),
        ("513", MatchStatus.OVERPAID, "2026-000125", 2_000_00, 100_00, None),
        (
            "78",
            MatchStatus.UNMATCHED,
            "2026-000126",
            999_00,
            0,
            UnmatchedReason.PAYER_INN_MISMATCH,
        ),
        ("1", MatchStatus.UNMATCHED, None, 0, 0, UnmatchedReason.NO_INVOICE_NUMBER),
        # 345 is our own outgoing payment: not ours to match.
        ("79", MatchStatus.UNMATCHED, None, 0, 0, UnmatchedReason.UNKNOWN_INVOICE),
        ("80", MatchStatus.UNMATCHED, None, 0, 0, UnmatchedReason.SEVERAL_INVOICES),
        # The second payment to 124 pays what the first left.
        ("81", MatchStatus.PAID, "2026-000124", 3_000_50, 0, None),
    ]
    messages = [m.message for m in matches]
    assert messages == [
        "Счёт № 2026-000123 оплачен полностью.",
        "Счёт № 2026-000124 оплачен частично.",
        "Счёт № 2026-000125 оплачен с переплатой.",
        "Счёт № 2026-000126 выставлен ИНН 5027123457, а заплатил ИНН 7715987652.",
        "В назначении платежа нет номера счёта.",
        "Среди открытых нет счёта № 999.",
        "Платёж по нескольким счетам (2026-000124, 2026-000127): разнесите вручную.",
        "Счёт № 2026-000124 оплачен полностью.",
    ]


def test_a_payment_after_the_invoice_is_paid_is_all_overpayment():
    documents = parse_statement(sample()).documents
    first = documents[0]
    matches = match_payments([first, first], INVOICES, our_account=OUR_ACCOUNT)
    assert [(m.status, m.due_kopecks, m.difference_kopecks) for m in matches] == [
        (MatchStatus.PAID, 12_345_60, 0),
        (MatchStatus.OVERPAID, 0, 12_345_60),
    ]


def test_nothing_is_matched_on_another_account():
    documents = parse_statement(sample()).documents
    assert match_payments(documents, INVOICES, our_account="40702810900000000001") == []


@pytest.mark.parametrize(
    ("purpose", "refs"),
    [
        ("Оплата по счёту № 2026-000123 от 12.03.2026", [("2026-000123", date(2026, 3, 12))]),
        ("Оплата по счету №2026-000123", [("2026-000123", None)]),
        ("опл. сч. 123", [("123", None)]),
        ("Оплата сч.№123 от 01.03.26 за товар", [("123", date(2026, 3, 1))]),
        ("счет №123 от 01.03.2026", [("123", date(2026, 3, 1))]),
        ("Оплата по счету N 2026-000123.", [("2026-000123", None)]),
        ("ОПЛАТА ПО СЧЕТУ 123", [("123", None)]),
        ("Оплата счета на оплату № 45", [("45", None)]),
        ("Оплата по счетам № 12, 13 и 14", [("12", None), ("13", None), ("14", None)]),
        ("Оплата по сч/ф № 45 от 01.03.2026", []),
        ("Оплата по счету-фактуре № 45", []),
        ("Перевод на р/сч 40702810200000012345", []),
        ("Пополнение л/сч 123", []),
        ("Оплата по договору № 15", []),
    ],
)
def test_invoice_references_in_purposes(purpose, refs):
    assert invoice_references(purpose) == refs


def payment(purpose: str, amount: int, payer_inn: str = ZDOROVYE):
    document = parse_statement(sample()).documents[0]
    from dataclasses import replace

    return replace(document, purpose=purpose, amount_kopecks=amount, payer_inn=payer_inn)


def test_a_short_number_matching_two_years_is_settled_by_the_date_then_by_the_buyer():
    invoices = [
        OpenInvoice("2025-000123", VITA, 100_00, date(2025, 12, 1)),
        OpenInvoice("2026-000123", ZDOROVYE, 100_00, date(2026, 3, 12)),
        OpenInvoice("2026-000777", ZDOROVYE, 100_00, date(2026, 3, 12)),
    ]
    by_buyer = match_payments([payment("сч. 123", 100_00)], invoices, our_account=OUR_ACCOUNT)
    assert by_buyer[0].invoice.number == "2026-000123"
    by_date = match_payments(
        [payment("сч. 123 от 01.12.2025", 100_00, VITA)], invoices, our_account=OUR_ACCOUNT
    )
    assert by_date[0].invoice.number == "2025-000123"
    stranger = match_payments(
        [payment("сч. 123", 100_00, "7707083893")], invoices, our_account=OUR_ACCOUNT
    )
    assert stranger[0].reason == UnmatchedReason.AMBIGUOUS_INVOICE
    assert stranger[0].invoice is None


def test_leading_zeros_and_case_do_not_matter():
    invoices = [OpenInvoice("СФ-000042", ZDOROVYE, 100_00)]
    matches = match_payments(
        [payment("Оплата по счету № сф-42", 100_00)], invoices, our_account=OUR_ACCOUNT
    )
    assert matches[0].status == MatchStatus.PAID
