"""Registration = card activation, one service for all four channels (L-ACT-1…5).

Web, app and call centre go in two steps, because the phone has to be proved by an SMS code:

    challenge = start_registration(card_number=..., first_name=..., ...)   # sends the code
    account = confirm_registration(challenge_id=challenge.id, code="1234", client_ip=...)

The pending registration waits in the challenge's payload — with the password already
hashed, never in clear text — so nothing about the member exists until the code is right.
An SMS to 9002 proves the phone by itself and activates at once (`activate_by_sms`).

The `check_*` functions are the rules of single fields; the web wizard calls them step by
step so that each page answers with the same words the final check would.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from kabinet.accounts import codes
from kabinet.accounts.models import Challenge, CodePurpose
from kabinet.core import audit, ratelimit
from kabinet.core.errors import Conflict, ValidationFailed
from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.core.ratelimit import Limit
from kabinet.geo.models import City
from kabinet.loyalty import cardnumbers, member_rules, sms_activation
from kabinet.loyalty.models import (
    Account,
    ActivationChannel,
    Card,
    CardState,
    Consent,
    ConsentKind,
    InboundSms,
    InboundSmsOutcome,
    Level,
    MemberProfile,
)
from kabinet.loyalty.services import cards as card_services
from kabinet.notifications.services import notify

#: The versions of the consent texts a member accepts now (L-ACT-1 "stored with time and
#: version"). Change the text in templates/loyalty/documents/ and raise the version together.
CONSENT_VERSIONS: dict[str, str] = {
    ConsentKind.PERSONAL_DATA: "2026-01",
    ConsentKind.RULES: "2026-01",
}

CONSENT_MISSING: dict[str, str] = {
    ConsentKind.PERSONAL_DATA: "Без согласия на обработку персональных данных зарегистрироваться "
    "нельзя",
    ConsentKind.RULES: "Без согласия с правилами программы зарегистрироваться нельзя",
}

# The same words whether the phone belongs to a member, a partner or staff: the person
# registering learns that this phone cannot be used, never whose it is (L-ACT-5).
PHONE_TAKEN = (
    "Этот номер телефона уже привязан к другой карте. Если это ваш номер, войдите в личный "
    "кабинет или восстановите пароль"
)

# Activation attempts from one phone by SMS per day. Each reply is an SMS we pay for, and
# each attempt is a guess at a card number.
SMS_ACTIVATIONS_PER_PHONE = Limit("sms-activation:phone", max_hits=10, window_seconds=86_400)

User = get_user_model()


class RegistrationInvalid(ValidationFailed):
    """One or more fields were refused; `errors` maps each field to its Russian message."""

    def __init__(self, errors: dict[str, str]):
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = errors


@dataclass(frozen=True)
class Marketing:
    """Where the member allows advertising (L-CAB-6); security messages go regardless."""

    email: bool = False
    sms: bool = False
    voice: bool = False
    push: bool = False


# --- single fields ----------------------------------------------------------------------------


def _invalid(field_name: str, message: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(message, code=code, field=field_name)


def check_card(raw: str) -> Card:
    """The issued card a member typed or scanned (L-CARD-1), or a precise reason it cannot be."""
    try:
        number = cardnumbers.parse_barcode(raw or "")
    except cardnumbers.CardNumberError as exc:
        raise _invalid("card_number", exc.text, "invalid_card_number") from None
    card = Card.objects.filter(number=number).first()
    if card is None:
        raise _invalid(
            "card_number",
            "Карта с таким номером не найдена. Проверьте номер на обороте карты",
            "card_not_found",
        )
    if card.state == CardState.BLOCKED:
        raise _invalid(
            "card_number", "Карта заблокирована: её нельзя зарегистрировать", "card_blocked"
        )
    if card.state == CardState.ACTIVE:
        raise _invalid(
            "card_number",
            "Карта уже зарегистрирована. Войдите в личный кабинет по номеру телефона",
            "card_already_active",
        )
    return card


def check_first_name(raw: str) -> str:
    try:
        return member_rules.clean_first_name(raw)
    except member_rules.MemberDataError as exc:
        raise _invalid("first_name", exc.text, exc.code) from None


def check_birth_date(value: date | None) -> date:
    if value is None:
        raise _invalid("birth_date", "Укажите дату рождения", "birth_date_required")
    try:
        return member_rules.check_birth_date(value, today=timezone.localdate())
    except member_rules.MemberDataError as exc:
        raise _invalid("birth_date", exc.text, exc.code) from None


def check_email(raw: str) -> str:
    address = (raw or "").strip()
    if not address:
        raise _invalid("email", "Укажите адрес электронной почты", "email_required")
    try:
        validate_email(address)
    except ValidationError:
        raise _invalid(
            "email", "Введите правильный адрес электронной почты, например anna@mail.ru"
        ) from None
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def check_password(password: str, *, first_name: str = "", email: str = "", phone: str = "") -> str:
    """The program's rules (Latin upper, lower, digit, length), then Django's validators."""
    try:
        member_rules.check_password_rules(password)
    except member_rules.MemberDataError as exc:
        raise _invalid("password", exc.text, exc.code) from None
    probe = User(username=phone, phone=phone or None, email=email, first_name=first_name)
    try:
        password_validation.validate_password(password, user=probe)
    except ValidationError as exc:
        raise _invalid("password", " ".join(exc.messages), "password_weak") from None
    return password


def check_phone(raw: str) -> str:
    """A mobile phone as E.164 that no one holds yet (L-ACT-5)."""
    try:
        phone = normalize_phone(raw)
    except PhoneError:
        raise _invalid(
            "phone", "Введите номер мобильного телефона, например 9161234567", "phone_invalid"
        ) from None
    if User.objects.filter(phone=phone).exists():
        raise _invalid("phone", PHONE_TAKEN, "phone_taken")
    return phone


def check_city(city: City | None) -> City | None:
    """L-ACT-2: activation is offered only where the program operates."""
    if city is not None and not city.region.loyalty_active:
        raise _invalid(
            "city",
            f"В регионе «{city.region.name_ru}» программа лояльности пока не действует: "
            "активация карты недоступна",
            "program_not_in_region",
        )
    return city


def check_consents(consents: Collection[str]) -> dict[str, str]:
    """The required consents given, each with the version of its text; else the first missing."""
    for kind in CONSENT_VERSIONS:
        if kind not in consents:
            raise _invalid(f"consent_{kind}", CONSENT_MISSING[kind], "consent_required")
    return dict(CONSENT_VERSIONS)


# --- web, app, call centre: two steps ---------------------------------------------------------


def _stored_ip(client_ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(client_ip or ""))
    except ValueError:
        return None


@dataclass
class _Checked:
    errors: dict[str, str] = field(default_factory=dict)

    def run(self, check: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except ValidationFailed as exc:
            self.errors.setdefault(exc.field or "__all__", exc.message)
            return None


def start_registration(
    *,
    card_number: str | None,
    first_name: str,
    birth_date: date | None,
    phone: str,
    email: str = "",
    password: str | None = None,
    password_hash: str | None = None,
    city: City | None = None,
    consents: Collection[str] = (),
    marketing: Marketing | None = None,
    channel: str = ActivationChannel.WEB,
    client_ip: str | None = None,
    language: str = "ru",
    operator: Any = None,
) -> Challenge:
    """Check a registration and send the SMS code that confirms it; return the challenge.

    `card_number` None issues a virtual card instead of plastic (L-CARD-4). The web and the
    app require an e-mail and a password — `password` in clear, or `password_hash` made by
    `make_password` when the caller already checked it with `check_password` (the web wizard
    keeps only the hash between its pages). The call centre (`operator` set) asks for
    neither: the member sets a password later through password reset.
    Raises `RegistrationInvalid` with every refused field at once.
    """
    if channel not in ActivationChannel.values or channel == ActivationChannel.SMS:
        raise ValueError(f"start_registration does not serve channel {channel!r}")
    needs_credentials = channel in (ActivationChannel.WEB, ActivationChannel.APP)
    checked = _Checked()
    card = checked.run(check_card, card_number) if card_number is not None else None
    clean_name = checked.run(check_first_name, first_name)
    clean_birth = checked.run(check_birth_date, birth_date)
    clean_email = ""
    if needs_credentials or (email or "").strip():
        clean_email = checked.run(check_email, email) or ""
    clean_phone = checked.run(check_phone, phone)
    if needs_credentials and password_hash is None:
        checked.run(
            check_password,
            password or "",
            first_name=clean_name or "",
            email=clean_email,
            phone=clean_phone or "",
        )
    if city is None and channel == ActivationChannel.APP:
        # L-ACT-2: in the app the member picks a city first; activation depends on it.
        checked.errors.setdefault("city", "Выберите город")
    checked.run(check_city, city)
    versions = checked.run(check_consents, set(consents))
    if checked.errors:
        raise RegistrationInvalid(checked.errors)

    if password_hash is None and password:
        password_hash = make_password(password)
    payload = {
        "card_id": card.pk if card is not None else None,
        "first_name": clean_name,
        "birth_date": clean_birth.isoformat(),
        "email": clean_email,
        "password_hash": password_hash,
        "city_id": city.pk if city is not None else None,
        "consents": versions,
        "consents_at": timezone.now().isoformat(),
        "marketing": asdict(marketing or Marketing()),
        "channel": channel,
        "client_ip": _stored_ip(client_ip),
        "operator_id": operator.pk if operator is not None else None,
    }
    purpose = (
        CodePurpose.OPERATOR_ACTIVATION
        if channel == ActivationChannel.CALL_CENTRE
        else CodePurpose.REGISTRATION
    )
    return codes.issue_code(
        purpose=purpose,
        phone=clean_phone,
        client_ip=client_ip,
        language=language,
        payload=payload,
    )


def confirm_registration(
    *, challenge_id: Any, code: str, client_ip: str | None, operator: Any = None
) -> Account:
    """Check the SMS code and create the member with an active card, all in one transaction.

    Race-safe: the card row is locked, so of two confirmations for one card one account is
    made and the other is told the card is taken; the unique phone does the same for a phone.
    A code that was right is used up even if the card was taken meanwhile (start again).
    """
    purpose = CodePurpose.OPERATOR_ACTIVATION if operator is not None else CodePurpose.REGISTRATION
    # verify_code commits its own transaction (a wrong answer must count): call it outside ours.
    challenge = codes.verify_code(
        challenge_id=challenge_id, code=code, purpose=purpose, client_ip=client_ip
    )
    data = challenge.payload
    with transaction.atomic(durable=True):
        card = None
        if data["card_id"] is not None:
            card = Card.objects.select_for_update().get(pk=data["card_id"])
            if card.state != CardState.ISSUED:
                raise Conflict(
                    "Эта карта уже зарегистрирована или заблокирована", code="card_already_active"
                )
        return _create_member(
            phone=challenge.phone,
            first_name=data["first_name"],
            birth_date=date.fromisoformat(data["birth_date"]),
            email=data["email"],
            password_hash=data["password_hash"],
            city=City.objects.filter(pk=data["city_id"]).first() if data["city_id"] else None,
            card=card,
            consents=data["consents"],
            consents_at=datetime.fromisoformat(data["consents_at"]),
            marketing=Marketing(**data["marketing"]),
            channel=data["channel"],
            client_ip=data["client_ip"],
            actor=operator,
        )


def _create_member(
    *,
    phone: str,
    first_name: str,
    birth_date: date,
    email: str,
    password_hash: str | None,
    city: City | None,
    card: Card | None,
    consents: dict[str, str],
    consents_at: datetime,
    marketing: Marketing,
    channel: str,
    client_ip: str | None,
    actor: Any = None,
) -> Account:
    """User, account, profile, consents and the active card; call inside a transaction."""
    now = timezone.now()
    user = User(username=phone, phone=phone, email=email, first_name=first_name)
    if password_hash:
        user.password = password_hash
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        # Someone registered this phone between the check and now.
        raise Conflict(PHONE_TAKEN, code="phone_taken") from None
    if card is not None:
        account = card_services.activate_card(
            card=card, user=user, first_name=first_name, birth_date=birth_date, city=city, at=now
        )
    else:
        account = Account.objects.create(
            user=user,
            first_name=first_name,
            birth_date=birth_date,
            city=city,
            activated_at=now,
            level=Level.objects.order_by("threshold_kopecks").first(),
        )
        card = card_services.issue_virtual_card(account=account, actor=user, at=now)
    MemberProfile.objects.create(
        account=account,
        channel=channel,
        marketing_email=marketing.email,
        marketing_sms=marketing.sms,
        marketing_voice=marketing.voice,
        marketing_push=marketing.push,
    )
    Consent.objects.bulk_create(
        Consent(
            account=account,
            kind=kind,
            version=version,
            accepted_at=consents_at,
            channel=channel,
            ip=client_ip,
        )
        for kind, version in consents.items()
    )
    audit.record(
        action="loyalty.member.register",
        actor=actor or user,
        obj=account,
        data={"channel": channel, "card": card.number, "virtual": card.virtual},
        ip=client_ip,
    )
    return account


# --- SMS to 9002: one step --------------------------------------------------------------------


@dataclass(frozen=True)
class SmsActivationResult:
    """What came of an activation SMS; `reply` is the SMS sent back ("" if none was)."""

    outcome: str
    code: str
    reply: str
    account_id: int | None = None
    replayed: bool = False

    def to_body(self) -> dict[str, Any]:
        return {"status": self.outcome, "code": self.code, "reply": self.reply}


def activate_by_sms(
    *, sender_phone: str, text: str, message_id: str, recipient: str = "", source: str = "http"
) -> SmsActivationResult:
    """L-ACT-4: activate the card named in an SMS to 9002 and bind the sender's phone to it.

    Idempotent by (`source`, `message_id`): a gateway that delivers the same message again
    gets the first result, and nothing is activated or replied twice.
    """
    message_id = message_id.strip()[:128]
    for _attempt in range(2):
        done = InboundSms.objects.filter(source=source, message_id=message_id).first()
        if done is not None:
            return SmsActivationResult(
                outcome=done.outcome,
                code=done.code,
                reply=done.reply,
                account_id=done.account_id,
                replayed=True,
            )
        try:
            with transaction.atomic(durable=True):
                # Inserted first: a concurrent delivery of the same message waits on this row's
                # unique key and, once this commits, fails and replays the result.
                record = InboundSms.objects.create(
                    source=source,
                    message_id=message_id,
                    sender=sender_phone[:32],
                    recipient=recipient[:32],
                    text=text[:1000],
                    received_at=timezone.now(),
                )
                result = _activate_from_sms(sender_phone=sender_phone, text=text)
                record.outcome, record.code, record.reply = (
                    result.outcome,
                    result.code,
                    result.reply,
                )
                record.account_id = result.account_id
                record.save(update_fields=["outcome", "code", "reply", "account"])
                return result
        except IntegrityError:
            continue
    raise RuntimeError("inbound SMS neither stored nor found")  # pragma: no cover


def _reply(phone: str, code: str, **context: Any) -> str:
    message = notify(
        channel="sms",
        to=phone,
        template="sms_activation",
        context={"code": code, **context},
        purpose="transactional",
    )
    return message.body


def _rejected(phone: str, code: str, reason: str) -> SmsActivationResult:
    return SmsActivationResult(
        outcome=InboundSmsOutcome.REJECTED, code=code, reply=_reply(phone, code, reason=reason)
    )


def _activate_from_sms(*, sender_phone: str, text: str) -> SmsActivationResult:
    try:
        phone = normalize_phone(sender_phone)
    except PhoneError:
        # Nowhere to reply to (a short code, an alphanumeric sender): record and stop.
        return SmsActivationResult(
            outcome=InboundSmsOutcome.REJECTED, code="sender_invalid", reply=""
        )
    allowed, _retry = ratelimit.hit(SMS_ACTIVATIONS_PER_PHONE, phone)
    if not allowed:
        # Silently: every reply would be one more SMS paid for a sender who keeps trying.
        return SmsActivationResult(
            outcome=InboundSmsOutcome.REJECTED, code="rate_limited", reply=""
        )
    try:
        parsed = sms_activation.parse(text, today=timezone.localdate())
    except sms_activation.SmsParseError as exc:
        return _rejected(phone, exc.code, exc.text)
    card = Card.objects.select_for_update().filter(number=parsed.card_number).first()
    if card is None:
        return _rejected(phone, "card_not_found", "Карта с таким номером не найдена")
    if card.state == CardState.BLOCKED:
        return _rejected(phone, "card_blocked", "Карта заблокирована")
    if card.state == CardState.ACTIVE:
        return _rejected(phone, "card_already_active", "Карта уже зарегистрирована")
    if User.objects.filter(phone=phone).exists():
        return _rejected(
            phone,
            "phone_taken",
            "Этот номер уже привязан к другой карте. Войдите в личный кабинет",
        )
    try:
        with transaction.atomic():
            account = _create_member(
                phone=phone,
                first_name=parsed.first_name,
                birth_date=parsed.birth_date,
                email="",
                password_hash=None,
                city=None,
                card=card,
                # Sending the SMS is accepting the rules printed with the card.
                consents=dict(CONSENT_VERSIONS),
                consents_at=timezone.now(),
                marketing=Marketing(),
                channel=ActivationChannel.SMS,
                client_ip=None,
            )
    except Conflict:
        return _rejected(
            phone,
            "phone_taken",
            "Этот номер уже привязан к другой карте. Войдите в личный кабинет",
        )
    card_tail = parsed.card_number[-4:]
    reply = _reply(phone, "activated", card_tail=card_tail, first_name=parsed.first_name)
    return SmsActivationResult(
        outcome=InboundSmsOutcome.ACTIVATED, code="activated", reply=reply, account_id=account.pk
    )
