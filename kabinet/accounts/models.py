import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Everyone who signs in: staff, loyalty members (by phone) and pharmacy partners (by login).

    The phone is stored as E.164 and is unique when present (SPEC L-ACT-5).
    """

    phone = models.CharField(_("телефон"), max_length=16, unique=True, null=True, blank=True)
    # "Sign out everywhere" (L-AUTH): every session carries a hash of the password and of
    # this number, so raising it ends all of the user's sessions without a password change.
    session_generation = models.PositiveIntegerField(
        _("поколение сессий"), default=0, editable=False
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("пользователь")
        verbose_name_plural = _("пользователи")
        swappable = "AUTH_USER_MODEL"

    def _get_session_auth_hash(self, secret=None):
        if not self.session_generation:
            # Generation 0 keeps Django's hash, so sessions opened before the field existed
            # stay valid.
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "kabinet.accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class CodePurpose(models.TextChoices):
    """What a one-time SMS code confirms; a code issued for one purpose never confirms another."""

    REGISTRATION = "registration", _("регистрация")
    LOGIN = "login", _("вход")
    PASSWORD_RESET = "password_reset", _("восстановление пароля")
    PHONE_CHANGE = "phone_change", _("смена телефона")
    OPERATOR_ACTIVATION = "operator_activation", _("активация оператором")


class Challenge(models.Model):
    """One SMS code sent to a phone, and what it will confirm (SPEC X-3).

    The id is the public, opaque handle the client carries between "send the code" and
    "check the code". Only a keyed hash of the code is stored (`kabinet.accounts.codes`).
    The challenge knows a phone, not a user: whether the phone is registered is the
    caller's business, so nothing here can reveal it (SPEC L-AUTH-4).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(_("назначение"), max_length=32, choices=CodePurpose.choices)
    phone = models.CharField(_("телефон"), max_length=16)
    code_hash = models.CharField(_("хеш кода"), max_length=64)
    # What the caller needs to finish its action once the code is confirmed: the pending
    # registration, the new phone, the user it concerns.
    payload = models.JSONField(_("данные"), default=dict, blank=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    client_ip = models.GenericIPAddressField(_("адрес клиента"), null=True, blank=True)
    # The SMS language, so that a resend speaks the language of the first message.
    language = models.CharField(_("язык"), max_length=8, default="ru")
    created_at = models.DateTimeField(_("создан"))
    # The last time a code was sent for this challenge: the resend cool-down counts from it.
    sent_at = models.DateTimeField(_("отправлен"))
    expires_at = models.DateTimeField(_("действует до"))
    sends = models.PositiveSmallIntegerField(_("отправок"), default=1)
    # Wrong answers to the current code; a resend starts a new code and a new count.
    attempts = models.PositiveSmallIntegerField(_("неверных попыток"), default=0)
    used_at = models.DateTimeField(_("использован"), null=True, blank=True)

    class Meta:
        verbose_name = _("одноразовый код")
        verbose_name_plural = _("одноразовые коды")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["phone", "purpose", "-sent_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class LinkToken(models.Model):
    """A single-use link sent by e-mail (password reset). Only the token's SHA-256 is stored."""

    purpose = models.CharField(_("назначение"), max_length=32)
    token_hash = models.CharField(_("хеш ссылки"), max_length=64, unique=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    email = models.EmailField(_("e-mail"))
    created_at = models.DateTimeField(_("создана"))
    expires_at = models.DateTimeField(_("действует до"))
    used_at = models.DateTimeField(_("использована"), null=True, blank=True)

    class Meta:
        verbose_name = _("ссылка из письма")
        verbose_name_plural = _("ссылки из писем")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject", "purpose"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"
