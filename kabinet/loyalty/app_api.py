"""The mobile-app API, base `/api/app/v1/` (SPEC §4, L-ACT-2, L-AUTH, L-CAB). Thin: parse →
service or cabinet read → shape.

`me/*`, `offers` and `auth/logout*` need `Authorization: Bearer <member token>`; a missing,
unknown, expired or revoked token is 401 `unauthorized`. A token comes from
`auth/register/confirm`, `auth/login` or `auth/login/confirm`; it lives 90 days after its
last use and ends on logout, on "sign out everywhere" and on a password change or reset.
Everything a token reaches is its own member's: another member's receipt id is 404, as if
it did not exist.

Decisions the contract leaves open:

* Headers: `X-Device-Id` — a stable id of the app's installation. A sign-in from a device
  the member has not confirmed by SMS before (or every sign-in, if the member asked for
  that: `PATCH me {"always_confirm_login": true}`) answers 202 with a `challenge_id`; a
  confirmed sign-in remembers the device. Without the header every sign-in is confirmed by
  SMS. `X-Device-Name` (optional) is kept with the token and the known device.
* Registration in a city whose region the program does not serve is refused before any
  code is sent: 422 `program_not_available` on `city_id` (L-ACT-2). A card already active,
  blocked, unknown or mistyped gets its own code (`card_already_active`, `card_blocked`,
  `card_not_found`, `invalid_card_number`); other refused fields come together in
  `error.fields` (field → message), the first of them in `error.field`.
* `auth/register` tells that a phone is taken (without whose) or a card number unknown, as
  the web wizard does; 20 attempts an hour per client address (429 `registration_limited`).
* `auth/password-reset` answers 202 with a challenge whether or not the phone is a
  member's and the birth date theirs (no enumeration); only a member's phone gets the SMS.
  Wrong passwords and wrong codes are limited per phone and per client address: 429 with
  `Retry-After`.
* `rate` of a level is per cent of the paid amount ("0.50" = 0,5 %); `spend_needed` is
  roubles still to spend this calendar month for the next level (the level follows last
  month's spending, L-EARN-8).
* `me/receipts` dates are the store's local dates, both ends included; receipts' times are
  the store's local time with its offset.
* `GET me/card` is the active card; with none (blocked, not yet replaced) 404
  `card_not_found`. `qr_expires_at` is when the app should show a fresh code.
* `cities` and `stores` need no token. `stores` takes `lat`+`lon` (nearest first, with
  `distance` in km) or `city_id` (that city's stores; `distance` too if `lat`+`lon` given).
* `POST me/card/replace` makes a new plastic card (`card`, 16 digits) active in place of
  the member's blocked card not yet replaced, as the web cabinet does: the points stay.
  `invalid_card_number`, `card_not_found` (422 on `card`), `card_already_active`,
  `card_blocked`, `card_not_active` (409: the new card is not a fresh one); 409
  `card_not_blocked` while a card is active (block it first), 404 `nothing_to_replace`
  when no blocked card waits for a replacement.
* `POST me/close` (L-CAB-10) closes the account: a wrong password is 422 `wrong_password`;
  then every card is blocked, the points written off, personal data anonymised and every
  token ends. `GET me/export` is the same JSON as the web cabinet's download.
* Additions beyond §4: `me/chart`, `me/export`, `me/close`, `me/cards`,
  `me/card/replace`, `auth/code/resend`, `auth/login/code` (sign-in by an SMS code,
  L-AUTH-5), `auth/logout/all`, `me/phone` + `me/phone/confirm` (phone change confirmed by
  a code sent to the new phone, L-CAB-5).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query
from ninja.responses import Status

from kabinet.accounts import codes
from kabinet.accounts.models import Challenge
from kabinet.core import ratelimit
from kabinet.core.api import BearerAuth, build_api, error_body
from kabinet.core.errors import Conflict, NotFound, RateLimited, RuleViolation, ValidationFailed
from kabinet.core.http import client_ip
from kabinet.core.money import format_amount
from kabinet.core.ratelimit import Limit
from kabinet.geo.models import City
from kabinet.geo.selectors import cities_matching
from kabinet.loyalty import cabinet, cardnumbers
from kabinet.loyalty.app_schemas import (
    AppErrorOut,
    BalanceOut,
    BlockIn,
    CardListOut,
    CardOut,
    ChallengeIn,
    ChallengeOut,
    ChannelsIO,
    ChartMonthOut,
    CityOut,
    CloseIn,
    LoginCodeIn,
    LoginIn,
    MeOut,
    MePatchIn,
    OffersOut,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PhoneChangeIn,
    PushTokenIn,
    ReceiptDetailOut,
    ReceiptOut,
    RegisteredOut,
    RegisterIn,
    ReplaceIn,
    ResendIn,
    StoreOut,
    TokenOut,
)
from kabinet.loyalty.models import (
    Account,
    ActivationChannel,
    AppToken,
    Card,
    CardState,
    MemberProfile,
    OfferKind,
    Purchase,
    Store,
)
from kabinet.loyalty.services import app_tokens, auth, profile, registration
from kabinet.loyalty.services import cards as card_services

DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""
DEVICE_ID_HEADER = "X-Device-Id"
DEVICE_NAME_HEADER = "X-Device-Name"
MAX_RECEIPTS = 500
MAX_STORES = 50

# Registration answers whether a card number exists and whether a phone is taken (the shared
# registration service says so, as the web wizard does); before any SMS is sent nothing else
# limits those questions, so one address gets this many registration attempts an hour.
REGISTRATIONS_PER_IP = Limit("app-register:ip", max_hits=20, window_seconds=60 * 60)


class MemberAuth(BearerAuth):
    """A member's app token: unknown, expired or revoked → 401 `unauthorized`."""

    def authenticate(self, request: HttpRequest, token: str) -> AppToken | None:
        return app_tokens.authenticate(token)


