"""The bank-transfer QR code of ГОСТ Р 56042-2014 («Стандарты финансовых операций. Двумерные
символы штрихового кода для осуществления платежей физическими лицами»), as on a счёт.

The payload is a service block and `Key=Value` pairs joined by a separator:
``ST00012|Name=…|PersonalAcc=…|BankName=…|BIC=…|CorrespAcc=…|Sum=…|Purpose=…|PayeeINN=…|KPP=…``
— ``ST`` the format, ``0001`` the version, ``2`` the character set (1 windows-1251, 2 UTF-8,
3 KOI8-R), then the separator (the standard lets the writer pick any character absent from the
values; ``|`` is the one every bank app reads). The five mandatory fields come first and in the
standard's order; Sum is in kopecks, not roubles.

A value containing the separator is refused rather than altered: the values are the payee's
bank details and the invoice's purpose, and a silently rewritten name or purpose would put
something on the payer's screen that our own records do not say — the source must be fixed.
Line breaks and runs of spaces are collapsed to one space (a bank app shows one line anyway).

Account checks are the Bank of Russia's control-key algorithm for account numbers: weights
7, 1, 3 repeated over a 23-digit string, whose weighted sum must end in 0. For a settlement
account the string is the BIC's last three digits + the account; for a correspondent account
(and for accounts held at the Bank of Russia itself, whose BIC ends in 000–002) it is «0» + the
BIC's 5th and 6th digits + the account.
"""

from __future__ import annotations

import io
import re
from datetime import date

import segno
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.ru import inn as stdnum_inn

from kabinet.core.errors import ValidationFailed
from kabinet.pharma.identifiers import IdentifierError, clean_kpp

HEADER = "ST0001"
ENCODING_UTF8 = "2"
SEPARATOR = "|"
NO_CORRESPONDENT_ACCOUNT = "0"

# ГОСТ Р 56042-2014, tables 1 and 2: maximum lengths in characters.
FIELD_LIMITS = {
    "Name": 160,
    "PersonalAcc": 20,
    "BankName": 45,
    "BIC": 9,
    "CorrespAcc": 20,
    "Sum": 18,
    "Purpose": 210,
    "PayeeINN": 12,
    "PayerINN": 12,
    "KPP": 9,
    "DocNo": 15,
    "DocDate": 10,
    "UIN": 25,
}
_WEIGHTS = (7, 1, 3)
_DIGITS = re.compile(r"^\d+$")
_SPACES = re.compile(r"\s+")


class PaymentDetailsError(ValidationFailed):
    """Bank details or a purpose that cannot go into a payment QR code."""

    default_code = "payment_details_invalid"


def _key_string(*, bic: str, account: str, correspondent: bool) -> str:
    if correspondent or bic[6:] in ("000", "001", "002"):
        return "0" + bic[4:6] + account
    return bic[6:] + account


def bank_account_key_ok(*, bic: str, account: str, correspondent: bool = False) -> bool:
    """Whether a 20-digit account's control key agrees with the 9-digit BIC of its bank."""
    if not (_DIGITS.match(bic) and len(bic) == 9 and _DIGITS.match(account) and len(account) == 20):
        return False
    digits = _key_string(bic=bic, account=account, correspondent=correspondent)
    return sum(int(d) * _WEIGHTS[i % 3] for i, d in enumerate(digits)) % 10 == 0


def corresp_account_ok(*, bic: str, account: str) -> bool:
    """A bank's correspondent account at the Bank of Russia agrees with the bank's BIC.

    The control key only covers the BIC's 5th and 6th digits (the region), so two banks of one
    region pass it with each other's accounts; a 30101 account also ends with the BIC's last
    three digits, which tells the banks apart.
    """
    if not bank_account_key_ok(bic=bic, account=account, correspondent=True):
        return False
    return not account.startswith("30101") or account[-3:] == bic[-3:]


def account_control_key(*, bic: str, account: str, correspondent: bool = False) -> str:
    """The account with its control key (the 9th digit) set to agree with the BIC."""
    for key in "0123456789":
        candidate = account[:8] + key + account[9:]
        if bank_account_key_ok(bic=bic, account=candidate, correspondent=correspondent):
            return candidate
    raise ValueError("not a 20-digit account or a 9-digit BIC")


def _clean(field: str, value: str) -> str:
    text = _SPACES.sub(" ", str(value)).strip()
    if SEPARATOR in text:
        raise PaymentDetailsError(
            _("Поле %(field)s не может содержать символ «%(sep)s»: он разделяет поля QR-кода.")
            % {"field": field, "sep": SEPARATOR},
            field=field,
        )
    limit = FIELD_LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise PaymentDetailsError(
            _("Поле %(field)s длиннее %(limit)d знаков (ГОСТ Р 56042-2014): %(count)d.")
            % {"field": field, "limit": limit, "count": len(text)},
            field=field,
        )
    return text


