"""Reading an activation SMS to 9002: "<card number> <first name> <birth date>" (L-ACT-4).

Pure: a text and today's date in, the three values or a precise Russian reason out.
People type these on a phone keyboard, so the parser forgives what carries no doubt:

* any run of spaces, commas and semicolons separates the parts;
* the card number may be typed in groups ("2770 1234 5678 9012") or with dashes;
* the date may be DD.MM.YYYY, DD.MM.YY, DD/MM/YYYY, D.M.YYYY (also with "-"),
  with spaces around its separators;
* the name may be in any case («АННА», «анна» → «Анна»).

It refuses what is ambiguous: a surname after the name, a missing part, a date that does
not exist. The reason it gives goes back to the sender in the reply SMS, so it says what to
fix, in the fewest words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kabinet.loyalty import cardnumbers, member_rules

EXAMPLE = "2770123456789012 Анна 15.06.1990"
FORMAT_HINT = f"Отправьте: номер карты, имя, дату рождения, например {EXAMPLE}"

_SEPARATORS = re.compile(r"[\s,;]+")
_CARD_CHUNK = re.compile(r"^[0-9]+(?:[-‐‑–—][0-9]+)*$")
_DATE = re.compile(r"^(\d{1,2})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{2}|\d{4})$")
_HAS_DIGIT = re.compile(r"\d")


class SmsParseError(ValueError):
    """The text could not be read; `text` is the reply's reason, `code` the stored outcome."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(frozen=True, slots=True)
class ActivationSms:
    card_number: str
    first_name: str
    birth_date: date


def _year(raw: str, today: date) -> int:
    """A two-digit year is the latest that makes a member old enough: 90 → 1990, 05 → 2005."""
    if len(raw) == 4:
        return int(raw)
    two = int(raw)
    century = today.year - today.year % 100
    latest = today.year - member_rules.MIN_AGE
    return century + two if century + two <= latest else century - 100 + two


def parse_birth_date(raw: str, *, today: date) -> date:
    """'15.06.1990', '15.06.90', '15/06/1990', '5.6.1990' → date; else SmsParseError."""
    match = _DATE.match(raw.strip())
    if match is None:
        raise SmsParseError(
            "date_unreadable", "Дата рождения не распознана: напишите её как ДД.ММ.ГГГГ"
        )
    day, month, year_text = match.groups()
    try:
        parsed = date(_year(year_text, today), int(month), int(day))
    except ValueError:
        raise SmsParseError(
            "date_invalid", f"Такой даты нет: {raw.strip()}. Напишите дату как ДД.ММ.ГГГГ"
        ) from None
    try:
        return member_rules.check_birth_date(parsed, today=today)
    except member_rules.MemberDataError as exc:
        raise SmsParseError(exc.code, exc.text) from None


def parse(text: str, *, today: date) -> ActivationSms:
    """Read "<card> <first name> <birth date>"; raise SmsParseError saying what is wrong."""
    tokens = [t for t in _SEPARATORS.split(text or "") if t]
    if not tokens:
        raise SmsParseError("empty", f"Пустое сообщение. {FORMAT_HINT}")

    # The card number: the leading groups of digits (and dashes), however they were split.
    card_parts: list[str] = []
    while tokens and _CARD_CHUNK.match(tokens[0]):
        card_parts.append(tokens.pop(0))
        if sum(ch.isdigit() for ch in "".join(card_parts)) >= cardnumbers.CARD_NUMBER_LENGTH:
            break
    if not card_parts:
        raise SmsParseError("card_missing", f"Не найден номер карты. {FORMAT_HINT}")
    try:
        card_number = cardnumbers.normalize_card_number("".join(card_parts))
    except cardnumbers.CardNumberError as exc:
        raise SmsParseError(f"card_{exc.reason}", exc.text) from None

    # What is left: the name (letters) and the birth date (the part with digits). The date
    # may itself have been split at spaces ("15. 06. 1990"), so its pieces are joined back.
    date_start = next((i for i, t in enumerate(tokens) if _HAS_DIGIT.search(t)), len(tokens))
    name_tokens, date_tokens = tokens[:date_start], tokens[date_start:]
    if not name_tokens:
        if date_tokens:
            raise SmsParseError("name_missing", f"Не указано имя. {FORMAT_HINT}")
        raise SmsParseError("name_missing", f"Не указаны имя и дата рождения. {FORMAT_HINT}")
    if len(name_tokens) > 1:
        raise SmsParseError("name_surname", "Укажите только имя, без фамилии")
    try:
        first_name = member_rules.clean_first_name(name_tokens[0])
    except member_rules.MemberDataError as exc:
        raise SmsParseError(exc.code, exc.text) from None
    if not date_tokens:
        raise SmsParseError("date_missing", "Не указана дата рождения: напишите её как ДД.ММ.ГГГГ")
    if any(not _HAS_DIGIT.search(t) and not re.fullmatch(r"[./-]+", t) for t in date_tokens):
        raise SmsParseError("extra_words", f"Лишние слова после даты рождения. {FORMAT_HINT}")
    birth_date = parse_birth_date("".join(date_tokens), today=today)
    return ActivationSms(card_number=card_number, first_name=first_name, birth_date=birth_date)
