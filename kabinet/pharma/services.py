"""Pharma B2B writes: leads, registration, verification, colleagues, addresses, passwords."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.accounts import codes, throttling
from kabinet.accounts.models import User
from kabinet.core import audit, ratelimit
from kabinet.core.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationFailed
from kabinet.core.ratelimit import Limit
from kabinet.geo.models import City
from kabinet.notifications.services import notify
from kabinet.pharma import selectors
from kabinet.pharma.models import (
    Authority,
    DeliveryAddress,
    Lead,
    LeadStatus,
    Organisation,
    OrganisationStatus,
    PartnerUser,
    Registration,
    RegistrationStatus,
)

# One purpose for every e-mailed «set your password» link: access granted, invitation, reset.
PASSWORD_LINK_PURPOSE = "pharma_password"  # noqa: S105 — a label, not a secret
# A first password is set at leisure; a reset is urgent and its link lives an hour.
WELCOME_LINK_TTL = timedelta(days=3)

# The public lead form: a real applicant sends one or two; a bot sends hundreds.
LEADS_PER_IP = Limit("pharma-lead:ip", max_hits=5, window_seconds=60 * 60)
# Reset letters: bounds the mail an attacker can make one mailbox (or the site) send.
RESETS_PER_EMAIL = Limit("pharma-reset:email", max_hits=3, window_seconds=60 * 60)
RESETS_PER_IP = Limit("pharma-reset:ip", max_hits=20, window_seconds=60 * 60)
# Self-registrations from one address: each creates a user, so a script must not make many.
REGISTRATIONS_PER_IP = Limit("pharma-register:ip", max_hits=10, window_seconds=60 * 60)

FREE_MAIL_DOMAINS = frozenset(
    {
        "mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru", "yandex.ru", "ya.ru",
        "yandex.com", "narod.ru", "rambler.ru", "lenta.ru", "ro.ru", "autorambler.ru",
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
        "icloud.com", "me.com", "mail.com", "aol.com", "proton.me", "protonmail.com",
        "qip.ru", "ngs.ru", "e1.ru",
    }
)  # fmt: skip


def is_free_mail(email: str) -> bool:
    return email.rpartition("@")[2].strip().lower() in FREE_MAIL_DOMAINS


def _site_path(name: str) -> str:
    return reverse(f"pharma:{name}")


# --- leads (P-LEAD) -------------------------------------------------------------------------


def _count(limit: Limit, client_ip: str, message: str, code: str) -> None:
    allowed, retry_after = ratelimit.hit(limit, client_ip)
    if not allowed:
        raise RateLimited(
            message % {"minutes": max(1, -(-retry_after // 60))},
            retry_after=retry_after,
            code=code,
        )


def check_lead_allowed(client_ip: str) -> None:
    """Count one lead from this address, or refuse it (SPEC P-LEAD-1 anti-spam)."""
    _count(
        LEADS_PER_IP,
        client_ip,
        _("Слишком много заявок с вашего адреса. Попробуйте через %(minutes)d мин."),
        "lead_rate_limited",
    )


def check_registration_allowed(client_ip: str) -> None:
    """Count one self-registration from this address, or refuse it."""
    _count(
        REGISTRATIONS_PER_IP,
        client_ip,
        _("Слишком много регистраций с вашего адреса. Попробуйте через %(minutes)d мин."),
        "registration_rate_limited",
    )


@transaction.atomic
def submit_lead(
    *,
    representative_name: str,
    organisation_name: str,
    email: str,
    phone: str,
    city: City,
    activity_type: str,
    client_ip: str | None,
) -> Lead:
    """Store a «Стать клиентом» application and confirm its receipt to the applicant."""
    lead = Lead.objects.create(
        representative_name=representative_name,
        organisation_name=organisation_name,
        email=email,
        phone=phone,
        city=city,
        activity_type=activity_type,
        free_email=is_free_mail(email),
        client_ip=client_ip or None,
    )
    notify(
        channel="email",
        to=email,
        template="pharma_lead_received",
        context={"name": representative_name, "organisation": organisation_name},
    )
    return lead


def _locked_lead(lead_id: int) -> Lead:
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None:
        raise NotFound(_("Заявка не найдена."))
    return lead


@transaction.atomic
def take_lead(*, lead_id: int, actor: User, ip: str | None = None) -> Lead:
    """A manager takes a new lead into work and becomes responsible for it."""
    lead = _locked_lead(lead_id)
    if lead.status not in (LeadStatus.NEW, LeadStatus.IN_PROGRESS):
        raise Conflict(_("По заявке уже принято решение."))
    lead.status = LeadStatus.IN_PROGRESS
    lead.assigned_to = actor
    lead.save(update_fields=["status", "assigned_to"])
    audit.record(action="pharma.lead.take", actor=actor, obj=lead, ip=ip)
    return lead


@transaction.atomic
def decide_lead(
    *, lead_id: int, approve: bool, actor: User, note: str = "", ip: str | None = None
) -> Lead:
    """Approve or reject a lead; the applicant is told by e-mail (SPEC P-LEAD-2)."""
    lead = _locked_lead(lead_id)
    if lead.status not in (LeadStatus.NEW, LeadStatus.IN_PROGRESS):
        raise Conflict(_("По заявке уже принято решение."))
    lead.status = LeadStatus.APPROVED if approve else LeadStatus.REJECTED
    lead.decided_at = timezone.now()
    if lead.assigned_to_id is None:
        lead.assigned_to = actor
    if note.strip():
        lead.notes = (lead.notes + "\n" + note.strip()).strip()
    lead.save(update_fields=["status", "decided_at", "assigned_to", "notes"])
    audit.record(
        action="pharma.lead.approve" if approve else "pharma.lead.reject",
        actor=actor,
        obj=lead,
        reason=note.strip(),
        ip=ip,
    )
    notify(
        channel="email",
        to=lead.email,
        template="pharma_lead_approved" if approve else "pharma_lead_rejected",
        context={
            "name": lead.representative_name,
            "organisation": lead.organisation_name,
            "register_url": settings.SITE_URL + _site_path("register"),
        },
    )
    return lead


# --- registration and verification (P-REG) --------------------------------------------------


def registration_conflicts(*, username: str, email: str, inn: str) -> dict[str, str]:
    """Precise reasons a registration cannot be accepted, by field; empty when it can."""
    errors: dict[str, str] = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("Логин «%(login)s» уже занят. Выберите другой.") % {
            "login": username
        }
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = _(
            "Пользователь с таким e-mail уже зарегистрирован. Если это вы, войдите или "
            "воспользуйтесь ссылкой «Забыли пароль»."
        )
    org = Organisation.objects.filter(inn=inn).first()
    if org is not None and org.members.exists():
        errors["inn"] = _(
            "ИНН %(inn)s уже зарегистрирован за организацией «%(name)s». Сотрудников в кабинет "
            "добавляет администратор организации: попросите его прислать вам приглашение."
        ) % {"inn": inn, "name": org.name}
    elif Registration.objects.filter(inn=inn, status=RegistrationStatus.PENDING).exists():
        errors["inn"] = _(
            "Регистрация организации с ИНН %(inn)s уже подана и ожидает проверки менеджером."
        ) % {"inn": inn}
    return errors


@transaction.atomic
def register_partner(
    *,
    username: str,
    email: str,
    phone: str,
    city: City,
    inn: str,
    kpp: str,
    ogrn: str,
    organisation_name: str,
    delivery_address: str,
    authorities: list[str],
    full_name: str = "",
) -> Registration:
    """Create an inactive user and the registration a manager will verify (SPEC P-REG-1)."""
    conflicts = registration_conflicts(username=username, email=email, inn=inn)
    if conflicts:
        field, message = next(iter(conflicts.items()))
        raise ValidationFailed(message, field=field)
    unknown = set(authorities) - set(Authority.values)
    if unknown or not authorities:
        raise ValidationFailed(_("Отметьте хотя бы одно полномочие."), field="authorities")
    # No password yet: the first one is set through the link sent once access is granted.
    user = User(username=username, email=email, first_name=full_name, is_active=False)
    user.set_unusable_password()
    user.save()
    return Registration.objects.create(
        user=user,
        phone=phone,
        city=city,
        inn=inn,
        kpp=kpp,
        ogrn=ogrn,
        organisation_name=organisation_name,
        delivery_address=delivery_address,
        requested_authorities=[a for a in Authority.values if a in authorities],
    )


@transaction.atomic
def verify_registration(
    *,
    registration_id: int,
    actor: User,
    approve: bool,
    granted: list[str] | None = None,
    contract_number: str = "",
    contract_date: date | None = None,
    reason: str = "",
    ip: str | None = None,
) -> Registration:
    """A manager grants or refuses access; the user gets an e-mail either way (P-REG-3)."""
    registration = (
        Registration.objects.select_for_update()
        .select_related("user")
        .filter(pk=registration_id)
        .first()
    )
    if registration is None:
        raise NotFound(_("Регистрация не найдена."))
    if registration.status != RegistrationStatus.PENDING:
        raise Conflict(_("По этой регистрации уже принято решение."))
    user = registration.user
    now = timezone.now()
    if not approve:
        if not reason.strip():
            raise ValidationFailed(
                _("Укажите причину отказа: её получит заявитель."), field="reason"
            )
        registration.status = RegistrationStatus.REFUSED
        registration.refusal_reason = reason.strip()
        registration.decided_at = now
        registration.decided_by = actor
        registration.save()
        audit.record(
            action="pharma.registration.refuse",
            actor=actor,
            obj=registration,
            reason=reason.strip(),
            data={"inn": registration.inn, "user": user.get_username()},
            ip=ip,
        )
        notify(
            channel="email",
            to=user.email,
            template="pharma_access_refused",
            context={"login": user.get_username(), "reason": reason.strip()},
        )
        return registration

    granted = [a for a in Authority.values if a in (granted or [])]
    not_requested = set(granted) - set(registration.requested_authorities)
    if not_requested:
        raise ValidationFailed(
            _("Можно предоставить только запрошенные полномочия."), field="granted"
        )
    if not granted:
        raise ValidationFailed(
            _("Предоставьте хотя бы одно полномочие или откажите в доступе."), field="granted"
        )
    organisation = Organisation.objects.select_for_update().filter(inn=registration.inn).first()
    if organisation is not None and organisation.members.exists():
        raise Conflict(
            _(
                "Организация с этим ИНН уже работает в кабинете: сотрудника приглашает её "
                "администратор."
            )
        )
    contract_number = contract_number.strip()
    if organisation is None:
        organisation = Organisation(
            name=registration.organisation_name,
            inn=registration.inn,
            kpp=registration.kpp,
            ogrn=registration.ogrn,
        )
    if contract_number:
        organisation.contract_number = contract_number
        organisation.contract_date = contract_date
    # Only organisations and ИП with a contract get access (SPEC P-REG-2).
    if not organisation.contract_number or not organisation.contract_date:
        raise ValidationFailed(
            _("Укажите номер и дату договора: доступ получают только организации с договором."),
            field="contract_number",
        )
    if organisation.status == OrganisationStatus.PENDING:
        organisation.status = OrganisationStatus.ACTIVE
    organisation.save()
    if not organisation.addresses.filter(address=registration.delivery_address).exists():
        DeliveryAddress.objects.create(
            organisation=organisation,
            name=registration.organisation_name,
            city=registration.city,
            address=registration.delivery_address,
        )
    PartnerUser.objects.create(
        user=user,
        organisation=organisation,
        full_name=user.first_name,
        phone=registration.phone,
        authorities=granted,
    )
    user.is_active = True
    user.save(update_fields=["is_active"])
    registration.status = RegistrationStatus.APPROVED
    registration.organisation = organisation
    registration.granted_authorities = granted
    registration.decided_at = now
    registration.decided_by = actor
    registration.save()
    audit.record(
        action="pharma.registration.approve",
        actor=actor,
        obj=registration,
        data={
            "inn": registration.inn,
            "user": user.get_username(),
            "organisation_id": organisation.pk,
            "contract_number": organisation.contract_number,
            "requested": registration.requested_authorities,
            "granted": granted,
        },
        ip=ip,
    )
    _send_password_link(
        user,
        template="pharma_access_granted",
        context={
            "login": user.get_username(),
            "organisation": organisation.name,
            "authorities": [str(Authority(a).label) for a in granted],
            "refused": [
                str(Authority(a).label)
                for a in registration.requested_authorities
                if a not in granted
            ],
        },
        ttl=WELCOME_LINK_TTL,
    )
    return registration


def _send_password_link(
    user: User, *, template: str, context: dict[str, Any], ttl: timedelta = codes.LINK_TTL
) -> None:
    codes.issue_link_token(
        purpose=PASSWORD_LINK_PURPOSE,
        email=user.email,
        subject_user_id=user.pk,
        path=_site_path("password-set"),
        ttl=ttl,
        template=template,
        context={"name": user.first_name, **context},
    )


# --- organisations --------------------------------------------------------------------------


@transaction.atomic
def set_organisation_status(
    *, organisation_id: int, status: str, actor: User, reason: str = "", ip: str | None = None
) -> Organisation:
    """Activate or block an organisation (blocked can browse but not order); audited."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
    if status not in OrganisationStatus.values:
        raise ValidationFailed(_("Неизвестный статус."), field="status")
    previous = organisation.status
    if previous == status:
        return organisation
    organisation.status = status
    organisation.save(update_fields=["status"])
    audit.record(
        action="pharma.organisation.status",
        actor=actor,
        obj=organisation,
        reason=reason,
        data={"from": previous, "to": status},
        ip=ip,
    )
    return organisation


