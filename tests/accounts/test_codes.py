"""One-time SMS codes (SPEC X-3, L-AUTH-4): hashed, short-lived, few attempts, cool-down."""

import hashlib
import secrets
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils.crypto import salted_hmac

from kabinet.accounts import codes
from kabinet.accounts.codes import (
    ChallengeNotFound,
    CodeAlreadyUsed,
    CodeAttemptsExhausted,
    CodeDailyLimit,
    CodeExpired,
    ResendTooSoon,
    WrongCode,
    issue_code,
    purge_expired,
    resend,
    verify_code,
)
from kabinet.accounts.models import Challenge, User
from kabinet.core.errors import RateLimited, ValidationFailed
from kabinet.notifications.models import Message
from tests.accounts.helpers import last_code, other_code, sms_to

# Cool-downs and daily caps depend on the time; every test runs on a frozen clock.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PHONE = "+79161234567"
IP = "203.0.113.7"


def issue(phone=PHONE, purpose="login", ip=IP, **kwargs):
    return issue_code(purpose=purpose, phone=phone, client_ip=ip, **kwargs)


def verify(challenge, code, purpose="login", ip=IP):
    return verify_code(challenge_id=challenge.id, code=code, purpose=purpose, client_ip=ip)


def test_code_goes_out_by_sms_and_only_a_keyed_hash_is_stored(clock, monkeypatch):
    monkeypatch.setattr(secrets, "randbelow", lambda n: 8642)
    challenge = issue(phone="9161234567", purpose="registration", payload={"name": "Анна"})

    message = Message.objects.get()
    assert (message.channel, message.to, message.template, message.purpose) == (
        "sms",
        PHONE,
        "otp_code",
        "security",
    )
    assert message.body == "Код для регистрации: 8642. Никому не сообщайте его."
    assert last_code(PHONE) == "8642"

    row = Challenge.objects.filter(pk=challenge.pk).values().get()
    assert (
        row["code_hash"]
        == salted_hmac(
            f"kabinet.accounts.codes:{challenge.id}", "8642", algorithm="sha256"
        ).hexdigest()
    )
    assert row["code_hash"] != hashlib.sha256(b"8642").hexdigest()
    for field, value in row.items():
        if field not in ("id", "code_hash"):  # hex strings, checked exactly above
            assert "8642" not in str(value), field
    assert row["phone"] == PHONE
    assert row["payload"] == {"name": "Анна"}
    assert row["expires_at"] == clock.now + timedelta(minutes=5)
    assert (row["attempts"], row["sends"], row["used_at"]) == (0, 1, None)


def test_codes_are_four_digits_from_secrets():
    challenges = [issue(phone=f"+7916000{i:04d}") for i in range(20)]
    for challenge in challenges:
        code = last_code(challenge.phone)
        assert len(code) == 4 and code.isdigit()
    assert len({last_code(c.phone) for c in challenges}) > 1


def test_right_code_confirms_once_and_hands_back_the_payload(clock):
    user = User.objects.create(username="anna", phone=PHONE)
    challenge = issue(purpose="password_reset", subject_id=user.pk, payload={"step": 2})
    code = last_code(PHONE)

    confirmed = verify(challenge, code, purpose="password_reset")
    assert confirmed.id == challenge.id
    assert confirmed.subject_id == user.pk
    assert confirmed.payload == {"step": 2}
    assert confirmed.used_at == clock.now

    with pytest.raises(CodeAlreadyUsed) as refused:
        verify(challenge, code, purpose="password_reset")
    assert refused.value.code == "code_used"
    assert refused.value.message == "Код уже использован. Запросите новый код"
    assert Challenge.objects.get(pk=challenge.pk).attempts == 0


def test_wrong_codes_count_down_and_the_fifth_burns_the_code(clock):
    challenge = issue()
    code = last_code(PHONE)

    for left in (4, 3, 2, 1):
        with pytest.raises(WrongCode) as wrong:
            verify(challenge, other_code(code))
        assert wrong.value.attempts_left == left
        assert wrong.value.code == "code_wrong"
        assert wrong.value.field == "code"
        assert wrong.value.message == f"Неверный код. Осталось попыток: {left}"

    with pytest.raises(CodeAttemptsExhausted) as burnt:
        verify(challenge, other_code(code))
    assert burnt.value.code == "code_attempts_exhausted"
    assert burnt.value.message == "Превышено число попыток ввода кода. Запросите новый код"

    with pytest.raises(CodeAttemptsExhausted):
        verify(challenge, code)
    row = Challenge.objects.get(pk=challenge.pk)
    assert (row.attempts, row.used_at) == (5, None)


def test_codes_of_any_length_or_form_are_just_wrong_answers():
    challenge = issue()
    code = last_code(PHONE)

    for typed, left in (("123", 4), ("12345", 3), ("", 2), ("абвг", 1)):
        with pytest.raises(WrongCode) as wrong:
            verify(challenge, typed)
        assert wrong.value.attempts_left == left

    # Spaces a person types around or inside the code do not matter.
    assert verify(challenge, f" {code[:2]} {code[2:]} ").used_at is not None


