"""One-time SMS codes and single-use e-mail links (SPEC X-3, L-AUTH-4).

A code confirms that the person holds a phone: registration, sign-in by code, password reset,
a phone change, an activation by a call-centre operator. The flow is

    challenge = issue_code(purpose=..., phone=..., client_ip=..., payload={...})
    # the client gets challenge.id (opaque) and later sends it back with the code
    challenge = verify_code(challenge_id=..., code=..., purpose=..., client_ip=...)
    # the caller finishes its action from challenge.payload / challenge.subject_id

This module never looks a phone up among users, and every message it produces reads the same
for a registered and an unregistered phone: deciding what a phone may do is the caller's job,
and so is not revealing whether it is registered.

Codes are four digits, so a plain hash could be reversed by trying all 10,000; the stored hash
is an HMAC keyed with SECRET_KEY and salted with the challenge id. A database dump alone gives
nothing away, and one challenge's hash says nothing about another's.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from kabinet.accounts import throttling
from kabinet.accounts.models import Challenge, CodePurpose, LinkToken, User
from kabinet.core import ratelimit
from kabinet.core.errors import DomainError, RateLimited, ValidationFailed
from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.core.ratelimit import Limit
from kabinet.notifications.services import notify

# Four digits is what members type from an SMS (the seed's "4-digit SMS code"); the attempt
# limit and the daily caps below are what keep guessing them hopeless.
CODE_DIGITS = 4

# Long enough for an SMS that arrives late, short enough that a code read over a shoulder or
# left on a lock screen is soon worthless.
CODE_TTL = timedelta(minutes=5)

# Wrong answers allowed per code: 5 in 10,000 is a 0.05% chance for a guesser per code sent.
MAX_ATTEMPTS = 5

# A resend (or a fresh challenge) for the same phone and purpose: SMS can take tens of seconds
# to arrive, and each one costs money, so impatient clicks must not each send one.
RESEND_COOLDOWN = timedelta(seconds=60)

# Codes sent to one phone per day, resends included. Bounds the SMS bill an attacker can run up
# on one number and the guesses against it: 10 codes x 5 attempts = 50 in 10,000 a day.
CODES_PER_PHONE_PER_DAY = Limit("code-send:phone", max_hits=10, window_seconds=24 * 60 * 60)

# Codes requested from one client address per day, whatever the phones: stops SMS pumping
# (sending codes to premium numbers to earn from the traffic). Mobile carriers share one
# address among many subscribers (CGNAT); raise it if real users hit it.
CODES_PER_IP_PER_DAY = Limit("code-send:ip", max_hits=30, window_seconds=24 * 60 * 60)

# An e-mailed link lives longer than a code: mail is slower and read later.
LINK_TTL = timedelta(hours=1)


# --- errors ---------------------------------------------------------------------------------


class CodeError(DomainError):
    """A one-time code or its challenge was refused; the subclasses say why."""

    default_code = "code_error"


class WrongCode(CodeError):
    http_status = 422
    default_code = "code_wrong"

    def __init__(self, attempts_left: int):
        super().__init__(
            _("Неверный код. Осталось попыток: %(left)d") % {"left": attempts_left},
            field="code",
        )
        self.attempts_left = attempts_left


class CodeExpired(CodeError):
    http_status = 410
    default_code = "code_expired"

    def __init__(self) -> None:
        super().__init__(_("Срок действия кода истёк. Запросите новый код"), field="code")


class CodeAttemptsExhausted(CodeError):
    """Too many wrong answers: the code is burnt; only a new one (a resend) can confirm."""

    http_status = 410
    default_code = "code_attempts_exhausted"

    def __init__(self) -> None:
        super().__init__(_("Превышено число попыток ввода кода. Запросите новый код"), field="code")


class CodeAlreadyUsed(CodeError):
    http_status = 410
    default_code = "code_used"

    def __init__(self) -> None:
        super().__init__(_("Код уже использован. Запросите новый код"), field="code")


class ChallengeNotFound(CodeError):
    """Unknown id, or an id issued for another purpose (which must look the same)."""

    http_status = 404
    default_code = "code_challenge_not_found"

    def __init__(self) -> None:
        super().__init__(_("Код не найден. Запросите новый код"))


class ResendTooSoon(RateLimited):
    def __init__(self, retry_after: int):
        super().__init__(
            _("Повторно отправить код можно через %(seconds)d с") % {"seconds": retry_after},
            retry_after=retry_after,
            code="code_resend_too_soon",
        )


class CodeDailyLimit(RateLimited):
    def __init__(self, retry_after: int):
        super().__init__(
            _("Превышено число запросов кода на сегодня"),
            retry_after=retry_after,
            code="code_daily_limit",
        )


class LinkTokenError(DomainError):
    default_code = "link_error"


class LinkTokenInvalid(LinkTokenError):
    """Unknown token, or one issued for another purpose."""

    http_status = 404
    default_code = "link_invalid"

    def __init__(self) -> None:
        super().__init__(_("Ссылка недействительна. Запросите новую"))


class LinkTokenExpired(LinkTokenError):
    http_status = 410
    default_code = "link_expired"

    def __init__(self) -> None:
        super().__init__(_("Срок действия ссылки истёк. Запросите новую"))


class LinkTokenUsed(LinkTokenError):
    http_status = 410
    default_code = "link_used"

    def __init__(self) -> None:
        super().__init__(_("Ссылка уже использована. Запросите новую"))


# --- codes ----------------------------------------------------------------------------------


def _hash_code(challenge_id: uuid.UUID, code: str) -> str:
    # salted_hmac derives the HMAC key from SECRET_KEY and the salt; SHA-256 throughout.
    # A code outlives a SECRET_KEY rotation by at most CODE_TTL, so fallbacks are not tried.
    return salted_hmac(
        f"kabinet.accounts.codes:{challenge_id}", code, algorithm="sha256"
    ).hexdigest()


def _code_matches(challenge: Challenge, code: str) -> bool:
    # Both sides are 64 hex characters whatever was typed, so the comparison takes the same
    # time for a code of any length or content.
    return hmac.compare_digest(_hash_code(challenge.id, code), challenge.code_hash)


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except PhoneError:
        raise ValidationFailed(
            _("Введите номер мобильного телефона, например 9161234567"), field="phone"
        ) from None


def _stored_ip(client_ip: str | None) -> str | None:
    # The column is an inet on PostgreSQL; a proxy's "unknown" must not fail the request.
    try:
        return str(ipaddress.ip_address(client_ip or ""))
    except ValueError:
        return None


def _check_purpose(purpose: str) -> None:
    if purpose not in CodePurpose.values:
        raise ValueError(f"unknown code purpose {purpose!r}")


def _check_cooldown(phone: str, purpose: str, now: datetime) -> None:
    last = (
        Challenge.objects.filter(phone=phone, purpose=purpose)
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    if last is not None and now < last + RESEND_COOLDOWN:
        wait = last + RESEND_COOLDOWN - now
        # Round up: "через 0 с" would invite a click that is still refused.
        raise ResendTooSoon(max(1, math.ceil(wait.total_seconds())))


def _count_send(phone: str, client_ip: str | None, now: datetime) -> None:
    """Count one SMS against the daily caps, or refuse it without counting."""
    ts = now.timestamp()
    subjects = [(CODES_PER_PHONE_PER_DAY, phone)]
    if client_ip:
        subjects.append((CODES_PER_IP_PER_DAY, client_ip))
    for limit, subject in subjects:
        if ratelimit.exceeded(limit, subject, now=ts):
            raise CodeDailyLimit(throttling.seconds_left(limit, ts))
    for limit, subject in subjects:
        allowed, retry_after = ratelimit.hit(limit, subject, now=ts)
        if not allowed:  # another request took the last one meanwhile
            raise CodeDailyLimit(retry_after)


def _send(challenge: Challenge, code: str) -> None:
    notify(
        channel="sms",
        to=challenge.phone,
        template="otp_code",
        context={"code": code, "purpose": challenge.purpose},
        language=challenge.language,
        purpose="security",
    )


def _locked_challenge(challenge_id: Any, purpose: str | None = None) -> Challenge:
    try:
        pk = uuid.UUID(str(challenge_id))
    except ValueError:
        raise ChallengeNotFound() from None
    challenge = Challenge.objects.select_for_update().filter(pk=pk).first()
    if challenge is None or (purpose is not None and challenge.purpose != purpose):
        raise ChallengeNotFound()
    return challenge


@transaction.atomic
def issue_code(
    *,
    purpose: str,
    phone: str,
    client_ip: str | None,
    language: str = "ru",
    payload: dict[str, Any] | None = None,
    subject_id: int | None = None,
    decoy: bool = False,
) -> Challenge:
    """Send a new one-time code by SMS; return its challenge (give the client `challenge.id`).

    `decoy=True` answers a request that must not be told apart from a real one (a password
    reset for an unknown phone, L-AUTH-4): the challenge is made, counted against the same
    cool-down and limits, and looks the same to the client, but no SMS goes anywhere and
    nobody knows its code. The caller also gives it no subject, so even a lucky guess of the
    code confirms nothing.
    """
    _check_purpose(purpose)
    phone = _phone(phone)
    now = timezone.now()
    _check_cooldown(phone, purpose, now)
    _count_send(phone, client_ip, now)
    code = _new_code()
    challenge = Challenge(
        purpose=purpose,
        phone=phone,
        payload={**(payload or {}), "decoy": True} if decoy else payload or {},
        subject_id=subject_id,
        client_ip=_stored_ip(client_ip),
        language=language,
        created_at=now,
        sent_at=now,
        expires_at=now + CODE_TTL,
    )
    challenge.code_hash = _hash_code(challenge.id, code)
    challenge.save(force_insert=True)
    if not decoy:
        _send(challenge, code)
    return challenge


@transaction.atomic
def resend(challenge_id: Any, client_ip: str | None) -> Challenge:
    """Send a new code for the same challenge; the previous code stops working."""
    challenge = _locked_challenge(challenge_id)
    if challenge.used_at is not None:
        raise CodeAlreadyUsed()
    now = timezone.now()
    _check_cooldown(challenge.phone, challenge.purpose, now)
    _count_send(challenge.phone, client_ip, now)
    code = _new_code()
    # Only the hash of the old code is known; draw again if the new one hashes the same, so
    # that "the old code no longer works" holds without a 1-in-10,000 exception.
    while hmac.compare_digest(_hash_code(challenge.id, code), challenge.code_hash):
        code = _new_code()
    challenge.code_hash = _hash_code(challenge.id, code)
    challenge.sent_at = now
    challenge.expires_at = now + CODE_TTL
    challenge.attempts = 0
    challenge.sends += 1
    challenge.save(update_fields=["code_hash", "sent_at", "expires_at", "attempts", "sends"])
    if not challenge.payload.get("decoy"):
        _send(challenge, code)
    return challenge


def verify_code(*, challenge_id: Any, code: str, purpose: str, client_ip: str | None) -> Challenge:
    """Accept the code once and return the challenge (payload, subject_id) marked used.

    Runs in its own durable transaction and must not be called inside another: a wrong
    answer raises, and its counted attempt has to be committed all the same — inside a
    caller's transaction the raise would roll it back and give unlimited guesses. Finish the
    caller's action in a transaction of its own after this returns.
    """
    throttling.check_code_allowed(client_ip)
    candidate = "".join(str(code or "").split())[:64]
    error: CodeError | None = None
    wrong_answer = False
    with transaction.atomic(durable=True):
        # The row lock makes check-and-mark one step: of two concurrent right answers one
        # waits here, then finds the challenge used.
        challenge = _locked_challenge(challenge_id, purpose)
        now = timezone.now()
        if challenge.used_at is not None:
            error = CodeAlreadyUsed()
        elif challenge.attempts >= MAX_ATTEMPTS:
            error = CodeAttemptsExhausted()
        elif now >= challenge.expires_at:
            error = CodeExpired()
        elif _code_matches(challenge, candidate):
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
        else:
            wrong_answer = True
            challenge.attempts += 1
            challenge.save(update_fields=["attempts"])
            left = MAX_ATTEMPTS - challenge.attempts
            error = WrongCode(left) if left > 0 else CodeAttemptsExhausted()
    if wrong_answer:
        throttling.register_code_failure(client_ip)
    if error is not None:
        raise error
    return challenge


def purge_expired(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete challenges and links that expired more than `older_than` ago; return how many."""
    cutoff = timezone.now() - older_than
    challenges, _by_model = Challenge.objects.filter(expires_at__lt=cutoff).delete()
    links, _by_model = LinkToken.objects.filter(expires_at__lt=cutoff).delete()
    return challenges + links


