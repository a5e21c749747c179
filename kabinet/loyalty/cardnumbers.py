"""Card numbers, barcodes and the rotating virtual-card code (L-CARD-1, L-CARD-4).

Pure functions over strings, bytes and aware datetimes; no Django.

* A card number is 16 ASCII digits, the last a Luhn check digit, so a typo is
  caught before any lookup (L-CARD-1). Luhn catches every single-digit error
  and every adjacent transposition except 09 <-> 90.
* A plastic card's barcode (Code 128) carries the same 16 digits. EAN-13 cannot
  hold 16 digits, so scanned data is accepted only as those digits, optionally
  behind an AIM symbology identifier and with the scanner's trailing CR/LF.
* A virtual card's QR payload is ``KB1:<16-digit card>:<6-digit code>``; its
  on-screen barcode is the same as 22 digits (card followed by code), which
  Code 128 set C encodes compactly. The code is RFC 6238 TOTP (HMAC-SHA1, 30 s
  step, 6 digits) over a per-card secret, so a screenshot stops working within
  about a minute (L-CARD-4). HMAC-SHA1 is the RFC's default and is not weakened
  by SHA-1's collision attacks.
"""

from __future__ import annotations

import hmac
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime

CARD_NUMBER_LENGTH = 16
QR_PREFIX = "KB1"
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
#: Steps of clock skew accepted either side (phone clocks drift; the till is slow).
TOTP_SKEW_STEPS = 1
#: RFC 4226 recommends at least 128 bits; 160 matches the SHA-1 block output.
SECRET_BYTES = 20

_DIGITS = frozenset("0123456789")
# Separators people type or paste into a card number: spaces of every kind
# (incl. no-break space from copied text) and dashes.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")
# AIM symbology identifier that some scanners prepend: "]" + code letter + modifier.
_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_QR_PAYLOAD = re.compile(rf"{QR_PREFIX}:([0-9]{{{CARD_NUMBER_LENGTH}}}):([0-9]{{{TOTP_DIGITS}}})")


class CardNumberError(ValueError):
    """The input is not a valid card number; `reason` says why, `text` in Russian."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


class QrPayloadError(ValueError):
    """A virtual-card payload was refused; `reason` is "malformed" or "code_rejected"."""

    reason = "invalid"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class MalformedQrPayload(QrPayloadError):
    reason = "malformed"


class QrCodeRejected(QrPayloadError):
    """Expired (an old screenshot) or simply wrong."""

    reason = "code_rejected"


# ------------------------------------------------------------------------- Luhn


def _luhn_sum(digits: str, *, double_last: bool) -> int:
    total = 0
    # Walk from the right; the digits in the doubled positions contribute
    # their doubled value's digit sum (2·d − 9 when 2·d > 9).
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if (index % 2 == 0) == double_last:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def _ascii_digits(text: str) -> bool:
    return bool(text) and all(char in _DIGITS for char in text)


def luhn_check_digit(payload: str) -> str:
    """The Luhn check digit to append to `payload` (ASCII digits)."""
    if not _ascii_digits(payload):
        raise ValueError("payload must be ASCII digits")
    return str(-_luhn_sum(payload, double_last=True) % 10)


def luhn_is_valid(digits: str) -> bool:
    """Whether the last digit of `digits` is the Luhn check digit of the rest."""
    return (
        len(digits) >= 2
        and _ascii_digits(digits)
        and _luhn_sum(digits, double_last=False) % 10 == 0
    )


def complete_card_number(first_fifteen: str) -> str:
    """A card number from its first 15 digits (for batch production, L-CARD-3)."""
    if len(first_fifteen) != CARD_NUMBER_LENGTH - 1 or not _ascii_digits(first_fifteen):
        raise ValueError("a card number starts with 15 digits")
    return first_fifteen + luhn_check_digit(first_fifteen)


def is_valid_card_number(number: str) -> bool:
    """Strict: exactly 16 ASCII digits with a correct check digit, nothing else."""
    return len(number) == CARD_NUMBER_LENGTH and luhn_is_valid(number)


def normalize_card_number(raw: str) -> str:
    """A typed card number as 16 digits; spaces and dashes are ignored.

    Raises `CardNumberError` with reason "empty", "characters", "length" or
    "checksum".
    """
    compact = _SEPARATORS.sub("", raw)
    if not compact:
        raise CardNumberError("empty", "Введите номер карты")
    if not _ascii_digits(compact):
        raise CardNumberError("characters", "Номер карты состоит только из цифр")
    if len(compact) != CARD_NUMBER_LENGTH:
        raise CardNumberError(
            "length", f"В номере карты {CARD_NUMBER_LENGTH} цифр, введено {len(compact)}"
        )
    if not luhn_is_valid(compact):
        raise CardNumberError("checksum", "В номере карты ошибка: проверьте цифры")
    return compact


def format_card_number(number: str) -> str:
    """ "1234567890123452" -> "1234 5678 9012 3452", as printed on the card."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


# --------------------------------------------------------------------- scanning


@dataclass(frozen=True, slots=True)
class ScannedCard:
    number: str
    #: The virtual card's rotating code; None for a plastic card's barcode.
    code: str | None