def _digits(field: str, value: str, length: int, label: str) -> str:
    text = "".join(str(value).split())
    if not (_DIGITS.match(text) and len(text) == length):
        raise PaymentDetailsError(
            _("%(label)s состоит из %(length)d цифр: «%(value)s».")
            % {"label": label, "length": length, "value": value},
            field=field,
        )
    return text


def _inn(field: str, value: str) -> str:
    try:
        return stdnum_inn.validate(value)
    except StdnumValidationError as exc:
        raise PaymentDetailsError(
            _("Неверный ИНН «%(value)s»: проверьте цифры.") % {"value": value}, field=field
        ) from exc


def payment_payload(
    *,
    name: str,
    personal_acc: str,
    bank_name: str,
    bic: str,
    corresp_acc: str,
    sum_kopecks: int,
    purpose: str,
    payee_inn: str,
    kpp: str | None = None,
    payer_inn: str | None = None,
    doc_no: str | None = None,
    doc_date: date | None = None,
    uin: str | None = None,
) -> str:
    """The ГОСТ Р 56042-2014 text (UTF-8 variant) for a transfer of sum_kopecks to the payee."""
    bic = _digits("BIC", bic, 9, _("БИК"))
    personal_acc = _digits("PersonalAcc", personal_acc, 20, _("Расчётный счёт"))
    if not bank_account_key_ok(bic=bic, account=personal_acc):
        raise PaymentDetailsError(
            _("Расчётный счёт %(account)s не сходится с БИК %(bic)s по контрольному ключу.")
            % {"account": personal_acc, "bic": bic},
            field="PersonalAcc",
        )
    corresp_acc = "".join(str(corresp_acc).split())
    # Banks settled directly at the Bank of Russia have no correspondent account; the
    # standard's convention for that is the single digit 0.
    if corresp_acc != NO_CORRESPONDENT_ACCOUNT:
        corresp_acc = _digits("CorrespAcc", corresp_acc, 20, _("Корреспондентский счёт"))
        if not corresp_account_ok(bic=bic, account=corresp_acc):
            raise PaymentDetailsError(
                _("Корреспондентский счёт %(account)s не принадлежит банку с БИК %(bic)s.")
                % {"account": corresp_acc, "bic": bic},
                field="CorrespAcc",
            )
    if isinstance(sum_kopecks, bool) or not isinstance(sum_kopecks, int) or sum_kopecks <= 0:
        raise PaymentDetailsError(
            _("Сумма платежа должна быть положительным числом копеек."), field="Sum"
        )
    fields = [
        ("Name", _clean("Name", name)),
        ("PersonalAcc", personal_acc),
        ("BankName", _clean("BankName", bank_name)),
        ("BIC", bic),
        ("CorrespAcc", corresp_acc),
        ("Sum", _clean("Sum", str(sum_kopecks))),
        ("Purpose", _clean("Purpose", purpose)),
        ("PayeeINN", _inn("PayeeINN", payee_inn)),
    ]
    if kpp:
        try:
            fields.append(("KPP", clean_kpp(kpp)))
        except IdentifierError as exc:
            raise PaymentDetailsError(exc.message, field="KPP") from exc
    if payer_inn:
        fields.append(("PayerINN", _inn("PayerINN", payer_inn)))
    if doc_no:
        fields.append(("DocNo", _clean("DocNo", doc_no)))
    if doc_date:
        fields.append(("DocDate", doc_date.strftime("%d.%m.%Y")))
    if uin:
        fields.append(("UIN", _clean("UIN", uin)))
    for key, value in fields:
        if not value:
            raise PaymentDetailsError(_("Поле %(field)s обязательно.") % {"field": key}, field=key)
    return HEADER + ENCODING_UTF8 + "".join(f"{SEPARATOR}{k}={v}" for k, v in fields)


def parse_payload(text: str) -> dict[str, str]:
    """The fields of a ГОСТ Р 56042-2014 text, keyed as written (Name, Sum, …)."""
    if len(text) < 8 or not text.startswith(HEADER) or text[6] not in "123":
        raise PaymentDetailsError(_("Это не платёжный QR-код ГОСТ Р 56042-2014."))
    separator = text[7]
    fields: dict[str, str] = {}
    for part in text[8:].split(separator):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise PaymentDetailsError(
                _("Поле без знака «=» в платёжном QR-коде: «%(part)s».") % {"part": part}
            )
        if key in fields:
            raise PaymentDetailsError(
                _("Поле %(field)s повторяется в платёжном QR-коде.") % {"field": key}
            )
        fields[key] = value
    for key in ("Name", "PersonalAcc", "BankName", "BIC", "CorrespAcc"):
        if key not in fields:
            raise PaymentDetailsError(
                _("В платёжном QR-коде нет обязательного поля %(field)s.") % {"field": key}
            )
    return fields


def qr_png(payload: str, *, scale: int = 4, border: int = 4) -> bytes:
    """A PNG of the payload: error correction M, a 4-module quiet zone, UTF-8 without ECI.

    No ECI header: the payload's own ST0001x digit names the character set, as the standard
    intends, so a reader needs nothing else.
    """
    qr = segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()
