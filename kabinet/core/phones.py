"""Phone numbers: every form a person types is stored as E.164 (`+79XXXXXXXXX`), SPEC L-AUTH-1."""

from __future__ import annotations

import phonenumbers


class PhoneError(ValueError):
    pass


def normalize_phone(raw: str, *, mobile_only: bool = True) -> str:
    """'9161234567', '89161234567', '+7 (916) 123-45-67' → '+79161234567'.

    A bare ten-digit number starting with 9 is how the seed tells members to type it
    («без 8 и без +7»), so it is read as a Russian mobile number.
    """
    text = (raw or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        raise PhoneError("empty phone number")
    if not text.startswith("+"):
        if len(digits) == 10:
            text = "+7" + digits
        elif len(digits) == 11 and digits[0] == "8":
            text = "+7" + digits[1:]
        elif len(digits) == 11 and digits[0] == "7":
            text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError("not a valid phone number")
    if mobile_only and phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise PhoneError("not a mobile phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_phone_ru(e164: str) -> str:
    """'+79161234567' → '+7 916 123-45-67', the way Russian pages print a phone."""
    if len(e164) == 12 and e164.startswith("+7"):
        d = e164[2:]
        return f"+7 {d[0:3]} {d[3:6]}-{d[6:8]}-{d[8:10]}"
    return e164


def mask_phone(e164: str) -> str:
    """'+79161234567' → '+7 916 ***-**-67': enough for a person to recognise their own."""
    if len(e164) == 12 and e164.startswith("+7"):
        return f"+7 {e164[2:5]} ***-**-{e164[10:12]}"
    return e164[:3] + "***" + e164[-2:]