api = build_api(
    title="Kabinet mobile app API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="app-v1",
    auth=MemberAuth(),
)

_ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 404, 409, 410, 422, 429), AppErrorOut)
_PUBLIC_ERRORS: dict[int, Any] = dict.fromkeys((400, 404, 409, 410, 422, 429), AppErrorOut)


# --- helpers ----------------------------------------------------------------------------------


def _token(request: HttpRequest) -> AppToken:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, AppToken)
    return token


def _account(request: HttpRequest) -> Account:
    return _token(request).user.loyalty_account


def _today() -> date:
    return timezone.localdate()


def _device(request: HttpRequest) -> tuple[str | None, str]:
    device_id = app_tokens.clean_device_id(request.headers.get(DEVICE_ID_HEADER))
    name = (request.headers.get(DEVICE_NAME_HEADER) or "")[:100]
    return device_id, name


def _challenge(challenge: Challenge) -> dict[str, Any]:
    return {
        "challenge_id": str(challenge.pk),
        "resend_after": challenge.sent_at + codes.RESEND_COOLDOWN,
    }


def _issue(request: HttpRequest, user: Any) -> dict[str, Any]:
    _device_id, name = _device(request)
    issued = app_tokens.issue_token(user=user, device_name=name)
    return {"token": issued.raw, "expires_at": issued.record.expires_at}


def _percent(basis_points: int) -> str:
    return str((Decimal(basis_points) / 100).quantize(Decimal("0.01")))


def _city(city: City | None) -> dict[str, Any] | None:
    if city is None:
        return None
    return {
        "id": city.pk,
        "name": city.name,
        "region": city.region.name,
        "region_code": city.region.code,
        "program_active": city.region.loyalty_active,
    }


# --- auth: registration (L-ACT-2) -------------------------------------------------------------

#: The service's field names → the contract's.
_REGISTRATION_FIELDS = {
    "card_number": "card",
    "city": "city_id",
    "consent_personal_data": "consents.personal_data",
    "consent_rules": "consents.rules",
}


def _api_field(name: str | None) -> str | None:
    return _REGISTRATION_FIELDS.get(name or "", name)


