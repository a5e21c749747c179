"""INN, KPP, OGRN and OGRNIP on real numbers and on wrong ones (SPEC P-REG-2)."""

import pytest

from kabinet.pharma.identifiers import (
    IdentifierError,
    clean_inn,
    clean_kpp,
    clean_ogrn,
    inn_check_digits,
    ogrn_check_digit,
)

# Published in the companies' own disclosures.
SBERBANK = ("7707083893", "1027700132195")
YANDEX = ("7736207543", "1027700229193")
GAZPROM = ("7736050003", "1027700070518")


@pytest.mark.parametrize("inn", [SBERBANK[0], YANDEX[0], GAZPROM[0]])
def test_real_organisation_inns_are_valid(inn):
    assert clean_inn(inn) == inn


@pytest.mark.parametrize("ogrn", [SBERBANK[1], YANDEX[1], GAZPROM[1]])
def test_real_ogrns_are_valid(ogrn):
    assert clean_ogrn(ogrn, sole_proprietor=False) == ogrn


def test_a_persons_inn_is_valid_with_both_check_digits():
    # The textbook example of a person's INN, and one computed with the algorithm.
    assert clean_inn("500100732259") == "500100732259"
    assert inn_check_digits("7736020487") == "14"
    assert clean_inn("773602048714") == "773602048714"


def test_the_textbook_ogrnip_is_valid_by_the_mod_13_rule():
    assert clean_ogrnip("304500116000157") == "304500116000157"
    assert ogrn_check_digit("30450011600015") == "7"


def clean_ogrnip(value: str) -> str:
    return clean_ogrn(value, sole_proprietor=True)


def test_ogrnip_whose_remainder_is_ten_or_more_is_valid():
    # The rule is (first 14 digits mod 13) mod 10. python-stdnum skips the final mod 10, so it
    # refuses every real OGRNIP whose remainder is 10, 11 or 12, like this one (remainder 10).
    from stdnum.ru import ogrn as stdnum_ogrn

    assert int("30450011600005") % 13 == 10
    assert clean_ogrnip("304500116000050") == "304500116000050"
    assert stdnum_ogrn.is_valid("304500116000050") is False


def test_spaces_are_ignored():
    assert clean_inn(" 7707 083 893 ") == "7707083893"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "7707083894",
            "Неверное контрольное число ИНН: в номере опечатка. Сверьте его со свидетельством.",
        ),
        (
            "500100732258",
            "Неверное контрольное число ИНН: в номере опечатка. Сверьте его со свидетельством.",
        ),
        (
            "500100732249",
            "Неверное контрольное число ИНН: в номере опечатка. Сверьте его со свидетельством.",
        ),
        (
            "77070838",
            "ИНН организации состоит из 10 цифр, ИНН индивидуального "
            "предпринимателя — из 12; введено цифр: 8.",
        ),
        (
            "77070838931",
            "ИНН организации состоит из 10 цифр, ИНН индивидуального "
            "предпринимателя — из 12; введено цифр: 11.",
        ),
        ("77O7083893", "ИНН может содержать только цифры."),
        ("", "Укажите ИНН."),
        ("0000000000", "ИНН не может начинаться с 00: первые две цифры — код региона."),
    ],
)
def test_wrong_inns_get_precise_messages(value, message):
    with pytest.raises(IdentifierError) as exc:
        clean_inn(value)
    assert exc.value.message == message


@pytest.mark.parametrize(
    ("value", "sole", "message"),
    [
        ("1027700132196", False, "Неверная контрольная цифра ОГРН: в номере опечатка."),
        ("304500116000158", True, "Неверная контрольная цифра ОГРНИП: в номере опечатка."),
        ("102770013219", False, "ОГРН состоит из 13 цифр; введено: 12."),
        ("304500116000157", False, "У организации ОГРН из 13 цифр, а не ОГРНИП из 15."),
        (
            "1027700132195",
            True,
            "У индивидуального предпринимателя ОГРНИП из 15 цифр, а не ОГРН из 13.",
        ),
        ("3027700132195", False, "ОГРН организации начинается с цифры 1 или 5."),
        ("104500116000157", True, "ОГРНИП начинается с цифры 3."),
        ("10277001321X5", False, "ОГРН может содержать только цифры."),
        ("", True, "Укажите ОГРНИП."),
    ],
)
def test_wrong_ogrns_get_precise_messages(value, sole, message):
    with pytest.raises(IdentifierError) as exc:
        clean_ogrn(value, sole_proprietor=sole)
    assert exc.value.message == message


def test_kpp_formats():
    assert clean_kpp("773601001") == "773601001"
    # Since 2013 the reason code may hold capital Latin letters.
    assert clean_kpp("7736ab001") == "7736AB001"
    with pytest.raises(IdentifierError) as exc:
        clean_kpp("77360100")
    assert exc.value.message == "КПП состоит из 9 знаков; введено: 8."
    with pytest.raises(IdentifierError) as exc:
        clean_kpp("77А601001")  # a Cyrillic А
    assert exc.value.message == (
        "Неверный формат КПП: 4 цифры кода налоговой инспекции, 2 цифры или латинские буквы "
        "причины постановки на учёт и 3 цифры номера."
    )
    with pytest.raises(IdentifierError) as exc:
        clean_kpp("")
    assert exc.value.message == "Укажите КПП: он есть у каждой организации."


def test_every_computed_check_digit_validates():
    for body in ("123456789", "500100732", "246500000"):
        inn = body + inn_check_digits(body)
        assert clean_inn(inn) == inn
    for body in ("1234567890", "7736020487", "5001007322"):
        inn = body + inn_check_digits(body)
        assert clean_inn(inn) == inn
    for body in ("102770013219", "512345678901"):
        assert clean_ogrn(body + ogrn_check_digit(body), sole_proprietor=False)
    for body in ("30450011600015", "31877460000001"):
        assert clean_ogrn(body + ogrn_check_digit(body), sole_proprietor=True)