# --- the partner administrator's colleagues and addresses (P-REG-4) -------------------------


def _clean_authorities(authorities: list[str]) -> list[str]:
    unknown = set(authorities) - set(Authority.values)
    if unknown:
        raise ValidationFailed(_("Неизвестное полномочие."), field="authorities")
    return [a for a in Authority.values if a in authorities]


@transaction.atomic
def invite_colleague(
    *,
    inviter: PartnerUser,
    username: str,
    email: str,
    full_name: str,
    authorities: list[str],
    ip: str | None = None,
) -> PartnerUser:
    """Add a colleague to the inviter's organisation and e-mail them a link to set a password."""
    selectors.require_authority(inviter, Authority.MANAGE)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(
            _("Логин «%(login)s» уже занят. Выберите другой.") % {"login": username},
            field="username",
        )
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed(_("Пользователь с таким e-mail уже зарегистрирован."), field="email")
    user = User(username=username, email=email, first_name=full_name, is_active=True)
    user.set_unusable_password()
    user.save()
    colleague = PartnerUser.objects.create(
        user=user,
        organisation=inviter.organisation,
        full_name=full_name,
        authorities=_clean_authorities(authorities),
    )
    audit.record(
        action="pharma.partner.invite",
        actor=inviter.user,
        obj=colleague,
        data={"organisation_id": inviter.organisation_id, "authorities": colleague.authorities},
        ip=ip,
    )
    _send_password_link(
        user,
        template="pharma_invite",
        context={
            "login": username,
            "organisation": inviter.organisation.name,
            "inviter": inviter.full_name or inviter.user.get_username(),
        },
        ttl=WELCOME_LINK_TTL,
    )
    return colleague