def _registration_city(city_id: int) -> City:
    city = City.objects.select_related("region").filter(pk=city_id).first()
    if city is None:
        raise ValidationFailed("Город не найден", code="city_not_found", field="city_id")
    if not city.region.loyalty_active:
        # L-ACT-2: «меню активации карты станет недоступным» — refused before any code is sent.
        raise ValidationFailed(
            f"В регионе «{city.region.name}» программа лояльности не действует: "
            "активация карты недоступна",
            code="program_not_available",
            field="city_id",
        )
    return city


@api.post(
    "auth/register",
    auth=None,
    response={202: ChallengeOut, **_PUBLIC_ERRORS},
    summary="Регистрация (активация карты)",
)
def register(request: HttpRequest, payload: RegisterIn) -> Any:
    """Check the registration and send a 4-digit code by SMS; confirm at `auth/register/confirm`.

    `card` null issues a virtual card instead of plastic (L-CARD-4).
    """
    allowed, retry_after = ratelimit.hit(REGISTRATIONS_PER_IP, client_ip(request))
    if not allowed:
        raise RateLimited(
            "Слишком много попыток регистрации с вашего адреса. Повторите позже",
            retry_after=retry_after,
            code="registration_limited",
        )
    city = _registration_city(payload.city_id)
    if payload.card is not None:
        try:
            registration.check_card(payload.card)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, code=exc.code, field="card") from None
    consents = {kind for kind in ("personal_data", "rules") if getattr(payload.consents, kind)}
    try:
        challenge = registration.start_registration(
            card_number=payload.card,
            first_name=payload.first_name,
            birth_date=payload.birth_date,
            phone=payload.phone,
            email=payload.email,
            password=payload.password,
            city=city,
            consents=consents,
            marketing=registration.Marketing(**payload.marketing.model_dump()),
            channel=ActivationChannel.APP,
            client_ip=client_ip(request),
        )
    except registration.RegistrationInvalid as exc:
        fields = {_api_field(name) or name: message for name, message in exc.errors.items()}
        body = error_body(exc.code, exc.message, _api_field(exc.field))
        body["error"]["fields"] = fields
        return Status(422, body)
    return Status(202, _challenge(challenge))


@api.post(
    "auth/register/confirm",
    auth=None,
    response={201: RegisteredOut, **_PUBLIC_ERRORS},
    summary="Подтвердить регистрацию кодом из SMS",
)
def register_confirm(request: HttpRequest, payload: ChallengeIn) -> Any:
    """The member is created with an active card and signed in; the device becomes known."""
    account = registration.confirm_registration(
        challenge_id=payload.challenge_id, code=payload.code, client_ip=client_ip(request)
    )
    user = account.user
    device_id, name = _device(request)
    app_tokens.remember_device(user=user, device_id=device_id, name=name)
    card = Card.objects.get(account=account, state=CardState.ACTIVE)
    return Status(201, {**_issue(request, user), "card": card.number, "virtual": card.virtual})


@api.post(
    "auth/code/resend",
    auth=None,
    response={202: ChallengeOut, **_PUBLIC_ERRORS},
    summary="Отправить код ещё раз",
)
def resend_code(request: HttpRequest, payload: ResendIn) -> Any:
    """A new code for the same challenge after the cool-down; the previous code stops working."""
    return Status(202, _challenge(codes.resend(payload.challenge_id, client_ip(request))))


# --- auth: signing in (L-AUTH) ----------------------------------------------------------------


@api.post(
    "auth/login",
    auth=None,
    response={200: TokenOut, 202: ChallengeOut, **_PUBLIC_ERRORS},
    summary="Вход по телефону и паролю",
)
def login(request: HttpRequest, payload: LoginIn) -> Any:
    """200 with a token, or 202 with a challenge when the sign-in must be confirmed by SMS."""
    device_id, _name = _device(request)
    result = auth.sign_in(
        phone=payload.phone,
        password=payload.password,
        client_ip=client_ip(request),
        device_token=app_tokens.device_mark(phone=payload.phone, device_id=device_id),
    )
    if result.challenge is not None:
        return Status(202, _challenge(result.challenge))
    return Status(200, _issue(request, result.user))


