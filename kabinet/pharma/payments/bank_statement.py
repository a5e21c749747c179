"""Bank statements in the 1CClientBankExchange format, and matching their payments to open
invoices (SPEC P-NEXT-4).

The format is the text file every Russian bank's client and 1C exchange: a header of
``Ключ=Значение`` lines after ``1CClientBankExchange``, a ``СекцияРасчСчет … КонецРасчСчет``
per account with the period's balances, a ``СекцияДокумент=<вид> … КонецДокумента`` per
payment, and ``КонецФайла``. Sums are roubles with a dot (``1234.50``), dates ``ДД.ММ.ГГГГ``.
The text is windows-1251 (``Кодировка=Windows``) or cp866 (``Кодировка=DOS``); the key that
says which is itself written in that encoding, so the parser looks for it in both.

A file that breaks the format is refused whole, with the line number and what was expected:
a statement applied in part would leave the accountant guessing which payments were counted.

The matcher is pure arithmetic over the parsed documents and plain `OpenInvoice` values. It
looks only at payments credited to our account, finds the invoice number in the purpose
(«по счёту № 2026-000123», «сч. 123», «счет №123 от 01.03.2026», «по счетам 123, 124» …),
checks that the payer is the invoice's buyer (by INN) and compares the amount with what is
still due, payments to one invoice within the statement counting in file order. Whatever it
cannot place with certainty is reported with the reason, for a person to decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from django.utils.translation import gettext as _

from kabinet.core.errors import ValidationFailed

MAGIC = "1CClientBankExchange"
ENCODINGS = {"windows": "cp1251", "dos": "cp866"}
_ENCODING_KEY = "Кодировка="
_AMOUNT = re.compile(r"^(-?)(\d+)(?:\.(\d{1,2}))?$")
_INN_PREFIX = re.compile(r"^ИНН\s*\d{10,12}\s+")


class StatementError(ValidationFailed):
    """A file that is not a well-formed 1CClientBankExchange statement."""

    default_code = "statement_invalid"

    def __init__(self, message: str, *, line: int | None = None):
        if line is not None:
            message = _("Строка %(line)d: %(message)s") % {"line": line, "message": message}
        else:
            message = message[:1].upper() + message[1:]
        super().__init__(message)
        self.line = line


# The document's own field is called «date», which hides the type inside the class body.
_Date = date


@dataclass(frozen=True, slots=True)
class StatementDocument:
    """One payment order (or other document) of the statement."""

    kind: str
    number: str
    date: date
    amount_kopecks: int
    payer_inn: str
    payer_account: str
    payer_name: str
    payee_inn: str
    payee_account: str
    payee_name: str
    purpose: str
    received_on: _Date | None
    written_off_on: _Date | None
    line: int


@dataclass(frozen=True, slots=True)
class AccountSection:
    """An account's period and balances (СекцияРасчСчет); amounts in kopecks."""

    account: str
    period_start: date | None
    period_end: date | None
    opening_kopecks: int | None
    received_kopecks: int | None
    written_off_kopecks: int | None
    closing_kopecks: int | None


@dataclass(frozen=True, slots=True)
class Statement:
    format_version: str
    encoding: str
    sender: str
    created_on: date | None
    period_start: date | None
    period_end: date | None
    accounts: tuple[str, ...]
    sections: tuple[AccountSection, ...]
    documents: tuple[StatementDocument, ...]


def _detect_encoding(data: bytes) -> str:
    for codec in ("cp1251", "cp866"):
        key = _ENCODING_KEY.encode(codec)
        start = data.find(key)
        if start >= 0:
            end = data.find(b"\n", start)
            raw = data[start + len(key) : end if end >= 0 else None]
            value = raw.strip().decode("ascii", "replace")
            encoding = ENCODINGS.get(value.lower())
            if encoding is None:
                raise StatementError(
                    _("неизвестная кодировка «%(value)s»: ожидается Windows или DOS.")
                    % {"value": value},
                    line=data[:start].count(b"\n") + 1,
                )
            return encoding
    raise StatementError(_("в заголовке нет строки «Кодировка=Windows» или «Кодировка=DOS»."))


def _amount(value: str, line: int, *, signed: bool = False) -> int:
    match = _AMOUNT.match(value.strip())
    if not match or (match.group(1) and not signed):
        raise StatementError(
            _("сумма «%(value)s» — ожидается число рублей с точкой, например 1234.50.")
            % {"value": value},
            line=line,
        )
    sign, whole, frac = match.groups()
    kopecks = int(whole) * 100 + int((frac or "0").ljust(2, "0"))
    return -kopecks if sign else kopecks


