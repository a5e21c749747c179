"""Amounts in Russian words, as an invoice writes them: «Одна тысяча двести тридцать четыре
рубля 50 копеек».

Roubles in words, kopecks in two digits (the accountants' convention on счета and платёжки).
A number's last group agrees in gender with its noun: рубль and миллион are masculine («один
рубль», «два миллиона»), тысяча is feminine («одна тысяча», «две тысячи»). The noun's form
follows the last two digits: 1, 21, 101 → «рубль»; 2–4, 22–24 → «рубля»; 0, 5–20, 25–30, 111–114
→ «рублей».

This text is Russian by law (it goes on a Russian accounting document), not a translation.
"""

from __future__ import annotations

from typing import Literal

Gender = Literal["m", "f"]

_UNITS_M = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_UNITS_F = ("", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_TEENS = (
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
)
_TENS = (
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
)
_HUNDREDS = (
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
)
# (one, few, many) and the gender the numeral takes, from 10^3 up.
_SCALES: tuple[tuple[tuple[str, str, str], Gender], ...] = (
    (("тысяча", "тысячи", "тысяч"), "f"),
    (("миллион", "миллиона", "миллионов"), "m"),
    (("миллиард", "миллиарда", "миллиардов"), "m"),
    (("триллион", "триллиона", "триллионов"), "m"),
)
MAX_NUMBER = 10**15 - 1

RUBLE_FORMS = ("рубль", "рубля", "рублей")
KOPECK_FORMS = ("копейка", "копейки", "копеек")


def plural(n: int, forms: tuple[str, str, str]) -> str:
    """The noun's form after n, of (one, few, many): «1 рубль», «3 рубля», «11 рублей»."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return forms[2]
    last = n % 10
    if last == 1:
        return forms[0]
    if 2 <= last <= 4:
        return forms[1]
    return forms[2]


def _triple(n: int, gender: Gender) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [_HUNDREDS[hundreds]] if hundreds else []
    if 10 <= rest <= 19:
        words.append(_TEENS[rest - 10])
    else:
        tens, units = divmod(rest, 10)
        if tens:
            words.append(_TENS[tens])
        if units:
            words.append((_UNITS_F if gender == "f" else _UNITS_M)[units])
    return words


def number_in_words(n: int, *, gender: Gender = "m") -> str:
    """A non-negative integer in lower-case words: 2001 → «две тысячи один» (gender of the noun)."""
    if n < 0 or n > MAX_NUMBER:
        raise ValueError(f"number out of range: {n}")
    if n == 0:
        return "ноль"
    groups = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words: list[str] = []
    for index in range(len(groups) - 1, 0, -1):
        group = groups[index]
        if group:
            forms, scale_gender = _SCALES[index - 1]
            words += _triple(group, scale_gender)
            words.append(plural(group, forms))
    words += _triple(groups[0], gender)
    return " ".join(words)


def amount_in_words(kopecks: int) -> str:
    """123450 → «Одна тысяча двести тридцать четыре рубля 50 копеек»."""
    if kopecks < 0:
        raise ValueError("an amount in words cannot be negative")
    roubles, kop = divmod(kopecks, 100)
    text = (
        f"{number_in_words(roubles)} {plural(roubles, RUBLE_FORMS)} "
        f"{kop:02d} {plural(kop, KOPECK_FORMS)}"
    )
    return text[0].upper() + text[1:]