@api.post(
    "auth/login/code",
    auth=None,
    response={202: ChallengeOut, **_PUBLIC_ERRORS},
    summary="Вход по секретному коду из SMS",
)
def login_code(request: HttpRequest, payload: LoginCodeIn) -> Any:
    """L-AUTH-5: a one-time code instead of a password; confirm at `auth/login/confirm`.
    Answers alike for any phone (no enumeration)."""
    challenge = auth.request_login_code(phone=payload.phone, client_ip=client_ip(request))
    return Status(202, _challenge(challenge))


@api.post(
    "auth/login/confirm",
    auth=None,
    response={200: TokenOut, **_PUBLIC_ERRORS},
    summary="Подтвердить вход кодом из SMS",
)
def login_confirm(request: HttpRequest, payload: ChallengeIn) -> dict[str, Any]:
    """The token; the device (`X-Device-Id`) is known from now on."""
    user = auth.confirm_sign_in(
        challenge_id=payload.challenge_id, code=payload.code, client_ip=client_ip(request)
    )
    device_id, name = _device(request)
    app_tokens.remember_device(user=user, device_id=device_id, name=name)
    return _issue(request, user)


@api.post(
    "auth/password-reset",
    auth=None,
    response={202: ChallengeOut, **_PUBLIC_ERRORS},
    summary="Восстановить пароль",
)
def password_reset(request: HttpRequest, payload: PasswordResetIn) -> Any:
    """Always 202 with a challenge; the SMS goes only to a member whose birth date matches."""
    challenge = auth.request_password_reset(
        phone=payload.phone, birth_date=payload.birth_date, client_ip=client_ip(request)
    )
    return Status(202, _challenge(challenge))


@api.post(
    "auth/password-reset/confirm",
    auth=None,
    response={204: None, **_PUBLIC_ERRORS},
    summary="Новый пароль по коду из SMS",
)
def password_reset_confirm(request: HttpRequest, payload: PasswordResetConfirmIn) -> Any:
    """Set the new password; every token and session made with the old one ends."""
    auth.confirm_password_reset(
        challenge_id=payload.challenge_id,
        code=payload.code,
        new_password=payload.new_password,
        client_ip=client_ip(request),
    )
    return Status(204, None)


@api.post("auth/logout", response={204: None, **_ERRORS}, summary="Выйти")
def logout(request: HttpRequest) -> Any:
    """This token stops working."""
    app_tokens.revoke(token=_token(request))
    return Status(204, None)


@api.post("auth/logout/all", response={204: None, **_ERRORS}, summary="Выйти на всех устройствах")
def logout_everywhere(request: HttpRequest) -> Any:
    """Every token and web session of the member ends; every device must confirm again."""
    user = _token(request).user
    auth.sign_out_everywhere(user=user, client_ip=client_ip(request))
    app_tokens.revoke_all(user=user)
    return Status(204, None)


# --- profile (L-CAB-5, L-CAB-6) -------------------------------------------------------------


def _me(account: Account) -> dict[str, Any]:
    account = Account.objects.select_related("user", "city__region", "level").get(pk=account.pk)
    member_profile = MemberProfile.objects.filter(account=account).first()
    return {
        "first_name": account.first_name,
        "birth_date": account.birth_date,
        "phone": account.user.phone,
        "email": account.user.email,
        "city": _city(account.city),
        "level": account.level.name if account.level else None,
        "always_confirm_login": bool(member_profile and member_profile.always_confirm_login),
        "activated_at": account.activated_at,
    }


@api.get("me", response={200: MeOut, **_ERRORS}, summary="Профиль")
def me(request: HttpRequest) -> dict[str, Any]:
    return _me(_account(request))


