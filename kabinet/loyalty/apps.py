from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "kabinet.loyalty"
    label = "loyalty"
    verbose_name = _("Программа лояльности")

    def ready(self) -> None:
        from kabinet.core import periodic
        from kabinet.loyalty import tasks

        # Two-phase holds past their expiry release their points (L-POS-4; see tasks).
        periodic.register(
            "loyalty.expire_holds", every=tasks.EXPIRE_HOLDS_EVERY, run=tasks.sweep_expired_holds
        )
