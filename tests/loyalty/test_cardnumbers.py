"""Card numbers, barcodes and the virtual card's rotating QR code (L-CARD-1, L-CARD-4).

Pure functions: no database, no Django.
"""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kabinet.loyalty.cardnumbers import (
    CardNumberError,
    MalformedQrPayload,
    QrCodeRejected,
    QrPayloadError,
    ScannedCard,
    build_barcode_payload,
    build_qr_payload,
    complete_card_number,
    format_card_number,
    is_valid_card_number,
    luhn_check_digit,
    new_card_secret,
    normalize_card_number,
    parse_barcode,
    parse_qr_payload,
    parse_scan,
    totp_code,
    verify_code,
    verify_qr_payload,
)

CARD = "4111111111111111"
SECRET = bytes.fromhex("8f1c0a7e55b2d94c3e6a71f0b8d2c5e4a9136f07")
OTHER_SECRET = bytes.fromhex("0d3b97e2c4a8f6150e7c2b9d4a6f8e3c1b5d7a90")
STEP_START = datetime(2025, 6, 15, 12, 0, 0, tzinfo=UTC)  # a multiple of 30 s

fifteen_digits = st.text(alphabet="0123456789", min_size=15, max_size=15)
card_numbers = fifteen_digits.map(complete_card_number)
# TOTP codes are 6 digits, so two steps share a code about once in a million:
# fixed examples keep a rare collision from making a run flaky.
totp_settings = settings(derandomize=True)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


# -------------------------------------------------------------------------- Luhn


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "5500000000000004", "4012888888881881", "6011111111111117", CARD],
)
def test_known_valid_numbers_are_accepted(number):
    assert is_valid_card_number(number)
    assert normalize_card_number(number) == number


def test_check_digit_of_the_textbook_example():
    assert luhn_check_digit("7992739871") == "3"
    assert complete_card_number("411111111111111") == "4111111111111111"


@given(card_numbers)
def test_completed_numbers_are_valid(number):
    assert len(number) == 16
    assert is_valid_card_number(number)


@given(card_numbers, st.integers(min_value=0, max_value=15), st.integers(min_value=1, max_value=9))
def test_every_single_digit_typo_is_rejected(number, position, shift):
    """L-CARD-1: a mistyped number fails before any lookup."""
    wrong = str((int(number[position]) + shift) % 10)
    typo = number[:position] + wrong + number[position + 1 :]

    assert not is_valid_card_number(typo)
    with pytest.raises(CardNumberError) as error:
        normalize_card_number(typo)
    assert error.value.reason == "checksum"


@given(card_numbers, st.integers(min_value=0, max_value=14))
def test_adjacent_transpositions_are_rejected_except_09_and_90(number, position):
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2 :]

    if a == b:
        assert is_valid_card_number(swapped)  # nothing changed
    elif {a, b} == {"0", "9"}:
        assert is_valid_card_number(swapped)  # Luhn's one blind spot
    else:
        assert not is_valid_card_number(swapped)


@pytest.mark.parametrize(
    "typed",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111\u00a01111\u00a01111\u00a01111",
        "4111 – 1111 – 1111 – 1111",
        "  4111111111111111\n",
    ],
)
def test_typed_numbers_may_contain_spaces_and_dashes(typed):
    assert normalize_card_number(typed) == CARD


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        (" - ", "empty"),
        ("4111 1111 1111 111a", "characters"),
        ("４１１１１１１１１１１１１１１１", "characters"),  # full-width digits
        ("٤١١١١١١١١١١١١١١١", "characters"),  # Arabic-Indic digits
        ("411111111111111", "length"),
        ("41111111111111111", "length"),
        ("4111111111111112", "checksum"),
    ],
)
def test_bad_numbers_say_what_is_wrong(typed, reason):
    with pytest.raises(CardNumberError) as error:
        normalize_card_number(typed)

    assert error.value.reason == reason
    assert isinstance(error.value, ValueError)
    assert error.value.text  # Russian, for the form


def test_format_card_number_groups_by_four():
    assert format_card_number(CARD) == "4111 1111 1111 1111"


# ---------------------------------------------------------------------- barcodes


@pytest.mark.parametrize(
    "scanned", [CARD, CARD + "\r\n", CARD + "\t", "]C0" + CARD, "]C1" + CARD + "\x1d"]
)
def test_a_scanned_barcode_gives_the_same_number(scanned):
    """L-CARD-1: registration accepts the typed number or a scanned barcode."""
    assert parse_barcode(scanned) == CARD


@pytest.mark.parametrize(
    ("scanned", "reason"),
    [("4600000000003", "length"), ("]E04600000000003", "length"), ("4111111111111112", "checksum")],
)
def test_a_barcode_that_is_not_a_card_is_rejected(scanned, reason):
    with pytest.raises(CardNumberError) as error:
        parse_barcode(scanned)

    assert error.value.reason == reason


def test_parse_scan_tells_plastic_from_virtual():
    qr = build_qr_payload(CARD, SECRET, at=STEP_START)
    barcode = build_barcode_payload(CARD, SECRET, at=STEP_START)
    code = totp_code(SECRET, at=STEP_START)

    assert parse_scan(CARD + "\r\n") == ScannedCard(CARD, None)
    assert parse_scan("]Q1" + qr) == ScannedCard(CARD, code)
    assert parse_scan(barcode) == ScannedCard(CARD, code)
    assert len(barcode) == 22


def test_parse_scan_rejects_a_virtual_barcode_with_a_bad_number():
    with pytest.raises(CardNumberError):
        parse_scan("4111111111111112" + "123456")