@api.patch("me", response={200: MeOut, **_ERRORS}, summary="Изменить профиль")
def me_patch(request: HttpRequest, payload: MePatchIn) -> dict[str, Any]:
    """Name (Russian letters) and e-mail; fields left out stay. The birth date changes only
    through support (L-CAB-5); the phone through `me/phone`."""
    account = _account(request)
    if payload.first_name is not None or payload.email is not None:
        profile.update_profile(
            account=account,
            first_name=payload.first_name if payload.first_name is not None else account.first_name,
            email=payload.email if payload.email is not None else account.user.email,
        )
    if payload.always_confirm_login is not None:
        auth.set_login_confirmation(account=account, always=payload.always_confirm_login)
    return _me(account)


@api.post("me/phone", response={202: ChallengeOut, **_ERRORS}, summary="Сменить телефон")
def phone_change(request: HttpRequest, payload: PhoneChangeIn) -> Any:
    """A code goes to the NEW phone; the change happens at `me/phone/confirm`."""
    challenge = profile.start_phone_change(
        account=_account(request), phone=payload.phone, client_ip=client_ip(request)
    )
    return Status(202, _challenge(challenge))


@api.post("me/phone/confirm", response={200: MeOut, **_ERRORS}, summary="Подтвердить новый телефон")
def phone_change_confirm(request: HttpRequest, payload: ChallengeIn) -> dict[str, Any]:
    account = profile.confirm_phone_change(
        account=_account(request),
        challenge_id=payload.challenge_id,
        code=payload.code,
        client_ip=client_ip(request),
    )
    return _me(account)


def _channels(account: Account) -> dict[str, bool]:
    found = MemberProfile.objects.filter(account=account).first()
    return {
        "email": bool(found and found.marketing_email),
        "sms": bool(found and found.marketing_sms),
        "voice": bool(found and found.marketing_voice),
        "push": bool(found and found.marketing_push),
    }


@api.get("me/notifications", response={200: ChannelsIO, **_ERRORS}, summary="Каналы рассылок")
def notifications(request: HttpRequest) -> dict[str, bool]:
    """Where advertising may go; security messages (codes, password changes) always go."""
    return _channels(_account(request))


@api.put(
    "me/notifications", response={200: ChannelsIO, **_ERRORS}, summary="Изменить каналы рассылок"
)
def notifications_put(request: HttpRequest, payload: ChannelsIO) -> dict[str, bool]:
    account = _account(request)
    profile.set_channels(account=account, channels=profile.Channels(**payload.model_dump()))
    return _channels(account)


@api.post("me/push-tokens", response={204: None, **_ERRORS}, summary="Зарегистрировать push-токен")
def push_token(request: HttpRequest, payload: PushTokenIn) -> Any:
    """Idempotent: the same token again changes nothing (a token used by another member's
    sign-in on this device moves to this member)."""
    app_tokens.register_push_token(
        account=_account(request), platform=payload.platform, token=payload.token
    )
    return Status(204, None)


# --- balance, receipts (L-CAB-1…4) ----------------------------------------------------------


@api.get("me/balance", response={200: BalanceOut, **_ERRORS}, summary="Баланс")
def balance(request: HttpRequest) -> dict[str, Any]:
    summary = cabinet.cabinet_summary(_account(request), _today())
    progress = summary.level
    level = None
    if progress.current is not None:
        level = {
            "name": progress.current.name,
            "rate": _percent(progress.current.rate_bp),
            "next": {"name": progress.next.name, "spend_needed": format_amount(progress.needed)}
            if progress.next is not None
            else None,
        }
    return {
        "balance": format_amount(summary.balance),
        "available": format_amount(summary.available),
        "held": format_amount(summary.held),
        "month": {
            "spent": format_amount(summary.month_spend),
            "counted_lines": summary.month_counted_lines,
            "receipts": summary.month_receipts,
        },
        "level": level,
    }


def _receipt(purchase: Purchase) -> dict[str, Any]:
    return {
        "id": purchase.pk,
        "store": purchase.store.name,
        "store_code": purchase.store.code,
        "datetime": cabinet.local_time(purchase),
        "total": format_amount(purchase.total_kopecks),
        "earned": format_amount(purchase.earned),
        "redeemed": format_amount(purchase.redeemed),
    }