def _strip_scanner_framing(raw: str) -> str:
    # Keyboard-wedge scanners end with CR/LF or Tab; GS1 data may carry GS.
    data = raw.strip().strip("\x1d")
    return _AIM_PREFIX.sub("", data, count=1)


def parse_barcode(raw: str) -> str:
    """The card number from a scanned plastic-card barcode (L-CARD-1).

    Raises `CardNumberError` like `normalize_card_number`.
    """
    return normalize_card_number(_strip_scanner_framing(raw))


def parse_scan(raw: str) -> ScannedCard:
    """What the till scanned: a plastic barcode, a virtual QR, or a virtual barcode.

    Only the shape is checked here; the code still has to be verified against
    the card's secret (`verify_code`). Raises `CardNumberError` for a bad
    number, `MalformedQrPayload` for a damaged virtual-card payload.
    """
    data = _strip_scanner_framing(raw)
    if data.upper().startswith(QR_PREFIX + ":"):
        number, code = parse_qr_payload(data)
        return ScannedCard(number, code)
    if len(data) == CARD_NUMBER_LENGTH + TOTP_DIGITS and _ascii_digits(data):
        number = normalize_card_number(data[:CARD_NUMBER_LENGTH])
        return ScannedCard(number, data[CARD_NUMBER_LENGTH:])
    return ScannedCard(normalize_card_number(data), None)


# ------------------------------------------------------------------------- TOTP


def new_card_secret() -> bytes:
    """A fresh per-card secret for a virtual card."""
    return secrets.token_bytes(SECRET_BYTES)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")


def totp_counter(at: datetime) -> int:
    """The RFC 6238 time step that `at` falls in."""
    _require_aware(at)
    return int(at.timestamp()) // TOTP_STEP_SECONDS


def _hotp(secret: bytes, counter: int) -> str:
    # RFC 4226 §5.3: HMAC over the big-endian counter, dynamic truncation.
    digest = hmac.digest(secret, struct.pack(">Q", counter), "sha1")
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**TOTP_DIGITS:0{TOTP_DIGITS}d}"


def _require_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes | bytearray) or len(secret) < 16:
        raise ValueError("a card secret is at least 16 bytes")


def totp_code(secret: bytes, *, at: datetime) -> str:
    """The 6-digit code of `secret` for the time step containing `at`."""
    _require_secret(secret)
    return _hotp(bytes(secret), totp_counter(at))


def verify_code(
    secret: bytes, code: str, *, at: datetime, skew_steps: int = TOTP_SKEW_STEPS
) -> int | None:
    """The matching time step if `code` is valid at `at` ± `skew_steps`, else None.

    Returning the step lets a caller refuse a second use of the same code.
    Every candidate is compared in constant time, and all of them are compared.
    """
    _require_secret(secret)
    if skew_steps < 0:
        raise ValueError("skew_steps must be >= 0")
    now = totp_counter(at)
    if len(code) != TOTP_DIGITS or not _ascii_digits(code):
        return None  # compare_digest refuses non-ASCII text; the shape is no secret
    matched: int | None = None
    for counter in range(now - skew_steps, now + skew_steps + 1):
        if counter >= 0 and hmac.compare_digest(_hotp(bytes(secret), counter), code):
            matched = counter
    return matched


def build_qr_payload(card_number: str, secret: bytes, *, at: datetime) -> str:
    """The QR payload the app shows at `at` (L-CARD-4)."""
    if not is_valid_card_number(card_number):
        raise ValueError("not a valid card number")
    return f"{QR_PREFIX}:{card_number}:{totp_code(secret, at=at)}"


def build_barcode_payload(card_number: str, secret: bytes, *, at: datetime) -> str:
    """The 22 digits of the virtual card's on-screen barcode: card then code."""
    if not is_valid_card_number(card_number):
        raise ValueError("not a valid card number")
    return card_number + totp_code(secret, at=at)


def parse_qr_payload(payload: str) -> tuple[str, str]:
    """(card number, code) from a payload, without checking the code.

    The caller looks up the card's secret by the number, then verifies.
    Raises `MalformedQrPayload`.
    """
    data = _strip_scanner_framing(payload)
    # Scanners in caps-lock keyboard mode upper- or lower-case letters.
    if data[: len(QR_PREFIX)].upper() == QR_PREFIX:
        data = QR_PREFIX + data[len(QR_PREFIX) :]
    match = _QR_PAYLOAD.fullmatch(data)
    if match is None:
        raise MalformedQrPayload("QR-код карты не распознан")
    number, code = match.groups()
    if not luhn_is_valid(number):
        raise MalformedQrPayload("QR-код карты не распознан")
    return number, code


def verify_qr_payload(
    payload: str, secret: bytes, *, at: datetime, skew_steps: int = TOTP_SKEW_STEPS
) -> str:
    """The card number if `payload` is valid at `at` for `secret`.

    Raises `MalformedQrPayload` or `QrCodeRejected` (an old screenshot, or a
    code made with another card's secret).
    """
    number, code = parse_qr_payload(payload)
    if verify_code(secret, code, at=at, skew_steps=skew_steps) is None:
        raise QrCodeRejected("QR-код устарел: обновите его в приложении")
    return number
