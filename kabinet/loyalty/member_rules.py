"""What a member's personal data must look like (L-ACT-1, L-ACT-4): pure functions, no ORM.

Every channel — the web wizard, the app API, the call-centre console, an SMS to 9002 — checks
a first name, a birth date and a password with these, so a member reads the same Russian
message whichever way they came. Each function returns the cleaned value or raises
`MemberDataError` with the message to show.
"""

from __future__ import annotations

import re
from datetime import date

#: The program is for adults and teenagers; nobody older than this is alive.
MIN_AGE = 14
MAX_AGE = 120
FIRST_NAME_MAX = 40
PASSWORD_MIN = 8

# A Russian first name: Cyrillic letters (ё included), optionally two parts with a hyphen
# («Анна-Мария»). No spaces: the seed asks for the name "без фамилии".
_RUSSIAN_NAME = re.compile(r"^[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)?$")
_CYRILLIC_OR_LATIN_LETTER = re.compile(r"[A-Za-zА-Яа-яЁё]")
_PASSWORD_ALLOWED = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces


class MemberDataError(ValueError):
    """A value a member typed was refused; `text` says why in Russian, `code` for APIs."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def clean_first_name(raw: str) -> str:
    """«  анна » → «Анна»; Russian letters and one hyphen only, no surname."""
    name = " ".join((raw or "").split())
    if not name:
        raise MemberDataError("first_name_required", "Укажите имя")
    if " " in name:
        raise MemberDataError("first_name_surname", "Укажите только имя, без фамилии")
    if len(name) > FIRST_NAME_MAX:
        raise MemberDataError("first_name_too_long", f"Имя не длиннее {FIRST_NAME_MAX} символов")
    if not _RUSSIAN_NAME.match(name):
        if re.search(r"[A-Za-z]", name):
            raise MemberDataError("first_name_latin", "Имя пишется русскими буквами")
        raise MemberDataError(
            "first_name_characters", "В имени допускаются только русские буквы и дефис"
        )
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def age_on(birth_date: date, today: date) -> int:
    """Full years on `today`."""
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def check_birth_date(birth_date: date, *, today: date) -> date:
    """A birth date that makes the member MIN_AGE…MAX_AGE years old on `today`."""
    if birth_date > today:
        raise MemberDataError("birth_date_future", "Дата рождения не может быть в будущем")
    age = age_on(birth_date, today)
    if age < MIN_AGE:
        raise MemberDataError(
            "birth_date_too_young", f"Участвовать в программе можно с {MIN_AGE} лет"
        )
    if age > MAX_AGE:
        raise MemberDataError("birth_date_too_old", "Проверьте год рождения")
    return birth_date


def check_password_rules(password: str) -> str:
    """L-ACT-1: Latin upper- and lower-case letters and digits, at least PASSWORD_MIN long.

    Django's configured validators (common passwords, similarity) run in the services on
    top of this; these are the program's own rules, worded as the seed words them.
    """
    if not password:
        raise MemberDataError("password_required", "Придумайте пароль")
    if len(password) < PASSWORD_MIN:
        raise MemberDataError(
            "password_too_short", f"Пароль должен быть не короче {PASSWORD_MIN} символов"
        )
    if not _PASSWORD_ALLOWED.match(password):
        if _CYRILLIC_OR_LATIN_LETTER.search(password) and re.search(r"[А-Яа-яЁё]", password):
            raise MemberDataError(
                "password_cyrillic",
                "В пароле только латинские буквы: проверьте раскладку клавиатуры",
            )
        raise MemberDataError(
            "password_characters", "Пароль не может содержать пробелы и такие символы"
        )
    if not re.search(r"[a-z]", password):
        raise MemberDataError("password_no_lower", "Добавьте в пароль строчную латинскую букву")
    if not re.search(r"[A-Z]", password):
        raise MemberDataError("password_no_upper", "Добавьте в пароль заглавную латинскую букву")
    if not re.search(r"[0-9]", password):
        raise MemberDataError("password_no_digit", "Добавьте в пароль цифру")
    return password