def _date(value: str, line: int) -> date:
    try:
        return datetime.strptime(value.strip(), "%d.%m.%Y").date()
    except ValueError:
        raise StatementError(
            _("дата «%(value)s» — ожидается ДД.ММ.ГГГГ.") % {"value": value}, line=line
        ) from None


class _Section:
    def __init__(self, name: str, kind: str, line: int):
        self.name = name
        self.kind = kind
        self.line = line
        self.values: dict[str, tuple[str, int]] = {}

    def set(self, key: str, value: str, line: int) -> None:
        if key in self.values:
            raise StatementError(
                _("ключ «%(key)s» повторяется в секции, начатой в строке %(start)d.")
                % {"key": key, "start": self.line},
                line=line,
            )
        self.values[key] = (value, line)

    def get(self, key: str) -> str:
        return self.values.get(key, ("", 0))[0].strip()

    def required(self, key: str) -> tuple[str, int]:
        value, line = self.values.get(key, ("", 0))
        if not value.strip():
            raise StatementError(
                _("в документе нет ключа «%(key)s».") % {"key": key}, line=line or self.line
            )
        return value.strip(), line

    def optional_date(self, key: str) -> date | None:
        value, line = self.values.get(key, ("", 0))
        return _date(value, line) if value.strip() else None

    def optional_amount(self, key: str) -> int | None:
        value, line = self.values.get(key, ("", 0))
        return _amount(value, line, signed=True) if value.strip() else None


def _name(section: _Section, prefix: str) -> str:
    # «Плательщик1» is the bare name; «Плательщик» is often «ИНН 7701234567 ООО "…"».
    return section.get(f"{prefix}1") or _INN_PREFIX.sub("", section.get(prefix))


def _document(section: _Section) -> StatementDocument:
    number, _line = section.required("Номер")
    day, day_line = section.required("Дата")
    amount, amount_line = section.required("Сумма")
    purpose = section.get("НазначениеПлатежа") or " ".join(
        filter(None, (section.get(f"НазначениеПлатежа{i}") for i in range(1, 7)))
    )
    return StatementDocument(
        kind=section.kind,
        number=number,
        date=_date(day, day_line),
        amount_kopecks=_amount(amount, amount_line),
        payer_inn=section.get("ПлательщикИНН"),
        payer_account=section.get("ПлательщикСчет") or section.get("ПлательщикРасчСчет"),
        payer_name=_name(section, "Плательщик"),
        payee_inn=section.get("ПолучательИНН"),
        payee_account=section.get("ПолучательСчет") or section.get("ПолучательРасчСчет"),
        payee_name=_name(section, "Получатель"),
        purpose=" ".join(purpose.split()),
        received_on=section.optional_date("ДатаПоступило"),
        written_off_on=section.optional_date("ДатаСписано"),
        line=section.line,
    )


def _account(section: _Section) -> AccountSection:
    return AccountSection(
        account=section.get("РасчСчет"),
        period_start=section.optional_date("ДатаНачала"),
        period_end=section.optional_date("ДатаКонца"),
        opening_kopecks=section.optional_amount("НачальныйОстаток"),
        received_kopecks=section.optional_amount("ВсегоПоступило"),
        written_off_kopecks=section.optional_amount("ВсегоСписано"),
        closing_kopecks=section.optional_amount("КонечныйОстаток"),
    )


