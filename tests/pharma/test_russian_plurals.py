"""Russian has three plural forms (1 товар, 3 товара, 5 товаров) where gettext's source strings
have two: the ru catalog supplies them (kabinet/pharma/locale/ru)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import ngettext

import kabinet.pharma

LOCALE = Path(kabinet.pharma.__file__).parent / "locale"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "Найден 1 товар"),
        (3, "Найдено 3 товара"),
        (5, "Найдено 5 товаров"),
        (11, "Найдено 11 товаров"),
        (21, "Найден 21 товар"),
        (34, "Найдено 34 товара"),
    ],
)
def test_counts_read_as_russian(n, expected):
    with translation.override("ru"):
        found = ngettext("Найден %(total)s товар", "Найдено товаров: %(total)s", n)
    assert found % {"total": n} == expected


def test_branches_are_counted_in_russian():
    with translation.override("ru"):
        text = ngettext(
            "%(counter)s региональный филиал.", "%(counter)s региональных филиалов.", 34
        )
    assert text % {"counter": 34} == "34 региональных филиала."


def _plurals(po: Path) -> dict[str, list[str]]:
    """msgid → its msgstr[…] forms, of the entries with a plural."""
    found = {}
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        if "msgid_plural" not in block:
            continue

        def joined(key: str, text: str = block) -> str:
            match = re.search(rf"^{re.escape(key)} ((?:\".*\"\n?)+)", text + "\n", re.M)
            return "".join(re.findall(r'"(.*)"', match.group(1))) if match else ""

        msgid = joined("msgid")
        found[msgid] = [joined(f"msgstr[{i}]") for i in range(3)] + [joined("msgid_plural")]
    return found


def test_every_plural_that_changes_its_words_has_its_three_russian_forms():
    english = _plurals(LOCALE / "en" / "LC_MESSAGES" / "django.po")
    russian = _plurals(LOCALE / "ru" / "LC_MESSAGES" / "django.po")
    for msgid, forms in english.items():
        plural = forms[-1]
        if re.sub(r"%\(\w+\)s", "", msgid) == re.sub(r"%\(\w+\)s", "", plural):
            continue  # «Свободно на складе: N уп.»: the same words for any number
        assert msgid in russian, f"no Russian plural forms for «{msgid}»"
        assert all(russian[msgid][:3]), f"a Russian form is empty for «{msgid}»"
