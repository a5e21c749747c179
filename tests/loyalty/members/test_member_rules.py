"""The personal-data rules shared by every activation channel."""

from __future__ import annotations

from datetime import date

import pytest

from kabinet.loyalty.member_rules import (
    MemberDataError,
    age_on,
    check_birth_date,
    check_password_rules,
    clean_first_name,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("анна", "Анна"), (" ИВАН ", "Иван"), ("анна-мария", "Анна-Мария"), ("Фёдор", "Фёдор")],
)
def test_names_are_tidied(raw, clean):
    assert clean_first_name(raw) == clean


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "first_name_required"),
        ("Анна Петрова", "first_name_surname"),
        ("Anna", "first_name_latin"),
        ("Анна1", "first_name_characters"),
        ("-Анна", "first_name_characters"),
        ("Анна--Мария", "first_name_characters"),
        ("А" * 41, "first_name_too_long"),
    ],
)
def test_bad_names(raw, code):
    with pytest.raises(MemberDataError) as excinfo:
        clean_first_name(raw)
    assert excinfo.value.code == code


def test_age_counts_full_years():
    assert age_on(date(2012, 3, 2), date(2026, 3, 2)) == 14
    assert age_on(date(2012, 3, 3), date(2026, 3, 2)) == 13


def test_birth_date_bounds():
    today = date(2026, 3, 2)
    assert check_birth_date(date(2012, 3, 2), today=today) == date(2012, 3, 2)
    assert check_birth_date(date(1906, 3, 2), today=today) == date(1906, 3, 2)
    for bad, code in [
        (date(2012, 3, 3), "birth_date_too_young"),
        (date(1905, 3, 1), "birth_date_too_old"),
        (date(2026, 3, 3), "birth_date_future"),
    ]:
        with pytest.raises(MemberDataError) as excinfo:
            check_birth_date(bad, today=today)
        assert excinfo.value.code == code


@pytest.mark.parametrize("password", ["Magnit2026", "aB345678", "Ab1!@#$%^&*"])
def test_good_passwords(password):
    assert check_password_rules(password) == password


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("", "password_required"),
        ("Ab1", "password_too_short"),
        ("magnit2026", "password_no_upper"),
        ("MAGNIT2026", "password_no_lower"),
        ("MagnitMagnit", "password_no_digit"),
        ("Magnit 2026", "password_characters"),
        ("МагнитAb2026", "password_cyrillic"),
    ],
)
def test_bad_passwords(password, code):
    with pytest.raises(MemberDataError) as excinfo:
        check_password_rules(password)
    assert excinfo.value.code == code