@api.get("me/receipts", response={200: list[ReceiptOut], **_ERRORS}, summary="Чеки")
def receipts(
    request: HttpRequest,
    date_from: date | None = Query(None, alias="from"),  # noqa: B008 - ninja's declaration
    date_to: date | None = Query(None, alias="to"),  # noqa: B008
    limit: int = Query(100, ge=1, le=MAX_RECEIPTS),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """Newest first; `from` and `to` are the store's local dates, both included."""
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("Начало периода позже его конца", field="from")
    found: QuerySet[Purchase] = cabinet.receipts_of(_account(request), date_from, date_to)
    return [_receipt(p) for p in found.defer("lines")[offset : offset + limit]]


@api.get("me/receipts/{receipt_id}", response={200: ReceiptDetailOut, **_ERRORS}, summary="Чек")
def receipt(request: HttpRequest, receipt_id: int) -> dict[str, Any]:
    """Lines, how the points were earned, and returns. Another member's receipt is 404."""
    detail = cabinet.receipt_detail(_account(request), receipt_id)
    return {
        **_receipt(detail.purchase),
        "datetime": detail.local_time,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "price": format_amount(line.price),
                "amount": format_amount(line.amount),
                "earned": format_amount(line.earned),
                "redeemed": format_amount(line.redeemed),
                "returned": format_amount(line.returned),
            }
            for line in detail.lines
        ],
        "breakdown": [
            {
                "rule": part.rule,
                "title": str(part.title),
                "points": format_amount(part.points),
                "explanation": part.explanation,
            }
            for part in detail.parts
        ],
        "returned": format_amount(detail.returned_kopecks),
        "points_taken_back": format_amount(detail.taken_back),
        "points_given_back": format_amount(detail.given_back),
    }


# --- card (L-CAB-8) ---------------------------------------------------------------------------


def _card(card: Card) -> dict[str, Any]:
    body: dict[str, Any] = {
        "card": card.number,
        "status": card.state,
        "virtual": card.virtual,
        "qr_payload": None,
        "qr_expires_at": None,
        "barcode": None,
    }
    if card.state == CardState.ACTIVE:
        now = timezone.now()
        step_end = (cardnumbers.totp_counter(now) + 1) * cardnumbers.TOTP_STEP_SECONDS
        secret = bytes(card.totp_secret)
        body["qr_payload"] = card_services.qr_payload(card=card, at=now)
        body["qr_expires_at"] = datetime.fromtimestamp(step_end, tz=now.tzinfo)
        body["barcode"] = cardnumbers.build_barcode_payload(card.number, secret, at=now)
    return body


def _active_card(account: Account) -> Card:
    card = Card.objects.filter(account=account, state=CardState.ACTIVE).first()
    if card is None:
        raise NotFound(
            "Активной карты нет: выпустите виртуальную карту или замените заблокированную",
            code="card_not_found",
        )
    return card


@api.get("me/card", response={200: CardOut, **_ERRORS}, summary="Моя карта")
def my_card(request: HttpRequest) -> dict[str, Any]:
    """The active card with its QR code of the moment (L-CARD-4): ask again after
    `qr_expires_at`."""
    return _card(_active_card(_account(request)))


@api.post("me/card/virtual", response={201: CardOut, **_ERRORS}, summary="Выпустить виртуальную")
def card_virtual(request: HttpRequest) -> Any:
    """A new virtual card; the active card, if any, is blocked and replaced by it. The points
    stay (they are the account's)."""
    token = _token(request)
    card = card_services.issue_virtual_card(account=token.user.loyalty_account, actor=token.user)
    return Status(201, _card(card))


