"""Pharma B2B: branches, leads, organisations, their users and authorities (SPEC §2)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kabinet.core.phones import format_phone_ru
from kabinet.geo.models import City, Region

# The catalog's models live in their own module; importing them here registers them with
# the pharma app (one app, one migration history).
from kabinet.pharma.catalog import models as catalog_models  # noqa: F401
from kabinet.pharma.orders import models as order_models  # noqa: F401
from kabinet.pharma.payments import models as payment_models  # noqa: F401


class Branch(models.Model):
    """One of the distributor's regional branches (SPEC P-NET-1)."""

    code = models.SlugField(_("код"), max_length=32, unique=True)
    name = models.CharField(_("название"), max_length=120)
    region = models.ForeignKey(
        Region, verbose_name=_("регион"), on_delete=models.PROTECT, related_name="+"
    )
    city = models.ForeignKey(
        City, verbose_name=_("город"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("адрес"), max_length=255)
    phone = models.CharField(_("телефон"), max_length=16, help_text=_("В формате +7XXXXXXXXXX."))
    email = models.EmailField(_("e-mail"))
    is_head_office = models.BooleanField(_("головной офис"), default=False)

    class Meta:
        verbose_name = _("филиал")
        verbose_name_plural = _("филиалы")
        ordering = ["-is_head_office", "region__name_ru", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def phone_display(self) -> str:
        return format_phone_ru(self.phone)


class ActivityType(models.TextChoices):
    PHARMACY = "pharmacy", _("Аптека")
    PHARMACY_CHAIN = "pharmacy_chain", _("Аптечная сеть")
    MEDICAL = "medical", _("Медицинское учреждение")
    OTHER = "other", _("Другое")


class LeadStatus(models.TextChoices):
    NEW = "new", _("новая")
    IN_PROGRESS = "in_progress", _("в работе")
    APPROVED = "approved", _("одобрена")
    REJECTED = "rejected", _("отклонена")


class Lead(models.Model):
    """A «Стать клиентом» application (SPEC P-LEAD-1, P-LEAD-2)."""

    representative_name = models.CharField(_("имя представителя"), max_length=150)
    organisation_name = models.CharField(_("организация"), max_length=255)
    email = models.EmailField(_("корпоративная почта"))
    phone = models.CharField(_("телефон"), max_length=16)
    city = models.ForeignKey(
        City, verbose_name=_("населённый пункт"), on_delete=models.PROTECT, related_name="+"
    )
    activity_type = models.CharField(
        _("вид деятельности"), max_length=20, choices=ActivityType.choices
    )
    free_email = models.BooleanField(
        _("бесплатная почта"),
        default=False,
        help_text=_("Адрес на бесплатном почтовом сервисе: организацию стоит проверить звонком."),
    )
    status = models.CharField(
        _("статус"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    notes = models.TextField(_("заметки менеджера"), blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("менеджер"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"is_staff": True},
    )
    client_ip = models.GenericIPAddressField(_("адрес отправителя"), null=True, blank=True)
    created_at = models.DateTimeField(_("получена"), default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(_("решение принято"), null=True, blank=True)

    class Meta:
        verbose_name = _("заявка «Стать клиентом»")
        verbose_name_plural = _("заявки «Стать клиентом»")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=LeadStatus.values), name="pharma_lead_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_name} ({self.representative_name})"


class Authority(models.TextChoices):
    """What a partner user may do in the cabinet (SPEC P-REG-4)."""

    CATALOG = "catalog", _("Просмотр каталога и цен")
    ORDER = "order", _("Оформление заказов")
    PAY = "pay", _("Оплата")
    MANAGE = "manage", _("Управление пользователями и адресами")


# Authorities a blocked organisation loses until it is unblocked: it may still look.
TRADING_AUTHORITIES = frozenset({Authority.ORDER, Authority.PAY})


class OrganisationStatus(models.TextChoices):
    PENDING = "pending", _("ожидает договора")
    ACTIVE = "active", _("активна")
    BLOCKED = "blocked", _("заблокирована")


class Organisation(models.Model):
    """A pharmacy, a pharmacy chain or a clinic with a contract (SPEC P-REG-2, P-BO-1)."""

    name = models.CharField(_("название"), max_length=255)
    inn = models.CharField(_("ИНН"), max_length=12, unique=True)
    kpp = models.CharField(_("КПП"), max_length=9, blank=True)
    ogrn = models.CharField(_("ОГРН / ОГРНИП"), max_length=15, blank=True)
    status = models.CharField(
        _("статус"),
        max_length=8,
        choices=OrganisationStatus.choices,
        default=OrganisationStatus.PENDING,
    )
    contract_number = models.CharField(_("номер договора"), max_length=64, blank=True)
    contract_date = models.DateField(_("дата договора"), null=True, blank=True)
    price_group = models.ForeignKey(
        "pharma.PriceGroup",
        verbose_name=_("ценовая группа"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organisations",
        help_text=_("Пусто — базовый прайс-лист."),
    )
    discount_percent = models.DecimalField(
        _("скидка организации, %"), max_digits=5, decimal_places=2, default=0
    )
    # Orders above it, placed by a user without the MANAGE authority, wait for approval.
    approval_threshold_kopecks = models.BigIntegerField(
        _("заказы на согласование свыше, коп."), null=True, blank=True
    )
    # Deferred orders' unpaid total may not exceed it; 0 means no deferral (SPEC P-PAY-2).
    credit_limit_kopecks = models.BigIntegerField(_("кредитный лимит, коп."), default=0)
    created_at = models.DateTimeField(_("создана"), default=timezone.now)

    class Meta:
        verbose_name = _("организация")
        verbose_name_plural = _("организации")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrganisationStatus.values),
                name="pharma_org_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lt=100),
                name="pharma_org_discount_range",
            ),
            models.CheckConstraint(
                condition=Q(credit_limit_kopecks__gte=0),
                name="pharma_org_credit_limit_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(approval_threshold_kopecks__isnull=True)
                | Q(approval_threshold_kopecks__gte=0),
                name="pharma_org_approval_threshold_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (ИНН {self.inn})"

    @property
    def is_sole_proprietor(self) -> bool:
        return len(self.inn) == 12


class PartnerUser(models.Model):
    """A user's place in an organisation and what they may do there."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.CASCADE,
        related_name="pharma_partner",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("организация"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    full_name = models.CharField(_("имя"), max_length=150, blank=True)
    phone = models.CharField(_("телефон"), max_length=16, blank=True)
    # A list of Authority values; checked only through `has_authority`.
    authorities = models.JSONField(_("полномочия"), default=list, blank=True)
    created_at = models.DateTimeField(_("добавлен"), default=timezone.now)

    class Meta:
        verbose_name = _("пользователь организации")
        verbose_name_plural = _("пользователи организаций")
        ordering = ["organisation", "user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} — {self.organisation.name}"

    def has_authority(self, authority: str) -> bool:
        """Granted, and not suspended by a blocked organisation (SPEC P-REG-4)."""
        if authority not in self.authorities:
            return False
        if self.organisation.status != OrganisationStatus.ACTIVE:
            # Blocked (or not yet under contract): may look, may not trade.
            return authority not in TRADING_AUTHORITIES
        return True

    def authority_labels(self) -> list[str]:
        return [str(Authority(a).label) for a in Authority.values if a in self.authorities]


class DeliveryAddress(models.Model):
    """A pharmacy point the organisation receives goods at."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("организация"),
        on_delete=models.CASCADE,
        related_name="addresses",
    )
    name = models.CharField(_("название точки"), max_length=150)
    city = models.ForeignKey(
        City, verbose_name=_("город"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("адрес"), max_length=255)
    created_at = models.DateTimeField(_("добавлен"), default=timezone.now)

    class Meta:
        verbose_name = _("адрес доставки")
        verbose_name_plural = _("адреса доставки")
        ordering = ["organisation", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.city.name}, {self.address}"


class LicenceKind(models.TextChoices):
    PHARMACEUTICAL = "pharmaceutical", _("Фармацевтическая деятельность")
    NARCOTIC = "narcotic", _("Оборот наркотических средств и психотропных веществ")
    PRECURSOR = "precursor", _("Оборот прекурсоров")
    MEDICAL = "medical", _("Медицинская деятельность")


class Licence(models.Model):
    """A licence of the organisation; orders of controlled goods need a valid one (P-NEXT-1)."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("организация"),
        on_delete=models.CASCADE,
        related_name="licences",
    )
    number = models.CharField(_("номер"), max_length=64)
    kinds = models.JSONField(_("виды деятельности"), default=list)
    issued_on = models.DateField(_("выдана"), null=True, blank=True)
    # Licences issued since 2011 are open-ended; older ones and some kinds carry an expiry.
    expires_on = models.DateField(_("действует до"), null=True, blank=True)

    class Meta:
        verbose_name = _("лицензия")
        verbose_name_plural = _("лицензии")
        ordering = ["organisation", "number"]

    def __str__(self) -> str:
        return self.number

    def is_valid_on(self, day: date) -> bool:
        return self.expires_on is None or day <= self.expires_on

    def kind_labels(self) -> list[str]:
        return [str(LicenceKind(k).label) for k in LicenceKind.values if k in self.kinds]


class RegistrationStatus(models.TextChoices):
    PENDING = "pending", _("ожидает проверки")
    APPROVED = "approved", _("доступ предоставлен")
    REFUSED = "refused", _("отказано")


class Registration(models.Model):
    """A partner's self-registration waiting for a manager's check (SPEC P-REG-1, P-REG-3)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.CASCADE,
        related_name="pharma_registration",
    )
    phone = models.CharField(_("телефон"), max_length=16)
    city = models.ForeignKey(
        City, verbose_name=_("город"), on_delete=models.PROTECT, related_name="+"
    )
    inn = models.CharField(_("ИНН"), max_length=12, db_index=True)
    kpp = models.CharField(_("КПП"), max_length=9, blank=True)
    ogrn = models.CharField(_("ОГРН / ОГРНИП"), max_length=15)
    organisation_name = models.CharField(_("название аптеки (организации)"), max_length=255)
    delivery_address = models.CharField(_("адрес доставки"), max_length=255)
    requested_authorities = models.JSONField(_("запрошенные полномочия"), default=list)
    status = models.CharField(
        _("статус"),
        max_length=8,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.PENDING,
    )
    created_at = models.DateTimeField(_("подана"), default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(_("решение принято"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("проверил"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("организация"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="registrations",
    )
    granted_authorities = models.JSONField(_("предоставленные полномочия"), default=list)
    refusal_reason = models.TextField(_("причина отказа"), blank=True)

    class Meta:
        verbose_name = _("регистрация партнёра")
        verbose_name_plural = _("регистрации партнёров")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RegistrationStatus.values),
                name="pharma_registration_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_name} — {self.user.get_username()}"
