from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Everyone who signs in: staff, loyalty members (by phone) and pharmacy partners (by login).

    The phone is stored as E.164 and is unique when present (SPEC L-ACT-5).
    """

    phone = models.CharField(_("телефон"), max_length=16, unique=True, null=True, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("пользователь")
        verbose_name_plural = _("пользователи")
        swappable = "AUTH_USER_MODEL"