@api.post("me/card/block", response={200: CardOut, **_ERRORS}, summary="Заблокировать карту")
def card_block(request: HttpRequest, payload: BlockIn | None = None) -> dict[str, Any]:
    """Block the active card (lost, stolen); the points stay on the account. The body may be
    left out (reason «утеряна»)."""
    token = _token(request)
    card = _active_card(token.user.loyalty_account)
    reason = (payload or BlockIn()).reason
    return _card(card_services.block_card(card=card, reason=reason, actor=token.user))


def _listed_card(card: Card) -> dict[str, Any]:
    return {
        **_card(card),
        "id": card.pk,
        "activated_at": card.activated_at,
        "blocked_at": card.blocked_at,
        "block_reason": card.block_reason or "",
        "replaced_by": card.replaced_by.number if card.replaced_by_id else None,  # type: ignore[union-attr]
    }


@api.get("me/cards", response={200: list[CardListOut], **_ERRORS}, summary="Все мои карты")
def my_cards(request: HttpRequest) -> list[dict[str, Any]]:
    """Every card of the member, the active one first, then newest; blocked and replaced
    cards too (with what replaced them)."""
    return [_listed_card(card) for card in cabinet.cards_of(_account(request))]


def _new_plastic(raw: str) -> Card:
    """The issued card the member typed, or the precise reason it cannot replace a card."""
    try:
        number = cardnumbers.parse_barcode(raw)
    except cardnumbers.CardNumberError as exc:
        raise ValidationFailed(exc.text, code="invalid_card_number", field="card") from None
    card = Card.objects.filter(number=number).first()
    if card is None:
        raise ValidationFailed(
            "Карта с таким номером не найдена. Проверьте номер", code="card_not_found", field="card"
        )
    if card.state == CardState.ACTIVE:
        raise Conflict("Карта уже активирована", code="card_already_active")
    if card.state == CardState.BLOCKED:
        raise RuleViolation("Карта заблокирована", code="card_blocked")
    return card


@api.post("me/card/replace", response={200: CardOut, **_ERRORS}, summary="Заменить карту новой")
def card_replace(request: HttpRequest, payload: ReplaceIn) -> dict[str, Any]:
    """A new plastic card in place of the blocked one (L-CARD-2); the points stay."""
    token = _token(request)
    account = token.user.loyalty_account
    new = _new_plastic(payload.card)
    if Card.objects.filter(account=account, state=CardState.ACTIVE).exists():
        raise Conflict(
            "Сначала заблокируйте карту, которую хотите заменить", code="card_not_blocked"
        )
    old = (
        Card.objects.filter(account=account, state=CardState.BLOCKED, replaced_by__isnull=True)
        .order_by("-blocked_at", "-pk")
        .first()
    )
    if old is None:
        raise NotFound("Нет заблокированной карты для замены", code="nothing_to_replace")
    return _card(card_services.replace_card(old=old, new=new, actor=token.user))


# --- chart, personal data (L-CAB-10, L-CAB-11) ------------------------------------------------


@api.get("me/chart", response={200: list[ChartMonthOut], **_ERRORS}, summary="График по месяцам")
def chart(request: HttpRequest) -> list[dict[str, Any]]:
    """The last 12 months, oldest first, the current month last: roubles spent (less
    returns), points earned and points spent."""
    return [
        {
            "month": f"{point.month:%Y-%m}",
            "spent": format_amount(point.spend),
            "earned": format_amount(point.earned),
            "redeemed": format_amount(point.redeemed),
        }
        for point in cabinet.monthly_chart(_account(request), _today())
    ]


@api.get("me/export", response={200: dict[str, Any], **_ERRORS}, summary="Выгрузить мои данные")
def export(request: HttpRequest) -> dict[str, Any]:
    """Everything held about the member: the same JSON as the web cabinet's download."""
    return cabinet.export_member_data(_account(request))


@api.post("me/close", response={204: None, **_ERRORS}, summary="Закрыть счёт")
def close(request: HttpRequest, payload: CloseIn) -> Any:
    """Close the account for good (the password confirms it): cards blocked, points written
    off, personal data anonymised; this and every other token stops working."""
    profile.close_account(
        account=_account(request), password=payload.password, client_ip=client_ip(request)
    )
    app_tokens.revoke_all(user=_token(request).user)
    return Status(204, None)


