"""The ГОСТ Р 56042-2014 bank-transfer QR code: payload, checks, and a real decode."""

import io
from datetime import date

import pytest
import zxingcpp
from PIL import Image

from kabinet.pharma.payments.gost_qr import (
    PaymentDetailsError,
    account_control_key,
    bank_account_key_ok,
    corresp_account_ok,
    parse_payload,
    payment_payload,
    qr_png,
)

SBER_BIC = "044525225"
SBER_CORR = "30101810400000000225"
OUR_ACCOUNT = "40702810200000012345"  # key digit computed for Sber's BIC
DETAILS = {
    "name": "ООО «Фарм-Дистрибьютор»",
    "personal_acc": OUR_ACCOUNT,
    "bank_name": "ПАО Сбербанк",
    "bic": SBER_BIC,
    "corresp_acc": SBER_CORR,
    "sum_kopecks": 123450,
    "purpose": "Оплата по счёту № 2026-000123 от 12.03.2026, в т.ч. НДС 10 % — 112,23 руб.",
    "payee_inn": "7704123450",
    "kpp": "770401001",
}


def details(**changes):
    return {**DETAILS, **changes}


def test_payload_has_the_header_and_fields_in_the_standards_order():
    assert payment_payload(**DETAILS) == (
        "ST00012|Name=ООО «Фарм-Дистрибьютор»|PersonalAcc=40702810200000012345"
        "|BankName=ПАО Сбербанк|BIC=044525225|CorrespAcc=30101810400000000225|Sum=123450"
        "|Purpose=Оплата по счёту № 2026-000123 от 12.03.2026, в т.ч. НДС 10 % — 112,23 руб."
        "|PayeeINN=7704123450|KPP=770401001"
    )


def test_optional_fields_follow():
    payload = payment_payload(
        **details(payer_inn="5027123457", doc_no="2026-000123", doc_date=date(2026, 3, 12))
    )
    assert payload.endswith("|PayerINN=5027123457|DocNo=2026-000123|DocDate=12.03.2026")


def test_parse_payload_round_trips():
    fields = parse_payload(payment_payload(**DETAILS))
    assert fields == {
        "Name": "ООО «Фарм-Дистрибьютор»",
        "PersonalAcc": OUR_ACCOUNT,
        "BankName": "ПАО Сбербанк",
        "BIC": SBER_BIC,
        "CorrespAcc": SBER_CORR,
        "Sum": "123450",
        "Purpose": DETAILS["purpose"],
        "PayeeINN": "7704123450",
        "KPP": "770401001",
    }


def test_parse_payload_reads_another_separator_and_values_with_equals_signs():
    text = "ST00011#Name=ООО А=Б#PersonalAcc=1#BankName=Б#BIC=2#CorrespAcc=0#"
    assert parse_payload(text) == {
        "Name": "ООО А=Б",
        "PersonalAcc": "1",
        "BankName": "Б",
        "BIC": "2",
        "CorrespAcc": "0",
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ST0002|Name=x",
        "ST00019|Name=x",
        "ST00012|Name=x|PersonalAcc=1|BankName=Б|BIC=2",  # no CorrespAcc
        "ST00012|Name=x|Name=y|PersonalAcc=1|BankName=Б|BIC=2|CorrespAcc=0",
        "ST00012|Name|PersonalAcc=1|BankName=Б|BIC=2|CorrespAcc=0",
    ],
)
def test_parse_payload_refuses_what_is_not_a_payment_code(text):
    with pytest.raises(PaymentDetailsError):
        parse_payload(text)


def test_the_png_decodes_to_the_payload_with_error_correction_m():
    payload = payment_payload(**DETAILS)
    image = Image.open(io.BytesIO(qr_png(payload)))
    (result,) = zxingcpp.read_barcodes(image)
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.ec_level == "M"
    assert result.bytes.decode("utf-8") == payload
    # Quiet zone: the outermost 4 modules of each edge are white.
    scale = 4
    border = image.convert("L").crop((0, 0, image.width, 4 * scale))
    assert border.getextrema() == (255, 255)


