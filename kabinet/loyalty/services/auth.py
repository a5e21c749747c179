"""Members signing in (L-AUTH-1…5), for the web pages and, later, the app API.

* `sign_in` — phone in any usual form + password. On a device the member has not confirmed
  before, or always if the member asked for it, the answer is a challenge: an SMS code must
  confirm the sign-in (`confirm_sign_in`). The caller remembers a confirmed device
  (`remember_device`) — the web in a signed cookie, the app with its token.
* `request_login_code` / `confirm_sign_in` — sign-in by a one-time SMS code instead of a
  password («Секретный код»).
* `request_password_reset` / `confirm_password_reset` — phone + birth date → SMS code → new
  password.
* `sign_out_everywhere` — ends every session of the member.

No answer tells whether a phone is registered (L-AUTH-4): a wrong password and an unknown
phone fail alike and count alike against the lock-out; a code requested for an unknown phone
or a wrong birth date gets a challenge that looks the same and sends nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kabinet.accounts import codes, throttling
from kabinet.accounts.models import Challenge, CodePurpose
from kabinet.core import audit
from kabinet.core.errors import ValidationFailed
from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.loyalty.models import KnownDevice, MemberProfile
from kabinet.loyalty.services import registration
from kabinet.notifications.services import notify

User = get_user_model()

# Unknown phone and wrong password read the same (L-AUTH-4).
INVALID_CREDENTIALS = "Неверный номер телефона или пароль"


class InvalidCredentials(ValidationFailed):
    default_code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__(INVALID_CREDENTIALS)


@dataclass(frozen=True)
class SignIn:
    """Either the signed-in `user`, or the `challenge` whose SMS code must confirm it."""

    user: Any = None
    challenge: Challenge | None = None


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except PhoneError:
        raise ValidationFailed(
            "Введите номер мобильного телефона, например 9161234567",
            code="phone_invalid",
            field="phone",
        ) from None


def _member(phone: str) -> Any:
    """The active member holding `phone`, or None (staff and partners are not members)."""
    return (
        User.objects.select_related("loyalty_account")
        .filter(phone=phone, is_active=True, loyalty_account__isnull=False)
        .first()
    )


def _hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_known_device(*, user: Any, token: str | None) -> bool:
    """Whether `token` (from the device's cookie) was confirmed by this user before."""
    if not token:
        return False
    return KnownDevice.objects.filter(user=user, token_hash=_hash_device_token(token)).exists()


def remember_device(*, user: Any, token: str | None = None, user_agent: str = "") -> str:
    """Record a device that confirmed a sign-in by SMS; return the token to keep in it."""
    now = timezone.now()
    if token:
        refreshed = KnownDevice.objects.filter(
            user=user, token_hash=_hash_device_token(token)
        ).update(last_seen_at=now)
        if refreshed:
            return token
    token = secrets.token_urlsafe(32)
    KnownDevice.objects.create(
        user=user,
        token_hash=_hash_device_token(token),
        user_agent=user_agent[:200],
        created_at=now,
        last_seen_at=now,
    )
    return token


def _needs_confirmation(user: Any, device_token: str | None) -> bool:
    profile = MemberProfile.objects.filter(account__user=user).only("always_confirm_login").first()
    if profile is not None and profile.always_confirm_login:
        return True
    return not is_known_device(user=user, token=device_token)


def sign_in(
    *,
    phone: str,
    password: str,
    client_ip: str | None,
    device_token: str | None = None,
    language: str = "ru",
) -> SignIn:
    """L-AUTH-1/2: check phone + password; the user, or an SMS challenge to confirm first."""
    phone = _phone(phone)
    throttling.check_login_allowed(phone, client_ip)
    user = _member(phone)
    if user is None:
        # Hash anyway: an unknown phone must take as long as a wrong password.
        make_password(password)
        throttling.register_login_failure(phone, client_ip)
        raise InvalidCredentials()
    if not check_password(password, user.password):
        throttling.register_login_failure(phone, client_ip)
        raise InvalidCredentials()
    throttling.register_login_success(phone)
    if not _needs_confirmation(user, device_token):
        return SignIn(user=user)
    challenge = codes.issue_code(
        purpose=CodePurpose.LOGIN,
        phone=phone,
        client_ip=client_ip,
        language=language,
        subject_id=user.pk,
        payload={"how": "password"},
    )
    return SignIn(challenge=challenge)


def request_login_code(*, phone: str, client_ip: str | None, language: str = "ru") -> Challenge:
    """L-AUTH-5: a one-time code by SMS instead of a password; unknown phones get a decoy."""
    phone = _phone(phone)
    throttling.check_login_allowed(phone, client_ip)
    user = _member(phone)
    return codes.issue_code(
        purpose=CodePurpose.LOGIN,
        phone=phone,
        client_ip=client_ip,
        language=language,
        subject_id=user.pk if user is not None else None,
        payload={"how": "code"},
        decoy=user is None,
    )


def _confirmed(challenge_id: Any, code: str, purpose: str, client_ip: str | None) -> Any:
    """The member a challenge was issued for, once its code is right; decoys never confirm."""
    challenge = codes.verify_code(
        challenge_id=challenge_id, code=code, purpose=purpose, client_ip=client_ip
    )
    user = None
    if challenge.subject_id is not None:
        user = (
            User.objects.filter(
                pk=challenge.subject_id, is_active=True, loyalty_account__isnull=False
            )
            .select_related("loyalty_account")
            .first()
        )
    if user is None:
        # A decoy's code is known to nobody; a lucky guess must read like a wrong one.
        raise codes.WrongCode(codes.MAX_ATTEMPTS - challenge.attempts)
    return user


def confirm_sign_in(*, challenge_id: Any, code: str, client_ip: str | None) -> Any:
    """The member whose sign-in the SMS code confirms (after a password or instead of one)."""
    user = _confirmed(challenge_id, code, CodePurpose.LOGIN, client_ip)
    throttling.register_login_success(user.phone)
    return user


def request_password_reset(
    *, phone: str, birth_date: date | None, client_ip: str | None, language: str = "ru"
) -> Challenge:
    """L-AUTH-3: a code by SMS if the phone is a member's and the birth date is theirs.

    Otherwise a decoy challenge: the same answer, the same limits, no SMS (L-AUTH-4).
    """
    phone = _phone(phone)
    if birth_date is None:
        raise ValidationFailed(
            "Укажите дату рождения", code="birth_date_required", field="birth_date"
        )
    user = _member(phone)
    matches = user is not None and user.loyalty_account.birth_date == birth_date
    return codes.issue_code(
        purpose=CodePurpose.PASSWORD_RESET,
        phone=phone,
        client_ip=client_ip,
        language=language,
        subject_id=user.pk if matches else None,
        decoy=not matches,
    )


def confirm_password_reset(
    *, challenge_id: Any, code: str, new_password: str, client_ip: str | None
) -> Any:
    """Set the new password once the code is right; every other session ends with the old one."""
    # Checked before the code, so a weak password does not burn a right code.
    registration.check_password(new_password)
    user = _confirmed(challenge_id, code, CodePurpose.PASSWORD_RESET, client_ip)
    with transaction.atomic(durable=True):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit.record(action="loyalty.member.password_reset", actor=user, obj=user, ip=client_ip)
        notify(
            channel="sms",
            to=user.phone,
            template="password_changed",
            context={},
            purpose="security",
        )
    throttling.register_login_success(user.phone)
    return user


@transaction.atomic
def set_login_confirmation(*, account: Any, always: bool) -> None:
    """L-AUTH-2: confirm every sign-in by SMS, not only those from a new device."""
    MemberProfile.objects.update_or_create(
        account=account, defaults={"always_confirm_login": always}
    )
    audit.record(
        action="loyalty.member.login_confirmation",
        actor=account.user,
        obj=account,
        data={"always": always},
    )


@transaction.atomic
def sign_out_everywhere(*, user: Any, client_ip: str | None = None) -> None:
    """End every session of the user and forget every confirmed device."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    KnownDevice.objects.filter(user=user).delete()
    audit.record(action="loyalty.member.sign_out_everywhere", actor=user, obj=user, ip=client_ip)