# --- offers (L-CAB-7) -------------------------------------------------------------------------


@api.get("offers", response={200: OffersOut, **_ERRORS}, summary="Акции и предложения")
def offers(request: HttpRequest) -> dict[str, Any]:
    """Promo and premium goods of the member's region, and the member's personal offers."""
    found = cabinet.offers_for(_account(request), _today())
    return {
        "promo": [
            {
                "sku": g.sku,
                "name": g.name,
                "description": g.description,
                "valid_from": g.valid_from,
                "valid_to": g.valid_to,
            }
            for g in found.promo
        ],
        "premium": [
            {"sku": g.sku, "name": g.name, "valid_from": g.valid_from, "valid_to": g.valid_to}
            for g in found.premium
        ],
        "personal": [
            {
                "id": o.pk,
                "title": o.title,
                "kind": o.kind,
                "bonus_percent": _percent(o.bonus_bp) if o.kind == OfferKind.PERCENT else None,
                "points": format_amount(o.fixed_points) if o.kind == OfferKind.FIXED else None,
                "valid_from": o.valid_from,
                "valid_to": o.valid_to,
            }
            for o in found.personal
        ],
    }


# --- cities and stores: no token (L-ACT-2, L-CAB-9) -------------------------------------------


@api.get("cities", auth=None, response={200: list[CityOut], **_PUBLIC_ERRORS}, summary="Города")
def cities(request: HttpRequest, q: str = Query("", max_length=100)) -> list[dict[str, Any]]:
    """Cities by the first letters of any word of the name, bigger first; `program_active`
    says whether a card can be activated there (L-ACT-2)."""
    return [_city(city) for city in cities_matching(q)]  # type: ignore[misc]


def _store(store: Store, distance_km: float | None) -> dict[str, Any]:
    return {
        "id": store.pk,
        "code": store.code,
        "name": store.name,
        "address": store.address,
        "city": store.city.name if store.city else None,
        "region": store.region.name,
        "lat": str(store.lat) if store.lat is not None else None,
        "lon": str(store.lon) if store.lon is not None else None,
        "takes_part": store.takes_part,
        "distance": str(Decimal(repr(distance_km)).quantize(Decimal("0.01"), ROUND_HALF_UP))
        if distance_km is not None
        else None,
    }


@api.get("stores", auth=None, response={200: list[StoreOut], **_PUBLIC_ERRORS}, summary="Магазины")
def stores(
    request: HttpRequest,
    lat: Decimal | None = Query(None, ge=-90, le=90),  # noqa: B008
    lon: Decimal | None = Query(None, ge=-180, le=180),  # noqa: B008
    city_id: int | None = Query(None),
    limit: int = Query(10, ge=1, le=MAX_STORES),
) -> list[dict[str, Any]]:
    """`lat`+`lon`: the nearest stores, nearest first; `city_id`: that city's stores."""
    if (lat is None) != (lon is None):
        raise ValidationFailed("Укажите и широту, и долготу", field="lat" if lat is None else "lon")
    point = (lat, lon) if lat is not None and lon is not None else None
    if city_id is not None:
        city = City.objects.filter(pk=city_id).first()
        if city is None:
            raise NotFound("Город не найден", code="city_not_found")
        found = cabinet.stores_in_city(city)
        if point is None:
            return [_store(s, None) for s in found[:limit]]
        ranked = sorted(
            (
                (
                    s,
                    cabinet.distance_km(*point, s.lat, s.lon)
                    if s.lat is not None and s.lon is not None
                    else None,
                )
                for s in found
            ),
            key=lambda pair: (pair[1] is None, pair[1] or 0.0, pair[0].code),
        )
        return [_store(s, d) for s, d in ranked[:limit]]
    if point is None:
        raise ValidationFailed("Укажите lat и lon или city_id", field="lat")
    return [_store(n.store, n.distance_km) for n in cabinet.stores_near(*point, limit)]