# --- e-mail links ---------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    # The token is 256 random bits: a plain SHA-256 cannot be reversed by guessing, and a
    # lookup by it reveals nothing through timing.
    return hashlib.sha256(token.encode()).hexdigest()


def _link_url(path: str, token: str) -> str:
    # A path, not a URL: the link must point at this site, never wherever a caller was told.
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"link path must be a path on this site, got {path!r}")
    separator = "&" if "?" in path else "?"
    return f"{settings.SITE_URL}{path}{separator}{urlencode({'token': token})}"


@transaction.atomic
def issue_link_token(
    *,
    purpose: str,
    email: str,
    subject_user_id: int,
    path: str,
    ttl: timedelta = LINK_TTL,
    language: str = "ru",
    template: str = "password_reset_link",
    context: dict[str, Any] | None = None,
) -> LinkToken:
    """E-mail a single-use link to SITE_URL + path with a fresh token; return its record.

    `context` adds to the template's {"url": ...} (the password reset letter greets `name`).
    """
    token = secrets.token_urlsafe(32)
    url = _link_url(path, token)
    now = timezone.now()
    link = LinkToken.objects.create(
        purpose=purpose,
        token_hash=_hash_token(token),
        subject_id=subject_user_id,
        email=email,
        created_at=now,
        expires_at=now + ttl,
    )
    notify(
        channel="email",
        to=email,
        template=template,
        context={**(context or {}), "url": url},
        language=language,
        purpose="security",
    )
    return link


@transaction.atomic
def consume_link_token(token: str, purpose: str) -> User:
    """Accept a link's token once and return the user it was issued for."""
    link = (
        LinkToken.objects.select_for_update()
        .filter(token_hash=_hash_token(str(token or "")))
        .first()
    )
    if link is None or link.purpose != purpose:
        raise LinkTokenInvalid()
    if link.used_at is not None:
        raise LinkTokenUsed()
    now = timezone.now()
    if now >= link.expires_at:
        raise LinkTokenExpired()
    link.used_at = now
    link.save(update_fields=["used_at"])
    # Once one link has done its job (the password is reset), older ones still in the mailbox
    # must not do it again.
    LinkToken.objects.filter(
        subject_id=link.subject_id, purpose=purpose, used_at__isnull=True
    ).update(used_at=now)
    return User.objects.get(pk=link.subject_id)