# -------------------------------------------------------------------------- TOTP


@pytest.mark.parametrize(
    ("unix_time", "code"),
    [
        # RFC 6238 appendix B, SHA-1; the RFC prints 8 digits, the last 6 are ours.
        (59, "287082"),
        (1_111_111_109, "081804"),
        (1_111_111_111, "050471"),
        (1_234_567_890, "005924"),
        (2_000_000_000, "279037"),
        (20_000_000_000, "353130"),
    ],
)
def test_codes_match_the_rfc_6238_test_vectors(unix_time, code):
    secret = b"12345678901234567890"

    assert totp_code(secret, at=datetime.fromtimestamp(unix_time, UTC)) == code


def test_qr_payload_format():
    payload = build_qr_payload(CARD, SECRET, at=STEP_START)

    assert payload == f"KB1:{CARD}:{totp_code(SECRET, at=STEP_START)}"
    assert parse_qr_payload(payload) == (CARD, payload[-6:])


def test_qr_payload_is_valid_when_shown():
    payload = build_qr_payload(CARD, SECRET, at=STEP_START)

    assert verify_qr_payload(payload, SECRET, at=STEP_START) == CARD


@totp_settings
@given(instants, st.integers(min_value=-30, max_value=30))
def test_qr_payload_is_valid_thirty_seconds_either_way(shown_at, skew):
    """L-CARD-4: phone and till clocks may differ by one 30 s step."""
    payload = build_qr_payload(CARD, SECRET, at=shown_at)

    assert verify_qr_payload(payload, SECRET, at=shown_at + timedelta(seconds=skew)) == CARD


@totp_settings
@given(instants, st.integers(min_value=90, max_value=86_400))
def test_qr_payload_is_rejected_after_ninety_seconds(shown_at, age):
    """L-CARD-4: a screenshot is not replayable."""
    payload = build_qr_payload(CARD, SECRET, at=shown_at)

    with pytest.raises(QrCodeRejected) as error:
        verify_qr_payload(payload, SECRET, at=shown_at + timedelta(seconds=age))
    assert error.value.reason == "code_rejected"


@pytest.mark.parametrize(
    ("shown_at", "scanned_at", "valid"),
    [
        (STEP_START, STEP_START + timedelta(seconds=59), True),
        (STEP_START, STEP_START + timedelta(seconds=60), False),
        (STEP_START + timedelta(seconds=29), STEP_START - timedelta(seconds=30), True),
        (STEP_START + timedelta(seconds=29), STEP_START - timedelta(seconds=31), False),
    ],
)
def test_one_step_of_skew_exactly(shown_at, scanned_at, valid):
    payload = build_qr_payload(CARD, SECRET, at=shown_at)

    assert (verify_code(SECRET, payload[-6:], at=scanned_at) is not None) is valid


@pytest.mark.parametrize("offset", [0, 17, 29, 30, 45])
def test_qr_payload_is_rejected_with_another_cards_secret(offset):
    at = STEP_START + timedelta(seconds=offset)
    payload = build_qr_payload(CARD, SECRET, at=at)

    with pytest.raises(QrCodeRejected):
        verify_qr_payload(payload, OTHER_SECRET, at=at)


def test_verify_code_returns_the_step_so_a_second_use_can_be_refused():
    code = totp_code(SECRET, at=STEP_START)
    step = int(STEP_START.timestamp()) // 30

    assert verify_code(SECRET, code, at=STEP_START) == step
    assert verify_code(SECRET, code, at=STEP_START + timedelta(seconds=30)) == step


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "KB1",
        f"KB1:{CARD}",
        f"KB1:{CARD}:12345",
        f"KB1:{CARD}:1234567",
        f"KB1:{CARD}:12345a",
        f"KB1:{CARD}:١٢٣٤٥٦",
        f"KB1:{CARD}:123456:extra",
        f"KB2:{CARD}:123456",
        "KB1:4111111111111112:123456",  # Luhn fails
        "KB1:411111111111111:123456",
        f"KB1 {CARD} 123456",
        CARD,
    ],
)
def test_malformed_payloads_are_rejected(payload):
    with pytest.raises(MalformedQrPayload) as error:
        verify_qr_payload(payload, SECRET, at=STEP_START)

    assert error.value.reason == "malformed"
    assert isinstance(error.value, QrPayloadError)
    assert isinstance(error.value, ValueError)


def test_scanner_framing_and_letter_case_are_tolerated():
    payload = build_qr_payload(CARD, SECRET, at=STEP_START)
    framed = "]Q1" + payload.lower() + "\r\n"

    assert verify_qr_payload(framed, SECRET, at=STEP_START) == CARD


def test_a_wrong_shaped_code_is_simply_not_valid():
    assert verify_code(SECRET, "١٢٣٤٥٦", at=STEP_START) is None
    assert verify_code(SECRET, "12345", at=STEP_START) is None


def test_times_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        totp_code(SECRET, at=datetime(2025, 6, 15, 12, 0))


def test_payloads_are_built_only_for_valid_numbers_and_real_secrets():
    with pytest.raises(ValueError, match="card number"):
        build_qr_payload("4111111111111112", SECRET, at=STEP_START)
    with pytest.raises(ValueError, match="16 bytes"):
        build_qr_payload(CARD, b"short", at=STEP_START)


def test_new_secrets_are_random_and_long_enough():
    first, second = new_card_secret(), new_card_secret()

    assert len(first) == 20
    assert first != second
