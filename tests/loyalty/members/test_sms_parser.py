"""The activation SMS parser (L-ACT-4): tolerant of how people type, precise when it refuses."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kabinet.loyalty import cardnumbers
from kabinet.loyalty.sms_activation import ActivationSms, SmsParseError, parse

TODAY = date(2026, 3, 2)
CARD = cardnumbers.complete_card_number("277012345678901")
GROUPED = cardnumbers.format_card_number(CARD)
ANNA = ActivationSms(card_number=CARD, first_name="Анна", birth_date=date(1990, 6, 15))


@pytest.mark.parametrize(
    "text",
    [
        f"{CARD} Анна 15.06.1990",
        f"  {CARD}   Анна    15.06.1990  ",
        f"{CARD},Анна,15.06.1990",
        f"{CARD}; Анна; 15.06.1990",
        f"{CARD} , Анна ; 15.06.1990",
        f"{CARD}\nАнна\n15.06.1990",
        f"{CARD} Анна 15.06.90",
        f"{CARD} Анна 15/06/1990",
        f"{CARD} Анна 15-06-1990",
        f"{CARD} анна 15.6.1990",
        f"{CARD} АННА 15. 06. 1990",
        f"{GROUPED} Анна 15.06.1990",
        f"{CARD[:4]}-{CARD[4:8]}-{CARD[8:12]}-{CARD[12:]} Анна 15.06.1990",
    ],
)
def test_accepted_forms(text):
    assert parse(text, today=TODAY) == ANNA


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{CARD} Анна 5.6.1990", date(1990, 6, 5)),
        (f"{CARD} Анна 05.06.05", date(2005, 6, 5)),
        (f"{CARD} Анна 01.01.26", date(1926, 1, 1)),  # 2026 would make her a baby
        (f"{CARD} Анна 29.02.2000", date(2000, 2, 29)),
    ],
)
def test_dates(text, expected):
    assert parse(text, today=TODAY).birth_date == expected


def test_hyphenated_names_and_yo():
    assert parse(f"{CARD} анна-мария 15.06.1990", today=TODAY).first_name == "Анна-Мария"
    assert parse(f"{CARD} Фёдор 15.06.1990", today=TODAY).first_name == "Фёдор"


HINT = "Отправьте: номер карты, имя, дату рождения, например 2770123456789012 Анна 15.06.1990"


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        ("", "empty", f"Пустое сообщение. {HINT}"),
        ("   ;, ", "empty", f"Пустое сообщение. {HINT}"),
        ("Анна 15.06.1990", "card_missing", f"Не найден номер карты. {HINT}"),
        (f"{CARD[:-1]} Анна 15.06.1990", "card_length", "В номере карты 16 цифр, введено 15"),
        (
            f"{CARD[:-1]}{(int(CARD[-1]) + 1) % 10} Анна 15.06.1990",
            "card_checksum",
            "В номере карты ошибка: проверьте цифры",
        ),
        (f"{CARD} 15.06.1990", "name_missing", f"Не указано имя. {HINT}"),
        (CARD, "name_missing", f"Не указаны имя и дата рождения. {HINT}"),
        (f"{CARD} Анна Петрова 15.06.1990", "name_surname", "Укажите только имя, без фамилии"),
        (f"{CARD} Anna 15.06.1990", "first_name_latin", "Имя пишется русскими буквами"),
        (f"{CARD} Анна", "date_missing", "Не указана дата рождения: напишите её как ДД.ММ.ГГГГ"),
        (
            f"{CARD} Анна 15061990",
            "date_unreadable",
            "Дата рождения не распознана: напишите её как ДД.ММ.ГГГГ",
        ),
        (
            f"{CARD} Анна 31.02.1990",
            "date_invalid",
            "Такой даты нет: 31.02.1990. Напишите дату как ДД.ММ.ГГГГ",
        ),
        (
            f"{CARD} Анна 15.06.1990 спасибо",
            "extra_words",
            f"Лишние слова после даты рождения. {HINT}",
        ),
        (
            f"{CARD} Анна 15.06.2020",
            "birth_date_too_young",
            "Участвовать в программе можно с 14 лет",
        ),
        (f"{CARD} Анна 15.06.2030", "birth_date_future", "Дата рождения не может быть в будущем"),
    ],
)
def test_refusals_say_precisely_what_is_wrong(text, code, reason):
    with pytest.raises(SmsParseError) as excinfo:
        parse(text, today=TODAY)
    assert (excinfo.value.code, excinfo.value.text) == (code, reason)


names = st.sampled_from(["Анна", "Иван", "Фёдор", "Анна-Мария", "Ия"])
separators = st.lists(
    st.sampled_from([" ", "  ", ",", ";", ", ", " ; ", "\t"]), min_size=1, max_size=3
).map("".join)
date_seps = st.sampled_from([".", "/", "-"])


@given(
    prefix=st.text(alphabet="0123456789", min_size=15, max_size=15),
    name=names,
    birth=st.dates(min_value=date(1906, 3, 3), max_value=date(2012, 3, 2)),
    sep1=separators,
    sep2=separators,
    date_sep=date_seps,
    padded=st.booleans(),
    case=st.sampled_from([str.lower, str.upper, str]),
)
def test_any_valid_message_is_read_back_exactly(
    prefix, name, birth, sep1, sep2, date_sep, padded, case
):
    card = cardnumbers.complete_card_number(prefix)
    day, month = (
        (f"{birth.day:02d}", f"{birth.month:02d}")
        if padded
        else (
            str(birth.day),
            str(birth.month),
        )
    )
    text = f"{card}{sep1}{case(name)}{sep2}{day}{date_sep}{month}{date_sep}{birth.year}"

    assert parse(text, today=TODAY) == ActivationSms(card, name, birth)


@given(st.text(max_size=80))
def test_anything_else_is_either_read_or_refused_with_a_reason(text):
    try:
        parse(text, today=TODAY)
    except SmsParseError as exc:
        assert exc.text and exc.code