def test_code_expires_after_five_minutes(clock):
    early = issue(phone="+79160000001")
    late = issue(phone="+79160000002")

    clock.advance(minutes=5, seconds=-1)
    assert verify(early, last_code("+79160000001")).used_at == clock.now

    clock.advance(seconds=1)
    with pytest.raises(CodeExpired) as expired:
        verify(late, last_code("+79160000002"))
    assert expired.value.code == "code_expired"
    assert expired.value.message == "Срок действия кода истёк. Запросите новый код"
    row = Challenge.objects.get(pk=late.pk)
    assert (row.attempts, row.used_at) == (0, None)


def test_resend_waits_sixty_seconds_and_the_old_code_stops_working(clock):
    challenge = issue()
    old = last_code(PHONE)

    with pytest.raises(ResendTooSoon) as too_soon:
        resend(challenge.id, IP)
    assert (too_soon.value.code, too_soon.value.retry_after) == ("code_resend_too_soon", 60)
    assert too_soon.value.message == "Повторно отправить код можно через 60 с"

    clock.advance(seconds=18)
    with pytest.raises(ResendTooSoon) as too_soon:
        resend(challenge.id, IP)
    assert too_soon.value.retry_after == 42
    assert too_soon.value.message == "Повторно отправить код можно через 42 с"
    # A fresh challenge for the same phone and purpose waits just the same ...
    with pytest.raises(ResendTooSoon) as too_soon:
        issue()
    assert too_soon.value.retry_after == 42
    assert len(sms_to(PHONE)) == 1
    # ... but another purpose does not.
    issue(purpose="phone_change")
    assert len(sms_to(PHONE)) == 2

    clock.advance(seconds=42)
    resent = resend(challenge.id, IP)
    assert resent.id == challenge.id
    assert (resent.sends, resent.sent_at, resent.expires_at) == (
        2,
        clock.now,
        clock.now + timedelta(minutes=5),
    )
    new = last_code(PHONE)
    assert len(sms_to(PHONE)) == 3
    assert new != old

    with pytest.raises(WrongCode):
        verify(challenge, old)
    assert verify(challenge, new).used_at == clock.now


def test_resend_gives_a_burnt_or_expired_challenge_a_new_code_and_new_attempts(clock):
    challenge = issue()
    for _ in range(5):
        with pytest.raises((WrongCode, CodeAttemptsExhausted)):
            verify(challenge, other_code(last_code(PHONE)))
    clock.advance(minutes=6)

    resend(challenge.id, IP)
    row = Challenge.objects.get(pk=challenge.pk)
    assert (row.attempts, row.expires_at) == (0, clock.now + timedelta(minutes=5))
    assert verify(challenge, last_code(PHONE)).used_at == clock.now


def test_a_used_challenge_is_not_resent(clock):
    challenge = issue()
    verify(challenge, last_code(PHONE))
    clock.advance(minutes=2)

    with pytest.raises(CodeAlreadyUsed):
        resend(challenge.id, IP)
    assert len(sms_to(PHONE)) == 1


def test_daily_cap_per_phone_counts_resends(clock):
    challenge = issue()
    for i in range(9):
        clock.advance(seconds=61)
        resend(challenge.id, f"198.51.100.{i}")
    assert len(sms_to(PHONE)) == 10

    clock.advance(seconds=61)
    with pytest.raises(CodeDailyLimit) as capped:
        resend(challenge.id, "192.0.2.1")
    assert capped.value.code == "code_daily_limit"
    assert capped.value.message == "Превышено число запросов кода на сегодня"
    # The counters are per UTC day; 09:10:10 UTC now.
    assert capped.value.retry_after == 24 * 3600 - (9 * 3600 + 10 * 61)
    with pytest.raises(CodeDailyLimit):
        issue(purpose="password_reset", ip="192.0.2.1")
    assert len(sms_to(PHONE)) == 10
    assert Challenge.objects.count() == 1
    assert Challenge.objects.get().sends == 10

    issue(phone="+79160000001", ip="192.0.2.1")  # other phones are not affected

    clock.advance(hours=15)  # the next day
    resend(challenge.id, "192.0.2.1")
    assert len(sms_to(PHONE)) == 11


def test_daily_cap_per_client_address(clock):
    for i in range(30):
        issue(phone=f"+7916000{i:04d}")

    with pytest.raises(CodeDailyLimit) as capped:
        issue(phone="+79160000030")
    assert capped.value.retry_after == 15 * 3600
    assert sms_to("+79160000030") == []

    # Refused by the address's cap, the phone's own allowance is untouched.
    issue(phone="+79160000030", ip="192.0.2.1")
    assert len(sms_to("+79160000030")) == 1
    assert Message.objects.count() == 31


