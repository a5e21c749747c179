"""Keyboard layout conversion for search: «yjigf» typed with the Latin layout on is «ношпа».

The two layouts are the standard Russian ЙЦУКЕН and US QWERTY on the same keys, including
the punctuation keys that carry Russian letters: [ ] ; ' , . ` → х ъ ж э б ю ё. Pure
functions over strings; characters without a counterpart (digits, spaces) pass unchanged.
"""

from __future__ import annotations

_LATIN = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`" + 'QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>~' + "/?"
_RUSSIAN = "йцукенгшщзхъфывапролджэячсмитьбюё" + "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ" + ".,"

_TO_RUSSIAN = str.maketrans(_LATIN, _RUSSIAN)
_TO_LATIN = str.maketrans(_RUSSIAN, _LATIN)
_RUSSIAN_LETTERS = frozenset(_RUSSIAN[:66])


def to_russian(text: str) -> str:
    """What `text`, typed with the Latin layout on, was meant to be in the Russian one."""
    return text.translate(_TO_RUSSIAN)


def to_latin(text: str) -> str:
    """What `text`, typed with the Russian layout on, was meant to be in the Latin one."""
    return text.translate(_TO_LATIN)


def switch_layout(text: str) -> str | None:
    """`text` retyped in the other layout, or None when it is not in one layout only.

    Latin letters (with the punctuation keys of Russian letters) become Russian and
    Russian letters become Latin; text mixing both scripts, or with no letters, is left
    alone — it was not typed in a wrong layout.
    """
    has_latin = any(c.isascii() and c.isalpha() for c in text)
    has_russian = any(c in _RUSSIAN_LETTERS for c in text)
    if has_latin and not has_russian:
        return to_russian(text)
    if has_russian and not has_latin:
        return to_latin(text)
    return None