@transaction.atomic
def set_colleague_access(
    *,
    actor: PartnerUser,
    colleague_id: int,
    authorities: list[str],
    active: bool = True,
    ip: str | None = None,
) -> PartnerUser:
    """Change a colleague's authorities, or switch their access off; audited."""
    selectors.require_authority(actor, Authority.MANAGE)
    colleague = selectors.colleague_of(actor, colleague_id)
    authorities = _clean_authorities(authorities)
    if colleague.pk == actor.pk and (Authority.MANAGE not in authorities or not active):
        # Otherwise the last administrator could lock the whole organisation out.
        raise PermissionDenied(_("Нельзя снять управление пользователями с самого себя."))
    before = {"authorities": colleague.authorities, "active": colleague.user.is_active}
    colleague.authorities = authorities
    colleague.save(update_fields=["authorities"])
    if colleague.user.is_active != active:
        colleague.user.is_active = active
        colleague.user.save(update_fields=["is_active"])
    audit.record(
        action="pharma.partner.access",
        actor=actor.user,
        obj=colleague,
        data={"before": before, "after": {"authorities": authorities, "active": active}},
        ip=ip,
    )
    return colleague


@transaction.atomic
def save_address(
    *, actor: PartnerUser, name: str, city: City, address: str, address_id: int | None = None
) -> DeliveryAddress:
    """Add a delivery address to the actor's organisation, or change one of its own."""
    selectors.require_authority(actor, Authority.MANAGE)
    if address_id is None:
        target = DeliveryAddress(organisation=actor.organisation)
    else:
        target = selectors.address_of(actor, address_id)
    target.name = name
    target.city = city
    target.address = address
    target.save()
    return target


