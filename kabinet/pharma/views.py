"""Pharma pages: parse the form, call a service or selector, render. Nothing else."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kabinet.accounts import codes
from kabinet.core.errors import RateLimited, ValidationFailed
from kabinet.core.forms import add_domain_error
from kabinet.core.http import client_ip
from kabinet.pharma import selectors, services
from kabinet.pharma.access import PartnerRequest, partner_required
from kabinet.pharma.catalog import pricing
from kabinet.pharma.forms import (
    AccessForm,
    AddressForm,
    ForgotPasswordForm,
    InviteForm,
    LeadForm,
    LoginForm,
    RegistrationForm,
    SetPasswordForm,
)
from kabinet.pharma.models import Authority

HEAD_OFFICE = {
    "address": "125362, г. Москва, ул. Свободы, д. 35, стр. 12Б",
    "phone": "8-495-967-69-40",
    "phone_href": "+74959676940",
    "email": "tovar@mpharma.ru",
}


# --- public pages ---------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "pharma/home.html",
        {"branch_count": selectors.branches().count(), "office": HEAD_OFFICE},
    )


@require_GET
def contacts(request: HttpRequest) -> HttpResponse:
    return render(request, "pharma/contacts.html", {"office": HEAD_OFFICE})


@require_GET
def branches(request: HttpRequest) -> HttpResponse:
    return render(
        request, "pharma/branches.html", {"branches": selectors.branches(), "office": HEAD_OFFICE}
    )


@require_http_methods(["GET", "POST"])
def become_client(request: HttpRequest) -> HttpResponse:
    """«Аптекам → Стать клиентом» (SPEC P-LEAD-1)."""
    form = LeadForm(request.POST or None)
    free_mail_warning = False
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:
            # A bot filled the hidden field: it sees success, nothing is stored or sent.
            return redirect("pharma:lead-sent")
        if services.is_free_mail(data["email"]) and not data["free_email_ack"]:
            free_mail_warning = True
            acknowledged = request.POST.copy()
            acknowledged["free_email_ack"] = "True"
            form = LeadForm(acknowledged)
        else:
            try:
                services.check_lead_allowed(client_ip(request))
                services.submit_lead(
                    representative_name=data["representative_name"],
                    organisation_name=data["organisation_name"],
                    email=data["email"],
                    phone=data["phone"],
                    city=data["city"],
                    activity_type=data["activity_type"],
                    client_ip=client_ip(request),
                )
            except RateLimited as error:
                form.add_error(None, error.message)
                status = 429
            else:
                return redirect("pharma:lead-sent")
    return render(
        request,
        "pharma/lead_form.html",
        {"form": form, "free_mail_warning": free_mail_warning},
        status=status,
    )


@require_GET
def lead_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "pharma/lead_sent.html")


# --- registration ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """«Зарегистрироваться» (SPEC P-REG-1)."""
    form = RegistrationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        conflicts = services.registration_conflicts(
            username=data["username"], email=data["email"], inn=data["inn"]
        )
        for field, message in conflicts.items():
            form.add_error(field, message)
        if not conflicts:
            try:
                services.check_registration_allowed(client_ip(request))
                services.register_partner(
                    username=data["username"],
                    email=data["email"],
                    phone=data["phone"],
                    city=data["city"],
                    inn=data["inn"],
                    kpp=data["kpp"],
                    ogrn=data["ogrn"],
                    organisation_name=data["organisation_name"],
                    delivery_address=data["delivery_address"],
                    authorities=data["authorities"],
                    full_name=data["full_name"],
                )
            except RateLimited as error:
                form.add_error(None, error.message)
                status = 429
            except ValidationFailed as error:
                add_domain_error(form, error)
            else:
                return redirect("pharma:register-sent")
    return render(request, "pharma/register.html", {"form": form}, status=status)


@require_GET
def register_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "pharma/register_sent.html")


# --- signing in -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """«Личный кабинет»: login and password, «Войти» (SPEC P-AUTH-1)."""
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.authenticate_partner(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except RateLimited as error:
            form.add_error(None, error.message)
            status = 429
        except ValidationFailed as error:
            form.add_error(None, error.message)
        else:
            login(request, user)
            if not url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                next_url = ""
            return redirect(next_url or "pharma:cabinet")
    return render(request, "pharma/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("pharma:login")


@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    """«Забыли пароль» → «Выслать пароль» (SPEC P-AUTH-2); the same answer for any address."""
    form = ForgotPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_password_reset(email=form.cleaned_data["email"], ip=client_ip(request))
        return redirect("pharma:password-sent")
    return render(request, "pharma/forgot.html", {"form": form})


@require_GET
def password_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "pharma/password_sent.html")


@require_http_methods(["GET", "POST"])
def set_password(request: HttpRequest) -> HttpResponse:
    """The page a single-use link opens: set a password, then sign in."""
    if request.method == "POST":
        form = SetPasswordForm(request.POST)
        if form.is_valid():
            try:
                services.set_password_by_link(
                    token=form.cleaned_data["token"], password=form.cleaned_data["password1"]
                )
            except codes.LinkTokenError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Пароль сохранён. Войдите с новым паролем."))
                return redirect("pharma:login")
    else:
        form = SetPasswordForm(initial={"token": request.GET.get("token", "")})
    return render(request, "pharma/set_password.html", {"form": form})


# --- the partner cabinet --------------------------------------------------------------------


@require_GET
@partner_required()
def cabinet(request: PartnerRequest) -> HttpResponse:
    partner = request.partner
    return render(
        request,
        "pharma/cabinet/home.html",
        {
            "partner": partner,
            "organisation": partner.organisation,
            "can": {a: partner.has_authority(a) for a in Authority.values},
            "addresses": selectors.addresses_of(partner),
            "licences": selectors.licences_of(partner),
            # Promotions are for signed-in partners who may see prices (P-CAT-4).
            "promotions": (
                pricing.running_promotions(
                    organisation=partner.organisation, day=timezone.localdate()
                )
                if partner.has_authority(Authority.CATALOG)
                else []
            ),
        },
    )


@require_GET
@partner_required(Authority.MANAGE)
def users(request: PartnerRequest) -> HttpResponse:
    return render(
        request,
        "pharma/cabinet/users.html",
        {"partner": request.partner, "colleagues": selectors.colleagues_of(request.partner)},
    )


@require_http_methods(["GET", "POST"])
@partner_required(Authority.MANAGE)
def invite(request: PartnerRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_colleague(
                inviter=request.partner, ip=client_ip(request), **form.cleaned_data
            )
        except ValidationFailed as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("Приглашение отправлено на %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("pharma:users")
    return render(request, "pharma/cabinet/invite.html", {"form": form})


@require_http_methods(["GET", "POST"])
@partner_required(Authority.MANAGE)
def user_access(request: PartnerRequest, pk: int) -> HttpResponse:
    colleague = selectors.colleague_of(request.partner, pk)
    initial = {"authorities": colleague.authorities, "active": colleague.user.is_active}
    form = AccessForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.set_colleague_access(
            actor=request.partner,
            colleague_id=colleague.pk,
            authorities=form.cleaned_data["authorities"],
            active=form.cleaned_data["active"],
            ip=client_ip(request),
        )
        messages.success(request, _("Полномочия сохранены."))
        return redirect("pharma:users")
    return render(
        request, "pharma/cabinet/user_access.html", {"form": form, "colleague": colleague}
    )


@require_GET
@partner_required(Authority.MANAGE)
def addresses(request: PartnerRequest) -> HttpResponse:
    return render(
        request,
        "pharma/cabinet/addresses.html",
        {"addresses": selectors.addresses_of(request.partner)},
    )


@require_http_methods(["GET", "POST"])
@partner_required(Authority.MANAGE)
def address_edit(request: PartnerRequest, pk: int | None = None) -> HttpResponse:
    current = selectors.address_of(request.partner, pk) if pk is not None else None
    initial = (
        {"name": current.name, "city": current.city, "address": current.address}
        if current
        else None
    )
    form = AddressForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.save_address(actor=request.partner, address_id=pk, **form.cleaned_data)
        messages.success(request, _("Адрес сохранён."))
        return redirect("pharma:addresses")
    return render(request, "pharma/cabinet/address_form.html", {"form": form, "address": current})


@require_POST
@partner_required(Authority.MANAGE)
def address_delete(request: PartnerRequest, pk: int) -> HttpResponse:
    services.delete_address(actor=request.partner, address_id=pk)
    messages.success(request, _("Адрес удалён."))
    return redirect("pharma:addresses")


# --- back office ----------------------------------------------------------------------------


@require_GET
@staff_member_required
def backoffice_queues(request: HttpRequest) -> HttpResponse:
    """Lead and verification queues with counts and waiting time (SPEC P-BO-1)."""
    return render(
        request,
        "pharma/backoffice/queues.html",
        {
            "leads": selectors.lead_queue(),
            "registrations": selectors.registration_queue(),
        },
    )