def parse_statement(data: bytes) -> Statement:
    """Parse a 1CClientBankExchange file; refuse it whole, with the line, if it is malformed."""
    encoding = _detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise StatementError(
            _("файл не читается в кодировке %(encoding)s.") % {"encoding": encoding},
            line=data[: exc.start].count(b"\n") + 1,
        ) from exc
    lines = text.splitlines()
    if not lines or lines[0].strip().lstrip("\ufeff") != MAGIC:
        raise StatementError(_("файл должен начинаться строкой «1CClientBankExchange»."), line=1)

    header = _Section("header", "", 1)
    header_accounts: list[str] = []
    sections: list[AccountSection] = []
    documents: list[StatementDocument] = []
    current: _Section | None = None
    finished = False
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line:
            continue
        if finished:
            raise StatementError(_("текст после «КонецФайла»."), line=number)
        key, eq, value = line.partition("=")
        key = key.strip()
        if key == "СекцияДокумент":
            if current is not None:
                raise StatementError(_("новая секция до конца предыдущей."), line=number)
            current = _Section("document", value.strip(), number)
        elif key == "СекцияРасчСчет" and not eq:
            if current is not None:
                raise StatementError(_("новая секция до конца предыдущей."), line=number)
            current = _Section("account", "", number)
        elif key == "КонецДокумента" and not eq:
            if current is None or current.name != "document":
                raise StatementError(_("«КонецДокумента» без «СекцияДокумент»."), line=number)
            documents.append(_document(current))
            current = None
        elif key == "КонецРасчСчет" and not eq:
            if current is None or current.name != "account":
                raise StatementError(_("«КонецРасчСчет» без «СекцияРасчСчет»."), line=number)
            sections.append(_account(current))
            current = None
        elif key == "КонецФайла" and not eq:
            if current is not None:
                raise StatementError(
                    _("секция, начатая в строке %(start)d, не закрыта до «КонецФайла».")
                    % {"start": current.line},
                    line=number,
                )
            finished = True
        elif not eq or not key:
            raise StatementError(
                _("ожидается «Ключ=Значение» или начало/конец секции, а не «%(text)s».")
                % {"text": line[:60]},
                line=number,
            )
        elif current is not None:
            current.set(key, value, number)
        elif key == "РасчСчет":
            # The header lists every account of the file, one key per account.
            header_accounts.append(value.strip())
        elif key != "Документ":
            header.set(key, value, number)
    if not finished:
        raise StatementError(_("файл оборван: нет строки «КонецФайла»."), line=len(lines))
    version = header.get("ВерсияФормата")
    if not version.startswith("1."):
        raise StatementError(
            _("неизвестная версия формата «%(version)s»: ожидается 1.0x.") % {"version": version},
            line=header.values.get("ВерсияФормата", ("", 1))[1] or 1,
        )
    return Statement(
        format_version=version,
        encoding=encoding,
        sender=header.get("Отправитель"),
        created_on=header.optional_date("ДатаСоздания"),
        period_start=header.optional_date("ДатаНачала"),
        period_end=header.optional_date("ДатаКонца"),
        accounts=tuple(header_accounts),
        sections=tuple(sections),
        documents=tuple(documents),
    )


# --- matching payments to invoices ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """An invoice still (partly) unpaid: its number, the buyer's INN and what is due."""

    number: str
    buyer_inn: str
    amount_due_kopecks: int
    issued_on: date | None = None


class MatchStatus(StrEnum):
    PAID = "paid"
    PARTIAL = "partial"
    OVERPAID = "overpaid"
    UNMATCHED = "unmatched"


class UnmatchedReason(StrEnum):
    NO_INVOICE_NUMBER = "no_invoice_number"
    UNKNOWN_INVOICE = "unknown_invoice"
    AMBIGUOUS_INVOICE = "ambiguous_invoice"
    SEVERAL_INVOICES = "several_invoices"
    PAYER_INN_MISMATCH = "payer_inn_mismatch"


@dataclass(frozen=True, slots=True)
class Match:
    """What one incoming payment does to one invoice, or why it could not be placed.

    difference_kopecks is the payment minus what was due before it: 0 paid in full, below
    zero still owed, above zero overpaid. For an unmatched payment, invoice is the candidate
    (if any) a person should look at.
    """

    document: StatementDocument
    status: MatchStatus
    invoice: OpenInvoice | None = None
    due_kopecks: int = 0
    difference_kopecks: int = 0
    reason: UnmatchedReason | None = None
    message: str = ""


