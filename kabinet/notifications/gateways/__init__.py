"""Gateway registry: which transport delivers each channel, from settings.KABINET_NOTIFY.

`<CHANNEL>_GATEWAY` names it: "outbox" (any channel), "smtp" (e-mail), "kannel" (SMS),
"http" (voice and push). Gateways are built per delivery, so a settings change (tests,
a reloaded deployment) takes effect at once.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from kabinet.notifications.gateways.base import Gateway, GatewayError, Outgoing

__all__ = ["Gateway", "GatewayError", "Outgoing", "gateway_name", "get_gateway"]


def gateway_name(channel: str) -> str:
    """The configured gateway name for `channel`, e.g. "outbox"."""
    return str(settings.KABINET_NOTIFY.get(f"{channel.upper()}_GATEWAY", "")).strip().lower()


def get_gateway(channel: str) -> Gateway:
    """The gateway that delivers `channel` under the current settings."""
    name = gateway_name(channel)
    # Imported here: only the configured gateway's dependencies are loaded, and the Kannel
    # module is written separately from the rest.
    if name == "outbox":
        from kabinet.notifications.gateways.outbox import OutboxGateway

        return OutboxGateway()
    if name == "smtp" and channel == "email":
        from kabinet.notifications.gateways.smtp import SmtpGateway

        return SmtpGateway()
    if name == "kannel" and channel == "sms":
        from kabinet.notifications.gateways.kannel import KannelGateway

        return KannelGateway()
    if name == "http" and channel == "voice":
        from kabinet.notifications.gateways.http import VoiceHttpGateway

        return VoiceHttpGateway()
    if name == "http" and channel == "push":
        from kabinet.notifications.gateways.http import PushHttpGateway

        return PushHttpGateway()
    raise ImproperlyConfigured(
        f"KABINET_NOTIFY['{channel.upper()}_GATEWAY'] = {name!r} cannot deliver {channel}"
    )
