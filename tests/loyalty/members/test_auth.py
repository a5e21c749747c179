"""Signing in (L-AUTH-1…5): phone forms, new devices, lock-out, reset, code login, sign-out."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kabinet.accounts import throttling
from kabinet.accounts.codes import WrongCode
from kabinet.accounts.models import Challenge
from kabinet.core.errors import RateLimited, ValidationFailed
from kabinet.loyalty.models import KnownDevice, MemberProfile
from kabinet.loyalty.services import auth
from kabinet.notifications.models import Message
from tests.accounts.helpers import last_code, other_code, sms_to
from tests.loyalty.factories import StaffFactory
from tests.loyalty.members.conftest import IP, PASSWORD, PHONE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def known_device(user) -> str:
    return auth.remember_device(user=user, user_agent="test")


@pytest.mark.parametrize("typed", ["9161234567", "89161234567", "+7 (916) 123-45-67"])
def test_sign_in_with_the_phone_in_any_usual_form(member, typed):
    token = known_device(member.user)

    result = auth.sign_in(phone=typed, password=PASSWORD, client_ip=IP, device_token=token)

    assert result.user == member.user and result.challenge is None


def test_a_new_device_confirms_by_sms_and_is_then_known(member, clock):
    messages_before = Message.objects.count()

    result = auth.sign_in(phone=PHONE, password=PASSWORD, client_ip=IP, device_token=None)

    assert result.user is None and result.challenge.purpose == "login"
    assert Message.objects.count() == messages_before + 1
    assert sms_to(PHONE)[-1].startswith("Код для входа: ")
    user = auth.confirm_sign_in(
        challenge_id=result.challenge.pk, code=last_code(PHONE), client_ip=IP
    )
    assert user == member.user
    token = auth.remember_device(user=user, user_agent="Chromium")

    again = auth.sign_in(phone=PHONE, password=PASSWORD, client_ip=IP, device_token=token)
    assert again.user == member.user
    assert KnownDevice.objects.filter(user=user).count() == 1
    assert KnownDevice.objects.get().token_hash != token  # only the hash is stored


def test_another_members_device_is_not_known_for_this_member(member):
    from tests.loyalty.members.conftest import register

    other = register("+79161112233")
    token = known_device(other.user)

    result = auth.sign_in(phone=PHONE, password=PASSWORD, client_ip=IP, device_token=token)

    assert result.challenge is not None


def test_a_member_may_ask_to_confirm_every_sign_in(member):
    token = known_device(member.user)
    MemberProfile.objects.filter(account=member).update(always_confirm_login=True)

    result = auth.sign_in(phone=PHONE, password=PASSWORD, client_ip=IP, device_token=token)

    assert result.challenge is not None


def test_wrong_password_and_unknown_phone_read_the_same(member):
    with pytest.raises(ValidationFailed) as wrong:
        auth.sign_in(phone=PHONE, password="Wrong2026x", client_ip=IP)
    with pytest.raises(ValidationFailed) as unknown:
        auth.sign_in(phone="+79169998877", password=PASSWORD, client_ip=IP)

    assert (
        (wrong.value.code, wrong.value.message)
        == (
            unknown.value.code,
            unknown.value.message,
        )
        == ("invalid_credentials", "Неверный номер телефона или пароль")
    )


def test_staff_with_a_phone_cannot_sign_in_as_a_member():
    staff = StaffFactory(phone="+79165554433")
    staff.set_password(PASSWORD)
    staff.save()

    with pytest.raises(ValidationFailed) as excinfo:
        auth.sign_in(phone=staff.phone, password=PASSWORD, client_ip=IP)
    assert excinfo.value.code == "invalid_credentials"


@pytest.mark.parametrize("who", ["member", "unknown"])
def test_five_failures_lock_the_phone_alike_for_members_and_unknown_phones(member, who):
    phone = PHONE if who == "member" else "+79169998877"
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            auth.sign_in(phone=phone, password="Wrong2026x", client_ip=IP)

    with pytest.raises(RateLimited) as excinfo:
        # Even the right password is refused while locked.
        auth.sign_in(phone=phone, password=PASSWORD, client_ip=IP)

    assert excinfo.value.code == "login_locked"
    assert excinfo.value.message == "Слишком много неудачных попыток входа. Повторите через 15 мин."


def test_the_lock_counts_the_phone_however_it_was_typed(member):
    for typed in ["9161234567", "89161234567", "+7 916 123 45 67", "8(916)1234567", "9161234567"]:
        with pytest.raises(ValidationFailed):
            auth.sign_in(phone=typed, password="Wrong2026x", client_ip=IP)
    with pytest.raises(RateLimited):
        auth.sign_in(phone=PHONE, password=PASSWORD, client_ip=IP)


def test_the_lock_ends_with_its_window(member, clock):
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            auth.sign_in(phone=PHONE, password="Wrong2026x", client_ip=IP)
    clock.advance(minutes=15)

    token = known_device(member.user)
    assert auth.sign_in(phone=PHONE, password=PASSWORD, client_ip=IP, device_token=token).user


def test_many_phones_from_one_address_lock_the_address(member):
    for i in range(throttling.LOGIN_FAILURES_PER_IP.max_hits):
        with pytest.raises(ValidationFailed):
            auth.sign_in(phone=f"+7916000{i:04d}", password="Wrong2026x", client_ip=IP)

    with pytest.raises(RateLimited) as excinfo:
        auth.sign_in(phone=PHONE, password=PASSWORD, client_ip=IP)
    assert excinfo.value.code == "login_ip_limited"
    # Another address is not affected.
    token = known_device(member.user)
    assert auth.sign_in(
        phone=PHONE, password=PASSWORD, client_ip="198.51.100.1", device_token=token
    ).user


# --- L-AUTH-5: the secret code ---------------------------------------------------------------


def test_sign_in_with_a_one_time_code(member):
    challenge = auth.request_login_code(phone="9161234567", client_ip=IP)

    user = auth.confirm_sign_in(challenge_id=challenge.pk, code=last_code(PHONE), client_ip=IP)

    assert user == member.user


def test_a_code_for_an_unknown_phone_looks_the_same_and_sends_nothing(member):
    known = auth.request_login_code(phone=PHONE, client_ip=IP)
    unknown = auth.request_login_code(phone="+79169998877", client_ip=IP)

    assert type(known) is type(unknown) and known.purpose == unknown.purpose
    assert sms_to("+79169998877") == []
    with pytest.raises(WrongCode):
        auth.confirm_sign_in(challenge_id=unknown.pk, code="0000", client_ip=IP)


def test_even_a_lucky_guess_of_a_decoy_code_confirms_nothing(monkeypatch):
    from kabinet.accounts import codes

    monkeypatch.setattr(codes, "_new_code", lambda: "4321")
    challenge = auth.request_login_code(phone="+79169998877", client_ip=IP)

    with pytest.raises(WrongCode):
        auth.confirm_sign_in(challenge_id=challenge.pk, code="4321", client_ip=IP)


# --- L-AUTH-3: forgotten password -------------------------------------------------------------


def test_password_reset_by_phone_birth_date_and_code(member):
    challenge = auth.request_password_reset(
        phone="89161234567", birth_date=date(1990, 6, 15), client_ip=IP
    )
    assert sms_to(PHONE)[-1].startswith("Код для смены пароля: ")

    auth.confirm_password_reset(
        challenge_id=challenge.pk, code=last_code(PHONE), new_password="NewMagnit77", client_ip=IP
    )

    member.user.refresh_from_db()
    assert member.user.check_password("NewMagnit77")
    assert sms_to(PHONE)[-1].startswith("Пароль от личного кабинета изменён.")


@pytest.mark.parametrize(
    ("phone", "birth_date"),
    [("+79169998877", date(1990, 6, 15)), (PHONE, date(1990, 6, 16))],
    ids=["unknown-phone", "wrong-birth-date"],
)
def test_password_reset_does_not_tell_whether_the_data_match(member, phone, birth_date):
    sent_before = Message.objects.count()

    challenge = auth.request_password_reset(phone=phone, birth_date=birth_date, client_ip=IP)

    assert isinstance(challenge, Challenge) and challenge.purpose == "password_reset"
    assert Message.objects.count() == sent_before  # nothing is sent anywhere
    with pytest.raises(WrongCode):
        auth.confirm_password_reset(
            challenge_id=challenge.pk, code="1234", new_password="NewMagnit77", client_ip=IP
        )
    member.user.refresh_from_db()
    assert member.user.check_password(PASSWORD)


def test_reset_requests_share_the_cool_down_whether_or_not_they_match(member):
    auth.request_password_reset(phone="+79169998877", birth_date=date(1990, 1, 1), client_ip=IP)
    with pytest.raises(RateLimited) as excinfo:
        auth.request_password_reset(phone="+79169998877", birth_date=date(1990, 1, 1), client_ip=IP)
    assert excinfo.value.code == "code_resend_too_soon"


def test_a_weak_new_password_does_not_burn_the_code(member):
    challenge = auth.request_password_reset(phone=PHONE, birth_date=date(1990, 6, 15), client_ip=IP)
    code = last_code(PHONE)

    with pytest.raises(ValidationFailed) as excinfo:
        auth.confirm_password_reset(
            challenge_id=challenge.pk, code=code, new_password="weak", client_ip=IP
        )
    assert excinfo.value.field == "password"

    auth.confirm_password_reset(
        challenge_id=challenge.pk, code=code, new_password="NewMagnit77", client_ip=IP
    )


def test_a_wrong_reset_code_is_limited(member):
    challenge = auth.request_password_reset(phone=PHONE, birth_date=date(1990, 6, 15), client_ip=IP)
    wrong = other_code(last_code(PHONE))
    for _ in range(4):
        with pytest.raises(WrongCode):
            auth.confirm_password_reset(
                challenge_id=challenge.pk, code=wrong, new_password="NewMagnit77", client_ip=IP
            )
    from kabinet.accounts.codes import CodeAttemptsExhausted

    with pytest.raises(CodeAttemptsExhausted):
        auth.confirm_password_reset(
            challenge_id=challenge.pk, code=wrong, new_password="NewMagnit77", client_ip=IP
        )
    with pytest.raises(CodeAttemptsExhausted):
        auth.confirm_password_reset(
            challenge_id=challenge.pk,
            code=last_code(PHONE),
            new_password="NewMagnit77",
            client_ip=IP,
        )


# --- sessions ---------------------------------------------------------------------------------


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/cabinet/").status_code == 200
    return client


def test_sign_out_everywhere_ends_the_other_sessions_too(member):
    phone_browser = signed_in_client(member.user)
    laptop = signed_in_client(member.user)
    known_device(member.user)

    response = laptop.post("/logout/everywhere/")

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert phone_browser.get("/cabinet/").status_code == 302
    assert laptop.get("/cabinet/").status_code == 302
    assert not KnownDevice.objects.filter(user=member.user).exists()
    # Signing in again works and gives a working session.
    member.user.refresh_from_db()
    assert member.user.session_generation == 1
    assert signed_in_client(member.user).get("/cabinet/").status_code == 200


def test_sign_out_ends_only_this_session(member):
    one, two = signed_in_client(member.user), signed_in_client(member.user)

    one.post("/logout/")

    assert one.get("/cabinet/").status_code == 302
    assert two.get("/cabinet/").status_code == 200


def test_a_password_reset_ends_every_session(member):
    browser = signed_in_client(member.user)
    challenge = auth.request_password_reset(phone=PHONE, birth_date=date(1990, 6, 15), client_ip=IP)
    auth.confirm_password_reset(
        challenge_id=challenge.pk, code=last_code(PHONE), new_password="NewMagnit77", client_ip=IP
    )

    assert browser.get("/cabinet/").status_code == 302


def test_resending_a_decoy_sends_nothing(clock):
    from kabinet.accounts import codes

    challenge = auth.request_password_reset(
        phone="+79169998877", birth_date=date(1990, 1, 1), client_ip=IP
    )
    clock.advance(seconds=61)

    codes.resend(challenge.pk, IP)

    assert not Message.objects.exists()