# «счёт», «счета», «счету», «счетам», «сч.» then an optional «№»/«N» and the number; not
# «р/сч», «л/сч» (an account), not «счёт-фактура» or «сч/ф» (a tax invoice).
_INVOICE_REF = re.compile(
    r"(?<![\w/-])(?:сч[её]т(?:у|а|ом|е|ам|ов)?|сч)(?![\w/-])\.?\s*(?:на\s+оплату\s*)?"
    r"(?:№|N|No\.?|#)?\s*№?\s*"
    r"(?P<numbers>[A-ZА-Я]{0,4}-?\d[\w/-]*(?:\s*(?:,|;|\bи\b)\s*(?:№|N)?\s*\d[\w/-]*)*)"
    r"(?:\s*от\s*(?P<date>\d{1,2}\.\d{1,2}\.\d{2,4}))?",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[A-ZА-Я]{0,4}-?\d[\w/-]*", re.IGNORECASE)


def _canonical(number: str) -> str:
    """Case and leading zeros do not matter: «2026-000123» and «2026-123» are one invoice."""
    stripped = number.strip().rstrip(".-/").upper()
    return re.sub(r"\d+", lambda m: str(int(m.group())), stripped)


def _sequence(number: str) -> str | None:
    """The invoice's running number, as people shorten it: «2026-000123» → «123»."""
    match = re.search(r"(\d+)$", number.strip())
    return str(int(match.group(1))) if match else None


def _ref_date(text: str | None) -> date | None:
    if not text:
        return None
    day, month, year = (int(p) for p in text.split("."))
    try:
        return date(year + 2000 if year < 100 else year, month, day)
    except ValueError:
        return None


def invoice_references(purpose: str) -> list[tuple[str, date | None]]:
    """The invoice numbers (and dates, if given) a payment's purpose mentions."""
    found = []
    for match in _INVOICE_REF.finditer(purpose):
        ref_date = _ref_date(match.group("date"))
        for number in _NUMBER.findall(match.group("numbers")):
            found.append((number.rstrip(".-/"), ref_date))
    return found


def _candidates(
    token: str, ref_date: date | None, payer_inn: str, invoices: Sequence[OpenInvoice]
) -> list[OpenInvoice]:
    canonical = _canonical(token)
    found = [inv for inv in invoices if _canonical(inv.number) == canonical]
    if not found and token.isdigit():
        found = [inv for inv in invoices if _sequence(inv.number) == str(int(token))]
    if len(found) > 1 and ref_date is not None:
        dated = [inv for inv in found if inv.issued_on == ref_date]
        found = dated or found
    if len(found) > 1:
        same_buyer = [inv for inv in found if inv.buyer_inn == payer_inn]
        found = same_buyer or found
    return found


def match_payments(
    documents: Iterable[StatementDocument],
    invoices: Sequence[OpenInvoice],
    *,
    our_account: str,
) -> list[Match]:
    """Match the payments credited to our_account to open invoices, in statement order."""
    due = {inv.number: inv.amount_due_kopecks for inv in invoices}
    results: list[Match] = []
    for doc in documents:
        if doc.payee_account != our_account:
            continue
        refs = invoice_references(doc.purpose)
        resolved: dict[str, OpenInvoice] = {}
        ambiguous = False
        for token, ref_date in refs:
            found = _candidates(token, ref_date, doc.payer_inn, invoices)
            if len(found) == 1:
                resolved[found[0].number] = found[0]
            elif found:
                ambiguous = True
        if len(resolved) != 1:
            if len(resolved) > 1:
                reason = UnmatchedReason.SEVERAL_INVOICES
                message = _("Платёж по нескольким счетам (%(numbers)s): разнесите вручную.") % {
                    "numbers": ", ".join(resolved)
                }
            elif ambiguous:
                reason = UnmatchedReason.AMBIGUOUS_INVOICE
                message = _("Номер счёта в назначении подходит к нескольким счетам.")
            elif refs:
                reason = UnmatchedReason.UNKNOWN_INVOICE
                message = _("Среди открытых нет счёта № %(numbers)s.") % {
                    "numbers": ", ".join(token for token, _date in refs)
                }
            else:
                reason = UnmatchedReason.NO_INVOICE_NUMBER
                message = _("В назначении платежа нет номера счёта.")
            results.append(
                Match(document=doc, status=MatchStatus.UNMATCHED, reason=reason, message=message)
            )
            continue
        invoice = next(iter(resolved.values()))
        before = due[invoice.number]
        if doc.payer_inn != invoice.buyer_inn:
            results.append(
                Match(
                    document=doc,
                    status=MatchStatus.UNMATCHED,
                    invoice=invoice,
                    due_kopecks=before,
                    difference_kopecks=doc.amount_kopecks - before,
                    reason=UnmatchedReason.PAYER_INN_MISMATCH,
                    message=_(
                        "Счёт № %(number)s выставлен ИНН %(buyer)s, а заплатил ИНН %(payer)s."
                    )
                    % {
                        "number": invoice.number,
                        "buyer": invoice.buyer_inn,
                        "payer": doc.payer_inn or "—",
                    },
                )
            )
            continue
        difference = doc.amount_kopecks - before
        due[invoice.number] = max(0, -difference)
        if difference == 0:
            status, message = MatchStatus.PAID, _("Счёт № %(number)s оплачен полностью.")
        elif difference < 0:
            status, message = MatchStatus.PARTIAL, _("Счёт № %(number)s оплачен частично.")
        else:
            status, message = MatchStatus.OVERPAID, _("Счёт № %(number)s оплачен с переплатой.")
        results.append(
            Match(
                document=doc,
                status=status,
                invoice=invoice,
                due_kopecks=before,
                difference_kopecks=difference,
                message=message % {"number": invoice.number},
            )
        )
    return results


def relevant_invoices(
    documents: Iterable[StatementDocument], invoices: Iterable[OpenInvoice]
) -> list[OpenInvoice]:
    """The invoices some document's purpose could name; matching against them alone gives what
    matching against all would, so the caller need look at (and lock) only these."""
    numbers: set[str] = set()
    sequences: set[str] = set()
    for doc in documents:
        for token, _ref_date in invoice_references(doc.purpose):
            numbers.add(_canonical(token))
            if token.isdigit():
                sequences.add(str(int(token)))
    return [
        inv
        for inv in invoices
        if _canonical(inv.number) in numbers or _sequence(inv.number) in sequences
    ]