def test_wrong_codes_are_limited_per_client_address(clock):
    challenges = [issue(phone=f"+7916000{i:04d}") for i in range(11)]
    for challenge in challenges[:10]:
        for _ in range(5):
            with pytest.raises((WrongCode, CodeAttemptsExhausted)):
                verify(challenge, other_code(last_code(challenge.phone)))

    last = challenges[10]
    with pytest.raises(RateLimited) as limited:
        verify(last, last_code(last.phone))
    assert limited.value.code == "code_ip_limited"
    assert limited.value.retry_after == 3600
    assert limited.value.message == (
        "Слишком много неверных кодов с вашего адреса. Повторите через 60 мин."
    )
    row = Challenge.objects.get(pk=last.pk)
    assert (row.attempts, row.used_at) == (0, None)

    assert verify(last, last_code(last.phone), ip="192.0.2.1").used_at == clock.now


def test_unknown_and_other_purpose_challenges_look_the_same():
    challenge = issue(purpose="registration")
    code = last_code(PHONE)

    refusals = []
    for challenge_id, purpose in (
        (uuid.uuid4(), "registration"),
        ("not-a-uuid", "registration"),
        (challenge.id, "login"),
    ):
        with pytest.raises(ChallengeNotFound) as missing:
            verify_code(challenge_id=challenge_id, code=code, purpose=purpose, client_ip=IP)
        refusals.append((missing.value.code, missing.value.message, missing.value.http_status))
    assert refusals == [("code_challenge_not_found", "Код не найден. Запросите новый код", 404)] * 3

    with pytest.raises(ChallengeNotFound):
        resend(uuid.uuid4(), IP)
    assert Challenge.objects.get(pk=challenge.pk).attempts == 0
    assert verify(challenge, code, purpose="registration").used_at is not None


def test_answers_are_the_same_for_a_registered_and_an_unregistered_phone(clock):
    User.objects.create(username="member", phone="+79160000001")
    answers = []
    for phone in ("+79160000001", "+79160000002"):
        challenge = issue(phone=phone, purpose="password_reset")
        with pytest.raises(WrongCode) as wrong:
            verify(challenge, other_code(last_code(phone)), purpose="password_reset")
        with pytest.raises(ResendTooSoon) as too_soon:
            resend(challenge.id, IP)
        answers.append(
            (
                sms_to(phone)[0].replace(last_code(phone), "####"),
                wrong.value.message,
                too_soon.value.message,
            )
        )
    assert answers[0] == answers[1]


def test_invalid_phone_or_purpose_is_refused_before_anything_is_sent():
    with pytest.raises(ValidationFailed) as invalid:
        issue(phone="12345")
    assert (invalid.value.field, invalid.value.message) == (
        "phone",
        "Введите номер мобильного телефона, например 9161234567",
    )
    with pytest.raises(ValueError, match="unknown code purpose"):
        issue(purpose="wire_transfer")
    assert Challenge.objects.count() == 0
    assert Message.objects.count() == 0


def test_every_purpose_can_be_issued_and_verified():
    for i, purpose in enumerate(
        ["registration", "login", "password_reset", "phone_change", "operator_activation"]
    ):
        phone = f"+7916000{i:04d}"
        challenge = issue(phone=phone, purpose=purpose)
        assert verify(challenge, last_code(phone), purpose=purpose).purpose == purpose


def test_the_code_and_its_sms_roll_back_with_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        issue()
        raise RuntimeError("the caller's action failed")
    assert Challenge.objects.count() == 0
    assert Message.objects.count() == 0


def test_verify_refuses_to_run_inside_a_transaction():
    """A wrong answer's counted attempt must commit though verify_code raises."""
    challenge = issue()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        verify(challenge, last_code(PHONE))
    assert Challenge.objects.get(pk=challenge.pk).used_at is None


def test_purge_deletes_long_expired_challenges_only(clock):
    old = issue(phone="+79160000001")
    clock.advance(days=7, minutes=5, seconds=1)
    recent = issue(phone="+79160000002")

    assert purge_expired() == 1
    assert list(Challenge.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Challenge.objects.filter(pk=old.pk).exists()


def test_limits_are_the_documented_numbers():
    assert (
        codes.CODE_DIGITS,
        codes.CODE_TTL,
        codes.MAX_ATTEMPTS,
        codes.RESEND_COOLDOWN,
        codes.CODES_PER_PHONE_PER_DAY.max_hits,
        codes.CODES_PER_IP_PER_DAY.max_hits,
        codes.LINK_TTL,
    ) == (4, timedelta(minutes=5), 5, timedelta(seconds=60), 10, 30, timedelta(hours=1))


def test_an_unparseable_client_address_is_not_stored():
    challenge = issue(ip="unknown")
    assert Challenge.objects.get(pk=challenge.pk).client_ip is None
    assert issue(phone="+79160000001", ip="2001:db8::1").client_ip == "2001:db8::1"
