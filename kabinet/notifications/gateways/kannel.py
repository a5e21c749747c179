"""SMS through Kannel's HTTP `sendsms` interface (smsbox).

One GET a message to `KABINET_NOTIFY["KANNEL_SENDSMS_URL"]` with the sendsms user's
credentials; Kannel splits long texts itself (the sendsms-user needs `max-messages` > 1 and
`concatenation = true`).

* The text goes as UTF-8 (`charset=UTF-8`). It is sent as GSM 03.38 7-bit (`coding=0`, 160
  characters a part) when every character is in the GSM default alphabet or its extension
  table, otherwise as UCS-2 (`coding=2`, 70 characters a part) — so Cyrillic is always UCS-2.
* Phone numbers go to Kannel in E.164 *with* the leading "+" ("+79161234567"), as they are
  stored. Kannel passes the number through unchanged (its default `sendsms-chars` allow "+"),
  and its SMPP driver turns a leading "+" into TON=international/NPI=ISDN — the unambiguous
  form for an operator's SMSC. A deployment whose SMSC wants another form (e.g. "7916…"
  national) rewrites it in Kannel's config, not here.
* Success is HTTP 202 with "0: Accepted for delivery" or "3: Queued for later delivery"
  (no SMSC connected; bearerbox keeps the message and retries). Everything else — refused
  connection, timeout, 4xx/5xx, any other body — raises `GatewayError`, and the job retries.
* Kannel 1.4's sendsms returns no message id, so `send` returns "". No delivery reports are
  requested (no dlr-mask/dlr-url) until there is an endpoint to receive them.
"""

from __future__ import annotations

import re

import httpx
from django.conf import settings

from kabinet.notifications.gateways.base import GatewayError, Outgoing

# GSM 03.38 default alphabet, and the extension table (each costs two septets; Kannel encodes).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_GSM7 = frozenset(GSM7_BASIC + GSM7_EXTENSION)

CODING_7BIT = "0"
CODING_UCS2 = "2"

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_ACCEPTED = ("0", "3")  # "0: Accepted for delivery", "3: Queued for later delivery"


def is_gsm7(text: str) -> bool:
    """Whether `text` can go as a 7-bit GSM message (default alphabet + extension table)."""
    return all(char in _GSM7 for char in text)


class KannelGateway:
    """Sends SMS through Kannel's sendsms; settings come from `KABINET_NOTIFY`."""

    def __init__(
        self,
        *,
        url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        sender: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        notify = settings.KABINET_NOTIFY
        self.url = str(url if url is not None else notify["KANNEL_SENDSMS_URL"])
        self.username = str(username if username is not None else notify["KANNEL_USERNAME"])
        self.password = str(password if password is not None else notify["KANNEL_PASSWORD"])
        self.sender = str(sender if sender is not None else notify["SMS_SENDER"])
        self.timeout = timeout
        self.transport = transport

    def send(self, message: Outgoing) -> str:
        params = {
            "username": self.username,
            "password": self.password,
            "to": kannel_number(message.to),
            "text": message.body,
            "charset": "UTF-8",
            "coding": CODING_7BIT if is_gsm7(message.body) else CODING_UCS2,
        }
        if self.sender:
            params["from"] = self.sender
        # The request URL carries the password: errors name what failed, never the URL.
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                response = client.get(self.url, params=params)
        except httpx.TimeoutException as exc:
            raise GatewayError(f"Kannel sendsms timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise GatewayError(f"Kannel sendsms unreachable ({type(exc).__name__}: {exc})") from exc
        body = response.text.strip()
        status, _, _ = body.partition(":")
        if response.status_code != httpx.codes.ACCEPTED or status not in _ACCEPTED:
            raise GatewayError(
                f"Kannel sendsms did not accept message {message.message_id}: "
                f"HTTP {response.status_code} {body[:200]!r}"
            )
        return ""


def kannel_number(phone: str) -> str:
    """The number as Kannel gets it: E.164 with "+" (see the module's docstring)."""
    if not _E164.fullmatch(phone):
        raise GatewayError(f"not an E.164 phone number: {phone!r}")
    return phone
