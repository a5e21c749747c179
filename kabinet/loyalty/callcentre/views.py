"""Call-centre console and back-office support pages (L-ACT-3, L-BO-3, L-BO-4).

Thin: each view checks the role through `access.staff_can`, parses a form, calls a service
or a read, and shows the result. Operator actions are audited by the services, the console
adds what only it knows (a lookup of personal data, a code resent for a caller).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kabinet.accounts import codes
from kabinet.accounts.models import Challenge
from kabinet.core import audit
from kabinet.core.errors import DomainError
from kabinet.core.forms import add_domain_error
from kabinet.core.http import client_ip
from kabinet.core.phones import mask_phone
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.callcentre import access, forms, lookup, reports
from kabinet.loyalty.callcentre.access import staff_can
from kabinet.loyalty.models import ActivationChannel, Card
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services import registration, support

CHALLENGE_KEY = "callcentre:activation"


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200):
    role = access.role_of(request.user)
    context = {
        "can": access.abilities_of(request.user),
        "role_label": access.ROLE_LABELS.get(role, "") if role else "",
        **context,
    }
    return render(request, f"loyalty/callcentre/{template}", context, status=status)


def _operator_key(request: HttpRequest) -> str:
    # Wrong codes are counted per operator, not per address: a whole call centre sits behind
    # one address, and one operator guessing codes must not lock the others out.
    return f"operator-{request.user.pk}"


# --- search and the member card ----------------------------------------------------------------


@never_cache
@staff_can("search")
def search(request: HttpRequest) -> HttpResponse:
    form = forms.SearchForm(request.GET or None)
    found_card = None
    if form.is_valid():
        try:
            found = lookup.find(form.cleaned_data["q"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if found.account is not None:
                return redirect("callcentre:member", pk=found.account.pk)
            found_card = found.card
    return _page(request, "search.html", {"form": form, "found_card": found_card})


@never_cache
@staff_can("view_member")
def member(request: HttpRequest, pk: int) -> HttpResponse:
    account = lookup.account(pk)
    audit.record(
        action="callcentre.member.view", actor=request.user, obj=account, ip=client_ip(request)
    )
    context = lookup.member_view(account=account, viewer=request.user)
    context.update(
        block_form=forms.BlockForm(),
        replace_form=forms.ReplaceForm(),
        adjust_form=forms.AdjustmentForm(),
        threshold=reports.points_text(support.approval_threshold()),
    )
    return _page(request, "member.html", context)


def _back_to_member(card: Card) -> HttpResponseRedirect:
    if card.account_id:
        return redirect("callcentre:member", pk=card.account_id)
    return redirect(f"{reverse('callcentre:search')}?q={card.number}")


def _form_failed(request: HttpRequest, form: Any) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@require_POST
@staff_can("block_card")
def block(request: HttpRequest, pk: int) -> HttpResponse:
    card = lookup.card(pk)
    form = forms.BlockForm(request.POST)
    if not form.is_valid():
        _form_failed(request, form)
        return _back_to_member(card)
    try:
        card_services.block_card(card=card, reason=form.cleaned_data["reason"], actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Карта %(number)s заблокирована")
            % {"number": cardnumbers.format_card_number(card.number)},
        )
    return _back_to_member(card)


@require_POST
@staff_can("replace_card")
def replace(request: HttpRequest, pk: int) -> HttpResponse:
    card = lookup.card(pk)
    form = forms.ReplaceForm(request.POST)
    if not form.is_valid():
        _form_failed(request, form)
        return _back_to_member(card)
    try:
        new = support.replace_card_by_number(
            old=card,
            new_number=form.cleaned_data["new_number"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Карта заменена: новая карта %(number)s")
            % {"number": cardnumbers.format_card_number(new.number)},
        )
    return _back_to_member(card)


# --- activation for a caller ---------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_can("activate")
def activate(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = forms.ActivationForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                challenge = registration.start_registration(
                    card_number=data["card_number"],
                    first_name=data["first_name"],
                    birth_date=data["birth_date"],
                    phone=data["phone"],
                    consents=set(registration.CONSENT_VERSIONS) if data["consents"] else set(),
                    channel=ActivationChannel.CALL_CENTRE,
                    # The per-address SMS cap is for anonymous visitors; an operator is
                    # signed in and audited, and the per-phone caps still hold.
                    client_ip=None,
                    operator=request.user,
                )
            except registration.RegistrationInvalid as exc:
                for name, text in exc.errors.items():
                    name = "consents" if name.startswith("consent_") else name
                    form.add_error(name if name in form.fields else None, text)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                card_id = challenge.payload.get("card_id")
                audit.record(
                    action="callcentre.activation.start",
                    actor=request.user,
                    obj=Card.objects.get(pk=card_id) if card_id else None,
                    data={"phone": mask_phone(challenge.phone), "challenge": str(challenge.pk)},
                    ip=client_ip(request),
                )
                request.session[CHALLENGE_KEY] = str(challenge.pk)
                return redirect("callcentre:activate-code")
    else:
        form = forms.ActivationForm(initial={"card_number": request.GET.get("card", "")})
    return _page(request, "activate.html", {"form": form})


def _challenge(request: HttpRequest) -> Challenge | None:
    pk = request.session.get(CHALLENGE_KEY)
    if not pk:
        return None
    return Challenge.objects.filter(pk=pk, used_at__isnull=True).first()


def _resend_in(challenge: Challenge) -> int:
    left = (challenge.sent_at + codes.RESEND_COOLDOWN - timezone.now()).total_seconds()
    return max(0, math.ceil(left))


@never_cache
@require_http_methods(["GET", "POST"])
@staff_can("activate")
def activate_code(request: HttpRequest) -> HttpResponse:
    challenge = _challenge(request)
    if challenge is None:
        messages.error(request, _("Начните активацию заново"))
        return redirect("callcentre:activate")
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            account = registration.confirm_registration(
                challenge_id=challenge.pk,
                code=form.cleaned_data["code"],
                client_ip=_operator_key(request),
                operator=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = 429 if exc.http_status == 429 else 200
        else:
            request.session.pop(CHALLENGE_KEY, None)
            messages.success(request, _("Карта активирована"))
            return redirect("callcentre:member", pk=account.pk)
    context = {
        "form": form,
        "phone": mask_phone(challenge.phone),
        "resend_in": _resend_in(challenge),
    }
    return _page(request, "activate_code.html", context, status=status)


@require_POST
@staff_can("resend_code")
def activate_resend(request: HttpRequest) -> HttpResponse:
    challenge = _challenge(request)
    if challenge is None:
        messages.error(request, _("Начните активацию заново"))
        return redirect("callcentre:activate")
    try:
        codes.resend(challenge.pk, None)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        audit.record(
            action="callcentre.code.resend",
            actor=request.user,
            data={"phone": mask_phone(challenge.phone), "challenge": str(challenge.pk)},
            ip=client_ip(request),
        )
        messages.success(request, _("Код отправлен повторно"))
    return redirect("callcentre:activate-code")


# --- adjustments -------------------------------------------------------------------------------


@require_POST
@staff_can("request_adjustment")
def adjust(request: HttpRequest, pk: int) -> HttpResponse:
    account = lookup.account(pk)
    form = forms.AdjustmentForm(request.POST)
    if not form.is_valid():
        _form_failed(request, form)
        return redirect("callcentre:member", pk=pk)
    try:
        done = support.request_adjustment(
            account=account,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if done.entry_id:
            messages.success(request, _("Корректировка проведена"))
        else:
            messages.warning(
                request, _("Сумма больше порога: заявка ждёт подтверждения другого супервайзера")
            )
    return redirect("callcentre:member", pk=pk)


@never_cache
@staff_can("approve_adjustment")
def adjustments(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "adjustments.html",
        {
            "pending": lookup.pending_adjustments(),
            "decided": lookup.recent_decisions(),
            "reject_form": forms.RejectForm(),
        },
    )


@require_POST
@staff_can("approve_adjustment")
def adjustment_approve(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        support.approve_adjustment(request_id=pk, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Корректировка подтверждена и проведена"))
    return redirect("callcentre:adjustments")


@require_POST
@staff_can("approve_adjustment")
def adjustment_reject(request: HttpRequest, pk: int) -> HttpResponse:
    form = forms.RejectForm(request.POST)
    if not form.is_valid():
        _form_failed(request, form)
        return redirect("callcentre:adjustments")
    try:
        support.reject_adjustment(
            request_id=pk, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Заявка отклонена"))
    return redirect("callcentre:adjustments")


# --- reports -----------------------------------------------------------------------------------


def _period(request: HttpRequest) -> tuple[forms.PeriodForm, date, date]:
    start, end = forms.PeriodForm.default_period()
    form = forms.PeriodForm(
        request.GET if "date_from" in request.GET else None,
        initial={"date_from": start, "date_to": end},
    )
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    return form, start, end


@never_cache
@staff_can("reports")
def report(request: HttpRequest) -> HttpResponse:
    form, start, end = _period(request)
    rows = reports.points_by_day_and_region(start, end)
    active = reports.active_members_by_day(start, end)
    all_days = reports.days(start, end)
    context = {
        "form": form,
        "date_from": start,
        "date_to": end,
        "rows": rows,
        "totals": reports.totals(rows),
        "active": active,
        "earned_chart": reports.stacked_bars(
            all_days, reports.series(rows, all_days, "earned"), scale=100
        ),
        "spent_chart": reports.stacked_bars(
            all_days, reports.series(rows, all_days, "spent"), scale=100
        ),
        "active_chart": reports.stacked_bars(
            all_days, {"Активные участники": reports.active_series(active, all_days)}
        ),
        "query": f"date_from={start.isoformat()}&date_to={end.isoformat()}",
    }
    return _page(request, "reports.html", context)


def _csv(name: str, body: str) -> HttpResponse:
    # The BOM makes spreadsheet programs read the Cyrillic headers as UTF-8.
    response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_can("reports")
def report_points_csv(request: HttpRequest) -> HttpResponse:
    _form, start, end = _period(request)
    rows = reports.points_by_day_and_region(start, end)
    return _csv(f"points-{start}-{end}.csv", reports.points_csv(rows))


@staff_can("reports")
def report_active_csv(request: HttpRequest) -> HttpResponse:
    _form, start, end = _period(request)
    rows = reports.active_members_by_day(start, end)
    return _csv(f"active-{start}-{end}.csv", reports.active_csv(rows))