@pytest.mark.parametrize(
    ("bic", "corr"),
    [
        ("044525225", "30101810400000000225"),  # Сбербанк
        ("044525974", "30101810145250000974"),  # Т-Банк
        ("044525593", "30101810200000000593"),  # Альфа-Банк
        ("044525187", "30101810700000000187"),  # ВТБ
        ("044030653", "30101810500000000653"),  # Северо-Западный банк Сбербанка
    ],
)
def test_real_correspondent_accounts_agree_with_their_bics(bic, corr):
    assert bank_account_key_ok(bic=bic, account=corr, correspondent=True)
    assert corresp_account_ok(bic=bic, account=corr)
    # The key covers only the region digits of the BIC: another Moscow bank's BIC passes the
    # key, the last three digits tell them apart; another region's BIC fails the key.
    other = "044525111" if bic != "044525111" else "044525225"
    assert bank_account_key_ok(bic=other, account=corr, correspondent=True) == (bic[4:6] == "25")
    assert not corresp_account_ok(bic=other, account=corr)
    assert not bank_account_key_ok(bic="040349" + bic[6:], account=corr, correspondent=True)


def test_settlement_account_key_uses_the_bics_last_three_digits():
    assert bank_account_key_ok(bic=SBER_BIC, account=OUR_ACCOUNT)
    # One digit off anywhere breaks the key.
    for i in range(20):
        wrong = OUR_ACCOUNT[:i] + str((int(OUR_ACCOUNT[i]) + 1) % 10) + OUR_ACCOUNT[i + 1 :]
        assert not bank_account_key_ok(bic=SBER_BIC, account=wrong)
    assert account_control_key(bic=SBER_BIC, account="40702810000000012345") == OUR_ACCOUNT


def test_an_account_at_the_bank_of_russia_uses_zero_and_the_bics_5th_and_6th_digits():
    account = account_control_key(bic="044525000", account="40102810000000010001")
    assert bank_account_key_ok(bic="044525000", account=account)
    key = sum(int(d) * (7, 1, 3)[i % 3] for i, d in enumerate("025" + account))
    assert key % 10 == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"personal_acc": "40702810300000012345"}, "PersonalAcc"),  # wrong key
        ({"personal_acc": "4070281020000001234"}, "PersonalAcc"),  # 19 digits
        ({"bic": "04452522"}, "BIC"),
        ({"bic": "04452522X"}, "BIC"),
        ({"corresp_acc": "30101810145250000974"}, "CorrespAcc"),  # T-Bank's, not Sber's
        ({"corresp_acc": "3010181040000000022"}, "CorrespAcc"),
        ({"payee_inn": "7704123451"}, "PayeeINN"),
        ({"kpp": "77040100"}, "KPP"),
        ({"sum_kopecks": 0}, "Sum"),
        ({"sum_kopecks": -5}, "Sum"),
        ({"name": "ООО | Ромашка"}, "Name"),
        ({"purpose": "Оплата|счёта"}, "Purpose"),
        ({"name": "О" * 161}, "Name"),
        ({"purpose": "П" * 211}, "Purpose"),
        ({"bank_name": "Б" * 46}, "BankName"),
        ({"name": "   "}, "Name"),
    ],
)
def test_invalid_details_are_refused_with_the_field(changes, field):
    with pytest.raises(PaymentDetailsError) as caught:
        payment_payload(**details(**changes))
    assert caught.value.field == field
    assert caught.value.code == "payment_details_invalid"


def test_limits_are_inclusive_and_whitespace_is_collapsed():
    payload = payment_payload(**details(name="О" * 160, purpose="Оплата\n по   счёту" + "П" * 190))
    fields = parse_payload(payload)
    assert fields["Name"] == "О" * 160
    assert fields["Purpose"] == "Оплата по счёту" + "П" * 190


def test_a_bank_without_a_correspondent_account_writes_zero():
    payload = payment_payload(**details(corresp_acc="0"))
    assert "|CorrespAcc=0|" in payload


def test_the_largest_payload_still_fits_a_qr_code():
    payload = payment_payload(
        **details(name="Я" * 160, purpose="Я" * 210, bank_name="Я" * 45, payer_inn="5027123457")
    )
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(payload))))
    assert result.bytes.decode("utf-8") == payload
