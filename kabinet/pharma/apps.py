from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PharmaConfig(AppConfig):
    name = "kabinet.pharma"
    label = "pharma"
    verbose_name = _("Фарма B2B")
