"""Member pages: the registration wizard (L-ACT-1), sign-in (L-AUTH), the first cabinet page.

Thin: parse the form, call a service, render or redirect. The wizard keeps what was typed
in the server-side session between its pages — the password only as its hash — and the
code pages keep the challenge id there, never in the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.hashers import make_password
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kabinet.accounts import codes
from kabinet.accounts.models import Challenge
from kabinet.core.errors import Conflict, DomainError, RateLimited
from kabinet.core.forms import add_domain_error
from kabinet.core.http import client_ip
from kabinet.core.phones import mask_phone
from kabinet.geo.models import City
from kabinet.loyalty.services import auth, registration
from kabinet.loyalty.web import forms

DEVICE_COOKIE = "kabinet_device"
DEVICE_COOKIE_SALT = "kabinet.loyalty.known-device"
DEVICE_COOKIE_AGE = int(timedelta(days=365).total_seconds())

WIZARD = "member_registration"
REGISTRATION_CHALLENGE = "member_registration_challenge"
LOGIN_CHALLENGE = "member_login_challenge"
LOGIN_NEXT = "member_login_next"
RESET_CHALLENGE = "member_reset_challenge"


# --- helpers ------------------------------------------------------------------------------------


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Member pages: a signed-in user with a loyalty account, else the member sign-in page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or not hasattr(user, "loyalty_account"):
            return redirect_to_login(request.get_full_path(), reverse("loyalty:login"))
        return view(request, *args, **kwargs)

    return wrapper


def _status(error: DomainError) -> int:
    return 429 if isinstance(error, RateLimited) else 200


def _device_token(request: HttpRequest) -> str | None:
    return request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_COOKIE_SALT)


def _sign_in(request: HttpRequest, user: Any, response: HttpResponse, *, confirmed: bool) -> None:
    """Start the member's session; a device that just confirmed by SMS becomes known."""
    login(request, user, backend="kabinet.accounts.backends.UserBackend")
    if confirmed:
        token = auth.remember_device(
            user=user,
            token=_device_token(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        response.set_signed_cookie(
            DEVICE_COOKIE,
            token,
            salt=DEVICE_COOKIE_SALT,
            max_age=DEVICE_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("loyalty:cabinet")


def _pending(request: HttpRequest, key: str) -> Challenge | None:
    challenge_id = request.session.get(key)
    if not challenge_id:
        return None
    return Challenge.objects.filter(pk=challenge_id, used_at__isnull=True).first()


def _resend_seconds(challenge: Challenge) -> int:
    ready_at = challenge.sent_at + codes.RESEND_COOLDOWN
    return max(0, int((ready_at - timezone.now()).total_seconds()) + 1)


def _code_page(
    request: HttpRequest,
    *,
    challenge: Challenge,
    form: forms.CodeForm | forms.PasswordResetConfirmForm,
    title: str,
    lead: str,
    resend_url: str,
    back_url: str,
    button: str,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "loyalty/code.html",
        {
            "form": form,
            "title": title,
            "lead": lead % {"phone": mask_phone(challenge.phone)},
            "resend_url": resend_url,
            "resend_in": _resend_seconds(challenge),
            "back_url": back_url,
            "button": button,
        },
        status=status,
    )


def _resend(request: HttpRequest, key: str) -> None:
    challenge = _pending(request, key)
    if challenge is None:
        messages.error(request, _("Код устарел. Начните заново"))
        return
    try:
        codes.resend(challenge.pk, client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Мы отправили новый код"))


# --- registration wizard (L-ACT-1) ----------------------------------------------------------------

STEPS: list[tuple[str, Any]] = [
    ("card", gettext_lazy("Номер карты")),
    ("about", gettext_lazy("Имя и дата рождения")),
    ("password", gettext_lazy("E-mail и пароль")),
    ("phone", gettext_lazy("Телефон")),
    ("notifications", gettext_lazy("Рекламная информация")),
    ("consents", gettext_lazy("Согласия")),
]
_STEP_NAMES = [name for name, _title in STEPS]
# What each step leaves in the session: the wizard sends a person back to the first step
# whose data is missing.
_STEP_KEYS = {
    "card": "card_number",
    "about": "first_name",
    "password": "password_hash",
    "phone": "phone",
    "notifications": "marketing",
}


def _wizard(request: HttpRequest) -> dict[str, Any]:
    return request.session.get(WIZARD, {})


def _save_wizard(request: HttpRequest, **values: Any) -> None:
    request.session[WIZARD] = {**_wizard(request), **values}


def _first_missing(data: dict[str, Any]) -> str | None:
    for name in _STEP_NAMES:
        key = _STEP_KEYS.get(name)
        if key is not None and key not in data:
            return name
    return None


def _step_form(step: str, request: HttpRequest, data: dict[str, Any]) -> forms.forms.Form:
    bound = request.POST if request.method == "POST" else None
    if step == "card":
        initial = {"card_number": data.get("card_number") or ""}
        return forms.CardForm(bound, initial=initial, virtual="virtual" in request.POST)
    if step == "about":
        initial = {
            "first_name": data.get("first_name", ""),
            "birth_date": data.get("birth_date"),
            "city": data.get("city_id"),
        }
        return forms.PersonalForm(bound, initial=initial)
    if step == "password":
        return forms.CredentialsForm(
            bound, initial={"email": data.get("email", "")}, first_name=data.get("first_name", "")
        )
    if step == "phone":
        return forms.PhoneForm(bound, initial={"phone": data.get("phone", "")})
    if step == "notifications":
        return forms.MarketingForm(bound, initial=data.get("marketing", {}))
    return forms.ConsentsForm(bound)


def _store_step(request: HttpRequest, step: str, cleaned: dict[str, Any]) -> None:
    if step == "card":
        _save_wizard(request, card_number=cleaned["card_number"])
    elif step == "about":
        city = cleaned.get("city")
        _save_wizard(
            request,
            first_name=cleaned["first_name"],
            birth_date=cleaned["birth_date"].isoformat(),
            city_id=city.pk if city is not None else None,
        )
    elif step == "password":
        _save_wizard(
            request, email=cleaned["email"], password_hash=make_password(cleaned["password"])
        )
    elif step == "phone":
        _save_wizard(request, phone=cleaned["phone"])
    elif step == "notifications":
        _save_wizard(
            request, marketing={k: bool(cleaned[k]) for k in ("email", "sms", "voice", "push")}
        )


def _start(request: HttpRequest, data: dict[str, Any], consents: set[str]) -> Challenge:
    city_id = data.get("city_id")
    city = City.objects.select_related("region").filter(pk=city_id).first() if city_id else None
    return registration.start_registration(
        card_number=data["card_number"],
        first_name=data["first_name"],
        birth_date=date.fromisoformat(data["birth_date"]),
        email=data["email"],
        password_hash=data["password_hash"],
        phone=data["phone"],
        city=city,
        consents=consents,
        marketing=registration.Marketing(**data["marketing"]),
        channel="web",
        client_ip=client_ip(request),
        language=get_language() or "ru",
    )


@require_GET
def registration_start(request: HttpRequest) -> HttpResponse:
    return redirect("loyalty:registration-step", step="card")


@require_http_methods(["GET", "POST"])
def registration_step(request: HttpRequest, step: str) -> HttpResponse:
    """One page of the wizard: card → name and birth date → e-mail and password → phone →
    marketing channels → consents and «Зарегистрироваться»."""
    if step not in _STEP_NAMES:
        return redirect("loyalty:registration-step", step="card")
    data = _wizard(request)
    index = _STEP_NAMES.index(step)
    missing = _first_missing(data)
    if missing is not None and _STEP_NAMES.index(missing) < index:
        return redirect("loyalty:registration-step", step=missing)
    form = _step_form(step, request, data)
    status = 200
    if request.method == "POST" and form.is_valid():
        if step != "consents":
            _store_step(request, step, form.cleaned_data)
            return redirect("loyalty:registration-step", step=_STEP_NAMES[index + 1])
        consents = {kind for kind in ("personal_data", "rules") if form.cleaned_data[kind]}
        try:
            challenge = _start(request, data, consents)
        except registration.RegistrationInvalid as error:
            # Something changed since its page was filled in (the card was registered
            # meanwhile, the phone was taken): say what, on this page.
            for message in error.errors.values():
                form.add_error(None, message)
        except DomainError as error:
            form.add_error(None, error.message)
            status = _status(error)
        else:
            request.session[REGISTRATION_CHALLENGE] = str(challenge.pk)
            return redirect("loyalty:registration-confirm")
    previous = _STEP_NAMES[index - 1] if index else None
    return render(
        request,
        "loyalty/registration_step.html",
        {
            "form": form,
            "step": step,
            "steps": STEPS,
            "step_number": index + 1,
            "step_title": STEPS[index][1],
            "previous": previous,
            "last": step == "consents",
            "virtual": step == "card" and data.get("card_number", "") is None,
            "consent_versions": registration.CONSENT_VERSIONS,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def registration_confirm(request: HttpRequest) -> HttpResponse:
    """The 4-digit SMS code; a right one signs the new member in with the card active."""
    challenge = _pending(request, REGISTRATION_CHALLENGE)
    if challenge is None:
        return redirect("loyalty:registration-step", step="card")
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            account = registration.confirm_registration(
                challenge_id=challenge.pk,
                code=form.cleaned_data["code"],
                client_ip=client_ip(request),
            )
        except Conflict as error:
            request.session.pop(REGISTRATION_CHALLENGE, None)
            messages.error(request, error.message)
            return redirect("loyalty:registration-step", step="card")
        except DomainError as error:
            add_domain_error(form, error)
            status = _status(error)
        else:
            response = redirect("loyalty:cabinet")
            _sign_in(request, account.user, response, confirmed=True)
            for key in (WIZARD, REGISTRATION_CHALLENGE):
                request.session.pop(key, None)
            messages.success(request, _("Регистрация пройдена, карта активирована"))
            return response
    return _code_page(
        request,
        challenge=challenge,
        form=form,
        title=_("Подтверждение регистрации"),
        lead=_("Мы отправили SMS с кодом из 4 цифр на номер %(phone)s."),
        resend_url=reverse("loyalty:registration-resend"),
        back_url=reverse("loyalty:registration-step", kwargs={"step": "consents"}),
        button=_("Подтвердить"),
        status=status,
    )


@require_POST
def registration_resend(request: HttpRequest) -> HttpResponse:
    _resend(request, REGISTRATION_CHALLENGE)
    return redirect("loyalty:registration-confirm")


# --- sign-in (L-AUTH) ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Phone + password; an unknown device (or a member who asked for it) confirms by SMS."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = forms.LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            result = auth.sign_in(
                phone=form.cleaned_data["phone"],
                password=form.cleaned_data["password"],
                client_ip=client_ip(request),
                device_token=_device_token(request),
                language=get_language() or "ru",
            )
        except DomainError as error:
            add_domain_error(form, error)
            status = _status(error)
        else:
            if result.challenge is not None:
                request.session[LOGIN_CHALLENGE] = str(result.challenge.pk)
                request.session[LOGIN_NEXT] = next_url
                return redirect("loyalty:login-confirm")
            response = redirect(_safe_next(request, next_url))
            _sign_in(request, result.user, response, confirmed=False)
            return response
    return render(request, "loyalty/login.html", {"form": form, "next": next_url}, status=status)


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """L-AUTH-5: sign in with a one-time SMS code («Секретный код») instead of a password."""
    form = forms.PhoneOnlyForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            challenge = auth.request_login_code(
                phone=form.cleaned_data["phone"],
                client_ip=client_ip(request),
                language=get_language() or "ru",
            )
        except DomainError as error:
            add_domain_error(form, error)
            status = _status(error)
        else:
            request.session[LOGIN_CHALLENGE] = str(challenge.pk)
            request.session[LOGIN_NEXT] = request.POST.get("next", "")
            return redirect("loyalty:login-confirm")
    return render(request, "loyalty/login_code.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def login_confirm(request: HttpRequest) -> HttpResponse:
    challenge = _pending(request, LOGIN_CHALLENGE)
    if challenge is None:
        return redirect("loyalty:login")
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = auth.confirm_sign_in(
                challenge_id=challenge.pk,
                code=form.cleaned_data["code"],
                client_ip=client_ip(request),
            )
        except DomainError as error:
            add_domain_error(form, error)
            status = _status(error)
        else:
            next_url = request.session.pop(LOGIN_NEXT, "")
            response = redirect(_safe_next(request, next_url))
            _sign_in(request, user, response, confirmed=True)
            request.session.pop(LOGIN_CHALLENGE, None)
            return response
    return _code_page(
        request,
        challenge=challenge,
        form=form,
        title=_("Подтверждение входа"),
        lead=_("Мы отправили SMS с кодом из 4 цифр на номер %(phone)s."),
        resend_url=reverse("loyalty:login-resend"),
        back_url=reverse("loyalty:login"),
        button=_("Войти"),
        status=status,
    )


@require_POST
def login_resend(request: HttpRequest) -> HttpResponse:
    _resend(request, LOGIN_CHALLENGE)
    return redirect("loyalty:login-confirm")


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """L-AUTH-3: phone + birth date; the same answer whether or not they match a member."""
    form = forms.PasswordResetForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            challenge = auth.request_password_reset(
                phone=form.cleaned_data["phone"],
                birth_date=form.cleaned_data["birth_date"],
                client_ip=client_ip(request),
                language=get_language() or "ru",
            )
        except DomainError as error:
            add_domain_error(form, error)
            status = _status(error)
        else:
            request.session[RESET_CHALLENGE] = str(challenge.pk)
            return redirect("loyalty:password-reset-confirm")
    return render(request, "loyalty/password_reset.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest) -> HttpResponse:
    challenge = _pending(request, RESET_CHALLENGE)
    if challenge is None:
        return redirect("loyalty:password-reset")
    form = forms.PasswordResetConfirmForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            auth.confirm_password_reset(
                challenge_id=challenge.pk,
                code=form.cleaned_data["code"],
                new_password=form.cleaned_data["new_password"],
                client_ip=client_ip(request),
            )
        except DomainError as error:
            add_domain_error(form, error, {"password": "new_password"})
            status = _status(error)
        else:
            request.session.pop(RESET_CHALLENGE, None)
            messages.success(request, _("Пароль изменён. Войдите с новым паролем"))
            return redirect("loyalty:login")
    return _code_page(
        request,
        challenge=challenge,
        form=form,
        title=_("Новый пароль"),
        lead=_(
            "Если номер и дата рождения совпадают с данными участника, мы отправили SMS с "
            "кодом на номер %(phone)s."
        ),
        resend_url=reverse("loyalty:password-reset-resend"),
        back_url=reverse("loyalty:password-reset"),
        button=_("Сохранить пароль"),
        status=status,
    )


@require_POST
def password_reset_resend(request: HttpRequest) -> HttpResponse:
    _resend(request, RESET_CHALLENGE)
    return redirect("loyalty:password-reset-confirm")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("loyalty:login")


@require_POST
@member_required
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of the member, this one too, and forget confirmed devices."""
    auth.sign_out_everywhere(user=request.user, client_ip=client_ip(request))
    logout(request)
    messages.success(request, _("Вы вышли на всех устройствах"))
    return redirect("loyalty:login")


# --- cabinet settings (the pages themselves are in cabinet_views.py) ------------------------


@require_POST
@member_required
def login_confirmation(request: HttpRequest) -> HttpResponse:
    """L-AUTH-2: the member turns "confirm every sign-in by SMS" on or off."""
    always = request.POST.get("always") == "1"
    auth.set_login_confirmation(account=request.user.loyalty_account, always=always)
    messages.success(
        request,
        _("Теперь каждый вход подтверждается кодом из SMS")
        if always
        else _("Код из SMS нужен только при входе с нового устройства"),
    )
    return redirect("loyalty:cabinet")


@require_GET
def document(request: HttpRequest, kind: str) -> HttpResponse:
    """The consent texts, with the version a member accepts now."""
    version = registration.CONSENT_VERSIONS[kind]
    return render(request, f"loyalty/documents/{kind}.html", {"version": version})
