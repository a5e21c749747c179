"""Registration = activation (L-ACT-1/2/5): the service every channel shares."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from kabinet.accounts.codes import WrongCode
from kabinet.accounts.models import Challenge
from kabinet.core.errors import Conflict
from kabinet.core.models import AuditEntry
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import Account, Card, CardState, Consent, MemberProfile
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services import registration
from kabinet.loyalty.services.registration import RegistrationInvalid
from kabinet.notifications.models import Message
from tests.accounts.helpers import last_code, other_code, sms_to
from tests.loyalty.factories import UserFactory, region
from tests.loyalty.members.conftest import (
    IP,
    PASSWORD,
    PHONE,
    issued_card,
    moscow,
    register,
    start,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
User = get_user_model()


def errors_of(excinfo) -> dict[str, str]:
    return excinfo.value.errors


def test_plastic_card_registration_creates_the_member_with_the_card_active(clock):
    card = issued_card()
    challenge = start(card_number=card.number, city=moscow())

    assert User.objects.filter(phone=PHONE).count() == 0  # nothing exists before the code
    assert sms_to(PHONE) == [f"Код для регистрации: {last_code(PHONE)}. Никому не сообщайте его."]

    account = registration.confirm_registration(
        challenge_id=challenge.pk, code=last_code(PHONE), client_ip=IP
    )

    card.refresh_from_db()
    user = account.user
    assert (card.state, card.account_id, card.virtual) == (CardState.ACTIVE, account.pk, False)
    assert user.username == PHONE and user.phone == PHONE
    assert user.email == "anna@example.ru"
    assert user.check_password(PASSWORD)
    assert user.password.startswith("md5$")  # the test hasher; Argon2 in production
    assert (account.first_name, account.birth_date) == ("Анна", date(1990, 6, 15))
    assert account.city.name_ru == "Москва"
    profile = MemberProfile.objects.get(account=account)
    assert (profile.marketing_sms, profile.marketing_email, profile.marketing_voice) == (
        True,
        False,
        False,
    )
    assert (profile.channel, profile.always_confirm_login) == ("web", False)
    audit = AuditEntry.objects.get(action="loyalty.member.register")
    assert audit.data == {"channel": "web", "card": card.number, "virtual": False}


def test_consents_are_stored_with_version_time_channel_and_address(clock):
    consents_given_at = clock.now
    challenge = start(card_number=issued_card().number)
    clock.advance(seconds=40)  # the code arrives and is typed later

    account = registration.confirm_registration(
        challenge_id=challenge.pk, code=last_code(PHONE), client_ip=IP
    )

    rows = sorted(
        Consent.objects.filter(account=account).values_list(
            "kind", "version", "accepted_at", "channel", "ip"
        )
    )
    assert rows == [
        ("personal_data", "2026-01", consents_given_at, "web", IP),
        ("rules", "2026-01", consents_given_at, "web", IP),
    ]


def test_the_pending_registration_never_holds_the_plain_password():
    challenge = start(card_number=issued_card().number)

    stored = Challenge.objects.get(pk=challenge.pk).payload
    assert PASSWORD not in str(stored)
    assert stored["password_hash"].startswith("md5$")


def test_a_virtual_card_is_issued_instead_of_plastic():
    challenge = start(card_number=None)

    account = registration.confirm_registration(
        challenge_id=challenge.pk, code=last_code(PHONE), client_ip=IP
    )

    card = Card.objects.get(account=account)
    assert (card.state, card.virtual) == (CardState.ACTIVE, True)
    assert len(card.number) == 16


def test_a_wrong_code_creates_nothing_and_the_right_one_still_works():
    card = issued_card()
    challenge = start(card_number=card.number)

    with pytest.raises(WrongCode):
        registration.confirm_registration(
            challenge_id=challenge.pk, code=other_code(last_code(PHONE)), client_ip=IP
        )
    assert not User.objects.filter(phone=PHONE).exists()
    card.refresh_from_db()
    assert card.state == CardState.ISSUED

    registration.confirm_registration(
        challenge_id=challenge.pk, code=last_code(PHONE), client_ip=IP
    )
    assert User.objects.filter(phone=PHONE).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"card_number": "2770 0000 0000 0001"},
            "card_number",
            "В номере карты ошибка: проверьте цифры",
        ),
        ({"card_number": "1234"}, "card_number", "В номере карты 16 цифр, введено 4"),
        ({"card_number": "27700000000000ab"}, "card_number", "Номер карты состоит только из цифр"),
        ({"first_name": "Anna"}, "first_name", "Имя пишется русскими буквами"),
        ({"first_name": "Анна Петрова"}, "first_name", "Укажите только имя, без фамилии"),
        ({"first_name": "Анна1"}, "first_name", "В имени допускаются только русские буквы и дефис"),
        ({"first_name": "  "}, "first_name", "Укажите имя"),
        ({"birth_date": None}, "birth_date", "Укажите дату рождения"),
        ({"birth_date": date(2030, 1, 1)}, "birth_date", "Дата рождения не может быть в будущем"),
        ({"birth_date": date(2015, 1, 1)}, "birth_date", "Участвовать в программе можно с 14 лет"),
        ({"birth_date": date(1890, 1, 1)}, "birth_date", "Проверьте год рождения"),
        ({"email": ""}, "email", "Укажите адрес электронной почты"),
        (
            {"email": "anna@"},
            "email",
            "Введите правильный адрес электронной почты, например anna@mail.ru",
        ),
        ({"password": "Ab1"}, "password", "Пароль должен быть не короче 8 символов"),
        ({"password": "magnit2026"}, "password", "Добавьте в пароль заглавную латинскую букву"),
        ({"password": "MAGNIT2026"}, "password", "Добавьте в пароль строчную латинскую букву"),
        ({"password": "MagnitMagnit"}, "password", "Добавьте в пароль цифру"),
        (
            {"password": "Пароль2026Ab"},
            "password",
            "В пароле только латинские буквы: проверьте раскладку клавиатуры",
        ),
        ({"password": "Password1"}, "password", "Введённый пароль слишком широко распространён."),
        ({"phone": "12345"}, "phone", "Введите номер мобильного телефона, например 9161234567"),
        (
            {"phone": "+74951234567"},
            "phone",
            "Введите номер мобильного телефона, например 9161234567",
        ),
        (
            {"consents": {"rules"}},
            "consent_personal_data",
            "Без согласия на обработку персональных данных зарегистрироваться нельзя",
        ),
        (
            {"consents": {"personal_data"}},
            "consent_rules",
            "Без согласия с правилами программы зарегистрироваться нельзя",
        ),
    ],
)
def test_every_field_is_refused_with_a_precise_russian_message(overrides, field, message):
    values = {"card_number": issued_card().number, **overrides}

    with pytest.raises(RegistrationInvalid) as excinfo:
        start(**values)

    assert errors_of(excinfo) == {field: message}
    assert not Challenge.objects.exists() and not Message.objects.exists()


def test_all_refused_fields_are_reported_at_once():
    with pytest.raises(RegistrationInvalid) as excinfo:
        start(first_name="Anna", email="x", password="short", consents=set())

    assert list(errors_of(excinfo)) == [
        "first_name",
        "email",
        "password",
        "consent_personal_data",
    ]
    assert excinfo.value.field == "first_name"
    assert excinfo.value.message == "Имя пишется русскими буквами"


def test_the_name_is_tidied():
    challenge = start(first_name="  анна-МАРИЯ ")
    assert challenge.payload["first_name"] == "Анна-Мария"


def test_unknown_active_and_blocked_cards_get_precise_answers():
    active = issued_card()
    register("+79161110000", card=active)
    blocked = issued_card()
    card_services.block_card(card=blocked, reason="утеряна")
    unknown = cardnumbers.complete_card_number("277000000000000")

    answers = {}
    for name, number in [
        ("unknown", unknown),
        ("active", active.number),
        ("blocked", blocked.number),
    ]:
        with pytest.raises(RegistrationInvalid) as excinfo:
            start(card_number=number)
        answers[name] = errors_of(excinfo)["card_number"]

    assert answers == {
        "unknown": "Карта с таким номером не найдена. Проверьте номер на обороте карты",
        "active": "Карта уже зарегистрирована. Войдите в личный кабинет по номеру телефона",
        "blocked": "Карта заблокирована: её нельзя зарегистрировать",
    }


@pytest.mark.parametrize("holder", ["member", "staff"])
def test_a_phone_bound_to_someone_else_is_refused_with_the_same_neutral_message(holder):
    if holder == "member":
        register(PHONE)
    else:
        UserFactory(phone=PHONE, is_staff=True, first_name="Игорь")

    with pytest.raises(RegistrationInvalid) as excinfo:
        start(card_number=issued_card().number, phone="8 (916) 123-45-67")

    message = errors_of(excinfo)["phone"]
    assert message == registration.PHONE_TAKEN
    assert "Анна" not in message and "Игорь" not in message and "*" not in message


def test_a_phone_taken_between_start_and_confirm_is_refused_and_the_card_stays_issued():
    card = issued_card()
    challenge = start(card_number=card.number)
    UserFactory(phone=PHONE)

    with pytest.raises(Conflict) as excinfo:
        registration.confirm_registration(
            challenge_id=challenge.pk, code=last_code(PHONE), client_ip=IP
        )

    assert excinfo.value.message == registration.PHONE_TAKEN
    card.refresh_from_db()
    assert card.state == CardState.ISSUED and Account.objects.count() == 0


def test_a_card_registered_meanwhile_by_someone_else_refuses_the_second_confirmation():
    card = issued_card()
    first = start(card_number=card.number, phone="+79161110001")
    second = start(card_number=card.number, phone="+79161110002")
    registration.confirm_registration(
        challenge_id=first.pk, code=last_code("+79161110001"), client_ip=IP
    )

    with pytest.raises(Conflict) as excinfo:
        registration.confirm_registration(
            challenge_id=second.pk, code=last_code("+79161110002"), client_ip=IP
        )

    assert excinfo.value.code == "card_already_active"
    assert Account.objects.count() == 1
    assert not User.objects.filter(phone="+79161110002").exists()


def test_activation_is_refused_where_the_program_does_not_operate():
    city = moscow()
    region("77", active=False)
    city.refresh_from_db()

    with pytest.raises(RegistrationInvalid) as excinfo:
        start(card_number=issued_card().number, city=city)

    assert errors_of(excinfo) == {
        "city": "В регионе «Москва» программа лояльности пока не действует: "
        "активация карты недоступна"
    }
    assert excinfo.value.errors and excinfo.value.code == "validation_error"


def test_the_call_centre_registers_without_email_and_password():
    operator = UserFactory(phone=None, is_staff=True)
    card = issued_card()
    challenge = start(
        card_number=card.number,
        email="",
        password=None,
        channel="call_centre",
        operator=operator,
    )
    assert challenge.purpose == "operator_activation"
    assert sms_to(PHONE)[-1].endswith("Назовите его оператору.")

    account = registration.confirm_registration(
        challenge_id=challenge.pk, code=last_code(PHONE), client_ip=IP, operator=operator
    )

    assert not account.user.has_usable_password()
    assert AuditEntry.objects.get(action="loyalty.member.register").actor == operator
    assert Consent.objects.filter(account=account, channel="call_centre").count() == 2


def test_the_app_must_name_a_city_first():
    with pytest.raises(RegistrationInvalid) as excinfo:
        start(card_number=issued_card().number, channel="app", city=None)
    assert errors_of(excinfo) == {"city": "Выберите город"}

    challenge = start(card_number=issued_card().number, channel="app", city=moscow())
    assert challenge.payload["channel"] == "app"
