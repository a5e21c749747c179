"""The member cabinet's pages (L-CAB-1…11). Thin: read through `kabinet.loyalty.cabinet`,
write through the services, render. Every object is looked up within the signed-in member's
own account, so another member's id is a 404."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kabinet.core.errors import DomainError, NotFound
from kabinet.core.forms import add_domain_error
from kabinet.core.http import client_ip
from kabinet.core.money import format_rub
from kabinet.core.phones import format_phone_ru, mask_phone
from kabinet.loyalty import cabinet, cardnumbers
from kabinet.loyalty.models import Account, Card, CardState, MemberProfile
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services import profile as profile_services
from kabinet.loyalty.web import cabinet_forms as forms
from kabinet.loyalty.web.cabinet_render import (
    barcode_data_uri,
    chart_svg,
    month_label,
    qr_data_uri,
)
from kabinet.loyalty.web.views import member_required

PHONE_CHANGE = "member_phone_change_challenge"
RECEIPTS_PER_PAGE = 20

TABS = [
    ("home", gettext_lazy("Главная"), "loyalty:cabinet"),
    ("receipts", gettext_lazy("Чеки"), "loyalty:cabinet-receipts"),
    ("chart", gettext_lazy("График"), "loyalty:cabinet-chart"),
    ("card", gettext_lazy("Карта"), "loyalty:cabinet-card"),
    ("offers", gettext_lazy("Акции"), "loyalty:cabinet-offers"),
    ("stores", gettext_lazy("Магазины"), "loyalty:cabinet-stores"),
    ("profile", gettext_lazy("Профиль"), "loyalty:cabinet-profile"),
    ("channels", gettext_lazy("Уведомления"), "loyalty:cabinet-channels"),
    ("data", gettext_lazy("Мои данные"), "loyalty:cabinet-data"),
]


def _account(request: HttpRequest) -> Account:
    """The signed-in member's account: every page reads through this one account."""
    accounts = Account.objects.select_related("level", "user", "city__region")
    return accounts.get(user_id=int(request.user.pk or 0))


def _today() -> date:
    return timezone.localdate()


def _page(request: HttpRequest, template: str, tab: str, context: dict[str, Any], status=200):
    return render(
        request,
        f"loyalty/cabinet/{template}",
        {"tabs": TABS, "tab": tab, **context},
        status=status,
    )


# --- home (L-CAB-1, 2, 4) ----------------------------------------------------------------------


