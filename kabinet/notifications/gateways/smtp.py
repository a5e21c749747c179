"""E-mail through Django's mailers (settings.MAILERS), From = DEFAULT_FROM_EMAIL."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, mailers

from kabinet.notifications.gateways.base import GatewayError, Outgoing


class SmtpGateway:
    def __init__(self, mailer: str | None = None) -> None:
        self.mailer = mailer or str(settings.KABINET_NOTIFY.get("MAILER", "default"))

    def send(self, message: Outgoing) -> str:
        # Our own Message-ID is the provider id: it is what a bounce or a complaint quotes.
        message_id = make_msgid(idstring=f"kabinet.{message.message_id}", domain=_from_domain())
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": message_id},
        )
        try:
            sent = mailers[self.mailer].send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            raise GatewayError(f"SMTP server refused the recipient: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            # OSError covers refused connections and timeouts: the server may be back later.
            raise GatewayError(f"SMTP: {type(exc).__name__}: {exc}") from exc
        if not sent:
            raise GatewayError("SMTP: the mailer sent nothing")
        return message_id


def _from_domain() -> str:
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    return address.rpartition("@")[2] or "kabinet.local"