@transaction.atomic
def delete_address(*, actor: PartnerUser, address_id: int) -> None:
    selectors.require_authority(actor, Authority.MANAGE)
    selectors.address_of(actor, address_id).delete()


# --- signing in and passwords (P-AUTH) ------------------------------------------------------


def authenticate_partner(*, request: Any, username: str, password: str, ip: str) -> User:
    """Check a login and password with throttling; only partners get into the cabinet."""
    throttling.check_login_allowed(username, ip)
    user = authenticate(request, username=username.strip(), password=password)
    if user is None or selectors.partner_of(user) is None:
        throttling.register_login_failure(username, ip)
        raise ValidationFailed(
            _("Неверный логин или пароль. Проверьте раскладку клавиатуры и регистр букв.")
        )
    throttling.register_login_success(username)
    return user


@transaction.atomic
def request_password_reset(*, email: str, ip: str) -> None:
    """E-mail a single-use link to every partner with this address; silent otherwise.

    The caller shows the same page whatever happens here, so the form cannot be used to learn
    which addresses are registered (SPEC P-AUTH-2).
    """
    allowed_ip, _retry = ratelimit.hit(RESETS_PER_IP, ip)
    allowed_email, _retry = ratelimit.hit(RESETS_PER_EMAIL, email.strip().lower())
    if not (allowed_ip and allowed_email):
        return
    users = User.objects.filter(
        email__iexact=email.strip(), is_active=True, pharma_partner__isnull=False
    )
    for user in users:
        _send_password_link(user, template="password_reset_link", context={})


@transaction.atomic
def set_password_by_link(*, token: str, password: str) -> User:
    """Accept a single-use link once and set the password it was sent for."""
    user = codes.consume_link_token(token, PASSWORD_LINK_PURPOSE)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user
