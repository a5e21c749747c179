from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "kabinet.loyalty"
    label = "loyalty"
    verbose_name = _("Программа лояльности")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from kabinet.core import periodic
        from kabinet.loyalty import caches, tasks
        from kabinet.loyalty.models import PremiumGood

        # Not domain logic but cache coherence: whoever saves or deletes a premium good
        # (the back office, a script, a factory), the tills' process copies are dropped.
        for signal in (post_save, post_delete):
            signal.connect(
                caches.premium_goods_changed,
                sender=PremiumGood,
                dispatch_uid=f"loyalty.premium_goods.{signal is post_save}",
            )

        # Two-phase holds past their expiry release their points (L-POS-4; see tasks).
        periodic.register(
            "loyalty.expire_holds", every=tasks.EXPIRE_HOLDS_EVERY, run=tasks.sweep_expired_holds
        )
