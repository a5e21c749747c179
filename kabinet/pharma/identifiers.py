"""Russian company identifiers: INN, KPP, OGRN and OGRNIP (SPEC P-REG-2).

Pure functions over strings. Each `clean_*` returns the identifier without spaces or raises
`IdentifierError` with a message a person can act on. python-stdnum is not used for OGRNIP:
its 15-digit check takes the remainder mod 11, while the tax service's rule is mod 13.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
# Four digits of the tax office, two of the reason (digits or capital Latin letters since
# 2013), three of the sequence number.
_KPP = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")


class IdentifierError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _compact(value: str) -> str:
    return "".join(str(value or "").split()).replace("-", "")


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_check_digits(first: str) -> str:
    """The check digit(s) for the first 9 (organisation) or 10 (person) digits of an INN."""
    if len(first) == 9:
        return str(_weighted(first, _INN10_WEIGHTS))
    if len(first) == 10:
        eleventh = str(_weighted(first, _INN11_WEIGHTS))
        return eleventh + str(_weighted(first + eleventh, _INN12_WEIGHTS))
    raise ValueError("an INN has 9 or 10 digits before its check digits")


def ogrn_check_digit(first: str) -> str:
    """OGRN: the first 12 digits as a number mod 11, then mod 10; OGRNIP: 14 digits mod 13."""
    if len(first) == 12:
        return str(int(first) % 11 % 10)
    if len(first) == 14:
        return str(int(first) % 13 % 10)
    raise ValueError("an OGRN has 12 and an OGRNIP 14 digits before the check digit")


def clean_inn(value: str) -> str:
    """10 digits for an organisation, 12 for a sole proprietor (ИП), with valid check digits."""
    inn = _compact(value)
    if not inn:
        raise IdentifierError(_("Укажите ИНН."))
    if not inn.isdigit():
        raise IdentifierError(_("ИНН может содержать только цифры."))
    if len(inn) not in (10, 12):
        raise IdentifierError(
            _(
                "ИНН организации состоит из 10 цифр, ИНН индивидуального предпринимателя — "
                "из 12; введено цифр: %(count)d."
            )
            % {"count": len(inn)}
        )
    if inn.startswith("00"):
        raise IdentifierError(_("ИНН не может начинаться с 00: первые две цифры — код региона."))
    body = inn[:9] if len(inn) == 10 else inn[:10]
    if inn_check_digits(body) != inn[len(body) :]:
        raise IdentifierError(
            _("Неверное контрольное число ИНН: в номере опечатка. Сверьте его со свидетельством.")
        )
    return inn


def is_sole_proprietor_inn(inn: str) -> bool:
    return len(inn) == 12


def clean_kpp(value: str) -> str:
    kpp = _compact(value).upper()
    if not kpp:
        raise IdentifierError(_("Укажите КПП: он есть у каждой организации."))
    if len(kpp) != 9:
        raise IdentifierError(
            _("КПП состоит из 9 знаков; введено: %(count)d.") % {"count": len(kpp)}
        )
    if not _KPP.match(kpp):
        raise IdentifierError(
            _(
                "Неверный формат КПП: 4 цифры кода налоговой инспекции, 2 цифры или латинские "
                "буквы причины постановки на учёт и 3 цифры номера."
            )
        )
    return kpp


def clean_ogrn(value: str, *, sole_proprietor: bool) -> str:
    """ОГРН (13 digits) of an organisation or ОГРНИП (15 digits) of a sole proprietor."""
    number = _compact(value)
    name = _("ОГРНИП") if sole_proprietor else _("ОГРН")
    length = 15 if sole_proprietor else 13
    if not number:
        raise IdentifierError(_("Укажите %(name)s.") % {"name": name})
    if not number.isdigit():
        raise IdentifierError(_("%(name)s может содержать только цифры.") % {"name": name})
    if len(number) != length:
        if sole_proprietor and len(number) == 13:
            raise IdentifierError(
                _("У индивидуального предпринимателя ОГРНИП из 15 цифр, а не ОГРН из 13.")
            )
        if not sole_proprietor and len(number) == 15:
            raise IdentifierError(_("У организации ОГРН из 13 цифр, а не ОГРНИП из 15."))
        raise IdentifierError(
            _("%(name)s состоит из %(length)d цифр; введено: %(count)d.")
            % {"name": name, "length": length, "count": len(number)}
        )
    # The first digit says what was registered: 1 or 5 an organisation, 3 a sole proprietor.
    if sole_proprietor and number[0] != "3":
        raise IdentifierError(_("ОГРНИП начинается с цифры 3."))
    if not sole_proprietor and number[0] not in "15":
        raise IdentifierError(_("ОГРН организации начинается с цифры 1 или 5."))
    if ogrn_check_digit(number[:-1]) != number[-1]:
        raise IdentifierError(
            _("Неверная контрольная цифра %(name)s: в номере опечатка.") % {"name": name}
        )
    return number