@require_GET
@member_required
def home(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    summary = cabinet.cabinet_summary(account, _today())
    profile = MemberProfile.objects.filter(account=account).first()
    level = summary.level
    return _page(
        request,
        "home.html",
        "home",
        {
            "account": account,
            "summary": summary,
            "balance": cabinet.format_points(summary.balance),
            "held": cabinet.format_points(summary.held) if summary.held else "",
            "month_spend": format_rub(summary.month_spend),
            "needed": format_rub(level.needed),
            "card_number": cardnumbers.format_card_number(summary.card.number)
            if summary.card
            else "",
            "always_confirm": bool(profile and profile.always_confirm_login),
            "recent": cabinet.receipts_of(account)[:5],
        },
    )


# --- receipts (L-CAB-3) ------------------------------------------------------------------------


@require_GET
@member_required
def receipts(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    form = forms.PeriodForm(request.GET or None, today=_today())
    date_from = date_to = None
    status = 200
    if request.GET:
        if form.is_valid():
            date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        else:
            status = 400
    found = cabinet.receipts_of(account, date_from, date_to)
    paginator = Paginator(found, RECEIPTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request,
        "receipts.html",
        "receipts",
        {
            "form": form,
            "page": page,
            "rows": [(p, cabinet.local_time(p)) for p in page.object_list],
            "query": query.urlencode(),
            "filtered": bool(date_from or date_to),
        },
        status=status,
    )


@require_GET
@member_required
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request)
    try:
        detail = cabinet.receipt_detail(account, pk)
    except NotFound:
        raise Http404(_("Чек не найден")) from None
    return _page(request, "receipt.html", "receipts", {"detail": detail, "p": detail.purchase})


# --- chart (L-CAB-11) --------------------------------------------------------------------------


@require_GET
@member_required
def chart(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    points = cabinet.monthly_chart(account, _today())
    return _page(
        request,
        "chart.html",
        "chart",
        {
            "svg": chart_svg(points),
            "rows": [
                (
                    month_label(p),
                    format_rub(p.spend),
                    cabinet.format_points(p.earned),
                    cabinet.format_points(p.redeemed),
                )
                for p in points
            ],
            "total_spend": format_rub(sum(p.spend for p in points)),
            "total_earned": cabinet.format_points(sum(p.earned for p in points)),
            "total_redeemed": cabinet.format_points(sum(p.redeemed for p in points)),
        },
    )


# --- profile (L-CAB-5) -------------------------------------------------------------------------


def _profile_page(request, account, *, form=None, phone_form=None, status=200):
    return _page(
        request,
        "profile.html",
        "profile",
        {
            "account": account,
            "form": form
            or forms.ProfileForm(
                initial={"first_name": account.first_name, "email": account.user.email}
            ),
            "phone_form": phone_form or forms.PhoneForm(),
            "phone": format_phone_ru(account.user.phone) if account.user.phone else "",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@member_required
def profile(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if request.method == "GET":
        return _profile_page(request, account)
    form = forms.ProfileForm(request.POST)
    if form.is_valid():
        try:
            profile_services.update_profile(
                account=account,
                first_name=form.cleaned_data["first_name"],
                email=form.cleaned_data["email"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Профиль сохранён"))
            return redirect("loyalty:cabinet-profile")
    return _profile_page(request, account, form=form, status=400)


@require_POST
@member_required
def phone_start(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    form = forms.PhoneForm(request.POST)
    if form.is_valid():
        try:
            challenge = profile_services.start_phone_change(
                account=account, phone=form.cleaned_data["phone"], client_ip=client_ip(request)
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            request.session[PHONE_CHANGE] = str(challenge.pk)
            return redirect("loyalty:cabinet-phone-confirm")
    return _profile_page(request, account, phone_form=form, status=400)


@require_http_methods(["GET", "POST"])
@member_required
def phone_confirm(request: HttpRequest) -> HttpResponse:
    from kabinet.accounts.models import Challenge

    account = _account(request)
    challenge_id = request.session.get(PHONE_CHANGE)
    challenge = (
        Challenge.objects.filter(pk=challenge_id, subject_id=account.user_id).first()
        if challenge_id
        else None
    )
    if challenge is None:
        return redirect("loyalty:cabinet-profile")
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                profile_services.confirm_phone_change(
                    account=account,
                    challenge_id=challenge.pk,
                    code=form.cleaned_data["code"],
                    client_ip=client_ip(request),
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                request.session.pop(PHONE_CHANGE, None)
                messages.success(request, _("Номер телефона изменён"))
                return redirect("loyalty:cabinet-profile")
    return _page(
        request,
        "phone_confirm.html",
        "profile",
        {"form": form, "phone": mask_phone(challenge.phone)},
        status=status,
    )


@require_POST
@member_required
def phone_resend(request: HttpRequest) -> HttpResponse:
    """Send the phone-change code again, after the cool-down."""
    from kabinet.accounts import codes
    from kabinet.accounts.models import Challenge

    account = _account(request)
    challenge_id = request.session.get(PHONE_CHANGE)
    challenge = (
        Challenge.objects.filter(
            pk=challenge_id, subject_id=account.user_id, used_at__isnull=True
        ).first()
        if challenge_id
        else None
    )
    if challenge is None:
        return redirect("loyalty:cabinet-profile")
    try:
        codes.resend(challenge.pk, client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Мы отправили новый код"))
    return redirect("loyalty:cabinet-phone-confirm")


# --- notification channels (L-CAB-6) -----------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def channels(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    profile = MemberProfile.objects.filter(account=account).first()
    if request.method == "POST":
        form = forms.ChannelsForm(request.POST)
        if form.is_valid():
            profile_services.set_channels(
                account=account, channels=profile_services.Channels(**form.cleaned_data)
            )
            messages.success(request, _("Настройки уведомлений сохранены"))
            return redirect("loyalty:cabinet-channels")
    else:
        form = forms.ChannelsForm(
            initial={
                "email": bool(profile and profile.marketing_email),
                "sms": bool(profile and profile.marketing_sms),
                "voice": bool(profile and profile.marketing_voice),
                "push": bool(profile and profile.marketing_push),
            }
        )
    return _page(request, "channels.html", "channels", {"form": form})


# --- offers (L-CAB-7) --------------------------------------------------------------------------


@require_GET
@member_required
def offers(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    return _page(
        request,
        "offers.html",
        "offers",
        {"offers": cabinet.offers_for(account, _today()), "account": account},
    )


# --- card (L-CAB-8) ----------------------------------------------------------------------------


def _code(account: Account) -> dict[str, Any] | None:
    code = cabinet.card_code(account)
    if code is None:
        return None
    return {
        "number": cardnumbers.format_card_number(code.card.number),
        "qr": qr_data_uri(code.qr_payload),
        "barcode": barcode_data_uri(code.barcode_digits),
        "barcode_digits": code.barcode_digits,
        "refresh_in": code.refresh_in,
    }


def _card_page(request, account, *, replace_forms=None, status=200):
    cards = cabinet.cards_of(account)
    active = next((c for c in cards if c.state == CardState.ACTIVE), None)
    replace_forms = replace_forms or {}
    rows = [
        {
            "card": c,
            "number": cardnumbers.format_card_number(c.number),
            "replace_form": replace_forms.get(c.pk, forms.ReplaceCardForm(prefix=f"r{c.pk}"))
            if c.state == CardState.BLOCKED and not c.replaced_by_id
            else None,
        }
        for c in cards
    ]
    return _page(
        request,
        "card.html",
        "card",
        {"active": active, "code": _code(account) if active else None, "rows": rows},
        status=status,
    )


@require_GET
@member_required
def card(request: HttpRequest) -> HttpResponse:
    return _card_page(request, _account(request))


@require_GET
@never_cache
@member_required
def card_code(request: HttpRequest) -> JsonResponse:
    """The rotating code of the member's active card, for the page's 30-second refresh."""
    code = _code(_account(request))
    if code is None:
        return JsonResponse({"error": _("Активной карты нет")}, status=404)
    return JsonResponse(code)


@require_POST
@member_required
def card_virtual(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    card_services.issue_virtual_card(account=account, actor=request.user)
    messages.success(request, _("Виртуальная карта выпущена: покажите QR-код на кассе"))
    return redirect("loyalty:cabinet-card")


@require_http_methods(["GET", "POST"])
@member_required
def card_block(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request)
    try:
        found = cabinet.card_of(account, pk)
    except NotFound:
        raise Http404(_("Карта не найдена")) from None
    if found.state == CardState.BLOCKED:
        messages.error(request, _("Карта уже заблокирована"))
        return redirect("loyalty:cabinet-card")
    form = forms.BlockCardForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            reason = dict(forms.BLOCK_REASONS)[form.cleaned_data["reason"]]
            try:
                card_services.block_card(card=found, reason=str(reason), actor=request.user)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "Карта заблокирована. Баллы остались на вашем счёте: замените карту "
                        "новой или выпустите виртуальную"
                    ),
                )
                return redirect("loyalty:cabinet-card")
    return _page(
        request,
        "card_block.html",
        "card",
        {"card": found, "number": cardnumbers.format_card_number(found.number), "form": form},
        status=status,
    )


@require_POST
@member_required
def card_replace(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request)
    try:
        old = cabinet.card_of(account, pk)
    except NotFound:
        raise Http404(_("Карта не найдена")) from None
    form = forms.ReplaceCardForm(request.POST, prefix=f"r{old.pk}")
    if form.is_valid():
        new = Card.objects.filter(number=form.cleaned_data["number"]).first()
        if new is None:
            form.add_error("number", _("Карта с таким номером не найдена. Проверьте номер"))
        elif new.state != CardState.ISSUED:
            form.add_error(
                "number", _("Эта карта уже использована или заблокирована: нужна новая карта")
            )
        elif old.state != CardState.BLOCKED:
            form.add_error(None, _("Сначала заблокируйте карту, которую хотите заменить"))
        else:
            try:
                card_services.replace_card(old=old, new=new, actor=request.user)
            except DomainError as error:
                add_domain_error(form, error, {"card": "number"})
            else:
                messages.success(request, _("Новая карта активна, баллы на ней"))
                return redirect("loyalty:cabinet-card")
    return _card_page(request, account, replace_forms={old.pk: form}, status=400)


# --- stores (L-CAB-9) --------------------------------------------------------------------------


def _coordinate(raw: str | None, limit: int) -> float | None:
    try:
        value = float(raw or "")
    except ValueError:
        return None
    return value if -limit <= value <= limit else None


@require_GET
@member_required
def stores(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    form = forms.CityForm(request.GET if "city_0" in request.GET else None)
    city = account.city
    if form.is_bound and form.is_valid() and form.cleaned_data["city"] is not None:
        city = form.cleaned_data["city"]
    lat = _coordinate(request.GET.get("lat"), 90)
    lon = _coordinate(request.GET.get("lon"), 180)
    near = cabinet.stores_near(lat, lon, 10) if lat is not None and lon is not None else None
    return _page(
        request,
        "stores.html",
        "stores",
        {
            "form": form if form.is_bound else forms.CityForm(initial={"city": city}),
            "city": city,
            "city_stores": cabinet.stores_in_city(city),
            "near": near,
        },
    )


@require_GET
@member_required
def stores_near_json(request: HttpRequest) -> JsonResponse:
    lat = _coordinate(request.GET.get("lat"), 90)
    lon = _coordinate(request.GET.get("lon"), 180)
    if lat is None or lon is None:
        return JsonResponse({"error": _("Неверные координаты")}, status=400)
    return JsonResponse(
        {
            "stores": [
                {
                    "code": n.store.code,
                    "name": n.store.name,
                    "address": n.store.address,
                    "city": n.store.city.name if n.store.city else "",
                    "distance_km": round(n.distance_km, 1),
                    "takes_part": n.takes_part,
                }
                for n in cabinet.stores_near(lat, lon, 10)
            ]
        }
    )


# --- personal data (L-CAB-10) ------------------------------------------------------------------


@require_GET
@member_required
def data(request: HttpRequest) -> HttpResponse:
    return _page(request, "data.html", "data", {"form": forms.CloseAccountForm()})


@require_GET
@never_cache
@member_required
def data_export(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    body = json.dumps(cabinet.export_member_data(account), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="kabinet-my-data-{timezone.localdate():%Y-%m-%d}.json"'
    )
    return response


@require_POST
@member_required
def data_close(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    form = forms.CloseAccountForm(request.POST)
    if form.is_valid():
        try:
            profile_services.close_account(
                account=account,
                password=form.cleaned_data["password"],
                client_ip=client_ip(request),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            logout(request)
            messages.success(request, _("Ваш счёт закрыт. Спасибо, что были с нами"))
            return redirect("loyalty:login")
    return _page(request, "data.html", "data", {"form": form}, status=400)
